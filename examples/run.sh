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
          embeddings moderation audio image_edit files batch stored_response parse vision tools; do
  echo
  echo "== examples/$ex.lua"
  $LUA "examples/$ex.lua" || { echo "!! examples/$ex.lua failed"; status=1; }
done

# the host examples run on LuaJIT with build/luajit/openai/core.so (make demo
# builds it); LÖVE opens a window, on a virtual display when there is none
echo
echo "== examples/love (LÖVE: a chat streamed into a window, one step per frame)"
if ! command -v love >/dev/null 2>&1; then
  echo "(skipped: love is not installed)"
else
  xvfb=
  [ -z "${DISPLAY:-}" ] && command -v xvfb-run >/dev/null 2>&1 && xvfb="xvfb-run -a"
  timeout 60 $xvfb love examples/love --quit-when-done "Write a haiku about frames that never stop." 2>/dev/null \
    || { echo "!! examples/love failed"; status=1; }
fi
echo
echo "== examples/love/npc (LÖVE: a villager who speaks from parse_stream's partial answer)"
if command -v love >/dev/null 2>&1; then
  xvfb=
  [ -z "${DISPLAY:-}" ] && command -v xvfb-run >/dev/null 2>&1 && xvfb="xvfb-run -a"
  timeout 60 $xvfb love examples/love/npc --quit-when-done "a village baker" 2>/dev/null \
    || { echo "!! examples/love/npc failed"; status=1; }
fi
echo
echo "== examples/nvim/openai_ask.lua (Neovim: :OpenAIAsk streams into a scratch buffer)"
if ! command -v nvim >/dev/null 2>&1; then
  echo "(skipped: nvim is not installed)"
else
  timeout 60 nvim --headless -u NONE -i NONE -n -c "luafile examples/nvim/openai_ask.lua" \
    -c "OpenAIAsk Say hello to the editor." \
    -c "lua vim.wait(30000, function() return vim.b.openai_done end, 20)" \
    -c "lua io.stdout:write(table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\\n'), '\\n')" \
    -c "qa!" < /dev/null || { echo "!! examples/nvim failed"; status=1; }
fi
echo
echo "== examples/nvim/openai_tools.lua (Neovim: :OpenAITools reads the buffer through a tool)"
if ! command -v nvim >/dev/null 2>&1; then
  echo "(skipped: nvim is not installed)"
else
  timeout 60 nvim --headless -u NONE -i NONE -n -c "edit examples/chat.lua" \
    -c "luafile examples/nvim/openai_tools.lua" \
    -c "OpenAITools What does this file do?" \
    -c "lua vim.wait(30000, function() return vim.b.openai_done end, 20)" \
    -c "lua io.stdout:write(table.concat(vim.api.nvim_buf_get_lines(0, 0, 4, false), '\\n'), '\\n')" \
    -c "qa!" < /dev/null || { echo "!! examples/nvim/openai_tools.lua failed"; status=1; }
fi
echo
echo "== examples/nginx (nginx: a chat relayed as server-sent events; /npc answers with structured output)"
if [ ! -f /usr/lib/nginx/modules/ngx_http_lua_module.so ]; then
  echo "(skipped: libnginx-mod-http-lua is not installed)"
else
  timeout 60 sh examples/nginx/run.sh "Say hello to the worker." | tail -n 4 \
    || { echo "!! examples/nginx failed"; status=1; }
fi
exit $status
