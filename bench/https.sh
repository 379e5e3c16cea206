#!/bin/sh
# bench/https.sh: the library over TLS + HTTP/2 on loopback, beside curl's
# command line and the official Node SDK. Run by bench/run.sh (env: LUA,
# LUA_PATH, LUA_CPATH, CLIENT and SERVER, the CPU-pinning prefixes); prints
# key=value lines.
#
# The server is nginx (bench/nginx_tls.conf.in: `ssl http2`, its lua module
# for the 50 ms answers) with a certificate made here with openssl; the
# clients trust the system's CA bundle plus that certificate (ca.pem), so
# that reading the trust store costs what it costs with the real one.
#   1. 1000 calls x 50 ms at 64 in flight, each tool in a fresh process
#      (connections opened inside the timing): wall, median of HTTPS_REPS
#   2. 1000 fast calls at 64 in flight and one at a time: CPU of the calls
#   3. the cold first call: CPU of a whole process (require, client, one
#      call) beside curl's command line making the same call
#   4. the nginx transport: connections and resumed TLS sessions per 100
#      calls (bench/nginx_tls.lua)
# Connections are counted at the server ($connection in its access log).
# $CLIENT, $SERVER and $LUA are command prefixes, split on purpose:
# shellcheck disable=SC2086
set -u
ROOT=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd) || exit 1
cd "$ROOT" || exit 1
LUA=${LUA:-lua5.4}
CLIENT=${CLIENT:-}
SERVER=${SERVER:-}
BENCH=$ROOT/bench
N=${HTTPS_N:-1000}
CONC=${HTTPS_CONC:-64}
REPS=${HTTPS_REPS:-5}
COLD_RUNS=${HTTPS_COLD_RUNS:-11}
BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/openai-https.XXXXXX") || exit 1
chmod 755 "$TMP"
NGINX_PID=
stop() {
  if [ -n "$NGINX_PID" ]; then
    kill -TERM "$NGINX_PID" 2>/dev/null
    i=0
    while kill -0 "$NGINX_PID" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    kill -KILL "$NGINX_PID" 2>/dev/null
  fi
  rm -rf "$TMP"
}
trap stop EXIT
trap 'exit 130' INT TERM HUP

# ---- the certificate and the trust store ------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -keyout "$TMP/key.pem" -out "$TMP/cert.pem" -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>"$TMP/openssl.err" ||
  { cat "$TMP/openssl.err" >&2; exit 1; }
cat "$BUNDLE" "$TMP/cert.pem" > "$TMP/ca.pem" || exit 1
CA=$TMP/ca.pem

# ---- nginx ------------------------------------------------------------------
PORT=$(python3 "$BENCH/nettool.py" free-port)
PORT_CLOSE=$(python3 "$BENCH/nettool.py" free-port)
USER_LINE=
[ "$(id -u)" = 0 ] && USER_LINE="user root;"
mkdir -p "$TMP/nginx-tmp"
$LUA "$BENCH/render.lua" "$BENCH/nginx_tls.conf.in" "$TMP/nginx.conf" DIR="$TMP" PORT="$PORT" \
  PORT_CLOSE="$PORT_CLOSE" USER="$USER_LINE" BODY="<$BENCH/chat_completion.json" || exit 1
$SERVER nginx -p "$TMP" -c "$TMP/nginx.conf" -e "$TMP/nginx-error.log" > "$TMP/nginx.out" 2>&1 &
NGINX_PID=$!
python3 "$BENCH/nettool.py" wait-port "$PORT" 10 ||
  { echo "bench/https.sh: nginx did not start" >&2; cat "$TMP/nginx.out" "$TMP/nginx-error.log" >&2; exit 1; }
URL=https://localhost:$PORT
LOG=$TMP/access.log

# connections in the access log since it was emptied
conns() { awk '{print $1}' "$LOG" | sort -u | wc -l | tr -d ' '; }
clear_log() { : > "$LOG"; }
# the value of KEY= in FILE
val() { sed -n "s/^$1=//p" "$2" | tail -n 1; }
# the median of numbers, one a line on stdin
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) exit 1; print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
put() { printf '%s=%s\n' "$1" "$2"; }

curl_post="curl -s --no-progress-meter --fail --http2 --cacert $CA -H Content-Type:application/json -H Authorization:Bearer.sk-bench"
echo '{"model":"gpt-3.5-turbo","messages":[{"role":"user","content":"Where was it played?"}]}' > "$TMP/body.json"
# curl's command line making N calls, CONC in flight (it multiplexes them)
curl_config() {
  i=0
  : > "$TMP/$2.cfg"
  while [ $i -lt "$N" ]; do
    printf 'url = "%s"\noutput = "/dev/null"\n' "$1" >> "$TMP/$2.cfg"
    i=$((i + 1))
  done
}
curl_config "$URL/slow/v1/chat/completions" slow
curl_config "$URL/v1/chat/completions" fast

# ---- 1. 1000 x 50 ms at 64 in flight ----------------------------------------
NODE_DIR=$ROOT/build/node
if [ ! -d "$NODE_DIR/node_modules/openai" ] && command -v npm > /dev/null 2>&1; then
  mkdir -p "$NODE_DIR" &&
    (cd "$NODE_DIR" && npm install --silent --no-audit --no-fund openai > /dev/null 2>&1) ||
    echo "bench/https.sh: npm install openai failed; no Node row" >&2
