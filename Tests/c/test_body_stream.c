/* test_body_stream.c - request bodies taken as a stream, over real sockets
 * on both backends: an upload far over max_body arrives whole and in order
 * (Content-Length and chunked, sent in odd pieces), with a consumer that
 * makes the reads pause and resume; max_streamed_body is enforced before
 * the body (Content-Length) and during it (chunked); bad framing, a stall
 * and a client that leaves end the body with the right status; a body the
 * handler does not take, or stops wanting, is dropped and the connection
 * goes on; Expect: 100-continue is answered. */
#include "fixture.h"
#include "net.h"
#include "test.h"

#include <stdatomic.h>

#define UPLOAD_SIZE (8u << 20) /* 8 MB: eight times max_body */
#define PAUSE_EVERY (256u << 10)
static char *upload;

/* What the consumers saw, read by the test thread. */
static atomic_int last_status;  /* the last non-MORE status a consumer got */
static atomic_int pauses;       /* times a consumer asked to stop reading */
static atomic_int handler_runs; /* times the handler ran */

/* One consumer waits for the worker's next turns before it takes more. */
static chopin_deferred *paused;
static uint64_t paused_at;

typedef struct upload_state {
    chopin_deferred *d;
    uint64_t count, hash, next_pause;
    int answer_early; /* answers after the first piece, leaving the rest unread */
} upload_state;

static uint64_t fnv(uint64_t h, const char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h;
}

/* After finish, d is not ours to resume. */
static void finish(upload_state *s) {
    if (paused == s->d) paused = NULL;
    chopin_deferred_finish(s->d);
    s->d = NULL;
}

static void answer(upload_state *s) {
    char text[64];
    int n = snprintf(text, sizeof text, "%llu %016llx", (unsigned long long)s->count, (unsigned long long)s->hash);
    chopin_response_send(chopin_deferred_response(s->d), 200, "text/plain", text, (size_t)n);
    finish(s);
}

static int piece(void *arg, const char *data, size_t len, int status) {
    upload_state *s = arg;
    if (status != CHOPIN_BODY_MORE) atomic_store(&last_status, status);
    if (!s->d) return 0;
    if (status < 0) {
        /* The core answers (or the client is gone): finish to free it. */
        finish(s);
        return 0;
    }
    s->count += len;
    s->hash = fnv(s->hash, data, len);
    if (status == CHOPIN_BODY_END || s->answer_early) {
        answer(s);
        return 0;
    }
    if (s->count >= s->next_pause) {
        s->next_pause += PAUSE_EVERY;
        paused = s->d;
        paused_at = now_ms();
        atomic_fetch_add(&pauses, 1);
        return 1;
    }
    return 0;
}

static void release(void *arg) { free(arg); }

static int wants_stream(void *ctx, const chopin_request *req) {
    (void)ctx;
    return req->path.len >= 3 && memcmp(req->path.ptr, "/up", 3) == 0;
}

static int path_is(const chopin_request *req, const char *p) {
    return req->path.len == strlen(p) && memcmp(req->path.ptr, p, req->path.len) == 0;
}

static void app(void *ctx, const chopin_request *req, chopin_response *res) {
    (void)ctx;
    atomic_fetch_add(&handler_runs, 1);
    if (path_is(req, "/up") || path_is(req, "/up-early")) {
        chopin_deferred *d = chopin_response_defer(res);
        upload_state *s = calloc(1, sizeof *s);
        s->d = d;
        s->hash = 1469598103934665603ull;
        s->next_pause = PAUSE_EVERY;
        s->answer_early = path_is(req, "/up-early");
        chopin_deferred_observe(d, NULL, NULL, release, s);
        if (req->body_streamed) {
            chopin_deferred_take_body(d, piece);
        } else {
            /* No body to stream (none, or Content-Length: 0): it is all here. */
            piece(s, req->body.ptr, req->body.len, CHOPIN_BODY_END);
        }
        return;
    }
    /* /up-refused and the rest: answered at once, the body not taken. */
    char text[64];
    int n = snprintf(text, sizeof text, "streamed=%d body=%zu", req->body_streamed, req->body.len);
    chopin_response_send(res, 200, "text/plain", text, (size_t)n);
}

/* The paused consumer takes more a couple of milliseconds later. */
static void *worker_start(void *ctx, chopin_worker *w, uint32_t i) {
    (void)ctx, (void)w, (void)i;
    return &paused;
}
static int worker_turn(void *state) {
    (void)state;
    if (!paused) return 0;
    if (now_ms() < paused_at + 2) return 1;
    chopin_deferred *d = paused;
    paused = NULL;
    CHECK_EQ_INT(chopin_deferred_body_resume(d), 0);
    return 0;
}

