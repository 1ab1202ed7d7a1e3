#!/usr/bin/env bash
# Runs Parley on this machine: a private Prosody on 127.0.0.1 (data in .parley/), an owner account for your
# XMPP client, Parley's bots and the web chat gateway. Idempotent: a second run reuses the same domain, accounts and passwords.
#   ./scripts/run.sh                 (env: PARLEY_DOMAIN=localhost PARLEY_HOME=.parley PARLEY_C2S_PORT PARLEY_WEB_PORT
#                                      PARLEY_CONFIGURATION=Release)
# Ports are taken by binding them, never by probing first: Prosody starts on 5222/5223/5347/5280/5000 and the gateway
# on 5080, and a port another program holds moves this run to other ones (the summary at the end says which).
# PARLEY_C2S_PORT or PARLEY_WEB_PORT pin a port: if it is taken, the run stops. Two runs at once need two folders
# (PARLEY_HOME=/tmp/parley-2 ./scripts/run.sh); a second run on the same folder stops at once.
# It supervises what it started: when Prosody, the bot host or the gateway exits, a line says so and it is started again
# (after 1 s, then longer if it keeps exiting) on the same ports. Ctrl-C, SIGTERM or closing the terminal stops it all.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HOME_DIR=${PARLEY_HOME:-$ROOT/.parley}
# The test suite runs this script on the Debug build it has just made, instead of building Release once more.
CONFIGURATION=${PARLEY_CONFIGURATION:-Release}
DOMAIN=${PARLEY_DOMAIN:-localhost}
PROSODY_DIR=$HOME_DIR/prosody
mkdir -p "$PROSODY_DIR"/{data,certs} "$HOME_DIR/bin"

# One run per folder: two would share Prosody's data and pid file, and each would stop the other's server.
# The lock is on fd 9, which the servers started below do not inherit (9>&-), so it ends with this script.
exec 9>"$HOME_DIR/run.lock"
flock -n 9 || { echo "Another ./scripts/run.sh is using $HOME_DIR. Stop it, or give this run its own folder: PARLEY_HOME=/tmp/parley-2 $0"; exit 1; }

"$ROOT/scripts/install-deps.sh" run

# ---- secrets, generated once ----------------------------------------------------------------------
SECRETS=$HOME_DIR/secrets.env
gen() { openssl rand -base64 18 | tr -d '/+=' | cut -c1-20; }
( umask 077; touch "$SECRETS" )
for name in OWNER_PASSWORD ECHO_PASSWORD AWAY_PASSWORD REPORTS_PASSWORD PARLEY_COMPONENT_SECRET; do
  grep -q "^$name=" "$SECRETS" || echo "$name=$(gen)" >> "$SECRETS"   # older .parley folders get the new ones
done
# shellcheck disable=SC1090
source "$SECRETS"

export PARLEY_PROSODY_DIR=$PROSODY_DIR PARLEY_DOMAIN=$DOMAIN PARLEY_COMPONENT_SECRET
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

# ---- the gateway sees the owner's presence: its subscription, approved in the owner's roster -----------
# The gateway (chat.$DOMAIN) asks the owner once for presence; here the approval is written into the demo owner's
# roster before Prosody starts, so the page shows the owner's presence without a prompt. "both": the owner is
# subscribed to the gateway too, so the server probes it at the owner's login and the owner's client gets its presence,
# which is how Pidgin learns the owner's commands. A roster that already has the gateway with "from" is upgraded; any
# other roster item for it is left alone. Prosody names its files with every non-alphanumeric character as %xx.
prosody_path() { printf '%s' "$1" | sed 's/\./%2e/g; s/-/%2d/g'; }   # a domain's other characters are letters and digits
ROSTER=$PROSODY_DIR/data/$(prosody_path "$DOMAIN")/roster/owner.dat
mkdir -p "$(dirname "$ROSTER")"
if [ ! -f "$ROSTER" ]; then
  printf 'return {\n\t["chat.%s"] = { ["subscription"] = "both"; ["groups"] = {}; };\n};\n' "$DOMAIN" > "$ROSTER"
elif ! grep -qF "[\"chat.$DOMAIN\"]" "$ROSTER"; then
  sed -i "1a\\\t[\"chat.$DOMAIN\"] = { [\"subscription\"] = \"both\"; [\"groups\"] = {}; };" "$ROSTER"
else
  sed -i "s/\[\"chat\.$DOMAIN\"\] = { \[\"subscription\"\] = \"from\";/[\"chat.$DOMAIN\"] = { [\"subscription\"] = \"both\";/" "$ROSTER"
