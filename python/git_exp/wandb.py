"""Weights & Biases compatible API: `import git_exp.wandb as wandb` runs W&B
scripts unchanged, logging to git-exp. Nothing ever contacts a network.

`git exp run --wandb` puts a top-level `wandb` package on PYTHONPATH that
forwards here, so even `import wandb` (and integrations that do it) lands
here. What is and is not covered: docs/python.md.
"""

import logging
import os
import re
import sys
import time

from . import _BeforeInit, _session
from ._errors import ConfigError, Error
from ._media import Image
from ._run import Run as _CoreRun
from ._values import flatten, to_number
from ._wandb_types import (Api, Artifact, Audio, Histogram, Html, Molecule, Object3D, Plotly,
                           Settings, Table, Video, _Metric, _StepMetrics, plot)

__version__ = "0.19.0"  # the W&B API version this module follows
__all__ = [
    "Api", "Artifact", "Audio", "Error", "Histogram", "Html", "Image", "Molecule", "Object3D",
    "Plotly", "Run", "RunDisabled", "Settings", "Table", "Video", "alert", "define_metric",
    "errors", "finish", "init", "log", "log_artifact", "log_model", "login", "mark_preempting",
    "plot", "require", "save", "setup", "teardown", "termerror", "termlog", "termwarn", "unwatch",
    "use_artifact", "watch",
]

_log = logging.getLogger("git_exp.wandb")
_DISABLED_VALUES = ("1", "true", "yes", "on")
_MAX_STEP = 2**63 - 1


class errors:
    """`wandb.errors`: the exception types scripts catch."""

    Error = Error
    CommError = type("CommError", (Error,), {})
    UsageError = type("UsageError", (Error,), {})
    AuthenticationError = type("AuthenticationError", (Error,), {})
    ConfigError = ConfigError


