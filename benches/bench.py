#!/usr/bin/env python3
"""End-to-end benchmarks of the git-exp release binary (see docs/benchmarks.md).

Figures:
  (a) overhead  - `git-exp run -- true` against `true` run directly
  (b) ingest    - turning an events file of 1,000,000 metric points into a committed run
  (c) list      - `git-exp list` over 1,000 and 10,000 runs: loose refs, packed refs, loose objects
  (f) artifact  - a 1 GiB artifact: hash speed, first store by copy (-a) and by link (live
                  directory), unchanged re-logs (hash only)
  (g) filter    - `git-exp list --filter ... --sort ... -n 10` over 10,000 runs against plain `list`
  (d) build     - a clean debug build of the crate (only with --build-time)

Every benchmark runs in its own temporary git repository, isolated from the user's and
the system's git config. Prints a table and appends one CSV row per figure to
benches/results.csv. Standard library only, Python 3.8+.
"""

import argparse
import csv
import datetime
import hashlib
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benches", "results.csv")
CSV_COLUMNS = ["date", "machine", "benchmark", "value", "unit", "target"]
BENCHMARKS = ["overhead", "ingest", "list", "standalone", "artifact", "filter", "compare", "report",
              "wide"]

# (a)
OVERHEAD_WARMUP = 2
OVERHEAD_RUNS = 20
OVERHEAD_TARGET_MS = 25.0
# (b)
INGEST_POINTS = 1_000_000
INGEST_RUNS = 5
INGEST_TARGET_S = 1.0
# (c)
LIST_COUNTS = (1_000, 10_000)
LIST_REAL_RUNS = 3
LIST_POINTS_PER_METRIC = 100
LIST_RUNS = 5
LIST_TARGET_S = 1.0
# (d)
BUILD_TARGET_S = 180.0
# (g)
FILTER_COUNT = 10_000
FILTER_RUNS = 5
FILTER_ARGS = ["--filter", "metrics.loss < 0.5 and params.lr > 0.001", "--sort", "-metrics.loss",
               "-n", "10"]
FILTER_TARGET_RATIO = 1.2

REPORT_RUNS = 1_000
REPORT_TARGET_S = 3.0
REPORT_TARGET_MB = 50.0
COMPARE_RUNS = 5
COMPARE_TARGET_S = 0.3

STANDALONE_RUNS = 10
ARTIFACT_BYTES = 1 << 30
ARTIFACT_RUNS = 3


# ---------------------------------------------------------------- machine and environment


