#!/usr/bin/env bash
# The API benchmark of docs/performance.md, on loopback with wrk against the real server, a
# throwaway Postgres 15 (default durability: fsync and synchronous_commit on) and Redis:
#   1. accept: POST /v1/templates/invoice/render with the standard 10-item invoice, 32
#      connections, an API-only instance (CRAFTKIT_WORKERS=0) so only accepting is measured;
#      then the same with a fresh Idempotency-Key on every request;
#   2. read:   GET /v1/renders/:id, 32 connections;
#   3. drain:  10,000 invoices submitted at full speed to one instance with workers, local
#      storage; time until every render is succeeded, renders/s and the server's peak RSS;
#   4. batch (only when PHASES names it): the same DRAIN_RENDERS invoices as one
#      POST /v1/templates/invoice/batches (issue 22): time to accept (202), time until the
#      batch is settled, renders/s and peak RSS; and the CPU milliseconds per render of the
#      server, its render helpers, Postgres and Redis over the drain (bench/api/cpu_snapshot.py)
#      with the load average, the figure that holds on a shared machine. The processes' ids go
#      to $TMP/pids for a profiler started from outside (perf record -p, strace -p).
# Usage: bench/api/run.sh [BUILD_DIR]   (default build/bench; RelWithDebInfo)
# Knobs: SECONDS_ACCEPT (15), SECONDS_GET (10), DRAIN_RENDERS (10000), WORKERS (4),
#        HTTP_THREADS (6), PG_SYNC_COMMIT (on|off, default on), PHASES ("accept get drain"),
#        DATA_DIR (local storage; default under the temp dir), PROBE ("1 4": extra accept runs
#        at those connection counts), KEEP=1 (keep the temp dir with the logs),
#        ACCEPT_ONLY=1 (batch phase: time the accept only, do not wait for the drain; with
#        WORKERS=0 nothing renders meanwhile), BATCH_RUNS (1: batches posted in the batch phase),
#        PERF_OUT=FILE (perf record -g of the server during each batch accept, to FILE.<run>).
# The batch phase also prints the CPU time (user + system, from /proc) that the server, Postgres
# (all its processes) and Redis spent during each accept, and the load average at the time: on
# a shared machine the wall time varies with the load, the CPU time hardly.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:-$root/build/bench}"
"$root/scripts/build" "$build" >/dev/null
bin="$build/craftkit"
PGBIN=/usr/lib/postgresql/15/bin
secs_accept="${SECONDS_ACCEPT:-15}"
secs_get="${SECONDS_GET:-10}"
drain_n="${DRAIN_RENDERS:-10000}"
workers="${WORKERS:-4}"
http_threads="${HTTP_THREADS:-6}"
phases="${PHASES:-accept get drain}"

tmp="$(mktemp -d /tmp/craftkit-bench-api.XXXXXX)"
chmod 755 "$tmp"
as_pg() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [[ $(id -u) -eq 0 ]]; then chown postgres "$tmp"; fi
server=""
cleanup() {
  if [[ -n "$server" ]]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  redis-cli -s "$tmp/redis.sock" shutdown nosave >/dev/null 2>&1 || true
  as_pg "$PGBIN/pg_ctl" -D "$tmp/pg" -m immediate -w stop >/dev/null 2>&1 || true
  if [[ -z "${KEEP:-}" ]]; then rm -rf "$tmp"; else echo "kept $tmp" >&2; fi
}
trap cleanup EXIT

as_pg "$PGBIN/initdb" -D "$tmp/pg" -U postgres --auth=trust -E UTF8 >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$tmp/pg" -l "$tmp/pg.log" -w -o \
  "-c listen_addresses='' -k $tmp -c max_connections=200 -c shared_buffers=256MB -c synchronous_commit=${PG_SYNC_COMMIT:-on} ${PG_EXTRA:-}" \
  start >/dev/null
psql -h "$tmp" -U postgres -qc "CREATE DATABASE craftkit"
redis-server --port 0 --unixsocket "$tmp/redis.sock" --unixsocketperm 777 --save '' --appendonly no \
  --daemonize yes --dir "$tmp" --pidfile "$tmp/redis.pid" --logfile "$tmp/redis.log" >/dev/null
