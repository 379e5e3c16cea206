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
CURL_LIB ?= $(shell pkg-config --libs libcurl 2>/dev/null || echo -lcurl) -lm
CC       ?= cc
CFLAGS   ?= -O2 -g
WARN      = -Wall -Wextra -Wshadow -Wpointer-arith -Wcast-qual -Wwrite-strings \
            -Wmissing-prototypes -Wstrict-prototypes -Wundef -Wformat=2

ALL_CFLAGS = -std=c99 -D_POSIX_C_SOURCE=200809L -fPIC $(WARN) $(CFLAGS) $(LUA_INC) $(CURL_INC)

PURE_SRC = src/buf.c src/sse.c src/retry.c src/check.c src/b64.c
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

test: deps all $(C_TESTS)
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

# ---- valgrind: a representative part of the suite under memcheck ----------
VALGRIND_SPECS ?= spec/chat_spec.lua spec/request_spec.lua spec/core_io_spec.lua spec/errors_spec.lua spec/stream_spec.lua spec/parallel_spec.lua \
                  spec/scheduler_spec.lua
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
build/fuzz/%: fuzz/%.c $(PURE_SRC) $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Isrc \
	  -o $@ $< $(PURE_SRC) -lm

fuzz: $(FUZZ_BINS)
	@set -e; for f in $(FUZZ_BINS); do \
	  mkdir -p build/fuzz/corpus-$$(basename $$f); \
	  $$f -runs=$(FUZZ_RUNS) -max_len=4096 -seed=1 build/fuzz/corpus-$$(basename $$f) 2> build/fuzz/$$(basename $$f).log \
	    || { tail -n 40 build/fuzz/$$(basename $$f).log; exit 1; }; \
	  echo "fuzz: $$(basename $$f): $$(grep -o 'Done [0-9]* runs in [0-9]* second(s)' build/fuzz/$$(basename $$f).log)"; \
	done

# ---- lint -------------------------------------------------------------------
lint:
	luacheck lua spec examples bench

# ---- demo: the examples against the local stand-in, or the real API ------
demo: deps all
	@LUA="$(LUA)" LUA_PATH='$(LUA_PATH_T)' LUA_CPATH='$(LUA_CPATH_T)' sh examples/run.sh

# ---- install ----------------------------------------------------------------
install: all
	install -d $(DESTDIR)$(LMOD_DIR)/openai $(DESTDIR)$(CMOD_DIR)/openai
	install -m 644 lua/openai.lua $(DESTDIR)$(LMOD_DIR)/openai.lua
	install -m 644 lua/openai/*.lua $(DESTDIR)$(LMOD_DIR)/openai/
	install -m 755 $(CORE_SO) $(DESTDIR)$(CMOD_DIR)/openai/core.so

# ---- deps: what build, demo, test, check, fuzz and bench need (Debian 12) --
DEB_PACKAGES = build-essential pkg-config lua5.4 liblua5.4-dev libcurl4-openssl-dev lua-cjson \
               lua-busted lua-socket lua-check python3 valgrind clang libclang-rt-14-dev nginx-light
deps:
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	if ! dpkg -s $(DEB_PACKAGES) >/dev/null 2>&1; then \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(DEB_PACKAGES); \
	fi

# ---- bench: speed and memory beside a raw libcurl floor -------------------
bench: deps all
	@LUA="$(LUA)" CC="$(CC)" CURL_LIB="$(CURL_LIB)" LUA_PATH='$(LUA_PATH_T)' LUA_CPATH='$(LUA_CPATH_T)' sh bench/run.sh