def machine():
    """Returns (cores, cpu model, memory in GiB) read from /proc."""
    cores = os.cpu_count() or 0
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Hardware", "cpu model") and value.strip():
                    cpu = " ".join(value.split())
                    break
    except OSError:
        pass
    mem_gib = 0.0
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem_gib = int(line.split()[1]) / (1024 * 1024)
                    break
    except OSError:
        pass
    return cores, cpu, mem_gib


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def isolated_env():
    """The process environment with git pinned to no global or system config."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("GIT_") and k not in ("EMAIL",)
    }
    env.update(
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="Bench",
        GIT_AUTHOR_EMAIL="bench@example.com",
        GIT_COMMITTER_NAME="Bench",
        GIT_COMMITTER_EMAIL="bench@example.com",
        GIT_AUTHOR_DATE="2024-01-01T00:00:00Z",
        GIT_COMMITTER_DATE="2024-01-01T00:00:00Z",
        LC_ALL="C",
    )
    return env


class Repo:
    """A temporary git repository with one commit, removed on exit."""

    def __init__(self, label):
        self.tmp = tempfile.mkdtemp(prefix="git-exp-bench-%s-" % label)
        self.path = os.path.join(self.tmp, "repo")
        os.mkdir(self.path)
        self.env = isolated_env()
        self.git("init", "-q", "-b", "main")
        with open(os.path.join(self.path, "train.py"), "w") as f:
            f.write("print('hello')\n")
        self.git("add", "train.py")
        self.git("commit", "-q", "-m", "init")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def git(self, *args, input=None):
        """Runs git in the repository and returns its stdout (bytes)."""
        p = subprocess.run(
            ["git", *args], cwd=self.path, env=self.env, input=input,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        if p.returncode != 0:
            raise SystemExit("git %s failed:\n%s" % (" ".join(args), p.stderr.decode(errors="replace")))
        return p.stdout

    def git_text(self, *args):
        return self.git(*args).decode().strip()

    def timed(self, argv, stdout=subprocess.DEVNULL):
        """Runs argv once and returns its wall time in seconds; fails on a non-zero exit."""
        start = time.perf_counter()
        p = subprocess.run(argv, cwd=self.path, env=self.env, stdout=stdout, stderr=subprocess.PIPE)
        elapsed = time.perf_counter() - start
        if p.returncode != 0:
            raise SystemExit("%s exited with %d:\n%s"
                             % (" ".join(argv), p.returncode, p.stderr.decode(errors="replace")))
        return elapsed


# ---------------------------------------------------------------- results


class Results:
    """Collects figures, prints them, appends them to the CSV file."""

    def __init__(self, machine_text):
        self.machine = machine_text
        self.date = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
        self.rows = []  # (benchmark, value, unit, target, ok, detail)

    def add(self, benchmark, value, unit, target="", ok=None, detail=""):
        self.rows.append((benchmark, value, unit, target, ok, detail))
        mark = {True: "ok", False: "MISS", None: ""}[ok]
        print("  %-68s %14s %-9s %-12s %-4s %s"
              % (benchmark, fmt(value), unit, target, mark, detail), flush=True)

    def write_csv(self, path):
        new = not os.path.exists(path) or os.path.getsize(path) == 0
        with open(path, "a", newline="") as f:
            w = csv.writer(f)
            if new:
                w.writerow(CSV_COLUMNS)
            for benchmark, value, unit, target, _ok, _detail in self.rows:
                w.writerow([self.date, self.machine, benchmark, fmt(value, plain=True), unit, target])

    def print_table(self):
        print()
        print("%-68s %14s %-9s %-12s %s" % ("benchmark", "value", "unit", "target", "met"))
        print("-" * 112)
        for benchmark, value, unit, target, ok, _detail in self.rows:
            mark = {True: "yes", False: "NO", None: ""}[ok]
            print("%-68s %14s %-9s %-12s %s" % (benchmark, fmt(value), unit, target, mark))


def fmt(value, plain=False):
    if isinstance(value, int):
        return str(value) if plain else "{:,}".format(value)
    if abs(value) >= 1000:
        return "%.0f" % value if plain else "{:,.0f}".format(value)
    return "%.3f" % value if abs(value) < 10 else "%.1f" % value


def spread(samples, scale=1.0, unit=""):
    return "n=%d min %.3g max %.3g%s" % (len(samples), min(samples) * scale, max(samples) * scale, unit)


# ---------------------------------------------------------------- (a) run overhead


def bench_overhead(binary, res):
    print("(a) overhead of `git-exp run -- true` (%d warm-up, median of %d, interleaved)"
          % (OVERHEAD_WARMUP, OVERHEAD_RUNS), flush=True)
    true_bin = shutil.which("true") or "/bin/true"
    direct_cmd = [true_bin]
    exp_cmd = [binary, "run", "--", "true"]
    with Repo("overhead") as repo:
        for _ in range(OVERHEAD_WARMUP):
            repo.timed(direct_cmd)
            repo.timed(exp_cmd)
        direct, tracked = [], []
        for _ in range(OVERHEAD_RUNS):
            direct.append(repo.timed(direct_cmd))
            tracked.append(repo.timed(exp_cmd))
        runs = len(repo.git_text("for-each-ref", "refs/experiments/").splitlines())
        if runs != OVERHEAD_WARMUP + OVERHEAD_RUNS:
            raise SystemExit("expected %d runs, found %d" % (OVERHEAD_WARMUP + OVERHEAD_RUNS, runs))
    d = statistics.median(direct) * 1000
    t = statistics.median(tracked) * 1000
    res.add("overhead: true, direct (median)", d, "ms", detail=spread(direct, 1000, " ms"))
    res.add("overhead: git-exp run -- true (median)", t, "ms", detail=spread(tracked, 1000, " ms"))
    res.add("overhead: difference", t - d, "ms", "< %g ms" % OVERHEAD_TARGET_MS,
            t - d < OVERHEAD_TARGET_MS)


# ---------------------------------------------------------------- (b) ingestion


def write_events(path, n):
    """Writes n lines {"loss": <float>, "_step": i}."""
    with open(path, "w") as f:
        chunk = []
        for i in range(n):
            chunk.append('{"loss": %r, "_step": %d}\n' % (2.0 / (1.0 + i * 1e-4) + (i % 97) * 1e-5, i))
            if len(chunk) == 10_000:
                f.write("".join(chunk))
                chunk = []
        f.write("".join(chunk))


def bench_ingest(binary, res):
    print("(b) ingestion of %s metric points (median of %d, minus the same run with an empty file)"
          % ("{:,}".format(INGEST_POINTS), INGEST_RUNS), flush=True)
    with Repo("ingest") as repo:
        full = os.path.join(repo.tmp, "events-1m.jsonl")
        empty = os.path.join(repo.tmp, "events-empty.jsonl")
        write_events(full, INGEST_POINTS)
        open(empty, "w").close()
        size_mb = os.path.getsize(full) / 1e6

        def cmd(name, events):
            return [binary, "run", "-n", name, "--", "sh", "-c",
                    'cat "%s" >> "$GIT_EXP_EVENTS"' % events]

        with_events, without = [], []
        for i in range(INGEST_RUNS):
            without.append(repo.timed(cmd("empty-%d" % i, empty)))
            with_events.append(repo.timed(cmd("full-%d" % i, full)))
        # The figure is only worth something if the run holds every point.
        lines = repo.git("show", "refs/experiments/full-0:metrics.csv").count(b"\n")
        if lines != INGEST_POINTS + 1:
            raise SystemExit("metrics.csv of full-0 has %d lines, expected %d"
                             % (lines, INGEST_POINTS + 1))
    w = statistics.median(with_events)
    e = statistics.median(without)
    diff = w - e
    rate = INGEST_POINTS / diff if diff > 0 else float("inf")
    res.add("ingest: run, 1M-point events file (median)", w, "s",
            detail=spread(with_events, 1, " s") + ", file %.0f MB" % size_mb)
    res.add("ingest: run, empty events file (median)", e, "s", detail=spread(without, 1, " s"))
    res.add("ingest: time for 1M points (difference)", diff, "s", "< %g s" % INGEST_TARGET_S,
            diff < INGEST_TARGET_S, "metrics.csv: %s lines" % "{:,}".format(lines))
    res.add("ingest: rate", rate, "points/s", ">= 1000000", rate >= INGEST_POINTS)


# ---------------------------------------------------------------- (c) list


def write_small_events(path):
    """100 points of each of 3 metrics."""
    with open(path, "w") as f:
        for i in range(LIST_POINTS_PER_METRIC):
            f.write('{"loss": %r, "acc": %r, "grad_norm": %r, "_step": %d}\n'
                    % (2.0 / (i + 1), i / LIST_POINTS_PER_METRIC, 1.0 + (i % 7) / 10, i))


RFC3339 = "%Y-%m-%dT%H:%M:%S"


def parse_started(text):
    m = re.search(r'^started = "(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z"', text, re.M)
    if not m:
        raise SystemExit("cannot find `started` in exp.toml:\n" + text)
    base = datetime.datetime.strptime(m.group(1), RFC3339).replace(tzinfo=datetime.timezone.utc)
    millis = int((m.group(2) or "0").ljust(3, "0")[:3])
    return base + datetime.timedelta(milliseconds=millis)


def rfc3339(t):
    return t.strftime(RFC3339) + ".%03dZ" % (t.microsecond // 1000)


def copy_stream(repo, template, count, first):
    """A git fast-import stream of `count` copies of the run `template`."""
    tree_lines = repo.git_text("ls-tree", "refs/experiments/%s" % template).splitlines()
    exp = repo.git("show", "refs/experiments/%s:exp.toml" % template).decode()
    config = repo.git("show", "refs/experiments/%s:config.toml" % template).decode()
    message = repo.git("log", "-1", "--format=%B", "refs/experiments/" + template).decode()
    parent = repo.git_text("rev-parse", "refs/experiments/%s^" % template)
    real_id = re.search(r'^id = "([0-9a-f]{32})"', exp, re.M).group(1)
    started = parse_started(exp)
    m = re.search(r'^duration_s = ([0-9.]+)', exp, re.M)
    duration = datetime.timedelta(seconds=float(m.group(1)) if m else 0.0)
    if not re.search(r"^lr = ", config, re.M):
        raise SystemExit("config.toml of %s has no lr:\n%s" % (template, config))

    kept = []  # tree entries copied as they are
    for line in tree_lines:
        meta, path = line.split("\t", 1)
        mode, _kind, sha = meta.split()
        if path not in ("exp.toml", "config.toml"):
            kept.append("M %s %s %s\n" % (mode, sha, path))
    kept = "".join(kept).encode()

    def data(b):
        return b"data %d\n" % len(b) + b + b"\n"

    out = []
    for k in range(count):
        i = first + k
        name = "copy-%05d" % i
        # Older than the real runs, one second apart: a stable, unique order.
        t = started - datetime.timedelta(seconds=i + 1)
        millis = int(t.timestamp() * 1000)
        run_id = "%012x%s" % (millis & 0xFFFFFFFFFFFF, os.urandom(10).hex())
        e = exp
        e = re.sub(r'^id = ".*"$', 'id = "%s"' % run_id, e, count=1, flags=re.M)
        e = re.sub(r'^name = ".*"$', 'name = "%s"' % name, e, count=1, flags=re.M)
        e = re.sub(r'^started = ".*"$', 'started = "%s"' % rfc3339(t), e, count=1, flags=re.M)
        e = re.sub(r'^ended = ".*"$', 'ended = "%s"' % rfc3339(t + duration), e, count=1, flags=re.M)
        c = re.sub(r"^lr = .*$", "lr = %r" % round(1e-4 * (i + 1), 10), config, count=1, flags=re.M)
        msg = message.replace(template, name, 1).replace(real_id, run_id)
        stamp = int(t.timestamp())
        out.append(b"commit refs/experiments/%s\n" % name.encode())
        out.append(b"author Bench <bench@example.com> %d +0000\n" % stamp)
        out.append(b"committer Bench <bench@example.com> %d +0000\n" % stamp)
        out.append(data(msg.encode()))
        out.append(b"from %s\n" % parent.encode())
        out.append(b"deleteall\n")
        out.append(b"M 100644 inline exp.toml\n" + data(e.encode()))
        out.append(b"M 100644 inline config.toml\n" + data(c.encode()))
        out.append(kept)
        out.append(b"\n")
    return b"".join(out)


def make_list_repo(binary, repo, total, loose_objects=False):
    """LIST_REAL_RUNS real runs, then copies of the first one up to `total` runs.

    fast-import writes the copies' objects into one pack (the state after `git gc` or a
    fetch); with loose_objects it writes one file per object instead, as `git exp run`
    does until something packs them.
    """
    events = os.path.join(repo.tmp, "events-small.jsonl")
    write_small_events(events)
    for i in range(LIST_REAL_RUNS):
        subprocess.run(
            [binary, "run", "-q", "-n", "real-%d" % i, "-p", "lr=0.0%d" % (i + 1), "-p", "epochs=10",
             "--", "sh", "-c", 'cat "%s" >> "$GIT_EXP_EVENTS"' % events],
            cwd=repo.path, env=repo.env, check=True, stdout=subprocess.DEVNULL,
        )
    unpack = ["-c", "fastimport.unpackLimit=%d" % (10 * total + 100)] if loose_objects else []
    stream = copy_stream(repo, "real-0", total - LIST_REAL_RUNS, 0)
    repo.git(*unpack, "fast-import", "--quiet", input=stream)


def count_listed(binary, repo):
    import json
    p = subprocess.run([binary, "list", "--format", "json"], cwd=repo.path, env=repo.env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True)
    if p.stderr.strip():
        print("    git-exp list warned: %s" % p.stderr.decode(errors="replace")[:500])
    return len(json.loads(p.stdout))


def median_time(repo, argv, runs):
    repo.timed(argv)  # warm the page cache
    samples = [repo.timed(argv) for _ in range(runs)]
    return statistics.median(samples), samples


def bench_list(binary, res):
    print("(c) `git-exp list` (median of %d, output to /dev/null)" % LIST_RUNS, flush=True)
    for total in LIST_COUNTS:
        # The figures asked for: objects in a pack, refs loose then packed. Then the
        # state `git exp run` itself leaves behind: loose objects and loose refs.
        for objects, ref_states in (("packed", ("loose", "packed")), ("loose", ("loose",))):
            with Repo("list-%d" % total) as repo:
                t0 = time.perf_counter()
                make_list_repo(binary, repo, total, loose_objects=objects == "loose")
                setup = time.perf_counter() - t0
                listed = count_listed(binary, repo)
                if listed != total:
                    raise SystemExit("git-exp list shows %d runs, expected %d" % (listed, total))
                count = dict(line.split(": ") for line in repo.git_text("count-objects", "-v").splitlines())
                print("    %s runs set up in %.1f s (%s loose objects, %s in packs); "
                      "list --format json shows %s"
                      % ("{:,}".format(total), setup, count["count"], count["in-pack"],
                         "{:,}".format(listed)), flush=True)
                for refs in ref_states:
                    if refs == "packed":
                        repo.git("pack-refs", "--all")
                    list_figures(binary, repo, res, total, objects, refs)


def list_figures(binary, repo, res, total, objects, refs):
    refs_dir = os.path.join(repo.path, ".git", "refs", "experiments")
    loose = sum(len(f) for _, _, f in os.walk(refs_dir))
    state = "%s refs" % refs if objects == "packed" else "loose objects+refs"
    label = "list: %s runs, %s" % ("{:,}".format(total), state)
    target = "< %g s" % LIST_TARGET_S if total == max(LIST_COUNTS) else ""
    for fmt_name, extra in (("table", []), ("json", ["--format", "json"])):
        m, samples = median_time(repo, [binary, "list", *extra], LIST_RUNS)
        ok = (m < LIST_TARGET_S) if target else None
        res.add("%s, --format %s" % (label, fmt_name), m, "s", target, ok,
                spread(samples, 1, " s") + ", %d loose ref files" % loose)
    # Reference points: what plain git needs to enumerate the refs, and to read one
    # blob per run.
    m, samples = median_time(repo, ["git", "for-each-ref", "refs/experiments/"], LIST_RUNS)
    res.add("%s, git for-each-ref (ref.)" % label, m, "s", detail=spread(samples, 1, " s"))
    m, samples = median_time(repo, ["sh", "-c",
                                    "git for-each-ref --format='%(objectname):exp.toml' "
                                    "refs/experiments/ | git cat-file --batch"], LIST_RUNS)
    res.add("%s, git cat-file exp.toml (ref.)" % label, m, "s", detail=spread(samples, 1, " s"))


# ---------------------------------------------------------------- (g) filter


def bench_filter(binary, res):
    print("(g) `git-exp list %s` over %s runs against plain `list` (median of %d, interleaved)"
          % (" ".join(repr(a) if " " in a else a for a in FILTER_ARGS),
             "{:,}".format(FILTER_COUNT), FILTER_RUNS), flush=True)
    with Repo("filter") as repo:
        make_list_repo(binary, repo, FILTER_COUNT)
        # The figure is only worth something if the filter keeps most runs and the
        # sort sees them all: copies have lr = 1e-4 * (i + 1), loss 0.02.
        p = subprocess.run([binary, "list", "--format", "json", "--filter", FILTER_ARGS[1]],
                           cwd=repo.path, env=repo.env, stdout=subprocess.PIPE, check=True)
        kept = len(json.loads(p.stdout))
        if kept < FILTER_COUNT * 9 // 10:
            raise SystemExit("the filter keeps %d of %d runs" % (kept, FILTER_COUNT))
        plain_cmd = [binary, "list"]
        filter_cmd = [binary, "list", *FILTER_ARGS]
        # Same output size without filter and sort: the cost of the expression alone.
        ten_cmd = [binary, "list", "-n", "10"]
        for cmd in (plain_cmd, filter_cmd, ten_cmd):
            repo.timed(cmd)
        plain, filtered, ten = [], [], []
        for _ in range(FILTER_RUNS):
            plain.append(repo.timed(plain_cmd))
            filtered.append(repo.timed(filter_cmd))
            ten.append(repo.timed(ten_cmd))
    p = statistics.median(plain)
    f = statistics.median(filtered)
    ratio = f / p
    res.add("filter: list, %s runs, table (median)" % "{:,}".format(FILTER_COUNT), p, "s",
            detail=spread(plain, 1, " s"))
    res.add("filter: list --filter --sort -n 10 (median)", f, "s",
            detail=spread(filtered, 1, " s") + ", %d runs match" % kept)
    res.add("filter: ratio to plain list", ratio, "x", "<= %g" % FILTER_TARGET_RATIO,
            ratio <= FILTER_TARGET_RATIO)
    t = statistics.median(ten)
    res.add("filter: list -n 10, no filter (ref.)", t, "s", detail=spread(ten, 1, " s"))
    res.add("filter: ratio to list -n 10 (ref.)", f / t, "x")


# ---------------------------------------------------------------- (d) build time


# ---------------------------------------------------------------- (e) start/finish


def bench_standalone(binary, res):
    print("(e) `git-exp start` + `finish` (what git_exp.init()/finish() cost outside `git exp run`;"
          " median of %d)" % STANDALONE_RUNS, flush=True)
    with Repo("standalone") as repo:
        owner = subprocess.Popen(["sleep", "600"])
        try:
            starts, finishes = [], []
            for i in range(STANDALONE_RUNS + 1):
                t0 = time.perf_counter()
                p = subprocess.run([binary, "start", "--format", "json", "--pid", str(owner.pid),
                                    "-n", "s-%d" % i, "--", "python3", "train.py"],
                                   cwd=repo.path, env=repo.env, stdout=subprocess.PIPE, check=True)
                t1 = time.perf_counter()
                run_id = json.loads(p.stdout)["id"]
                subprocess.run([binary, "finish", "-q", run_id], cwd=repo.path, env=repo.env,
                               stdout=subprocess.DEVNULL, check=True)
                t2 = time.perf_counter()
                if i > 0:  # the first start fills the probe cache
                    starts.append(t1 - t0)
                    finishes.append(t2 - t1)
        finally:
            owner.kill()
            owner.wait()
    res.add("standalone: git-exp start (median)", statistics.median(starts) * 1000, "ms",
            detail=spread(starts, 1000, " ms"))
    res.add("standalone: git-exp finish (median)", statistics.median(finishes) * 1000, "ms",
            detail=spread(finishes, 1000, " ms"))


# ---------------------------------------------------------------- (f) artifacts


def written_bytes():
    """Bytes written by finished child processes so far (getrusage: 512-byte blocks)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_oublock * 512


