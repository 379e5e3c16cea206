#!/bin/sh
# bench/instr.sh BASE_URL HEADERS_FILE RUNS: instructions per sequential chat
# call (callgrind), the library's and the libcurl + cjson floor's
# (bench/instr.lua). Wall and CPU times swing by 20-30% on a shared machine;
# instruction counts do not, save for the library's few thousand that move
# with Lua's per-process string-hash seed (the order of a table walk), hence
# RUNS runs of each and their medians. Each run: 200 and 2200 calls,
# subtracted, / 2000. Prints key=value lines for bench/run.sh. Env: LUA.
set -u
BASE_URL=$1; HEADERS=$2; RUNS=$3
LUA=${LUA:-lua5.4}
DIR=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd) || exit 1

# instructions of one run of MODE with N calls
collected() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null $LUA "$DIR/instr.lua" "$1" "$2" "$BASE_URL" "$HEADERS" 2>&1 |
    awk '/Collected/ {print $4}'
}

median() { tr ' ' '\n' | awk 'NF' | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

for mode in lib floor; do
  list=
  i=0
  while [ $i -lt "$RUNS" ]; do
    i=$((i + 1))
    a=$(collected "$mode" 200) && b=$(collected "$mode" 2200) || exit 1
    [ -n "$a" ] && [ -n "$b" ] || { echo "bench/instr.sh: callgrind gave no count" >&2; exit 1; }
    list="$list $(( (b - a) / 2000 ))"
  done
  echo "instr_${mode}_reps=$(echo $list | tr ' ' ',')"
  echo "instr_${mode}=$(echo $list | median)"
done
