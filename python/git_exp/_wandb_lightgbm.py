"""W&B's LightGBM integration (`wandb.lightgbm`, also `wandb.integration.lightgbm`):
`wandb_callback()` and `log_summary()` logging to git-exp, for scripts run
unchanged under `git exp run --wandb`.

Recorded as W&B records it: `lightgbm.train`'s params as config (`log_params`);
after each round every evaluation result as `<data>_<metric>` (under `lgb.cv`,
`<data>_<metric>-mean` and `-stdv`) and `iteration`, one step per round; with
`define_metric=True` a `{"min": v}` summary for losses and falling metrics and
`{"max": v}` for rising ones. `log_summary(model)` puts `best_iteration` and
`best_score` in the summary, logs the feature importance as the table and bar chart
`Feature Importance`, and with `save_model_checkpoint=True` keeps the best model as
the artifact `model_<run id>` with the alias `best`.

Importing this module imports LightGBM.
"""

import os
import tempfile

from lightgbm import Booster

from git_exp import _integrations
from git_exp import wandb as _wandb

_MINIMIZE = frozenset(("l1", "l2", "rmse", "mape", "huber", "fair", "poisson", "gamma",
                       "binary_logloss"))
_MAXIMIZE = frozenset(("map", "auc", "average_precision"))


def _define(key, metric_name):
    summary = _integrations.best_summary(metric_name, _MINIMIZE, _MAXIMIZE)
    if summary:
        _wandb.define_metric(key, summary=summary)


class _Callback:
    """The callable `wandb_callback()` returns; LightGBM calls it after each round."""

    order = 20
    before_iteration = False

    def __init__(self, log_params, define_metric):
        self.log_params = log_params
        self.define_metric = define_metric

    def _start(self, env):
        if self.log_params:
            _wandb.config.update(env.params)
        if not self.define_metric:
            return
        for item in env.evaluation_result_list:
            if len(item) == 4:
                _define("%s_%s" % item[:2], item[1])
            else:  # lgb.cv: ("cv_agg", "<data> <metric>", mean, bigger_is_better, stdv)
                data, metric = item[1].split()
                _define("%s_%s-mean" % (data, metric), metric + "-mean")
                _define("%s_%s-stdv" % (data, metric), metric + "-stdv")

    def __call__(self, env):
        if env.iteration == env.begin_iteration:
            self._start(env)
        for item in env.evaluation_result_list:
            if len(item) == 4:
                _wandb.log({"%s_%s" % item[:2]: item[2]}, commit=False)
            else:
                data, metric = item[1].split()
                _wandb.log({"%s_%s-mean" % (data, metric): item[2],
                            "%s_%s-stdv" % (data, metric): item[4]}, commit=False)
        _wandb.log({"iteration": env.iteration}, commit=True)


def wandb_callback(log_params=True, define_metric=True):
    """The callback to pass to `lightgbm.train(callbacks=[...])`."""
    return _Callback(log_params, define_metric)


def log_summary(model, feature_importance=True, save_model_checkpoint=False):
    """Records a trained Booster's best iteration and score, and optionally its
    feature importance and best model (see the module's docstring)."""
    run = _wandb.run
    if run is None:
        raise _wandb.Error("You must call wandb.init() before log_summary()")
    if not isinstance(model, Booster):
        raise _wandb.Error("log_summary needs the lightgbm.Booster that lightgbm.train "
                           "returns, not %s" % type(model).__name__)
    run.summary["best_iteration"] = model.best_iteration
    run.summary["best_score"] = _integrations.config_value(model.best_score)
    if feature_importance:
        importance = model.feature_importance()
        table = _wandb.Table(
            data=[[name, _integrations.scalar(value)]
                  for name, value in zip(model.feature_name(), importance)],
            columns=["Feature", "Importance"])
        _wandb.log({"Feature Importance": _wandb.plot.bar(
            table, "Feature", "Importance", title="Feature Importance")}, commit=False)
    if save_model_checkpoint:
        with tempfile.TemporaryDirectory(prefix="git-exp-lightgbm-") as directory:
            path = os.path.join(directory, "model_ckpt_%d.txt" % model.best_iteration)
            model.save_model(path, num_iteration=model.best_iteration)
            artifact = _wandb.Artifact(name="model_%s" % run.id, type="model")
            artifact.add_file(path)
            _wandb.log_artifact(artifact, aliases=["best"])  # copies the file into the run
