/* test_server.c - the server over real sockets, once per backend: keep-alive,
 * pipelining, slow and stalled clients, HTTP/1.0, 100-continue, every
 * timeout, graceful shutdown with requests in flight, the connection cap,
 * deferred responses, bad input, and the io_uring fallback. */
#include "fixture.h"
#include "net.h"
#include "test.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define BIG_SIZE 65536
static char big_body[BIG_SIZE];

/* ---- the test application ---------------------------------------------------- */
typedef struct deferred_job {
    chopin_deferred *d;
    int ms;
} deferred_job;

static void *finish_later(void *arg) {
    deferred_job *job = arg;
    usleep((useconds_t)job->ms * 1000);
    chopin_response *r = chopin_deferred_response(job->d);
    chopin_response_send(r, 200, "text/plain", "deferred", 8);
    chopin_deferred_finish(job->d);
    free(job);
    return NULL;
}

static int path_is(const chopin_request *req, const char *p) {
    return req->path.len == strlen(p) && memcmp(req->path.ptr, p, req->path.len) == 0;
}

static void app(void *ctx, const chopin_request *req, chopin_response *res) {
    (void)ctx;
    if (path_is(req, "/plaintext")) {
        chopin_response_send(res, 200, "text/plain", "Hello, World!", 13);
    } else if (req->path.len > 5 && memcmp(req->path.ptr, "/seq/", 5) == 0) {
        chopin_response_send(res, 200, "text/plain", req->path.ptr + 5, req->path.len - 5);
    } else if (path_is(req, "/big")) {
        chopin_response_send(res, 200, "application/octet-stream", big_body, BIG_SIZE);
    } else if (path_is(req, "/echo")) {
        chopin_response_send(res, 200, NULL, req->body.ptr, req->body.len);
    } else if (path_is(req, "/defer")) {
        deferred_job *job = malloc(sizeof *job);
        job->ms = req->query.len ? atoi(req->query.ptr) : 50;
        job->d = chopin_response_defer(res);
        pthread_t t;
        pthread_create(&t, NULL, finish_later, job);
        pthread_detach(t);
    } else if (path_is(req, "/nothing")) {
        /* writes nothing: the core answers 500 */
    } else {
        chopin_response_send(res, 404, NULL, NULL, 0);
    }
}

static chopin_config base_config(void) { return fixture_config(app); }
static chopin_server *start(const chopin_config *cfg) { return fixture_start(cfg); }
static void stop(chopin_server *s) { fixture_stop(s); }

static client ca, cb, cc;
static response r;

/* ---- the cases ----------------------------------------------------------------- */
static void test_keep_alive(uint16_t port) {
    t_case = "keep-alive";
    client_connect(&ca, port);
    for (int i = 0; i < 3; i++) {
        SEND(&ca, "GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n");
        CHECK_EQ_INT(client_read_response(&ca, &r, 2000, 0), 0);
        CHECK_EQ_INT(r.status, 200);
        CHECK(r.body_len == 13 && memcmp(r.body, "Hello, World!", 13) == 0, "body");
        CHECK(!r.conn_close && r.has_date, "keep-alive, dated");
    }
    client_close(&ca);
}

static void test_pipelined(uint16_t port) {
    t_case = "100 pipelined requests in one write, a deferred one among them";
    char req[100 * 64];
    size_t n = 0;
    for (int i = 0; i < 100; i++) {
        if (i == 50)
            n += (size_t)sprintf(req + n, "GET /defer?30 HTTP/1.1\r\nHost: t\r\n\r\n");
        else
            n += (size_t)sprintf(req + n, "GET /seq/%d HTTP/1.1\r\nHost: t\r\n\r\n", i);
    }
    client_connect(&ca, port);
    client_send(&ca, req, n);
    int in_order = 1, got = 0;
    for (int i = 0; i < 100; i++) {
        if (client_read_response(&ca, &r, 3000, 0) != 0) break;
        got++;
        char want[16];
        int wl = i == 50 ? sprintf(want, "deferred") : sprintf(want, "%d", i);
        if (r.body_len != (size_t)wl || memcmp(r.body, want, (size_t)wl) != 0) in_order = 0;
    }
    CHECK_EQ_INT(got, 100);
    CHECK(in_order, "responses in request order");
    client_close(&ca);
}

