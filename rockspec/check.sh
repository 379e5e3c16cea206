#!/bin/sh
# rockspec/check.sh LUA...: build the rock with `luarocks make` for each
# interpreter's Lua version into a throw-away tree, then load the module
# from that tree with that interpreter (LuaJIT takes the 5.1 rock) and
# make one call against the local stand-in. The build runs on a copy of
# lua/, src/ and rockspec/, so the checkout gets no objects. Prints one
# closing line "N passed, N failed".
set -u
cd "$(dirname "$0")/.." || exit 1
ROCKSPEC=$(ls rockspec/*.rockspec | tail -n 1)
dir=$(mktemp -d)
python3 spec/support/standin.py --host 127.0.0.1 --port 0 --port-file "$dir/port" >"$dir/standin.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT INT TERM
mkdir "$dir/src" && cp -R lua src rockspec "$dir/src/" || exit 1
i=0
while [ ! -s "$dir/port" ]; do
  i=$((i + 1))
  if [ $i -gt 100 ]; then echo "rockspec/check.sh: the stand-in did not start"; exit 1; fi
  sleep 0.1
done

# the smoke test: require (the rock's tree comes first in the paths), one call
SMOKE='
local openai = require "openai"
local c = openai.new { api_key = "sk-rock", base_url = os.getenv("BASE") }
local r, err = c:models()
assert(r, tostring(err))
print(("loaded openai %s (libcurl %s) from the rock, models: %s"):format(openai.VERSION, openai.curl_version, r.object))
'

passed=0
failed=0
# the rockspec lists every Lua module and every C source the Makefile builds
for f in lua/openai.lua lua/openai/*.lua; do
  grep -q "\"$f\"" "$ROCKSPEC" || { echo "rockspec: $ROCKSPEC does not list $f"; failed=$((failed + 1)); }
done
for f in $(make -s -f Makefile print-core-src 2>/dev/null); do
  grep -q "\"$f\"" "$ROCKSPEC" || { echo "rockspec: $ROCKSPEC does not list $f"; failed=$((failed + 1)); }
done
for lua in "$@"; do
  ver=$($lua -e 'print((_VERSION:match("%d+%.%d+")))')
  tree="$dir/tree-$lua"
  if ! (cd "$dir/src" && luarocks --lua-version="$ver" make --deps-mode none --tree "$tree" "$ROCKSPEC") \
       >"$dir/build-$lua.log" 2>&1; then
    cat "$dir/build-$lua.log"
    echo "rockspec: $lua (--lua-version=$ver): luarocks make failed"
    failed=$((failed + 1)); continue
  fi
  # the rock's tree first; the system paths after it, for lua-cjson
  [ -f "$tree/lib/lua/$ver/openai/core.so" ] && [ -f "$tree/lib/lua/$ver/openai/wire.so" ] && [ -f "$tree/share/lua/$ver/openai.lua" ] \
    || { echo "rockspec: $lua: the rock's files are not in $tree"; failed=$((failed + 1)); continue; }
  if out=$(LUA_PATH="$tree/share/lua/$ver/?.lua;$tree/share/lua/$ver/?/init.lua;;" \
           LUA_CPATH="$tree/lib/lua/$ver/?.so;;" BASE="http://127.0.0.1:$(cat "$dir/port")/v1" \
           $lua -e "$SMOKE" 2>&1); then
    echo "rockspec: $lua (--lua-version=$ver): $out"
    passed=$((passed + 1))
  else
    echo "rockspec: $lua (--lua-version=$ver): $out"
    failed=$((failed + 1))
  fi
done
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
