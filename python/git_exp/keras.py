"""Keras callback: `model.fit(..., callbacks=[git_exp.keras.GitExpCallback()])`.

Records into the current run (started with `git_exp.init()` if there is none):

- config, when training begins, only for keys the run's config does not hold yet (a
  value the script or `-p` set is never replaced): `epochs`, `batch_size`, `steps` (batches
  per epoch), `optimizer.class`, `optimizer.learning_rate` (its current value, also under a
  schedule) and the rest of `optimizer.get_config()` under `optimizer.`, `model.name`,
  `model.param_count`;
- metrics, at the end of each epoch: everything in Keras' epoch logs (`loss`, `accuracy`,
  `val_loss`, ...) at step = the epoch number (0-based, as Keras counts);
  with `log_every_n_batches=N`: also `batch/<name>` every N training batches, and every
  step is then the number of batches this fit has trained (epoch lines add an `epoch`
  metric). A second fit in the same run, or a fit after the script logged at higher
  steps, continues after the run's last step instead (a run's steps never go back);
  what the script logs after the fit gets the next step;
- summary, when training ends: `epochs_trained`, and `best_<monitor>` with `best_epoch`
  (monitor defaults to `val_loss`; skipped when the logs never had it).

Works with Keras 3 (`import keras`) and with `tf.keras` where `keras` is not importable.
Importing this module imports Keras; importing `git_exp` does not.
"""

import inspect

import numpy

try:
    import keras
except ImportError:  # TensorFlow without a standalone keras package
    from tensorflow import keras

from git_exp import _integrations


class GitExpCallback(keras.callbacks.Callback):
    """Logs a Keras training into the current git-exp run.

    Args:
        log_every_n_batches: also log training batch metrics every N batches (and count
            steps in batches instead of epochs); None logs epochs only.
        monitor: the epoch metric whose best value goes into the summary.
        mode: "min", "max", or "auto" (max for names with "acc", "auc", "precision",
            "recall" or "f1", min otherwise).
    """

    def __init__(self, log_every_n_batches=None, monitor="val_loss", mode="auto"):
        super().__init__()
        if log_every_n_batches is not None and log_every_n_batches < 1:
            raise ValueError("log_every_n_batches must be a positive number of batches or None")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max', not {mode!r}")
        self.log_every_n_batches = log_every_n_batches
        self.monitor = monitor
        self.mode = mode if mode != "auto" else _auto_mode(monitor)
        self._run = None
        self._steps = _integrations.Steps()
        self._batches = 0
        self._epochs = 0
        self._best = None
        self._best_epoch = None

    def on_train_begin(self, logs=None):
        self._run = _integrations.active_run()
        self._batches = 0
        self._epochs = 0
        self._best = None
        self._best_epoch = None
        _integrations.add_missing_config(self._run, self._config())

    def on_train_batch_end(self, batch, logs=None):
        self._batches += 1
        n = self.log_every_n_batches
        if n is None or self._batches % n:
            return
        data = {f"batch/{k}": v for k, v in _integrations.metrics(logs).items()}
        if data:
            self._run.log(data, step=self._steps(self._run, self._batches))

    def on_epoch_end(self, epoch, logs=None):
        data = _integrations.metrics(logs)
        self._epochs += 1
        if self.log_every_n_batches is None:
            step = epoch
        else:
            step = self._batches
            data["epoch"] = epoch
        if data:
            self._run.log(data, step=self._steps(self._run, step))
        value = data.get(self.monitor)
        if value is not None and (self._best is None or self._better(value, self._best)):
            self._best, self._best_epoch = value, epoch

    def on_train_end(self, logs=None):
        _integrations.close_step(self._run)
        summary = {"epochs_trained": self._epochs}
        if self._best is not None:
            summary[f"best_{self.monitor}"] = self._best
            summary["best_epoch"] = self._best_epoch
        for key, value in summary.items():
            self._run.summary[key] = value

    def _better(self, value, best):
        return value < best if self.mode == "min" else value > best

    def _config(self):
        """Returns what this fit was given: epochs, batch size, optimizer, model size."""
        params = self.params or {}
        config = {
            "epochs": params.get("epochs"),
            "batch_size": _fit_batch_size(self.model),
            "steps": params.get("steps"),
            "model": {"name": getattr(self.model, "name", None)},
        }
        try:
            config["model"]["param_count"] = int(self.model.count_params())
        except ValueError:  # a model that is not built yet has no weights to count
            pass
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None:
            config["optimizer"] = _optimizer_config(optimizer)
        return config


def _optimizer_config(optimizer):
    """Returns {"class", "learning_rate", <get_config() entries>} for an optimizer."""
    config = {"class": type(optimizer).__name__}
    try:
        config.update(_integrations.config_value(optimizer.get_config()))
    except (NotImplementedError, TypeError, ValueError):
        pass
    schedule = config.get("learning_rate")
    if isinstance(schedule, dict):  # a LearningRateSchedule, serialized
        config["learning_rate_schedule"] = schedule
    rate = _learning_rate(optimizer)
    if rate is not None:
        config["learning_rate"] = rate
    elif isinstance(schedule, dict):
        del config["learning_rate"]
    return config


def _learning_rate(optimizer):
    """Returns the optimizer's current learning rate as a float, or None.

    Optimizers keep it in a float32 variable, whose exact value (0.0010000000474974513)
    is not what anyone typed; the shortest float32 text (0.001) is.
    """
    rate = getattr(optimizer, "learning_rate", None)
    if rate is None:
        rate = getattr(optimizer, "lr", None)
    if rate is None:
        return None
    try:  # Keras 3 and TF variables both convert through numpy
        value = numpy.asarray(rate)
    except (TypeError, ValueError):
        return None
    if value.size != 1 or value.dtype.kind != "f":
        return None
    if value.dtype == numpy.float32:
        return float(str(numpy.float32(value.item())))
    return float(value.item())


def _fit_batch_size(model):
    """Returns the batch size `model.fit` is running with, or None if it cannot be told.

    Keras does not pass the batch size to callbacks, so this looks at the running `fit`
    call's own arguments (in the caller's frames): the `batch_size` given to it, else
    the size Keras 3's data adapter chose (32 for arrays by default).
    """
    frame = inspect.currentframe()
    try:
        while frame is not None:
            local = frame.f_locals
            if frame.f_code.co_name == "fit" and local.get("self") is model:
                if local.get("batch_size"):
                    return int(local["batch_size"])
                adapter = getattr(local.get("epoch_iterator"), "data_adapter", None)
                size = getattr(adapter, "batch_size", None)
                return int(size) if isinstance(size, int) else None
            frame = frame.f_back
        return None
    finally:
        del frame


def _auto_mode(monitor):
    name = monitor.lower()
    higher = ("acc", "auc", "precision", "recall", "f1")
    return "max" if any(part in name for part in higher) else "min"
