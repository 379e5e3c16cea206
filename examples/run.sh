#!/bin/sh
# examples/run.sh: run every example. With OPENAI_API_KEY set they talk to
# the real API (or OPENAI_BASE_URL); without it, to the bundled local
# stand-in (spec/support/standin.py), started here on a free port.
set -u
LUA=${LUA:-lua5.4}
if [ -z "${OPENAI_API_KEY:-}" ]; then
  dir=$(mktemp -d)
  python3 spec/support/standin.py --port 0 --port-file "$dir/port" >"$dir/log" 2>&1 &
  pid=$!
  trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT INT TERM
  i=0
  while [ ! -s "$dir/port" ]; do
    i=$((i + 1)); [ $i -gt 100 ] && { echo "the stand-in did not start"; exit 1; }
    sleep 0.1
  done
  OPENAI_BASE_URL="http://127.0.0.1:$(cat "$dir/port")/v1"
  OPENAI_API_KEY="sk-local-demo"
  export OPENAI_BASE_URL OPENAI_API_KEY
  echo "== OPENAI_API_KEY is not set: running against the local stand-in at $OPENAI_BASE_URL"
else
  echo "== running against ${OPENAI_BASE_URL:-https://api.openai.com/v1}"
fi
status=0
for ex in chat image response model models request chat_stream response_stream parallel \
          embeddings moderation audio image_edit files batch stored_response; do
  echo
  echo "== examples/$ex.lua"
  $LUA "examples/$ex.lua" || { echo "!! examples/$ex.lua failed"; status=1; }
done
exit $status
