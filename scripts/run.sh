#!/usr/bin/env bash
# Runs Parley on this machine: a private Prosody on 127.0.0.1 (data in .parley/), an owner account for your
# XMPP client, Parley's bots and the web chat gateway. Idempotent: a second run reuses the same domain, accounts and passwords.
#   ./scripts/run.sh                 (env: PARLEY_DOMAIN=localhost PARLEY_C2S_PORT=5222 PARLEY_HOME=.parley)
# Ctrl-C stops everything.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HOME_DIR=${PARLEY_HOME:-$ROOT/.parley}
DOMAIN=${PARLEY_DOMAIN:-localhost}
PROSODY_DIR=$HOME_DIR/prosody
mkdir -p "$PROSODY_DIR"/{data,certs} "$HOME_DIR/bin"

"$ROOT/scripts/install-deps.sh" run

# ---- secrets and ports, generated once ------------------------------------------------------------
SECRETS=$HOME_DIR/secrets.env
if [ ! -f "$SECRETS" ]; then
  gen() { openssl rand -base64 18 | tr -d '/+=' | cut -c1-20; }
  umask 077
  cat > "$SECRETS" <<EOS
OWNER_PASSWORD=$(gen)
ECHO_PASSWORD=$(gen)
PARLEY_COMPONENT_SECRET=$(gen)
EOS
fi
# shellcheck disable=SC1090
source "$SECRETS"

free_port() { # first free port from $1 upwards
  local p=$1
  while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
  echo "$p"
}
export PARLEY_PROSODY_DIR=$PROSODY_DIR PARLEY_DOMAIN=$DOMAIN PARLEY_COMPONENT_SECRET
export PARLEY_C2S_PORT=${PARLEY_C2S_PORT:-$(free_port 5222)}
export PARLEY_C2S_TLS_PORT=$(free_port 5223)
[ "$PARLEY_C2S_TLS_PORT" = "$PARLEY_C2S_PORT" ] && PARLEY_C2S_TLS_PORT=$(free_port $((PARLEY_C2S_PORT + 1)))
export PARLEY_COMPONENT_PORT=$(free_port 5347) PARLEY_HTTP_PORT=$(free_port 5280) PARLEY_PROXY65_PORT=$(free_port 5000)
[ "$(id -u)" = 0 ] && export PARLEY_AS_ROOT=1

