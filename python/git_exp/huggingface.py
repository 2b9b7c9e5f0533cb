"""Hugging Face Trainer callback: `Trainer(..., callbacks=[git_exp.huggingface.GitExpCallback()])`.

Records into the current run (started with `git_exp.init()` if there is none):

- config, when training begins, only for keys the run's config does not hold yet (a value
  the script or `-p` set is never replaced): every field of `TrainingArguments`
  (`args.to_sanitized_dict()`: `learning_rate`, `num_train_epochs`, `train_batch_size`,
  ...; values that are not numbers, strings or bools as text, None as "None") at the top
  level, and the model's `config.to_dict()` under `model` (when the model has one);
- metrics, on every Trainer log, at step = `state.global_step` (shifted past the run's
  last step when a second training in the same run starts over), named as the W&B
  integration names them, so charts and habits carry over: `eval_<x>` as `eval/<x>`,
  `test_<x>` as `test/<x>`, everything else as `train/<x>` (`train/loss`,
  `train/learning_rate`, `train/grad_norm`, `train/epoch`);
- summary: the once-per-training figures of the last log (`train_runtime`,
  `train_samples_per_second`, `train_steps_per_second`, `train_loss`, `total_flos`) under
  their own names instead of as metrics, and when training ends `global_step`, `epoch`,
  and `best_metric`, `best_global_step` when the Trainer tracked a best model.

Only the main process acts (`state.is_world_process_zero`). Importing this module
imports transformers.
"""

import transformers

from git_exp import _integrations

# Figures the Trainer logs once, at the end of training: summary values, not series.
_END_OF_TRAINING = frozenset(
    ["train_runtime", "train_samples_per_second", "train_steps_per_second", "train_loss",
     "total_flos"]
)


class GitExpCallback(transformers.TrainerCallback):
    """Logs a Hugging Face Trainer's training into the current git-exp run."""

    def __init__(self):
        self._run = None
        self._steps = _integrations.Steps()

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if not state.is_world_process_zero:
            return
        self._run = _integrations.active_run()
        config = dict(args.to_sanitized_dict())
        model_config = getattr(model, "config", None)
        if hasattr(model_config, "to_dict"):
            config["model"] = model_config.to_dict()
        _integrations.add_missing_config(self._run, config)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero:
            return
        run = self._run or _integrations.active_run()
        data = {}
        for key, value in _integrations.metrics(logs).items():
            if key in _END_OF_TRAINING:
                run.summary[key] = value
            else:
                data[metric_name(key)] = value
        if data:
            run.log(data, step=self._steps(run, state.global_step))

    def on_train_end(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        run = self._run or _integrations.active_run()
        _integrations.close_step(run)
        run.summary["global_step"] = state.global_step
        if state.epoch is not None:
            run.summary["epoch"] = state.epoch
        if state.best_metric is not None:
            run.summary["best_metric"] = state.best_metric
            best_step = getattr(state, "best_global_step", None)
            if best_step is not None:
                run.summary["best_global_step"] = best_step


def metric_name(key):
    """Returns the run's name for a Trainer log key: eval_x as eval/x, test_x as test/x,
    anything else x as train/x (the names W&B's integration uses)."""
    for prefix in ("eval", "test"):
        if key.startswith(prefix + "_"):
            return f"{prefix}/{key[len(prefix) + 1:]}"
    return f"train/{key}"
