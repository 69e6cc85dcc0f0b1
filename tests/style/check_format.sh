#!/usr/bin/env bash
# Fails when a C source or header of the project is not formatted by .clang-format.
# Fix with: clang-format -i $(git ls-files '*.c' '*.h')
set -euo pipefail
cd "${1:?source dir}"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files -co --exclude-standard -- 'src/*.[ch]' 'include/*.h' 'tests/*.[ch]' 'bench/*.[ch]')
else
  mapfile -t files < <(find src include tests bench -name '*.[ch]' | sort)
fi
bad=()
for f in "${files[@]}"; do
  [[ -f "$f" ]] || continue
  if ! "${CLANG_FORMAT:-clang-format}" --dry-run --Werror "$f" >/dev/null 2>&1; then bad+=("$f"); fi
done
if [[ ${#bad[@]} -gt 0 ]]; then
  echo "not formatted (run clang-format -i on them):" >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi
echo "${#files[@]} files formatted"
