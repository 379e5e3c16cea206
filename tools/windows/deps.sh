#!/bin/sh
# Installs what `make windows` and `make windows-test` need from Debian's
# archive: the mingw-w64 cross compiler, zlib for it, wine to run the result,
# and a deb-src line (same archive as the binary lines) so that the Lua,
# LuaJIT and curl sources come from `apt-get source` at build time.
set -e
need=""
command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || need="$need gcc-mingw-w64-x86-64"
[ -f /usr/x86_64-w64-mingw32/include/zlib.h ] || need="$need libz-mingw-w64-dev"
command -v wine >/dev/null 2>&1 || need="$need wine wine64"
command -v dpkg-source >/dev/null 2>&1 || need="$need dpkg-dev"
command -v zip >/dev/null 2>&1 || need="$need zip"
command -v unzip >/dev/null 2>&1 || need="$need unzip"
src=/etc/apt/sources.list.d/openai-lua-src.sources
fresh=""
if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ &&
   ! grep -qs '^deb-src' /etc/apt/sources.list; then
	if [ -f /etc/apt/sources.list.d/debian.sources ]; then
		sed 's/^Types: deb$/Types: deb-src/' \
			/etc/apt/sources.list.d/debian.sources > "$src"
	else
		sed -n 's/^deb /deb-src /p' /etc/apt/sources.list > \
			/etc/apt/sources.list.d/openai-lua-src.list
	fi
	fresh=1
fi
export DEBIAN_FRONTEND=noninteractive
if [ -n "$need$fresh" ]; then apt-get update -qq; fi
if [ -n "$need" ]; then apt-get install -y -qq --no-install-recommends $need >/dev/null; fi
