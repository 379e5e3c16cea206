# The Windows build: cross-compiled with mingw-w64, run under wine (included
# by the Makefile).
#   make windows-deps   apt-get the cross compiler, zlib for it, wine, and a
#                       deb-src line (tools/windows/deps.sh)
#   make windows        openai.wire and openai.core as DLLs for Lua 5.4 (lua54.dll)
#                       and LuaJIT (lua51.dll, LÖVE's ABI), libcurl with Schannel and
#                       zlib linked in; lua-cjson beside them; the zip for LÖVE
#   make windows-test   the C unit tests and spec/windows/ under wine, on Lua 5.4 and
#                       on LuaJIT from the unpacked zip
# Lua 5.4, LuaJIT, curl and lua-cjson are Debian's sources (apt-get source into
# build/windows/src at build time, never committed).

W        = build/windows
WSRC     = $(W)/src
WCC     ?= x86_64-w64-mingw32-gcc
WSTRIP  ?= x86_64-w64-mingw32-strip
WFLAGS   = -std=c99 -O2 $(WARN) -DCURL_STATICLIB -I$(W)/curl/include -Isrc
# the DLLs need only Windows' own DLLs (and the Lua DLL): libgcc and zlib in
WLINK    = -shared -static-libgcc -s
WSYSLIBS = /usr/x86_64-w64-mingw32/lib/libz.a -lws2_32 -lcrypt32 -lsecur32 -lbcrypt -ladvapi32

WLUA54_DIR = $(WSRC)/lua5.4/src
WLJ_DIR    = $(WSRC)/luajit2/src
WLUA54     = $(W)/lua5.4/lua54.dll
WLUA54_EXE = $(W)/lua5.4/lua.exe
WLJ        = $(W)/luajit/lua51.dll
WLJ_EXE    = $(W)/luajit/luajit.exe
WCURL      = $(W)/curl/libcurl.a
WZIP       = $(W)/openai-lua-windows-luajit.zip
WSTAMP     = $(WSRC)/.fetched

WMODS54 = $(W)/lua5.4/openai/core.dll $(W)/lua5.4/openai/wire.dll $(W)/lua5.4/cjson.dll
WMODSLJ = $(W)/luajit/openai/core.dll $(W)/luajit/openai/wire.dll $(W)/luajit/cjson.dll
WC_TESTS = $(patsubst spec/c/%.c,$(W)/c/%.exe,$(wildcard spec/c/test_*.c))

.PHONY: windows windows-deps windows-test

windows-deps:
	@sh tools/windows/deps.sh

windows: windows-deps $(WMODS54) $(WMODSLJ) $(WLUA54_EXE) $(WLJ_EXE) $(WZIP)

$(WSTAMP):
	@sh tools/windows/fetch.sh $(WSRC)
	@touch $@

