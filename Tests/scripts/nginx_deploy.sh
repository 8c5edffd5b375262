#!/usr/bin/env bash
# nginx_deploy.sh - the deployment the README shows, tested: Debian's nginx
# as a reverse proxy with upstream keep-alive in front of two chopin-example
# instances (127.0.0.1 and 127.0.0.2, same port, two workers each, under the
# isolation NGINX_DEPLOY_ISOLATION names: process-per-worker by default),
# all started here with their own files in a temp dir (no root paths).
#   1. requests through nginx are answered;
#   2. a worker that traps behind nginx costs only the trapping request;
#   3. under 10 s of load through nginx, instance A rolled with SIGHUP every
#      2 s and instance B stopped (its default 3 s drain: readiness 503,
#      still serving, then the listeners close) and started again: 0 failed
#      requests;
#   4. a third instance (127.0.0.4, access log on) trusts nginx's address:
#      it logs the client's address from X-Forwarded-For, a client that
#      sends its own X-Forwarded-For through nginx cannot choose it, and one
#      that sends it straight to the instance is logged as its peer.
# Usage: nginx_deploy.sh [path/to/chopin-example]   (default .build/debug/chopin-example)
set -u
example=${1:-.build/debug/chopin-example}
fail() { echo "nginx_deploy: FAIL: $*" >&2; exit 1; }
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || fail "nginx is not installed: run make deps"
command -v wrk >/dev/null 2>&1 || fail "wrk is not installed: run make deps"
[ -x "$example" ] || fail "$example not built (swift build --product chopin-example)"
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
example=$(realpath "$example")

dir=$(mktemp -d /tmp/chopin-nginx.XXXXXX)
chmod 755 "$dir"  # nginx's workers (nobody, under root) use the temp paths here
pids=()
cleanup() {
    [ -f "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" 2>/dev/null
    # A second SIGTERM stops an instance at once, past its drain period.
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    sleep 0.1
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    sleep 0.3
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT

# A port free on both loopback addresses, and one for nginx: below the
# kernel's ephemeral range, which the load's own connections draw from.
free_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 12000))
        ss -Htln "( sport = :$p )" | grep -q . || { echo "$p"; return; }
    done
}
port=$(free_port)
proxy_port=$(free_port)
[ "$port" != "$proxy_port" ] || proxy_port=$((port + 1))
logged_proxy_port=$(free_port)
while [ "$logged_proxy_port" = "$port" ] || [ "$logged_proxy_port" = "$proxy_port" ]; do logged_proxy_port=$(free_port); done

# Starts instance $1 (A, B or C) on address $2, with any further flags; its pid in $dir/$1.pid.
start_instance() {
    "$example" --host "$2" --port "$port" --workers 2 --isolation "${NGINX_DEPLOY_ISOLATION:-process-per-worker}" "${@:3}" >/dev/null 2>>"$dir/$1.err" &
    echo $! >"$dir/$1.pid"
    pids+=($!)
    for _ in $(seq 300); do
        curl -s -o /dev/null -m 1 "http://$2:$port/plaintext" && return 0
        sleep 0.05
    done
    fail "instance $1 never served: $(tail -5 "$dir/$1.err")"
}
start_instance A 127.0.0.1
start_instance B 127.0.0.2
# nginx reaches its upstreams from a loopback address; clients below come from 127.0.0.3.
start_instance C 127.0.0.4 --access-log --trusted-proxy 127.0.0.1 --trusted-proxy 127.0.0.2 --trusted-proxy 127.0.0.4

# The configuration the README's deployment section shows.
cat >"$dir/nginx.conf" <<EOF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $dir/client_body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    upstream chopin {
        # max_fails=0: an instance that is restarting is tried again on the
        # next request instead of being left out for fail_timeout.
        server 127.0.0.1:$port max_fails=0;
        server 127.0.0.2:$port max_fails=0;
        keepalive 32;
    }
    server {
        listen 127.0.0.1:$proxy_port;
        location / {
            proxy_pass http://chopin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            # What the client sent, with the address nginx got it from appended.
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            # A connection refused or closed before an answer: the next instance.
            proxy_next_upstream error timeout;
        }
        # nginx sends a GET whose upstream closed to the next instance: right
        # for the requests a dying worker held, wrong for the one that killed
        # it, which would kill a worker there too (and fail a request that
        # nginx retried onto that one). A route known to trap is not retried.
        location = /crash {
            proxy_pass http://chopin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_next_upstream off;
        }
    }
    upstream logged { server 127.0.0.4:$port; keepalive 4; }
    server {
        listen 127.0.0.1:$logged_proxy_port;
        location / {
            proxy_pass http://logged;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
        }
    }
}
EOF
"$nginx_bin" -p "$dir" -c "$dir/nginx.conf" -g 'daemon off;' 2>>"$dir/error.log" &
pids+=($!)
url="http://127.0.0.1:$proxy_port"
for _ in $(seq 100); do curl -s -o /dev/null -m 1 "$url/plaintext" && break; sleep 0.05; done

