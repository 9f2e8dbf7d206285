#!/usr/bin/env bash
# The README's first command: shows the tool at work on a sandbox MariaDB it starts itself,
# then stops everything it started and removes its files.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
ensure_deno
ensure_commands "${TEST_COMMANDS[@]}"
exec "$DENO" run -q -P=test scripts/demo.ts "$@"
