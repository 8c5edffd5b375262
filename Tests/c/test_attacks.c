/* test_attacks.c - slow clients and floods against a server with short
 * timeouts, on both backends: well-behaved clients keep being served while
 * the attack runs, the attacking connections are closed in time, and the
 * memory each attacking connection holds is measured (the buffer_bytes
 * metric) and bounded. */
#include "fixture.h"
#include "net.h"
#include "test.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>

#define BIG 65536
static char big[BIG];

static void app(void *ctx, const chopin_request *req, chopin_response *res) {
    (void)ctx;
    if (req->path.len == 4 && memcmp(req->path.ptr, "/big", 4) == 0)
        chopin_response_send(res, 200, "application/octet-stream", big, BIG);
    else
        chopin_response_send(res, 200, "text/plain", "ok", 2);
}

static chopin_server *start(uint32_t max_connections) {
    chopin_config cfg = fixture_config(app);
    cfg.header_timeout_ms = 300;
    cfg.body_timeout_ms = 300;
    cfg.write_timeout_ms = 300;
    cfg.idle_timeout_ms = 2000;
    cfg.max_pending_output = 16384;
    cfg.max_connections = max_connections;
    return fixture_start(&cfg);
}

enum { MAX_ATTACKERS = 300 };
static client attackers[MAX_ATTACKERS];
static client good;
static response r;

/* One request from a fresh well-behaved client; its latency in ms, or -1. */
static int good_request(uint16_t port, int timeout_ms) {
    uint64_t t0 = now_ms();
    if (client_connect(&good, port) < 0) return -1;
    SEND(&good, "GET /ok HTTP/1.1\r\nHost: t\r\n\r\n");
    int rc = client_read_response(&good, &r, timeout_ms, 0);
    client_close(&good);
    return rc == 0 && r.status == 200 ? (int)(now_ms() - t0) : -1;
}

