"""`wandb.xgboost`: the short import path of W&B's XGBoost callback; the same as
wandb.integration.xgboost."""

from wandb.integration.xgboost import WandbCallback  # noqa: F401

__all__ = ("WandbCallback",)
