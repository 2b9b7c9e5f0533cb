"""`wandb.lightgbm`: the short import path of W&B's LightGBM integration; the same as
wandb.integration.lightgbm."""

from wandb.integration.lightgbm import log_summary, wandb_callback  # noqa: F401

__all__ = ("wandb_callback", "log_summary")
