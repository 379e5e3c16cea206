# openai: a Lua module with a C core on libcurl.
#   make            build build/$(LUA)/openai/wire.so (pure functions, no libcurl)
#                   and build/$(LUA)/openai/core.so (the curl engine) (LUA=lua5.4 by default;
#                   LUA=luajit, lua5.1, lua5.2, lua5.3 build and test the same way)
#   make demo       install what the library needs to build and run (and python3
#                   for the stand-in), build, run examples/ against the local stand-in
#                   (or the real API when OPENAI_API_KEY is set); the host examples
#                   run when LÖVE / Neovim / nginx are installed
#   make demo-hosts the same with the hosts installed: every example runs
#   make test       C unit tests and the busted specs against the stand-in
#   make check      the same specs with the core under ASan + UBSan
#   make valgrind   a spec subset under valgrind memcheck
#   make fuzz       libFuzzer targets, a fixed number of runs each
#   make bench      benchmarks beside raw libcurl and libcurl + cjson floors (with
#                   callgrind instruction counts; INSTR=0 skips them)
#   make bench-hosts  only its host-loop part: LÖVE / Neovim gaps during calls
#   make lint       luacheck
#   make rockspec   the rock (openai-curl) built with luarocks make for every Lua into a
#                   temporary tree, then its own test (rockspec/test.lua) run against it
#   make validate   every action's request shape against the OpenAPI description (OPENAPI=path)
#   make deps       apt-get what all of the above needs (Debian 12; demo-deps,
#                   host-deps and test-deps install the parts demo, demo-hosts and test need)
#   make install    copy the module into the paths of $(LUA) (5.4 by default)

# LUA names the interpreter; its Debian pkg-config name is the same
# (lua5.1 .. lua5.4, luajit), and each one gets its own build directory so
# builds for different versions never overwrite each other.
LUA      ?= lua5.4
LUA_NAME := $(notdir $(firstword $(LUA)))
LUA_PC   ?= $(LUA_NAME)
LUA_INC  ?= $(shell pkg-config --cflags $(LUA_PC) 2>/dev/null || echo -I/usr/include/$(LUA_PC))
CURL_INC ?= $(shell pkg-config --cflags libcurl 2>/dev/null)
CURL_LIB ?= $(shell pkg-config --libs libcurl 2>/dev/null || echo -lcurl) -lm
CC       ?= cc
CFLAGS   ?= -O2 -g
WARN      = -Wall -Wextra -Wshadow -Wpointer-arith -Wcast-qual -Wwrite-strings \
            -Wmissing-prototypes -Wstrict-prototypes -Wundef -Wformat=2

ALL_CFLAGS = -std=c99 -D_POSIX_C_SOURCE=200809L -fPIC $(WARN) $(CFLAGS) $(LUA_INC) $(CURL_INC)

