"""`wandb.sdk.lib`: RunDisabled (the run of disabled mode), for isinstance checks."""

from git_exp.wandb import RunDisabled  # noqa: F401

from . import config_util  # noqa: E402,F401
