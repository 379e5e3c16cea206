#!/bin/sh
# examples/nginx/run.sh: start nginx with examples/nginx/nginx.conf (Debian's
# nginx + libnginx-mod-http-lua, `make` built build/luajit/openai/wire.so),
# stream one chat completion from it with curl, and stop it. Without
# OPENAI_API_KEY it talks to the local stand-in (spec/support/standin.py).
#   sh examples/nginx/run.sh ["question"]
#   KEEP=1 sh examples/nginx/run.sh     leaves it running (open the page it prints)
set -eu
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
dir=$(mktemp -d /tmp/openai-nginx-example.XXXXXX)
chmod 755 "$dir"
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
curl -sN "http://127.0.0.1:$PORT/chat?q=$q"
echo "== curl http://127.0.0.1:$PORT/npc?q=... (structured output)"
curl -s "http://127.0.0.1:$PORT/npc?q=$q"
grep -v '^\s*$' "$dir/error.log" || true