class Run(_CoreRun):
    """A W&B-style run: git_exp.Run plus W&B's attributes. config refuses to change a
    value without allow_val_change, and the run's params (`git exp run -p`) win over the
    script's values, as sweep values do in W&B. A metric bound to a step metric with
    define_metric(name, step_metric=...) is logged at that metric's value (see log)."""

    _strict_config = True
    _locked_params = True

    def __init__(self, info, mode, sink, params):
        super().__init__(info, mode, sink, params)
        self._init_wandb_fields()

    @classmethod
    def _adopt(cls, run):
        """Gives a run made by git_exp.init() W&B's attributes, so integrations that call
        wandb.init() while it is current (and then run._label(), run.project, ...) work."""
        if not isinstance(run, cls):
            run.__class__ = cls
            run._init_wandb_fields()
        return run

    def _init_wandb_fields(self):
        self.project = None
        self.entity = None
        self.group = None
        self.job_type = None
        self.start_time = time.time()
        self.resumed = False
        self.offline = False
        self.sweep_id = None
        self.url = None
        self._step_metrics = _StepMetrics()
        self._row_partial = False  # the open row holds only commit=False values, no step yet

    @property
    def dir(self):
        """W&B's files directory: <live dir>/artifacts/files; what is in it when the run
        ends is stored with the run."""
        path = os.path.join(self._artifacts_dir(), "files")
        os.makedirs(path, exist_ok=True)
        return path

    @property
    def name(self):
        return self._name

    @name.setter
    def name(self, value):
        # Names are fixed when the run starts; keep the wish where it can be seen (exp.toml's
        # [wandb] table), never in the config: train(**wandb.config) must keep working.
        self._warn(("rename",), "run names are fixed when the run starts; %r is kept as the "
                   "W&B display name (exp.toml wandb.name)" % (value,))
        self._emit({"_run": {"wandb": {"name": str(value)}}})

    @property
    def disabled(self):
        return self._mode == "disabled"

    @property
    def path(self):
        return "/".join(p for p in (self.entity, self.project, self.id) if p)

    def project_name(self):
        return self.project or ""

    def get_url(self):
        return None

    def get_project_url(self):
        return None

    def get_sweep_url(self):
        return None

    def log(self, data, step=None, commit=None, sync=None):
        """git_exp.Run.log, plus define_metric's step metrics.

        When the row holds a step metric's value, or a metric bound to a step metric whose
        value is in the open row or (with step_sync) was logged before (it is then added to
        the row, as W&B does), that value is the row's step, as if given as step= (which
        it replaces). A value below the run's current step cannot be a step (a run's steps
        never decrease): that row goes to the run's next step, with one warning.
        """
        if not self._step_metrics.active:
            _CoreRun.log(self, data, step, commit)
            return
        if self._finished or not (isinstance(data, dict) or hasattr(data, "items")):
            _CoreRun.log(self, data, step, commit)  # raises git_exp.Error
            return
        flat = flatten(data)
        with self._lock:
            had_row = bool(self._row)
            bound = self._bound_step(flat)
            if bound is not None:
                step = self._step_from(bound, flat, step)
            _CoreRun.log(self, flat, step, commit)
            if step is not None:
                self._row_partial = False
                if bound is not None:
                    # W&B would have committed this row: its values are the summary's now.
                    self._last.update(self._row)
            else:
                self._row_partial = bool(self._row) and (self._row_partial or not had_row)

    def _bound_step(self, flat):
        """Returns (step metric, value, synced) for the first name of `flat` that is a step
        metric or is bound to one whose value is known, or None."""
        rules = self._step_metrics
        for name in flat:
            if name in rules.step_metrics:
                return name, flat[name], False
            rule = rules.rule(name)
            if rule is None:
                continue
            metric, sync = rule
            if metric in flat:
                return metric, flat[metric], False
            if metric in self._row:
                return metric, self._row[metric], False
            if sync and metric in self._last:
                return metric, self._last[metric], True
        return None

    def _step_from(self, bound, flat, step):
        """Returns the step for a row bound to a step metric: its value, else `step` (what
        the caller gave) when the value is no step, else None (the run's next step)."""
        metric, value, synced = bound
        if synced:
            flat[metric] = value
        number = to_number(value)
        if type(number) is float and number.is_integer():
            number = int(number)
        if type(number) is not int or not 0 <= number <= _MAX_STEP:
            self._warn(("step_metric", metric), "%s is %r, not a whole number from 0 to "
                       "2**63-1, so it cannot be a step; rows bound to it keep the run's step"
                       % (metric, number if type(number) is float else value))
            return step
        if number < self._step:
            self._warn(("step_metric_back", metric), "%s went back to %d, below the run's "
                       "step %d; such rows go to the run's next step instead (a run's steps "
                       "never decrease)" % (metric, number, self._step))
            self._commit_row()
            return None
        if self._row_partial and number > self._step:
            # Values logged with commit=False belong to the row this log completes.
            self._step = number
        return number

    def define_metric(self, name, step_metric=None, step_sync=None, hidden=None, summary=None,
                      goal=None, overwrite=None, **ignored):
        """Chooses a metric's summary (min/max/mean/first/last/best/none) and the step
        metric whose value is its step (see log). name: a metric, or a glob ending in "*".
        hidden has no effect."""
        if not name:
            raise Error("define_metric() requires non-empty name argument")
        if isinstance(step_metric, _Metric):
            step_metric = step_metric.name
        name = str(name)
        step_metric = None if step_metric is None else str(step_metric)
        _CoreRun.define_metric(self, name, summary, goal)
        with self._lock:
            self._step_metrics.define(name, step_metric, step_sync, bool(overwrite))
        return _Metric(name, step_metric, summary, goal, hidden, step_sync)

    def log_artifact(self, artifact_or_path, name=None, type=None, aliases=None, tags=None):
        """Stores an Artifact's files under artifacts/<artifact name>/, or a path."""
        if isinstance(artifact_or_path, Artifact):
            artifact_or_path._copy_into(self)
            artifact_or_path.aliases = list(aliases or [])
            return artifact_or_path
        path = os.fspath(artifact_or_path)
        if self._mode != "disabled":
            _CoreRun.log_artifact(self, path, name or os.path.basename(os.path.abspath(path)))
        return Artifact(name or os.path.basename(path), type or "unspecified")

    def log_model(self, path, name=None, aliases=None):
        return self.log_artifact(path, name=name, type="model", aliases=aliases)

    def use_artifact(self, artifact_or_name, type=None, aliases=None, use_as=None):
        raise Error("use_artifact is not supported: git-exp has no artifact registry to "
                    "download from; read files from a run with `git show refs/experiments/NAME:...`")

    def save(self, glob_str=None, base_path=None, policy="live"):
        """Stores the files matching glob_str with the run (under artifacts/files/)."""
        import glob

        if glob_str is None:
            return []
        pattern = os.path.abspath(os.fspath(glob_str))
        base = os.path.abspath(os.fspath(base_path)) if base_path else os.path.dirname(pattern)
        files_dir = self.dir if self._mode != "disabled" else None
        saved = []
        for path in sorted(glob.glob(pattern, recursive=True)):
            if not os.path.isfile(path):
                continue
            saved.append(path)
            if files_dir is None or path.startswith(files_dir + os.sep):
                continue
            rel = os.path.relpath(path, base)
            if rel.startswith(".."):
                rel = os.path.basename(path)
            self._emit({"_artifact": {"path": path, "name": "files/" + rel.replace(os.sep, "/")}})
        return saved

    def watch(self, *args, **kwargs):
        """No effect (git-exp does not log gradients or parameters)."""

    def unwatch(self, *args, **kwargs):
        """No effect."""

    def alert(self, title, text="", level=None, wait_duration=None):
        """Prints the alert on stderr (there is no server to notify)."""
        termwarn("ALERT %s: %s" % (title, text))

    def log_code(self, *args, **kwargs):
        """No effect: every run already stores the code it ran."""

    def mark_preempting(self):
        """No effect."""

    def _label(self, *args, **kwargs):
        """No effect (W&B's integration telemetry)."""

    def finish(self, exit_code=None, quiet=None):
        _CoreRun.finish(self, exit_code, bool(quiet))


