"""`wandb.keras`: the older import path of W&B's Keras callbacks
(`from wandb.keras import WandbCallback`); the same as wandb.integration.keras."""

from wandb.integration.keras import (  # noqa: F401
    WandbCallback, WandbEvalCallback, WandbMetricsLogger, WandbModelCheckpoint)