for _ in $(seq 50); do redis-cli -s "$tmp/redis.sock" ping >/dev/null 2>&1 && break; sleep 0.1; done

port=$((20000 + RANDOM % 20000))
export DATABASE_URL="host=$tmp user=postgres dbname=craftkit"
export REDIS_URL="unix://$tmp/redis.sock"
export CRAFTKIT_ADMIN_KEY="bench-admin-key-0123456789"
export CRAFTKIT_DATA_DIR="${DATA_DIR:-$tmp/data}"
export CRAFTKIT_LISTEN="127.0.0.1:$port"
export CRAFTKIT_PUBLIC_URL="http://127.0.0.1:$port"
export CRAFTKIT_RATE_LIMIT=1000000 CRAFTKIT_RATE_BURST=1000000
export CRAFTKIT_HTTP_THREADS="$http_threads"
base="http://127.0.0.1:$port"
"$bin" migrate >/dev/null

start_server() { # WORKERS
  CRAFTKIT_WORKERS="$1" "$bin" serve 2>>"$tmp/server.log" &
  server=$!
  for _ in $(seq 100); do curl -sf "$base/health" >/dev/null && return 0; sleep 0.05; done
  echo "server did not start" >&2; cat "$tmp/server.log" >&2; exit 1
}
stop_server() { kill -TERM "$server"; wait "$server" || true; server=""; }
sql() { psql -h "$tmp" -U postgres -d craftkit -tAc "$1"; }
# CPU seconds so far of the server, its render helpers, Postgres and Redis ("name=secs ...").
cpu_now() {
  python3 "$root/bench/api/cpu_snapshot.py" server="$server" helpers=0 postgres="$(head -1 "$tmp/pg/postmaster.pid")" \
    redis="$(cat "$tmp/redis.pid")"
}
# CPU milliseconds per render between two cpu_now lines, by process and in all: BEFORE AFTER RENDERS
cpu_per_render() {
  python3 - "$1" "$2" "$3" <<'PY'
import sys
a = dict(kv.split("=") for kv in sys.argv[1].split())
b = dict(kv.split("=") for kv in sys.argv[2].split())
n = int(sys.argv[3])
parts = {k: (float(b[k]) - float(a[k])) * 1e3 / max(n, 1) for k in a}
print("cpu_ms_per_render total=%.2f %s (over %d renders)" % (sum(parts.values()),
      " ".join("%s=%.2f" % kv for kv in parts.items()), n))
PY
}
wrk_summary() { # wrk output on stdin → "req/s p50 p99"
  awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} END {print rps, p50, p99}'
}

key="$("$bin" project create Bench | sed -n 's/^key=//p')"
python3 - "$root" "$tmp" <<'PY'
import json, subprocess, sys
root, tmp = sys.argv[1:]
layout = json.load(open(root + "/tests/golden/invoice/layout.json"))
manifest = json.load(open(root + "/tests/golden/invoice/manifest.json"))
json.dump({"name": "Invoice", "slug": "invoice", "manifest": manifest, "layout": layout},
          open(tmp + "/template.json", "w"))
data = json.loads(subprocess.check_output([sys.executable, root + "/bench/engine/make_invoice.py", "10", "1"]))
json.dump({"data": data}, open(tmp + "/body.json", "w"))
PY
post() { curl -sf -o /dev/null "$base$1" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
  --data-binary "@$2"; }
submit_wrk() { CK_KEY="$key" CK_BODY="$tmp/body.json" wrk "$@" -s "$root/bench/api/submit.lua" "$base"; }

start_server 0
post /v1/templates "$tmp/template.json"
post /v1/templates/invoice/render "$tmp/body.json"

