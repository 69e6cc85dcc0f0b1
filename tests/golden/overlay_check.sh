#!/usr/bin/env bash
# overlay_check.sh CRAFTKIT GOLDEN_CHECK CASE_DIR OUT_DIR   (used by tests/cmake/golden.cmake)
# The pixel golden of a pdf-overlay page: `craftkit render --base` draws the overlay of
# CASE_DIR (overlay.json, manifest.json, data.json) on base.pdf and writes page 1 as a PNG
# through poppler, the path of the server's PNG previews; golden_check --compare holds it
# against CASE_DIR/expected/page-1.png (CRAFTKIT_GOLDEN_UPDATE=1 rewrites that). The PDF is
# rendered too and must pass qpdf --check. base.pdf is base.layout.json rendered by
# `craftkit render --creation-time 1767225600 --compression standard`.
set -euo pipefail
craftkit="$1"; golden_check="$2"; case_dir="$3"; out="$4"
mkdir -p "$out"
args=(--layout "$case_dir/overlay.json" --manifest "$case_dir/manifest.json" --data "$case_dir/data.json"
      --base "$case_dir/base.pdf" --quiet)
"$craftkit" render "${args[@]}" -o "$out/page-1.png" --page 1 --dpi 50
"$craftkit" render "${args[@]}" -o "$out/overlay.pdf" --creation-time 1767225600
qpdf --check "$out/overlay.pdf" >/dev/null
exec "$golden_check" --compare "$out/page-1.png" "$case_dir/expected/page-1.png" "$out/diff-page-1.png"
