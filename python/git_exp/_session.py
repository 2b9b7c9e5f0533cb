"""The run this process logs to, how it got it, and the process hooks that end it.

Inside `git exp run` (GIT_EXP_EVENTS set) a run attaches to the binary's run.
Otherwise it is started with `git-exp start` and committed with `git-exp
finish`: by `finish()`, at interpreter exit (atexit: failed after an uncaught
exception, killed after KeyboardInterrupt, failed for a non-zero sys.exit
code), or on SIGTERM (killed; the process then still dies by the signal).
"""

import atexit
import json
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading

from . import _binary
from ._console import Console
from ._errors import Error
from ._events import Appender, NullAppender, flusher, forget_after_fork
from ._run import exit_status_of

ENV_KEYS = ("GIT_EXP_RUN_ID", "GIT_EXP_RUN_NAME", "GIT_EXP_DIR", "GIT_EXP_EVENTS", "GIT_EXP_PARAMS")

current = None  # the Run this process logs to, or None
_lock = threading.RLock()
_hooked = False
_exit_code = None  # (code,) once sys.exit was called
_exception = None  # the type of the uncaught exception, if any


def open_run(cls, name=None, tags=(), notes=None, capture_output=True, unique_name=False,
             disabled=False):
    """Returns (run, created): the current run, or a new one of class cls."""
    global current
    with _lock:
        if current is not None:
            return current, False
        if disabled:
            run = _disabled(cls, name)
        elif os.environ.get("GIT_EXP_EVENTS"):
            run = _attach(cls)
        else:
            run = _start(cls, name, tags, notes, capture_output, unique_name)
        run._on_end = _detach
        current = run
        if run._mode != "disabled":
            _install_hooks()
            flusher.add(run._tick)
        return run, True


def _attach(cls):
    env = os.environ
    events = env["GIT_EXP_EVENTS"]
    if not os.path.isfile(events):
        raise Error("GIT_EXP_EVENTS=%s does not exist: the run it belongs to has ended; unset "
                    "the GIT_EXP_* variables to start a new run" % events)
    info = {
        "id": env.get("GIT_EXP_RUN_ID", ""),
        "name": env.get("GIT_EXP_RUN_NAME", ""),
        "dir": env.get("GIT_EXP_DIR") or os.path.dirname(events),
    }
    return cls(info, "attach", Appender(events), _read_params(env.get("GIT_EXP_PARAMS")))


def _start(cls, name, tags, notes, capture_output, unique_name):
    cwd = os.getcwd()
    candidate, number = name, 1
    while True:
        try:
            info = _binary.start(cwd, candidate, tags, notes)
            break
        except Error as e:
            # W&B run names need not be unique; git-exp names must be.
            if not (unique_name and candidate and "already exists" in str(e) and number < 1000):
                raise
            number += 1
            candidate = "%s-%d" % (name, number)
    run = cls(info, "standalone", Appender(info["events"]), _read_params(info["params"]))
    run._tags = tuple(tags)
    run._notes = notes
    run._saved_env = {key: os.environ.get(key) for key in ENV_KEYS}
    values = (info["id"], info["name"], info["dir"], info["events"], info["params"])
    os.environ.update(zip(ENV_KEYS, values))
    if capture_output:
        run._console = Console(os.path.join(info["dir"], "console.log"))
        run._console.install()
        flusher.add(run._console.log.flush)
    return run


def _disabled(cls, name):
    info = {"id": secrets.token_hex(4), "name": name or "disabled",
            "dir": tempfile.mkdtemp(prefix="git-exp-disabled-")}
    return cls(info, "disabled", NullAppender(), {})


def _read_params(path):
    if not path:
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            params = json.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise Error("cannot read the run's params %s: %s" % (path, e)) from None
    return params if isinstance(params, dict) else {}


def _detach(run):
    """Undoes what open_run set up for run (called when the run ends)."""
    global current
    with _lock:
        flusher.remove(run._tick)
        console = getattr(run, "_console", None)
        if console is not None:
            flusher.remove(console.log.flush)
            console.uninstall()
        saved = getattr(run, "_saved_env", None)
        if saved and os.getpid() == run._owner_pid:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        if run._mode == "disabled":
            shutil.rmtree(run._live_dir, ignore_errors=True)
        if current is run:
            current = None


# -- process hooks -------------------------------------------------------------


def _install_hooks():
    global _hooked
    if _hooked:
        return
    _hooked = True
    atexit.register(_at_exit)
    previous_hook = sys.excepthook

    def excepthook(kind, value, tb):
        global _exception
        _exception = kind
        previous_hook(kind, value, tb)

    sys.excepthook = excepthook
    real_exit = sys.exit

    def exit(status=None):
        global _exit_code
        if threading.current_thread() is threading.main_thread():  # elsewhere it ends a thread
            _exit_code = (status,)
        real_exit(status)

    exit.__doc__ = real_exit.__doc__
    sys.exit = exit
    if (threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL):
        signal.signal(signal.SIGTERM, _on_sigterm)
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_after_fork_in_child)


def exit_status():
    """(status, exit code, signal) of this process as far as it is known at exit."""
    kind = _exception
    if kind is None and not hasattr(sys, "ps1"):
        # Set by the interpreter for an uncaught exception even if another
        # excepthook replaced ours.
        kind = getattr(sys, "last_type", None)
    if kind is not None:
        if issubclass(kind, KeyboardInterrupt):
            return "killed", None, signal.SIGINT.value
        return "failed", 1, None
    if _exit_code is None:
        return "finished", 0, None
    status, code = exit_status_of(_exit_code[0])
    return status, code, None


def _at_exit():
    run = current
    if run is None:
        return
    if os.getpid() != run._owner_pid:
        _flush_child(run)
        return
    status, code, sig = exit_status()
    run._end(status, code, sig, at_exit=True)


def _on_sigterm(signum, frame):
    run = current
    try:
        if run is not None:
            if os.getpid() == run._owner_pid:
                run._end("killed", None, signum, at_exit=True)
            else:
                _flush_child(run)
    finally:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


def _flush_child(run):
    """Writes what a forked child logged and printed (it never ends the parent's run)."""
    run.flush()
    console = getattr(run, "_console", None)
    if console is not None:
        console.log.flush()


def _after_fork_in_child():
    global _lock
    _lock = threading.RLock()
    forget_after_fork()
    run = current
    if run is None:
        return
    run._forget_after_fork()
    if run._mode == "disabled":
        return
    # The flush thread did not survive the fork: the child gets its own.
    flusher.add(run._tick)
    console = getattr(run, "_console", None)
    if console is not None:
        flusher.add(console.log.flush)
    # multiprocessing ends its children with os._exit, so atexit never runs there; its own
    # exit hooks do. They are reset as a child starts, then its after-fork callbacks run:
    # one of those registers the flush.
    mp_util = sys.modules.get("multiprocessing.util")
    if mp_util is not None:
        mp_util.register_after_fork(run, _register_child_flush)


def _register_child_flush(run):
    mp_util = sys.modules.get("multiprocessing.util")
    if mp_util is not None:
        mp_util.Finalize(None, _at_exit, exitpriority=-100)
