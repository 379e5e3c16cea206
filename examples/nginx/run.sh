#!/bin/sh
# examples/nginx/run.sh: start nginx with examples/nginx/nginx.conf (Debian's
# nginx + libnginx-mod-http-lua, `make` built build/luajit/openai/wire.so),
# stream one chat completion from it with curl, ask /npc for a structured
# answer, and stop it; exits non-zero unless the stream ends with
# "data: [DONE]" and /npc answers 200. Without OPENAI_API_KEY it talks
# to the local stand-in (spec/support/standin.py).
#   sh examples/nginx/run.sh ["question"]
#   KEEP=1 sh examples/nginx/run.sh     leaves it running (open the page it prints)
set -eu
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
dir=$(mktemp -d /tmp/openai-nginx-example.XXXXXX)
# nginx started by root runs its workers as nobody unless told otherwise
USER_LINE=
[ "$(id -u)" = 0 ] && USER_LINE="user $(id -un) $(id -gn);"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
RESOLVER=$(awk '/^nameserver/ { print $2; exit }' /etc/resolv.conf 2>/dev/null || true)
[ -n "$RESOLVER" ] || RESOLVER=127.0.0.53
if [ -z "${OPENAI_API_KEY:-}" ]; then
  python3 spec/support/standin.py --port 0 --port-file "$dir/standin.port" >"$dir/standin.log" 2>&1 &
  spid=$!
  while [ ! -s "$dir/standin.port" ]; do sleep 0.1; done
  OPENAI_BASE_URL="http://127.0.0.1:$(cat "$dir/standin.port")/v1"
  OPENAI_API_KEY="sk-local-demo"
  export OPENAI_BASE_URL OPENAI_API_KEY
  echo "== OPENAI_API_KEY is not set: against the local stand-in at $OPENAI_BASE_URL"
fi
sed -e "s|@ROOT@|$ROOT|g" -e "s|@DIR@|$dir|g" -e "s|@PORT@|$PORT|g" -e "s|@RESOLVER@|$RESOLVER|g" \
  -e "s|@USER@|$USER_LINE|g" \
  examples/nginx/nginx.conf > "$dir/nginx.conf"
stop() {
  [ -f "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" 2>/dev/null || true
  [ -n "${spid:-}" ] && kill "$spid" 2>/dev/null || true
  sleep 0.2; rm -rf "$dir"
}
/usr/sbin/nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log"
if [ -n "${KEEP:-}" ]; then
  echo "== nginx runs at http://127.0.0.1:$PORT/ (config and logs in $dir; stop: kill \$(cat $dir/nginx.pid))"
  exit 0
fi
trap stop EXIT INT TERM
sleep 0.3
echo "== curl -N http://127.0.0.1:$PORT/chat?q=..."
q=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "${1:-Write a haiku about event loops.}")
status=0
curl -sSN "http://127.0.0.1:$PORT/chat?q=$q" > "$dir/out" || status=$?
cat "$dir/out"
echo "== curl http://127.0.0.1:$PORT/npc?q=... (structured output)"
npc_status=0
curl -sSf "http://127.0.0.1:$PORT/npc?q=$q" > "$dir/npc" || npc_status=$?
cat "$dir/npc"
grep -v '^\s*$' "$dir/error.log" || true
[ "$status" -eq 0 ] || { echo "examples/nginx: curl failed (exit $status)"; exit 1; }
grep -q '^data: \[DONE\]$' "$dir/out" || { echo "examples/nginx: the stream did not end with data: [DONE]"; exit 1; }
[ "$npc_status" -eq 0 ] || { echo "examples/nginx: /npc failed (curl exit $npc_status)"; exit 1; }
