#!/usr/bin/env bash
# Fuzzes one target of fuzz/Parley.Fuzz with afl-fuzz for a fixed time (see tests/README.md, "Fuzzing").
#
#   scripts/fuzz.sh <target> [seconds]      # default 600 s; targets: scripts/fuzz.sh --list
#
# Builds the harness (Release), copies the build to artifacts/fuzz/bin-<configuration>/ and instruments the Parley
# assemblies there with the sharpfuzz tool (.config/dotnet-tools.json), then runs one afl-fuzz instance on
# fuzz/corpus/<target>/ plus fuzz/regressions/<target>/. Crashes are copied to fuzz/crashes/<target>/.
# Needs no root: the afl settings that would need sysctl are replaced by environment variables.
#
# Environment:
#   FUZZ_CONFIGURATION  build configuration to fuzz (Release)
#   FUZZ_NO_BUILD=1     use the existing build output of that configuration (the test suite, after its own build)
#   FUZZ_TIMEOUT_MS     afl's time limit for one input (5000: the first inputs include the JIT)
#
# Exit code: 0 ran and found no crash; 1 crashes found; 2 usage or missing tools; 3 afl did not run.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CONFIGURATION=${FUZZ_CONFIGURATION:-Release}
TIMEOUT_MS=${FUZZ_TIMEOUT_MS:-5000}
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1

targets() { ls "$ROOT/fuzz/corpus"; }
if [ "${1:-}" = --list ]; then targets; exit 0; fi
if [ $# -lt 1 ] || [ $# -gt 2 ] || [ ! -d "$ROOT/fuzz/corpus/$1" ] || ! [[ "${2:-600}" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: fuzz.sh <target> [seconds]   targets: $(targets | tr '\n' ' ')" >&2
  exit 2
fi
TARGET=$1
SECONDS_TO_RUN=${2:-600}
command -v afl-fuzz >/dev/null || { echo "fuzz.sh: afl-fuzz not found (scripts/install-deps.sh installs afl++)" >&2; exit 2; }

BUILD="$ROOT/fuzz/Parley.Fuzz/bin/$CONFIGURATION/net10.0"
WORK="$ROOT/artifacts/fuzz"
INSTRUMENTED="$WORK/bin-$CONFIGURATION"
mkdir -p "$WORK"

if [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
  dotnet build "$ROOT/fuzz/Parley.Fuzz/Parley.Fuzz.csproj" -c "$CONFIGURATION" --nologo -v quiet >"$WORK/build.log" 2>&1 \
    || { cat "$WORK/build.log" >&2; echo "fuzz.sh: the build failed" >&2; exit 2; }
fi
[ -f "$BUILD/Parley.Fuzz.dll" ] || { echo "fuzz.sh: no build in $BUILD" >&2; exit 2; }

# Instrument a copy, once per build: sharpfuzz rewrites assemblies in place and refuses to do it twice.
# The lock keeps two runs (the test suite and a person) from instrumenting the same copy at once.
(
  flock 9
  stamp=$(cd "$BUILD" && sha256sum Parley.*.dll | sha256sum | cut -c1-64)
  if [ "$(cat "$INSTRUMENTED/.instrumented" 2>/dev/null)" != "$stamp" ]; then
    rm -rf "$INSTRUMENTED"
    cp -r "$BUILD" "$INSTRUMENTED"
    (cd "$ROOT" && dotnet tool restore >/dev/null)
    for assembly in Parley.Xmpp.dll Parley.Xmpp.FileTransfer.dll Parley.Web.dll; do
      (cd "$ROOT" && dotnet tool run sharpfuzz "$INSTRUMENTED/$assembly" >/dev/null)
    done
    echo "$stamp" >"$INSTRUMENTED/.instrumented"
  fi
) 9>"$WORK/.instrument.lock"

# The seeds: the committed corpus and every regression fixture.
INPUT="$WORK/in/$TARGET"
OUTPUT="$WORK/out/$TARGET"
rm -rf "$INPUT" "$OUTPUT"
mkdir -p "$INPUT" "$OUTPUT"
cp "$ROOT/fuzz/corpus/$TARGET"/* "$INPUT/"
if [ -d "$ROOT/fuzz/regressions/$TARGET" ]; then
  for f in "$ROOT/fuzz/regressions/$TARGET"/*; do [ -f "$f" ] && cp "$f" "$INPUT/regression-$(basename "$f")"; done
fi
DICTIONARY=()
case "$TARGET" in
  xml|forms) DICTIONARY=(-x "$ROOT/fuzz/dictionaries/xml.dict") ;;
  webjson) DICTIONARY=(-x "$ROOT/fuzz/dictionaries/json.dict") ;;
esac

# dotnet is not an afl-instrumented binary (SharpFuzz speaks the fork server protocol itself); no CPU governor, core
# pattern or affinity changes (they need root, and the machine is shared); plain status lines instead of the UI.
export AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1 AFL_NO_UI=1
export AFL_FAST_CAL=1 AFL_NO_WARN_INSTABILITY=1
echo "fuzz.sh: $TARGET for $SECONDS_TO_RUN s (log: ${OUTPUT#"$ROOT"/}.log)"
set +e
afl-fuzz -i "$INPUT" -o "$OUTPUT" -V "$SECONDS_TO_RUN" -t "$TIMEOUT_MS" -m none "${DICTIONARY[@]}" \
  -- dotnet "$INSTRUMENTED/Parley.Fuzz.dll" "$TARGET" >"$OUTPUT.log" 2>&1
afl_exit=$?
set -e

STATS="$OUTPUT/default/fuzzer_stats"
stat() { sed -n "s/^$1 *: *//p" "$STATS" | head -n1; }
if [ ! -f "$STATS" ] || [ "$(stat execs_done)" = 0 ]; then
  echo "fuzz.sh: afl-fuzz did not run (exit $afl_exit); the end of its log:" >&2
  tail -n 30 "$OUTPUT.log" >&2
  exit 3
fi

crashes=("$OUTPUT"/default/crashes/id:*)
[ -e "${crashes[0]}" ] || crashes=()
echo "fuzz.sh: $TARGET: $(stat run_time) s, $(stat execs_done) executions ($(stat execs_per_sec)/s)," \
  "$(stat edges_found) edges, corpus $(stat corpus_count), ${#crashes[@]} crashes, $(stat saved_hangs) hangs"
if [ ${#crashes[@]} -gt 0 ]; then
  mkdir -p "$ROOT/fuzz/crashes/$TARGET"
  cp "${crashes[@]}" "$ROOT/fuzz/crashes/$TARGET/"
  echo "fuzz.sh: crashes copied to fuzz/crashes/$TARGET/; replay one with:" >&2
  echo "  dotnet fuzz/Parley.Fuzz/bin/$CONFIGURATION/net10.0/Parley.Fuzz.dll replay $TARGET fuzz/crashes/$TARGET" >&2
  exit 1
fi
