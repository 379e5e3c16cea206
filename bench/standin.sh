# bench/standin.sh: sourced by the bench scripts that need the local API
# stand-in. Sets TMP (a directory removed on exit) and STANDIN_URL, with the
# stand-in (spec/support/standin.py) listening on a free loopback port and
# stopped on exit. Call: BENCH_NAME=NAME; . bench/standin.sh (NAME names the caller in
# messages and the temporary directory).
TMP=$(mktemp -d "${TMPDIR:-/tmp}/openai-$BENCH_NAME.XXXXXX") || exit 1
python3 spec/support/standin.py --host 127.0.0.1 --port 0 --port-file "$TMP/port" > "$TMP/standin.log" 2>&1 &
STANDIN=$!
trap 'kill $STANDIN 2>/dev/null; rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM HUP
i=0
while [ ! -s "$TMP/port" ]; do
  i=$((i + 1))
  if [ $i -gt 100 ]; then echo "bench/$BENCH_NAME.sh: the stand-in did not start" >&2; cat "$TMP/standin.log" >&2; exit 1; fi
  sleep 0.1
done
STANDIN_URL="http://127.0.0.1:$(cat "$TMP/port")"