static void test_pipeline_quota(void) {
    t_case = "max_pipelined: the rest waits its turn, nothing is lost, a half-closed client gets every answer";
    chopin_config cfg = base_config();
    cfg.max_pipelined = 4;
    chopin_server *srv = start(&cfg);
    if (!srv) return;
    char req[50 * 40];
    size_t n = 0;
    for (int i = 0; i < 50; i++)
        n += (size_t)sprintf(req + n, "GET /seq/%d HTTP/1.1\r\nHost: t\r\n\r\n", i);
    client_connect(&ca, chopin_server_port(srv));
    client_send(&ca, req, n);
    shutdown(ca.fd, SHUT_WR); /* the client is done sending, not reading */
    int in_order = 1, got = 0;
    for (int i = 0; i < 50; i++) {
        if (client_read_response(&ca, &r, 2000, 0) != 0) break;
        char want[16];
        int wl = sprintf(want, "%d", i);
        if (r.body_len != (size_t)wl || memcmp(r.body, want, (size_t)wl) != 0) in_order = 0;
        got++;
    }
    CHECK_EQ_INT(got, 50);
    CHECK(in_order, "in order");
    CHECK(client_wait_eof(&ca, 1000), "closed after the last answer");
    client_close(&ca);
    stop(srv);
}

static void test_byte_at_a_time(uint16_t port) {
    t_case = "a request one byte at a time";
    static const char req[] = "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello";
    client_connect(&ca, port);
    for (size_t i = 0; i < sizeof req - 1; i++) {
        client_send(&ca, req + i, 1);
        usleep(200);
    }
    CHECK_EQ_INT(client_read_response(&ca, &r, 2000, 0), 0);
    CHECK(r.status == 200 && r.body_len == 5 && memcmp(r.body, "hello", 5) == 0, "echo");
    client_close(&ca);
}

