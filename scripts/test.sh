#!/usr/bin/env bash
# THE test command: installs the Debian dependencies, builds the solution, runs every test project and
# prints as its last line exactly "N passed, N failed" (summed over all projects, from the TRX files).
# Exit code: 0 only when the build succeeded, the test run completed and nothing failed.
#
#   ./scripts/test.sh                 # everything
#   ./scripts/test.sh --filter X      # extra arguments go to 'dotnet test' (e.g. a filter)
#
# Results: artifacts/test-results/*.trx (cleared at every run); packages: artifacts/packages/*.nupkg. Server logs of failing runs:
# PARLEY_KEEP_SERVERS=1 keeps the test servers' folders under /tmp/parley-servers-<uid>/.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RESULTS="$ROOT/artifacts/test-results"
SOLUTION="$ROOT/Parley.slnx"
# A single test that runs longer than this is considered hung: the test host is killed and the hanging
# test is named in the output (no dump: dumps need tools that are not installed and take gigabytes).
HANG_TIMEOUT=${PARLEY_HANG_TIMEOUT:-5m}
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1

finish() { # passed failed exit-code
  echo "$1 passed, $2 failed"
  exit "$3"
}

started=$(date +%s)
"$ROOT/scripts/install-deps.sh" || { echo "install-deps.sh failed (counted as 1 failed)"; finish 0 1 1; }

rm -rf "$RESULTS"
mkdir -p "$RESULTS"

echo "== dotnet build"
if ! dotnet build "$SOLUTION" --nologo -v minimal; then
  echo "BUILD FAILED (counted as 1 failed)"
  finish 0 1 1
fi

echo "== dotnet pack"
# The libraries people install, as Release packages in artifacts/packages (package validation and the public API
# check run here too); the tests pack the Debug build again on their own to build the README samples against it.
rm -rf "$ROOT/artifacts/packages"
for library in Parley.Xmpp Parley.Xmpp.FileTransfer; do
  if ! dotnet pack "$ROOT/src/$library/$library.csproj" -c Release -o "$ROOT/artifacts/packages" --nologo -v minimal; then
    echo "PACK FAILED: $library (counted as 1 failed)"
    finish 0 1 1
  fi
done

echo "== dotnet test"
# The CLI tests stop `parley` with SIGINT, as Ctrl-C would. A shell that starts this script in the background ignores
# SIGINT, every child inherits that, and no script can undo it for itself: env restores the default for the tests.
env --default-signal=INT dotnet test "$SOLUTION" --no-build --nologo \
  --results-directory "$RESULTS" --logger trx \
  --blame-hang --blame-hang-timeout "$HANG_TIMEOUT" --blame-hang-dump-type none \
  "$@"
test_exit=$?

passed=0 failed=0 skipped=0 files=0
attr() { # attribute value from a <Counters .../> element, 0 when absent
  local v
  v=$(grep -o " $1=\"[0-9]*\"" <<<"$2" | head -n1 | grep -o '[0-9]*')
  echo "${v:-0}"
}
for trx in "$RESULTS"/*.trx "$RESULTS"/*/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n1)
  [ -n "$counters" ] || continue
  files=$((files + 1))
  passed=$((passed + $(attr passed "$counters")))
  failed=$((failed + $(attr failed "$counters") + $(attr error "$counters") + $(attr timeout "$counters") + $(attr aborted "$counters")))
  # Skipped tests are counted in total but not in executed (the notExecuted counter stays 0).
  skipped=$((skipped + $(attr total "$counters") - $(attr executed "$counters")))
done

echo "== $files result file(s) in ${RESULTS#"$ROOT"/}, $(( $(date +%s) - started )) s in total"
echo "skipped: $skipped"
if [ "$test_exit" -ne 0 ] && [ "$failed" -eq 0 ]; then
  # A crash, a hang kill or a run that found no tests: not a pass even if no test reported failure.
  echo "dotnet test exited with $test_exit without a failed test in the results (counted as 1 failed)"
  failed=1
fi
if [ "$files" -eq 0 ] && [ "$failed" -eq 0 ]; then
  echo "no test results were written (counted as 1 failed)"
  failed=1
fi
if [ "$failed" -ne 0 ]; then
  finish "$passed" "$failed" 1
fi
finish "$passed" 0 0