def hash_file(path):
    """SHA-256 of a file with Python's hashlib (OpenSSL), 1 MiB reads; returns (hex, seconds)."""
    start = time.perf_counter()
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            h.update(chunk)
    return h.hexdigest(), time.perf_counter() - start


def bench_artifact(binary, res):
    gib = ARTIFACT_BYTES / (1 << 30)
    print("(f) a %.0f GiB artifact: hashing, first store from a user path (-a) and from the live "
          "directory, unchanged re-logs (median of %d each, minus a baseline run)"
          % (gib, ARTIFACT_RUNS), flush=True)
    with Repo("artifact") as repo:
        src = os.path.join(repo.tmp, "model.bin")
        with open(src, "wb") as f:
            block = os.urandom(1 << 20)
            for _ in range(ARTIFACT_BYTES >> 20):
                f.write(block)
        sha, _ = hash_file(src)  # also brings the file into the page cache
        obj = os.path.join(repo.path, ".git", "exp", "objects", "sha256", sha[:2], sha[2:])
        counter = [0]

        def run(script=None, artifact=None):
            """One `git-exp run`; returns (seconds, bytes written by it and its command)."""
            counter[0] += 1
            argv = [binary, "run", "-q", "-n", "r%d" % counter[0]]
            if artifact:
                argv += ["-a", artifact]
            argv += ["--"] + (["sh", "-c", script] if script else ["true"])
            before = written_bytes()
            seconds = repo.timed(argv)
            return seconds, written_bytes() - before

        def median_of(store_first, **kw):
            times, writes = [], []
            for _ in range(ARTIFACT_RUNS):
                if store_first is False and os.path.exists(obj):
                    os.remove(obj)  # a first store each time
                t, w = run(**kw)
                times.append(t)
                writes.append(w)
            return statistics.median(times), statistics.median(writes), times

        to_live = 'cp %s "$GIT_EXP_DIR/artifacts/model.bin"' % src
        to_scratch = 'cp %s "$GIT_EXP_DIR/scratch.bin"' % src  # the same copy, not kept
        setup = 'mkdir -p "$GIT_EXP_DIR/artifacts" && '
        hashes = [hash_file(src)[1] for _ in range(ARTIFACT_RUNS)]
        empty, empty_w, _ = median_of(None)
        scratch, scratch_w, _ = median_of(None, script=setup + to_scratch)
        user_first, user_first_w, uf = median_of(False, artifact=src)
        user_again, user_again_w, _ = median_of(True, artifact=src)
        inode_file = os.path.join(repo.tmp, "live-inode")
        record_inode = ' && stat -c %%i "$GIT_EXP_DIR/artifacts/model.bin" > %s' % inode_file
        live_first, live_first_w, lf = median_of(False, script=setup + to_live + record_inode)
        with open(inode_file) as f:
            linked = int(f.read()) == os.stat(obj).st_ino  # the live file became the object
        live_again, live_again_w, _ = median_of(True, script=setup + to_live)

        listed = repo.git("show", "refs/experiments/r%d:artifacts.toml" % counter[0]).decode()
        if 'storage = "store"' not in listed or sha not in listed or str(ARTIFACT_BYTES) not in listed:
            raise SystemExit("the artifact was not stored:\n" + listed)
        if hash_file(obj)[0] != sha:
            raise SystemExit("the stored object does not match its name")

    def rate(seconds):
        return "%.2f GB/s" % (ARTIFACT_BYTES / 1e9 / max(seconds, 1e-9))

    def mib(n):
        return "writes %.0f MiB" % (max(n, 0) / (1 << 20))

    h = statistics.median(hashes)
    res.add("artifact: hash 1 GiB, hashlib/OpenSSL reference (median)", h, "s", detail=rate(h))
    res.add("artifact: first store from a user path, -a (copy)", user_first - empty, "s",
            detail="%s, %s, %s" % (rate(user_first - empty), mib(user_first_w - empty_w),
                                   spread([t - empty for t in uf], 1, " s")))
    res.add("artifact: first store from the live directory (link)", live_first - scratch, "s",
            detail="%s, %s, %s" % (rate(live_first - scratch), mib(live_first_w - scratch_w),
                                   spread([t - scratch for t in lf], 1, " s")))
    res.add("artifact: unchanged re-log from a user path (hash only)", user_again - empty, "s",
            detail="%s, %s, %.2fx the reference hash" % (rate(user_again - empty),
                                                         mib(user_again_w - empty_w),
                                                         (user_again - empty) / h))
    res.add("artifact: unchanged re-log from the live directory (hash only)",
            live_again - scratch, "s",
            detail="%s, %s, %.2fx the reference hash" % (rate(live_again - scratch),
                                                         mib(live_again_w - scratch_w),
                                                         (live_again - scratch) / h))
    res.add("artifact: baseline, empty run / run copying 1 GiB in its live dir", scratch, "s",
            detail="empty %.3f s; the live file became the object: %s"
                   % (empty, "yes (hardlink)" if linked else "no (reflink or copy)"))


