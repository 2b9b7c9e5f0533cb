"""`wandb.integration.keras.callbacks`: the newer callbacks, as W&B groups them."""

from git_exp._wandb_keras import (  # noqa: F401
    WandbEvalCallback, WandbMetricsLogger, WandbModelCheckpoint)

__all__ = ("WandbMetricsLogger", "WandbModelCheckpoint", "WandbEvalCallback")
