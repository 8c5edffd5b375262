"""GET /metrics read by Prometheus's own text parser (prometheus_client), on
both backends and both isolation modes: every family has HELP and TYPE, every
sample a worker label, and the counters match the requests this test sent.

usage: test_prometheus.py PATH_TO_CHOPIN_EXAMPLE
"""
import socket
import subprocess
import sys
import time
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print(f"FAIL {what}", file=sys.stderr)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def get(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
        return r.status, r.read().decode()


def run(binary, backend, isolation):
    port = free_port()
    server = subprocess.Popen(
        [binary, "--host", "127.0.0.1", "--port", str(port), "--workers", "2",
         "--backend", backend, "--isolation", isolation],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        sent = 0
        for _ in range(200):  # until it serves; each try that got through counts
            try:
                get(port, "/plaintext")
                sent += 1
                break
            except OSError:
                time.sleep(0.05)
        for _ in range(57):
            get(port, "/plaintext")
            sent += 1
        for _ in range(3):
            try:
                get(port, "/nowhere")
            except urllib.error.HTTPError as e:
                check(e.code == 404, "404")
            sent += 1
        # RouteMetrics' routes: /metered/json (200) and /api/me without its token (401).
        for _ in range(4):
            get(port, "/metered/json")
            sent += 1
        for _ in range(2):
            try:
                get(port, "/api/me")
            except urllib.error.HTTPError as e:
                check(e.code == 401, "401")
            sent += 1
        status, text = get(port, "/metrics")
        check(status == 200, "GET /metrics answers 200")
        families = {f.name: f for f in text_string_to_metric_families(text)}
        where = f"[{backend}, {isolation}]"
        for name in ("chopin_requests", "chopin_client_error_responses", "chopin_request_duration_seconds"):
            check(name in families, f"{where} family {name} present (got {sorted(families)})")
        for f in families.values():
            check(bool(f.documentation), f"{where} {f.name} has HELP")
            check(f.type in ("counter", "gauge", "histogram"), f"{where} {f.name} TYPE {f.type}")
            for s in f.samples:
                check("worker" in s.labels, f"{where} {s.name} has a worker label")
        total = sum(s.value for s in families["chopin_requests"].samples if s.name == "chopin_requests_total")
        check(total == sent, f"{where} chopin_requests_total {total} == requests sent {sent}")
        errors = sum(s.value for s in families["chopin_client_error_responses"].samples
                     if s.name == "chopin_client_error_responses_total")
        check(errors == 5, f"{where} 4xx responses {errors} == 5")
        # Per route and status class, whichever worker (thread or process) answered.
        route = families.get("http_server_request_duration_seconds")
        check(route is not None and route.type == "histogram", f"{where} per-route histogram present")
        if route is not None:
            def count(path, status):
                return sum(s.value for s in route.samples
                           if s.name == "http_server_request_duration_seconds_count"
                           and s.labels.get("http_route") == path
                           and s.labels.get("http_response_status_code") == status)
            check(count("/metered/json", "2xx") == 4, f"{where} /metered/json 2xx {count('/metered/json', '2xx')} == 4")
            check(count("/api/me", "4xx") == 2, f"{where} /api/me 4xx {count('/api/me', '4xx')} == 2")
            sums = [s.value for s in route.samples if s.name == "http_server_request_duration_seconds_sum"
                    and s.labels.get("http_route") == "/metered/json"]
            check(sum(sums) > 0, f"{where} /metered/json durations are not 0")
        counts = [s for s in families["chopin_request_duration_seconds"].samples
                  if s.name == "chopin_request_duration_seconds_count"]
        check(sum(s.value for s in counts) >= sent - 1, f"{where} latency count covers the requests")
    finally:
        server.terminate()
        server.wait(timeout=15)


def main():
    binary = sys.argv[1]
    for backend in ("epoll", "uring"):
        for isolation in ("threads", "shared-process", "process-per-worker"):
            run(binary, backend, isolation)
    print(f"test_prometheus: {'ok' if failures == 0 else f'{failures} failed'}")
    sys.exit(1 if failures else 0)


main()
