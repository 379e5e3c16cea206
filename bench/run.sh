#!/bin/sh
# bench/run.sh: the library's speed and memory beside a raw floor, on
# loopback. Run by `make bench` (env: LUA, LUA_INC, CC, CURL_LIB, CORE_SO, LUA_PATH, LUA_CPATH),
# or alone from anywhere (defaults to this checkout).
#
#   1. sequential client:chat{} against nginx (canned chat.completion):
#      CPU and wall per call, beside bench/floor.c (raw libcurl, one easy handle)
#      and beside the JSON-aware floor in the same process (bench/floor_lua.c:
#      that easy handle called from Lua, plus cjson encode and decode per call)
#   1b. the same call in instructions (callgrind, bench/instr.sh), beside the
#      JSON-aware floor's: the figure that does not swing with the machine
#   2. 1000 calls through openai.parallel, concurrency 64, against
#      bench/slow_server.py (answers after 50 ms): wall beside the ideal, and
#      beside bench/floor_multi.c (raw curl-multi, 64 in flight)
#   2b. over TLS + HTTP/2 (bench/https.sh: nginx `ssl http2`, a certificate
#      made with openssl): 1000 x 50 ms at 64 in flight beside curl's command
#      line and the official Node SDK; CPU of 1000 fast calls at 64 in flight
#      and one at a time; the cold first call's CPU beside curl's; the nginx
#      transport's TLS handshakes per 100 calls
#   3. peak RSS after 1,000 and after 100,000 sequential calls (one process)
#   4. `require "openai"` in a fresh process beside a bare `lua -e ''`
#   5. a 20,000-event chat stream served by nginx: events/s beside a plain Lua
#      loop splitting the same bytes in memory and cjson-decoding each event
#   5b. the same in instructions per event (callgrind, bench/instr_stream.sh)
#   6. peak RSS of a process consuming a 1 MB and a 100 MB stream (with and
#      without accumulate)
#   6b. peak RSS of a process uploading a 100 MB file from its path and
#      downloading 100 MB to a path (both stay flat); embedding decode;
#      structured outputs' partial object per streamed piece, data: URLs (bench/partial.lua)
#   7. a soak: 100,000 calls mixing successes, retries and errors, with RSS and
#      open file descriptors sampled every 10,000
#   8. host loops: the longest LÖVE frame gap and Neovim timer gap during a
#      2 s call and a 200-event stream (bench/hosts.sh), beside the blocking
#      baseline
#   9. inside nginx: 10 calls of 1 s on one worker through cosockets, and a
#      fast location meanwhile (bench/nginx.sh), beside libcurl in nginx
#
# Servers bind 127.0.0.1 on free ports and are stopped on exit (trap); every
# step runs under `timeout`. Generated files: bench/out/ (floors, results)
# and a mktemp dir (nginx config and streams), removed on exit. Prints one
# table at the end; exits 1 if a step failed (its figures show as n/a).
# PROFILE=1 adds bench/profile.lua's breakdown of one call after the table.
# $LUA, $CLIENT and $SERVER are command prefixes, split on purpose:
# shellcheck disable=SC2086
set -u

ROOT=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd) || exit 1
cd "$ROOT" || exit 1
LUA=${LUA:-lua5.4}
CC=${CC:-cc}
CURL_LIB=${CURL_LIB:--lcurl}
LUA_INC=${LUA_INC:-$(pkg-config --cflags "$(basename "${LUA%% *}")" 2>/dev/null)}
LUA_PATH=${LUA_PATH:-"$ROOT/lua/?.lua;$ROOT/lua/?/init.lua;;"}
CORE_SO=${CORE_SO:-"$ROOT/build/$(basename "${LUA%% *}")/openai/core.so"}
LUA_CPATH=${LUA_CPATH:-"${CORE_SO%/openai/core.so}/?.so;;"}

# sizes (overridable from the environment for a quick look)
SEQ_WARM=${SEQ_WARM:-1000}          # calls before the first VmHWM
SEQ_BLOCKS=${SEQ_BLOCKS:-5}         # timed blocks; the median block is reported
SEQ_BLOCK_N=${SEQ_BLOCK_N:-19800}   # 1000 + 5 * 19800 = 100,000 calls in all
PAR_N=${PAR_N:-1000}
PAR_CONC=${PAR_CONC:-64}
PAR_DELAY_MS=50
PAR_REPS=${PAR_REPS:-3}
CAP_N=5000                          # slow_server.py capacity check, no delay
STREAM_EVENTS=${STREAM_EVENTS:-20000}
STREAM_REPS=${STREAM_REPS:-9}
REQ_RUNS=${REQ_RUNS:-50}
INSTR_RUNS=${INSTR_RUNS:-5}         # callgrind runs of each (INSTR=0: none)

