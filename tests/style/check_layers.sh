#!/usr/bin/env bash
# Fails when a source file includes a module of a higher layer. The layer order is written
# here once (docs/architecture.md explains it): a folder may include its own layer and any
# lower one. include/craftkit/ (the engine's public header) counts as the engine.
set -euo pipefail
cd "${1:?source dir}"

LAYERS=(
  "core"
  "engine storage queue pdf"   # pdf: libqpdf wrapper (reading, merging uploaded PDFs)
  "manifest db"   # manifest uses engine/format (a manifest `format` is checked by the printer)
  "http"
  "auth webhooks"
  "worker"
  "api"
  "cli"
  "main.c"
)

declare -A rank
for i in "${!LAYERS[@]}"; do
  for m in ${LAYERS[$i]}; do rank[$m]=$i; done
done
rank[craftkit]=${rank[engine]}

bad=0
while IFS= read -r file; do
  rel="${file#src/}"
  from="${rel%%/*}"
  [[ -n "${rank[$from]+x}" ]] || { echo "$file: folder '$from' has no layer in $0" >&2; bad=1; continue; }
  while IFS= read -r inc; do
    to="${inc%%/*}"
    [[ "$inc" == */* ]] || continue
    if [[ -z "${rank[$to]+x}" ]]; then
      echo "$file: includes \"$inc\" of unknown layer '$to'" >&2; bad=1
    elif (( rank[$to] > rank[$from] )); then
      echo "$file: includes \"$inc\": $from (layer ${rank[$from]}) may not depend on $to (layer ${rank[$to]})" >&2; bad=1
    fi
  done < <(sed -n -e 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' \
                  -e 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*<\(craftkit\/[^>]*\)>.*/\1/p' "$file")
done < <(find src -name '*.[ch]' | sort)
if (( bad )); then echo "wrong-way includes found" >&2; exit 1; fi
echo "no wrong-way includes"
