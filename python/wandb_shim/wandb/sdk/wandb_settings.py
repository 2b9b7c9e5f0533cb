"""`wandb.sdk.wandb_settings.Settings` (keeps its arguments; none has an effect)."""

from git_exp.wandb import Settings  # noqa: F401
