#!/bin/sh
# bench/nginx.sh: bench/nginx_block.lua (10 calls of 1 s on one nginx worker
# through the cosocket transport, and a fast location meanwhile) against a
# stand-in started here on a free port. Prints key=value lines; run by
# bench/run.sh. Needs build/luajit/openai/core.so, nginx and its lua module.
set -u
LUA=${LUA:-lua5.4}
ROOT=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd) || exit 1
cd "$ROOT" || exit 1
TMP=$(mktemp -d "${TMPDIR:-/tmp}/openai-nginx.XXXXXX") || exit 1
python3 spec/support/standin.py --host 127.0.0.1 --port 0 --port-file "$TMP/port" > "$TMP/standin.log" 2>&1 &
STANDIN=$!
trap 'kill $STANDIN 2>/dev/null; rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM HUP
i=0
while [ ! -s "$TMP/port" ]; do
  i=$((i + 1))
  if [ $i -gt 100 ]; then echo "bench/nginx.sh: the stand-in did not start" >&2; exit 1; fi
  sleep 0.1
done
OPENAI_STANDIN_URL="http://127.0.0.1:$(cat "$TMP/port")" \
LUA_PATH="$ROOT/lua/?.lua;$ROOT/spec/?.lua;${LUA_PATH:-;;}" \
  $LUA bench/nginx_block.lua
