"""PyTorch Lightning logger: `Trainer(logger=git_exp.lightning.GitExpLogger())`.

Records into the current run (started with `git_exp.init(name, config, tags, notes)` on
first use if there is none, i.e. outside `git exp run` and before any `git_exp.init()`):

- config: what Lightning passes to `log_hyperparams` (the LightningModule's and the
  DataModule's `save_hyperparameters()`), as nested tables; an `argparse.Namespace` is
  read as a dict, values that are not numbers, strings or bools become text;
- metrics: what `self.log(...)` produces, as Lightning hands it over (names such as
  `train_loss`, `val_loss`, and `epoch`), at Lightning's step (the global step; shifted
  past the run's last step when a later `fit` starts counting from 0 again);
- with `log_model=True`: when training ends, the best checkpoint of the trainer's
  `ModelCheckpoint` (its last one when it tracks no best) as the run's artifact
  `checkpoints/<file name>`;
- nothing else: summaries are the metrics' last/min/max, which git-exp computes.

Only rank 0 logs (Lightning's `rank_zero_only`); other ranks see a dummy experiment.
`finalize` finishes the run only when this logger started it: a run begun by
`git exp run` or by the script's own `git_exp.init()` stays open for what comes after
`trainer.fit` (a `trainer.test`, say). A logger that finished its run starts a new one if
it is used again.

Works with `lightning` (`lightning.pytorch`) and, where that is not installed, the older
`pytorch_lightning` package. Importing this module imports Lightning.
"""

import argparse
import os

try:
    from lightning.pytorch.loggers.logger import Logger, rank_zero_experiment
    from lightning.pytorch.utilities import rank_zero_only
except ImportError:
    from pytorch_lightning.loggers.logger import Logger, rank_zero_experiment
    from pytorch_lightning.utilities import rank_zero_only

import git_exp
from git_exp import _integrations


class GitExpLogger(Logger):
    """A Lightning logger that writes to a git-exp run.

    name, config, tags, notes: passed to `git_exp.init()` when this logger has to start
    the run itself; ignored when a run is already active.
    log_model: store the best checkpoint with the run when training ends.
    """

    def __init__(self, name=None, config=None, tags=None, notes=None, log_model=False):
        super().__init__()
        self._init_args = {"name": name, "config": config, "tags": tags, "notes": notes}
        self._run = None
        self._owns_run = False
        self._steps = _integrations.Steps()
        self._log_model = log_model
        self._checkpoint = None

    @property
    @rank_zero_experiment
    def experiment(self):
        """Returns the git_exp.Run this logger writes to, starting one if needed."""
        if self._run is None:
            if git_exp.run is not None:
                self._run = git_exp.run
            else:
                self._run = git_exp.init(**self._init_args)
                self._owns_run = True
        return self._run

    @property
    def name(self):
        """Returns "git-exp": the directory Lightning puts checkpoints under (name/version)."""
        return "git-exp"

    @property
    def version(self):
        """Returns the run's name, so checkpoints go to `<root>/git-exp/<run name>/checkpoints`."""
        run = self.experiment
        return run.name if isinstance(run, git_exp.Run) else None

    @rank_zero_only
    def log_hyperparams(self, params, *args, **kwargs):
        """Merges the hyperparameters into the run's config (later values win)."""
        config = _integrations.config_value(_as_dict(params))
        if config:
            self.experiment.config.update(config)

    @rank_zero_only
    def log_metrics(self, metrics, step=None):
        """Logs the numeric entries of `metrics` at `step` (the next step when None)."""
        data = _integrations.metrics(metrics)
        if data:
            run = self.experiment
            run.log(data, step=None if step is None else self._steps(run, step))

    def after_save_checkpoint(self, checkpoint_callback):
        """Remembers the checkpoint callback whose best file log_model stores."""
        self._checkpoint = checkpoint_callback

    @rank_zero_only
    def finalize(self, status):
        """Finishes the run if this logger started it ("success"/"finished" as exit code 0).

        A run it did not start stays open; its last row is committed, so a later stage
        (`trainer.test`) or the script's own logs get steps of their own.
        """
        if self._run is None:
            return
        self._store_checkpoint()
        if not self._owns_run:
            _integrations.close_step(self._run)
            return
        run, self._run, self._owns_run = self._run, None, False
        run.finish(exit_code=0 if status in ("success", "finished") else 1)

    def _store_checkpoint(self):
        callback, self._checkpoint = self._checkpoint, None
        if not self._log_model or callback is None:
            return
        path = getattr(callback, "best_model_path", "") or getattr(callback, "last_model_path", "")
        if path and os.path.isfile(path):
            self._run.log_artifact(path, name="checkpoints/" + os.path.basename(path))


def _as_dict(params):
    """Returns hyperparameters as nested plain dicts (Namespaces and Mappings included)."""
    if isinstance(params, argparse.Namespace):
        params = vars(params)
    if hasattr(params, "items"):
        return {str(k): _as_dict(v) for k, v in params.items()}
    return params
