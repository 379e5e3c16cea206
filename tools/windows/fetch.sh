#!/bin/sh
# tools/windows/fetch.sh DIR: the sources the Windows build compiles, from
# Debian's archive (`apt-get source`, Debian's patches applied), unpacked
# into DIR/lua5.4, DIR/luajit2, DIR/curl and DIR/lua-cjson. Nothing fetched
# is ever committed: DIR is under build/.
set -e
dir=$1
mkdir -p "$dir"
cd "$dir"
for pkg in lua5.4 luajit2 curl lua-cjson; do
	[ -d "$pkg" ] && continue
	rm -rf "$pkg".tmp && mkdir "$pkg".tmp
	(cd "$pkg".tmp && apt-get source -qq "$pkg" >/dev/null 2>&1) || {
		echo "tools/windows/fetch.sh: apt-get source $pkg failed (make windows-deps adds the deb-src line)" >&2
		exit 1
	}
	src=$(find "$pkg".tmp -mindepth 1 -maxdepth 1 -type d | head -n 1)
	mv "$src" "$pkg"
	rm -rf "$pkg".tmp
done