# ---- certificate for the domain (self-signed, kept) --------------------------------------------------
CRT=$PROSODY_DIR/certs/$DOMAIN.crt
if [ ! -f "$CRT" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$DOMAIN" \
    -addext "subjectAltName=DNS:$DOMAIN,DNS:*.$DOMAIN,IP:127.0.0.1" \
    -keyout "$PROSODY_DIR/certs/$DOMAIN.key" -out "$CRT" 2>/dev/null
fi
FINGERPRINT=$(openssl x509 -in "$CRT" -outform DER | sha256sum | cut -d' ' -f1)
CFG=$PROSODY_DIR/prosody.cfg.lua
cp "$ROOT/deploy/prosody/parley-local.cfg.lua" "$CFG"

# ---- accounts (prosodyctl works with the server stopped; re-registering just resets the password) ----
prosodyctl --config "$CFG" register owner "$DOMAIN" "$OWNER_PASSWORD" >/dev/null
prosodyctl --config "$CFG" register echo "$DOMAIN" "$ECHO_PASSWORD" >/dev/null

# ---- build Parley ---------------------------------------------------------------------------------
echo "Building Parley..."
dotnet build "$ROOT/src/Parley.Cli/Parley.Cli.csproj" -c Release -o "$HOME_DIR/bin" -v quiet -nologo >"$HOME_DIR/build.log" 2>&1 \
  || { tail -30 "$HOME_DIR/build.log"; exit 1; }

dotnet build "$ROOT/src/Parley.Web/Parley.Web.csproj" -c Release -o "$HOME_DIR/web" -v quiet -nologo >"$HOME_DIR/build-web.log" 2>&1 \
  || { tail -30 "$HOME_DIR/build-web.log"; exit 1; }
export PARLEY_WEB_PORT=${PARLEY_WEB_PORT:-$(free_port 5080)}

# ---- start Prosody, then the bots -------------------------------------------------------------------
PIDS=()
cleanup() {
  trap - INT TERM EXIT
  echo; echo "Stopping Parley..."
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup INT TERM EXIT

if [ -f "$PROSODY_DIR/prosody.pid" ] && kill -0 "$(cat "$PROSODY_DIR/prosody.pid")" 2>/dev/null; then
  kill "$(cat "$PROSODY_DIR/prosody.pid")"; sleep 1  # a leftover from a run that did not stop cleanly
fi
prosody --config "$CFG" -F >"$PROSODY_DIR/console.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PARLEY_C2S_PORT") 2>/dev/null && break; sleep 0.1; done
(exec 3<>"/dev/tcp/127.0.0.1/$PARLEY_C2S_PORT") 2>/dev/null || { echo "Prosody did not start:"; tail -20 "$PROSODY_DIR/console.log"; exit 1; }

PARLEY_PASSWORD=$ECHO_PASSWORD "$HOME_DIR/bin/parley" echo --jid "echo@$DOMAIN/bot" \
  --server "127.0.0.1:$PARLEY_C2S_PORT" --trust-cert "$FINGERPRINT" >"$HOME_DIR/echo.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q "online" "$HOME_DIR/echo.log" 2>/dev/null && break; sleep 0.1; done
grep -q "online" "$HOME_DIR/echo.log" || { echo "The echo bot did not come online:"; cat "$HOME_DIR/echo.log"; exit 1; }

# The web chat gateway: component chat.$DOMAIN (configured in parley-local.cfg.lua), guest sign-in, SQLite in .parley/web-data.
Parley__Owner="owner@$DOMAIN" Parley__Component__Domain="chat.$DOMAIN" Parley__Component__Secret="$PARLEY_COMPONENT_SECRET" \
  Parley__Component__Port="$PARLEY_COMPONENT_PORT" Parley__DatabasePath="$HOME_DIR/web-data/parley-web.db" Parley__Guests__Enabled=true \
  "$HOME_DIR/web/Parley.Web" --urls "http://127.0.0.1:$PARLEY_WEB_PORT" >"$HOME_DIR/web.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q "Component chat.$DOMAIN connected" "$HOME_DIR/web.log" 2>/dev/null && break; sleep 0.1; done
grep -q "Component chat.$DOMAIN connected" "$HOME_DIR/web.log" || { echo "The web gateway did not connect:"; tail -30 "$HOME_DIR/web.log"; exit 1; }

cat <<EOM

Parley is running (Ctrl-C stops it; data in $HOME_DIR).

  XMPP server   Prosody on 127.0.0.1:$PARLEY_C2S_PORT, domain $DOMAIN
  Owner         owner@$DOMAIN   password: $OWNER_PASSWORD
  Echo bot      echo@$DOMAIN    (repeats what you send)

Connect Pidgin as the owner: Accounts > Manage Accounts > Add > Protocol XMPP,
  Username: owner   Domain: $DOMAIN   Password: $OWNER_PASSWORD
  Advanced: Connection security "Require encryption", Connect port $PARLEY_C2S_PORT, Connect server 127.0.0.1
  Pidgin asks to accept the self-signed certificate: its SHA-256 is $FINGERPRINT
Then send a message to echo@$DOMAIN.
Or from a shell:  $HOME_DIR/bin/parley send echo@$DOMAIN "hello" --jid owner@$DOMAIN --password '$OWNER_PASSWORD' --server 127.0.0.1:$PARLEY_C2S_PORT --trust-cert $FINGERPRINT

Web chat: open http://127.0.0.1:$PARLEY_WEB_PORT/ and sign in with a name; the owner gets the visitor's
  messages from <id>@chat.$DOMAIN and answers them from Pidgin.
EOM
wait -n "${PIDS[@]}"