class RunDisabled(Run):
    """The run of mode="disabled" (or WANDB_MODE=disabled): everything works, nothing is stored."""


# -- module-level API ---------------------------------------------------------------


def init(project=None, entity=None, config=None, name=None, tags=None, notes=None, group=None,
         job_type=None, reinit=None, mode=None, dir=None, id=None, resume=None, settings=None,
         **kwargs):
    """Starts (or attaches to, under `git exp run`) a run and returns it.

    group and job_type are stored as the run's group and job type, project and entity
    in exp.toml's [wandb] table; none of them enters wandb.config, which holds exactly
    what the script put there (as in W&B). dir, id, resume, settings and unknown
    keyword arguments have no effect.
    """
    env = os.environ
    mode = mode or env.get("WANDB_MODE") or None
    disabled = mode == "disabled" or env.get("WANDB_DISABLED", "").lower() in _DISABLED_VALUES
    project = project or env.get("WANDB_PROJECT")
    entity = entity or env.get("WANDB_ENTITY")
    name = name or env.get("WANDB_NAME")
    notes = notes if notes is not None else env.get("WANDB_NOTES")
    group = group or env.get("WANDB_RUN_GROUP")
    job_type = job_type or env.get("WANDB_JOB_TYPE")
    if tags is None and env.get("WANDB_TAGS"):
        tags = [t.strip() for t in env["WANDB_TAGS"].split(",") if t.strip()]
    tags = () if tags is None else ((tags,) if isinstance(tags, str) else tuple(map(str, tags)))
    kwargs.pop("allow_val_change", None)  # init's config never refuses a change anyway
    include = kwargs.pop("config_include_keys", None)
    exclude = kwargs.pop("config_exclude_keys", None)
    for key in kwargs:
        _log.debug("wandb.init(%s=...) has no effect under git-exp", key)

    existing = _session.current
    if existing is not None:
        if reinit in (True, "finish_previous", "create_new") and existing._mode != "attach":
            existing.finish()
        else:
            if reinit and existing._mode == "attach":
                existing._warn(("reinit",), "under `git exp run` there is one run per process; "
                               "wandb.init(reinit=...) returns the same run")
            if config is not None:
                existing.config.setdefaults(_select(config, include, exclude))
            return Run._adopt(existing)
    cls = RunDisabled if disabled else Run
    run, _ = _session.open_run(cls, name=_git_name(name), tags=tags, notes=notes,
                               unique_name=True, disabled=disabled)
    run.project, run.entity, run.group, run.job_type = project, entity, group, job_type
    if run._mode == "attach":
        if tags:
            run.tags = tags
        if notes is not None:
            run.notes = notes
    names = {k: str(v) for k, v in (("project", project), ("entity", entity)) if v}
    if name and run._mode == "attach" and name != run.name:
        names["name"] = str(name)
    fields = {k: str(v) for k, v in (("group", group), ("job_type", job_type)) if v}
    if names:
        fields["wandb"] = names
    if fields:
        run._emit({"_run": fields})
    if config is not None:
        run.config._apply_defaults(_select(config, include, exclude))
    return run