PURE_SRC = src/platform.c src/buf.c src/sse.c src/retry.c src/check.c src/http1.c src/b64.c src/pjson.c src/upfile.c
# openai.core: the engine on libcurl; openai.wire: every pure function, not
# linked with libcurl (nginx's cosocket transport loads only this one)
CORE_SRC = src/openai_core.c src/engine.c $(PURE_SRC)
WIRE_SRC = src/openai_wire.c src/lhttp1.c src/ljson.c src/ltext.c src/lb64.c src/lpartial.c $(PURE_SRC)
CORE_HDR = $(wildcard src/*.h)
CORE_SO  = build/$(LUA_NAME)/openai/core.so
WIRE_SO  = build/$(LUA_NAME)/openai/wire.so

LUA_PATH_T  = $(CURDIR)/lua/?.lua;$(CURDIR)/lua/?/init.lua;$(CURDIR)/spec/?.lua;;
LUA_CPATH_T = $(CURDIR)/build/$(LUA_NAME)/?.so;;

PREFIX   ?= /usr/local
# the x.y of $(LUA)'s module paths, as the interpreter says (5.1 for LuaJIT)
LUA_VER  ?= $(or $(shell $(LUA) -e 'print((_VERSION:match("%d+%.%d+")))' 2>/dev/null),5.4)
LMOD_DIR ?= $(PREFIX)/share/lua/$(LUA_VER)
CMOD_DIR ?= $(PREFIX)/lib/lua/$(LUA_VER)

.PHONY: all test check valgrind fuzz bench bench-hosts demo demo-hosts demo-run lint deps demo-deps host-deps test-deps \
        install clean c-test rockspec print-core-src validate

all: $(CORE_SO) $(WIRE_SO)

$(CORE_SO): $(CORE_SRC) $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -shared -o $@ $(CORE_SRC) $(CURL_LIB) $(LDFLAGS)

$(WIRE_SO): $(WIRE_SRC) $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -shared -o $@ $(WIRE_SRC) -lm $(LDFLAGS)

# the core for LuaJIT hosts (LÖVE, Neovim, nginx): spec/hosts_spec.lua and
# spec/nginx_spec.lua run them
# whatever LUA the suite runs on (with LUA=luajit it is CORE_SO itself)
HOST_SO = build/luajit/openai/core.so build/luajit/openai/wire.so
ifneq ($(LUA_NAME),luajit)
build/luajit/openai/core.so: $(CORE_SRC) $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(CC) -std=c99 -D_POSIX_C_SOURCE=200809L -fPIC $(WARN) $(CFLAGS) \
	  $$(pkg-config --cflags luajit) $(CURL_INC) -shared -o $@ $(CORE_SRC) $(CURL_LIB) $(LDFLAGS)
build/luajit/openai/wire.so: $(WIRE_SRC) $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(CC) -std=c99 -D_POSIX_C_SOURCE=200809L -fPIC $(WARN) $(CFLAGS) \
	  $$(pkg-config --cflags luajit) -shared -o $@ $(WIRE_SRC) -lm $(LDFLAGS)
endif

# the pure-C parts, tested alone (no Lua, no curl)
C_TESTS = $(patsubst spec/c/%.c,build/c/%,$(wildcard spec/c/test_*.c))
build/c/%: spec/c/%.c $(PURE_SRC) $(CORE_HDR) spec/c/tap.h spec/c/ref_check.h
	@mkdir -p $(dir $@)
	$(CC) -std=c99 -D_POSIX_C_SOURCE=200809L $(WARN) $(CFLAGS) -Isrc -o $@ $< $(PURE_SRC) -lm

c-test: $(C_TESTS)
	@set -e; for t in $(C_TESTS); do $$t > $$t.out || { cat $$t.out; exit 1; }; tail -n 1 $$t.out; done

test: test-deps all $(HOST_SO) $(C_TESTS)
	@LUA="$(LUA)" LUA_PATH='$(LUA_PATH_T)' LUA_CPATH='$(LUA_CPATH_T)' sh spec/run.sh $(C_TESTS)

clean:
	rm -rf build build-asan

# ---- sanitizers: the core under ASan + UBSan, the whole spec suite --------
ASAN_SO   = build-asan/$(LUA_NAME)/openai/core.so
ASAN_WIRE = build-asan/$(LUA_NAME)/openai/wire.so
ASAN_FLAGS = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined

$(ASAN_SO): $(CORE_SRC) $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(CC) -std=c99 -D_POSIX_C_SOURCE=200809L -fPIC $(WARN) $(ASAN_FLAGS) $(LUA_INC) $(CURL_INC) \
	  -shared -o $@ $(CORE_SRC) $(CURL_LIB)

$(ASAN_WIRE): $(WIRE_SRC) $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(CC) -std=c99 -D_POSIX_C_SOURCE=200809L -fPIC $(WARN) $(ASAN_FLAGS) $(LUA_INC) \
	  -shared -o $@ $(WIRE_SRC) -lm

build-asan/c/%: spec/c/%.c $(PURE_SRC) $(CORE_HDR) spec/c/tap.h spec/c/ref_check.h
	@mkdir -p $(dir $@)
	$(CC) -std=c99 -D_POSIX_C_SOURCE=200809L $(WARN) $(ASAN_FLAGS) -Isrc -o $@ $< $(PURE_SRC) -lm

ASAN_C_TESTS = $(patsubst spec/c/%.c,build-asan/c/%,$(wildcard spec/c/test_*.c))

check: $(ASAN_SO) $(ASAN_WIRE) $(HOST_SO) $(ASAN_C_TESTS)
	@LUA="$(LUA)" LUA_PATH='$(LUA_PATH_T)' LUA_CPATH='$(CURDIR)/build-asan/$(LUA_NAME)/?.so;;' \
	  SPEC_PRELOAD="$$($(CC) -print-file-name=libasan.so)" \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/spec/support/lsan.supp:print_suppressions=0 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  sh spec/run.sh $(ASAN_C_TESTS)

# ---- valgrind: a representative part of the suite under memcheck ----------
VALGRIND_SPECS ?= spec/chat_spec.lua spec/request_spec.lua spec/core_io_spec.lua spec/errors_spec.lua spec/stream_spec.lua \
                  spec/parallel_spec.lua spec/scheduler_spec.lua spec/engine_loop_spec.lua spec/http1_spec.lua \
                  spec/reuse_spec.lua spec/json_decode_spec.lua spec/https_spec.lua spec/stream_servers_spec.lua \
                  spec/structured_spec.lua spec/pictures_spec.lua spec/key_provider_spec.lua
valgrind: all $(C_TESTS)
	@set -e; for t in $(C_TESTS); do \
	  valgrind -q --error-exitcode=3 --leak-check=full --errors-for-leak-kinds=definite,indirect $$t > /dev/null; \
	  echo "valgrind: $$t clean"; done
	@LUA="valgrind -q --error-exitcode=3 --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --suppressions=$(CURDIR)/spec/support/valgrind.supp $(LUA)" \
	  LUA_PATH='$(LUA_PATH_T)' LUA_CPATH='$(LUA_CPATH_T)' \
	  BUSTED_ARGS="$(wildcard $(VALGRIND_SPECS))" sh spec/run.sh

# ---- fuzzing: libFuzzer targets, a fixed number of runs each ---------------
FUZZ_RUNS ?= 300000
FUZZ_CC   ?= clang
FUZZ_BINS = $(patsubst fuzz/%.c,build/fuzz/%,$(wildcard fuzz/fuzz_*.c))
build/fuzz/%: fuzz/%.c $(PURE_SRC) $(CORE_HDR) spec/c/ref_check.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Isrc \
	  -o $@ $< $(PURE_SRC) -lm

# the JSON decoder against Debian's lua-cjson 2.1.0 in an embedded Lua 5.4
# (whatever LUA is: that cjson.so is the reference); the Lua functions that
# push are wrapped so that each push ljson makes is checked against the
# stack it asked for (fuzz_json.c says why)
FUZZ_JSON_WRAP = lua_checkstack lua_settop lua_pushnil lua_pushnumber lua_pushinteger \
                 lua_pushboolean lua_pushlightuserdata lua_pushvalue lua_createtable \
                 lua_pushlstring lua_newuserdatauv lua_rawgeti
build/fuzz/fuzz_json: fuzz/fuzz_json.c src/ljson.c src/ljson.h spec/c/ref_check.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Isrc \
	  $$(pkg-config --cflags lua5.4) -o $@ $< src/ljson.c $$(pkg-config --libs lua5.4) -lm \
	  $(foreach f,$(FUZZ_JSON_WRAP),-Wl,--wrap=$(f))

# the reader of JSON still arriving against the same decoder: every prefix
# closes into JSON, a whole text gives the decoder's value
build/fuzz/fuzz_partial: fuzz/fuzz_partial.c src/pjson.c src/pjson.h src/ljson.c src/ljson.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Isrc \
	  $$(pkg-config --cflags lua5.4) -o $@ $< src/pjson.c src/ljson.c $$(pkg-config --libs lua5.4) -lm

# FUZZ_ARGS_<target>: a target's own arguments, after the common ones (a
# later -runs wins): its dictionary, its seed corpus kept in the repository
# (read, never written), fewer runs if it is slow (FUZZ_JSON_RUNS). No
# per-input leak check for fuzz_json: Lua frees an input's objects later, so
# libFuzzer would run LeakSanitizer after most new inputs (a third of the
# budget), and it could find nothing there (ljson holds no C memory; every
# Lua object is reachable from the state)
FUZZ_ARGS_fuzz_json = -dict=fuzz/json.dict -detect_leaks=0 -runs=$(or $(FUZZ_JSON_RUNS),$(FUZZ_RUNS)) \
                      fuzz/corpus/json
FUZZ_ARGS_fuzz_partial = -dict=fuzz/json.dict -detect_leaks=0 fuzz/corpus/partial
# the shell case arm that sets $$more to target $(1)'s arguments
fuzz_args_case = $(1)) more="$(FUZZ_ARGS_$(1))";;

fuzz: $(FUZZ_BINS)
	@set -e; for f in $(FUZZ_BINS); do \
	  n=$$(basename $$f); \
	  mkdir -p build/fuzz/corpus-$$n; \
	  case $$n in $(foreach t,$(notdir $(FUZZ_BINS)),$(call fuzz_args_case,$(t))) esac; \
	  $$f -runs=$(FUZZ_RUNS) -max_len=4096 -seed=1 build/fuzz/corpus-$$n $$more 2> build/fuzz/$$n.log \
	    || { tail -n 40 build/fuzz/$$n.log; exit 1; }; \
	  echo "fuzz: $$n: $$(grep -o 'Done [0-9]* runs in [0-9]* second(s)' build/fuzz/$$n.log)"; \
	done

# ---- lint -------------------------------------------------------------------
lint:
	luacheck lua spec examples bench tools

# ---- rockspec: the rock openai-curl builds and passes its test on every Lua --
ROCK_LUAS ?= lua5.1 lua5.2 lua5.3 lua5.4 luajit
rockspec: deps
	@sh rockspec/check.sh $(ROCK_LUAS)

# ---- validate: every action's request shape against the official OpenAPI ---
# description, through a validating mock (npm @stdy/cli); OPENAPI= its path
validate: all
	@LUA="$(LUA)" LUA_PATH='$(LUA_PATH_T)' LUA_CPATH='$(LUA_CPATH_T)' sh tools/validate.sh "$(OPENAPI)"

# the C sources of openai.wire and openai.core, for rockspec/check.sh
print-core-src:
	@echo $(WIRE_SRC)
	@echo $(CORE_SRC)

# ---- demo: the examples against the local stand-in, or the real API ------
# `make demo` installs only RUN_PACKAGES; the host examples (LÖVE, Neovim,
# nginx) run when their host is installed, else say they were skipped;
# `make demo-hosts` installs the hosts too and runs everything. Either fails
# when an example that ran failed. demo-run is a separate make, so that it
# sees what the packages just installed (pkg-config, LuaJIT's headers).
demo: demo-deps
	@$(MAKE) --no-print-directory demo-run
demo-hosts: host-deps
	@$(MAKE) --no-print-directory demo-run
# the LuaJIT build of the core for the hosts, when LuaJIT's headers are here
DEMO_HOST_SO = $(if $(shell pkg-config --exists luajit 2>/dev/null && echo yes),$(HOST_SO))
demo-run: all $(DEMO_HOST_SO)
	@LUA="$(LUA)" LUA_PATH='$(LUA_PATH_T)' LUA_CPATH='$(LUA_CPATH_T)' sh examples/run.sh

# ---- install ----------------------------------------------------------------
install: all
	install -d $(DESTDIR)$(LMOD_DIR)/openai $(DESTDIR)$(CMOD_DIR)/openai
	install -m 644 lua/openai.lua $(DESTDIR)$(LMOD_DIR)/openai.lua
	install -m 644 lua/openai/*.lua $(DESTDIR)$(LMOD_DIR)/openai/
	install -m 755 $(CORE_SO) $(DESTDIR)$(CMOD_DIR)/openai/core.so
	install -m 755 $(WIRE_SO) $(DESTDIR)$(CMOD_DIR)/openai/wire.so

# ---- deps: the Debian 12 packages, in four lists ---------------------------
# RUN_PACKAGES: what building the library for $(LUA) and running it need (a C
# compiler, that Lua and its headers, libcurl, lua-cjson, the CAs for https),
# and python3 for the bundled stand-in: all `make demo` installs.
# HOST_PACKAGES: the programs that embed Lua (LÖVE, Neovim, nginx's lua
# module, on OpenResty's luajit2) with LuaJIT's headers to build the core for
# them, a virtual display for the windowed LÖVE example (xvfb-run needs xauth,
# which xvfb only recommends), and curl, which the nginx example asks with:
# `make demo-hosts`.
# TEST_PACKAGES: every Lua the suite runs on (lua-cjson, lua-socket and
# lua-busted serve all of them; luajit2 replaces Debian's luajit package,
# they conflict and apt swaps them), openssl for the certificates the TLS
# specs (and the bench) make; `make test` installs these, the runtime and the
# hosts (spec/hosts_spec.lua, spec/nginx_spec.lua run them).
# TOOL_PACKAGES: valgrind, clang's libFuzzer and sanitizer runtimes,
# luacheck, luarocks (make check, valgrind, fuzz, lint, rockspec, bench; the
# HTTPS bench's curl row uses the hosts' curl, its Node SDK row wants node and
# npm and is left out without them).
LUA_DEBS_lua5.1 = lua5.1 liblua5.1-0-dev
LUA_DEBS_lua5.2 = lua5.2 liblua5.2-dev
LUA_DEBS_lua5.3 = lua5.3 liblua5.3-dev
LUA_DEBS_lua5.4 = lua5.4 liblua5.4-dev
LUA_DEBS_luajit = luajit2 libluajit2-5.1-dev
RUN_PACKAGES  = gcc libc6-dev pkg-config $(LUA_DEBS_$(LUA_NAME)) libcurl4-openssl-dev lua-cjson \
                ca-certificates python3
HOST_PACKAGES = $(LUA_DEBS_luajit) love neovim xvfb xauth nginx-light libnginx-mod-http-lua lua-resty-core curl
TEST_PACKAGES = $(foreach l,lua5.1 lua5.2 lua5.3 lua5.4 luajit,$(LUA_DEBS_$(l))) lua-busted lua-socket openssl
TOOL_PACKAGES = valgrind clang libclang-rt-14-dev lua-check luarocks

# apt-get install what is missing of the packages given (as root, or
# through sudo); nothing when all are there. Without the recommended
# packages: the lists name everything used (ca-certificates, which libcurl
# only recommends, included), and a demo should not pull in X libraries.
apt_install = if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	if ! dpkg -s $(sort $(1)) >/dev/null 2>&1; then \
	  echo "== apt-get install $(sort $(1))"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $(sort $(1)); \
	fi

demo-deps:
	@$(call apt_install,$(RUN_PACKAGES))
host-deps:
	@$(call apt_install,$(RUN_PACKAGES) $(HOST_PACKAGES))
test-deps:
	@$(call apt_install,$(RUN_PACKAGES) $(HOST_PACKAGES) $(TEST_PACKAGES))
deps:
	@$(call apt_install,$(RUN_PACKAGES) $(HOST_PACKAGES) $(TEST_PACKAGES) $(TOOL_PACKAGES))

# ---- bench: speed and memory beside a raw libcurl floor -------------------
bench: deps all $(HOST_SO)
	@LUA="$(LUA)" LUA_INC="$(LUA_INC)" CC="$(CC)" CURL_LIB="$(CURL_LIB)" CORE_SO="$(CURDIR)/$(CORE_SO)" LUA_PATH='$(LUA_PATH_T)' LUA_CPATH='$(LUA_CPATH_T)' sh bench/run.sh

# only the host-loop piece of the bench (bench/hosts.sh): LÖVE and Neovim gaps
bench-hosts: deps $(HOST_SO)
	@sh bench/hosts.sh

# ---- windows: mingw-w64 cross build and wine tests (tools/windows/) --------
include tools/windows/windows.mk
