#!/usr/bin/env bash
# Mutation testing with Stryker.NET over one target; not part of ./scripts/test.sh (one target takes minutes to an hour).
#
#   ./scripts/mutation.sh xml|jid|sasl|outbox-store|outbox-sender [extra dotnet-stryker options]
#
# Each target's files, tests and settings are in tests/mutation/<target>/stryker-config.json; the scores and what
# they cover are in tests/README.md. Reports: StrykerOutput/<target>/reports/mutation-report.{html,json}.
# Extra options go to dotnet-stryker, e.g. --concurrency 1 on a busy machine, or --mutate to narrow a run.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGETS=(xml jid sasl outbox-store outbox-sender)
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1

target=${1:-}
if [ -z "$target" ] || [ ! -f "$ROOT/tests/mutation/$target/stryker-config.json" ]; then
  echo "usage: mutation.sh <target> [dotnet-stryker options]; targets: ${TARGETS[*]}" >&2
  exit 2
fi
shift

case "$target" in
  outbox-*)
    # The gateway's tests start private Prosody, ejabberd and PostgreSQL instances.
    "$ROOT/scripts/install-deps.sh"
    TEST_PROJECT=tests/Parley.Web.Tests ;;
  *) TEST_PROJECT=tests/Parley.Xmpp.Tests ;;
esac

# Stryker runs from the test project's folder: from the root it would find Parley.slnx and mutate the whole solution.
cd "$ROOT/$TEST_PROJECT"
dotnet tool restore >/dev/null
# The CLI-signal note in test.sh applies to the gateway's tests too: restore the default SIGINT for test hosts.
exec env --default-signal=INT dotnet stryker \
  --config-file "$ROOT/tests/mutation/$target/stryker-config.json" \
  --output "$ROOT/StrykerOutput/$target" \
  --skip-version-check \
  "$@"
