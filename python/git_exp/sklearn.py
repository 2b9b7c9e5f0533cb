"""Automatic logging for scikit-learn: `git_exp.sklearn.autolog()`.

After `autolog()`, a top-level `fit` of a scikit-learn model records into the current run
(started with `git_exp.init()` if there is none):

- config `estimator.class`: the class name, and `estimator.<param>` for each of
  `get_params(deep=False)`; values that are not numbers, strings or bools are stored as
  text (`None` as "None", a nested estimator as its repr, a function as its name);
- metric `training_score`: `estimator.score(X, y)` on the data given to `fit` (skipped
  with `log_training_score=False`, or when scoring fails), one step per fit;
- for searches (GridSearchCV & co.): metric `best_cv_score` (`best_score_`) and summary
  `best_params.<name>` (`best_params_`).

Which fits record:

- only the outermost: the fits a Pipeline, a search or an ensemble makes of its parts
  (in this process, on any thread) do not; a fit started while another is running
  anywhere in the process counts as nested;
- only models, i.e. estimators with a `score` method: a scaler or encoder fitted on its
  own is preprocessing and records nothing (inside a Pipeline it is in the config);
- one model class per run: refitting the same class (say, in a loop over a parameter)
  updates its params and logs another `training_score`; a fit of another class is not
  recorded and says so on stderr, because mixing two estimators' params under one
  `estimator` key would describe neither.

It patches `fit` on the scikit-learn classes that define it (those behind
`sklearn.utils.all_estimators()`, which include Pipeline, ColumnTransformer,
FeatureUnion and the searches); `autolog(disable=True)` puts the originals back.
Importing this module imports scikit-learn.
"""

import functools
import sys
import threading

from sklearn.utils import all_estimators

from git_exp import _integrations

# class -> the `fit` it had before autolog.
_originals = {}
_settings = {"log_training_score": True}
# run id -> the class name whose fits that run records.
_recorded = {}
# (run id, class name) pairs already warned about.
_warned = set()
# Number of patched fits running in this process; > 0 means a fit is nested.
_depth = 0
_depth_lock = threading.Lock()


def autolog(disable=False, log_training_score=True):
    """Starts (or, with disable=True, stops) recording every top-level scikit-learn fit.

    Calling it again changes `log_training_score` without patching twice.
    """
    _settings["log_training_score"] = log_training_score
    if disable:
        for cls, fit in _originals.items():
            cls.fit = fit
        _originals.clear()
        return
    for cls in _classes_with_fit():
        if cls not in _originals:
            _originals[cls] = cls.__dict__["fit"]
            cls.fit = _patched(cls.__dict__["fit"])


def _classes_with_fit():
    """Yields each scikit-learn class that defines `fit` itself, once."""
    seen = set()
    for _name, estimator in all_estimators():
        for cls in estimator.__mro__:
            if cls in seen or "fit" not in cls.__dict__:
                continue
            seen.add(cls)
            if cls.__module__.startswith("sklearn.") and callable(cls.__dict__["fit"]):
                yield cls


def _patched(fit):
    @functools.wraps(fit)
    def fit_and_record(self, *args, **kwargs):
        global _depth
        with _depth_lock:
            outermost = _depth == 0
            _depth += 1
        try:
            result = fit(self, *args, **kwargs)
        finally:
            with _depth_lock:
                _depth -= 1
        if outermost:
            _record(self, args, kwargs)
        return result

    return fit_and_record


def _record(estimator, args, kwargs):
    """Sends the fitted estimator's config and training metrics to the run."""
    if not callable(getattr(estimator, "score", None)):
        return  # a transformer fitted on its own: preprocessing, not the model
    run = _integrations.active_run()
    name = type(estimator).__name__
    recorded = _recorded.setdefault(run.id, name)
    if recorded != name:
        if (run.id, name) not in _warned:
            _warned.add((run.id, name))
            sys.stderr.write(
                f"git-exp: warning: this run already records a {recorded}; fits of a {name}"
                " are not recorded (autolog keeps one model per run: start a new run for it)\n"
            )
        return
    run.config.update({"estimator": estimator_config(estimator)})
    data = {}
    if _settings["log_training_score"]:
        score = _training_score(estimator, args, kwargs)
        if score is not None:
            data["training_score"] = score
    best = _integrations.scalar(getattr(estimator, "best_score_", None))
    if best is not None:
        data["best_cv_score"] = best
        params = getattr(estimator, "best_params_", None)
        if isinstance(params, dict):
            run.summary["best_params"] = {k: _param_value(v) for k, v in params.items()}
    if data:
        run.log(data)


def estimator_config(estimator):
    """Returns {"class": name, <param>: value, ...} for get_params(deep=False).

    Numbers, strings and bools stay as they are (also inside lists and dicts); anything
    else, None included, becomes text (a nested estimator its repr, a function its
    name), so the config shows every parameter the estimator was built with.
    """
    config = {"class": type(estimator).__name__}
    for key, value in estimator.get_params(deep=False).items():
        config[key] = _param_value(value)
    return config


def _param_value(value):
    if value is None:
        return "None"
    if isinstance(value, dict):
        return {str(k): _param_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_param_value(v) for v in value]
    return _integrations.config_value(value)


def _training_score(estimator, args, kwargs):
    """Returns estimator.score on the data given to fit, or None if it cannot be had."""
    if not callable(getattr(estimator, "score", None)):
        return None
    x = args[0] if args else kwargs.get("X")
    y = args[1] if len(args) > 1 else kwargs.get("y")
    if x is None:
        return None
    try:
        score = estimator.score(x, y) if y is not None else estimator.score(x)
    except Exception:  # noqa: BLE001  a score that cannot be computed is not an error of the fit
        return None
    return _integrations.scalar(score)


