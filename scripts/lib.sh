# shellcheck shell=bash
# Shared helpers for the project's scripts: pinned Deno bootstrap and Debian packages.
# Source it; it defines functions and sets ROOT. It changes nothing until a function is called.

DENO_VERSION="2.9.6"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
# mariadbd lives in /usr/sbin, which a non-login or cron PATH may lack.
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH="$PATH:/usr/sbin:/sbin" ;; esac
export PATH

log() { printf '%s\n' "$*" >&2; }
die() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

# ensure_deno: sets DENO to a deno binary of the pinned version.
# Uses `deno` from PATH when it is that version; otherwise installs deno@$DENO_VERSION from the
# npm registry (the package ships the real binary) into .tools/ and uses that.
ensure_deno() {
  if command -v deno >/dev/null 2>&1 &&
    deno --version 2>/dev/null | head -n1 | grep -q "^deno ${DENO_VERSION} "; then
    DENO="$(command -v deno)"
    export DENO
    return 0
  fi
  local bin="$TOOLS/bin/deno"
  if [ -x "$bin" ] && "$bin" --version 2>/dev/null | head -n1 | grep -q "^deno ${DENO_VERSION} "; then
    DENO="$bin"
    export DENO
    return 0
  fi
  command -v npm >/dev/null 2>&1 || die "deno ${DENO_VERSION} is not on PATH and npm is missing to install it; install Node.js/npm (apt-get install -y npm) and run again"
  log "installing deno@${DENO_VERSION} from the npm registry into .tools/ ..."
  mkdir -p "$TOOLS/bin"
  (cd "$TOOLS" && npm install --silent --no-audit --no-fund --no-save --prefix "$TOOLS" "deno@${DENO_VERSION}" >/dev/null) ||
    die "npm install deno@${DENO_VERSION} failed; check access to the npm registry"
  local real
  real="$(find "$TOOLS/node_modules/@deno" -maxdepth 2 -type f -name deno 2>/dev/null | head -n1)"
  [ -n "$real" ] || real="$TOOLS/node_modules/deno/deno"
  [ -x "$real" ] || die "the deno npm package did not ship a binary for this platform ($(uname -m))"
  ln -sf "$real" "$bin"
  "$bin" --version | head -n1 | grep -q "^deno ${DENO_VERSION} " || die "$bin is not deno ${DENO_VERSION}"
  DENO="$bin"
  export DENO
}

# ensure_commands CMD:PACKAGE ...: installs the Debian packages whose command is missing.
# As root it runs apt-get (update once); otherwise it names the exact command and fails.
ensure_commands() {
  local missing=() pair cmd pkg
  for pair in "$@"; do
    cmd="${pair%%:*}"
    pkg="${pair#*:}"
    command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || [ -x "/usr/bin/$cmd" ] || missing+=("$pkg")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  # de-duplicate
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  if [ "$(id -u)" -ne 0 ]; then
    die "missing packages: ${missing[*]}; run: sudo apt-get update && sudo apt-get install -y ${missing[*]}"
  fi
  log "installing Debian packages: ${missing[*]} ..."
  # Package scripts must not start services on this machine (the tests start their own servers).
  export DEBIAN_FRONTEND=noninteractive RUNLEVEL=1
  apt-get update -qq >/dev/null || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    die "apt-get install -y ${missing[*]} failed"
}

# Commands the test suite and demo need, with the Debian package that provides each.
TEST_COMMANDS=(
  mariadbd:mariadb-server
  mariadb-install-db:mariadb-server
  mariadb:mariadb-client
  promtool:prometheus
  script:bsdutils
  prometheus-node-exporter:prometheus-node-exporter
  sqlite3:sqlite3
  systemd-analyze:systemd
  wat2wasm:wabt
)
