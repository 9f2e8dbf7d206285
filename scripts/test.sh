#!/usr/bin/env bash
# All checks and tests: deno fmt --check, deno lint, deno check, then the unit set (permission
# set "unit") and the integration set (permission set "test"). Prints Deno's report, then one final line "tests: N passed, M failed"
# (M also counts a failed fmt/lint/check step). Exits non-zero on any failure.
# Extra arguments go to `deno test` (e.g. a file, or --filter NAME).
set -uo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

ensure_deno
# The deno.json tasks below call `deno`: make it this one.
PATH="$(dirname "$DENO"):$PATH"
ensure_commands "${TEST_COMMANDS[@]}"

check_failures=0
step() {
  local name="$1"
  shift
  printf '== %s\n' "$name"
  if ! "$@"; then
    printf 'FAILED: %s\n' "$name"
    check_failures=$((check_failures + 1))
  fi
}

step "deno fmt --check" "$DENO" fmt --check -q
step "deno lint" "$DENO" lint -q
step "deno check" "$DENO" check -q main.ts src/ tests/ scripts/

mkdir -p .test-tmp
passed=0
failed=0
# run_tests LABEL COMMAND...: runs one deno test invocation, adds its counts to passed/failed.
run_tests() {
  local label="$1" log=".test-tmp/test-${1//[^a-z]/_}.log" summary status
  shift
  printf '== %s\n' "$label"
  "$@" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  # Deno's closing line looks like "ok | 12 passed (3 steps) | 0 failed (9s)".
  summary="$(sed -E 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^(ok|FAILED) \| [0-9]+ passed' | tail -n1)"
  local p=0 f=0
  if [ -n "$summary" ]; then
    p="$(sed -E 's/^[A-Za-z]+ \| ([0-9]+) passed.*/\1/' <<<"$summary")"
    f="$(sed -E 's/.*\| ([0-9]+) failed.*/\1/' <<<"$summary")"
  elif [ "$status" -ne 0 ]; then
    echo "$label exited $status before reporting (type error or crash); counted as one failure"
    f=1
  fi
  if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  passed=$((passed + p))
  failed=$((failed + f))
}

if [ "$#" -gt 0 ]; then
  # Targeted run: exactly what was asked, with the full test permission set.
  run_tests "deno test" "$DENO" test -q -P --parallel "$@"
else
  # The unit set (deno.json task test:unit: no server, no child Deno, restricted `run`), then
  # the integration set (test:integration: everything else under tests/).
  run_tests "deno task test:unit" "$DENO" task -q test:unit
  run_tests "deno task test:integration" "$DENO" task -q test:integration
fi
failed=$((failed + check_failures))
[ "$check_failures" -gt 0 ] && echo "($check_failures of fmt/lint/check failed; counted as failures below)"
echo "tests: ${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