# ---------------------------------------------------------------- (h) compare


def write_two_metric_events(path, lines):
    """Writes `lines` lines {"loss": ..., "acc": ..., "_step": i}: 2 points each."""
    with open(path, "w") as f:
        for start in range(0, lines, 10_000):
            f.write("".join('{"loss": %r, "acc": %r, "_step": %d}\n'
                            % (2.0 / (1.0 + i * 1e-4), i / (2.0 * lines), i)
                            for i in range(start, min(lines, start + 10_000))))


def bench_compare(binary, res):
    print("(h) compare: 2 runs of 1,000,000 points each, and 50 runs of 10,000 points each"
          " (median of %d)" % COMPARE_RUNS, flush=True)
    with Repo("compare") as repo:
        big = os.path.join(repo.tmp, "big.jsonl")
        small = os.path.join(repo.tmp, "small.jsonl")
        write_two_metric_events(big, 500_000)
        write_two_metric_events(small, 5_000)
        for name, events in [("big-a", big), ("big-b", big)] + [("small-%d" % i, small) for i in range(50)]:
            repo.timed([binary, "run", "-q", "-n", name, "-p", "lr=%d" % len(name), "--", "sh", "-c",
                        'cat "%s" >> "$GIT_EXP_EVENTS"' % events])
        points = repo.git("show", "refs/experiments/big-a:metrics.csv").count(b"\n") - 1
        if points != 1_000_000:
            raise SystemExit("expected 1,000,000 points, found %d" % points)
        two = [repo.timed([binary, "compare", "big-a", "big-b"]) for _ in range(COMPARE_RUNS)]
        fifty_cmd = [binary, "compare"] + ["small-%d" % i for i in range(50)]
        fifty = [repo.timed(fifty_cmd) for _ in range(COMPARE_RUNS)]
    for label, samples in [("2 runs x 1,000,000 points", two), ("50 runs x 10,000 points", fifty)]:
        m = statistics.median(samples)
        res.add("compare: %s (median)" % label, m, "s", "< %g s" % COMPARE_TARGET_S,
                m < COMPARE_TARGET_S, spread(samples, 1, " s"))