static void test_chunked_echo(uint16_t port) {
    t_case = "chunked body across writes, with extension and trailer";
    client_connect(&ca, port);
    SEND(&ca, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhel");
    usleep(20000);
    SEND(&ca, "lo\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\nGET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK_EQ_INT(client_read_response(&ca, &r, 2000, 0), 0);
    CHECK(r.status == 200 && r.body_len == 11 && memcmp(r.body, "hello world", 11) == 0, "decoded body '%.*s'",
          (int)r.body_len, r.body);
    CHECK_EQ_INT(client_read_response(&ca, &r, 2000, 0), 0);
    CHECK_EQ_INT(r.status, 200);
    client_close(&ca);
}

static void test_never_reads(chopin_server *srv, uint16_t port) {
    t_case = "a client that never reads is backpressured, and loses nothing";
    enum { N = 400 }; /* 26 MB of responses: more than the kernel's socket buffers hold */
    client_connect(&ca, port);
    static char req[N * 40];
    size_t n = 0;
    for (int i = 0; i < N; i++)
        n += (size_t)sprintf(req + n, "GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
    chopin_metrics m0, m1;
    chopin_server_metrics(srv, &m0);
    client_send(&ca, req, n);
    usleep(400000);
    chopin_server_metrics(srv, &m1);
    uint64_t handled = m1.requests - m0.requests;
    CHECK(handled < N, "the server stopped after %llu of %d responses", (unsigned long long)handled, N);
    /* meanwhile another client is served */
    client_connect(&cb, port);
    SEND(&cb, "GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK_EQ_INT(client_read_response(&cb, &r, 2000, 0), 0);
    client_close(&cb);
    /* now read everything: every byte of every response arrives */
    int complete = 0, intact = 1;
    for (int i = 0; i < N; i++) {
        if (client_read_response(&ca, &r, 5000, 0) != 0) break;
        if (r.body_len != BIG_SIZE || memcmp(r.body, big_body, sizeof r.body < BIG_SIZE ? sizeof r.body : BIG_SIZE))
            intact = 0;
        complete++;
    }
    CHECK_EQ_INT(complete, N);
    CHECK(intact, "bodies intact");
    client_close(&ca);
}

static void test_connection_close_and_http10(uint16_t port) {
    t_case = "Connection: close";
    client_connect(&ca, port);
    SEND(&ca, "GET /plaintext HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    CHECK_EQ_INT(client_read_response(&ca, &r, 2000, 0), 0);
    CHECK(r.conn_close, "says close");
    CHECK(client_wait_eof(&ca, 1000), "then closes");
    client_close(&ca);

    t_case = "HTTP/1.0 closes by default";
    client_connect(&ca, port);
    SEND(&ca, "GET /plaintext HTTP/1.0\r\n\r\n");
    CHECK_EQ_INT(client_read_response(&ca, &r, 2000, 0), 0);
    CHECK(r.status == 200 && r.conn_close, "200, close");
    CHECK(client_wait_eof(&ca, 1000), "closed");
    client_close(&ca);

    t_case = "HTTP/1.0 keep-alive";
    client_connect(&ca, port);
    SEND(&ca, "GET /plaintext HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    CHECK_EQ_INT(client_read_response(&ca, &r, 2000, 0), 0);
    CHECK(r.keep_alive_10, "says keep-alive");
    SEND(&ca, "GET /plaintext HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    CHECK_EQ_INT(client_read_response(&ca, &r, 2000, 0), 0);
    client_close(&ca);

    t_case = "HEAD gets no body";
    client_connect(&ca, port);
    SEND(&ca, "HEAD /plaintext HTTP/1.1\r\nHost: t\r\n\r\nGET /seq/x HTTP/1.1\r\nHost: t\r\n\r\n");
    /* The HEAD response has Content-Length 13 but no body: read the head by hand. */
    while (!memmem(ca.buf, ca.len, "\r\n\r\nHTTP/1.1", 12) && client_fill(&ca, 2000) > 0) {
    }
    char *second = memmem(ca.buf, ca.len, "\r\n\r\nHTTP/1.1", 12);
    CHECK(second != NULL, "second response right after the HEAD head");
    CHECK(memmem(ca.buf, ca.len, "Content-Length: 13", 18) != NULL, "HEAD says the body's length");
    client_close(&ca);
}

static void test_error_response_survives_more_input(uint16_t port) {
    t_case = "a 413 reaches a client that keeps sending its body (lingering close)";
    static char chunk[65536];
    memset(chunk, 'x', sizeof chunk);
    int got413 = 0;
    for (int attempt = 0; attempt < 5; attempt++) {
        client_connect(&ca, port);
        /* Head and a first part of the body in one go: the server reads the
         * head, answers 413 at once, and more body is still arriving. */
        SEND(&ca, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3000000\r\n\r\n");
        for (int i = 0; i < 16; i++)
            if (send(ca.fd, chunk, sizeof chunk, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) break;
        usleep(50000);
        for (int i = 0; i < 16; i++)
            if (send(ca.fd, chunk, sizeof chunk, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) break;
        if (client_read_response(&ca, &r, 2000, 0) == 0 && r.status == 413) got413++;
        client_close(&ca);
    }
    CHECK_EQ_INT(got413, 5);
}

static void test_continue(uint16_t port) {
    t_case = "Expect: 100-continue";
    client_connect(&ca, port);
    SEND(&ca, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
    CHECK_EQ_INT(client_read_response(&ca, &r, 2000, 1), 0);
    CHECK_EQ_INT(r.status, 100);
    SEND(&ca, "ping");
    CHECK_EQ_INT(client_read_response(&ca, &r, 2000, 0), 0);
    CHECK(r.status == 200 && r.body_len == 4 && memcmp(r.body, "ping", 4) == 0, "echo after 100");
    client_close(&ca);

    t_case = "Expect with a body over the limit: 413, no 100";
    client_connect(&ca, port);
    SEND(&ca, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999\r\nExpect: 100-continue\r\n\r\n");
    CHECK_EQ_INT(client_read_response(&ca, &r, 2000, 1), 0);
    CHECK_EQ_INT(r.status, 413);
    CHECK(r.conn_close, "and closes");
    client_close(&ca);
}

static void test_bad_input(chopin_server *srv, uint16_t port) {
    t_case = "malformed request: 400, close, nothing after it is served";
    chopin_metrics m0, m1;
    chopin_server_metrics(srv, &m0);
    client_connect(&ca, port);
    SEND(&ca, "GET / HTTP/1.1\r\nHost : t\r\n\r\nGET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK_EQ_INT(client_read_response(&ca, &r, 2000, 0), 0);
    CHECK(r.status == 400 && r.conn_close, "400 with close, got %d", r.status);
    CHECK(client_wait_eof(&ca, 1000) && ca.len == 0, "closed with nothing more");
    client_close(&ca);
    chopin_server_metrics(srv, &m1);
    CHECK_EQ_INT(m1.parse_errors - m0.parse_errors, 1);

    t_case = "smuggling: Content-Length with Transfer-Encoding";
    client_connect(&ca, port);
    SEND(&ca, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    CHECK_EQ_INT(client_read_response(&ca, &r, 2000, 0), 0);
    CHECK_EQ_INT(r.status, 400);
    client_close(&ca);

    t_case = "413 said before the body is sent";
    client_connect(&ca, port);
    SEND(&ca, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2000000\r\n\r\n");
    CHECK_EQ_INT(client_read_response(&ca, &r, 2000, 0), 0);
    CHECK_EQ_INT(r.status, 413);
    client_close(&ca);

    t_case = "431 for a head over the limit";
    client_connect(&ca, port);
    char hdr[20000];
    int n = sprintf(hdr, "GET / HTTP/1.1\r\nHost: t\r\nX-Big: ");
    memset(hdr + n, 'a', 17000);
    client_send(&ca, hdr, (size_t)n + 17000);
    CHECK_EQ_INT(client_read_response(&ca, &r, 2000, 0), 0);
    CHECK_EQ_INT(r.status, 431);
    client_close(&ca);

    t_case = "a handler that writes nothing: 500, and the connection goes on";
    client_connect(&ca, port);
    SEND(&ca, "GET /nothing HTTP/1.1\r\nHost: t\r\n\r\nGET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK_EQ_INT(client_read_response(&ca, &r, 2000, 0), 0);
    CHECK_EQ_INT(r.status, 500);
    CHECK_EQ_INT(client_read_response(&ca, &r, 2000, 0), 0);
    CHECK_EQ_INT(r.status, 200);
    client_close(&ca);
}

static void test_timeouts(void) {
    chopin_config cfg = base_config();
    cfg.header_timeout_ms = 200;
    cfg.body_timeout_ms = 200;
    cfg.idle_timeout_ms = 300;
    cfg.write_timeout_ms = 300;
    cfg.max_pending_output = 4096;
    chopin_server *srv = start(&cfg);
    if (!srv) return;
    uint16_t port = chopin_server_port(srv);

    t_case = "header timeout: 408 and close";
    client_connect(&ca, port);
    SEND(&ca, "GET /plaintext HTTP/1.1\r\nHo");
    uint64_t t0 = now_ms();
    CHECK_EQ_INT(client_read_response(&ca, &r, 2000, 0), 0);
    CHECK_EQ_INT(r.status, 408);
    CHECK(client_wait_eof(&ca, 1000), "closed");
    uint64_t took = now_ms() - t0;
    CHECK(took >= 150 && took < 1000, "after %llu ms", (unsigned long long)took);
    client_close(&ca);

    t_case = "slowloris: a byte every 50 ms does not extend the header timeout";
    client_connect(&ca, port);
    t0 = now_ms();
    int closed = 0;
    for (int i = 0; i < 40 && !closed; i++) {
        if (client_send(&ca, "X", 1) < 0) closed = 1;
        if (!client_silent(&ca, 50)) closed = 1;
    }
    took = now_ms() - t0;
    CHECK(closed && took < 1000, "cut off after %llu ms", (unsigned long long)took);
    client_close(&ca);

    t_case = "a pipelining client whose reads end mid-request is not cut off by the header timeout";
    client_connect(&ca, port);
    SEND(&ca, "GET /seq/0 HTTP/1.1\r\nHo");
    int answered = 0;
    for (int i = 1; i <= 10; i++) {
        usleep(100000); /* 10 x 100 ms: well past the 200 ms header timeout in total */
        char piece[96];
        int n = snprintf(piece, sizeof piece, "st: t\r\n\r\nGET /seq/%d HTTP/1.1\r\nHo", i);
        if (client_send(&ca, piece, (size_t)n) < 0) break;
        if (client_read_response(&ca, &r, 1000, 0) == 0 && r.status == 200) answered++;
    }
    CHECK_EQ_INT(answered, 10);
    client_close(&ca);

    t_case = "body timeout: 408";
    client_connect(&ca, port);
    SEND(&ca, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
    CHECK_EQ_INT(client_read_response(&ca, &r, 2000, 0), 0);
    CHECK_EQ_INT(r.status, 408);
    client_close(&ca);

    t_case = "idle keep-alive timeout: closed without a response";
    client_connect(&ca, port);
    SEND(&ca, "GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK_EQ_INT(client_read_response(&ca, &r, 2000, 0), 0);
    t0 = now_ms();
    CHECK(client_wait_eof(&ca, 2000) && ca.len == 0, "closed, silently");
    took = now_ms() - t0;
    CHECK(took >= 250 && took < 1500, "after %llu ms", (unsigned long long)took);
    client_close(&ca);

    t_case = "a connection that never sends is closed at the header timeout";
    client_connect(&ca, port);
    CHECK(client_wait_eof(&ca, 2000) && ca.len == 0, "closed, silently");
    client_close(&ca);

    t_case = "write stall: a reader that stops is cut off";
    chopin_metrics m0, m1;
    chopin_server_metrics(srv, &m0);
    client_connect(&ca, port);
    char req[400 * 40];
    size_t n = 0;
    for (int i = 0; i < 400; i++)
        n += (size_t)sprintf(req + n, "GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
    client_send(&ca, req, n);
    usleep(1200000);
    chopin_server_metrics(srv, &m1);
    CHECK(m1.timeouts > m0.timeouts, "timed out");
    CHECK(m1.closed > m0.closed, "and closed");
    client_close(&ca);
    stop(srv);
}

static void test_connection_cap(void) {
    t_case = "connection cap: accept pauses when full, resumes when one closes";
    chopin_config cfg = base_config();
    cfg.max_connections = 2;
    chopin_server *srv = start(&cfg);
    if (!srv) return;
    uint16_t port = chopin_server_port(srv);
    client_connect(&ca, port);
    client_connect(&cb, port);
    SEND(&ca, "GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n");
    SEND(&cb, "GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK_EQ_INT(client_read_response(&ca, &r, 2000, 0), 0);
    CHECK_EQ_INT(client_read_response(&cb, &r, 2000, 0), 0);
    CHECK_EQ_INT(client_connect(&cc, port), 0); /* the kernel's backlog takes it */
    SEND(&cc, "GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK(client_silent(&cc, 300), "third not served while two are open");
    chopin_metrics m;
    chopin_server_metrics(srv, &m);
    CHECK_EQ_INT(m.active, 2);
    client_close(&ca);
    CHECK_EQ_INT(client_read_response(&cc, &r, 2000, 0), 0);
    CHECK_EQ_INT(r.status, 200);
    client_close(&cb);
    client_close(&cc);
    stop(srv);
}

static void test_graceful_shutdown(void) {
    t_case = "graceful shutdown: in-flight finish with close, idle close, no new connections";
    chopin_config cfg = base_config();
    chopin_server *srv = start(&cfg);
    if (!srv) return;
    uint16_t port = chopin_server_port(srv);
    client_connect(&ca, port); /* idle keep-alive */
    SEND(&ca, "GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK_EQ_INT(client_read_response(&ca, &r, 2000, 0), 0);
    client_connect(&cb, port); /* in flight */
    SEND(&cb, "GET /defer?300 HTTP/1.1\r\nHost: t\r\n\r\n");
    usleep(50000);
    uint64_t t0 = now_ms();
    chopin_server_stop(srv);
    CHECK(client_wait_eof(&ca, 1000), "idle connection closed");
    CHECK_EQ_INT(client_read_response(&cb, &r, 2000, 0), 0);
    CHECK(r.status == 200 && r.conn_close && r.body_len == 8, "in-flight answered with close");
    CHECK(client_wait_eof(&cb, 1000), "then closed");
    chopin_server_wait(srv);
    uint64_t took = now_ms() - t0;
    CHECK(took < 2000, "stopped in %llu ms", (unsigned long long)took);
    CHECK(client_connect(&cc, port) < 0, "nothing listens afterwards");
    client_close(&ca);
    client_close(&cb);
}

static void test_shutdown_deadline(void) {
    t_case = "graceful shutdown gives up at its deadline";
    chopin_config cfg = base_config();
    cfg.shutdown_timeout_ms = 200;
    chopin_server *srv = start(&cfg);
    if (!srv) return;
    client_connect(&ca, chopin_server_port(srv));
    SEND(&ca, "GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\nGET /plain"); /* half a request pending */
    CHECK_EQ_INT(client_read_response(&ca, &r, 2000, 0), 0);
    uint64_t t0 = now_ms();
    stop(srv);
    uint64_t took = now_ms() - t0;
    CHECK(took >= 150 && took < 1500, "stopped after %llu ms", (unsigned long long)took);
    CHECK(client_wait_eof(&ca, 500), "connection closed");
    client_close(&ca);
}

static void test_emfile(const char *backend);

/* pin_workers: worker i runs on the i-th CPU the process may use. */
static void test_pinning(void) {
    t_case = "pin_workers puts worker i on the i-th allowed CPU";
    cpu_set_t allowed;
    sched_getaffinity(0, sizeof allowed, &allowed);
    int cpus[CPU_SETSIZE], ncpus = 0;
    for (int i = 0; i < CPU_SETSIZE; i++)
        if (CPU_ISSET(i, &allowed)) cpus[ncpus++] = i;
    chopin_config cfg = base_config();
    cfg.workers = 2;
    cfg.pin_workers = 1;
    chopin_server *srv = start(&cfg);
    if (!srv) return;
    usleep(50000);
    int found = 0;
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char path[300], comm[32] = "";
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        if (!fgets(comm, sizeof comm, f)) comm[0] = 0;
        fclose(f);
        int id;
        if (sscanf(comm, "chopin-w%d", &id) != 1) continue;
        cpu_set_t set;
        CPU_ZERO(&set);
        sched_getaffinity(atoi(e->d_name), sizeof set, &set);
        CHECK(CPU_COUNT(&set) == 1 && CPU_ISSET(cpus[id % ncpus], &set), "worker %d on CPU %d", id, cpus[id % ncpus]);
        found++;
    }
    if (d) closedir(d);
    CHECK_EQ_INT(found, 2);
    stop(srv);
}

/* io_uring with 2 receive buffers of 512 bytes and 20 clients posting 4 KB
 * at once: receives run out of buffers (ENOBUFS), are re-armed, and every
 * body still arrives whole. */
static void test_recv_buffer_exhaustion(void) {
    t_case = "io_uring out of receive buffers: receives wait, nothing is lost";
    chopin_config cfg = base_config();
    cfg.uring_buffers = 2;
    cfg.uring_buffer_size = 512;
    chopin_server *srv = start(&cfg);
    if (!srv) return;
    enum { N = 20, BODY = 4000 };
    static client many[N];
    static char req[BODY + 128];
    int hl = sprintf(req, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n", BODY);
    for (int i = 0; i < BODY; i++)
        req[hl + i] = (char)('A' + i % 23);
    for (int i = 0; i < N; i++)
        client_connect(&many[i], chopin_server_port(srv));
    for (int i = 0; i < N; i++)
        client_send(&many[i], req, (size_t)hl + BODY);
    int whole = 0;
    for (int i = 0; i < N; i++) {
        if (client_read_response(&many[i], &r, 3000, 0) == 0 && r.status == 200 && r.body_len == BODY &&
            memcmp(r.body, req + hl, BODY) == 0)
            whole++;
        client_close(&many[i]);
    }
    chopin_metrics m;
    chopin_server_metrics(srv, &m);
    CHECK_EQ_INT(whole, N);
    CHECK(m.recv_buffer_waits > 0, "the buffers did run out (%llu waits)", (unsigned long long)m.recv_buffer_waits);
    stop(srv);
}

/* A server that binds nothing, served connections the caller hands over
 * (chopin_server_adopt, as in-process tests do): the same loop, pipelining
 * and deferred answers, over a socketpair. */
static void test_adopted_connections(void) {
    t_case = "no listener: adopted socketpair connections are served like accepted ones";
    chopin_config cfg = base_config();
    cfg.no_listener = 1;
    cfg.workers = 2;
    chopin_server *srv = start(&cfg);
    CHECK(srv != NULL, "starts without a listener");
    if (!srv) return;
    CHECK_EQ_INT(chopin_server_port(srv), 0);
    for (int k = 0; k < 3; k++) { /* spread over both workers */
        int sv[2];
        CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        CHECK_EQ_INT(chopin_server_adopt(srv, sv[1]), 0);
        ca.fd = sv[0];
        ca.len = 0;
        SEND(&ca, "GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\nGET /defer HTTP/1.1\r\nHost: t\r\n\r\n"
                  "GET /seq/3 HTTP/1.1\r\nHost: t\r\n\r\n");
        CHECK_EQ_INT(client_read_response(&ca, &r, 2000, 0), 0);
        CHECK(r.status == 200 && r.body_len == 13, "the first");
        CHECK_EQ_INT(client_read_response(&ca, &r, 2000, 0), 0);
        CHECK(r.body_len == 8 && memcmp(r.body, "deferred", 8) == 0, "the deferred one, in its turn");
        CHECK_EQ_INT(client_read_response(&ca, &r, 2000, 0), 0);
        CHECK(r.body_len == 1 && r.body[0] == '3', "the last");
        client_close(&ca);
    }
    stop(srv);
    t_case = "adopting after the stop is refused";
    cfg.no_listener = 0;
    srv = start(&cfg);
    CHECK(srv != NULL, "starts");
    if (!srv) return;
    chopin_server_stop(srv);
    int sv[2];
    CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    CHECK_EQ_INT(chopin_server_adopt(srv, sv[1]), -ESHUTDOWN);
    close(sv[0]);
    close(sv[1]);
    stop(srv);
}

static void run_backend(const char *name) {
    chopin_config cfg = base_config();
    chopin_server *srv = start(&cfg);
    CHECK(srv != NULL, "server starts on %s", name);
    if (!srv) return;
    CHECK(strcmp(chopin_server_backend(srv), strcmp(name, "uring") == 0 ? "io_uring" : "epoll") == 0, "backend %s",
          chopin_server_backend(srv));
    uint16_t port = chopin_server_port(srv);
    test_keep_alive(port);
    test_pipelined(port);
    test_byte_at_a_time(port);
    test_chunked_echo(port);
    test_connection_close_and_http10(port);
    test_continue(port);
    test_error_response_survives_more_input(port);
    test_bad_input(srv, port);
    test_never_reads(srv, port);
    stop(srv);
    test_timeouts();
    test_connection_cap();
    test_pipeline_quota();
    test_graceful_shutdown();
    test_shutdown_deadline();
    test_emfile(name);
    test_adopted_connections();
    if (strcmp(name, "uring") == 0) test_recv_buffer_exhaustion();
}

/* io_uring refused, as Docker's default seccomp profile does: auto must fall
 * back to epoll and say why; uring must fail with a clear error. */
static int child_with_uring_refused(void) {
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof filter / sizeof filter[0], .filter = filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) return 10;
    chopin_config cfg = fixture_config(app);
    char err[256];
    cfg.backend = CHOPIN_BACKEND_AUTO;
    chopin_server *s = chopin_server_start(&cfg, err, sizeof err);
    if (!s) return 11;
    if (strcmp(chopin_server_backend(s), "epoll") != 0) return 12;
    if (!strstr(chopin_server_backend_reason(s), "io_uring unavailable")) return 13;
    client c;
    client_connect(&c, chopin_server_port(s));
    static response rr;
    SEND(&c, "GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n");
    if (client_read_response(&c, &rr, 2000, 0) != 0 || rr.status != 200) return 14;
    client_close(&c);
    chopin_server_stop(s);
    chopin_server_wait(s);
    cfg.backend = CHOPIN_BACKEND_URING;
    s = chopin_server_start(&cfg, err, sizeof err);
    if (s) return 15;
    if (!strstr(err, "io_uring") || !strstr(err, "seccomp")) return 16;
    return 0;
}

static void test_uring_refused(void) {
    t_case = "io_uring refused by seccomp: auto falls back, uring says why";
    pid_t pid = fork();
    if (pid == 0) _exit(child_with_uring_refused());
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", WEXITSTATUS(status));
}

/* Out of descriptors: the server runs in a child whose RLIMIT_NOFILE is
 * tiny, the parent opens more connections than it can accept. Accepting must
 * pause rather than spin on EMFILE, and resume once descriptors free up. */
static void test_emfile(const char *backend) {
    t_case = "EMFILE does not spin the loop, and accepting resumes";
    int to_child[2], from_child[2];
    if (pipe(to_child) < 0 || pipe(from_child) < 0) return;
    pid_t pid = fork();
    if (pid == 0) {
        chopin_config cfg = base_config();
        chopin_backend_parse(backend, &cfg.backend);
        /* The limit is set before the server starts: io_uring's accept takes it
         * when armed. The server itself needs three descriptors (listener,
         * eventfd, epoll or ring); three more are left for connections. */
        int limit = 0, free_slots = 0;
        while (free_slots < 6) {
            if (fcntl(limit, F_GETFD) < 0) free_slots++;
            limit++;
        }
        struct rlimit rl = {.rlim_cur = (rlim_t)limit, .rlim_max = (rlim_t)limit};
        setrlimit(RLIMIT_NOFILE, &rl);
        char err[256];
        chopin_server *s = chopin_server_start(&cfg, err, sizeof err);
        if (!s) _exit(20);
        uint16_t port = chopin_server_port(s);
        if (write(from_child[1], &port, sizeof port) != sizeof port) _exit(21);
        char go;
        if (read(to_child[0], &go, 1) != 1) _exit(22);
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        uint64_t cpu_ms = (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000u +
                          (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000u;
        chopin_metrics m;
        chopin_server_metrics(s, &m);
        uint64_t report[2] = {cpu_ms, m.accepted};
        if (write(from_child[1], report, sizeof report) != sizeof report) _exit(23);
        if (read(to_child[0], &go, 1) != 1) _exit(24);
        chopin_server_stop(s);
        chopin_server_wait(s);
        _exit(0);
    }
    /* Only the child writes and reads these ends: if it dies, a read here
     * sees the end of the pipe instead of waiting for ever. */
    close(from_child[1]);
    close(to_child[0]);
    uint16_t port = 0;
    if (read(from_child[0], &port, sizeof port) != sizeof port) {
        int status = 0;
        waitpid(pid, &status, 0);
        CHECK(0, "the child's server did not start (exit %d)", WEXITSTATUS(status));
        close(to_child[1]);
        close(from_child[0]);
        return;
    }
    enum { N = 20 };
    static client many[N];
    int connected = 0;
    for (int i = 0; i < N; i++) {
        if (client_connect(&many[i], port) == 0)
            connected++;
        else
            break;
    }
    CHECK_EQ_INT(connected, N); /* the kernel's backlog takes them all */
    usleep(1000000);            /* a spinning loop would burn this second */
    char go = 1;
    uint64_t report[2] = {0, 0};
    CHECK(write(to_child[1], &go, 1) == 1 && read(from_child[0], report, sizeof report) == sizeof report, "cpu");
    uint64_t cpu_ms = report[0];
    CHECK(report[1] < N, "the limit was crossed: %llu of %d accepted", (unsigned long long)report[1], N);
    CHECK(cpu_ms < 400, "the server used %llu ms of CPU while out of descriptors", (unsigned long long)cpu_ms);
    for (int i = 0; i < N; i++)
        client_close(&many[i]);
    usleep(300000);
    client_connect(&ca, port);
    SEND(&ca, "GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK_EQ_INT(client_read_response(&ca, &r, 3000, 0), 0);
    CHECK_EQ_INT(r.status, 200);
    client_close(&ca);
    CHECK(write(to_child[1], &go, 1) == 1, "stop");
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child exit %d", WEXITSTATUS(status));
    close(to_child[1]);
    close(from_child[0]);
}

static void test_config_errors(void) {
    t_case = "bad configuration gives a readable error";
    chopin_config cfg = base_config();
    char err[256];
    cfg.host = "not-an-ip";
    CHECK(chopin_server_start(&cfg, err, sizeof err) == NULL && strstr(err, "not-an-ip"), "host: %s", err);
    cfg = base_config();
    cfg.max_head_bytes = 10;
    CHECK(chopin_config_validate(&cfg, err, sizeof err) < 0 && strstr(err, "max_head_bytes"), "limits: %s", err);
    t_case = "a port another server holds is an error, not a silent share";
    cfg = base_config();
    chopin_server *first = chopin_server_start(&cfg, err, sizeof err);
    if (first) {
        cfg.port = chopin_server_port(first);
        chopin_server *second = chopin_server_start(&cfg, err, sizeof err);
        CHECK(second == NULL && strstr(err, "already in use"), "second server: %s", second ? "started" : err);
        if (second) {
            chopin_server_stop(second);
            chopin_server_wait(second);
        }
        chopin_server_stop(first);
        chopin_server_wait(first);
    }
    t_case = "bad configuration gives a readable error";
    cfg = base_config();
    setenv("CHOPIN_BACKEND", "kqueue", 1);
    CHECK(chopin_server_start(&cfg, err, sizeof err) == NULL && strstr(err, "kqueue"), "env: %s", err);
    unsetenv("CHOPIN_BACKEND");
}

int main(void) {
    for (int i = 0; i < BIG_SIZE; i++)
        big_body[i] = (char)('a' + i % 26);
    signal(SIGPIPE, SIG_IGN);
    unsetenv("CHOPIN_BACKEND");
    test_config_errors();
    test_pinning();
    fixture_each_backend(run_backend);
    test_uring_refused();
    return test_finish("test_server");
}
