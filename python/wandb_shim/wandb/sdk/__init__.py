"""`wandb.sdk`: the submodules integrations import by name."""

from . import lib, wandb_run, wandb_settings  # noqa: F401
from .wandb_run import Run  # noqa: F401
from .wandb_settings import Settings  # noqa: F401
