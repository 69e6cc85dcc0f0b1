#!/usr/bin/env bash
# The engine benchmark of docs/performance.md: the standard invoice (tests/golden/invoice) with
# make_invoice.py data at 10, 1,000 and 10,000 items, warm and in-process on one core, plus a
# new `craftkit render` process for 10 items. Prints medians.
# Usage: bench/engine/run.sh [BUILD_DIR]   (default build/bench; RelWithDebInfo)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:-$root/build/bench}"
"$root/scripts/build" "$build" >/dev/null
bench="$build/bench/engine/bench_engine"
layout="$root/tests/golden/invoice/layout.json"
manifest="$root/tests/golden/invoice/manifest.json"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
gen() { python3 "$root/bench/engine/make_invoice.py" "$1" "$2" > "$tmp/i$1_$2.json"; }
for v in 1 2 3 4 5 6 7 8; do gen 10 "$v"; done
for v in 1 2 3 4; do gen 1000 "$v"; done
for v in 1 2; do gen 10000 "$v"; done
pin=()
if command -v taskset >/dev/null; then pin=(taskset -c 0); fi

echo "== warm, in-process, one core (each line: one process)"
"${pin[@]}" "$bench" "$layout" "$manifest" 2000 "$tmp"/i10_*.json
BENCH_COMPRESSION=none "${pin[@]}" "$bench" "$layout" "$manifest" 2000 "$tmp"/i10_*.json
fx="$root/tests/data/einvoice/factur-x.xml"
BENCH_PDFA=3b BENCH_FACTURX="$fx" "${pin[@]}" "$bench" "$layout" "$manifest" 2000 "$tmp"/i10_*.json
"${pin[@]}" "$bench" "$layout" "$manifest" 60 "$tmp"/i1000_*.json
BENCH_PDFA=3b BENCH_FACTURX="$fx" "${pin[@]}" "$bench" "$layout" "$manifest" 60 "$tmp"/i1000_*.json
"${pin[@]}" "$bench" "$layout" "$manifest" 8 "$tmp"/i10000_*.json

echo "== the PDF/A + Factur-X step alone (thread CPU time)"
for n in 10 1000 10000; do
  f="$(ls "$tmp"/i${n}_*.json | head -1)"
  "$build/bench/engine/bench_pdfa" "$layout" "$manifest" "$f" "$fx" 300
done

echo "== the render helper process's overhead per render (in-process vs helper, alternating)"
BENCH_SANDBOX=1 "$bench" "$layout" "$manifest" 2000 "$tmp"/i10_*.json
BENCH_SANDBOX=1 "$bench" "$layout" "$manifest" 40 "$tmp"/i1000_*.json

echo "== new process: craftkit render, 10 items (median of 31)"
python3 - "$build/craftkit" "$layout" "$manifest" "$tmp/i10_1.json" "$tmp/out.pdf" <<'PY'
import subprocess, sys, time
exe, layout, manifest, data, out = sys.argv[1:]
cmd = [exe, "render", "--layout", layout, "--manifest", manifest, "--data", data, "-o", out, "--quiet"]
subprocess.run(cmd, check=True)
times = []
for _ in range(31):
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    times.append((time.perf_counter() - t0) * 1000)
times.sort()
base = []
for _ in range(31):
    t0 = time.perf_counter()
    subprocess.run([exe, "version"], check=True, stdout=subprocess.DEVNULL)
    base.append((time.perf_counter() - t0) * 1000)
base.sort()
print("new_process_render_ms=%.1f craftkit_version_ms=%.1f" % (times[15], base[15]))
PY
