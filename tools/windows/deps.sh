#!/bin/sh
# Installs what `make windows` and `make windows-test` need from Debian's
# archive: the mingw-w64 cross compiler, zlib for it, wine to run the result
# (64-bit only, no display), dpkg-dev for `apt-get source`, and a deb-src line
# (the same archive as the binary lines) so that the sources of Lua 5.4,
# LuaJIT, curl and lua-cjson come from `apt-get source` at build time
# (tools/windows/fetch.sh). The zip is made with python3 (make deps).
set -e
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
need=""
command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || need="$need gcc-mingw-w64-x86-64"
[ -f /usr/x86_64-w64-mingw32/include/zlib.h ] || need="$need libz-mingw-w64-dev"
[ -x /usr/lib/wine/wine64 ] || command -v wine64 >/dev/null 2>&1 || need="$need wine wine64"
command -v dpkg-source >/dev/null 2>&1 || need="$need dpkg-dev"
src=/etc/apt/sources.list.d/openai-lua-src.sources
fresh=""
if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ &&
   ! grep -qs '^deb-src' /etc/apt/sources.list; then
	if [ -f /etc/apt/sources.list.d/debian.sources ]; then
		sed 's/^Types: deb$/Types: deb-src/' \
			/etc/apt/sources.list.d/debian.sources | $SUDO tee "$src" >/dev/null
	else
		sed -n 's/^deb /deb-src /p' /etc/apt/sources.list |
			$SUDO tee /etc/apt/sources.list.d/openai-lua-src.list >/dev/null
	fi
	fresh=1
fi
if [ -n "$need$fresh" ]; then $SUDO apt-get update -qq; fi
if [ -n "$need" ]; then
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >/dev/null
fi
