#!/usr/bin/env bash
# Records the packable libraries' whole public API in their PublicAPI.Shipped.txt, from the code as it is.
# The build checks those files (Microsoft.CodeAnalysis.PublicApiAnalyzers: RS0016 for a public member not listed,
# RS0017 for a listed one that is gone); run this after a deliberate API change and review the diff.
#
#   ./scripts/public-api.sh          # both libraries
#   ./scripts/public-api.sh Parley.Xmpp
#
# How: the files are emptied, the analyzer's own code fix (RS0016, through 'dotnet format analyzers') writes every
# public symbol into PublicAPI.Unshipped.txt, and those lines move, sorted, into PublicAPI.Shipped.txt.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
libraries=("$@")
[ ${#libraries[@]} -gt 0 ] || libraries=(Parley.Xmpp Parley.Xmpp.FileTransfer)

for library in "${libraries[@]}"; do
  dir="$ROOT/src/$library"
  [ -f "$dir/$library.csproj" ] || { echo "no project src/$library/$library.csproj" >&2; exit 2; }
  printf '#nullable enable\n' >"$dir/PublicAPI.Shipped.txt"
  printf '#nullable enable\n' >"$dir/PublicAPI.Unshipped.txt"
  echo "== $library"
  dotnet format analyzers "$dir/$library.csproj" --diagnostics RS0016 --severity warn
  { printf '#nullable enable\n'; grep -v '^#nullable' "$dir/PublicAPI.Unshipped.txt" | LC_ALL=C sort -u; } >"$dir/PublicAPI.Shipped.txt"
  printf '#nullable enable\n' >"$dir/PublicAPI.Unshipped.txt"
  echo "$(($(wc -l <"$dir/PublicAPI.Shipped.txt") - 1)) public symbols in src/$library/PublicAPI.Shipped.txt"
done