def _select(config, include, exclude):
    from ._values import as_dict

    values = as_dict(config)
    if include:
        values = {k: v for k, v in values.items() if k in include}
    if exclude:
        values = {k: v for k, v in values.items() if k not in exclude}
    return values


def _git_name(name):
    """A git-exp run name made from a W&B display name (which may hold any character)."""
    if not name:
        return None
    text = re.sub(r"[^A-Za-z0-9._/-]+", "-", str(name))
    parts = []
    for part in text.split("/"):
        part = re.sub(r"\.{2,}", ".", part).lstrip(".").strip("-")
        if part.endswith(".lock"):
            part = part[:-5]
        if part:
            parts.append(part)
    text = "/".join(parts)[:180].rstrip(".").lstrip("-")
    if text.startswith("refs/") or not text:
        return None
    return text


def _run(what):
    run = _session.current
    if run is None:
        raise Error("You must call wandb.init() before wandb.%s()" % what)
    return run


def log(data, step=None, commit=None, sync=None):
    """Logs metrics to the current run (W&B's step rules); see git_exp.Run.log."""
    run = _session.current
    if run is None:
        raise Error("You must call wandb.init() before wandb.log()")
    run.log(data, step, commit)


def finish(exit_code=None, quiet=None):
    """Ends the current run, if any."""
    run = _session.current
    if run is not None:
        if isinstance(run, Run):
            run.finish(exit_code, quiet)
        else:
            run.finish(exit_code)


def define_metric(name, step_metric=None, step_sync=None, hidden=None, summary=None, goal=None,
                  overwrite=None, **ignored):
    """Chooses a metric's summary and step metric; see Run.define_metric."""
    run = Run._adopt(_run("define_metric"))
    return run.define_metric(name, step_metric, step_sync, hidden, summary, goal, overwrite)


def log_artifact(artifact_or_path, name=None, type=None, aliases=None, tags=None):
    """Stores an Artifact or a path with the current run; see Run.log_artifact."""
    return Run.log_artifact(_run("log_artifact"), artifact_or_path, name, type, aliases)


def log_model(path, name=None, aliases=None):
    return log_artifact(path, name=name, type="model", aliases=aliases)


def use_artifact(artifact_or_name, type=None, aliases=None, use_as=None):
    return Run.use_artifact(_run("use_artifact"), artifact_or_name, type, aliases)


def save(glob_str=None, base_path=None, policy="live"):
    """Stores files matching glob_str with the current run; see Run.save."""
    return Run.save(_run("save"), glob_str, base_path, policy)


def watch(*args, **kwargs):
    """No effect."""


def unwatch(*args, **kwargs):
    """No effect."""


def alert(title, text="", level=None, wait_duration=None):
    """Prints the alert on stderr."""
    termwarn("ALERT %s: %s" % (title, text))


def login(*args, **kwargs):
    """Nothing to log in to; returns True."""
    return True


def require(*args, **kwargs):
    """No effect."""


def setup(*args, **kwargs):
    """No effect."""


def teardown(*args, **kwargs):
    """No effect."""


def mark_preempting():
    """No effect."""


def sweep(*args, **kwargs):
    raise Error("W&B sweeps need the W&B server; run `git exp run -p KEY=VALUE ...` per trial")


def agent(*args, **kwargs):
    sweep()


_printed = set()


def _term(prefix, string, repeat):
    if not repeat:
        if string in _printed:
            return
        _printed.add(string)
    sys.stderr.write("wandb: %s%s\n" % (prefix, string))


def termlog(string="", newline=True, repeat=True, prefix=True):
    """Prints `wandb: string` on stderr."""
    _term("", string, repeat)


def termwarn(string, repeat=True):
    """Prints `wandb: WARNING string` on stderr."""
    _term("WARNING ", string, repeat)


def termerror(string, repeat=True):
    """Prints `wandb: ERROR string` on stderr."""
    _term("ERROR ", string, repeat)


def __getattr__(name):
    if name == "run":
        return _session.current
    if name in ("config", "summary"):
        run = _session.current
        return _BeforeInit(name, "wandb") if run is None else getattr(run, name)
    raise AttributeError("module 'git_exp.wandb' has no attribute %r" % name)
