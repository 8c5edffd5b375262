#!/usr/bin/env bash
# bench/run.sh [all|matrix|allocs|syscalls|instructions|idle|extras] - Chopin
# against SwiftNIO, Hummingbird and hyper in one run on one machine (matrix),
# Chopin's own per-request costs, each also on its own: heap allocations
# (fails unless 0 on the hot routes), syscalls, instructions (callgrind),
# memory per idle connection, and extras: a 1 MiB static file against nginx,
# /large.json with and without gzip, WebSocket echo against Hummingbird,
# and tls: HTTPS handshakes and keep-alive requests against nginx.
# `make bench` runs all; `make bench QUICK=1` is the few-seconds-a-server
# smoke version; `make bench-allocs` etc. run one.
#
# Every server is pinned to CPU $SERVER_CPU and wrk to CPU $WRK_CPU; servers
# are interleaved round by round, each test has a warm-up. Results go to
# bench/results/<time>/ and the latest table and chart to bench/results/.
# Tests: plaintext, json, pipelined (plaintext 16 deep), asyncjson (Chopin's
# /async/json, the /json body from an async handler; the peers' own /json,
# whose handlers are async already), awaitjson, layeredjson and tracedjson
# (Chopin only: /json behind one middleware that may await, behind three
# synchronous ones, and behind TracingMiddleware with no tracer; not in the
# default TESTS) and db (/db, one World row from a private
# PostgreSQL server, scripts/pg.sh; Chopin and Hummingbird, both on
# postgres-nio 1.33.2 with a pool of 16), openapi (the /json body from an
# OpenAPI operation: Chopin's /shelf/hello through ChopinOpenAPI,
# Hummingbird's through swift-openapi-hummingbird).
# Knobs: ROUNDS DURATION WARMUP CONNS DEPTH SERVER_CPU WRK_CPU IDLE_CONNS
#        ONLY="chopin-epoll hummingbird" (servers) TESTS="json db" (tests)
#        WS_CONNS WS_SIZE (extras' WebSocket connections and message bytes)
set -u
WHAT=${1:-all}
case $WHAT in all|matrix|allocs|syscalls|instructions|idle|extras|tls) ;; *) sed -n '2,9p' "$0"; exit 2 ;; esac
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
    ROUNDS=${ROUNDS:-1}; DURATION=${DURATION:-2}; WARMUP=${WARMUP:-1}
    IDLE_CONNS=${IDLE_CONNS:-2000}; CALLGRIND_REQS=${CALLGRIND_REQS:-1000}
else
    ROUNDS=${ROUNDS:-3}; DURATION=${DURATION:-10}; WARMUP=${WARMUP:-3}
    IDLE_CONNS=${IDLE_CONNS:-10000}; CALLGRIND_REQS=${CALLGRIND_REQS:-2000}
fi
CONNS=${CONNS:-64}
DEPTH=${DEPTH:-16}
SERVER_CPU=${SERVER_CPU:-1}
WRK_CPU=${WRK_CPU:-0}
TESTS=${TESTS:-"plaintext json pipelined asyncjson openapi db"}
OUT=$HERE/results/$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT" "$ROOT/build/bench"
HZ=$(getconf CLK_TCK)
FAILED=0
log() { echo "== $*" >&2; }
# Debian's python3 has matplotlib (python3-matplotlib); another python3 on PATH may not.
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3

# ---- dependencies and builds --------------------------------------------------
need_apt() {
    local missing=() p
    for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then echo "missing ${missing[*]}: run as root, or apt-get install them" >&2; return 1; fi
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}
need_apt wrk curl valgrind strace linux-perf python3-matplotlib || exit 1
ulimit -n $((IDLE_CONNS + 1024)) 2>/dev/null || ulimit -n 65536 2>/dev/null

log "building chopin-example (release)"
(cd "$ROOT" && swift build -c release --product chopin-example 2>&1 | tail -1) || exit 1
want() { [ "$WHAT" = all ] || [ "$WHAT" = "$1" ]; }
CHOPIN=$ROOT/.build/release/chopin-example
cc -O2 -shared -fPIC -I"$ROOT/Tests/CMallocCounter/include" -o "$ROOT/build/bench/malloc_counter.so" \
    "$ROOT/Tests/CMallocCounter/counter.c" -ldl || exit 1
HYPER=""
if want matrix || want extras; then
log "building the SwiftNIO and Hummingbird peers (release; minutes the first time)"
(cd "$HERE/peers" && swift build -c release 2>&1 | tail -1) || exit 1
fi
if want matrix; then
if need_apt librust-hyper-dev librust-tokio-dev librust-serde-dev librust-serde-derive-dev librust-serde-json-dev 2>/dev/null &&
    command -v cargo >/dev/null && (cd "$HERE/hyper-peer" && cargo build --release -q 2>"$OUT/hyper-build.log"); then
    HYPER=$HERE/hyper-peer/target/release/hyper-peer
else
    echo "hyper: skipped (Debian's Rust crates or cargo not available; see $OUT/hyper-build.log)" >&2
fi
fi

# The C floor (../shared/bench/floor: one thread, epoll, canned answers), the
# per-core limit: in the matrix, so that pipelined µs/request has it beside
# Chopin in the same run, and in the instruction counts.
FLOOR_SRC=${FLOOR_SRC:-$ROOT/../shared/bench/floor/floor.c}
FLOOR=""
if [ -f "$FLOOR_SRC" ] && cc -O2 -o "$ROOT/build/bench/floor" "$FLOOR_SRC" 2>"$OUT/floor-build.log"; then
    FLOOR=$ROOT/build/bench/floor
else
    echo "floor: skipped (no $FLOOR_SRC)" >&2
fi

