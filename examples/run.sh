#!/bin/sh
# examples/run.sh: run every example. With OPENAI_API_KEY set they talk to
# the real API (or OPENAI_BASE_URL); without it, to the bundled local
# stand-in (spec/support/standin.py), started here on a free port. The host
# examples (LÖVE, Neovim, nginx) run when their host is installed and are
# named as skipped when not. Exits 1, naming them, when any example that ran
# failed.
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
failed=
skipped=
fail() { echo "!! $1 failed"; failed="$failed $1"; }
skip() { echo "(skipped: $2)"; skipped="$skipped $1"; }
for ex in chat image response model models request chat_stream response_stream parallel \
          embeddings moderation audio image_edit files batch stored_response parse vision tools; do
  echo
  echo "== examples/$ex.lua"
  $LUA "examples/$ex.lua" || fail "examples/$ex.lua"
done

# the host examples run on LuaJIT with build/luajit/openai/core.so (make demo
# builds it when LuaJIT's headers are installed); each runs when its host is
# installed. LÖVE opens a window, on a virtual display when there is none.
HOST_CORE=build/luajit/openai/core.so
echo
echo "== examples/love (LÖVE: a chat streamed into a window, one step per frame)"
xvfb=
[ -z "${DISPLAY:-}" ] && command -v xvfb-run >/dev/null 2>&1 && xvfb="xvfb-run -a"
if ! command -v love >/dev/null 2>&1; then
  skip examples/love "love is not installed"
elif [ ! -f "$HOST_CORE" ]; then
  skip examples/love "$HOST_CORE is not built (it needs libluajit2-5.1-dev)"
elif [ -z "${DISPLAY:-}" ] && [ -z "$xvfb" ]; then
  skip examples/love "no display, and xvfb-run is not installed"
else
  timeout 60 $xvfb love examples/love --quit-when-done "Write a haiku about frames that never stop." \
    || fail examples/love
fi
echo
echo "== examples/love/npc (LÖVE: a villager who speaks from parse_stream's partial answer)"
if ! command -v love >/dev/null 2>&1; then
  skip examples/love/npc "love is not installed"
elif [ ! -f "$HOST_CORE" ]; then
  skip examples/love/npc "$HOST_CORE is not built (it needs libluajit2-5.1-dev)"
elif [ -z "${DISPLAY:-}" ] && [ -z "$xvfb" ]; then
  skip examples/love/npc "no display, and xvfb-run is not installed"
else
  timeout 60 $xvfb love examples/love/npc --quit-when-done "a village baker" || fail examples/love/npc
fi
echo
echo "== examples/nvim/openai_ask.lua (Neovim: :OpenAIAsk streams into a scratch buffer)"
if ! command -v nvim >/dev/null 2>&1; then
  skip examples/nvim "nvim is not installed"
elif [ ! -f "$HOST_CORE" ]; then
  skip examples/nvim "$HOST_CORE is not built (it needs libluajit2-5.1-dev)"
else
  # prints the buffer; exits 1 (cquit) unless the answer arrived without an error
  timeout 60 nvim --headless -u NONE -i NONE -n -c "luafile examples/nvim/openai_ask.lua" \
    -c "OpenAIAsk Say hello to the editor." \
    -c "lua vim.wait(30000, function() return vim.b.openai_done end, 20)" \
    -c "lua local l = vim.api.nvim_buf_get_lines(0, 0, -1, false); io.stdout:write(table.concat(l, '\\n'), '\\n'); if not vim.b.openai_done or (l[1] or ''):match('^error:') then vim.cmd('cquit 1') end" \
    -c "qa!" < /dev/null || fail examples/nvim
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
  skip examples/nginx "libnginx-mod-http-lua is not installed"
elif [ ! -f "$HOST_CORE" ]; then
  skip examples/nginx "$HOST_CORE is not built (it needs libluajit2-5.1-dev)"
elif ! command -v curl >/dev/null 2>&1; then
  skip examples/nginx "curl, which asks it, is not installed"
else
  # the stream's first lines and /npc's answer (run.sh checks both)
  out=$(timeout 60 sh examples/nginx/run.sh "Say hello to the worker." 2>&1); rc=$?
  printf '%s\n' "$out" | head -n 4
  printf '%s\n' "$out" | grep -A 1 '^== curl .*/npc'
  [ $rc -eq 0 ] || { printf '%s\n' "$out" | tail -n 5; fail examples/nginx; }
fi

echo
[ -n "$skipped" ] && echo "== skipped (their host is not here; \`make demo-hosts\` installs the hosts and runs them):$skipped"
if [ -n "$failed" ]; then
  echo "== FAILED:$failed"
  exit 1
fi
echo "== every example that ran succeeded"
