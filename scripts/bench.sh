#!/usr/bin/env bash
# Builds (Release-like, asserts on) and runs the whole-life benchmark on a
# fresh local cluster: ./scripts/bench.sh [--tickets N] [--concurrency C]
# [--rate R] [--partners P] [--capacity K] [--fsync everysec|always] [--perf SERVICE]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$ROOT/scripts/deps.sh"
cmake -S "$ROOT" -B "$ROOT/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$ROOT/build" -j"$(nproc)" >/dev/null
ASP_BIN_DIR="$ROOT/build/bin" exec /usr/bin/python3 "$ROOT/bench/run_bench.py" "$@"
