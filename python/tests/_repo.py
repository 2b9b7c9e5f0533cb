"""Temporary git repositories for tests that drive the real git-exp binary.

`TempRepo` makes a repository with one commit in a temporary directory, runs
`git-exp` in it with a clean environment (no GIT_EXP_* variables leaking in from an
outer run, no user or system git config, fixed author names), and reads committed runs
back with plain git (`git show refs/experiments/NAME:metrics.csv`) and with
`git exp show NAME --format json`.

The binary is $GIT_EXP_BIN, else `git-exp` on PATH. Scripts run under `git exp run`
import the same git_exp package as the test process (its directory goes first on the
child's PYTHONPATH), so the tests check the client in this tree.
"""

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap

import git_exp

CLIENT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(git_exp.__file__)))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PYTHON = sys.executable


def git_exp_bin():
    """Returns the git-exp binary to test: $GIT_EXP_BIN, else `git-exp` on PATH."""
    found = os.environ.get("GIT_EXP_BIN") or shutil.which("git-exp")
    if not found:
        raise RuntimeError("git-exp is not on PATH; set GIT_EXP_BIN to the built binary")
    return found


def clean_env(**extra):
    """Returns os.environ without run variables or user git config, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_EXP_")}
    env.update(
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="Test Author",
        GIT_AUTHOR_EMAIL="author@example.com",
        GIT_COMMITTER_NAME="Test Author",
        GIT_COMMITTER_EMAIL="author@example.com",
        PYTHONPATH=os.pathsep.join(
            [CLIENT_DIR] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        ),
        PYTHONDONTWRITEBYTECODE="1",
    )
    if "GIT_EXP_BIN" in os.environ:
        env["GIT_EXP_BIN"] = os.environ["GIT_EXP_BIN"]
    env.update(extra)
    return env


class TempRepo:
    """A git repository with one commit, removed by cleanup()."""

    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="git-exp-test-")
        self.env = clean_env()
        self.git("init", "-q", "-b", "main")
        self.write("README.md", "test repository\n")
        self.git("add", "README.md")
        self.git("commit", "-q", "-m", "init")

    def cleanup(self):
        shutil.rmtree(self.path, ignore_errors=True)

    def write(self, relpath, text):
        """Writes a file (dedented) into the work tree and returns its path."""
        path = os.path.join(self.path, relpath)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(textwrap.dedent(text))
        return path

    def copy_in(self, source, relpath):
        """Copies a file of this source tree into the work tree at relpath."""
        target = os.path.join(self.path, relpath)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(source, target)
        return target

    def git(self, *args):
        """Runs git in the repository and returns its stdout; fails on a non-zero exit."""
        out = subprocess.run(
            ["git", *args], cwd=self.path, env=self.env, capture_output=True, text=True
        )
        if out.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed:\n{out.stderr}")
        return out.stdout

    def exp(self, *args, check=True, timeout=600):
        """Runs git-exp with `args` in the repository; returns the CompletedProcess."""
        out = subprocess.run(
            [git_exp_bin(), *args],
            cwd=self.path,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        if check and out.returncode != 0:
            raise AssertionError(
                f"git-exp {' '.join(args)} exited {out.returncode}\n"
                f"--- stdout\n{out.stdout}\n--- stderr\n{out.stderr}"
            )
        return out

    def with_wandb_shim(self):
        """Puts this tree's `wandb` shim on the PYTHONPATH of what runs here.

        `git exp run --wandb` puts the binary's embedded copy first anyway; this one is
        behind it, for a binary built before the shim changed.
        """
        shim = os.path.join(CLIENT_DIR, "wandb_shim")
        self.env["PYTHONPATH"] = self.env["PYTHONPATH"] + os.pathsep + shim

    def run_script(self, name, script, *options):
        """Writes `script` to train_NAME.py, runs it as `git exp run -n NAME [options] -- python ...`.

        (The file name never shadows a framework: a `keras.py` would be imported as keras.)
        """
        self.write(f"train_{name}.py", script)
        return self.exp("run", "-n", name, *options, "--", PYTHON, f"train_{name}.py")

    def python(self, name, script):
        """Writes `script` to train_NAME.py and runs it with Python directly (no `git exp run`)."""
        self.write(f"train_{name}.py", script)
        out = subprocess.run([PYTHON, f"train_{name}.py"], cwd=self.path, env=self.env,
                             capture_output=True, text=True, timeout=600,
                             stdin=subprocess.DEVNULL)
        if out.returncode != 0:
            raise AssertionError(f"train_{name}.py exited {out.returncode}\n{out.stderr}")
        return out

    def show(self, name):
        """Returns `git exp show NAME --format json` as a dict."""
        return json.loads(self.exp("show", name, "--format", "json").stdout)

    def metrics(self, name):
        """Returns {metric: [(step, value), ...]} from the run's metrics.csv, in file order."""
        text = self.git("show", f"refs/experiments/{name}:metrics.csv")
        series = {}
        for row in csv.DictReader(io.StringIO(text)):
            series.setdefault(row["name"], []).append((int(row["step"]), float(row["value"])))
        return series


def flatten(config, prefix=""):
    """Returns a nested config as {"a.b": value} (what `git exp show` prints)."""
    out = {}
    for key, value in config.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out
