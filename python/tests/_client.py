"""Helpers for the client's own tests: a temporary repository (tests/_repo.py)
plus running scripts with an expected exit status, under `git exp run` or on
their own, and reading committed runs back with git.
"""

import csv
import io
import json
import subprocess
import unittest

from tests._repo import PYTHON, TempRepo, git_exp_bin

try:
    import tomllib
except ImportError:  # Python < 3.11: tests read `git exp show --format json` instead
    tomllib = None

TIMEOUT = 60


class Repo(TempRepo):
    """TempRepo with script runners that return the finished process."""

    def attach(self, name, script, *options, code=0, env=None):
        """Runs script under `git exp run -n NAME [options]`; checks its exit code."""
        path = self.write("%s.py" % name.replace("/", "_"), script)
        out = subprocess.run(
            [git_exp_bin(), "run", "-n", name, *options, "--", PYTHON, path],
            cwd=self.path, env=dict(self.env, **(env or {})), capture_output=True, text=True,
            timeout=TIMEOUT, stdin=subprocess.DEVNULL)
        _check(out, code)
        return out

    def standalone(self, script, *args, code=0, env=None, cwd=None, filename="script.py"):
        """Runs script with plain Python (no `git exp run`); checks its exit code."""
        path = self.write(filename, script)
        out = subprocess.run(
            [PYTHON, path, *args], cwd=cwd or self.path, env=dict(self.env, **(env or {})),
            capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
        _check(out, code)
        return out

    def file(self, name, path):
        """The text of a file of committed run NAME."""
        return self.git("show", "refs/experiments/%s:%s" % (name, path))

    def blob(self, name, path):
        """The bytes of a file of committed run NAME."""
        return subprocess.run(["git", "show", "refs/experiments/%s:%s" % (name, path)],
                              cwd=self.path, env=self.env, capture_output=True,
                              check=True).stdout

    def toml(self, name, path):
        """A TOML file of run NAME, parsed (tests call this only when tomllib exists)."""
        return tomllib.loads(self.file(name, path))

    def rows(self, name):
        """metrics.csv of run NAME as [(step, metric, value text)], in file order."""
        text = self.file(name, "metrics.csv")
        return [(int(r["step"]), r["name"], r["value"]) for r in csv.DictReader(io.StringIO(text))]

    def runs(self):
        """`git exp list --format json` (recovers runs whose process died)."""
        return json.loads(self.exp("list", "--format", "json").stdout)

    def fsck(self):
        self.git("fsck", "--strict", "--no-dangling")


def _check(out, code):
    if out.returncode != code:
        raise AssertionError("exit code %s, expected %s\n--- stdout\n%s\n--- stderr\n%s"
                             % (out.returncode, code, out.stdout, out.stderr))


class RepoTest(unittest.TestCase):
    """A test case with a fresh repository per test."""

    def setUp(self):
        self.repo = Repo()
        self.addCleanup(self.repo.cleanup)


def needs_toml(test):
    return unittest.skipIf(tomllib is None, "tomllib needs Python 3.11")(test)