fi
cp "$BENCH/node_par.mjs" "$NODE_DIR/node_par.mjs" 2>/dev/null
: > "$TMP/lib_par" ; : > "$TMP/node_par" ; : > "$TMP/curl_par"
r=0
while [ $r -lt "$REPS" ]; do
  clear_log
  $CLIENT $LUA "$BENCH/https.lua" par "$URL/slow/v1" "$CA" "$N" "$CONC" > "$TMP/out" || exit 1
  val wall_ms "$TMP/out" >> "$TMP/lib_par"
  LIB_CONNS=$(conns)
  if [ -d "$NODE_DIR/node_modules/openai" ]; then
    clear_log
    NODE_EXTRA_CA_CERTS=$TMP/cert.pem $CLIENT node "$NODE_DIR/node_par.mjs" "$URL/slow/v1" "$N" "$CONC" > "$TMP/out" || exit 1
    val wall_ms "$TMP/out" >> "$TMP/node_par"
    NODE_CONNS=$(conns)
  fi
  clear_log
  w0=$(date +%s%N)
  $CLIENT $curl_post -d "@$TMP/body.json" --parallel --parallel-max "$CONC" -K "$TMP/slow.cfg" > /dev/null || exit 1
  echo $(( ($(date +%s%N) - w0) / 1000 )) | awk '{ printf "%.1f\n", $1 / 1000 }' >> "$TMP/curl_par"
  CURL_CONNS=$(conns)
  r=$((r + 1))
done
put https_n "$N"
put https_conc "$CONC"
put https_par_lib_ms "$(median < "$TMP/lib_par")"
put https_par_lib_reps "$(paste -sd, "$TMP/lib_par")"
put https_par_lib_conns "$LIB_CONNS"
if [ -s "$TMP/node_par" ]; then
  put https_par_node_ms "$(median < "$TMP/node_par")"
  put https_par_node_reps "$(paste -sd, "$TMP/node_par")"
  put https_par_node_conns "$NODE_CONNS"
fi
put https_par_curl_ms "$(median < "$TMP/curl_par")"
put https_par_curl_reps "$(paste -sd, "$TMP/curl_par")"
put https_par_curl_conns "$CURL_CONNS"

# ---- 2. CPU of 1000 fast calls: 64 in flight and one at a time --------------
: > "$TMP/cpu_par" ; : > "$TMP/cpu_seq"
r=0
while [ $r -lt "$REPS" ]; do
  clear_log
  $CLIENT $LUA "$BENCH/https.lua" par "$URL/v1" "$CA" "$N" "$CONC" > "$TMP/out" || exit 1
  val cpu_ms "$TMP/out" >> "$TMP/cpu_par"
  FAST_CONNS=$(conns)
  $CLIENT $LUA "$BENCH/https.lua" seq "$URL/v1" "$CA" "$N" > "$TMP/out" || exit 1
  val cpu_ms "$TMP/out" >> "$TMP/cpu_seq"
  r=$((r + 1))
done
put https_cpu_par_ms "$(median < "$TMP/cpu_par")"
put https_cpu_par_reps "$(paste -sd, "$TMP/cpu_par")"
put https_cpu_par_conns "$FAST_CONNS"
put https_cpu_seq_ms "$(median < "$TMP/cpu_seq")"
put https_cpu_seq_reps "$(paste -sd, "$TMP/cpu_seq")"
# curl's command line, the whole process: 1000 calls at 64 in flight
cpu=$($CLIENT python3 "$BENCH/cpu_of.py" "$REPS" $curl_post -d "@$TMP/body.json" --parallel \
  --parallel-max "$CONC" -K "$TMP/fast.cfg") || exit 1
put https_cpu_curl_ms "${cpu%% *}"

# ---- 3. the cold first call -----------------------------------------------------
cpu=$($CLIENT python3 "$BENCH/cpu_of.py" "$COLD_RUNS" $LUA "$BENCH/https.lua" one "$URL/v1" "$CA") || exit 1
put https_cold_lib_ms "${cpu%% *}"
cpu=$($CLIENT python3 "$BENCH/cpu_of.py" "$COLD_RUNS" $LUA "$BENCH/https.lua" none "$URL/v1" "$CA") || exit 1
put https_cold_base_ms "${cpu%% *}"
cpu=$($CLIENT python3 "$BENCH/cpu_of.py" "$COLD_RUNS" $curl_post -d "@$TMP/body.json" -o /dev/null \
  "$URL/v1/chat/completions") || exit 1
put https_cold_curl_ms "${cpu%% *}"
cpu=$($CLIENT python3 "$BENCH/cpu_of.py" "$COLD_RUNS" $LUA "$BENCH/https.lua" one "$URL/v1" "$TMP/cert.pem") || exit 1
put https_cold_lib_own_ca_ms "${cpu%% *}"

# ---- 4. the nginx transport: handshakes per 100 calls ------------------------------
if [ -f "$ROOT/build/luajit/openai/wire.so" ]; then
  OPENAI_STANDIN_URL=http://127.0.0.1:9 LUA_PATH="$ROOT/lua/?.lua;$ROOT/spec/?.lua;${LUA_PATH:-;;}" \
    $LUA "$BENCH/nginx_tls.lua" "$URL/v1" "https://localhost:$PORT_CLOSE/v1" "$CA" "$LOG" || exit 1
else
  echo "bench/https.sh: build/luajit/openai/wire.so is missing: no nginx-transport row" >&2
fi
