"""W&B's Keras callbacks (`wandb.integration.keras`) on top of git_exp.keras, for
scripts run unchanged under `git exp run --wandb`.

- `WandbMetricsLogger` logs W&B's metric names (`epoch/<name>`, `batch/<name>`, with
  `epoch/epoch` or `batch/batch_step` as their step metric) and, as GitExpCallback does,
  adds the fit's config (missing keys only).
- `WandbCallback`, the older callback, is GitExpCallback with W&B's arguments, plus an
  `epoch` metric and the best model saved as a file of the run.
- `WandbModelCheckpoint` is Keras' ModelCheckpoint that also stores each saved file as
  the artifact `run_<run id>_model`.
- `WandbEvalCallback` is accepted and does nothing: W&B Tables are not stored.

What each ignores is listed in docs/integrations.md. Importing this module imports Keras.
"""

import os

from git_exp import _integrations, _session
from git_exp import wandb as _wandb
from git_exp.keras import GitExpCallback, _learning_rate, keras

_KERAS_3 = int(str(getattr(keras, "__version__", "3")).split(".")[0]) >= 3

# WandbCallback arguments that do nothing here, with the defaults that say so.
_IGNORED = {
    "verbose": 0, "log_weights": False, "log_gradients": False, "training_data": None,
    "validation_data": None, "labels": None, "predictions": 36, "generator": None,
    "input_type": None, "output_type": None, "log_evaluation": False,
    "validation_steps": None, "class_colors": None, "save_graph": True,
    "validation_indexes": None, "validation_row_processor": None,
    "prediction_row_processor": None, "infer_missing_processors": True,
    "log_evaluation_frequency": 0, "compute_flops": False,
}


def _wandb_run():
    """Returns the current run as a W&B run, starting one with wandb.init() if there is none."""
    run = _session.current
    return _wandb.Run._adopt(run) if run is not None else _wandb.init()


def _prefixed(prefix, logs):
    return {prefix + name: value for name, value in _integrations.metrics(logs).items()}


class WandbMetricsLogger(GitExpCallback):
    """W&B's metrics logger: `epoch/<name>` at step = the epoch, or with log_freq="batch"
    (or N) `batch/<name>` every N batches at step = W&B's `batch/batch_step`.

    Args:
        log_freq: "epoch", "batch" (every batch) or a number of batches.
        initial_global_step: accepted for W&B's learning-rate schedules on resumed fits;
            the learning rate is read from the optimizer, so it has no effect.
    """

    def __init__(self, log_freq="epoch", initial_global_step=0, *args, **kwargs):
        super().__init__()
        if log_freq == "batch":
            log_freq = 1
        if log_freq != "epoch" and (type(log_freq) is not int or log_freq < 1):
            raise ValueError("log_freq must be 'epoch', 'batch' or a positive number of "
                             "batches, not %r" % (log_freq,))
        self.log_freq = None if log_freq == "epoch" else log_freq
        self.initial_global_step = initial_global_step
        self._global_batch = 0

    def on_train_begin(self, logs=None):
        run = _wandb_run()
        super().on_train_begin(logs)  # the fit's config, missing keys only
        if self.log_freq is None:
            run.define_metric("epoch/epoch")
            run.define_metric("epoch/*", step_metric="epoch/epoch")
        else:
            run.define_metric("batch/batch_step")
            run.define_metric("batch/*", step_metric="batch/batch_step")

    def on_train_batch_end(self, batch, logs=None):
        # W&B counts `batch` within the epoch and its batch_step by log_freq per log.
        if self.log_freq is None or batch % self.log_freq:
            return
        data = _prefixed("batch/", logs)
        data["batch/batch_step"] = self._global_batch
        self._add_learning_rate(data, "batch/")
        self._run.log(data)
        self._global_batch += self.log_freq

    def on_epoch_end(self, epoch, logs=None):
        data = _prefixed("epoch/", logs)
        data["epoch/epoch"] = epoch
        self._add_learning_rate(data, "epoch/")
        self._run.log(data)

    def on_train_end(self, logs=None):
        _integrations.close_step(self._run)

    def _add_learning_rate(self, data, prefix):
        optimizer = getattr(self.model, "optimizer", None)
        rate = None if optimizer is None else _learning_rate(optimizer)
        if rate is not None:
            data[prefix + "learning_rate"] = rate


