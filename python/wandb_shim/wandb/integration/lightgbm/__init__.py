"""`wandb.integration.lightgbm`: W&B's LightGBM callback and log_summary, logging to
git-exp (see git_exp._wandb_lightgbm and docs/integrations.md). Importing it imports
LightGBM."""

from git_exp._wandb_lightgbm import log_summary, wandb_callback  # noqa: F401

__all__ = ("wandb_callback", "log_summary")
