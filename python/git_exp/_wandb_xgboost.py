"""W&B's XGBoost callback (`wandb.xgboost.WandbCallback`, also
`wandb.integration.xgboost.WandbCallback`) logging to git-exp, for scripts run
unchanged under `git exp run --wandb`.

What it records is what W&B's callback records, under the same names and steps:
the booster's configuration (`save_config()`) as config; after each boosting round
every evaluation metric as `<data>-<metric>` (`validation_0-rmse`) and `epoch` (the
round), one step per round; with `define_metric=True` a summary of `{"min": v}`
for losses and metrics that fall, `{"max": v}` for those that rise; after training
`best_score` and `best_iteration` when early stopping set them, the feature
importance as the table and bar chart `Feature Importance`, and with
`log_model=True` the model as the artifact `<run id>_model.json`.

Importing this module imports XGBoost.
"""

import json
import os
import tempfile

import xgboost

from git_exp import _integrations
from git_exp import wandb as _wandb

# Metrics XGBoost reports whose best value is the lowest, or the highest.
_MINIMIZE = frozenset(("rmse", "rmsle", "mae", "mape", "mphe", "logloss", "error",
                       "error@t", "merror", "mlogloss", "poisson-nloglik",
                       "gamma-nloglik", "cox-nloglik", "gamma-deviance", "tweedie-nloglik",
                       "aft-nloglik", "interval-regression-accuracy"))
_MAXIMIZE = frozenset(("auc", "aucpr", "ndcg", "map", "ndcg@n", "map@n", "pre"))


class WandbCallback(xgboost.callback.TrainingCallback):
    """Logs an XGBoost training to the current run (see the module's docstring)."""

    def __init__(self, log_model=False, log_feature_importance=True, importance_type="gain",
                 define_metric=True):
        super().__init__()
        if _wandb.run is None:
            raise _wandb.Error("You must call wandb.init() before WandbCallback()")
        self.log_model = log_model
        self.log_feature_importance = log_feature_importance
        self.importance_type = importance_type
        self.define_metric = define_metric

    def before_training(self, model):
        _wandb.config.update(json.loads(model.save_config()))
        return model

    def after_iteration(self, model, epoch, evals_log):
        for data, metrics in evals_log.items():
            for metric_name, values in metrics.items():
                key = "%s-%s" % (data, metric_name)
                if self.define_metric:
                    summary = _integrations.best_summary(metric_name, _MINIMIZE, _MAXIMIZE)
                    if summary:
                        _wandb.define_metric(key, summary=summary)
                _wandb.log({key: _last(values)}, commit=False)
        _wandb.log({"epoch": epoch})
        self.define_metric = False  # defined once, at the first round
        return False

    def after_training(self, model):
        if self.log_model:
            self._log_model(model)
        if self.log_feature_importance:
            self._log_feature_importance(model)
        if model.attr("best_score") is not None:
            _wandb.log({"best_score": float(model.attr("best_score")),
                        "best_iteration": int(model.attr("best_iteration"))})
        return model

    def _log_model(self, model):
        name = "%s_model.json" % _wandb.run.id
        with tempfile.TemporaryDirectory(prefix="git-exp-xgboost-") as directory:
            path = os.path.join(directory, name)
            model.save_model(path)
            artifact = _wandb.Artifact(name=name, type="model")
            artifact.add_file(path)
            _wandb.log_artifact(artifact)  # copies the file into the run

    def _log_feature_importance(self, model):
        scores = model.get_score(importance_type=self.importance_type)
        table = _wandb.Table(data=[[name, scores[name]] for name in scores],
                             columns=["Feature", "Importance"])
        _wandb.log({"Feature Importance": _wandb.plot.bar(
            table, "Feature", "Importance", title="Feature Importance")})


def _last(values):
    """The newest value of an evals_log series: a float, or (mean, std) under xgb.cv."""
    value = values[-1]
    return value[0] if isinstance(value, tuple) else value
