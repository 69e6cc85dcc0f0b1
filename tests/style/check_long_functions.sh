#!/usr/bin/env bash
# Fails when a function in src/ is longer than LIMIT lines (from the first line of its signature
# to its closing brace) and the comment right above it does not say why ("long because ...").
# A long function is usually several steps that want names of their own; the few that read
# better whole (one pass over a file format, a table of cases) say so where a reader sees it.
# Function definitions are recognised by the tree's style (clang-format, BreakBeforeBraces:
# Linux): the signature at column 0, then "{" and "}" alone on their lines.
set -euo pipefail
cd "${1:?source dir}"
LIMIT=100

# A check that finds no functions proves nothing: the tree has hundreds.
nfuncs=$(cat $(find src -name '*.c') | grep -c '^{$' || true)
if (( nfuncs < 200 )); then
  echo "$0: only $nfuncs function bodies found in src/; has the brace style changed?" >&2
  exit 1
fi

status=0
while IFS= read -r file; do
  awk -v limit="$LIMIT" -v file="$file" '
    function reset() { sig = ""; sig_start = 0; attached = 0; why = 0 }
    BEGIN { reset(); in_comment = 0; in_func = 0 }
    in_func {
      if ($0 == "}") {
        len = NR - sig_start + 1
        if (len > limit && !func_why) {
          printf "%s:%d: %s is %d lines (over %d) without a comment saying why it is long\n", \
                 file, sig_start, name, len, limit
          bad = 1
        }
        in_func = 0
        reset()
      }
      next
    }
    in_comment {
      if (tolower($0) ~ /long because/) why = 1
      if ($0 ~ /\*\//) { in_comment = 0; attached = 1 }
      next
    }
    /^\/\*/ {
      sig = ""; sig_start = 0; why = (tolower($0) ~ /long because/)
      if ($0 ~ /\*\//) attached = 1; else in_comment = 1
      next
    }
    $0 == "{" && sig_start {
      in_func = 1
      func_why = attached && why
      name = sig
      sub(/\(.*/, "", name); sub(/.*[ *]/, "", name)
      next
    }
    $0 == "" || /^#/ || /;[ \t]*$/ || /^}/ || /^[ \t]/ && !sig_start { reset(); next }
    {
      if (!sig_start) sig_start = NR
      sig = sig $0
    }
    END { exit bad }
  ' "$file" || status=1
done < <(find src -name '*.c' | sort)
exit $status