static chopin_server *start(uint64_t max_streamed, uint32_t body_timeout_ms) {
    chopin_config cfg = fixture_config(app);
    cfg.body_stream = wants_stream;
    cfg.max_streamed_body = max_streamed;
    cfg.body_timeout_ms = body_timeout_ms;
    cfg.worker_start = worker_start;
    cfg.worker_turn = worker_turn;
    paused = NULL; /* the previous server's deferrals are gone */
    atomic_store(&last_status, 0);
    atomic_store(&pauses, 0);
    atomic_store(&handler_runs, 0);
    return fixture_start(&cfg);
}

static client ca;
static response r;

static void expect_upload_answer(size_t size) {
    char want[64];
    snprintf(want, sizeof want, "%zu %016llx", size,
             (unsigned long long)fnv(1469598103934665603ull, upload, size));
    CHECK_EQ_INT(client_read_response(&ca, &r, 10000, 0), 0);
    CHECK_EQ_INT(r.status, 200);
    CHECK(r.body_len == strlen(want) && memcmp(r.body, want, r.body_len) == 0, "got '%.*s', want '%s'",
          (int)r.body_len, r.body, want);
}

static void send_head(const char *path, const char *framing) {
    char head[256];
    int n = snprintf(head, sizeof head, "POST %s HTTP/1.1\r\nHost: t\r\n%s\r\n\r\n", path, framing);
    client_send(&ca, head, (size_t)n);
}

/* Sends the upload as chunks of sizes cycling through odd lengths, each
 * chunk line and its data in separate writes. */
static void send_chunked(size_t size) {
    static const size_t sizes[] = {1, 7, 4093, 65537, 300, 123457};
    size_t off = 0;
    for (int i = 0; off < size; i++) {
        size_t n = sizes[i % 6] < size - off ? sizes[i % 6] : size - off;
        char line[32];
        int k = snprintf(line, sizeof line, "%zx\r\n", n);
        client_send(&ca, line, (size_t)k);
        client_send(&ca, upload + off, n);
        client_send(&ca, "\r\n", 2);
        off += n;
    }
    SEND(&ca, "0\r\n\r\n");
}

