#!/bin/sh
# rockspec/check.sh LUA...: build the rock (openai-curl, module `openai`)
# with `luarocks make` for each interpreter's Lua version into a throw-away
# tree, then run the rock's own test (rockspec/test.lua, the rockspec's test
# section) with that interpreter against that tree: through `luarocks test`
# where the version's interpreter is LUA itself, directly for LuaJIT (which
# takes the 5.1 rock, while LuaRocks would run lua5.1). The build runs on a
# copy of lua/, src/, rockspec/ and the stand-in, so the checkout gets no
# objects. Prints one closing line "N passed, N failed".
set -u
cd "$(dirname "$0")/.." || exit 1
ROCKSPEC=$(ls rockspec/*.rockspec | tail -n 1)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT INT TERM
mkdir -p "$dir/src/spec/support" && cp -R lua src rockspec "$dir/src/" &&
  cp spec/support/standin.py "$dir/src/spec/support/" || exit 1

passed=0
failed=0
# the file is named after the package and version it declares
name=$(sed -n 's/^package *= *"\(.*\)"/\1/p' "$ROCKSPEC")
rock_ver=$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$ROCKSPEC")
[ "$ROCKSPEC" = "rockspec/$name-$rock_ver.rockspec" ] \
  || { echo "rockspec: $ROCKSPEC declares $name $rock_ver"; failed=$((failed + 1)); }
luarocks lint "$ROCKSPEC" || { echo "rockspec: luarocks lint $ROCKSPEC failed"; failed=$((failed + 1)); }
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
  if [ "$lua" = "lua$ver" ]; then test_cmd="luarocks --lua-version=$ver --tree $tree test $ROCKSPEC"
  else test_cmd="$lua rockspec/test.lua"; fi
  if out=$(cd "$dir/src" && LUA_PATH="$tree/share/lua/$ver/?.lua;$tree/share/lua/$ver/?/init.lua;;" \
           LUA_CPATH="$tree/lib/lua/$ver/?.so;;" $test_cmd 2>&1); then
    echo "rockspec: $lua (--lua-version=$ver): $test_cmd: $(printf '%s\n' "$out" | head -n 1), $(printf '%s\n' "$out" | tail -n 1)"
    passed=$((passed + 1))
  else
    printf '%s\n' "$out"
    echo "rockspec: $lua (--lua-version=$ver): $test_cmd failed"
    failed=$((failed + 1))
  fi
done
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