if [[ " $phases " == *" accept "* ]]; then
  echo "== 1. accept: POST render, 10-item invoice, 32 connections, ${secs_accept}s, workers=0, http threads=$http_threads"
  submit_wrk -t2 -c32 -d2s >/dev/null
  for c in ${PROBE:-}; do
    read -r rps p50 p99 < <(submit_wrk -t1 -c"$c" -d5s --latency | wrk_summary)
    echo "probe connections=$c accepted_per_s=$rps p50=$p50 p99=$p99"
  done
  submit_wrk -t2 -c32 -d"${secs_accept}s" --latency > "$tmp/accept.txt"
  read -r rps p50 p99 < <(wrk_summary < "$tmp/accept.txt")
  echo "accepted_per_s=$rps p50=$p50 p99=$p99"
  CK_IDEMPOTENCY=1 submit_wrk -t2 -c32 -d"${secs_accept}s" --latency > "$tmp/accept-keyed.txt"
  read -r rps p50 p99 < <(wrk_summary < "$tmp/accept-keyed.txt")
  echo "accepted_with_idempotency_key_per_s=$rps p50=$p50 p99=$p99"
fi

if [[ " $phases " == *" get "* ]]; then
  echo "== 2. read: GET /v1/renders/:id, 32 connections, ${secs_get}s"
  id="$(sql "SELECT id FROM renders LIMIT 1")"
  wrk -t2 -c32 -d2s -H "Authorization: Bearer $key" "$base/v1/renders/$id" >/dev/null
  wrk -t2 -c32 -d"${secs_get}s" --latency -H "Authorization: Bearer $key" "$base/v1/renders/$id" > "$tmp/get.txt"
  read -r rps p50 p99 < <(wrk_summary < "$tmp/get.txt")
  echo "get_per_s=$rps p50=$p50 p99=$p99"
fi
stop_server

if [[ " $phases " == *" drain "* ]]; then
echo "== 3. drain: $drain_n invoices submitted at full speed (8 connections), workers=$workers, local storage"
sql "TRUNCATE renders CASCADE" >/dev/null
redis-cli -s "$tmp/redis.sock" flushall >/dev/null
start_server "$workers"
"$build/bench/api/bench_submit" "$base/v1/templates/invoice/render" "$key" "$tmp/body.json" "$drain_n" 8 \
  > "$tmp/drain-submit.txt"