static void test_length_upload(void) {
    t_case = "length upload";
    chopin_server *srv = start(1ull << 30, 5000);
    client_connect(&ca, chopin_server_port(srv));
    char framing[64];
    snprintf(framing, sizeof framing, "Content-Length: %u", UPLOAD_SIZE);
    send_head("/up", framing);
    client_send(&ca, upload, UPLOAD_SIZE);
    expect_upload_answer(UPLOAD_SIZE);
    CHECK(atomic_load(&pauses) >= 8, "the consumer paused %d times", atomic_load(&pauses));
    CHECK_EQ_INT(atomic_load(&last_status), CHOPIN_BODY_END);
    /* The connection goes on. */
    SEND(&ca, "GET /plain HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK_EQ_INT(client_read_response(&ca, &r, 2000, 0), 0);
    CHECK_EQ_INT(r.status, 200);
    client_close(&ca);
    fixture_stop(srv);
}

static void test_chunked_upload(void) {
    t_case = "chunked upload";
    chopin_server *srv = start(1ull << 30, 5000);
    client_connect(&ca, chopin_server_port(srv));
    send_head("/up", "Transfer-Encoding: chunked");
    send_chunked(UPLOAD_SIZE);
    /* Pipelined right behind the body. */
    SEND(&ca, "GET /plain HTTP/1.1\r\nHost: t\r\n\r\n");
    expect_upload_answer(UPLOAD_SIZE);
    CHECK_EQ_INT(client_read_response(&ca, &r, 2000, 0), 0);
    CHECK_EQ_INT(r.status, 200);
    client_close(&ca);
    fixture_stop(srv);
}

static void test_small_and_empty(void) {
    t_case = "small and empty bodies";
    chopin_server *srv = start(1ull << 30, 5000);
    client_connect(&ca, chopin_server_port(srv));
    /* Head and body in one write, then an empty body, pipelined. */
    SEND(&ca, "POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nabcde"
              "POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"
              "POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    memcpy(upload, "abcde", 5);
    expect_upload_answer(5);
    expect_upload_answer(0);
    expect_upload_answer(0);
    client_close(&ca);
    fixture_stop(srv);
}

static void test_limits(void) {
    t_case = "max_streamed_body";
    chopin_server *srv = start(1u << 20, 5000);
    uint16_t port = chopin_server_port(srv);
    /* Content-Length over the limit: 413 before the handler or the body. */
    client_connect(&ca, port);
    send_head("/up", "Content-Length: 1048577");
    CHECK_EQ_INT(client_read_response(&ca, &r, 2000, 0), 0);
    CHECK_EQ_INT(r.status, 413);
    CHECK_EQ_INT(atomic_load(&handler_runs), 0);
    client_close(&ca);
    /* Exactly at the limit: taken. */
    client_connect(&ca, port);
    send_head("/up", "Content-Length: 1048576");
    client_send(&ca, upload, 1u << 20);
    expect_upload_answer(1u << 20);
    client_close(&ca);
    /* Chunked past it: 413 mid-body, the consumer told so. */
    client_connect(&ca, port);
    send_head("/up", "Transfer-Encoding: chunked");
    send_chunked(2u << 20);
    CHECK_EQ_INT(client_read_response(&ca, &r, 3000, 0), 0);
    CHECK_EQ_INT(r.status, 413);
    CHECK(r.conn_close, "the connection closes after a failed body");
    CHECK_EQ_INT(atomic_load(&last_status), -413);
    client_close(&ca);
    fixture_stop(srv);
}

static void test_bad_framing_and_stall(void) {
    t_case = "bad chunk, stall, client gone";
    chopin_server *srv = start(1ull << 30, 300);
    uint16_t port = chopin_server_port(srv);
    client_connect(&ca, port);
    send_head("/up", "Transfer-Encoding: chunked");
    SEND(&ca, "5\r\nhello\r\nzz\r\n");
    CHECK_EQ_INT(client_read_response(&ca, &r, 2000, 0), 0);
    CHECK_EQ_INT(r.status, 400);
    CHECK_EQ_INT(atomic_load(&last_status), -400);
    client_close(&ca);

    client_connect(&ca, port);
    send_head("/up", "Content-Length: 100");
    SEND(&ca, "only part of it");
    uint64_t t0 = now_ms();
    CHECK_EQ_INT(client_read_response(&ca, &r, 3000, 0), 0);
    CHECK_EQ_INT(r.status, 408);
    CHECK(now_ms() - t0 < 2000, "408 after %llu ms", (unsigned long long)(now_ms() - t0));
    CHECK_EQ_INT(atomic_load(&last_status), -408);
    client_close(&ca);

    atomic_store(&last_status, 0);
    client_connect(&ca, port);
    send_head("/up", "Content-Length: 100");
    SEND(&ca, "partial");
    usleep(50000);
    client_close(&ca);
    for (int i = 0; i < 100 && atomic_load(&last_status) == 0; i++)
        usleep(10000);
    CHECK_EQ_INT(atomic_load(&last_status), -400); /* cut short */
    fixture_stop(srv);
}

static void test_body_not_taken(void) {
    t_case = "body not taken, or no longer wanted";
    chopin_server *srv = start(1ull << 30, 5000);
    client_connect(&ca, chopin_server_port(srv));
    /* Answered at once: the body is read and dropped, the next request served. */
    send_head("/up-refused", "Content-Length: 3000000");
    client_send(&ca, upload, 3000000);
    CHECK_EQ_INT(client_read_response(&ca, &r, 3000, 0), 0);
    CHECK_EQ_INT(r.status, 200);
    CHECK(r.body_len == 17 && memcmp(r.body, "streamed=1 body=0", 17) == 0, "got '%.*s'", (int)r.body_len, r.body);
    /* Answered after the first piece while the rest is still coming. */
    send_head("/up-early", "Transfer-Encoding: chunked");
    send_chunked(3000000);
    CHECK_EQ_INT(client_read_response(&ca, &r, 3000, 0), 0);
    CHECK_EQ_INT(r.status, 200);
    SEND(&ca, "GET /plain HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK_EQ_INT(client_read_response(&ca, &r, 3000, 0), 0);
    CHECK_EQ_INT(r.status, 200);
    CHECK(!r.conn_close, "keep-alive goes on");
    client_close(&ca);
    fixture_stop(srv);
}

static void test_expect_continue(void) {
    t_case = "Expect: 100-continue";
    chopin_server *srv = start(1ull << 30, 5000);
    client_connect(&ca, chopin_server_port(srv));
    send_head("/up", "Content-Length: 10\r\nExpect: 100-continue");
    CHECK_EQ_INT(client_read_response(&ca, &r, 2000, 1), 0);
    CHECK_EQ_INT(r.status, 100);
    memcpy(upload, "0123456789", 10);
    client_send(&ca, upload, 10);
    expect_upload_answer(10);
    client_close(&ca);
    fixture_stop(srv);
}

static void run_backend(const char *name) {
    (void)name;
    for (uint32_t i = 0; i < UPLOAD_SIZE; i++)
        upload[i] = (char)(i * 2654435761u >> 24);
    test_length_upload();
    test_chunked_upload();
    test_limits();
    test_bad_framing_and_stall();
    test_body_not_taken();
    test_small_and_empty();
    test_expect_continue();
}

int main(void) {
    upload = malloc(UPLOAD_SIZE);
    fixture_each_backend(run_backend);
    free(upload);
    return test_finish("test_body_stream");
}
