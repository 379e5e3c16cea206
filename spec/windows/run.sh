#!/bin/sh
# spec/windows/run.sh BUILD_DIR [C test .exe...]: the Windows build under
# wine, against the local stand-in on loopback (wine programs reach
# 127.0.0.1): the DLLs' imports, the C unit tests, spec/windows/smoke.lua
# on Lua 5.4 (lua.exe) from the build tree, then the same suite on LuaJIT
# (luajit.exe) from the unpacked LÖVE zip, with Lua's default paths only.
# Prints one closing line "N passed, N failed". Wine writes CRLF: stripped
# before counting. The wine prefix lives in BUILD_DIR/wineprefix, made on
# first use (no display needed); WINE= names the loader (default: wine64's).
set -u
W=$1; shift
here=$(pwd)
case $W in /*) ;; *) W=$here/$W ;; esac
WINE=${WINE:-$(command -v wine64 || echo /usr/lib/wine/wine64)}
[ -x "$WINE" ] || WINE=wine
export WINEPREFIX="$W/wineprefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
unset DISPLAY WAYLAND_DISPLAY
if [ ! -f "$WINEPREFIX/system.reg" ]; then
  "$WINE" wineboot -i > "$W/wineboot.log" 2>&1
fi

dir=$(mktemp -d)
python3 spec/support/standin.py --host 127.0.0.1 --port 0 --port-file "$dir/port" >"$dir/standin.log" 2>&1 &
pid=$!
trap '"$WINE"server -k 2>/dev/null; kill $pid 2>/dev/null; rm -rf "$dir"' EXIT INT TERM
i=0
while [ ! -s "$dir/port" ]; do
  i=$((i + 1))
  if [ $i -gt 100 ]; then echo "spec/windows/run.sh: the stand-in did not start"; cat "$dir/standin.log"; exit 1; fi
  sleep 0.1
done
OPENAI_STANDIN_URL="http://127.0.0.1:$(cat "$dir/port")"
OPENAI_WIN_TMP=$dir
# a loopback port that was free a moment ago: the refused-connection test's
OPENAI_WIN_DEAD_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export OPENAI_STANDIN_URL OPENAI_WIN_TMP OPENAI_WIN_DEAD_PORT
unset OPENAI_API_KEY OPENAI_BASE_URL OPENAI_ORG_ID OPENAI_PROJECT_ID LUA_PATH LUA_CPATH LUA_INIT

passed=0
failed=0
# count one run's output (CRLF stripped): its last "N passed, N failed"
# line, or one failure when it has none or exited non-zero
count() {
  name=$1; rc=$2; out=$3
  tr -d '\r' < "$out" > "$out.lf"
  line=$(grep -E '[0-9]+ passed, [0-9]+ failed$' "$out.lf" | tail -n 1)
  p=$(printf '%s\n' "$line" | sed -n 's/.*\b\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\1/p')
  f=$(printf '%s\n' "$line" | sed -n 's/.*\b\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\2/p')
  if [ -z "$p" ] || [ "$rc" -ne 0 ] || [ "$f" != 0 ]; then grep -v '^ok ' "$out.lf" | tail -n 40; fi
  [ -z "$p" ] && { p=0; f=1; }
  [ "$rc" -ne 0 ] && [ "$f" = 0 ] && f=1
  echo "windows: $name: $p passed, $f failed"
  passed=$((passed + p)); failed=$((failed + f))
}

# the DLLs need nothing beyond Windows' own DLLs and the Lua DLL (a DLL of
# mingw's, libwinpthread or libgcc, would be missing on a player's machine)
imports() {
  for dll in "$W"/lua5.4/openai/*.dll "$W"/lua5.4/cjson.dll "$W"/luajit/openai/*.dll "$W"/luajit/cjson.dll; do
    x86_64-w64-mingw32-objdump -p "$dll" | sed -n 's/^[[:space:]]*DLL Name: //p' | tr 'A-Z' 'a-z' |
      grep -Evx 'kernel32.dll|advapi32.dll|bcrypt.dll|crypt32.dll|ws2_32.dll|msvcrt.dll|lua54.dll|lua51.dll' |
      sed "s|^|$(basename "$(dirname "$dll")")/$(basename "$dll") imports |"
  done
}
imports > "$dir/imports"
if [ -s "$dir/imports" ]; then
  cat "$dir/imports"; echo "0 passed, 1 failed" > "$dir/out"; else echo "1 passed, 0 failed" > "$dir/out"; fi
count "DLL imports" 0 "$dir/out"

for t in "$@"; do
  "$WINE" "$t" > "$dir/out" 2>&1; count "$(basename "$t")" $? "$dir/out"
done

# Lua 5.4 from the build tree
LUA_PATH="$here/lua/?.lua;$here/lua/?/init.lua" LUA_CPATH="$W/lua5.4/?.dll" \
  "$WINE" "$W/lua5.4/lua.exe" -e "os.exit(dofile([[$here/spec/windows/runner.lua]]).run{[[$here/spec/windows/smoke.lua]]} == 0 and 0 or 1)" \
  > "$dir/out" 2>&1
count "lua 5.4" $? "$dir/out"

# LuaJIT from the unpacked zip: luajit.exe and lua51.dll beside its files,
# as a LÖVE game has love.exe and lua51.dll; Lua's default paths only
mkdir -p "$dir/zip"
python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
  "$W/openai-lua-windows-luajit.zip" "$dir/zip"
cp "$W/luajit/luajit.exe" "$W/luajit/lua51.dll" "$dir/zip/openai-lua/"
(cd "$dir/zip/openai-lua" &&
  "$WINE" luajit.exe -e "os.exit(dofile([[$here/spec/windows/runner.lua]]).run{[[$here/spec/windows/smoke.lua]]} == 0 and 0 or 1)" \
  > "$dir/out" 2>&1)
count "luajit (unpacked zip)" $? "$dir/out"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
