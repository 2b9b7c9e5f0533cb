"""Talking to the git-exp binary: `git-exp start` and `git-exp finish`.

The client never writes git objects itself; runs outside `git exp run` are
created and committed by these two plumbing commands.
"""

import json
import os
import shutil
import subprocess
import sys

from ._errors import Error

NOT_FOUND = "git-exp is not on PATH; install it (see the README) or set GIT_EXP_BIN"


def find():
    """Returns the path of the binary: $GIT_EXP_BIN, else `git-exp` on PATH."""
    configured = os.environ.get("GIT_EXP_BIN")
    if configured:
        if os.path.isfile(configured) and os.access(configured, os.X_OK):
            return configured
        raise Error("GIT_EXP_BIN=%s is not an executable file; point it at git-exp" % configured)
    found = shutil.which("git-exp")
    if found is None:
        raise Error(NOT_FOUND)
    return found


def command_line():
    """The argv recorded as the run's command: this interpreter and its arguments."""
    if not sys.argv or sys.argv == [""]:
        return [sys.executable or "python"]
    return [sys.executable or "python"] + list(sys.argv)


def start(cwd, name=None, tags=(), notes=None):
    """Runs `git-exp start` for this process; returns its JSON object (id, name, dir, events, params)."""
    argv = [find(), "start", "--format", "json", "--pid", str(os.getpid())]
    if name:
        argv += ["-n", name]
    for tag in tags:
        argv += ["-t", tag]
    if notes:
        argv += ["-m", notes]
    argv += ["--"] + command_line()
    out = _run(argv, cwd)
    try:
        info = json.loads(out.stdout.decode("utf-8"))
    except ValueError:
        info = None
    if not isinstance(info, dict) or any(k not in info for k in ("id", "name", "dir", "events",
                                                                 "params")):
        raise Error("git-exp start printed no run: %r" % out.stdout[:200])
    return info


def finish(cwd, run_id, status, exit_code=None, signal=None, quiet=False):
    """Runs `git-exp finish`, which commits the run; its status line goes to stderr."""
    argv = [find(), "finish", run_id, "--status", status]
    if exit_code is not None:
        argv += ["--exit-code", str(exit_code)]
    if signal is not None:
        argv += ["--signal", str(signal)]
    if quiet:
        argv.append("--quiet")
    out = _run(argv, cwd)
    if out.stderr:
        sys.stderr.write(out.stderr.decode("utf-8", "replace"))
        sys.stderr.flush()


def _run(argv, cwd):
    try:
        out = subprocess.run(
            argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
    except OSError as e:
        raise Error("cannot run %s: %s" % (argv[0], e)) from None
    if out.returncode != 0:
        raise Error(_message(out.stderr.decode("utf-8", "replace"), argv[1], out.returncode))
    return out


def _message(stderr, command, code):
    """The binary's `error:` line (and `hint:` lines) as one message."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line[len("error: "):] for line in lines if line.startswith("error: ")]
    hints = [line for line in lines if line.startswith("hint: ")]
    if errors:
        return "\n".join(errors + hints)
    if lines:
        return "\n".join(lines)
    return "git-exp %s failed with exit code %d" % (command, code)