SERVERS=(
    "chopin-epoll|9101|$CHOPIN --port 9101 --workers 1 --backend epoll"
    "chopin-uring|9102|$CHOPIN --port 9102 --workers 1 --backend uring"
    "nio|9103|$HERE/peers/.build/release/nio-peer 9103"
    "hummingbird|9104|$HERE/peers/.build/release/hb-peer 9104"
)
[ -n "$HYPER" ] && SERVERS+=("hyper|9105|$HYPER 9105")
[ -n "$FLOOR" ] && SERVERS+=("floor|9106|$FLOOR 9106")
# Run only when ONLY names them: what observability costs (chopin-bare has no
# metrics collector and no access log; chopin-observed, like chopin-epoll,
# hands its counters to swift-metrics each second and has a RequestLogger
# whose level filters every line out; chopin-logged writes each line, to
# /dev/null). ONLY="chopin-bare chopin-observed chopin-logged" TESTS=plaintext
OBSERVABILITY_SERVERS=(
    "chopin-bare|9107|$CHOPIN --port 9107 --workers 1 --backend epoll --metrics-interval 0"
    "chopin-observed|9108|$CHOPIN --port 9108 --workers 1 --backend epoll --access-log-level error"
    "chopin-logged|9109|$CHOPIN --port 9109 --workers 1 --backend epoll --access-log"
)
if [ -n "${ONLY:-}" ]; then
    kept=()
    for entry in "${SERVERS[@]}" "${OBSERVABILITY_SERVERS[@]}"; do [[ " $ONLY " == *" ${entry%%|*} "* ]] && kept+=("$entry"); done
    SERVERS=("${kept[@]}")
fi

# The path each test asks for on a server; none: the server has no such route.
test_path() {  # server test
    case $2 in
    plaintext | pipelined) echo /plaintext ;;
    json) echo /json ;;
    asyncjson) [[ $1 == chopin* ]] && echo /async/json || echo /json ;;
    # Chopin's middleware costs beside json: /json behind one middleware that
    # may await and awaits nothing; /layered/json behind three synchronous ones.
    awaitjson) [[ $1 == chopin* ]] && echo /awaiting/json ;;
    layeredjson) [[ $1 == chopin* ]] && echo /layered/json ;;
    # /json behind TracingMiddleware with no tracer bootstrapped (issue 25: at
    # most 1.05x the CPU of /json).
    tracedjson) [[ $1 == chopin* ]] && echo /traced/json ;;
    # The /json body from an operation of an OpenAPI document, served through
    # each framework's swift-openapi-runtime transport (ChopinOpenAPI,
    # swift-openapi-hummingbird).
    openapi)
        if [[ $1 == chopin* ]]; then echo /shelf/hello; elif [[ $1 == hummingbird ]]; then echo /openapi/hello; fi ;;
    db) [[ $1 == chopin* || $1 == hummingbird ]] && echo /db ;;
    esac
}

