#!/usr/bin/env bash
# Runs bench_storage against local storage and the fake S3 of the tests (started here on a free
# port through scripts/test-services.d/s3.sh and stopped afterwards). To measure a real store
# instead, export the S3_* settings and run BUILD_DIR/bench/storage/bench_storage directly.
# Usage: bench/storage/run.sh [BUILD_DIR (build/bench)] [bench_storage args...]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:-$root/build/bench}"
shift || true
if [[ ! -x "$build/bench/storage/bench_storage" ]]; then
  CMAKE_BUILD_TYPE=Release "$root/scripts/build" "$build" -DCRAFTKIT_TESTS=OFF >/dev/null
fi
"$root/scripts/test-node-deps"
svc="$(mktemp -d /tmp/craftkit-bench-s3.XXXXXX)"
trap 'if [[ -f "$svc/s3.pid" ]]; then kill "$(cat "$svc/s3.pid")" 2>/dev/null || true; fi; rm -rf "$svc"' EXIT
bash "$root/scripts/test-services.d/s3.sh" "$svc" "$svc/env"
set -a
# shellcheck disable=SC1091
source "$svc/env"
set +a
"$build/bench/storage/bench_storage" "$@"
