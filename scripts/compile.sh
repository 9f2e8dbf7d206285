#!/usr/bin/env bash
# Builds the single binary: deno compile with the binary's permission set ("app" in deno.json)
# into dist/mysql_monitor_daemon, or into the path given as the first argument.
# deno compile needs the denort base binary; set DENORT_BIN to a denort of the pinned version
# when dl.deno.land cannot be reached.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

out="${1:-dist/mysql_monitor_daemon}"
ensure_deno
if [ -n "${DENORT_BIN:-}" ]; then
  [ -f "$DENORT_BIN" ] && [ -x "$DENORT_BIN" ] || die "DENORT_BIN=$DENORT_BIN is not an executable file"
  export DENORT_BIN
fi
mkdir -p "$(dirname "$out")"
err="$(mktemp)"
trap 'rm -f "$err"' EXIT
if ! "$DENO" compile -q -P=app --include src/ -o "$out" main.ts 2>"$err"; then
  if [ -z "${DENORT_BIN:-}" ] && grep -q 'dl.deno.land' "$err"; then
    die "deno compile could not download the denort base binary (dl.deno.land is unreachable); set DENORT_BIN=/path/to/denort (deno ${DENO_VERSION}, $(uname -m)) and run again"
  fi
  sed -E 's/\x1b\[[0-9;]*m//g' "$err" | grep -v -E '^\s*$|Stack backtrace|^\s+[0-9]+: <unknown>' >&2
  die "deno compile failed"
fi
echo "$out"
