"""`wandb.integration.keras`: W&B's Keras callbacks, logging to git-exp (see
git_exp._wandb_keras and docs/integrations.md). Importing it imports Keras."""

from git_exp._wandb_keras import (  # noqa: F401
    WandbCallback, WandbEvalCallback, WandbMetricsLogger, WandbModelCheckpoint)

from . import callbacks  # noqa: E402,F401

__all__ = ("WandbCallback", "WandbMetricsLogger", "WandbModelCheckpoint", "WandbEvalCallback")
