#!/usr/bin/env bash
# cli_check.sh EXPECTED_EXIT REGEX -- COMMAND...   (used by tests/cmake/engine_cli.cmake)
# Runs COMMAND; passes when it exits with EXPECTED_EXIT and its stdout+stderr match REGEX
# (grep -E). Prints the output when it does not.
set -u
want="$1"; regex="$2"; shift 2
[[ "$1" == "--" ]] && shift
out="$("$@" 2>&1)"
code=$?
if [[ $code -ne $want ]]; then
  printf 'exit code %d, expected %d; output:\n%s\n' "$code" "$want" "$out"
  exit 1
fi
if ! grep -Eq -- "$regex" <<<"$out"; then
  printf 'output does not match /%s/:\n%s\n' "$regex" "$out"
  exit 1
fi
exit 0
