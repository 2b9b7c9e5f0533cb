"""`Run`: one tracked run as seen from this process. It turns log/config/
summary/tag/note/artifact calls into event lines, keeps W&B's step rules, and
knows how to end itself; starting runs and process hooks live in `_session`.

Steps follow W&B: a log without step= goes to the current step and commits
the row (step += 1); commit=False merges into the pending row; an explicit
step lower than the current one is dropped with a warning; a higher one
commits the pending row and moves there, and its row stays open until the
step moves on (or commit=True, or the run ends).
"""

import json
import os
import shutil
import sys
import threading
import time

from . import _binary
from ._config import Config
from ._errors import Error
from ._events import FLUSH_INTERVAL
from ._media import Image, is_media
from ._summary import Metrics, Summary, parse_summary
from ._values import INT_LIMIT, encode_key, flatten, format_number, jsonable, to_number

_MAX_STEP = 2**63 - 1
_MAX_LINE = 1 << 20


class Run:
    """A tracked run: `log`, `config`, `summary`, `tags`, `notes`, `log_artifact`, `finish`.

    Made by `git_exp.init()`, never directly. Attributes: `id`, `name` and `dir`
    (the run's live directory, $GIT_EXP_DIR).
    """

    _strict_config = False  # W&B refuses to change a config value without allow_val_change
    _locked_params = False  # W&B keeps the values a sweep (here: the run's params) sets

    def __init__(self, info, mode, sink, params):
        self._id = info["id"]
        self._name = info["name"]
        self._live_dir = info["dir"]
        self._mode = mode  # "attach", "standalone" or "disabled"
        self._sink = sink
        self._buf = sink.buf
        self._lock = threading.RLock()
        self._step = 0
        self._row = {}
        self._last = {}
        self._keys = {}  # metric name -> encoded '"name": ' for names known to be valid
        self._warned = set()
        self._metrics = Metrics()
        self._next_flush = time.time() + FLUSH_INTERVAL
        self._time_at = 0.0
        self._time_text = "0"
        self._tags = ()
        self._notes = None
        self._finished = False
        self._owner_pid = os.getpid()
        self._cwd = os.getcwd()
        self._on_end = None  # set by the session: detaches hooks, restores streams
        self.config = Config(self._emit, params, self._strict_config, self._locked_params)
        self.summary = Summary(self)

    def __repr__(self):
        return "<%s %s (%s)>" % (type(self).__name__, self.name, self._mode)

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        if kind is not None and issubclass(kind, KeyboardInterrupt):
            self._end("killed", None, 2)
        elif kind is not None and issubclass(kind, SystemExit):
            status, code = exit_status_of(value.code)
            self._end(status, code, None)
        else:
            self._end("finished" if kind is None else "failed", 0 if kind is None else 1, None)
        return False

    @property
    def id(self):
        """The run id (32 hex digits; shorter for disabled runs)."""
        return self._id

    @property
    def name(self):
        """The run name (refs/experiments/<name> once committed)."""
        return self._name

    @property
    def dir(self):
        """The run's live directory ($GIT_EXP_DIR); files under its artifacts/ are stored."""
        return self._live_dir

    # -- metrics ---------------------------------------------------------------

    @property
    def step(self):
        """The step the next log() without step= goes to."""
        return self._step

    def log(self, data, step=None, commit=None):
        """Logs a dict of metrics (nested dicts become dotted names).

        step: the row's step (see the module doc for W&B's rules); commit: False
        keeps the row open for more values, None commits unless step= is given.
        """
        if self._finished:
            raise Error("run %s is finished; start another with init()" % self.name)
        if step is None and commit is not False and type(data) is dict and data and not self._row:
            # Fast path: a flat dict of str -> float/int, all names seen before.
            keys = self._keys
            parts = []
            for name, value in data.items():
                kind = type(value)
                prefix = keys.get(name)
                if prefix is None:
                    break
                if kind is float:
                    if value - value != 0.0:  # NaN or infinite
                        break
                    parts.append(prefix + repr(value))
                elif kind is int and -INT_LIMIT < value < INT_LIMIT:
                    parts.append(prefix + repr(value))
                else:
                    break
            else:
                with self._lock:
                    if not self._row:
                        now = time.time()
                        elapsed = now - self._time_at
                        if elapsed >= 0.001 or elapsed < 0:  # < 0: the clock was set back
                            self._time_at = now
                            self._time_text = "%.3f" % now
                        step = self._step
                        self._step = step + 1
                        self._buf.append("{%s, \"_step\": %d, \"_time\": %s}\n"
                                         % (", ".join(parts), step, self._time_text))
                        self._last.update(data)
                        if self._metrics.active:
                            self._metrics.observe(data)
                        if now >= self._next_flush:
                            self._flush(now)
                        return
        self._log_slow(data, step, commit)

    def _log_slow(self, data, step, commit):
        if not isinstance(data, dict) and not hasattr(data, "items"):
            raise Error("log() takes a dict of metric names to values, got %s" % type(data).__name__)
        flat = flatten(data)
        with self._lock:
            if step is not None:
                step = _check_step(step)
                if step < self._step:
                    self._warn(("step", frozenset(flat)),
                               "step %d is lower than the current step %d; dropped the values of %s "
                               "(steps must not decrease)" % (step, self._step, _names(flat)))
                    return
                if step > self._step:
                    self._commit_row()
                    self._step = step
            self._merge(flat)
            if commit or (commit is None and step is None):
                self._commit_row()
            now = time.time()
            if now >= self._next_flush:
                self._flush(now)

    def _merge(self, flat):
        row = self._row
        for name, value in flat.items():
            number = to_number(value)
            if number is not None and not name.startswith("_"):
                row[name] = number
            elif name.startswith("_"):
                self._warn(("reserved", name), "metric names starting with '_' are reserved; "
                           "skipped %r" % name)
            elif is_media(value):
                self._save_media(name, value)
            else:
                self._skip(name, value)

    def _skip(self, name, value):
        self._warn(("type", name), "%r is not a number (%s); git-exp stores numbers and images, "
                   "so it is skipped" % (name, type(value).__name__))

    def _commit_row(self):
        row = self._row
        if not row:
            return
        self._row = {}
        step = self._step
        self._step = step + 1
        now = time.time()
        keys = self._keys
        parts = []
        for name, value in row.items():
            prefix = keys.get(name)
            if prefix is None:
                prefix = keys[name] = encode_key(name)
            parts.append(prefix + format_number(value))
        tail = ", \"_step\": %d, \"_time\": %.3f}\n" % (step, now)
        line = "{" + ", ".join(parts) + tail
        if len(line) > _MAX_LINE + 1:  # bytes: names are written with ASCII escapes
            self._append_split(parts, tail)
        else:
            self._buf.append(line)
        self._last.update(row)
        if self._metrics.active:
            self._metrics.observe(row)

    def _append_split(self, parts, tail):
        """Appends a row too long for one line (the binary takes lines up to 1 MiB) as
        several lines with the same step and time."""
        room = _MAX_LINE + 1 - len(tail) - 1  # the line's "{" and tail
        chunk, size = [], 0
        for part in parts:
            if len(part) > room:
                self._warn(("long", part[:40]), "metric %s... has a name longer than 1 MiB; "
                           "skipped" % part[:40])
                continue
            if chunk and size + 2 + len(part) > room:
                self._buf.append("{" + ", ".join(chunk) + tail)
                chunk, size = [], 0
            size += (2 if chunk else 0) + len(part)
            chunk.append(part)
        if chunk:
            self._buf.append("{" + ", ".join(chunk) + tail)

    def define_metric(self, name, summary=None, goal=None):
        """Chooses what the summary of metric `name` (a glob such as "val/*" works)
        is: "min", "max", "mean", "first", "last", "best" (with goal
        "minimize"/"maximize"), "none", or several comma-separated."""
        kinds = parse_summary(summary, goal)
        with self._lock:
            self._metrics.define(str(name), kinds)

    # -- media and artifacts ---------------------------------------------------

    def _save_media(self, name, value):
        if self._mode == "disabled":
            return
        images = [value] if isinstance(value, Image) else list(value)
        folder = os.path.join(self._artifacts_dir(), "media", *_safe_parts(name))
        os.makedirs(folder, exist_ok=True)
        for index, image in enumerate(images):
            stem = str(self._step) if len(images) == 1 else "%d_%d" % (self._step, index)
            image.save(os.path.join(folder, "%s.%s" % (stem, image.format)))

    def _artifacts_dir(self):
        return os.path.join(self._live_dir, "artifacts")

    def log_artifact(self, path, name=None):
        """Stores the file or directory at path with the run when it ends (a directory
        takes its files, recursively). name: its path inside the run's artifacts
        (default: the file name). The file is read when the run ends."""
        path = os.path.abspath(os.fspath(path))
        if not os.path.exists(path):
            raise Error("cannot log artifact %s: no such file or directory" % path)
        self._emit({"_artifact": path if name is None else {"path": path, "name": str(name)}})

    def _copy_artifact(self, source, name):
        """Copies a file or directory into the run's artifacts/ now (freezing its content)."""
        target = os.path.join(self._artifacts_dir(), *_safe_parts(name))
        if self._mode == "disabled":
            return target
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if os.path.isdir(source):
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            shutil.copyfile(source, target)
        return target

    # -- tags and notes --------------------------------------------------------

    @property
    def tags(self):
        """Tags this process added (a tuple); assigning adds the new ones."""
        return self._tags

    @tags.setter
    def tags(self, value):
        value = (value,) if isinstance(value, str) else tuple(str(t) for t in value)
        added = tuple(t for t in dict.fromkeys(value) if t not in self._tags)
        if any(t not in value for t in self._tags):
            self._warn(("tags",), "tags cannot be removed from a run; kept %s" % (self._tags,))
        if added:
            self._tags += added
            self._emit({"_tag": list(added)})

    @property
    def notes(self):
        """The note set from this process (str or None); assigning replaces it."""
        return self._notes

    @notes.setter
    def notes(self, value):
        self._notes = None if value is None else str(value)
        if self._notes is not None:
            self._emit({"_note": self._notes})

    # -- writing and ending ----------------------------------------------------

    def _emit(self, event):
        """Buffers one event line (reserved keys: _config, _summary, _tag, ...)."""
        line = json.dumps(jsonable(event)) + "\n"
        if len(line) > _MAX_LINE:
            key = next(iter(event))
            self._warn(("long", key), "a %s event is longer than 1 MiB and was dropped" % key)
            return
        with self._lock:
            if not self._finished:
                self._buf.append(line)

    def _flush(self, now=None):
        self._sink.flush()
        self._next_flush = (now or time.time()) + FLUSH_INTERVAL

    def _tick(self):
        """Called every second by the flush thread."""
        with self._lock:
            if self._finished:
                return
            if self._metrics.dirty:
                self._send_aggregates()
            self._flush()

    def _send_aggregates(self):
        explicit = self.summary.explicit_keys()
        values = {k: v for k, v in self._metrics.values().items() if k not in explicit}
        self._metrics.dirty = False
        if values:
            self._emit({"_summary": values})

    def flush(self):
        """Writes everything logged so far (the pending row too) to the events file."""
        with self._lock:
            if not self._finished:
                self._commit_row()
                self._send_aggregates()
                self._flush()

    def finish(self, exit_code=None, quiet=False):
        """Ends the run. Outside `git exp run` this commits it: finished for exit code
        None or 0, failed otherwise. Under `git exp run` it flushes and detaches;
        the run ends with the process."""
        code = 0 if exit_code is None else int(exit_code)
        self._end("finished" if code == 0 else "failed", code, None, quiet=quiet)

    def _end(self, status, exit_code, signal, quiet=False, at_exit=False):
        with self._lock:
            if self._finished:
                return
            self._commit_row()
            self._send_aggregates()
            self._finished = True
            self._sink.close()
        if self._on_end is not None:
            self._on_end(self)
        if self._mode != "standalone" or os.getpid() != self._owner_pid:
            return
        try:
            _binary.finish(self._cwd, self.id, status, exit_code, signal, quiet)
        except Error as e:
            if not at_exit:
                raise
            sys.stderr.write("git-exp: error: could not commit run %s: %s\n" % (self.name, e))

    def _forget_after_fork(self):
        """In a forked child: a fresh lock, and the parent's open row is the parent's."""
        self._lock = threading.RLock()
        self._row = {}

    def _warn(self, key, message):
        if key in self._warned:
            return
        self._warned.add(key)
        try:
            sys.stderr.write("git-exp: warning: %s\n" % message)
        except Exception:
            pass


def exit_status_of(code):
    """(status, exit code) of a process ending with sys.exit(code)."""
    if code is None:
        code = 0
    elif not isinstance(code, int):
        code = 1  # a message
    return ("finished" if code == 0 else "failed"), int(code)


def _check_step(step):
    number = to_number(step)
    if type(number) is float and number.is_integer():
        number = int(number)
    if type(number) is not int or not 0 <= number <= _MAX_STEP:
        shown = number if type(number) is float else step  # a huge int has no repr (3.11+)
        raise Error("step must be an integer from 0 to 2**63-1, got %r" % (shown,))
    return number


def _names(flat):
    names = sorted(flat)
    return ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")


def _safe_parts(name):
    """Splits a metric or artifact name into path parts that stay inside their folder."""
    parts = [p for p in str(name).replace("\\", "/").split("/") if p not in ("", ".", "..")]
    return [p.replace(":", "_") for p in parts] or ["_"]
