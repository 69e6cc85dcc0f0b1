#!/usr/bin/env bash
# The pdf-overlay benchmark of docs/performance.md (issue 20): warm, in-process renders of an
# overlay of 10 text fields onto a 2-page base and of one field per page onto a 50-page base
# (both bases made by cairo with a page of text each), ITERATIONS renders each (default 300);
# prints medians of the whole render and of its parts.
# Usage: bench/overlay/run.sh [BUILD_DIR (build/bench)] [ITERATIONS]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:-$root/build/bench}"
iters="${2:-300}"
"$root/scripts/build" "$build" >/dev/null
pin=()
if command -v taskset >/dev/null; then pin=(taskset -c 0); fi
"${pin[@]}" "$build/bench/overlay/bench_overlay" 2 10 "$iters"
"${pin[@]}" "$build/bench/overlay/bench_overlay" 50 50 "$((iters / 3 > 10 ? iters / 3 : 10))"