# ---- Lua 5.4: lua54.dll and lua.exe, as its own `make mingw` builds them ----
$(WLUA54): $(WSTAMP)
	@mkdir -p $(dir $@)
	$(WCC) -O2 -DLUA_COMPAT_5_3 -DLUA_BUILD_AS_DLL -shared -static-libgcc -s -o $@ \
	  $(filter-out %/lua.c %/luac.c,$(wildcard $(WLUA54_DIR)/*.c))
$(WLUA54_EXE): $(WLUA54)
	$(WCC) -O2 -DLUA_COMPAT_5_3 -static-libgcc -s -o $@ $(WLUA54_DIR)/lua.c $(WLUA54)

# ---- LuaJIT 2.1: lua51.dll and luajit.exe (TARGET_SYS=Windows) -------------
$(WLJ) $(WLJ_EXE): $(WSTAMP)
	@mkdir -p $(W)/luajit
	$(MAKE) -j2 -s -C $(WLJ_DIR) HOST_CC=gcc CROSS=x86_64-w64-mingw32- TARGET_SYS=Windows \
	  BUILDMODE=dynamic > $(W)/luajit.log 2>&1 || { tail -n 30 $(W)/luajit.log; exit 1; }
	cp $(WLJ_DIR)/lua51.dll $(WLJ_DIR)/luajit.exe $(W)/luajit/

# ---- libcurl with Schannel and zlib, HTTP only, static (curl's Makefile.mk) --
$(WCURL): $(WSTAMP)
	@mkdir -p $(WSRC)/curl/lib/x86_64-w64-mingw32 $(W)/curl
	env CFLAGS=-O2 CPPFLAGS="-DCURL_STATICLIB -DHTTP_ONLY -DCURL_DISABLE_LDAP -DCURL_DISABLE_LDAPS" \
	  $(MAKE) -j2 -s -C $(WSRC)/curl/lib -f Makefile.mk CROSSPREFIX=x86_64-w64-mingw32- \
	  CFG=-schannel-ipv6-sspi-zlib-unicode ZLIB_PATH=/usr/x86_64-w64-mingw32 libcurl.a \
	  > $(W)/curl.log 2>&1 || { tail -n 30 $(W)/curl.log; exit 1; }
	rm -rf $(W)/curl/include && cp -r $(WSRC)/curl/include $(W)/curl/include
	cp $(WSRC)/curl/lib/libcurl.a $@

# each DLL exports its luaopen_ functions only (without a .def, mingw's ld
# would export every symbol of the engine, curl and zlib)
$(W)/def/%.def:
	@mkdir -p $(dir $@)
	{ echo EXPORTS; printf '%s\n' $(WEXPORTS_$*); } > $@
WEXPORTS_core  = luaopen_openai_core
WEXPORTS_wire  = luaopen_openai_wire
WEXPORTS_cjson = luaopen_cjson luaopen_cjson_safe

# ---- the modules: one rule per Lua (its headers and its DLL) ---------------
# $(1): build dir name, $(2): the Lua headers' dir, $(3): the Lua DLL
define wmods
$(W)/$(1)/openai/core.dll: $(CORE_SRC) $(CORE_HDR) $(WCURL) $(3) $(W)/def/core.def
	@mkdir -p $$(dir $$@)
	$(WCC) $(WFLAGS) -I$(2) $(WLINK) -o $$@ $(W)/def/core.def $(CORE_SRC) $(3) $(WCURL) $(WSYSLIBS)
$(W)/$(1)/openai/wire.dll: $(WIRE_SRC) $(CORE_HDR) $(3) $(W)/def/wire.def
	@mkdir -p $$(dir $$@)
	$(WCC) $(WFLAGS) -I$(2) $(WLINK) -o $$@ $(W)/def/wire.def $(WIRE_SRC) $(3) -lws2_32
$(W)/$(1)/cjson.dll: $(WSTAMP) $(3) $(4) $(W)/def/cjson.def
	@mkdir -p $$(dir $$@)
	$(WCC) -O2 -w -I$(2) $(WLINK) -o $$@ $(W)/def/cjson.def $(4) \
	  $(addprefix $(WSRC)/lua-cjson/,strbuf.c fpconv.c) $(3)
endef
# lua-cjson 2.1.0 defines its own luaL_setfuncs below Lua 5.2, which LuaJIT
# 2.1 has already: the LuaJIT build compiles a copy without that definition
WCJSON_JIT = $(WSRC)/lua-cjson/lua_cjson_luajit.c
$(WCJSON_JIT): $(WSTAMP)
	sed 's/LUA_VERSION_NUM < 502/LUA_VERSION_NUM < 501/' $(WSRC)/lua-cjson/lua_cjson.c > $@
$(eval $(call wmods,lua5.4,$(WLUA54_DIR),$(WLUA54),$(WSRC)/lua-cjson/lua_cjson.c))
$(eval $(call wmods,luajit,$(WLJ_DIR),$(WLJ),$(WCJSON_JIT)))

# ---- the C unit tests, as Windows programs ----------------------------------
$(W)/c/%.exe: spec/c/%.c $(PURE_SRC) $(CORE_HDR) spec/c/tap.h spec/c/ref_check.h
	@mkdir -p $(dir $@)
	$(WCC) -std=c99 -O2 $(WARN) -Isrc -static-libgcc -o $@ $< $(PURE_SRC) -lws2_32

# ---- the zip a LÖVE game takes: LuaJIT's DLLs, the Lua files, a README -----
$(WZIP): $(WMODSLJ) $(wildcard lua/*.lua lua/openai/*.lua) tools/windows/zip.py tools/windows/README-zip.txt
	python3 tools/windows/zip.py $@ $(W)/luajit $(WSRC)

# ---- the tests under wine ---------------------------------------------------
windows-test: windows $(WC_TESTS)
	@sh spec/windows/run.sh $(W) $(WC_TESTS)
