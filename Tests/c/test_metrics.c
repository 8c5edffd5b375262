/* test_metrics.c - the per-worker counters and the latency histogram as a
 * reader sees them over real sockets, and the log handler hook. */
#include "fixture.h"
#include "net.h"
#include "test.h"

#include <pthread.h>

/* A deferred answer that arrives ~60 ms later, from another thread. */
static void *answer_later(void *arg) {
    chopin_deferred *d = arg;
    usleep(60000);
    chopin_response_send(chopin_deferred_response(d), 200, "text/plain", "late", 4);
    chopin_deferred_finish(d);
    return NULL;
}
static pthread_t late_thread;

static int path_is(const chopin_request *req, const char *p) {
    return req->path.len == strlen(p) && memcmp(req->path.ptr, p, req->path.len) == 0;
}

static void app(void *ctx, const chopin_request *req, chopin_response *res) {
    (void)ctx;
    if (path_is(req, "/slow"))
        pthread_create(&late_thread, NULL, answer_later, chopin_response_defer(res));
    else if (path_is(req, "/missing"))
        chopin_response_send(res, 404, "text/plain", "no", 2);
    else if (path_is(req, "/boom"))
        chopin_response_send(res, 500, "text/plain", "boom", 4);
    else
        chopin_response_send(res, 200, "text/plain", "ok", 2);
}

static client cl;
static response r;

static uint64_t latency_total(const chopin_latency *l) {
    uint64_t n = 0;
    for (int b = 0; b < CHOPIN_LATENCY_BUCKETS; b++) n += l->buckets[b];
    return n;
}

