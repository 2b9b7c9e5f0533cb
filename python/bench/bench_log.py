"""Measures how many `git_exp.log({"loss": x})` calls per second a training loop can make.

    python3 python/bench/bench_log.py                      # N = 1,000,000 calls, two ways
    python3 python/bench/bench_log.py --mlflow-python /tmp/venv-bench/bin/python

Three figures, each from a separate process so none warms the next:

- `git_exp.log` inside a real `git exp run` (the client attaches to the run through the
  GIT_EXP_* variables), N calls;
- `git_exp.log` standalone: the script's own `git_exp.init()` starts the run through
  `git-exp start`, N calls, then `git_exp.finish()` (timed separately: it flushes and
  commits);
- with `--mlflow-python PY` (an interpreter that has mlflow), `mlflow.log_metric("loss", x,
  step=i)` to a local file store (`mlflow.set_tracking_uri("file:" + tmpdir)`), with
  --mlflow-n calls (default 20,000, as a million takes long); its time for N calls is
  extrapolated from that rate, and the table says so.

Only the logging loop is timed (`time.perf_counter` around it); starting the interpreter,
importing the client and starting the run are not. After each git-exp figure the script
checks that the committed run's metrics.csv has one line per call, so a figure always
comes from a complete run. Everything happens in a temporary git repository with
neither the user's nor the system's git config; the repository is removed at the end.

Standard library only. The client is the one in this source tree (python/git_exp); the
binary is --bin, else $GIT_EXP_BIN, else `git-exp` on PATH.
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

CLIENT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARK = "bench-result "


def main():
    parser = argparse.ArgumentParser(description="git_exp.log calls per second")
    parser.add_argument("-n", type=int, default=1_000_000, help="git_exp.log calls per figure")
    parser.add_argument("--mlflow-n", type=int, default=20_000, help="mlflow.log_metric calls")
    parser.add_argument("--mlflow-python", help="an interpreter with mlflow installed")
    parser.add_argument("--bin", help="the git-exp binary (default: $GIT_EXP_BIN, else PATH)")
    parser.add_argument("--worker", choices=["git_exp", "mlflow"], help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker == "git_exp":
        return worker_git_exp(args.n)
    if args.worker == "mlflow":
        return worker_mlflow(args.n, args.store)

    binary = args.bin or os.environ.get("GIT_EXP_BIN") or shutil.which("git-exp")
    if not binary:
        sys.exit("error: git-exp is not on PATH; pass --bin or set GIT_EXP_BIN")
    binary = os.path.abspath(binary)
    print(machine_line(binary))
    rows = []
    with tempfile.TemporaryDirectory(prefix="git-exp-bench-") as tmp:
        repo = os.path.join(tmp, "repo")
        env = make_repo(repo, binary)
        rows.append(bench_attached(repo, env, binary, args.n))
        rows.append(bench_standalone(repo, env, binary, args.n))
        if args.mlflow_python:
            rows.append(bench_mlflow(args.mlflow_python, os.path.join(tmp, "mlruns"),
                                     args.mlflow_n, args.n))
    print_table(rows)


# Worker processes: the timed loops.


def worker_git_exp(n):
    """Logs n points with git_exp.log and prints the loop's and finish's durations."""
    sys.path.insert(0, CLIENT_DIR)
    import git_exp

    git_exp.init(name=None if os.environ.get("GIT_EXP_EVENTS") else "standalone")
    log = git_exp.log
    start = time.perf_counter()
    for i in range(n):
        log({"loss": 1.0 / (i + 1)})
    loop = time.perf_counter() - start
    start = time.perf_counter()
    git_exp.finish()
    finish = time.perf_counter() - start
    print(MARK + json.dumps({"calls": n, "seconds": loop, "finish_seconds": finish}), flush=True)


def worker_mlflow(n, store):
    """Logs n points with mlflow.log_metric to a file store and prints the loop's duration."""
    # MLflow 3 refuses the file store unless asked for it: it is "in maintenance mode".
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    import mlflow

    mlflow.set_tracking_uri("file:" + store)
    with mlflow.start_run():
        log_metric = mlflow.log_metric
        start = time.perf_counter()
        for i in range(n):
            log_metric("loss", 1.0 / (i + 1), step=i)
        loop = time.perf_counter() - start
    print(MARK + json.dumps({"calls": n, "seconds": loop}), flush=True)


