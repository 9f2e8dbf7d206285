#!/usr/bin/env bash
# All checks and tests: deno fmt --check, deno lint, deno check, then every test with the test
# permission set. Prints Deno's report, then one final line "tests: N passed, M failed"
# (M also counts a failed fmt/lint/check step). Exits non-zero on any failure.
# Extra arguments go to `deno test` (e.g. a file, or --filter NAME).
set -uo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

ensure_deno
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
log=.test-tmp/test.log
printf '== deno test\n'
"$DENO" test -q -P --parallel "$@" 2>&1 | tee "$log"
test_status=${PIPESTATUS[0]}

# Deno's closing line looks like "ok | 12 passed (3 steps) | 0 failed (9s)".
summary="$(sed -E 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^(ok|FAILED) \| [0-9]+ passed' | tail -n1)"
passed=0
failed=0
if [ -n "$summary" ]; then
  passed="$(sed -E 's/^[A-Za-z]+ \| ([0-9]+) passed.*/\1/' <<<"$summary")"
  failed="$(sed -E 's/.*\| ([0-9]+) failed.*/\1/' <<<"$summary")"
elif [ "$test_status" -ne 0 ]; then
  echo "deno test exited $test_status before reporting (type error or crash); counted as one failure"
  failed=1
fi
if [ "$test_status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
failed=$((failed + check_failures))
[ "$check_failures" -gt 0 ] && echo "($check_failures of fmt/lint/check failed; counted as failures below)"
echo "tests: ${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