# ---------------------------------------------------------------- (j) wide runs

WIDE_RUNS = 3
WIDE_TARGET_S = 1.0


def on_terminal(binary, args, cols=80):
    """argv that runs git-exp ARGS on a pseudo-terminal COLS wide (script(1))."""
    return ["env", "COLUMNS=%d" % cols, "script", "-qec", " ".join([binary] + args), "/dev/null"]


def bench_wide(binary, res):
    print("(j) wide runs on an 80-column terminal: a run with 20,000 params and one with a"
          " 1 MB value (median of %d)" % WIDE_RUNS, flush=True)
    with Repo("wide") as repo:
        many = os.path.join(repo.tmp, "many.toml")
        with open(many, "w") as f:
            f.write("".join("p%d = %d\n" % (i, i) for i in range(20_000)))
        huge = os.path.join(repo.tmp, "huge.toml")
        with open(huge, "w") as f:
            f.write('big = "%s"\n' % ("x" * 1_000_000))
        repo.timed([binary, "run", "-q", "-n", "many", "--params-file", many, "--", "true"])
        repo.timed([binary, "run", "-q", "-n", "huge", "--params-file", huge, "--", "true"])
        cases = [("list, 20,000 params + a 1 MB value", ["list"]),
                 ("list --format csv, same runs", ["list", "--format", "csv"]),
                 ("compare many huge", ["compare", "many", "huge"])]
        for label, args in cases:
            argv = on_terminal(binary, args) if "csv" not in args else [binary] + args
            samples = [repo.timed(argv) for _ in range(WIDE_RUNS)]
            m = statistics.median(samples)
            res.add("wide: %s (median)" % label, m, "s", "< %g s" % WIDE_TARGET_S,
                    m < WIDE_TARGET_S, spread(samples, 1, " s"))