class WandbCallback(GitExpCallback):
    """W&B's older Keras callback: GitExpCallback (metrics at step = epoch, config, best
    value in the summary) plus an `epoch` metric and, with save_model=True, the best
    model as the run's file `files/model-best.keras` (`.h5` with tf.keras 2).

    log_batch_frequency=N logs `batch/<name>` every N batches (GitExpCallback's
    log_every_n_batches). The arguments for images, gradients, weights, evaluation
    tables, graphs and FLOPs have no effect; a value other than their default is named
    in one warning.
    """

    def __init__(self, monitor="val_loss", verbose=0, mode="auto", save_weights_only=False,
                 log_weights=False, log_gradients=False, save_model=True, training_data=None,
                 validation_data=None, labels=None, predictions=36, generator=None,
                 input_type=None, output_type=None, log_evaluation=False,
                 validation_steps=None, class_colors=None, log_batch_frequency=None,
                 log_best_prefix="best_", save_graph=True, validation_indexes=None,
                 validation_row_processor=None, prediction_row_processor=None,
                 infer_missing_processors=True, log_evaluation_frequency=0,
                 compute_flops=False, **kwargs):
        given = dict(locals(), **kwargs)
        self._ignored = sorted(k for k, v in given.items()
                               if k in kwargs or k in _IGNORED and _differs(v, _IGNORED[k]))
        if mode not in ("auto", "min", "max"):
            self._ignored.append("mode")
            mode = "auto"
        super().__init__(log_every_n_batches=log_batch_frequency or None, monitor=monitor,
                         mode=mode)
        self.save_model = save_model
        self.save_weights_only = save_weights_only
        self.log_best_prefix = log_best_prefix

    def on_train_begin(self, logs=None):
        _wandb_run()
        super().on_train_begin(logs)
        if self._ignored:
            self._run._warn(("keras_ignored",), "WandbCallback: %s have no effect under "
                            "git-exp" % ", ".join(self._ignored))

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, dict(logs or {}, epoch=epoch))
        if self.save_model and self._best_epoch == epoch and self._run._mode != "disabled":
            self._save_best()

    def on_train_end(self, logs=None):
        _integrations.close_step(self._run)
        summary = {"epochs_trained": self._epochs}
        if self._best is not None and self.log_best_prefix:
            summary[self.log_best_prefix + self.monitor] = self._best
            summary[self.log_best_prefix + "epoch"] = self._best_epoch
        for key, value in summary.items():
            self._run.summary[key] = value

    def _save_best(self):
        if self.save_weights_only:
            name = "model-best.weights.h5" if _KERAS_3 else "model-best.h5"
            self.model.save_weights(os.path.join(self._run.dir, name), overwrite=True)
        else:
            name = "model-best.keras" if _KERAS_3 else "model-best.h5"
            self.model.save(os.path.join(self._run.dir, name), overwrite=True)


def _differs(value, default):
    try:
        return bool(value != default)
    except (TypeError, ValueError):  # arrays compare element-wise
        return True


class WandbModelCheckpoint(keras.callbacks.ModelCheckpoint):
    """Keras' ModelCheckpoint (same arguments) that also stores every file it saves with
    the run, as the artifact `run_<run id>_model` (`artifacts/run_<run id>_model/<file>`).
    A file saved again under the same name replaces the stored one (no versions)."""

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None, **kwargs):
        super().__init__(filepath=filepath, monitor=monitor, verbose=verbose,
                         save_best_only=save_best_only, save_weights_only=save_weights_only,
                         mode=mode, save_freq=save_freq,
                         initial_value_threshold=initial_value_threshold, **kwargs)

    def _save_model(self, epoch, batch, logs):
        # Keras (3, and tf.keras from 2.6) saves through these two methods; what changed
        # on disk afterwards is what it saved.
        path = self._get_file_path(epoch, batch, logs)
        before = _stamp(path)
        super()._save_model(epoch, batch, logs)
        after = _stamp(path)
        if after is not None and after != before:
            run = _wandb_run()
            artifact = _wandb.Artifact("run_%s_model" % run.id, type="model")
            if os.path.isdir(path):
                artifact.add_dir(path)
            else:
                artifact.add_file(path)
            run.log_artifact(artifact)


def _stamp(path):
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size, stat.st_ino


class WandbEvalCallback(keras.callbacks.Callback):
    """W&B's base class for evaluation tables: accepted, does nothing (git-exp does not
    store W&B Tables), so add_ground_truth and add_model_predictions are never called."""

    def __init__(self, data_table_columns=None, pred_table_columns=None, *args, **kwargs):
        super().__init__()
        self.data_table_columns = data_table_columns
        self.pred_table_columns = pred_table_columns
        self.data_table = _wandb.Table(columns=data_table_columns)
        self.pred_table = _wandb.Table(columns=pred_table_columns)

    def add_ground_truth(self, logs=None):
        """Not called."""

    def add_model_predictions(self, epoch, logs=None):
        """Not called."""

    def init_data_table(self, column_names):
        self.data_table = _wandb.Table(columns=column_names)

    def init_pred_table(self, column_names):
        self.pred_table = _wandb.Table(columns=column_names)

    def log_data_table(self, name="val", type="dataset", table_name="val_data"):
        """No effect."""

    def log_pred_table(self, type="evaluation", table_name="eval_data", aliases=None):
        """No effect."""
