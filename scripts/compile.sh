#!/usr/bin/env bash
# Builds the single binary: deno compile with the binary's permission set ("app" in deno.json)
# into dist/mysql_monitor_daemon, or into the path given as the first argument.
#
#   scripts/compile.sh [OUT]                build; the result must run ("OUT version")
#   scripts/compile.sh --check-graph [OUT]  only check that the program compiles with its
#                                           permission set; the output is removed
#
# deno compile needs the denort base binary; set DENORT_BIN to a denort of the pinned version
# when dl.deno.land cannot be reached. A build refuses a DENORT_BIN that is not a denort runtime
# (the deno CLI, for instance, yields a file that starts the deno CLI instead of this program).
# --check-graph accepts any Deno base binary, the deno CLI by default, because its output is
# only inspected and then deleted: CI uses it where no denort can be downloaded.
set -euo pipefail
# V8 flags baked into the binary (scripts/bench/conntrack_bench.ts reads them from this line).
# They bound memory: a 1 MiB young generation per isolate instead of up to 16 MiB (the parser's
# short-lived records never need more), no pretenuring (with a small young generation V8 would
# otherwise move whole allocation sites to the old generation, which then grows with garbage),
# and optimizing compiles on the thread that needs them rather than on extra compiler threads.
# Measured on the 1 GiB conntrack benchmark (2 threads): peak RSS 120-126 MB -> 92-95 MB.
V8_FLAGS="--max-semi-space-size=1,--no-allocation-site-pretenuring,--no-concurrent-recompilation"
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

check=0
if [ "${1:-}" = "--check-graph" ]; then
  check=1
  shift
fi
ensure_deno
if [ "$check" = 1 ]; then
  tmpdir="$(mktemp -d)"
  out="${1:-$tmpdir/mysql_monitor_daemon}"
  DENORT_BIN="${DENORT_BIN:-$DENO}"
else
  tmpdir=""
  out="${1:-dist/mysql_monitor_daemon}"
fi
err="$(mktemp)"
trap 'rm -f "$err"; [ -z "$tmpdir" ] || rm -rf "$tmpdir"' EXIT

if [ -n "${DENORT_BIN:-}" ]; then
  [ -f "$DENORT_BIN" ] && [ -x "$DENORT_BIN" ] || die "DENORT_BIN=$DENORT_BIN is not an executable file"
  # The deno CLI answers --version; a denort runtime without an embedded program does not.
  if [ "$check" = 0 ] && timeout 20 "$DENORT_BIN" --version 2>/dev/null | head -n1 | grep -q '^deno [0-9]'; then
    die "DENORT_BIN=$DENORT_BIN is the deno CLI, not the denort runtime: a binary built on it starts the deno CLI instead of this program; point DENORT_BIN at denort ${DENO_VERSION} ($(uname -m)), or run scripts/compile.sh --check-graph to only check that the program compiles"
  fi
  export DENORT_BIN
fi
mkdir -p "$(dirname "$out")"
if ! "$DENO" compile -q -P=app --v8-flags="$V8_FLAGS" --include src/ -o "$out" main.ts 2>"$err"; then
  if [ -z "${DENORT_BIN:-}" ] && grep -q 'dl.deno.land' "$err"; then
    die "deno compile could not download the denort base binary (dl.deno.land is unreachable); set DENORT_BIN=/path/to/denort (deno ${DENO_VERSION}, $(uname -m)) and run again"
  fi
  sed -E 's/\x1b\[[0-9;]*m//g' "$err" | grep -v -E '^\s*$|Stack backtrace|^\s+[0-9]+: <unknown>' >&2
  die "deno compile failed"
fi

if [ "$check" = 1 ]; then
  # The embedded program (with its permission set) is appended to the base binary.
  found="$(tail -c $((4 << 20)) "$out" | grep -a -c 'mysql_monitor_daemon' || true)"
  size="$(stat -c %s "$out")"
  rm -f "$out"
  [ "${found:-0}" -gt 0 ] || die "compile check failed: the program is not embedded in the output"
  echo "compile check passed: the program compiles with the app permission set ($size bytes built on $DENORT_BIN; output removed, it is not a runnable binary)"
  exit 0
fi

# A binary that does not run this program is worse than none.
got="$(timeout 60 "$out" version 2>&1 | head -n1 || true)"
if ! grep -q '^mysql_monitor_daemon [0-9]' <<<"$got"; then
  rm -f "$out"
  die "the built file does not run this program (its \"version\" printed: ${got:-nothing}); is DENORT_BIN=${DENORT_BIN:-<downloaded>} a denort ${DENO_VERSION} runtime for $(uname -m)? Output removed"
fi
echo "$out"