static void test_counters_and_histogram(void) {
    t_case = "per-worker counters and latency match the requests sent";
    chopin_config cfg = fixture_config(app);
    cfg.workers = 2;
    chopin_server *s = fixture_start(&cfg);
    if (!s) {
        CHECK(0, "no server");
        return;
    }
    uint16_t port = chopin_server_port(s);
    CHECK(client_connect(&cl, port) == 0, "connect");
    for (int i = 0; i < 3; i++) {
        SEND(&cl, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        CHECK(client_read_response(&cl, &r, 2000, 0) == 0 && r.status == 200, "status %d", r.status);
    }
    SEND(&cl, "GET /missing HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(client_read_response(&cl, &r, 2000, 0) == 0 && r.status == 404, "status %d", r.status);
    SEND(&cl, "GET /boom HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(client_read_response(&cl, &r, 2000, 0) == 0 && r.status == 500, "status %d", r.status);
    SEND(&cl, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(client_read_response(&cl, &r, 2000, 0) == 0 && r.status == 200, "status %d", r.status);
    pthread_join(late_thread, NULL);
    client_close(&cl);
    /* A second connection that sends garbage: a parse error, not a request. */
    CHECK(client_connect(&cl, port) == 0, "connect");
    SEND(&cl, "NOT HTTP\r\n\r\n");
    CHECK(client_read_response(&cl, &r, 2000, 0) == 0 && r.status == 400, "status %d", r.status);
    client_wait_eof(&cl, 2000);
    client_close(&cl);
    usleep(50000); /* the worker counts the close once it sees it */

    chopin_metrics sum, one;
    chopin_latency lat, all = {0};
    memset(&sum, 0, sizeof sum);
    uint32_t workers = chopin_server_workers(s);
    CHECK_EQ_INT(workers, 2);
    for (uint32_t i = 0; i < workers; i++) {
        CHECK(chopin_server_worker_metrics(s, i, &one, &lat) == 0, "worker %u", i);
        sum.requests += one.requests;
        sum.accepted += one.accepted;
        sum.closed += one.closed;
        sum.active += one.active;
        sum.bytes_in += one.bytes_in;
        for (int b = 0; b < CHOPIN_LATENCY_BUCKETS; b++) all.buckets[b] += lat.buckets[b];
        all.sum_ms += lat.sum_ms;
    }
    CHECK(chopin_server_worker_metrics(s, workers, &one, &lat) == -1, "a worker past the last is refused");
    CHECK_EQ_INT(sum.requests, 6);
    CHECK_EQ_INT(sum.accepted, 2);
    CHECK_EQ_INT(sum.closed, 2);
    CHECK_EQ_INT(sum.active, 0);
    CHECK(sum.bytes_in > 100, "bytes_in %llu", (unsigned long long)sum.bytes_in);
    /* Every answered request is in the histogram once; the 400 was no request. */
    CHECK_EQ_INT(latency_total(&all), 6);
    /* The five answered in their own loop turn took 0 ms on the loop clock. */
    CHECK_EQ_INT(all.buckets[0], 5);
    /* The deferred one waited ~60 ms: above 50, at most 250 (a slow CI box). */
    uint64_t slow = 0;
    for (int b = 0; b < CHOPIN_LATENCY_BUCKETS; b++)
        if (chopin_latency_bound_ms((uint32_t)b) > 50 && chopin_latency_bound_ms((uint32_t)b) <= 250)
            slow += all.buckets[b];
    CHECK_EQ_INT(slow, 1);
    CHECK(all.sum_ms >= 55 && all.sum_ms <= 250, "sum_ms %llu", (unsigned long long)all.sum_ms);

    /* The summed reading agrees with the per-worker ones. */
    chopin_server_metrics(s, &one);
    CHECK_EQ_INT(one.requests, 6);
    CHECK_EQ_INT(one.responses_4xx, 2); /* the 404 and the 400 */
    CHECK_EQ_INT(one.responses_5xx, 1);
    CHECK_EQ_INT(one.parse_errors, 1);
    CHECK_EQ_INT(one.accepted, 2);
    fixture_stop(s);
}

static void test_bounds(void) {
    t_case = "latency bucket bounds rise, and the last is unbounded";
    for (uint32_t b = 1; b < CHOPIN_LATENCY_BUCKETS; b++)
        CHECK(chopin_latency_bound_ms(b) > chopin_latency_bound_ms(b - 1), "bucket %u", b);
    CHECK(chopin_latency_bound_ms(CHOPIN_LATENCY_BUCKETS - 1) == UINT32_MAX, "+Inf");
    CHECK(chopin_latency_bound_ms(CHOPIN_LATENCY_BUCKETS) == UINT32_MAX, "past the end");
    for (uint32_t b = 1; b < CHOPIN_ROUTE_BUCKETS; b++)
        CHECK(chopin_route_bound_ns(b) > chopin_route_bound_ns(b - 1), "route bucket %u", b);
    CHECK(chopin_route_bound_ns(0) == 50000, "the first route bucket is 50 us");
    CHECK(chopin_route_bound_ns(CHOPIN_ROUTE_BUCKETS - 1) == UINT64_MAX, "route +Inf");
    CHECK(_Alignof(chopin_worker_metrics) == CHOPIN_CACHELINE, "block alignment");
    CHECK(offsetof(chopin_worker_metrics, latency) % CHOPIN_CACHELINE == 0, "histogram alignment");
}

/* Records each answer against a route index and a duration the path names. */
static void route_app(void *ctx, const chopin_request *req, chopin_response *res) {
    (void)ctx;
    if (path_is(req, "/fast")) {
        chopin_response_record_route(res, 0, 200, 70000); /* 70 us: the 100 us bucket */
        chopin_response_send(res, 200, "text/plain", "ok", 2);
    } else if (path_is(req, "/missing")) {
        chopin_response_record_route(res, 1, 404, 3000000); /* 3 ms: the 5 ms bucket */
        chopin_response_send(res, 404, "text/plain", "no", 2);
    } else if (path_is(req, "/slow")) {
        chopin_response_record_route(res, 2, 503, 20000000000ull); /* 20 s: +Inf */
        chopin_response_send(res, 503, "text/plain", "busy", 4);
    } else {
        chopin_response_record_route(res, 3, 200, 1); /* past route_metrics: not counted */
        chopin_response_send(res, 200, "text/plain", "ok", 2);
    }
}

static void test_route_metrics(void) {
    t_case = "per-route cells count answers by route, status class and nanosecond bucket";
    chopin_config cfg = fixture_config(route_app);
    cfg.workers = 1;
    cfg.route_metrics = 3;
    chopin_server *s = fixture_start(&cfg);
    if (!s) {
        CHECK(0, "no server");
        return;
    }
    CHECK_EQ_INT(chopin_server_route_count(s), 3);
    CHECK(client_connect(&cl, chopin_server_port(s)) == 0, "connect");
    const char *paths[] = {"/fast", "/fast", "/missing", "/slow", "/other"};
    for (int i = 0; i < 5; i++) {
        char line[64];
        int n = snprintf(line, sizeof line, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", paths[i]);
        client_send(&cl, line, (size_t)n);
        CHECK(client_read_response(&cl, &r, 2000, 0) == 0, "%s answered", paths[i]);
    }
    client_close(&cl);
    chopin_route_cell c;
    CHECK(chopin_server_route_metrics(s, 0, 0, 1, &c) == 0, "route 0, 2xx");
    CHECK_EQ_INT(c.count, 2);
    CHECK_EQ_INT(c.sum_ns, 140000);
    CHECK_EQ_INT(c.buckets[1], 2);
    CHECK(chopin_server_route_metrics(s, 0, 1, 3, &c) == 0, "route 1, 4xx");
    CHECK_EQ_INT(c.count, 1);
    CHECK(chopin_route_bound_ns(5) == 2500000 && c.buckets[6] == 1, "3 ms in the 5 ms bucket");
    CHECK(chopin_server_route_metrics(s, 0, 2, 4, &c) == 0, "route 2, 5xx");
    CHECK_EQ_INT(c.buckets[CHOPIN_ROUTE_BUCKETS - 1], 1);
    CHECK(chopin_server_route_metrics(s, 0, 0, 3, &c) == 0 && c.count == 0, "route 0 has no 4xx");
    CHECK(chopin_server_route_metrics(s, 0, 3, 1, &c) == -1, "route 3 is past the count");
    CHECK(chopin_server_route_metrics(s, 0, 0, 5, &c) == -1, "class 5 is past the classes");
    CHECK(chopin_server_route_metrics(s, 1, 0, 1, &c) == -1, "worker 1 does not exist");
    fixture_stop(s);

    t_case = "without route_metrics nothing is counted and nothing is read";
    cfg.route_metrics = 0;
    s = fixture_start(&cfg);
    if (!s) {
        CHECK(0, "no server");
        return;
    }
    CHECK_EQ_INT(chopin_server_route_count(s), 0);
    CHECK(client_connect(&cl, chopin_server_port(s)) == 0, "connect");
    SEND(&cl, "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(client_read_response(&cl, &r, 2000, 0) == 0 && r.status == 200, "answered");
    client_close(&cl);
    CHECK(chopin_server_route_metrics(s, 0, 0, 1, &c) == -1, "no cells");
    fixture_stop(s);
}

static char logged[1024];
static int log_calls;
static void capture(void *ctx, const char *line, size_t len) {
    CHECK(ctx == &log_calls, "the context comes back");
    if (len >= sizeof logged) len = sizeof logged - 1;
    memcpy(logged, line, len);
    logged[len] = 0;
    log_calls++;
}

static void test_log_handler(void) {
    t_case = "a log handler receives the startup line, without its newline";
    chopin_set_log_handler(capture, &log_calls);
    chopin_config cfg = fixture_config(app);
    cfg.quiet = 0;
    chopin_server *s = fixture_start(&cfg);
    CHECK(s != NULL, "start");
    CHECK(log_calls == 1, "calls %d", log_calls);
    CHECK(strstr(logged, "listening on 127.0.0.1:") != NULL, "line '%s'", logged);
    CHECK(strchr(logged, '\n') == NULL, "no newline in '%s'", logged);
    chopin_set_log_handler(NULL, NULL);
    fixture_stop(s);
}

static void run_backend(const char *name) {
    (void)name;
    test_counters_and_histogram();
    test_route_metrics();
    test_log_handler();
    log_calls = 0;
}

int main(void) {
    test_bounds();
    fixture_each_backend(run_backend);
    return test_finish("test_metrics");
}
