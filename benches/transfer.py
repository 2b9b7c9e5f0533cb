#!/usr/bin/env python3
"""Artifact transfer benchmark of the git-exp release binary (see docs/benchmarks.md).

A run keeps one large artifact (1 GiB by default). Measured, each the median of
--repeat tries in fresh repositories:
  push      - `git exp push`: the run's ref to a bare remote and the artifact to the store
  repush    - `git exp push` again: everything is there (one HEAD request per object)
  pull      - `git exp pull --artifacts` in a clone: the ref, then the artifact, verified

against a `file://` store (a local directory: the disk and hashing bound) and, with
--s3-endpoint or --moto, an S3-compatible server on loopback (moto keeps objects in
memory in Python, so its figures are the server's limit rather than git-exp's).

    benches/transfer.py                           # file store, 1 GiB
    benches/transfer.py --moto /path/to/moto_server --size-mib 256
Standard library only, Python 3.8+.
"""

import argparse
import datetime
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "git-exp")
RESULTS = os.path.join(ROOT, "benches", "results.csv")


def env_for(home, extra):
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": home,
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "Bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
    }
    env.update(extra)
    return env


def sh(args, cwd, env):
    subprocess.run(args, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)


def timed(args, cwd, env):
    start = time.perf_counter()
    sh(args, cwd, env)
    return time.perf_counter() - start


def one_try(size_mib, url, extra_env):
    tmp = tempfile.mkdtemp(prefix="git-exp-transfer-")
    try:
        home = os.path.join(tmp, "home")
        os.makedirs(home)
        env = env_for(home, extra_env)
        repo, bare, clone = (os.path.join(tmp, d) for d in ("repo", "remote.git", "clone"))
        sh(["git", "init", "-q", "-b", "main", repo], tmp, env)
        sh(["git", "commit", "-q", "--allow-empty", "-m", "init"], repo, env)
        sh(["git", "init", "-q", "--bare", bare], tmp, env)
        sh(["git", "remote", "add", "origin", bare], repo, env)
        sh(["git", "push", "-q", "origin", "main"], repo, env)
        sh(["git", "config", "remote.origin.expArtifacts", url], repo, env)
        src = os.path.join(tmp, "model.bin")
        with open(src, "wb") as f:
            chunk = os.urandom(1 << 20)
            for i in range(size_mib):
                f.write(chunk[:-8] + i.to_bytes(8, "little"))
        sh([BIN, "run", "-q", "-n", "big", "--", "sh", "-c",
            'mkdir -p "$GIT_EXP_DIR/artifacts" && mv "$0" "$GIT_EXP_DIR/artifacts/"', src], repo, env)
        push = timed([BIN, "push", "-q"], repo, env)
        repush = timed([BIN, "push", "-q"], repo, env)
        sh(["git", "clone", "-q", bare, clone], tmp, env)
        sh(["git", "config", "remote.origin.expArtifacts", url], clone, env)
        pull = timed([BIN, "pull", "-q", "--artifacts"], clone, env)
        return push, repush, pull
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_moto(path):
    port = free_port()
    proc = subprocess.Popen([path, "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(urllib.request.Request(endpoint + "/bench", method="PUT"),
                                   timeout=2)
            return proc, endpoint
        except Exception:
            time.sleep(0.2)
    proc.kill()
    sys.exit("moto_server did not start")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--s3-endpoint", help="an S3-compatible server with a bucket named 'bench'")
    ap.add_argument("--moto", help="path of moto_server, started on loopback for the run")
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args()
    if not os.path.exists(BIN):
        sys.exit("build the release binary first: cargo build --release")

    stores = [("file", None)]
    moto = None
    endpoint = args.s3_endpoint
    if args.moto:
        moto, endpoint = start_moto(args.moto)
    if endpoint:
        stores.append(("s3", endpoint))
    machine = platform.machine() + " " + (platform.processor() or "")
    rows = []
    try:
        for kind, ep in stores:
            tries = []
            for i in range(args.repeat):
                if kind == "file":
                    bucket = tempfile.mkdtemp(prefix="git-exp-bucket-")
                    url, extra = "file://" + bucket, {}
                else:
                    bucket = None
                    url = f"s3://bench/try{os.getpid()}-{i}"
                    extra = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                             "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": ep}
                try:
                    tries.append(one_try(args.size_mib, url, extra))
                finally:
                    if bucket:
                        shutil.rmtree(bucket, ignore_errors=True)
            for j, what in enumerate(("push", "repush", "pull")):
                secs = statistics.median(t[j] for t in tries)
                rate = args.size_mib / 1024 / secs if what != "repush" else None
                rows.append((f"{kind} {what} {args.size_mib} MiB", secs, rate))
    finally:
        if moto:
            moto.kill()

    print(f"{'benchmark':32} {'seconds':>9} {'GiB/s':>7}")
    for name, secs, rate in rows:
        print(f"{name:32} {secs:9.3f} {('%.2f' % rate) if rate else '':>7}")
    if not args.no_record:
        today = datetime.date.today().isoformat()
        with open(RESULTS, "a") as f:
            for name, secs, _ in rows:
                f.write(f"{today},{machine.strip()},transfer {name},{secs:.3f},s,\n")


if __name__ == "__main__":
    main()
