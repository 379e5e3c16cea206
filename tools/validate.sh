#!/bin/sh
# tools/validate.sh OPENAPI_YAML: start Steady (npm @stdy/cli, installed into
# build/node on first use), a mock server that validates every request against
# the official OpenAPI description, on a free loopback port; then send every
# action's request shape to it (tools/validate.lua). A development tool, not
# part of `make test`: the description is not shipped with the project.
#   make validate OPENAPI=/path/to/openai-openapi.yaml
set -u
spec=${1:?usage: tools/validate.sh OPENAPI_YAML}
LUA=${LUA:-lua5.4}
cd "$(dirname "$0")/.." || exit 1
bin=build/node/node_modules/.bin/steady
if [ ! -x "$bin" ]; then
  mkdir -p build/node && (cd build/node && npm install --silent --no-audit --no-fund @stdy/cli >/dev/null) || exit 1
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log=$(mktemp)
"$bin" -p "$port" --host 127.0.0.1 "$spec" >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -f "$log"' EXIT INT TERM
i=0
until grep -q "Ready to accept" "$log"; do
  i=$((i + 1)); [ $i -gt 200 ] && { cat "$log"; echo "tools/validate.sh: the mock did not start"; exit 1; }
  sleep 0.1
done
$LUA tools/validate.lua "http://127.0.0.1:$port"
