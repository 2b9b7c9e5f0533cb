"""`wandb` as `git exp run --wandb` provides it: W&B's API, logging to git-exp.

Everything here is git_exp.wandb (see docs/python.md for what is covered);
this package only makes `import wandb` and the submodules integrations
import by name (wandb.sdk.lib.RunDisabled, wandb.wandb_run.Run, ...) find it.
wandb.integration.keras (and wandb.keras) are git_exp._wandb_keras; they import
Keras, so they are loaded only when imported.
"""

import git_exp.wandb as _impl
from git_exp.wandb import *  # noqa: F401,F403
from git_exp.wandb import __all__, __version__  # noqa: F401

from . import errors, sdk, util, wandb_run  # noqa: E402,F401


def __getattr__(name):
    # run, config and summary change as runs start and end: always ask git_exp.wandb.
    return getattr(_impl, name)


def __dir__():
    return sorted(set(globals()) | {"run", "config", "summary"})
