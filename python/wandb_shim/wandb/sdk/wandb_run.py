"""`wandb.sdk.wandb_run.Run`, for isinstance checks in integrations."""

from git_exp.wandb import Run  # noqa: F401
