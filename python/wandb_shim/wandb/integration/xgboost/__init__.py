"""`wandb.integration.xgboost`: W&B's XGBoost callback, logging to git-exp (see
git_exp._wandb_xgboost and docs/integrations.md). Importing it imports XGBoost."""

from git_exp._wandb_xgboost import WandbCallback  # noqa: F401

__all__ = ("WandbCallback",)
