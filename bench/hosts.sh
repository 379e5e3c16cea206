#!/bin/sh
# bench/hosts.sh: how long a host's loop stalls while calls are in flight.
# A headless LÖVE 11 program (spec/hosts/love) and a `nvim --headless`
# script (spec/hosts/nvim.lua) make a 2 s chat call and a 200-event stream
# (10 ms apart) against the stand-in, and report the longest gap between two
# LÖVE frames / two ticks of a 50 ms vim.loop timer while each was in flight
# (spec/hosts/proof.lua). Each host runs twice:
#   pump   the calls run as tasks (openai.spawn), driven by openai.step(0)
#          once per frame (LÖVE) or by openai.luv on the editor's loop (Neovim)
#   block  the call is made right in the frame / timer callback: the baseline
#          of a host without a scheduler (one run)
# A single worst gap is noisy on a shared machine: the pumped mode runs each
# scenario HOST_RUNS times (default 3) and reports the median of the worst
# gaps (gap_ms) beside each run's (gap_ms_runs).
# Prints key=value lines (host_mode_scenario_gap_ms, ..._ticks, ..._ok, ...);
# run by bench/run.sh (`make bench`), or alone: `make bench-hosts`.
# Needs build/luajit/openai/core.so (the hosts run LuaJIT), love and nvim.
set -u
RUNS=${HOST_RUNS:-3}    # pumped runs of each scenario; the median worst gap is reported

ROOT=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd) || exit 1
cd "$ROOT" || exit 1
[ -f build/luajit/openai/core.so ] || { echo "bench/hosts.sh: build/luajit/openai/core.so is missing (make bench-hosts)" >&2; exit 1; }

BENCH_NAME=hosts; . bench/standin.sh

status=0
# run NAME CMD...: one host in each mode; its key=value lines to stdout
run() {
  name=$1; shift
  for mode in pump block; do
    runs=$([ $mode = pump ] && echo "$RUNS" || echo 1)
    env -u DISPLAY -u WAYLAND_DISPLAY -u LUA_PATH -u LUA_CPATH OPENAI_ROOT="$ROOT" OPENAI_STANDIN_URL="$STANDIN_URL" \
      OPENAI_HOST_MODE=$mode OPENAI_HOST_SCENARIOS="call stream" OPENAI_HOST_RUNS=$runs \
      OPENAI_HOST_LIMIT_S=60 timeout -k 5 70 "$@" < /dev/null > "$TMP/out" 2> "$TMP/err"
    rc=$?
    grep -E '^[a-z0-9_]+=' "$TMP/out"
    if [ $rc -ne 0 ] || ! grep -q "^${name}_done=1" "$TMP/out"; then
      echo "bench/hosts.sh: $name ($mode) failed (exit $rc):" >&2
      tail -n 20 "$TMP/out" "$TMP/err" >&2
      status=1
    fi
  done
}

run love love spec/hosts/love
run nvim nvim --headless -u NONE -i NONE -n -c "luafile spec/hosts/nvim.lua"
exit $status
