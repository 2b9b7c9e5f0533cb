"""Helpers shared by the framework integrations (keras, lightning, huggingface, sklearn,
W&B's xgboost and lightgbm).

Owns what the integrations all need: getting the active run (starting one when there is
none), mapping a framework's step counter onto the run's steps, turning framework objects
into values the events protocol can carry, and adding config without overwriting what the
script or `-p` already set. It imports no framework, so importing it costs nothing.
"""

import enum
import math
import os

import git_exp


def active_run():
    """Returns the current run, starting one with `git_exp.init()` if there is none."""
    return git_exp.run if git_exp.run is not None else git_exp.init()


class Steps:
    """Maps a framework's step counter (an epoch, a global step) onto the run's steps.

    A run's steps never go back (git_exp drops a log at a step below the current one), but
    a framework's counter does when a second training starts in the same run. So steps
    stay the framework's own while they can (step = epoch in a fresh run), and when the
    counter goes back or would land below the run's current step, they shift to continue
    after what the run already has.
    """

    def __init__(self):
        self._offset = 0
        self._framework_last = None
        self._last = -1

    def __call__(self, run, step):
        """Returns the run step for framework step `step`."""
        went_back = self._framework_last is not None and step < self._framework_last
        mapped = step + self._offset
        if went_back or mapped < run.step:
            self._offset = max(run.step, self._last + 1) - step
            mapped = step + self._offset
        self._framework_last = step
        self._last = mapped
        return mapped


def close_step(run):
    """Commits the run's open row, so what the script logs next gets a step of its own.

    A log at an explicit step keeps that step's row open for more values (W&B's rule);
    after training, a `git_exp.log({"test_loss": ...})` would otherwise join the last
    epoch's row.
    """
    run.log({}, commit=True)


def config_value(value):
    """Returns `value` as JSON-ready config: dicts, lists, str, int, float, bool or None.

    Framework objects become readable text instead of failing the event line: numpy and
    tensor scalars their number, enums their value, paths their text, functions and
    classes their name, and any other object `str(value)`, or its type name when `str`
    would only give a memory address (which would make every run's config differ).
    None is kept; git-exp drops it (TOML has no null).
    """
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {str(k): config_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return [config_value(v) for v in items]
    if isinstance(value, enum.Enum):
        return config_value(value.value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    item = _item(value)
    if item is not None:
        return config_value(item)
    if isinstance(value, type) or callable(value) and hasattr(value, "__qualname__"):
        return getattr(value, "__qualname__", type(value).__qualname__)
    if type(value).__repr__ is object.__repr__ and type(value).__str__ is object.__str__:
        return type(value).__qualname__
    return str(value)


def scalar(value):
    """Returns a metric value as an int or float, or None when it is not a single number.

    Accepts Python numbers and bools, numpy scalars and one-element arrays or tensors
    (anything with `.item()` or `__float__`), without importing numpy or torch.
    """
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    item = _item(value)
    if item is not None:
        return scalar(item) if isinstance(item, (bool, int, float)) else None
    if hasattr(value, "__float__") and not isinstance(value, str):
        try:
            return float(value)
        except (TypeError, ValueError):
            return None
    return None


def _item(value):
    """Returns the Python value of a numpy scalar or one-element array or tensor, else None."""
    item = getattr(value, "item", None)
    size = getattr(value, "size", None)
    if not callable(item) or not (size is None or size == 1 or callable(size)):
        return None
    try:
        return item()
    except (TypeError, ValueError, RuntimeError):  # more than one element
        return None


def metrics(logs):
    """Returns the numeric entries of a framework's logs dict as {name: number}."""
    out = {}
    for key, value in (logs or {}).items():
        number = scalar(value)
        if number is not None:
            out[str(key)] = number
    return out


def best_summary(metric_name, minimize, maximize):
    """The define_metric summary W&B's boosting integrations give a metric: "min" for a
    loss or a name in `minimize`, "max" for a name in `maximize`, else None."""
    lowered = metric_name.lower()
    if "loss" in lowered or lowered in minimize:
        return "min"
    if lowered in maximize:
        return "max"
    return None


def missing_config(existing, new):
    """Returns the part of `new` (a nested dict) whose keys `existing` does not hold yet.

    Integrations that read config from the framework (Keras, Hugging Face) send only
    this part, so a value the script or `-p` set is never replaced: the user's word wins,
    the integration fills in the rest. Nested dicts are compared key by key; where one
    side is a dict and the other a plain value, the existing value stays.
    """
    out = {}
    for key, value in new.items():
        if value is None:
            continue
        if key not in existing:
            out[key] = value
            continue
        have = existing[key]
        if isinstance(value, dict) and _is_mapping(have):
            sub = missing_config(have, value)
            if sub:
                out[key] = sub
    return out


def add_missing_config(run, new):
    """Adds to `run.config` the part of `new` that it does not hold yet (see missing_config)."""
    extra = missing_config(run.config, config_value(new))
    if extra:
        run.config.update(extra)
    return extra


def _is_mapping(value):
    return hasattr(value, "keys") and hasattr(value, "__getitem__")
