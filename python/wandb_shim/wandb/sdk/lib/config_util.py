"""`wandb.sdk.lib.config_util.ConfigError`: raised when a config value would change
without allow_val_change."""

from git_exp.wandb import ConfigError  # noqa: F401
