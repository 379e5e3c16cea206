#!/bin/sh
# bench/nginx.sh: bench/nginx_block.lua (10 calls of 1 s on one nginx worker
# through the cosocket transport, and a fast location meanwhile) against a
# stand-in started here on a free port. Prints key=value lines; run by
# bench/run.sh. Needs build/luajit/openai/core.so, nginx and its lua module.
set -u
LUA=${LUA:-lua5.4}
ROOT=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd) || exit 1
cd "$ROOT" || exit 1
BENCH_NAME=nginx; . bench/standin.sh
OPENAI_STANDIN_URL="$STANDIN_URL" \
LUA_PATH="$ROOT/lua/?.lua;$ROOT/spec/?.lua;${LUA_PATH:-;;}" \
  $LUA bench/nginx_block.lua