BENCH=$ROOT/bench
OUT=$BENCH/out
mkdir -p "$OUT" || exit 1
# the JSON-aware floor's module (bench/floor_lua.c) is found in $OUT
LUA_CPATH="$OUT/?.so;$LUA_CPATH"
export LUA_PATH LUA_CPATH
RES=$OUT/results.txt
: > "$RES"
FAILED=

TMP=$(mktemp -d "${TMPDIR:-/tmp}/openai-bench.XXXXXX") || exit 1
chmod 755 "$TMP"
PIDS=
NGINX_PID=
STEP_PID=

log() { printf 'bench: %s\n' "$*" >&2; }

# stop what we started: TERM, up to 5 s, then KILL (nginx workers too)
cleanup() {
  if [ -n "$STEP_PID" ]; then kill -TERM "$STEP_PID" 2>/dev/null; PIDS="$STEP_PID $PIDS"; fi
  kids=
  if [ -n "$NGINX_PID" ] && command -v pgrep >/dev/null 2>&1; then
    kids=$(pgrep -P "$NGINX_PID" 2>/dev/null)
  fi
  for p in $PIDS; do kill -TERM "$p" 2>/dev/null; done
  for p in $PIDS $kids; do
    i=0
    while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    kill -KILL "$p" 2>/dev/null
  done
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

put() { printf '%s=%s\n' "$1" "$2" >> "$RES"; }

# bounded SECONDS OUT ERR CMD...: run CMD under `timeout`, in the background
# so that a signal to this script runs the trap at once (timeout puts CMD in
# its own process group, out of reach of the terminal's ^C); CMD's status
bounded() {
  b_secs=$1; b_out=$2; b_err=$3; shift 3
  timeout -k 5 "$b_secs" "$@" > "$b_out" 2> "$b_err" &
  STEP_PID=$!
  wait "$STEP_PID"
  b_rc=$?
  STEP_PID=
  return $b_rc
}

# step NAME SECONDS CMD...: run CMD bounded; its key=value lines go to the
# results, a failure is reported and recorded
step() {
  name=$1; secs=$2; shift 2
  bounded "$secs" "$TMP/step.out" "$TMP/step.err" "$@"
  rc=$?
  if [ $rc -eq 0 ]; then
    grep -E '^[a-z0-9_]+=' "$TMP/step.out" >> "$RES"
    return 0
  fi
  log "step '$name' FAILED (exit $rc$([ $rc -eq 124 ] && echo ', timed out')):"
  tail -n 20 "$TMP/step.err" "$TMP/step.out" >&2
  FAILED="$FAILED $name"
  return 1
}

# pin the client to one core and the servers to another when we can: a
# client and a server that share a core (or hop between cores) swing the
# per-call CPU figures by 2x from run to run
CLIENT=
SERVER=
CPUS=$(awk '/^Cpus_allowed_list/ {print $2}' /proc/self/status 2>/dev/null | tr ',' '\n' |
       awk -F- '{ if (NF == 2) { for (i = $1; i <= $2; i++) print i } else if ($1 != "") print $1 }')
CPU_C=$(printf '%s\n' "$CPUS" | sed -n 1p)
CPU_S=$(printf '%s\n' "$CPUS" | sed -n 2p)
if command -v taskset >/dev/null 2>&1 && [ -n "$CPU_C" ] && [ -n "$CPU_S" ]; then
  CLIENT="taskset -c $CPU_C"
  SERVER="taskset -c $CPU_S"
  put pinning "client processes on CPU $CPU_C, nginx and slow_server.py on CPU $CPU_S (taskset)"
else
  put pinning "none (no taskset or a single CPU)"
fi

put date "$(date '+%Y-%m-%d %H:%M')"
put lua "$(basename "$LUA") ($($LUA -v 2>&1 | awk '{print $1, $2}'))"
put curl "$($LUA -e 'io.write(require("openai").curl_version)' 2>/dev/null || echo '?')"
put cores "$(nproc 2>/dev/null || echo '?')"
put seq_warm "$SEQ_WARM"
put seq_blocks "$SEQ_BLOCKS"
put seq_block_n "$SEQ_BLOCK_N"
put par_n "$PAR_N"
put par_conc "$PAR_CONC"
put par_delay_ms "$PAR_DELAY_MS"
put par_reps "$PAR_REPS"
put cap_n "$CAP_N"
put stream_reps "$STREAM_REPS"

# ---- build the C floors -----------------------------------------------------
log "building the C floors"
CURL_CFLAGS=$(pkg-config --cflags libcurl 2>/dev/null)
for p in floor floor_multi; do
  if ! $CC -std=c99 -D_POSIX_C_SOURCE=200809L -O2 -g -Wall -Wextra $CURL_CFLAGS \
       -o "$OUT/$p" "$BENCH/$p.c" $CURL_LIB; then
    log "cannot build bench/$p.c"; exit 1
  fi
done
if ! $CC -std=c99 -D_POSIX_C_SOURCE=200809L -O2 -g -Wall -Wextra -fPIC -shared $LUA_INC $CURL_CFLAGS \
     -o "$OUT/floor_lua.so" "$BENCH/floor_lua.c" $CURL_LIB; then
  log "cannot build bench/floor_lua.c"; exit 1
fi

# ---- the streams --------------------------------------------------------------
log "generating the streams"
for s in s20k:"$STREAM_EVENTS" s1mb:1MB s100mb:100MB s2k:2000 s22k:22000; do
  name=${s%%:*}; size=${s#*:}
  mkdir -p "$TMP/www/stream/$name/v1/chat"
  $LUA "$BENCH/gen_stream.lua" "$TMP/www/stream/$name/v1/chat/completions" "$size" > /dev/null || exit 1
done

# ---- servers ------------------------------------------------------------------
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
NGINX_USER=
[ "$(id -u)" = 0 ] && NGINX_USER="user root;"   # workers must read the 0700-free temp dir
mkdir -p "$TMP/nginx-tmp"
tries=0
while :; do
  tries=$((tries + 1))
  PORT=$(python3 "$BENCH/nettool.py" free-port) || exit 1
  $LUA "$BENCH/render.lua" "$BENCH/nginx.conf.in" "$TMP/nginx.conf" DIR="$TMP" PORT="$PORT" \
       USER="$NGINX_USER" BODY="<$BENCH/chat_completion.json" || exit 1
  $SERVER "$NGINX" -p "$TMP" -c "$TMP/nginx.conf" -e "$TMP/nginx-error.log" 2>> "$TMP/nginx-start.log" &
  NGINX_PID=$!
  PIDS="$PIDS $NGINX_PID"
  if python3 "$BENCH/nettool.py" wait-port "$PORT" 10 && sleep 0.2 && kill -0 "$NGINX_PID" 2>/dev/null; then
    break
  fi
  kill "$NGINX_PID" 2>/dev/null
  if [ $tries -ge 3 ]; then
    log "nginx did not start:"; cat "$TMP/nginx-start.log" "$TMP/nginx-error.log" >&2 2>/dev/null; exit 1
  fi
done
NGINX_URL=http://127.0.0.1:$PORT
log "nginx on $NGINX_URL (pid $NGINX_PID)"

$SERVER python3 "$BENCH/slow_server.py" --body "$BENCH/chat_completion.json" --delay "$(printf '0.%03d' "$PAR_DELAY_MS")" \
  --port 0 --port-file "$TMP/slow.port" --max-seconds 280 2> "$TMP/slow.log" &
SLOW_PID=$!
PIDS="$PIDS $SLOW_PID"
i=0
while [ ! -s "$TMP/slow.port" ]; do
  i=$((i + 1))
  if [ $i -gt 100 ] || ! kill -0 "$SLOW_PID" 2>/dev/null; then
    log "slow_server.py did not start:"; cat "$TMP/slow.log" >&2; exit 1
  fi
  sleep 0.1
done
SLOW_URL=http://127.0.0.1:$(cat "$TMP/slow.port")
log "slow_server.py on $SLOW_URL (pid $SLOW_PID)"

# the endpoints answer POST as they should
python3 "$BENCH/nettool.py" post "$NGINX_URL/v1/chat/completions" "$BENCH/chat_completion.json" >&2 || exit 1
python3 "$BENCH/nettool.py" post "$NGINX_URL/stream/s20k/v1/chat/completions" \
  "$TMP/www/stream/s20k/v1/chat/completions" >&2 || exit 1
python3 "$BENCH/nettool.py" post "$SLOW_URL/v1/chat/completions" "$BENCH/chat_completion.json" >&2 || exit 1

# ---- 1 + 3. sequential calls and their memory ---------------------------------
log "capturing the library's request"
step capture 30 $CLIENT $LUA "$BENCH/capture.lua" "$NGINX_URL/v1" "$TMP" || exit 1
log "sequential: C floor, $SEQ_WARM + $SEQ_BLOCKS x $SEQ_BLOCK_N calls"
step seq-floor 120 $CLIENT "$OUT/floor" "$NGINX_URL/v1/chat/completions" "$TMP/req_body.json" "$TMP/req_headers.txt" \
  "$SEQ_WARM" "$SEQ_BLOCKS" "$SEQ_BLOCK_N"
log "sequential: library and the libcurl + cjson floor, interleaved, $SEQ_WARM + $SEQ_BLOCKS x $SEQ_BLOCK_N calls each"
step seq-lib 300 $CLIENT $LUA "$BENCH/seq.lua" "$NGINX_URL/v1" "$SEQ_WARM" "$SEQ_BLOCKS" "$SEQ_BLOCK_N" \
  "$TMP/req_headers.txt"

# ---- 1b. sequential calls in instructions (callgrind): the stable figure ------
if [ "${INSTR:-1}" != 0 ] && command -v valgrind > /dev/null 2>&1; then
  log "sequential: instructions per call (callgrind), library and the libcurl + cjson floor, $INSTR_RUNS runs each"
  step instr 300 $CLIENT env LUA="$LUA" sh "$BENCH/instr.sh" "$NGINX_URL/v1" "$TMP/req_headers.txt" "$INSTR_RUNS"
fi

# ---- 2. parallel ------------------------------------------------------------------
log "parallel: library, $PAR_REPS x $PAR_N calls, concurrency $PAR_CONC, ${PAR_DELAY_MS} ms each"
step par-lib 60 $CLIENT $LUA "$BENCH/parallel.lua" "$SLOW_URL/v1" "$PAR_N" "$PAR_CONC" "$PAR_REPS"
log "parallel: raw curl-multi floor"
step par-floor 60 $CLIENT "$OUT/floor_multi" "$SLOW_URL/v1/chat/completions" "$TMP/req_body.json" "$TMP/req_headers.txt" \
  "$PAR_N" "$PAR_CONC" "$PAR_REPS"
log "parallel: slow_server.py capacity, $CAP_N requests without the delay"
if bounded 60 "$TMP/cap.out" "$TMP/cap.err" $CLIENT "$OUT/floor_multi" "$SLOW_URL/fast/v1/chat/completions" \
     "$TMP/req_body.json" "$TMP/req_headers.txt" "$CAP_N" "$PAR_CONC" 1; then
  sed -n 's/^floor_par_wall_ms=/cap_ms=/p' "$TMP/cap.out" >> "$RES"
else
  log "capacity check failed:"; cat "$TMP/cap.out" "$TMP/cap.err" >&2
fi

# ---- 2b. HTTPS + HTTP/2 ------------------------------------------------------------
log "https: TLS + HTTP/2 nginx; library, curl's command line and the Node SDK"
step https 300 env LUA="$LUA" CLIENT="$CLIENT" SERVER="$SERVER" sh "$BENCH/https.sh"

# ---- 4. require time -------------------------------------------------------------
CURL_SO=$(ldd "$CORE_SO" 2>/dev/null | awk '/libcurl/ {print $3; exit}')
[ -n "$CURL_SO" ] || CURL_SO=libcurl.so.4
C_BARE="$LUA -e ''"
C_CURL="$LUA -e 'package.loadlib(\"$CURL_SO\", \"*\")'"
C_LIB="$LUA -e 'require \"openai\"'"
if command -v hyperfine >/dev/null 2>&1; then
  log "require: hyperfine, $REQ_RUNS runs each"
  if bounded 120 "$TMP/hf.out" "$TMP/hf.err" $CLIENT hyperfine -N --style none --warmup 5 \
       --runs "$REQ_RUNS" --export-json "$TMP/hf.json" "$C_BARE" "$C_CURL" "$C_LIB"; then
    step require 30 $LUA "$BENCH/require_time.lua" hyperfine "$TMP/hf.json"
  else
    log "hyperfine failed:"; tail -n 20 "$TMP/hf.out" "$TMP/hf.err" >&2; FAILED="$FAILED require"
  fi
else
  log "require: no hyperfine, a loop of $REQ_RUNS runs each"
  step require 120 $CLIENT $LUA "$BENCH/require_time.lua" loop "$REQ_RUNS" "$C_BARE" "$C_CURL" "$C_LIB"
fi

# ---- 5. stream speed ----------------------------------------------------------------
log "stream: $STREAM_EVENTS events, library and Lua floor, $STREAM_REPS runs each"
step stream 120 $CLIENT $LUA "$BENCH/stream.lua" "$NGINX_URL/stream/s20k/v1" \
  "$TMP/www/stream/s20k/v1/chat/completions" "$STREAM_REPS"

# ---- 5b. streams in instructions (callgrind) ---------------------------------------
if [ "${INSTR:-1}" != 0 ] && command -v valgrind > /dev/null 2>&1; then
  log "stream: instructions per event (callgrind), library and the in-memory floor, 22k - 2k events"
  step instr-stream 300 $CLIENT env LUA="$LUA" sh "$BENCH/instr_stream.sh" \
    "$NGINX_URL/stream/s2k/v1" "$TMP/www/stream/s2k/v1/chat/completions" \
    "$NGINX_URL/stream/s22k/v1" "$TMP/www/stream/s22k/v1/chat/completions"
fi

# ---- 6. stream memory --------------------------------------------------------------
log "stream memory: 1 MB and 100 MB streams, a fresh process each"
step stream-mem-1mb 60 $CLIENT $LUA "$BENCH/stream_mem.lua" "$NGINX_URL/stream/s1mb/v1" smem_1mb
step stream-mem-100mb 120 $CLIENT $LUA "$BENCH/stream_mem.lua" "$NGINX_URL/stream/s100mb/v1" smem_100mb
step stream-flat-1mb 60 $CLIENT $LUA "$BENCH/stream_mem.lua" "$NGINX_URL/stream/s1mb/v1" sflat_1mb flat
step stream-flat-100mb 120 $CLIENT $LUA "$BENCH/stream_mem.lua" "$NGINX_URL/stream/s100mb/v1" sflat_100mb flat

log "file memory: a 100 MB upload from a path, a 100 MB download to a path"
step file-mem 180 $CLIENT $LUA "$BENCH/file_mem.lua" "$NGINX_URL/files/v1" 100
step embedding 60 $CLIENT $LUA "$BENCH/embedding.lua"
step partial 60 $CLIENT $LUA "$BENCH/partial.lua"

# ---- 7. soak: 100,000 calls mixing successes, retries and errors ------------
CLOSED_PORT=$(python3 "$BENCH/nettool.py" free-port)
log "soak: ${SOAK_N:-100000} mixed calls (RSS and open fds sampled)"
step soak 400 $CLIENT $LUA "$BENCH/soak.lua" "$NGINX_URL/soak/v1" "http://127.0.0.1:$CLOSED_PORT/v1" \
  "${SOAK_N:-100000}"

# ---- 8. host loops: LÖVE frames and a Neovim timer during calls ----------------
log "hosts: LÖVE and Neovim, headless, a 2 s call and a 200-event stream, pumped and blocking"
step hosts 180 sh "$BENCH/hosts.sh"

# ---- 9. inside nginx: 10 calls of 1 s on one worker, a fast location meanwhile --
log "nginx: 10 x 1 s calls on one worker through cosockets, a fast location meanwhile; libcurl as the baseline"
step nginx 120 sh "$BENCH/nginx.sh"

put failed "$FAILED"
echo
$LUA "$BENCH/report.lua" "$RES" | tee "$OUT/report.txt"

# optional: where a sequential call spends its CPU (bench/profile.lua)
if [ -n "${PROFILE:-}" ]; then
  echo
  if bounded 120 "$TMP/profile.out" "$TMP/profile.err" $CLIENT $LUA "$BENCH/profile.lua" "$NGINX_URL/v1"; then
    tee -a "$OUT/report.txt" < "$TMP/profile.out"
  else
    log "profile.lua failed:"; tail -n 20 "$TMP/profile.err" >&2
  fi
fi
[ -z "$FAILED" ]
