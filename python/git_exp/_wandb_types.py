"""W&B's data classes as git_exp.wandb offers them: Artifact (files stored
with the run), and stand-ins that scripts can build and log without effect
(Table, Histogram, Audio, Video, Html, ...), plus Settings and Api, and the
step_metric rules of define_metric.

git-exp stores numbers, images and files; a logged Table or Histogram is
skipped with one warning per key.
"""

import contextlib
import os
import shutil
import tempfile
import weakref

from ._errors import Error


class Artifact:
    """A named set of files; `run.log_artifact(artifact)` copies them to the
    run's artifacts/<name>/. Logging the same name again replaces its files
    (no versions); aliases, type and metadata are kept on the object only."""

    def __init__(self, name, type="unspecified", description=None, metadata=None,
                 incremental=False, use_as=None, **ignored):
        self.name = str(name)
        self.type = type
        self.description = description
        self.metadata = dict(metadata or {})
        self.aliases = []
        self._entries = []  # (absolute source path, path inside the artifact)
        self._staging = None

    def add_file(self, local_path, name=None, is_tmp=False, skip_cache=None, policy=None,
                 overwrite=False, **ignored):
        """Adds a file (copied when the artifact is logged) as `name` (default: its file name)."""
        path = os.path.abspath(os.fspath(local_path))
        if not os.path.isfile(path):
            raise Error("cannot add %s to artifact %s: not a file" % (path, self.name))
        self._entries.append((path, str(name) if name else os.path.basename(path)))

    def add_dir(self, local_path, name=None, skip_cache=None, policy=None, merge=False, **ignored):
        """Adds a directory's files (copied when the artifact is logged) under `name`."""
        path = os.path.abspath(os.fspath(local_path))
        if not os.path.isdir(path):
            raise Error("cannot add %s to artifact %s: not a directory" % (path, self.name))
        self._entries.append((path, str(name) if name else ""))

    @contextlib.contextmanager
    def new_file(self, name, mode="x", encoding=None):
        """Opens a new file inside the artifact for writing."""
        if self._staging is None:
            self._staging = tempfile.mkdtemp(prefix="git-exp-artifact-")
            weakref.finalize(self, shutil.rmtree, self._staging, True)
        path = os.path.join(self._staging, str(name))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, mode, encoding=encoding) as f:
            yield f
        self._entries.append((path, str(name)))

    def add_reference(self, uri, name=None, **ignored):
        """Not supported (references point outside the repository); does nothing."""
        return None

    def add(self, obj, name, **ignored):
        """Not supported (W&B media objects inside artifacts); does nothing."""
        return None

    def save(self, *args, **kwargs):
        return self

    def wait(self, *args, **kwargs):
        return self

    def download(self, *args, **kwargs):
        raise Error("artifacts cannot be downloaded: git-exp keeps them with the run "
                    "(see `git exp show`)")

    def _copy_into(self, run):
        for source, name in self._entries:
            run._copy_artifact(source, os.path.join(self.name, name) if name else self.name)

    def __repr__(self):
        return "Artifact(%r, %d entries)" % (self.name, len(self._entries))


class _NotStored:
    """Base of the W&B objects git-exp does not store: built and logged without effect."""

    def __init__(self, *args, **kwargs):
        self._args = args
        self._kwargs = kwargs

    def __repr__(self):
        return "%s (not stored by git-exp)" % type(self).__name__


class Table(_NotStored):
    """W&B Table stand-in: rows can be added and read back; logging it stores nothing."""

    def __init__(self, columns=None, data=None, rows=None, dataframe=None, **kwargs):
        super().__init__()
        if dataframe is not None:
            columns = list(dataframe.columns)
            data = dataframe.values.tolist()
        self.columns = list(columns or [])
        self.data = [list(row) for row in (data or rows or [])]

    def add_data(self, *values):
        self.data.append(list(values))

    def add_column(self, name, data, optional=False):
        self.columns.append(name)
        for row, value in zip(self.data, data):
            row.append(value)

    def get_column(self, name, convert_to=None):
        index = self.columns.index(name)
        return [row[index] for row in self.data]


class Histogram(_NotStored):
    """W&B Histogram stand-in (not stored)."""


class Audio(_NotStored):
    """W&B Audio stand-in (not stored)."""


class Video(_NotStored):
    """W&B Video stand-in (not stored)."""


class Html(_NotStored):
    """W&B Html stand-in (not stored)."""


class Object3D(_NotStored):
    """W&B Object3D stand-in (not stored)."""


class Molecule(_NotStored):
    """W&B Molecule stand-in (not stored)."""


class Plotly(_NotStored):
    """W&B Plotly stand-in (not stored)."""


class _Plot:
    """`wandb.plot.*` charts: each returns an object that is not stored when logged."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return lambda *args, **kwargs: _NotStored(name, *args, **kwargs)


plot = _Plot()


class Settings:
    """W&B Settings stand-in: keeps its keyword arguments as attributes; none has an effect."""

    def __init__(self, **kwargs):
        self.__dict__.update(kwargs)


class Api:
    """W&B's server API: not available (runs live in git; read them with `git exp show`)."""

    def __init__(self, *args, **kwargs):
        raise Error("wandb.Api is not available: git-exp has no server; read runs with "
                    "`git exp list` and `git exp show`")


class _Metric:
    """What define_metric returns (W&B returns a metric handle)."""

    def __init__(self, name, step_metric=None, summary=None, goal=None, hidden=None,
                 step_sync=None):
        self.name = name
        self.step_metric = step_metric
        self.step_sync = step_sync
        self.summary = summary
        self.goal = goal
        self.hidden = hidden


class _StepMetrics:
    """define_metric's step_metric bindings, with W&B's rules for which one applies.

    A name ending in "*" is a glob matching every name that starts with the rest (W&B
    allows "*" only there); other names are exact. An exact definition wins over the
    globs, even one without a step_metric: W&B defines the step metric itself that way,
    so `define_metric("*", step_metric="s")` never binds "s" to itself. Among globs, the
    first one defined wins. Defining a name again merges with what it had (a step_metric
    or step_sync not given keeps its earlier value) unless overwrite=True. step_sync
    defaults to True when a step_metric is given. Names starting with "_" match no glob.
    """

    def __init__(self):
        self.active = False  # True once a rule has a step metric: log() then looks rules up
        self.step_metrics = set()  # the names some rule has as its step metric
        self._exact = {}  # name -> (step metric or None, step_sync)
        self._globs = {}  # prefix -> (step metric or None, step_sync), in definition order
        self._cache = {}

    def define(self, name, step_metric=None, step_sync=None, overwrite=False):
        """Adds or merges the rule for `name` (a glob if it ends in "*")."""
        table, key = (self._globs, name[:-1]) if name.endswith("*") else (self._exact, name)
        sync = bool(step_sync) if step_sync is not None else step_metric is not None
        old = table.get(key)
        if old is not None and not overwrite:
            step_metric = step_metric if step_metric is not None else old[0]
            sync = sync or old[1]
        table[key] = (step_metric, sync)
        if step_metric is not None:
            self._exact.setdefault(step_metric, (None, False))
            self.step_metrics.add(step_metric)
            self.active = True
        self._cache.clear()

    def rule(self, name):
        """Returns (step metric, step_sync) for metric `name`, or None when it has no
        step metric."""
        try:
            return self._cache[name]
        except KeyError:
            pass
        found = self._exact.get(name)
        if found is None and not name.startswith("_"):
            found = next((r for p, r in self._globs.items() if name.startswith(p)), None)
        if found is not None and found[0] is None:
            found = None
        self._cache[name] = found
        return found
