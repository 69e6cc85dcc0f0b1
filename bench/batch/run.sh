#!/usr/bin/env bash
# Merges N (default 10000) one-page invoice-like PDFs made with cairo (a text font embedded in
# each, like a render's) into one PDF and one ZIP, three runs each; prints the median time and
# the merge process's peak RSS.
# Usage: bench/batch/run.sh [BUILD_DIR (build/bench)] [N]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:-$root/build/bench}"
n="${2:-10000}"
if [[ ! -x "$build/bench/batch/bench_merge" ]]; then
  CMAKE_BUILD_TYPE=Release "$root/scripts/build" "$build" -DCRAFTKIT_TESTS=OFF >/dev/null
fi
"$build/bench/batch/bench_merge" "$n" 3
