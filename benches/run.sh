#!/usr/bin/env bash
# One command for the git-exp benchmarks (see docs/benchmarks.md):
#
#   benches/run.sh                 # run overhead, ingestion, list
#   benches/run.sh --build-time    # also time a clean debug build (takes minutes)
#   benches/run.sh --only list     # a subset: overhead,ingest,list,...,wide,build
#   benches/run.sh --no-record     # do not append to benches/results.csv
#
# Builds the release binary, then runs benches/bench.py with the same arguments.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --release --quiet
exec python3 benches/bench.py "$@"