static int nonblocking(int fd) { return fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

/* How many attackers the server has closed (EOF or reset), reading whatever it sent. */
static int count_closed(int n) {
    int closed = 0;
    for (int i = 0; i < n; i++) {
        if (attackers[i].fd < 0) {
            closed++;
            continue;
        }
        char buf[65536];
        for (;;) {
            ssize_t k = recv(attackers[i].fd, buf, sizeof buf, MSG_DONTWAIT);
            if (k > 0) continue;
            if (k == 0 || (k < 0 && errno != EAGAIN)) {
                client_close(&attackers[i]);
                closed++;
            }
            break;
        }
    }
    return closed;
}

static void close_attackers(int n) {
    for (int i = 0; i < n; i++)
        client_close(&attackers[i]);
}

static void report(const char *attack, int n, uint64_t bytes) {
    printf("memory: %-8s %-34s %3d connections, %7.0f buffer bytes each\n", backend_name, attack, n, (double)bytes / n);
}

/* Drives an attack for up to 4 s: `poke` runs on every attacker every 20 ms,
 * attackers read what they get if `reads`, a good client asks every round. Checks the good client was always served
 * promptly and every attacker was closed, and reports peak memory. */
static void run_attack(chopin_server *srv, const char *name, int n, void (*poke)(client *), uint64_t max_bytes_each,
                       int reads) {
    uint16_t port = chopin_server_port(srv);
    int worst = 0, failures = 0, closed = 0;
    uint64_t peak = 0;
    uint64_t t0 = now_ms();
    chopin_metrics m0;
    chopin_server_metrics(srv, &m0);
    while (now_ms() - t0 < 4000) {
        for (int i = 0; i < n; i++)
            if (attackers[i].fd >= 0 && poke) poke(&attackers[i]);
        chopin_metrics m;
        chopin_server_metrics(srv, &m);
        if (m.buffer_bytes > peak) peak = m.buffer_bytes;
        int lat = good_request(port, 1500);
        if (lat < 0)
            failures++;
        else if (lat > worst)
            worst = lat;
        /* Closed by the server's timeouts: a client that never reads cannot
         * see the FIN until it drains what was sent before it. */
        if (reads) count_closed(n);
        closed = (int)(m.timeouts - m0.timeouts);
        if (closed >= n) break;
        usleep(20000);
    }
    uint64_t took = now_ms() - t0;
    char label[128];
    snprintf(label, sizeof label, "%s: %s", backend_name, name);
    t_case = label;
    CHECK(failures == 0, "%d well-behaved requests failed", failures);
    CHECK(worst < 1000, "a well-behaved request took %d ms", worst);
    CHECK(closed >= n, "%d of %d attackers timed out after %llu ms", closed, n, (unsigned long long)took);
    CHECK(took < 3000, "attack lasted %llu ms (timeouts are 300 ms)", (unsigned long long)took);
    CHECK(peak / (uint64_t)n <= max_bytes_each, "%llu buffer bytes per attacker",
          (unsigned long long)(peak / (uint64_t)n));
    report(name, n, peak);
    close_attackers(n);
}

static void poke_byte(client *c) {
    if (send(c->fd, "a", 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno != EAGAIN) client_close(c);
}

static int open_attackers(uint16_t port, int n, const char *first, size_t first_len) {
    for (int i = 0; i < n; i++) {
        if (client_connect(&attackers[i], port) < 0) return i;
        nonblocking(attackers[i].fd);
        if (first_len) send(attackers[i].fd, first, first_len, MSG_NOSIGNAL);
    }
    return n;
}

static void test_idle_flood(void) {
    chopin_server *srv = start(1024);
    if (!srv) return;
    int n = open_attackers(chopin_server_port(srv), 200, NULL, 0);
    run_attack(srv, "idle connections (never send)", n, NULL, 0, 1);
    fixture_stop(srv);
}

static void test_flood_over_cap(void) {
    /* 300 silent connections against a cap of 100: a well-behaved client
     * waits in the backlog until the silent ones time out, then is served. */
    chopin_server *srv = start(100);
    if (!srv) return;
    uint16_t port = chopin_server_port(srv);
    int n = open_attackers(port, 300, NULL, 0);
    char label[128];
    snprintf(label, sizeof label, "%s: flood over the connection cap", backend_name);
    t_case = label;
    uint64_t t0 = now_ms();
    int lat = good_request(port, 3000);
    CHECK(lat >= 0, "the well-behaved client was served");
    CHECK(now_ms() - t0 < 2500, "within %llu ms", (unsigned long long)(now_ms() - t0));
    close_attackers(n);
    fixture_stop(srv);
}

static void test_slowloris(void) {
    chopin_server *srv = start(1024);
    if (!srv) return;
    static const char head[] = "GET /ok HTTP/1.1\r\nHost: t\r\nX-Slow: ";
    int n = open_attackers(chopin_server_port(srv), 100, head, sizeof head - 1);
    run_attack(srv, "slowloris (a header byte / 20 ms)", n, poke_byte, 16384, 1);
    fixture_stop(srv);
}

static void test_slow_body(void) {
    chopin_server *srv = start(1024);
    if (!srv) return;
    static const char head[] = "POST /ok HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\nabc";
    int n = open_attackers(chopin_server_port(srv), 100, head, sizeof head - 1);
    /* The body is held until complete: a body byte every 20 ms for 300 ms. */
    run_attack(srv, "slow body (a body byte / 20 ms)", n, poke_byte, 16384, 1);
    fixture_stop(srv);
}

static void test_slow_reader(void) {
    chopin_server *srv = start(1024);
    if (!srv) return;
    static char reqs[100 * 40];
    size_t len = 0;
    for (int i = 0; i < 100; i++)
        len += (size_t)sprintf(reqs + len, "GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
    int n = open_attackers(chopin_server_port(srv), 50, reqs, len);
    /* Reads pause once max_pending_output (16 KiB) is queued; one response
     * (64 KiB) may overshoot it, and the send in flight (as much again) is
     * held too, plus one input block. A buffer grows by doubling, so each
     * of the two holds the power of two above what it queued: where the
     * kernel takes a whole response at once (a larger socket buffer), the
     * queue refills while the send buffer is still that size. */
    uint64_t queued = 16384 + BIG + 256, each = 16384;
    while (each < queued) each *= 2;
    run_attack(srv, "pipelining, never reading", n, NULL, 2 * each + 16384, 0);
    fixture_stop(srv);
}

static void run_backend(const char *name) {
    (void)name;
    test_idle_flood();
    test_flood_over_cap();
    test_slowloris();
    test_slow_body();
    test_slow_reader();
}

int main(void) {
    for (int i = 0; i < BIG; i++)
        big[i] = (char)('a' + i % 26);
    printf("memory: fixed cost of a connection slot: %zu bytes (connection, timer node, slab entries)\n",
           sizeof(chopin_conn) + sizeof(chopin_timer_node) + 3 * sizeof(uint32_t));
    fixture_each_backend(run_backend);
    return test_finish("test_attacks");
}
