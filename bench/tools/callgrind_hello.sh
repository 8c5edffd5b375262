#!/usr/bin/env bash
# bench/tools/callgrind_hello.sh [PATH...] - user-space instructions per
# request of the C example server (build/chopin-hello), counted the way
# bench/run.sh counts the Swift server's: callgrind, epoll, one worker, one
# keep-alive connection, and the difference of a 3N- and an N-request run
# divided by 2N, so start-up and shutdown cancel out. Then the functions
# that make up the difference (self cost per request, callgrind_annotate),
# to see where a request's instructions go.
# Knobs: N (default 2000), TOP (functions shown, default 25), PORT, OUT.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
N=${N:-2000}
TOP=${TOP:-25}
PORT=${PORT:-9120}
OUT=${OUT:-$ROOT/build/callgrind}
BIN=$ROOT/build/chopin-hello
PATHS=("$@")
[ ${#PATHS[@]} -eq 0 ] && PATHS=(/plaintext /json)
mkdir -p "$OUT"
(cd "$ROOT" && make -s build/chopin-hello) || exit 1

run() {  # path n -> the callgrind output file of a run that served n requests
    local path=$1 n=$2
    local f="$OUT/hello-${path//\//_}-$n.out" i
    valgrind --tool=callgrind --callgrind-out-file="$f" "$BIN" --port "$PORT" --workers 1 --backend epoll \
        --isolation threads > "${f%.out}.log" 2>&1 &
    local vp=$!
    for i in $(seq 1 300); do curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT$path" && break; sleep 0.2; done
    python3 "$ROOT/bench/tools/sequential_client.py" "$PORT" "$path" "$n" || { kill -TERM "$vp"; wait "$vp"; return 1; }
    kill -TERM "$vp"
    wait "$vp" 2>/dev/null
    echo "$f"
}

for path in "${PATHS[@]}"; do
    a=$(run "$path" "$N") || exit 1
    b=$(run "$path" $((N * 3))) || exit 1
    python3 "$HERE/callgrind_diff.py" "$a" "$b" $((N * 2)) "$TOP" "$path"
done