while :; do
  read -r total terminal < <(sql "SELECT count(*), count(*) FILTER (WHERE status IN ('succeeded', 'failed'))
    FROM renders" | tr '|' ' ')
  if (( total == terminal )); then break; fi
  sleep 1
done
rss_kb="$(awk '/VmHWM/ {print $2}' "/proc/$server/status")"
# Timed by Postgres: from the first acceptance to the last completion.
read -r n secs sub_secs failed < <(sql "SELECT count(*), extract(epoch FROM max(completed_at) - min(created_at)),
  extract(epoch FROM max(created_at) - min(created_at)), count(*) FILTER (WHERE status = 'failed')
  FROM renders" | tr '|' ' ')
python3 -c "import sys; n,t,sub,rss=int(sys.argv[1]),float(sys.argv[2]),float(sys.argv[3]),int(sys.argv[4]); \
print('drained=%d seconds=%.2f renders_per_s=%.0f submit_seconds=%.2f peak_rss_mb=%.0f' % (n, t, n/t, sub, rss/1024))" \
  "$n" "$secs" "$sub_secs" "$rss_kb"
echo "$(cat "$tmp/drain-submit.txt") failed=$failed bytes_total=$(sql "SELECT pg_size_pretty(sum(bytes)) FROM renders")"
stop_server
fi

[[ " $phases " == *" batch "* ]] || exit 0
echo "== 4. batch: $drain_n invoices in one POST /v1/templates/invoice/batches, workers=$workers, local storage"
sql "TRUNCATE renders, batches CASCADE" >/dev/null
redis-cli -s "$tmp/redis.sock" flushall >/dev/null
python3 - "$tmp" "$drain_n" <<'PY'
import json, sys
tmp, n = sys.argv[1], int(sys.argv[2])
item = json.load(open(tmp + "/body.json"))
json.dump({"items": [item] * n}, open(tmp + "/batch.json", "w"))
PY
CRAFTKIT_MAX_BODY=$((128 << 20)) CRAFTKIT_BATCH_MAX_ITEMS="$drain_n" start_server "$workers"
tck="$(getconf CLK_TCK)"
cpu_ticks() { # PIDS… → their utime + stime in clock ticks
  for p in "$@"; do awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0; done | awk '{s += $1} END {print s}'
}
pg_pids() { local pm; pm="$(head -1 "$tmp/pg/postmaster.pid")"; echo "$pm" $(ps -o pid= --ppid "$pm"); }
for run in $(seq "${BATCH_RUNS:-1}"); do
  pgp="$(pg_pids)"; redis_pid="$(cat "$tmp/redis.pid")"
  s0="$(cpu_ticks "$server")"; p0="$(cpu_ticks $pgp)"; r0="$(cpu_ticks "$redis_pid")"
  perf_pid=""
  if [[ -n "${PERF_OUT:-}" ]]; then
    perf record -q -g -p "$server" -o "$PERF_OUT.$run" 2>/dev/null & perf_pid=$!; sleep 0.5
  fi
  accept_s="$(curl -sf -o "$tmp/batch-answer.json" -w '%{time_total}' "$base/v1/templates/invoice/batches" \
    -H "Authorization: Bearer $key" -H 'Content-Type: application/json' --data-binary "@$tmp/batch.json")"
  # Backends that started meanwhile count from zero; those that ended are lost (none should).
  pgp="$(echo $pgp $(pg_pids) | tr ' ' '\n' | sort -u)"
  s1="$(cpu_ticks "$server")"; p1="$(cpu_ticks $pgp)"; r1="$(cpu_ticks "$redis_pid")"
  if [[ -n "$perf_pid" ]]; then kill -INT "$perf_pid"; wait "$perf_pid" || true; fi
  python3 -c "import sys; a,s,p,r,t=float(sys.argv[1]),*map(int,sys.argv[2:5]),int(sys.argv[5]); \
print('run=%s accept_seconds=%.2f cpu_server_s=%.2f cpu_postgres_s=%.2f cpu_redis_s=%.2f cpu_total_s=%.2f load=%s' \
% (sys.argv[6], a, s/t, p/t, r/t, (s+p+r)/t, sys.argv[7]))" "$accept_s" $((s1 - s0)) $((p1 - p0)) $((r1 - r0)) \
    "$tck" "$run" "$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' /)"
done
batch="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["id"])' "$tmp/batch-answer.json")"
if [[ -n "${ACCEPT_ONLY:-}" ]]; then
  echo "items_queued=$(sql "SELECT count(*) FROM renders WHERE batch_id = '$batch'") body_mb=$(( $(stat -c %s "$tmp/batch.json") >> 20 ))"
  stop_server
  exit 0
fi
# CPU per render over the drain: from the answer to the settled batch, per render done meanwhile.
cpu_before="$(cpu_now)"
# For profilers run from outside (perf record -p, strace -p): the processes of this drain.
echo "server=$server postgres=$(head -1 "$tmp/pg/postmaster.pid") redis=$(cat "$tmp/redis.pid")" > "$tmp/pids"
done_before="$(sql "SELECT count(*) FROM renders WHERE status IN ('succeeded', 'failed')")"
load_before="$(cut -d' ' -f1 /proc/loadavg)"
until [[ "$(sql "SELECT completed_at IS NOT NULL FROM batches WHERE id = '$batch'")" == t ]]; do sleep 1; done
cpu_after="$(cpu_now)"
done_after="$(sql "SELECT count(*) FROM renders WHERE status IN ('succeeded', 'failed')")"
cpu_per_render "$cpu_before" "$cpu_after" $((done_after - done_before))
echo "load_average_1m before=$load_before after=$(cut -d' ' -f1 /proc/loadavg)"
rss_kb="$(awk '/VmHWM/ {print $2}' "/proc/$server/status")"
read -r n secs status < <(sql "SELECT total, extract(epoch FROM completed_at - created_at), status
  FROM batches WHERE id = '$batch'" | tr '|' ' ')
python3 -c "import sys; n,t,a,rss=int(sys.argv[1]),float(sys.argv[2]),float(sys.argv[3]),int(sys.argv[4]); \
print('batch_items=%d accept_seconds=%.2f seconds=%.2f renders_per_s=%.0f peak_rss_mb=%.0f' % (n, a, t, n/t, rss/1024))" \
  "$n" "$secs" "$accept_s" "$rss_kb"
echo "status=$status body_mb=$(( $(stat -c %s "$tmp/batch.json") >> 20 ))"
stop_server
