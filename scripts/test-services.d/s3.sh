#!/usr/bin/env bash
# Test service: a fake S3 that verifies SigV4 signatures (tests/support/fake-s3.js), started by
# `scripts/test-services start` as `bash s3.sh SERVICES_DIR ENV_FILE`. It listens on 127.0.0.1
# and a free port, creates the bucket, appends the S3_* settings to ENV_FILE and writes
# SERVICES_DIR/s3.pid (the stop branch of scripts/test-services kills it).
# Without tests/node_modules (scripts/test-node-deps not run) it starts nothing and says so;
# the S3 integration test then fails naming the missing S3_ENDPOINT.
set -euo pipefail
dir="${1:?SERVICES_DIR}"
env_file="${2:?ENV_FILE}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
bucket=craftkit-test

if [[ ! -d "$root/tests/node_modules/@20minutes/s3rver" ]]; then
  echo "s3.sh: tests/node_modules has no @20minutes/s3rver; run scripts/test-node-deps" >&2
  exit 0
fi
mkdir -p "$dir/s3"
# Detached from our stdout/stderr so ctest does not wait for the server to exit.
node "$root/tests/support/fake-s3.js" "$dir/s3" "$dir/s3.port" "$bucket" \
  </dev/null >"$dir/s3.log" 2>&1 &
echo $! > "$dir/s3.pid"
for _ in $(seq 1 300); do
  [[ -s "$dir/s3.port" ]] && break
  if ! kill -0 "$(cat "$dir/s3.pid")" 2>/dev/null; then
    echo "s3.sh: the fake S3 exited:" >&2
    cat "$dir/s3.log" >&2
    exit 1
  fi
  sleep 0.05
done
if [[ ! -s "$dir/s3.port" ]]; then
  echo "s3.sh: the fake S3 did not start within 15 s (see $dir/s3.log)" >&2
  exit 1
fi
port="$(cat "$dir/s3.port")"
cat >> "$env_file" <<ENV
S3_ENDPOINT=http://127.0.0.1:$port
S3_REGION=us-east-1
S3_BUCKET=$bucket
S3_ACCESS_KEY_ID=S3RVER
S3_SECRET_ACCESS_KEY=S3RVER
S3_FORCE_PATH_STYLE=1
ENV
