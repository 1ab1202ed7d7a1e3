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
gen() { openssl rand -base64 18 | tr -d '/+=' | cut -c1-20; }
( umask 077; touch "$SECRETS" )
for name in OWNER_PASSWORD ECHO_PASSWORD AWAY_PASSWORD REPORTS_PASSWORD PARLEY_COMPONENT_SECRET; do
  grep -q "^$name=" "$SECRETS" || echo "$name=$(gen)" >> "$SECRETS"   # older .parley folders get the new ones
done
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
prosodyctl --config "$CFG" register away "$DOMAIN" "$AWAY_PASSWORD" >/dev/null
prosodyctl --config "$CFG" register reports "$DOMAIN" "$REPORTS_PASSWORD" >/dev/null

# ---- build Parley ---------------------------------------------------------------------------------
echo "Building Parley..."
# The CLI references the bot host, so one build brings both executables (parley, parley-bots).
dotnet build "$ROOT/src/Parley.Cli/Parley.Cli.csproj" -c Release -o "$HOME_DIR/bin" -v quiet -nologo >"$HOME_DIR/build.log" 2>&1 \
  || { tail -30 "$HOME_DIR/build.log"; exit 1; }
[ -x "$HOME_DIR/bin/parley-bots" ] || { echo "parley-bots was not built; see $HOME_DIR/build.log"; exit 1; }

# ---- the bot host's configuration (rewritten every run; passwords stay in files) ------------------------
BOTS=$HOME_DIR/bots
mkdir -p "$BOTS/secrets"
( umask 077
  printf '%s' "$ECHO_PASSWORD" > "$BOTS/secrets/echo"
  printf '%s' "$AWAY_PASSWORD" > "$BOTS/secrets/away"
  printf '%s' "$REPORTS_PASSWORD" > "$BOTS/secrets/reports" )
account() { # name kind
  cat <<EOJ
      "$1": {
        "Kind": "$2",
        "Jid": "$1@$DOMAIN/bot",
        "PasswordFile": "$BOTS/secrets/$1",
        "Server": "127.0.0.1:$PARLEY_C2S_PORT",
        "TrustedCertificateSha256": [ "$FINGERPRINT" ],
EOJ
}
cat > "$BOTS/appsettings.json" <<EOJ
{
  "Logging": { "LogLevel": { "Default": "Information", "Parley.Xmpp": "Warning", "Microsoft.Hosting.Lifetime": "Warning" } },
  "Parley": {
    "StateDirectory": "$BOTS/state",
    "Bots": {
$(account echo Echo)
        "RateLimit": { "Burst": 5, "PerMinute": 30 }
      },
$(account away AutoReply)
        "AutoReply": { "Text": "Hello! This is an automatic answer: the owner is away and reads messages later.", "Period": "1.00:00:00" }
      },
$(account reports Report)
        "Report": { "Folder": "$ROOT/deploy/demo-reports", "FileName": "{project}.pdf", "ProjectPattern": "[0-9]{1,10}" }
      }
    }
  }
}
EOJ

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

"$HOME_DIR/bin/parley-bots" --contentRoot "$BOTS" >"$HOME_DIR/bots.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 150); do [ "$(grep -c " online as " "$HOME_DIR/bots.log" 2>/dev/null)" -ge 3 ] && break; sleep 0.2; done
[ "$(grep -c " online as " "$HOME_DIR/bots.log")" -ge 3 ] || { echo "The bots did not come online:"; tail -40 "$HOME_DIR/bots.log"; exit 1; }

# The web chat gateway: component chat.$DOMAIN (configured in parley-local.cfg.lua), guest sign-in, SQLite in .parley/web-data.
Parley__PublicUrl="http://127.0.0.1:$PARLEY_WEB_PORT" Parley__Owner="owner@$DOMAIN" Parley__Component__Domain="chat.$DOMAIN" Parley__Component__Secret="$PARLEY_COMPONENT_SECRET" \
  Parley__Component__Port="$PARLEY_COMPONENT_PORT" Parley__DatabasePath="$HOME_DIR/web-data/parley-web.db" Parley__Guests__Enabled=true \
  "$HOME_DIR/web/Parley.Web" --urls "http://127.0.0.1:$PARLEY_WEB_PORT" >"$HOME_DIR/web.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q "Component chat.$DOMAIN connected" "$HOME_DIR/web.log" 2>/dev/null && break; sleep 0.1; done
grep -q "Component chat.$DOMAIN connected" "$HOME_DIR/web.log" || { echo "The web gateway did not connect:"; tail -30 "$HOME_DIR/web.log"; exit 1; }

cat <<EOM

Parley is running (Ctrl-C stops it; data in $HOME_DIR).

  Chat page     http://127.0.0.1:$PARLEY_WEB_PORT/   (sign in with a name; you chat with the owner)
  XMPP server   Prosody on 127.0.0.1:$PARLEY_C2S_PORT, domain $DOMAIN
  Owner         owner@$DOMAIN   password: $OWNER_PASSWORD
  Echo bot      echo@$DOMAIN      (repeats what you send)
  Auto-reply    away@$DOMAIN      (answers once a day: the owner is away)
  Report bot    reports@$DOMAIN   (send 1234 or 5678: it sends that project's report; "help" explains)
  Bot log       $HOME_DIR/bots.log   configuration: $BOTS/appsettings.json

Connect Pidgin as the owner: Accounts > Manage Accounts > Add > Protocol XMPP,
  Username: owner   Domain: $DOMAIN   Password: $OWNER_PASSWORD
  Advanced: Connection security "Require encryption", Connect port $PARLEY_C2S_PORT, Connect server 127.0.0.1
  Pidgin asks to accept the self-signed certificate: its SHA-256 is $FINGERPRINT
Then send a message to echo@$DOMAIN, or send 1234 to reports@$DOMAIN.
Or from a shell:  $HOME_DIR/bin/parley send reports@$DOMAIN "1234" --jid owner@$DOMAIN --password '$OWNER_PASSWORD' --server 127.0.0.1:$PARLEY_C2S_PORT --trust-cert $FINGERPRINT
Visitors of the chat page appear in Pidgin as <id>@chat.$DOMAIN with their name; answer them there.
EOM
wait -n "${PIDS[@]}"
