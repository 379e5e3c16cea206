#!/bin/sh
# bench/instr_stream.sh URL_SHORT FILE_SHORT URL_LONG FILE_LONG: instructions
# per stream event (callgrind) of the library with result(), with
# accumulate = false, and of the in-memory cjson floor (bench/instr_stream.lua):
# the long stream's count minus the short one's, over the events between
# them. One run each: the counts move by well under 1% between runs. Prints
# key=value lines for bench/run.sh. Env: LUA.
set -u
URL_S=$1; FILE_S=$2; URL_L=$3; FILE_L=$4
LUA=${LUA:-lua5.4}
DIR=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd) || exit 1

# instructions and events of one run of MODE on URL/FILE: "instr events"
run() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null $LUA "$DIR/instr_stream.lua" "$1" "$2" "$3" 2>&1 |
    awk '/Collected/ {c = $4} /^[0-9]+$/ {n = $1} END {print c, n}'
}

for mode in lib flat floor; do
  short=$(run "$mode" "$URL_S" "$FILE_S") && long=$(run "$mode" "$URL_L" "$FILE_L") || exit 1
  set -- $short $long
  [ $# -eq 4 ] || { echo "bench/instr_stream.sh: callgrind gave no count for $mode" >&2; exit 1; }
  echo "instr_stream_${mode}=$(( ($3 - $1) / ($4 - $2) ))"
done
