#!/usr/bin/env bash
# bench/isolation.sh [instructions|wrk|all] [BINARY] - what a worker process
# costs per request against a worker thread, in chopin-example with one
# worker on epoll (default binary .build/release/chopin-example):
#   instructions  callgrind, every process of the run counted (the supervisor
#                 and its worker under --trace-children): the difference of a
#                 2,000 and a 6,000 request run on one keep-alive connection,
#                 over 4,000, so that start-up and shutdown cancel out;
#                 immune to the machine's noise.
#   wrk           the server pinned to CPU 1 and wrk to CPU 0 (taskset), 5 s
#                 of /plaintext on 64 connections, ROUNDS (5) rounds
#                 alternating the modes; the median requests/s of each.
# Results in build/bench/isolation/. Run on a quiet machine (uptime).
set -eu
WHAT=${1:-all}
BIN=${2:-.build/release/chopin-example}
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-build/bench/isolation}
ROUNDS=${ROUNDS:-5}
N=${CALLGRIND_REQS:-2000}
mkdir -p "$OUT"
[ -x "$BIN" ] || { echo "isolation.sh: $BIN not built (swift build -c release --product chopin-example)" >&2; exit 1; }

wait_up() {  # port
    for _ in $(seq 1 600); do curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$1/plaintext" && return 0; sleep 0.2; done
    echo "isolation.sh: nothing serves on $1" >&2; return 1
}

count() {  # mode requests port -> instructions of every process of the run
    local mode=$1 n=$2 port=$3 vp
    rm -f "$OUT/cg-$mode-$n".*.out
    valgrind --tool=callgrind --trace-children=yes --callgrind-out-file="$OUT/cg-$mode-$n.%p.out" \
        "$OUT/chopin-example-nodebug" --host 127.0.0.1 --port "$port" --workers 1 --backend epoll \
        --isolation "$mode" --metrics-interval 0 >"$OUT/cg-$mode-$n.log" 2>&1 &
    vp=$!
    wait_up "$port"
    python3 "$HERE/tools/sequential_client.py" "$port" /plaintext "$n"
    kill -TERM "$vp"; wait "$vp" 2>/dev/null || true
    awk '/^summary:/ {s += $2} END {print s}' "$OUT/cg-$mode-$n".*.out
}
each() {  # mode requests -> each process's instructions, in the order they started (pid)
    local f
    for f in $(ls "$OUT/cg-$1-$2".*.out | sort -t. -k2 -n); do awk '/^summary:/ {print $2}' "$f"; done
}

if [ "$WHAT" = instructions ] || [ "$WHAT" = all ]; then
    # valgrind 3.19 cannot read the Swift toolchain's debug info: count on a copy without it.
    strip -g -o "$OUT/chopin-example-nodebug" "$BIN"
    echo "| instructions per request, /plaintext (callgrind, epoll, 1 worker) | |" >"$OUT/instructions.md"
    echo "|---|---|" >>"$OUT/instructions.md"
    for mode in threads shared-process process-per-worker; do
        a=$(count "$mode" "$N" 9131)
        b=$(count "$mode" $((N * 3)) 9131)
        ipr=$(awk -v a="$a" -v b="$b" -v n=$((N * 2)) 'BEGIN { printf "%.0f", (b - a) / n }')
        if [ "$mode" != threads ]; then
            # The supervisor starts first, then its worker. Under valgrind the
            # supervisor has no pidfd_open and polls every 10 ms: its count
            # follows the run's duration, not its requests.
            paste <(each "$mode" "$N") <(each "$mode" $((N * 3))) | awk -v n=$((N * 2)) \
                '{ printf "%s %.0f", (NR == 1 ? "supervisor" : ", worker"), ($2 - $1) / n } END { print "" }' \
                >"$OUT/processes-each-$mode.txt"
            ipr="$ipr ($(cat "$OUT/processes-each-$mode.txt"))"
        fi
        echo "| $mode | $ipr |" >>"$OUT/instructions.md"
    done
    cat "$OUT/instructions.md"
fi

if [ "$WHAT" = wrk ] || [ "$WHAT" = all ]; then
    : >"$OUT/wrk.txt"
    for round in $(seq 1 "$ROUNDS"); do
        for mode in threads shared-process process-per-worker; do
            taskset -c 1 "$BIN" --host 127.0.0.1 --port 9132 --workers 1 --backend epoll --isolation "$mode" \
                --metrics-interval 0 >/dev/null 2>"$OUT/wrk-$mode.err" &
            sp=$!
            wait_up 9132
            rps=$(taskset -c 0 wrk -t1 -c64 -d5s http://127.0.0.1:9132/plaintext | awk '/^Requests\/sec/ {print $2}')
            kill -TERM "$sp"; wait "$sp" 2>/dev/null || true
            echo "$mode $round $rps" | tee -a "$OUT/wrk.txt"
        done
    done
    for mode in threads shared-process process-per-worker; do
        echo "$mode median $(awk -v m="$mode" '$1 == m {print $3}' "$OUT/wrk.txt" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}') requests/s"
    done | tee "$OUT/wrk-medians.txt"
fi