# The driver: one repository, one process per figure.


def make_repo(path, binary):
    """Creates a git repository with one commit; returns the environment to use in it."""
    os.makedirs(path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_EXP_")}
    env.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1",
               GIT_AUTHOR_NAME="Bench", GIT_AUTHOR_EMAIL="bench@example.com",
               GIT_COMMITTER_NAME="Bench", GIT_COMMITTER_EMAIL="bench@example.com",
               GIT_EXP_BIN=binary,
               PATH=os.path.dirname(binary) + os.pathsep + os.environ.get("PATH", ""))
    for args in (["init", "-q", "-b", "main"], ["commit", "-q", "--allow-empty", "-m", "init"]):
        subprocess.run(["git", *args], cwd=path, env=env, check=True)
    return env


def bench_attached(repo, env, binary, n):
    start = time.perf_counter()
    out = run([binary, "run", "-n", "attached", "--", sys.executable, __file__,
               "--worker", "git_exp", "-n", str(n)], repo, env)
    total = time.perf_counter() - start
    result = parse(out)
    check_points(repo, env, "attached", n)
    note = f"whole `git exp run` incl. start-up and commit: {total:.1f} s"
    return ("git_exp.log inside `git exp run`", result, note)


def bench_standalone(repo, env, binary, n):
    out = run([sys.executable, __file__, "--worker", "git_exp", "-n", str(n)], repo, env)
    result = parse(out)
    check_points(repo, env, "standalone", n)
    note = f"git_exp.finish() (flush + commit): {result['finish_seconds']:.2f} s"
    return ("git_exp.log standalone (`git_exp.init()`)", result, note)


def bench_mlflow(python, store, calls, n):
    out = run([python, __file__, "--worker", "mlflow", "-n", str(calls), "--store", store],
              os.path.dirname(store), dict(os.environ))
    result = parse(out)
    rate = result["calls"] / result["seconds"]
    note = f"{n:,} calls extrapolated from {calls:,}: {n / rate:,.0f} s"
    return ("mlflow.log_metric, file store", result, note)


def run(cmd, cwd, env):
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"error: {' '.join(cmd)} exited {out.returncode}\n{out.stdout}\n{out.stderr}")
    return out.stdout


def parse(stdout):
    for line in stdout.splitlines():
        if line.startswith(MARK):
            return json.loads(line[len(MARK):])
    sys.exit(f"error: the worker printed no result:\n{stdout}")


def check_points(repo, env, name, n):
    """Exits unless the committed run holds exactly n points."""
    csv = subprocess.run(["git", "show", f"refs/experiments/{name}:metrics.csv"], cwd=repo,
                         env=env, capture_output=True, check=True).stdout
    points = csv.count(b"\n") - 1
    if points != n:
        sys.exit(f"error: run {name} has {points} points, not {n}")


def machine_line(binary):
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()
    return (f"machine: {os.cpu_count()} cores, {cpu}; Python {platform.python_version()};"
            f" {version or binary}")


def print_table(rows):
    print()
    print(f"| {'what':<44} | {'calls':>9} | {'seconds':>8} | {'calls/s':>9} | note")
    print(f"|{'-' * 46}|{'-' * 11}|{'-' * 10}|{'-' * 11}|------")
    for what, result, note in rows:
        rate = result["calls"] / result["seconds"]
        print(f"| {what:<44} | {result['calls']:>9,} | {result['seconds']:>8.2f} | {rate:>9,.0f} |"
              f" {note}")


if __name__ == "__main__":
    main()