# ---------------------------------------------------------------- (i) report


def dir_size(path):
    total = 0
    for root, _dirs, names in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, n)) for n in names)
    return total


def bench_report(binary, res):
    print("(i) report: %d runs with 1,000 points per metric (2 metrics), then a rebuild, then one run"
          " with 1,000,000 points" % REPORT_RUNS, flush=True)
    with Repo("report") as repo:
        events = os.path.join(repo.tmp, "events-1k.jsonl")
        write_two_metric_events(events, 1_000)
        repo.timed([binary, "run", "-q", "-n", "real-0", "-p", "lr=0.01", "--", "sh", "-c",
                    'cat "%s" >> "$GIT_EXP_EVENTS"' % events])
        repo.git("fast-import", "--quiet", input=copy_stream(repo, "real-0", REPORT_RUNS - 1, 0))
        site = os.path.join(repo.tmp, "site")
        first = repo.timed([binary, "report", "-o", site])
        pages = len([n for _r, _d, names in os.walk(site) for n in names if n.endswith(".html")])
        size_mb = dir_size(site) / 1e6
        again = repo.timed([binary, "report", "-o", site])
        big_events = os.path.join(repo.tmp, "events-1m.jsonl")
        write_two_metric_events(big_events, 500_000)
        repo.timed([binary, "run", "-q", "-n", "big", "-p", "lr=0.5", "--", "sh", "-c",
                    'cat "%s" >> "$GIT_EXP_EVENTS"' % big_events])
        big_site = os.path.join(repo.tmp, "big-site")
        big = repo.timed([binary, "report", "-o", big_site, "big"])
        big_page_kb = os.path.getsize(os.path.join(big_site, "runs", "big", "index.html")) / 1e3
    res.add("report: %d runs, first build" % REPORT_RUNS, first, "s", "< %g s" % REPORT_TARGET_S,
            first < REPORT_TARGET_S, "%d html pages" % pages)
    res.add("report: site size", size_mb, "MB", "< %g MB" % REPORT_TARGET_MB, size_mb < REPORT_TARGET_MB)
    res.add("report: rebuild, nothing changed", again, "s")
    res.add("report: one run of 1,000,000 points", big, "s")
    res.add("report: its run page", big_page_kb, "kB", "< 1000 kB", big_page_kb < 1000)


