#!/usr/bin/env bash
# The uploaded-font benchmark of docs/performance.md (issue 18): the standard invoice
# (tests/golden/invoice, make_invoice.py data, 10 and 1,000 items) set in Roboto from Debian's
# fonts-roboto-unhinted (scripts/deps, test set), once as the installed family and once as a
# project's upload of the same four files (regular, bold, italic, bold italic) under the family
# "Brand". Warm medians and their ratio, and the cold start of a project's font set.
# Usage: bench/fonts/run.sh [BUILD_DIR]   (default build/bench; RelWithDebInfo)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:-$root/build/bench}"
"$root/scripts/build" "$build" >/dev/null
bench="$build/bench/fonts/bench_fonts"
layout="$root/tests/golden/invoice/layout.json"
manifest="$root/tests/golden/invoice/manifest.json"
dir=/usr/share/fonts/truetype/roboto/unhinted/RobotoTTF
fonts="$dir/Roboto-Regular.ttf,$dir/Roboto-Bold.ttf,$dir/Roboto-Italic.ttf,$dir/Roboto-BoldItalic.ttf"
for f in ${fonts//,/ }; do
  [[ -f "$f" ]] || { echo "$f is missing: install fonts-roboto-unhinted (scripts/deps)" >&2; exit 1; }
done
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
gen() { python3 "$root/bench/engine/make_invoice.py" "$1" "$2" > "$tmp/i$1_$2.json"; }
for v in 1 2 3 4 5 6 7 8; do gen 10 "$v"; done
for v in 1 2 3 4; do gen 1000 "$v"; done
pin=()
if command -v taskset >/dev/null; then pin=(taskset -c 0); fi

echo "== 10 items (each block: one process)"
"${pin[@]}" "$bench" "$layout" "$manifest" Roboto "$fonts" 2000 40 "$tmp"/i10_*.json
echo "== 1,000 items"
"${pin[@]}" "$bench" "$layout" "$manifest" Roboto "$fonts" 40 10 "$tmp"/i1000_*.json
