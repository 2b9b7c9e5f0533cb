"""git-exp's Python client: log metrics, config and summary values of a run.

    import git_exp
    run = git_exp.init(config={"lr": 0.01})
    git_exp.log({"loss": 0.5})

Under `git exp run` the run is the binary's; elsewhere `init` starts one with
`git-exp start` and it is committed by `finish()` or when the process exits.
`git_exp.run`, `git_exp.config` and `git_exp.summary` are the current run's.
Standard library only; see docs/python.md.
"""

from . import _session
from ._errors import Error
from ._media import Image
from ._run import Run

__version__ = "0.1.0"
__all__ = ["Error", "Image", "Run", "define_metric", "finish", "init", "log", "log_artifact"]


def init(name=None, config=None, tags=None, notes=None, *, capture_output=True):
    """Starts or attaches to this process's run and returns it.

    name, tags, notes: used when starting a run outside `git exp run` (inside
    it, tags and notes are added; the name is the one `git exp run` chose).
    config: a dict, argparse.Namespace or object with attributes; the run's
    params (`git exp run -p`) win over its values. capture_output: copy
    stdout/stderr into the run's output (outside `git exp run` only).
    A second call returns the same run, adding tags, notes and new config keys.
    """
    tags = _tag_tuple(tags)
    run, created = _session.open_run(Run, name=name, tags=tags, notes=notes,
                                     capture_output=capture_output)
    if not created or run._mode == "attach":
        if name is not None and name != run.name:
            run._warn(("name",), "init(name=%r) is ignored: this process already logs to run %r"
                      % (name, run.name) + (" (name runs with `git exp run -n`)"
                                            if run._mode == "attach" else ""))
        if tags:
            run.tags = run.tags + tags
        if notes is not None:
            run.notes = notes
    if config is not None:
        if created:
            run.config._apply_defaults(config)
        else:
            run.config.setdefaults(config)
    return run


def log(data, step=None, commit=None):
    """Logs metrics to the current run; see Run.log."""
    run = _session.current
    if run is None:
        raise Error("git_exp.log() called before git_exp.init()")
    run.log(data, step, commit)


def log_artifact(path, name=None):
    """Stores a file or directory with the current run; see Run.log_artifact."""
    _current("log_artifact").log_artifact(path, name)


def define_metric(name, summary=None, goal=None):
    """Chooses a metric's summary (min, max, mean, ...); see Run.define_metric."""
    _current("define_metric").define_metric(name, summary, goal)


def finish(exit_code=None):
    """Ends the current run (no-op without one); see Run.finish."""
    run = _session.current
    if run is not None:
        run.finish(exit_code)


def _current(what):
    run = _session.current
    if run is None:
        raise Error("git_exp.%s() called before git_exp.init()" % what)
    return run


def _tag_tuple(tags):
    if tags is None:
        return ()
    if isinstance(tags, str):
        return (tags,)
    return tuple(str(t) for t in tags)


class _BeforeInit:
    """Stands for git_exp.config / git_exp.summary before init: any use raises Error."""

    def __init__(self, what, module="git_exp"):
        object.__setattr__(self, "_what", "%s.%s" % (module, what))
        object.__setattr__(self, "_module", module)

    def _fail(self, *args, **kwargs):
        raise Error("%s is used before %s.init(); call %s.init() first"
                    % (self._what, self._module, self._module))

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        self._fail()

    __setattr__ = __getitem__ = __setitem__ = __iter__ = __len__ = __contains__ = _fail

    def __bool__(self):
        return False

    def __repr__(self):
        return "<%s before init>" % self._what


def __getattr__(name):
    if name == "run":
        return _session.current
    if name in ("config", "summary"):
        run = _session.current
        return _BeforeInit(name) if run is None else getattr(run, name)
    raise AttributeError("module 'git_exp' has no attribute %r" % name)