# 1. Requests through nginx.
body=$(curl -s -m 5 "$url/plaintext") || fail "GET /plaintext through nginx: $(tail -3 "$dir/error.log")"
[ "$body" = "Hello, World!" ] || fail "GET /plaintext through nginx answered '$body'"
code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 "$url/user/42")
[ "$code" = 200 ] || fail "GET /user/42 through nginx: $code"
echo "nginx_deploy: requests through nginx answered"

# Runs wrk for $1 seconds through nginx; prints "requests failures".
load() {
    wrk -t2 -c8 -d"$1"s "$url/plaintext" >"$dir/wrk.out" 2>&1
    local total errs non2xx
    total=$(awk '/requests in/ {print $1}' "$dir/wrk.out")
    errs=$(awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$dir/wrk.out")
    non2xx=$(awk '/Non-2xx/ {print $NF}' "$dir/wrk.out")
    echo "${total:-0} $((${errs:-0} + ${non2xx:-0}))"
}

# 2. A trap behind nginx, under load: only the trapping request fails.
load 3 >"$dir/load2" &
loader=$!
sleep 1
crash=$(curl -s -o /dev/null -w '%{http_code}' -m 5 "$url/crash")
wait $loader
read -r total failed <"$dir/load2"
[ "$crash" = 502 ] || fail "GET /crash through nginx answered $crash, expected 502 (the worker died)"
[ "$total" -gt 100 ] || fail "load around the crash: only $total requests ($(cat "$dir/wrk.out"))"
[ "$failed" = 0 ] || fail "a crash behind nginx failed $failed other requests: $(cat "$dir/wrk.out")"
grep -q "died of SIG.* while handling GET /crash" "$dir/A.err" "$dir/B.err" || fail "no crash line logged"
echo "nginx_deploy: a crash behind nginx cost only its request ($total others answered)"

# 3. A rolled with SIGHUP every 2 s, B stopped and started again, 10 s of load.
load 10 >"$dir/load3" &
loader=$!
for t in 1 2 3 4 5; do
    sleep 1
    kill -HUP "$(cat "$dir/A.pid")"
    if [ "$t" = 2 ]; then
        b=$(cat "$dir/B.pid")
        kill -TERM "$b"
        for _ in $(seq 200); do kill -0 "$b" 2>/dev/null || break; sleep 0.05; done
        kill -0 "$b" 2>/dev/null && fail "instance B did not stop on SIGTERM"
        wait "$b"; status=$?
        [ "$status" = 0 ] || fail "instance B exited with status $status on SIGTERM"
        grep -q "draining for 3000 ms" "$dir/B.err" || fail "instance B stopped without its drain period"
        start_instance B 127.0.0.2
    fi
    sleep 1
done
wait $loader
read -r total failed <"$dir/load3"
rolls=$(grep -c "rolling restart done" "$dir/A.err" || true)
[ "$rolls" -ge 3 ] || fail "instance A finished $rolls rolling restarts for 5 SIGHUPs: $(grep -i roll "$dir/A.err")"
[ "$total" -gt 1000 ] || fail "load during the deploy: only $total requests ($(cat "$dir/wrk.out"))"
[ "$failed" = 0 ] || fail "the deploy failed $failed requests: $(cat "$dir/wrk.out")"
echo "nginx_deploy: 5 SIGHUPs to A ($rolls rolls done), B stopped and started again, $total requests through nginx, 0 failed"
# 4. The client's address behind nginx, as instance C logs it.
logged="http://127.0.0.1:$logged_proxy_port"
curl -s -o /dev/null -m 5 --interface 127.0.0.3 "$logged/user/401" || fail "GET through nginx to C"
curl -s -o /dev/null -m 5 --interface 127.0.0.3 -H 'X-Forwarded-For: 198.51.100.66' "$logged/user/402" ||
    fail "GET with a forged X-Forwarded-For through nginx to C"
curl -s -o /dev/null -m 5 --interface 127.0.0.3 -H 'X-Forwarded-For: 198.51.100.66' "http://127.0.0.4:$port/user/403" ||
    fail "GET with a forged X-Forwarded-For straight to C"
for _ in $(seq 100); do grep -q "/user/403" "$dir/C.err" && break; sleep 0.05; done
for n in 401 402 403; do
    line=$(grep "GET /user/$n " "$dir/C.err" | head -1)
    [ -n "$line" ] || fail "no access-log line for /user/$n: $(tail -5 "$dir/C.err")"
    case "$line" in
    *"127.0.0.3 GET /user/$n "*) ;;
    *) fail "/user/$n logged with another address than the client's 127.0.0.3: $line" ;;
    esac
    case "$line" in *198.51.100.66*) fail "/user/$n: the forged address was believed: $line" ;; esac
done
echo "nginx_deploy: behind nginx the client's address is logged (127.0.0.3), a forged X-Forwarded-For is not believed"
echo "nginx_deploy: ok"
