# openai: a Lua module with a C core on libcurl.
#   make            build build/openai/core.so
#   make demo       build, then run examples/ against the local stand-in
#                   (or the real API when OPENAI_API_KEY is set)
#   make test       C unit tests and the busted specs against the stand-in
#   make check      the same specs with the core under ASan + UBSan
#   make valgrind   a spec subset under valgrind memcheck
#   make fuzz       libFuzzer targets, a fixed number of runs each
#   make bench      benchmarks beside a raw libcurl floor
#   make lint       luacheck
#   make deps       apt-get what all of the above needs (Debian 12)
#   make install    copy the module into the Lua 5.4 paths

LUA      ?= lua5.4
LUA_PC   ?= lua5.4
LUA_INC  ?= $(shell pkg-config --cflags $(LUA_PC) 2>/dev/null || echo -I/usr/include/lua5.4)
CURL_INC ?= $(shell pkg-config --cflags libcurl 2>/dev/null)
CURL_LIB ?= $(shell pkg-config --libs libcurl 2>/dev/null || echo -lcurl)
CC       ?= cc
CFLAGS   ?= -O2 -g
WARN      = -Wall -Wextra -Wshadow -Wpointer-arith -Wcast-qual -Wwrite-strings \
            -Wmissing-prototypes -Wstrict-prototypes -Wundef -Wformat=2 \
            -Wno-unused-parameter
ALL_CFLAGS = -std=c99 -D_POSIX_C_SOURCE=200809L -fPIC $(WARN) $(CFLAGS) $(LUA_INC) $(CURL_INC)

PURE_SRC = src/buf.c src/sse.c src/retry.c src/check.c
CORE_SRC = src/openai_core.c src/engine.c $(PURE_SRC)
CORE_HDR = $(wildcard src/*.h)
CORE_SO  = build/openai/core.so

LUA_PATH_T  = $(CURDIR)/lua/?.lua;$(CURDIR)/lua/?/init.lua;$(CURDIR)/spec/?.lua;;
LUA_CPATH_T = $(CURDIR)/build/?.so;;

PREFIX   ?= /usr/local
LUA_VER  ?= 5.4
LMOD_DIR ?= $(PREFIX)/share/lua/$(LUA_VER)
CMOD_DIR ?= $(PREFIX)/lib/lua/$(LUA_VER)

.PHONY: all test check valgrind fuzz bench demo lint deps install clean c-test

all: $(CORE_SO)

$(CORE_SO): $(CORE_SRC) $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -shared -o $@ $(CORE_SRC) $(CURL_LIB) $(LDFLAGS)

# the pure-C parts, tested alone (no Lua, no curl)
C_TESTS = $(patsubst spec/c/%.c,build/c/%,$(wildcard spec/c/test_*.c))
build/c/%: spec/c/%.c $(PURE_SRC) $(CORE_HDR) spec/c/tap.h
	@mkdir -p $(dir $@)
	$(CC) -std=c99 -D_POSIX_C_SOURCE=200809L $(WARN) $(CFLAGS) -Isrc -o $@ $< $(PURE_SRC) -lm

c-test: $(C_TESTS)
	@set -e; for t in $(C_TESTS); do $$t > $$t.out || { cat $$t.out; exit 1; }; tail -n 1 $$t.out; done

test: all $(C_TESTS)
	@LUA="$(LUA)" LUA_PATH='$(LUA_PATH_T)' LUA_CPATH='$(LUA_CPATH_T)' sh spec/run.sh $(C_TESTS)

clean:
	rm -rf build build-asan

# ---- sanitizers: the core under ASan + UBSan, the whole spec suite --------
ASAN_SO   = build-asan/openai/core.so
ASAN_FLAGS = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined

$(ASAN_SO): $(CORE_SRC) $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(CC) -std=c99 -D_POSIX_C_SOURCE=200809L -fPIC $(WARN) $(ASAN_FLAGS) $(LUA_INC) $(CURL_INC) \
	  -shared -o $@ $(CORE_SRC) $(CURL_LIB)

build-asan/c/%: spec/c/%.c $(PURE_SRC) $(CORE_HDR) spec/c/tap.h
	@mkdir -p $(dir $@)
	$(CC) -std=c99 -D_POSIX_C_SOURCE=200809L $(WARN) $(ASAN_FLAGS) -Isrc -o $@ $< $(PURE_SRC) -lm

ASAN_C_TESTS = $(patsubst spec/c/%.c,build-asan/c/%,$(wildcard spec/c/test_*.c))

check: $(ASAN_SO) $(ASAN_C_TESTS)
	@LUA="$(LUA)" LUA_PATH='$(LUA_PATH_T)' LUA_CPATH='$(CURDIR)/build-asan/?.so;;' \
	  SPEC_PRELOAD="$$($(CC) -print-file-name=libasan.so)" \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/spec/support/lsan.supp:print_suppressions=0 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  sh spec/run.sh $(ASAN_C_TESTS)