fi

# ---- build Parley ---------------------------------------------------------------------------------
echo "Building Parley..."
# The CLI references the bot host, so one build brings both executables (parley, parley-bots).
# Runs with different folders build the same projects (the same obj/ folders): one build at a time.
# dotnet leaves build servers running, so it gets neither lock's descriptor (they would hold the lock after the build).
mkdir -p "$ROOT/.cache"
build() { ( flock 8; dotnet build "$@" -c "$CONFIGURATION" -v quiet -nologo 8>&- 9>&- ) 8>"$ROOT/.cache/run-build.lock"; }
build "$ROOT/src/Parley.Cli/Parley.Cli.csproj" -o "$HOME_DIR/bin" >"$HOME_DIR/build.log" 2>&1 \
  || { tail -30 "$HOME_DIR/build.log"; exit 1; }
[ -x "$HOME_DIR/bin/parley-bots" ] || { echo "parley-bots was not built; see $HOME_DIR/build.log"; exit 1; }

build "$ROOT/src/Parley.Web/Parley.Web.csproj" -o "$HOME_DIR/web" >"$HOME_DIR/build-web.log" 2>&1 \
  || { tail -30 "$HOME_DIR/build-web.log"; exit 1; }

# ---- the services and their supervision ---------------------------------------------------------------
# Prosody, the bot host and the gateway are children of this script, each started by its run_<service> function (below)
# with its output appended to its log. One that exits while Parley runs is reported and started again after a pause:
# 1 s, doubled at each exit up to 30 s, and 1 s again once it had stayed up for a minute. The others keep running; the
# gateway and the bots reconnect to Prosody by themselves. A pause is a time to wait for, not a sleeping process, so
# Ctrl-C leaves nothing behind.
SERVICES=(prosody bots gateway)
declare -A PID=() STARTED=() PAUSE=() RESTART_AT=()   # by service; times in microseconds since the epoch
launch() { # service: starts run_<service> in the background
  "run_$1" 9>&- &
  PID[$1]=$! STARTED[$1]=${EPOCHREALTIME//[!0-9]/} PAUSE[$1]=${PAUSE[$1]:-1}
}
stop() { # service: stops a service that did not start properly; it is not started again
  kill "${PID[$1]}" 2>/dev/null || true
  wait "${PID[$1]}" 2>/dev/null || true
  unset "PID[$1]"
}
exited() { # service pid status now: reports the exit and sets when the service starts again
  local service=$1 signal
  (( $4 - STARTED[$service] >= 60000000 )) && PAUSE[$service]=1
  RESTART_AT[$service]=$(( $4 + PAUSE[$service] * 1000000 ))
  if (( $3 > 128 )) && signal=$(kill -l $(( $3 - 128 )) 2>/dev/null); then signal=" (SIG$signal)"; else signal=""; fi
  printf '%(%T)T %s (pid %s) exited with status %s%s; starting it again in %s s, at %(%T)T\n' \
    -1 "$service" "$2" "$3" "$signal" "${PAUSE[$service]}" $(( RESTART_AT[$service] / 1000000 ))
  PAUSE[$service]=$(( PAUSE[$service] * 2 > 30 ? 30 : PAUSE[$service] * 2 ))
  PID[$service]=
}
supervise() { # until Ctrl-C: twice a second, reports the services that exited and starts those whose pause is over
  local service pid status now
  while true; do
    now=${EPOCHREALTIME//[!0-9]/}
    for service in "${SERVICES[@]}"; do
      pid=${PID[$service]:-}
      if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then  # bash reaps its children itself; wait gives the status
        wait "$pid" 2>/dev/null && status=0 || status=$?
        exited "$service" "$pid" "$status" "$now"
      elif [ -z "$pid" ] && (( now >= RESTART_AT[$service] )); then
        launch "$service"
        printf '%(%T)T %s started again (pid %s)\n' -1 "$service" "${PID[$service]}"
      fi
    done
    { sleep 0.5; } 2>/dev/null  # bash's own "Killed" notice says less than the line above
  done
}
cleanup() { # stops every service: SIGTERM, and SIGKILL for one still running 10 s later
  trap - INT TERM HUP EXIT
  echo; echo "Stopping Parley..."
  local running=() alive pid
  for pid in "${PID[@]}"; do [ -n "$pid" ] && running+=("$pid"); done
  [ ${#running[@]} -gt 0 ] || return 0
  kill "${running[@]}" 2>/dev/null || true
  for _ in $(seq 1 100); do
    alive=()
    for pid in "${running[@]}"; do kill -0 "$pid" 2>/dev/null && alive+=("$pid"); done
    [ ${#alive[@]} -gt 0 ] || break
    sleep 0.1
  done
  for pid in "${alive[@]}"; do kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null; done
  wait "${running[@]}" 2>/dev/null || true
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
trap 'cleanup; exit 129' HUP  # the terminal was closed

# ---- start Prosody -----------------------------------------------------------------------------------
if [ -f "$PROSODY_DIR/prosody.pid" ] && kill -0 "$(cat "$PROSODY_DIR/prosody.pid")" 2>/dev/null; then
  kill "$(cat "$PROSODY_DIR/prosody.pid")"; sleep 1  # a leftover from a run that did not stop cleanly (the lock says no run holds it)
fi

# Prosody's ports are in its configuration, so it cannot be asked for "any port" and then tell which. Instead the bind
# decides: for each service Prosody logs "Activated service '<name>' on <its ports>" after trying them, and "Failed to
# open server port <port>" for one another program holds (it keeps running without it). Then this Prosody is stopped
# and started again with its ports moved by 10; a port pinned by PARLEY_C2S_PORT ends the run instead. Checking for
# free ports first would race with every program starting meanwhile, such as a second run.
PROSODY_LOG=$PROSODY_DIR/prosody.log
PROSODY_SERVICES=(c2s c2s_direct_tls component http proxy65)
run_prosody() { exec prosody --config "$CFG" -F >>"$PROSODY_DIR/console.log" 2>&1; }
start_prosody() { # → 0 all ports bound, 1 a port was taken (Prosody stopped again); exits on any other failure
  local offset service missing
  offset=$(stat -c %s "$PROSODY_LOG" 2>/dev/null || echo 0)
  : >"$PROSODY_DIR/console.log"
  launch prosody
  for _ in $(seq 1 300); do
    PROSODY_STARTED=$(tail -c +$((offset + 1)) "$PROSODY_LOG" 2>/dev/null || true)  # this start's lines
    missing=0
    for service in "${PROSODY_SERVICES[@]}"; do grep -q "Activated service '$service' on" <<<"$PROSODY_STARTED" || missing=1; done
    [ "$missing" = 0 ] && break
    kill -0 "${PID[prosody]}" 2>/dev/null || break
    sleep 0.1
  done
  if grep -q "Failed to open server port" <<<"$PROSODY_STARTED"; then
    stop prosody
    grep "Failed to open server port" <<<"$PROSODY_STARTED" | sed 's/^/  /'
    return 1
  fi
  [ "$missing" = 0 ] && return 0
  echo "Prosody did not start:"; tail -20 "$PROSODY_DIR/console.log"; tail -20 "$PROSODY_LOG" 2>/dev/null; exit 1
}
PINNED_C2S=${PARLEY_C2S_PORT:-}
for shift in 0 10 20 30 40 50 60 70 80 90; do
  export PARLEY_C2S_PORT=${PINNED_C2S:-$((5222 + shift))} PARLEY_C2S_TLS_PORT=$((5223 + shift)) \
    PARLEY_COMPONENT_PORT=$((5347 + shift)) PARLEY_HTTP_PORT=$((5280 + shift)) PARLEY_PROXY65_PORT=$((5000 + shift))
  start_prosody && break
  if [ -n "$PINNED_C2S" ] && grep -q "Failed to open server port $PINNED_C2S " <<<"$PROSODY_STARTED"; then
    echo "Port $PINNED_C2S (PARLEY_C2S_PORT) is taken by another program; choose another one."; exit 1
  fi
  [ "$shift" = 90 ] && { echo "Prosody found no free ports in ten tries (5222 and up, in steps of 10)."; exit 1; }
  echo "Another program holds one of Prosody's ports: trying the ports $((shift + 10)) higher."
done

# ---- the bot host: its configuration (rewritten every run, with the c2s port Prosody got; passwords stay in files)
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

run_bots() { exec "$HOME_DIR/bin/parley-bots" --contentRoot "$BOTS" >>"$HOME_DIR/bots.log" 2>&1; }
: >"$HOME_DIR/bots.log"
launch bots
for _ in $(seq 1 150); do [ "$(grep -c " online as " "$HOME_DIR/bots.log" 2>/dev/null)" -ge 3 ] && break; sleep 0.2; done
[ "$(grep -c " online as " "$HOME_DIR/bots.log")" -ge 3 ] || { echo "The bots did not come online:"; tail -40 "$HOME_DIR/bots.log"; exit 1; }

# ---- the web chat gateway: component chat.$DOMAIN (configured in parley-local.cfg.lua), guest sign-in, SQLite in
# $HOME_DIR/web-data. Its public URL (the base of the file links the owner gets; the only host it answers besides
# loopback) must name the port before the gateway starts, so the port cannot be 0 and read back afterwards. The gateway
# binds it or exits with "address already in use"; then the next port is tried, unless PARLEY_WEB_PORT pins it.
run_gateway() {
  Parley__PublicUrl="http://127.0.0.1:$WEB_PORT" Parley__Owner="owner@$DOMAIN" Parley__Component__Domain="chat.$DOMAIN" \
    Parley__Component__Secret="$PARLEY_COMPONENT_SECRET" Parley__Component__Port="$PARLEY_COMPONENT_PORT" \
    Parley__DatabasePath="$HOME_DIR/web-data/parley-web.db" Parley__Guests__Enabled=true \
    exec "$HOME_DIR/web/Parley.Web" --urls "http://127.0.0.1:$WEB_PORT" >>"$HOME_DIR/web.log" 2>&1
}
start_web() { # on $WEB_PORT → 0 listening, 1 the port was taken (the gateway exited); exits on any other failure
  : >"$HOME_DIR/web.log"
  launch gateway
  for _ in $(seq 1 300); do
    grep -qs "Now listening on: http://127.0.0.1:$WEB_PORT" "$HOME_DIR/web.log" && return 0
    kill -0 "${PID[gateway]}" 2>/dev/null || break
    sleep 0.1
  done
  stop gateway
  grep -qi "address already in use" "$HOME_DIR/web.log" && return 1
  echo "The web gateway did not start:"; tail -30 "$HOME_DIR/web.log"; exit 1
}
WEB_PORT=${PARLEY_WEB_PORT:-5080}
until start_web; do
  [ -n "${PARLEY_WEB_PORT:-}" ] && { echo "Port $WEB_PORT (PARLEY_WEB_PORT) is taken by another program; choose another one."; exit 1; }
  [ "$WEB_PORT" -ge 5089 ] && { echo "The web gateway found no free port from 5080 to 5089."; exit 1; }
  echo "Another program holds port $WEB_PORT: the web gateway tries $((WEB_PORT + 1))."
  WEB_PORT=$((WEB_PORT + 1))
done
for _ in $(seq 1 100); do grep -q "Component chat.$DOMAIN connected" "$HOME_DIR/web.log" 2>/dev/null && break; sleep 0.1; done
grep -q "Component chat.$DOMAIN connected" "$HOME_DIR/web.log" || { echo "The web gateway did not connect:"; tail -30 "$HOME_DIR/web.log"; exit 1; }

cat <<EOM

Parley is running (Ctrl-C stops it; data in $HOME_DIR).
Prosody, the bot host and the gateway are started again when one exits; the lines below this say when.

  Chat page     http://127.0.0.1:$WEB_PORT/   (sign in with a name; you chat with the owner)
  XMPP server   Prosody on 127.0.0.1:$PARLEY_C2S_PORT, domain $DOMAIN
  Owner         owner@$DOMAIN   password: $OWNER_PASSWORD
  Echo bot      echo@$DOMAIN      (repeats what you send)
  Auto-reply    away@$DOMAIN      (answers once a day: the owner is away)
  Report bot    reports@$DOMAIN   (send 1234 or 5678: it sends that project's report; "help" explains)
  Bot log       $HOME_DIR/bots.log   configuration: $BOTS/appsettings.json
  Other logs    $HOME_DIR/web.log (gateway)   $PROSODY_LOG

Connect Pidgin as the owner: Accounts > Manage Accounts > Add > Protocol XMPP,
  Username: owner   Domain: $DOMAIN   Password: $OWNER_PASSWORD
  Advanced: Connection security "Require encryption", Connect port $PARLEY_C2S_PORT, Connect server 127.0.0.1
  Pidgin asks to accept the self-signed certificate: its SHA-256 is $FINGERPRINT
Then send a message to echo@$DOMAIN, or send 1234 to reports@$DOMAIN.
Or from a shell:  PARLEY_PASSWORD='$OWNER_PASSWORD' $HOME_DIR/bin/parley send reports@$DOMAIN "1234" --jid owner@$DOMAIN --server 127.0.0.1:$PARLEY_C2S_PORT --trust-cert $FINGERPRINT
Visitors of the chat page appear in Pidgin as <id>@chat.$DOMAIN with their name; answer them there.
EOM
supervise
