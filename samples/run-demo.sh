#!/usr/bin/env bash
# One command for the whole demo: builds the sample, starts the greeter server over TLS on a free loopback port
# (with its self-signed development certificate and development issuer), runs every demo case with the client,
# stops the server, and exits non-zero if any case differs from what is expected.
set -euo pipefail
cd "$(dirname "$0")/.."

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
configuration=${CONFIGURATION:-Release}
work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "== building the sample ($configuration)"
dotnet build samples/Greeter.Server/Greeter.Server.csproj -c "$configuration" -v quiet -nologo
dotnet build samples/Greeter.Client/Greeter.Client.csproj -c "$configuration" -v quiet -nologo

echo "== starting the greeter server"
cert="$work/greeter-dev-cert.pem"
(
  cd samples/Greeter.Server
  exec dotnet "bin/$configuration/net10.0/Greeter.Server.dll" \
    --urls "https://127.0.0.1:0" \
    --DevelopmentCertificate:ExportPath "$cert"
) >"$work/server.log" 2>&1 &
server_pid=$!

address=""
for _ in $(seq 1 300); do
  address=$(grep -o 'Now listening on: https://127\.0\.0\.1:[0-9]*' "$work/server.log" | head -n 1 | sed 's/Now listening on: //' || true)
  [ -n "$address" ] && break
  if ! kill -0 "$server_pid" 2>/dev/null; then
    cat "$work/server.log"
    echo "the server exited before listening" >&2
    exit 1
  fi
  sleep 0.1
done
if [ -z "$address" ]; then
  cat "$work/server.log"
  echo "the server did not start listening within 30 s" >&2
  exit 1
fi
echo "server at $address (certificate pinned from $cert)"

echo "== running the demo"
status=0
dotnet "samples/Greeter.Client/bin/$configuration/net10.0/Greeter.Client.dll" demo --address "$address" --server-cert "$cert" || status=$?
exit "$status"