def bench_build(res):
    print("(d) clean debug build: CARGO_TARGET_DIR=$(mktemp -d) cargo build", flush=True)
    target = tempfile.mkdtemp(prefix="git-exp-bench-target-")
    try:
        env = dict(os.environ, CARGO_TARGET_DIR=target)
        start = time.perf_counter()
        p = subprocess.run(["cargo", "build"], cwd=ROOT, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        elapsed = time.perf_counter() - start
        if p.returncode != 0:
            raise SystemExit("cargo build failed:\n" + p.stdout.decode(errors="replace")[-3000:])
    finally:
        shutil.rmtree(target, ignore_errors=True)
    res.add("build: clean debug build", elapsed, "s", "< %g s" % BUILD_TARGET_S,
            elapsed < BUILD_TARGET_S, "%d cores" % (os.cpu_count() or 0))


# ---------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-time", action="store_true",
                    help="also time a clean debug build (takes minutes)")
    ap.add_argument("--only", metavar="LIST",
                    help="comma-separated subset of: %s (and build)" % ",".join(BENCHMARKS))
    ap.add_argument("--bin", metavar="PATH", help="the git-exp binary (default: the release build)")
    ap.add_argument("--no-record", action="store_true", help="do not append to benches/results.csv")
    args = ap.parse_args()

    target_dir = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
    binary = os.path.abspath(args.bin or os.environ.get("GIT_EXP_BIN")
                             or os.path.join(target_dir, "release", "git-exp"))
    if not os.access(binary, os.X_OK):
        raise SystemExit("no git-exp binary at %s: run `cargo build --release` or benches/run.sh" % binary)
    selected = args.only.split(",") if args.only else list(BENCHMARKS)
    if args.build_time and "build" not in selected:
        selected.append("build")
    unknown = set(selected) - set(BENCHMARKS) - {"build"}
    if unknown:
        raise SystemExit("unknown benchmark(s): %s" % ", ".join(sorted(unknown)))

    cores, cpu, mem = machine()
    git_version = subprocess.run(["git", "--version"], stdout=subprocess.PIPE).stdout.decode().strip()
    res = Results("%d cores; %s" % (cores, cpu))
    print("git-exp benchmarks: %s" % res.date)
    print("machine: %d cores, %s, %.1f GiB RAM; %s; load average %s"
          % (cores, cpu, mem, git_version, loadavg()))
    code = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.decode().strip()
    print("binary:  %s (source %s)" % (binary, code or "unknown"))
    try:
        busy = os.getloadavg()[0] > max(1, cores) / 2
    except OSError:
        busy = False
    if busy:
        print("warning: the machine is busy (load average %s); timings will be noisy" % loadavg())
    print()
    if "overhead" in selected:
        bench_overhead(binary, res)
    if "ingest" in selected:
        bench_ingest(binary, res)
    if "list" in selected:
        bench_list(binary, res)
    if "standalone" in selected:
        bench_standalone(binary, res)
    if "artifact" in selected:
        bench_artifact(binary, res)
    if "filter" in selected:
        bench_filter(binary, res)
    if "compare" in selected:
        bench_compare(binary, res)
    if "report" in selected:
        bench_report(binary, res)
    if "wide" in selected:
        bench_wide(binary, res)
    if "build" in selected:
        bench_build(res)
    res.print_table()
    print("\nload average at the end: %s" % loadavg())
    if not args.no_record:
        res.write_csv(RESULTS)
        print("appended %d rows to %s" % (len(res.rows), os.path.relpath(RESULTS)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
