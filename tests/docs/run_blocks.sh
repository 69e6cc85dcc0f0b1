#!/usr/bin/env bash
# Runs the ```sh test blocks of Markdown files, in order, in one bash session (so variables
# carry over from block to block), stopping at the first failing command or HTTP error
# answer. Used by the
# docs.* tests to keep docs/quickstart.md and README.md true.
# Usage: run_blocks.sh FILE.md...   (environment: whatever the blocks use, e.g. CRAFTKIT_URL, KEY)
set -euo pipefail
script="$(mktemp)"
trap 'rm -f "$script"' EXIT
{
  echo 'set -euo pipefail'
  # The docs say plain `curl -s`, which exits 0 on a 4xx or 5xx answer: here every error answer
  # fails its block (with the body printed), so a command that "runs" but is refused is caught.
  echo 'curl() { command curl --fail-with-body --show-error "$@"; }'
  for md in "$@"; do
    awk -v file="$md" '
      /^```sh test[[:space:]]*$/ { inblock = 1; n++; printf "echo \"== %s block %d\" >&2\n", file, n; next }
      /^```/ && inblock { inblock = 0; print ""; next }
      inblock { print }
    ' "$md"
  done
} > "$script"
blocks=$(grep -c '^echo "== ' "$script" || true)
if [[ "$blocks" -eq 0 ]]; then
  echo "run_blocks: no \`\`\`sh test blocks in $*" >&2
  exit 1
fi
bash "$script"
echo "run_blocks: $blocks blocks ran" >&2
