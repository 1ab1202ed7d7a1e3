#!/usr/bin/env bash
# Installs the Debian packages the test suite needs. Idempotent: when every package is already
# installed it only checks and exits (no apt-get update, no network). Works as root; uses sudo otherwise.
#
# The packaged system services (prosody, ejabberd, postgresql) are never used: the tests start private instances
# (tests/Parley.Testing). They are kept from starting during installation and disabled afterwards.
set -euo pipefail

# ---- the one list of packages, by purpose -------------------------------------------------------
#   install-deps.sh run    what ./scripts/run.sh needs (a private Prosody)
#   install-deps.sh [test] everything the test suite needs (the default)
RUN_PACKAGES=(
  prosody          # 0.12: c2s, direct TLS, smacks (core since 0.12), http_file_share, proxy65
  lua-unbound      # Prosody's DNS resolver; without it Prosody logs a warning at every start
  openssl          # self-signed certificates
)
TEST_PACKAGES=(
  "${RUN_PACKAGES[@]}"
  ejabberd         # 23.01, the second server every integration test runs against
  dnsmasq-base     # a real DNS server for the SRV resolver tests (binary only, no system service)
  python3-slixmpp  # interop peer and benchmark baseline
  chromium         # the web gateway's browser tests (driven by Playwright, no browser download)
  finch            # libpurple 2.14 (Pidgin's engine) as a file-transfer interop peer, in a terminal UI
  libpurple-bin    # purple-send: drives finch over D-Bus (ServSendFile, account state)
  tmux             # the terminal finch needs, run headless by the test harness
  dbus             # dbus-daemon (a private session bus per finch) and dbus-monitor (its file-transfer signals)
  postgresql       # PostgreSQL 15: the web gateway's PostgreSQL store and scale-out tests run a private instance (initdb + postgres)
  nodejs           # runs the test OpenID provider (npm package oidc-provider, installed below) for the web sign-in tests
  dino-im          # Dino 0.4.2 (GTK4) as a real Jingle (XEP-0234) and HTTP-upload link receiver
  xvfb             # Xvfb: the private virtual X server Dino runs under (tests/Parley.Testing/DinoClient.cs)
  xauth            # writes the X authority cookie of that private display
  sqlite3          # reads Dino's dino.db (account row, file_transfer state) from the harness
  util-linux       # unshare: Dino runs in a private mount namespace (its own /etc/hosts, resolv.conf, CA bundle)
  afl++            # afl-fuzz: the fuzz tests run each harness of fuzz/Parley.Fuzz briefly (scripts/fuzz.sh)
)
case "${1:-test}" in
  run) PACKAGES=("${RUN_PACKAGES[@]}") ;;
  test) PACKAGES=("${TEST_PACKAGES[@]}") ;;
  *) echo "usage: install-deps.sh [run|test]" >&2; exit 2 ;;
esac

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: not root and no sudo" >&2; exit 1; }
  SUDO=(sudo)
fi

is_installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

missing=()
for p in "${PACKAGES[@]}"; do
  is_installed "$p" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  # Keep invoke-rc.d from starting the packaged services (policy-rc.d exit 101 = "action forbidden").
  # Only add our own policy file when there is none, and remove only what we added.
  added_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee /usr/sbin/policy-rc.d >/dev/null
    "${SUDO[@]}" chmod 755 /usr/sbin/policy-rc.d
    added_policy=1
  fi
  trap '[ "$added_policy" = 1 ] && "${SUDO[@]}" rm -f /usr/sbin/policy-rc.d' EXIT
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  for p in "${missing[@]}"; do
    is_installed "$p" || { echo "install-deps: $p is still not installed" >&2; exit 1; }
  done
fi

# ---- the packaged services must not run -----------------------------------------------------------
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
  for unit in prosody.service ejabberd.service postgresql.service; do
    if systemctl list-unit-files "$unit" >/dev/null 2>&1; then
      "${SUDO[@]}" systemctl disable --now "$unit" >/dev/null 2>&1 || true
    fi
  done
fi

# ejabberd's postinst runs 'epmd -daemon' as user ejabberd, listening on 0.0.0.0:4369. Our private
# ejabberd instances use a fixed distribution port (ERL_DIST_PORT) and need no epmd: stop that one
# (only epmd processes owned by user ejabberd, by pid).
if getent passwd ejabberd >/dev/null; then
  for pid in $(pgrep -u ejabberd -x epmd || true); do
    echo "install-deps: stopping epmd (pid $pid) left running by ejabberd's postinst"
    "${SUDO[@]}" kill "$pid" || true
  done
fi

# ---- npm packages of the test suite (into the git-ignored .cache/, only when missing) ----------------
if [ "${1:-test}" = test ]; then
  ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  # Node.js from NodeSource already carries npm (and conflicts with Debian's npm package); Debian's nodejs needs it.
  if ! command -v npm >/dev/null; then
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends npm
  fi
  OIDC_PROVIDER=9.13.3   # the test OpenID provider (tests/Parley.Testing/OpenIdProvider.cs)
  OIDC_DIR="$ROOT/.cache/oidc-provider"
  if [ "$(node -p "require('$OIDC_DIR/node_modules/oidc-provider/package.json').version" 2>/dev/null)" != "$OIDC_PROVIDER" ]; then
    echo "install-deps: npm install oidc-provider@$OIDC_PROVIDER into $OIDC_DIR"
    mkdir -p "$OIDC_DIR"
    npm install --prefix "$OIDC_DIR" --no-audit --no-fund --loglevel=error "oidc-provider@$OIDC_PROVIDER"
  fi
fi

echo "install-deps: ok (${#PACKAGES[@]} packages present)"