# ---- helpers --------------------------------------------------------------------------
SPID=""
start_server() {  # port command...; sets SPID, waits for the port
    local port=$1 log; shift
    log=$OUT/server-$port.log
    [[ " $* " == *" --access-log "* ]] && log=/dev/null  # a line per request
    taskset -c "$SERVER_CPU" "$@" > "$log" 2>&1 &
    SPID=$!
    local i
    for i in $(seq 1 100); do
        curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/plaintext" && return 0
        curl -sk -o /dev/null --max-time 1 "https://127.0.0.1:$port/plaintext" && return 0  # the tls servers
        sleep 0.1
    done
    echo "server on $port did not answer" >&2
    return 1
}
stop_server() {
    [ -n "$SPID" ] || return
    kill -TERM "$SPID" 2>/dev/null
    local i
    for i in $(seq 1 50); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SPID" 2>/dev/null
    wait "$SPID" 2>/dev/null
    SPID=""
}
us_per_op() {  # clock ticks, operations -> CPU µs per operation ("" without operations)
    awk -v b="$1" -v hz="$HZ" -v n="$2" 'BEGIN{ if (n>0) printf "%.3f", b/hz*1e6/n; else print "" }'
}
cpu_busy() { awk -v c="cpu$1" '$1==c {print $2+$3+$4+$7+$8}' /proc/stat; }  # user nice system irq softirq
# The server's own CPU time (user + system of it and its child processes,
# softirq not included): unlike the CPU's busy time, it does not grow when
# something else runs on the CPU.
tree_ticks() {  # pid -> utime+stime ticks of the process and its children
    local p t=0
    for p in "$1" $(pgrep -P "$1"); do
        t=$((t + $(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12+$13}') + 0))
    done
    echo "$t"
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
wrk_run() {  # seconds url pipelined(0|1) [header]
    local d=$1 url=$2 script=() header=()
    [ "$3" = 1 ] && script=(-s "$HERE/tools/pipeline.lua" "$url" -- "$DEPTH") || script=("$url")
    [ -n "${4:-}" ] && header=(-H "$4")
    timeout -k 5 $((d + 30)) taskset -c "$WRK_CPU" wrk -t1 -c"$CONNS" -d"${d}s" --latency "${header[@]}" "${script[@]}"
}
to_ms() {
    awk -v v="$1" 'BEGIN{ if (v ~ /us$/) {sub(/us$/,"",v); print v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v); print v+0}
        else if (v ~ /s$/) {sub(/s$/,"",v); print v*1000} else print "" }'
}
requests_of() { awk '/requests in/ {print $1; exit}' "$1"; }

# ---- the matrix ----------------------------------------------------------------------------
if want matrix; then
if [[ " $TESTS " == *" db "* ]]; then
    PGDIR=$(mktemp -d /tmp/chopin-pg.XXXXXX)
    trap 'bash "$ROOT/scripts/pg.sh" stop "$PGDIR"' EXIT
    CHOPIN_DATABASE_URL=$(bash "$ROOT/scripts/pg.sh" start "$PGDIR" 55433) || exit 1
    export CHOPIN_DATABASE_URL
    log "PostgreSQL for /db: $CHOPIN_DATABASE_URL"
fi
echo "round,server,test,req_per_s,p50_ms,p99_ms,us_per_req,rss_mib,errors" > "$OUT/matrix.csv"
for round in $(seq 1 "$ROUNDS"); do
    for entry in "${SERVERS[@]}"; do
        IFS='|' read -r name port cmd <<< "$entry"
        # shellcheck disable=SC2086
        start_server "$port" $cmd || { stop_server; FAILED=1; continue; }
        for test in $TESTS; do
            path=$(test_path "$name" "$test")
            [ -n "$path" ] || continue
            url=http://127.0.0.1:$port$path; pipe=0
            [ "$test" = pipelined ] && pipe=1
            wrk_run "$WARMUP" "$url" $pipe > /dev/null 2>&1
            f=$OUT/r$round-$name-$test.txt
            b0=$(cpu_busy "$SERVER_CPU")
            wrk_run "$DURATION" "$url" $pipe > "$f" 2>&1
            b1=$(cpu_busy "$SERVER_CPU")
            rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$f")
            n=$(requests_of "$f")
            p50=""; p99=""
            if [ "$test" != pipelined ]; then
                p50=$(to_ms "$(awk '$1=="50%" {print $2; exit}' "$f")")
                p99=$(to_ms "$(awk '$1=="99%" {print $2; exit}' "$f")")
            fi
            us=$(us_per_op $((b1 - b0)) "${n:-0}")
            rss=$(awk -v k="$(rss_kib "$SPID")" 'BEGIN{printf "%.1f", k/1024}')
            errs=$(awk '/Socket errors:/ {gsub(",",""); e+=$4+$6+$8+$10} /Non-2xx/ {e+=$NF} END{print e+0}' "$f")
            echo "$round,$name,$test,${rps:-0},$p50,$p99,$us,$rss,$errs" >> "$OUT/matrix.csv"
            printf '%-2s %-13s %-10s %10s req/s %8s us/req\n' "$round" "$name" "$test" "${rps:-FAIL}" "$us" >&2
        done
        stop_server
        sleep 1
    done
done
"$PY" "$HERE/tools/report.py" "$OUT" | tail -1 || FAILED=1
fi

# ---- Chopin's per-request costs ------------------------------------------------------------
COSTS=$OUT/costs.md
{
    echo "| cost | route | epoll | io_uring |"
    echo "|---|---|---:|---:|"
} > "$COSTS"

# The per-request costs run the workers as threads of the one process that
# the counters (the malloc interposer's signals, perf stat -p, /proc RSS) see:
# under the default worker processes they would watch only the supervisor.
if want allocs; then
log "allocations per request (malloc interposer on the worker threads)"
# The buffer pool takes blocks from the heap when more bytes are in flight
# at once than ever before on that worker (a growth to its peak, bounded by
# the connections, not a cost of requests); the core counts those, and they
# are reported apart from, and subtracted out of, what requests allocate.
heap_growth() {
    curl -s -m 5 "http://127.0.0.1:$1/metrics" | awk '/^chopin_buffer_heap_allocations_total[{ ]/ {s += $NF} END {print s + 0}'
}
declare -A ALLOC
for backend in epoll uring; do
    export MALLOC_COUNTER_SIGNALS=1
    start_server 9110 env LD_PRELOAD="$ROOT/build/bench/malloc_counter.so" "$CHOPIN" --port 9110 --workers 1 --backend "$backend" --isolation threads || { FAILED=1; continue; }
    unset MALLOC_COUNTER_SIGNALS
    for route in /plaintext /json /user/12345; do
        wrk_run 1 "http://127.0.0.1:9110$route" 0 > /dev/null 2>&1
        grown_before=$(heap_growth 9110)
        kill -USR1 "$SPID"; sleep 0.2
        wrk_run 2 "http://127.0.0.1:9110$route" 0 > "$OUT/alloc-$backend.txt" 2>&1
        n=$(requests_of "$OUT/alloc-$backend.txt")
        kill -USR2 "$SPID"; sleep 0.3
        grown=$(( $(heap_growth 9110 || echo 0) - ${grown_before:-0} ))
        [ "$grown" -ge 0 ] || grown=0
        count=$(grep -o 'malloc-counter: [0-9]*' "$OUT/server-9110.log" | tail -1 | awk '{print $2}')
        requests=$(( ${count:-0} - grown )); [ "$requests" -ge 0 ] || requests=0
        per=$(awk -v c="$requests" -v n="${n:-1}" 'BEGIN{printf "%.4f", c/n}')
        ALLOC[$backend$route]="$per ($requests in $n; pool growth $grown)"
        if [ -z "$count" ] || [ "$requests" != 0 ]; then
            echo "allocations on $route ($backend): ${count:-?} in $n requests, $grown of them the buffer pool growing" >&2
            FAILED=1
        fi
    done
    stop_server
done
for route in /plaintext /json /user/12345; do
    echo "| heap allocations per request | $route | ${ALLOC[epoll$route]:-?} | ${ALLOC[uring$route]:-?} |" >> "$COSTS"
done
fi

if want syscalls; then
log "syscalls per request (perf stat, raw_syscalls:sys_enter)"
declare -A SYS
for backend in epoll uring; do
    start_server 9111 "$CHOPIN" --port 9111 --workers 1 --backend "$backend" --isolation threads || { FAILED=1; continue; }
    for test in plaintext pipelined; do
        pipe=0; [ "$test" = pipelined ] && pipe=1
        wrk_run 1 "http://127.0.0.1:9111/plaintext" $pipe > /dev/null 2>&1
        perf stat -x, -e raw_syscalls:sys_enter -p "$SPID" -o "$OUT/perf-$backend-$test.txt" -- sleep $((DURATION > 3 ? 3 : DURATION)) &
        ppid=$!
        wrk_run $((DURATION > 3 ? 3 : DURATION)) "http://127.0.0.1:9111/plaintext" $pipe > "$OUT/sys-$backend-$test.txt" 2>&1
        wait $ppid
        calls=$(awk -F, '/raw_syscalls/ {print $1}' "$OUT/perf-$backend-$test.txt")
        n=$(requests_of "$OUT/sys-$backend-$test.txt")
        SYS[$backend$test]=$(awk -v c="${calls:-0}" -v n="${n:-0}" 'BEGIN{ if (n>0 && c>0) printf "%.3f", c/n; else print "n/a" }')
    done
    stop_server
done
echo "| syscalls per request | /plaintext | ${SYS[epollplaintext]:-?} | ${SYS[uringplaintext]:-?} |" >> "$COSTS"
echo "| syscalls per request | /plaintext, pipelined x$DEPTH | ${SYS[epollpipelined]:-?} | ${SYS[uringpipelined]:-?} |" >> "$COSTS"
fi

if want instructions; then
log "instructions per request (callgrind, epoll, one worker, one keep-alive connection; difference of two runs, so start-up cancels out)"
# Chopin, the C floor (../shared/bench/floor, the per-core limit) and hyper
# (bench/hyper-peer, one current-thread runtime), counted the same way.
# valgrind 3.19 cannot read the Swift toolchain's debug info: count on a copy without it.
strip -g -o "$ROOT/build/bench/chopin-example-nodebug" "$CHOPIN"
if [ -z "$HYPER" ] && command -v cargo >/dev/null && (cd "$HERE/hyper-peer" && cargo build --release -q 2>"$OUT/hyper-build.log"); then
    HYPER=$HERE/hyper-peer/target/release/hyper-peer
fi
[ -n "$HYPER" ] || echo "hyper: skipped (cargo or Debian's Rust crates not available; see $OUT/hyper-build.log)" >&2
instr() {  # name port path requests command... -> total instructions of the run
    local name=$1 port=$2 path=$3 n=$4; shift 4
    local f="$OUT/callgrind-$name-${path//\//_}-$n.out"
    valgrind --tool=callgrind --callgrind-out-file="$f" "$@" > "${f%.out}.log" 2>&1 &
    local vp=$! i
    for i in $(seq 1 300); do curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port$path" && break; sleep 0.2; done
    python3 "$HERE/tools/sequential_client.py" "$port" "$path" "$n"
    kill -TERM "$vp"; wait "$vp" 2>/dev/null
    awk '/^(summary|totals):/ {print $2; exit}' "$f"
}
per_request() {  # name port path command... -> instructions per request
    local name=$1 port=$2 path=$3; shift 3
    local i1 i2
    i1=$(instr "$name" "$port" "$path" "$CALLGRIND_REQS" "$@")
    i2=$(instr "$name" "$port" "$path" $((CALLGRIND_REQS * 3)) "$@")
    awk -v a="${i1:-0}" -v b="${i2:-0}" -v n=$((CALLGRIND_REQS * 2)) 'BEGIN{ if (a>0 && b>a) printf "%.0f", (b-a)/n; else print "n/a" }'
}
declare -A IPR
INSTR="$OUT/instructions.md"
echo "| instructions per request (callgrind, epoll) | /plaintext | /json | /traced/json | /metered/json |" > "$INSTR"
echo "|---|---|---|---|---|" >> "$INSTR"
# /traced/json: /json behind TracingMiddleware with no tracer bootstrapped
# (swift-distributed-tracing's no-op one), which must cost nothing;
# /metered/json: /json behind RouteMetrics (two clock readings, one cell).
for path in /plaintext /json /traced/json /metered/json; do
    # threads, not worker processes: callgrind follows one process; no metrics
    # collector, whose ticks count by time, not by request.
    IPR[chopin$path]=$(per_request chopin 9112 "$path" "$ROOT/build/bench/chopin-example-nodebug" --port 9112 \
        --workers 1 --backend epoll --isolation threads --metrics-interval 0)
    case $path in /traced/* | /metered/*) continue ;; esac
    [ -n "$FLOOR" ] && IPR[floor$path]=$(per_request floor 9114 "$path" "$FLOOR" 9114)
    [ -n "$HYPER" ] && IPR[hyper$path]=$(per_request hyper 9115 "$path" "$HYPER" 9115)
done
for s in chopin floor hyper; do
    echo "| $s | ${IPR[$s/plaintext]:-n/a} | ${IPR[$s/json]:-n/a} | ${IPR[$s/traced/json]:--} | ${IPR[$s/metered/json]:--} |" >> "$INSTR"
done
# What the request pipeline costs (issue 20's table): three synchronous
# middleware (a header lookup each, /layered/*), one middleware that may
# await and awaits nothing (/awaiting/json), an async handler that awaits
# nothing (/async/json); each beside the same answer with none.
ratio() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN{ if (a>0 && b>0) printf "%.2fx", a/b; else print "n/a" }'; }
for path in /layered/plaintext /layered/json /awaiting/json /async/json; do
    IPR[chopin$path]=$(per_request chopin 9112 "$path" "$ROOT/build/bench/chopin-example-nodebug" --port 9112 \
        --workers 1 --backend epoll --isolation threads --metrics-interval 0)
done
{
    echo
    echo "| pipeline (callgrind, epoll) | instructions per request | ÷ the same answer without |"
    echo "|---|---:|---:|"
    echo "| /layered/plaintext (3 SyncMiddleware) | ${IPR[chopin/layered/plaintext]} | $(ratio "${IPR[chopin/layered/plaintext]}" "${IPR[chopin/plaintext]}") of /plaintext |"
    echo "| /layered/json (3 SyncMiddleware) | ${IPR[chopin/layered/json]} | $(ratio "${IPR[chopin/layered/json]}" "${IPR[chopin/json]}") of /json |"
    echo "| /awaiting/json (1 Middleware, awaits nothing) | ${IPR[chopin/awaiting/json]} | $(ratio "${IPR[chopin/awaiting/json]}" "${IPR[chopin/json]}") of /json |"
    echo "| /async/json (async handler, awaits nothing) | ${IPR[chopin/async/json]} | $(ratio "${IPR[chopin/async/json]}" "${IPR[chopin/json]}") of /json |"
} >> "$INSTR"
# Issue 25: the OpenAPI operation /shelf/hello (the /json body through
# ChopinOpenAPI), beside what swift-openapi-runtime and the generated code
# cost on their own (bench/openapi-floor: the operation called in a loop, no
# server, socket or task around it), which no transport can make cheaper.
IPR[chopin/shelf/hello]=$(per_request chopin 9112 /shelf/hello "$ROOT/build/bench/chopin-example-nodebug" --port 9112 \
    --workers 1 --backend epoll --isolation threads --metrics-interval 0)
(cd "$ROOT" && swift build -c release --product openapi-floor 2>&1 | tail -1) >&2
strip -g -o "$ROOT/build/bench/openapi-floor-nodebug" "$ROOT/.build/release/openapi-floor"
floor_run() {  # calls -> total instructions of the run
    local f="$OUT/callgrind-openapi-floor-$1.out"
    valgrind --tool=callgrind --callgrind-out-file="$f" "$ROOT/build/bench/openapi-floor-nodebug" "$1" > "${f%.out}.log" 2>&1
    awk '/^(summary|totals):/ {print $2; exit}' "$f"
}
f1=$(floor_run "$CALLGRIND_REQS")
f2=$(floor_run $((CALLGRIND_REQS * 3)))
IPR[openapi-floor]=$(awk -v a="${f1:-0}" -v b="${f2:-0}" -v n=$((CALLGRIND_REQS * 2)) 'BEGIN{ if (a>0 && b>a) printf "%.0f", (b-a)/n; else print "n/a" }')
{
    echo "| /shelf/hello (an OpenAPI operation through ChopinOpenAPI, RouteMetrics around it) | ${IPR[chopin/shelf/hello]} | $(ratio "${IPR[chopin/shelf/hello]}" "${IPR[chopin/json]}") of /json |"
    echo "| swift-openapi-runtime and the generated code alone (bench/openapi-floor) | ${IPR[openapi-floor]} | $(ratio "${IPR[openapi-floor]}" "${IPR[chopin/json]}") of /json |"
} >> "$INSTR"
cat "$INSTR"
echo "| instructions per request (callgrind) | /plaintext | ${IPR[chopin/plaintext]} | - |" >> "$COSTS"
echo "| instructions per request (callgrind) | /json | ${IPR[chopin/json]} | - |" >> "$COSTS"
echo "| instructions per request (callgrind) | /traced/json (TracingMiddleware, no tracer) | ${IPR[chopin/traced/json]} | - |" >> "$COSTS"
echo "| instructions per request (callgrind) | /metered/json (RouteMetrics) | ${IPR[chopin/metered/json]} | - |" >> "$COSTS"
echo "| instructions per request (callgrind) | /layered/plaintext, /layered/json (3 SyncMiddleware) | ${IPR[chopin/layered/plaintext]}, ${IPR[chopin/layered/json]} | - |" >> "$COSTS"
echo "| instructions per request (callgrind) | /awaiting/json, /async/json | ${IPR[chopin/awaiting/json]}, ${IPR[chopin/async/json]} | - |" >> "$COSTS"
echo "| instructions per request (callgrind) | /shelf/hello (OpenAPI), the runtime alone (bench/openapi-floor) | ${IPR[chopin/shelf/hello]}, ${IPR[openapi-floor]} | - |" >> "$COSTS"
for s in floor hyper; do
    [ -n "${IPR[$s/plaintext]:-}" ] && echo "| instructions per request (callgrind), $s | /plaintext, /json | ${IPR[$s/plaintext]}, ${IPR[$s/json]} | - |" >> "$COSTS"
done
fi

if want idle; then
log "memory per idle keep-alive connection ($IDLE_CONNS connections, one worker)"
declare -A IDLE
for backend in epoll uring; do
    start_server 9113 "$CHOPIN" --port 9113 --workers 1 --backend "$backend" --isolation threads || { FAILED=1; continue; }
    r0=$(rss_kib "$SPID")
    coproc IDLEC { python3 "$HERE/tools/idle_conns.py" 9113 "$IDLE_CONNS"; }
    read -r -t 120 ready <&"${IDLEC[0]}"
    sleep 1
    r1=$(rss_kib "$SPID")
    exec {IDLEC[1]}>&-
    wait "$IDLEC_PID" 2>/dev/null
    IDLE[$backend]=$(awk -v a="$r0" -v b="$r1" -v n="$IDLE_CONNS" -v ok="${ready:-}" 'BEGIN{ if (ok=="ready") printf "%.0f", (b-a)*1024/n; else print "failed" }')
    stop_server
done
echo "| RSS growth per idle keep-alive connection (bytes) | $IDLE_CONNS connections | ${IDLE[epoll]:-?} | ${IDLE[uring]:-?} |" >> "$COSTS"

# What a worker costs at rest: the process with one worker after a short
# load, and what each further worker adds (4 workers against 1).
log "memory per worker (after a 2 s load on /plaintext)"
rss_after_load() {  # backend workers -> KiB
    start_server 9114 "$CHOPIN" --port 9114 --workers "$2" --backend "$1" --isolation threads || { echo 0; return; }
    timeout 30 wrk -t1 -c64 -d2s "http://127.0.0.1:9114/plaintext" > /dev/null 2>&1
    sleep 0.3
    rss_kib "$SPID"
    stop_server
}
declare -A W1 WEACH
for backend in epoll uring; do
    one=$(rss_after_load "$backend" 1)
    four=$(rss_after_load "$backend" 4)
    W1[$backend]=$(awk -v a="$one" 'BEGIN{ printf "%.1f", a/1024 }')
    WEACH[$backend]=$(awk -v a="$one" -v b="$four" 'BEGIN{ if (a>0 && b>0) printf "%.2f", (b-a)/3/1024; else print "failed" }')
done
echo "| RSS of the whole process, one worker, after a 2 s load (MiB) | /plaintext | ${W1[epoll]:-?} | ${W1[uring]:-?} |" >> "$COSTS"
echo "| RSS each further worker adds, after a 2 s load (MiB) | 4 workers vs 1 | ${WEACH[epoll]:-?} | ${WEACH[uring]:-?} |" >> "$COSTS"
fi

# ---- extras: files, compression, WebSocket (issue 13) ---------------------------------------
# Each against something measured in the same rounds on the same CPUs:
#   file1m     GET /assets/1mb.bin, a 1 MiB random file made here in
#              build/bench/public/: chopin-example (router.files, --assets
#              build/bench/public; sendfile on epoll, 64 KiB reads on io_uring)
#              against Debian's nginx, one worker, sendfile on, access_log off
#   json       GET /large.json (60 rows, ~2 KB) without Accept-Encoding, and
#   json-gzip  the same with `Accept-Encoding: gzip` (the Compression middleware)
#   ws         WebSocket echo at /ws: tools/ws_load.c, $WS_CONNS connections each
#              with one $WS_SIZE-byte text message in flight, against
#              hb-peer --ws (hummingbird-websocket 2.8.1)
# The rows go to extras.csv, the medians and ratios to extras.md.
if want extras; then
log "extras: 1 MiB file against nginx, /large.json with and without gzip, WebSocket echo against Hummingbird"
WS_CONNS=${WS_CONNS:-64}
WS_SIZE=${WS_SIZE:-32}
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { need_apt nginx-light && NGINX=/usr/sbin/nginx; } || exit 1
cc -O2 -Wall -Wextra -o "$ROOT/build/bench/ws_load" "$HERE/tools/ws_load.c" || exit 1
PUBLIC=$ROOT/build/bench/public
mkdir -p "$PUBLIC"
[ "$(stat -c %s "$PUBLIC/1mb.bin" 2>/dev/null)" = 1048576 ] ||
    head -c 1048576 /dev/urandom > "$PUBLIC/1mb.bin" || exit 1
chmod 755 "$ROOT/build/bench" "$PUBLIC"; chmod 644 "$PUBLIC/1mb.bin"  # nginx's worker runs as nobody under root
NGX=$OUT/nginx
mkdir -p "$NGX"
chmod 755 "$NGX"
cat > "$NGX/nginx.conf" <<NGINX_CONF
daemon off;
worker_processes 1;
pid $NGX/nginx.pid;
error_log $NGX/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;  # as Debian's own nginx.conf
    keepalive_requests 1000000;
    default_type application/octet-stream;
    client_body_temp_path $NGX/client_body;
    proxy_temp_path $NGX/proxy;
    fastcgi_temp_path $NGX/fastcgi;
    uwsgi_temp_path $NGX/uwsgi;
    scgi_temp_path $NGX/scgi;
    server {
        listen 127.0.0.1:9125;
        location = /plaintext { return 200 "Hello, World!"; }
        location /assets/ { alias $PUBLIC/; }
    }
}
NGINX_CONF
EXTRAS_SERVERS=(
    "chopin-epoll|9121|file1m json json-gzip ws|$CHOPIN --port 9121 --workers 1 --backend epoll --assets $ROOT/build/bench/public"
    "chopin-uring|9122|file1m json json-gzip ws|$CHOPIN --port 9122 --workers 1 --backend uring --assets $ROOT/build/bench/public"
    "nginx|9125|file1m|$NGINX -p $NGX/ -c $NGX/nginx.conf"
    "hummingbird|9124|ws|$HERE/peers/.build/release/hb-peer 9124 --ws"
)
if [ -n "${ONLY:-}" ]; then
    kept=()
    for entry in "${EXTRAS_SERVERS[@]}"; do [[ " $ONLY " == *" ${entry%%|*} "* ]] && kept+=("$entry"); done
    EXTRAS_SERVERS=("${kept[@]}")
fi
# This machine's two CPUs may be shared: before each test, wait (up to
# QUIET_WAIT seconds) for a second in which neither CPU is over 15% busy, and
# note in the CSV how long that took (0: quiet at once).
QUIET_WAIT=${QUIET_WAIT:-20}
wait_quiet() {  # -> seconds waited
    local waited=0 a0 a1 c0 c1
    while [ "$waited" -lt "$QUIET_WAIT" ]; do
        a0=$(cpu_busy "$SERVER_CPU"); a1=$(cpu_busy "$WRK_CPU"); sleep 1
        c0=$(cpu_busy "$SERVER_CPU"); c1=$(cpu_busy "$WRK_CPU")
        [ $((c0 - a0)) -le $((HZ * 15 / 100)) ] && [ $((c1 - a1)) -le $((HZ * 15 / 100)) ] && break
        waited=$((waited + 1))
    done
    echo "$waited"
}
echo "round,server,test,per_s,p50_ms,p99_ms,us_per_op,proc_us_per_op,body_bytes,errors,waited_s" > "$OUT/extras.csv"
for round in $(seq 1 "$ROUNDS"); do
    for entry in "${EXTRAS_SERVERS[@]}"; do
        IFS='|' read -r name port tests cmd <<< "$entry"
        # shellcheck disable=SC2086
        start_server "$port" $cmd || { stop_server; FAILED=1; continue; }
        for test in $tests; do
            f=$OUT/r$round-$name-$test.txt
            header=""; bytes=""
            case $test in
            file1m) path=/assets/1mb.bin ;;
            json) path=/large.json ;;
            json-gzip) path=/large.json; header="Accept-Encoding: gzip" ;;
            esac
            waited=$(wait_quiet)
            if [ "$test" = ws ]; then
                taskset -c "$WRK_CPU" "$ROOT/build/bench/ws_load" "$port" "$WS_CONNS" "$WARMUP" "$WS_SIZE" > /dev/null 2>&1
                b0=$(cpu_busy "$SERVER_CPU"); t0=$(tree_ticks "$SPID")
                timeout -k 5 $((DURATION + 30)) taskset -c "$WRK_CPU" "$ROOT/build/bench/ws_load" "$port" "$WS_CONNS" "$DURATION" "$WS_SIZE" > "$f" 2>&1
                b1=$(cpu_busy "$SERVER_CPU"); t1=$(tree_ticks "$SPID")
                rate=$(awk '$1=="messages/s" {print $2}' "$f")
                n=$(awk '$1=="messages" {print $2}' "$f")
                p50=$(awk '$1=="p50_us" {print $2/1000}' "$f")
                p99=$(awk '$1=="p99_us" {print $2/1000}' "$f")
                errs=$(awk '$1=="errors" {print $2}' "$f")
                bytes=$WS_SIZE
            else
                url=http://127.0.0.1:$port$path
                bytes=$(curl -s -o /dev/null -w '%{size_download}' ${header:+-H "$header"} "$url")
                wrk_run "$WARMUP" "$url" 0 "$header" > /dev/null 2>&1
                b0=$(cpu_busy "$SERVER_CPU"); t0=$(tree_ticks "$SPID")
                wrk_run "$DURATION" "$url" 0 "$header" > "$f" 2>&1
                b1=$(cpu_busy "$SERVER_CPU"); t1=$(tree_ticks "$SPID")
                rate=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$f")
                n=$(requests_of "$f")
                p50=$(to_ms "$(awk '$1=="50%" {print $2; exit}' "$f")")
                p99=$(to_ms "$(awk '$1=="99%" {print $2; exit}' "$f")")
                errs=$(awk '/Socket errors:/ {gsub(",",""); e+=$4+$6+$8+$10} /Non-2xx/ {e+=$NF} END{print e+0}' "$f")
            fi
            us=$(us_per_op $((b1 - b0)) "${n:-0}")
            pus=$(us_per_op $((t1 - t0)) "${n:-0}")
            echo "$round,$name,$test,${rate:-0},$p50,$p99,$us,$pus,$bytes,${errs:-1},$waited" >> "$OUT/extras.csv"
            printf '%-2s %-13s %-10s %10s /s %8s us/op (process %s) %8s bytes%s\n' "$round" "$name" "$test" "${rate:-FAIL}" "$us" "$pus" "$bytes" \
                "$([ "$waited" = 0 ] || echo ", waited ${waited}s for quiet CPUs")" >&2
            [ "${errs:-1}" = 0 ] || FAILED=1
        done
        stop_server
        sleep 1
    done
done
"$PY" "$HERE/tools/extras_report.py" "$OUT" > /dev/null || FAILED=1
fi

# ---- summary ----------------------------------------------------------------------------------
# ---- tls: HTTPS against nginx (issue 24) ------------------------------------------------------
# chopin-example --tls-cert/--tls-key and Debian's nginx, one worker each, on
# the same CPUs, with the same self-signed EC P-256 certificate and the same
# settings (TLS 1.2 and 1.3, Chopin's TLS 1.2 suites, X25519/P-256/P-384,
# session tickets; each client negotiates TLS 1.3 with TLS_AES_256_GCM_SHA384):
#   handshake  full handshakes, one after another: `openssl s_time -new` on the
#              client CPU; per handshake: the server's own CPU µs (its process
#              tree's user + system time), and handshakes per second
#   plaintext  GET /plaintext over keep-alive TLS connections (wrk https,
#              $CONNS connections): the server's CPU µs per request
#   file       GET of a 1 MiB static file over keep-alive TLS connections
#              (wrk https, 8 connections): the server's CPU µs per MiB; where
#              kTLS runs, the kernel seals it as sendfile sends it
# Where the kernel offers kTLS (the tls ULP), Chopin's rows use it, nginx is
# told to use it too (ssl_conf_command Options KTLS), and chopin-epoll-user
# (--no-kernel-tls) is the user-space row beside them; the table's first
# line says which record layer ran.
# The rows go to tls.csv, the medians and ratios to tls.md.
if want tls; then
log "tls: full handshakes and keep-alive /plaintext over TLS, against nginx"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { need_apt nginx-light && NGINX=/usr/sbin/nginx; } || exit 1
TLSD=$OUT/tls
mkdir -p "$TLSD"
chmod 755 "$TLSD"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$TLSD/key.pem" -out "$TLSD/cert.pem" 2>/dev/null || exit 1
chmod 644 "$TLSD/key.pem" "$TLSD/cert.pem"  # nginx's worker runs as nobody under root
mkdir -p "$TLSD/assets"
head -c $((1 << 20)) /dev/urandom > "$TLSD/assets/mib.bin"
chmod -R a+rX "$TLSD/assets"
KTLS_ON=0; KTLS_NGINX=""
if [ -r /proc/sys/net/ipv4/tcp_available_ulp ] && { grep -qw tls /proc/sys/net/ipv4/tcp_available_ulp || modprobe -q tls 2>/dev/null; } \
    && grep -qw tls /proc/sys/net/ipv4/tcp_available_ulp; then
    KTLS_ON=1; KTLS_NGINX="ssl_conf_command Options KTLS;"
    TLS_LAYER="kTLS: the kernel seals after each handshake (Chopin's rows and nginx's; chopin-epoll-user seals in user space)"
else
    TLS_LAYER="user space: the kernel has no tls ULP here, so kTLS is not measured"
fi
cat > "$TLSD/nginx.conf" <<NGINX_CONF
daemon off;
worker_processes 1;
pid $TLSD/nginx.pid;
error_log $TLSD/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path $TLSD/client_body;
    proxy_temp_path $TLSD/proxy;
    fastcgi_temp_path $TLSD/fastcgi;
    uwsgi_temp_path $TLSD/uwsgi;
    scgi_temp_path $TLSD/scgi;
    server {
        listen 127.0.0.1:9135 ssl;
        ssl_certificate $TLSD/cert.pem;
        ssl_certificate_key $TLSD/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;
        ssl_prefer_server_ciphers on;
        ssl_ecdh_curve X25519:prime256v1:secp384r1;
        ssl_session_tickets on;
        $KTLS_NGINX
        sendfile on;
        location = /plaintext { return 200 "Hello, World!"; }
        location /assets/ { alias $TLSD/assets/; }
    }
}
NGINX_CONF
CHOPIN_TLS="--workers 1 --assets $TLSD/assets --tls-cert $TLSD/cert.pem --tls-key $TLSD/key.pem"
TLS_SERVERS=(
    "chopin-epoll|9131|$CHOPIN --port 9131 --backend epoll $CHOPIN_TLS"
    "chopin-uring|9132|$CHOPIN --port 9132 --backend uring $CHOPIN_TLS"
    "nginx|9135|$NGINX -p $TLSD/ -c $TLSD/nginx.conf"
)
[ "$KTLS_ON" = 1 ] && TLS_SERVERS+=("chopin-epoll-user|9133|$CHOPIN --port 9133 --backend epoll --no-kernel-tls $CHOPIN_TLS")
if [ -n "${ONLY:-}" ]; then
    kept=()
    for entry in "${TLS_SERVERS[@]}"; do [[ " $ONLY " == *" ${entry%%|*} "* ]] && kept+=("$entry"); done
    TLS_SERVERS=("${kept[@]}")
fi
# One wrk row over keep-alive TLS connections into tls.csv: requests per
# second and the server's CPU µs per request (per `unit`); a row with
# socket errors, non-2xx answers or no request fails the run.
tls_wrk_row() {  # round name test url connections unit
    local round=$1 name=$2 test=$3 url=$4 conns=$5 unit=$6 f t0 t1 n rate us errs
    f=$OUT/r$round-$name-tls-$test.txt
    CONNS=$conns wrk_run "$WARMUP" "$url" 0 > /dev/null 2>&1
    t0=$(tree_ticks "$SPID")
    CONNS=$conns wrk_run "$DURATION" "$url" 0 > "$f" 2>&1
    t1=$(tree_ticks "$SPID")
    n=$(requests_of "$f")
    rate=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$f")
    us=$(us_per_op $((t1 - t0)) "${n:-0}")
    echo "$round,$name,$test,${rate:-0},$us,${n:-0}" >> "$OUT/tls.csv"
    printf '%-2s %-13s %-10s %10s /s %10s us/%s\n' "$round" "$name" "$test" "${rate:-FAIL}" "$us" "$unit" >&2
    errs=$(awk '/Socket errors:/ {gsub(",",""); e+=$4+$6+$8+$10} /Non-2xx/ {e+=$NF} END{print e+0}' "$f")
    [ "${errs:-1}" = 0 ] && [ "${n:-0}" -gt 0 ] || FAILED=1
}
echo "round,server,test,per_s,us_per_op,ops" > "$OUT/tls.csv"
for round in $(seq 1 "$ROUNDS"); do
    for entry in "${TLS_SERVERS[@]}"; do
        IFS='|' read -r name port cmd <<< "$entry"
        # shellcheck disable=SC2086
        start_server "$port" $cmd || { stop_server; FAILED=1; continue; }
        # handshakes
        f=$OUT/r$round-$name-tls-handshake.txt
        taskset -c "$WRK_CPU" openssl s_time -connect "127.0.0.1:$port" -new -time "$WARMUP" > /dev/null 2>&1
        t0=$(tree_ticks "$SPID")
        timeout -k 5 $((DURATION + 30)) taskset -c "$WRK_CPU" openssl s_time -connect "127.0.0.1:$port" -new \
            -time "$DURATION" > "$f" 2>&1
        t1=$(tree_ticks "$SPID")
        n=$(awk '/connections in .* real seconds/ {print $1; exit}' "$f")
        secs=$(awk '/connections in .* real seconds/ {print $4; exit}' "$f")
        rate=$(awk -v n="${n:-0}" -v s="${secs:-0}" 'BEGIN{ if (s>0) printf "%.0f", n/s; else print 0 }')
        us=$(us_per_op $((t1 - t0)) "${n:-0}")
        echo "$round,$name,handshake,$rate,$us,${n:-0}" >> "$OUT/tls.csv"
        printf '%-2s %-13s %-10s %10s /s %10s us/handshake\n' "$round" "$name" handshake "$rate" "$us" >&2
        [ "${n:-0}" -gt 0 ] || FAILED=1
        # keep-alive requests, then a 1 MiB file per request
        tls_wrk_row "$round" "$name" plaintext "https://127.0.0.1:$port/plaintext" "$CONNS" request
        tls_wrk_row "$round" "$name" file "https://127.0.0.1:$port/assets/mib.bin" 8 MiB
        stop_server
        sleep 1
    done
done
# Medians per server and test, and Chopin's over nginx's (below 1: less CPU).
awk -F, -v layer="$TLS_LAYER" 'NR>1 {k=$2","$3; v[k]=v[k]" "$5; r[k]=r[k]" "$4}
    function med(s,   a,n,i,j,t) { n=split(s,a," "); for(i=1;i<=n;i++) for(j=i+1;j<=n;j++) if (a[j]+0<a[i]+0) {t=a[i];a[i]=a[j];a[j]=t}
        return n ? (n%2 ? a[(n+1)/2] : (a[n/2]+a[n/2+1])/2) : 0 }
    function ratio(x, base) { return base > 0 ? sprintf("%.2fx", x/base) : "-" }
    END {
        print "Records sealed in " layer "."
        print ""
        print "| server | handshakes/s | CPU µs/handshake | ÷ nginx | keep-alive /plaintext req/s | CPU µs/req | ÷ nginx | 1 MiB file/s | CPU µs/MiB | ÷ nginx |"
        print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        nh=med(v["nginx,handshake"]); np=med(v["nginx,plaintext"]); nf=med(v["nginx,file"])
        split("chopin-epoll chopin-uring chopin-epoll-user nginx", names, " ")
        for (i=1;i<=4;i++) { s=names[i]; if (!((s",handshake") in v)) continue
            h=med(v[s",handshake"]); p=med(v[s",plaintext"]); f=med(v[s",file"])
            printf "| %s | %.0f | %.1f | %s | %.0f | %.2f | %s | %.0f | %.0f | %s |\n", s, med(r[s",handshake"]), h,
                ratio(h, nh), med(r[s",plaintext"]), p, ratio(p, np), med(r[s",file"]), f, ratio(f, nf) }
    }' "$OUT/tls.csv" > "$OUT/tls.md"
cat "$OUT/tls.md" >&2
fi

if [ "$WHAT" != all ]; then
    [ "$WHAT" = extras ] || [ "$WHAT" = tls ] || cat "$COSTS" 2>/dev/null
    [ "$WHAT" = matrix ] && cat "$OUT/table.md"
    [ "$WHAT" = extras ] && cat "$OUT/extras.md"
    [ "$WHAT" = tls ] && cat "$OUT/tls.md"
    echo "results: $OUT" >&2
    exit $FAILED
fi
{
    echo "# Chopin benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "Machine: $(nproc) CPUs ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), kernel $(uname -r)."
    echo "Each server on CPU $SERVER_CPU with one worker or event loop, wrk on CPU $WRK_CPU: \`wrk -t1 -c$CONNS -d${DURATION}s\`,"
    echo "${WARMUP}s warm-up per test, $ROUNDS round(s) interleaved, medians shown. CPU µs/req counts all busy time"
    echo "on the server's CPU (softirq included) per response. \`pipelined\` sends $DEPTH requests per write."
    cat "$OUT/table.md"
    echo
    echo "**Chopin's per-request costs** (chopin-example, one worker)"
    echo
    cat "$COSTS"
    if [ -f "$OUT/extras.md" ]; then
        echo
        echo "**Files, compression and WebSocket** (the same CPUs, rounds interleaved, medians)"
        cat "$OUT/extras.md"
    fi
    if [ -f "$OUT/tls.md" ]; then
        echo
        echo "**HTTPS against nginx** (the same CPUs and certificate, rounds interleaved, medians)"
        cat "$OUT/tls.md"
    fi
} > "$OUT/summary.md"
cp "$OUT/summary.md" "$HERE/results/latest.md"
[ -f "$OUT/chart.png" ] && cp "$OUT/chart.png" "$HERE/results/chart.png"
cat "$OUT/summary.md"
echo "results: $OUT" >&2
exit $FAILED
