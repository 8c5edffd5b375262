/* test_conn.c - the connection floor (conn/) alone, driven through a fake backend: every state a
 * connection passes through (HEAD, BODY, DEFERRED, CLOSING, LINGER, DEAD,
 * FREE), partial sends and the write timer's restart on progress,
 * backpressure, half-close, lingering close and its limits, and a backend
 * that fails. No event loop, no threads: each step is one call. */
#include "loop/loop.h"
#include "test.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- the fake backend ------------------------------------------------------- */
static struct {
    char sent[1 << 16];
    size_t sent_len;
    long send_limit; /* bytes taken per send call; -1: all */
    int paused;
    int fail_pause; /* read_pause returns this when non-zero */
    int pause_calls, resume_calls;
    int busy;       /* cancel says operations are still in flight */
    int released_later;
} fake;

static int f_ok(chopin_worker *w) { return (void)w, 0; }
static void f_void(chopin_worker *w) { (void)w; }
static int f_conn_start(chopin_worker *w, chopin_conn *c) { return (void)w, (void)c, 0; }
static int f_pause(chopin_worker *w, chopin_conn *c) {
    (void)w, (void)c;
    fake.pause_calls++;
    if (fake.fail_pause) return fake.fail_pause;
    fake.paused = 1;
    return 0;
}
static int f_resume(chopin_worker *w, chopin_conn *c) {
    (void)w, (void)c;
    fake.resume_calls++;
    fake.paused = 0;
    return 0;
}
static long f_send(chopin_worker *w, chopin_conn *c) {
    (void)w;
    size_t n = c->tx.len - c->tx.off;
    if (fake.send_limit >= 0 && (size_t)fake.send_limit < n) n = (size_t)fake.send_limit;
    if (fake.sent_len + n > sizeof fake.sent) n = sizeof fake.sent - fake.sent_len;
    memcpy(fake.sent + fake.sent_len, c->tx.data + c->tx.off, n);
    fake.sent_len += n;
    return (long)n;
}
static int f_cancel(chopin_worker *w, chopin_conn *c) { return (void)w, (void)c, fake.busy; }
static int f_wait(chopin_worker *w, int t) { return (void)w, (void)t, 0; }

static const chopin_backend_ops fake_ops = {
    .name = "fake",
    .init = f_ok,
    .destroy = f_void,
    .accept_start = f_ok,
    .accept_stop = f_void,
    .conn_start = f_conn_start,
    .read_pause = f_pause,
    .read_resume = f_resume,
    .send = f_send,
    .cancel = f_cancel,
    .wait = f_wait,
    .dispatch = f_void,
};

/* ---- the application ----------------------------------------------------------- */
static chopin_deferred *last_deferral;

static void app(void *ctx, const chopin_request *req, chopin_response *res) {
    (void)ctx;
    if (req->path.len == 6 && memcmp(req->path.ptr, "/defer", 6) == 0)
        last_deferral = chopin_response_defer(res);
    else if (req->path.len == 4 && memcmp(req->path.ptr, "/big", 4) == 0) {
        static char big[4096];
        memset(big, 'b', sizeof big);
        chopin_response_send(res, 200, "text/plain", big, sizeof big);
    } else
        chopin_response_send(res, 200, "text/plain", "ok", 2);
}

/* ---- a worker without a thread ------------------------------------------------- */
static chopin_config cfg;
static chopin_worker w;
static chopin_worker_metrics metrics;
static int peer = -1; /* the client's end of the socket pair */

static void reset_fake(void) {
    memset(&fake, 0, sizeof fake);
    fake.send_limit = -1;
}

static chopin_conn *open_conn(void) {
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv);
    if (peer >= 0) close(peer);
    peer = sv[1];
    uint32_t idx = chopin__slab_alloc(&w.slab);
    chopin_conn *c = &w.conns[idx];
    c->idx = idx;
    c->gen = chopin__slab_gen(&w.slab, idx);
    chopin__conn_open(&w, c, sv[0]);
    reset_fake();
    return c;
}

/* Bytes arrive, within a loop turn that goes on. */
static void feed_in_turn(chopin_conn *c, const char *s) {
    static char buf[4096];
    size_t n = strlen(s);
    memcpy(buf, s, n); /* the backend's buffer: conn/ may compact it in place */
    chopin__conn_data(&w, c, buf, n);
}

/* Bytes arrive, and the loop turn ends. */
static void feed(chopin_conn *c, const char *s) {
    feed_in_turn(c, s);
    chopin__conn_follow_due_interest(&w);
}

static int count(const char *hay, size_t n, const char *needle) {
    int k = 0;
    size_t nl = strlen(needle);
    for (size_t i = 0; i + nl <= n; i++)
        if (memcmp(hay + i, needle, nl) == 0) k++;
    return k;
}

/* 1 when the client end sees the server's FIN (after whatever is buffered). */
static int peer_sees_fin(void) {
    char buf[256];
    for (;;) {
        ssize_t n = recv(peer, buf, sizeof buf, 0);
        if (n == 0) return 1;
        if (n < 0) return 0;
    }
}

#define GET(path) "GET " path " HTTP/1.1\r\nHost: t\r\n\r\n"
/* Whether the bytes sent so far hold lit. */
#define SENT(lit) (memmem(fake.sent, fake.sent_len, lit, sizeof(lit) - 1) != NULL)

/* A handler finishes its deferral (from "another thread"), and the worker
 * takes the completion as its loop would. */
static void answer(chopin_deferred *d, const char *body) {
    chopin_response_send(chopin_deferred_response(d), 200, "text/plain", body, strlen(body));
    chopin_deferred_finish(d);
    chopin__worker_wake_event(&w);
    chopin__conn_resume_ready(&w);
}

static int cancels, releases, drains;
static void on_cancel(void *arg) { (void)arg, cancels++; }
static void on_drain(void *arg) { (void)arg, drains++; }
static void on_release(void *arg) { (void)arg, releases++; }
static void observe(chopin_deferred *d) { chopin_deferred_observe(d, on_cancel, on_drain, on_release, NULL); }

static void test_keep_alive(void) {
    t_case = "HEAD -> handler -> HEAD: a response, keep-alive, the idle timer";
    chopin_conn *c = open_conn();
    CHECK_EQ_INT(c->state, CONN_HEAD);
    CHECK_EQ_INT(c->timer, TK_HEADER);
    feed(c, GET("/"));
    CHECK(count(fake.sent, fake.sent_len, "HTTP/1.1 200 OK") == 1, "one response");
    CHECK_EQ_INT(c->state, CONN_HEAD);
    CHECK_EQ_INT(c->timer, TK_IDLE);
    CHECK(!(c->flags & CF_SENDING) && c->tx.data == NULL && c->out.data == NULL, "idle: no buffer held");
    t_case = "pipelined requests in one read leave in one send";
    feed(c, GET("/") GET("/") GET("/"));
    CHECK(count(fake.sent, fake.sent_len, "HTTP/1.1 200 OK") == 4, "four responses in all");
    chopin__conn_close(&w, c);
    CHECK_EQ_INT(c->state, CONN_FREE);
}

static void test_partial_sends(void) {
    t_case = "partial sends: the rest waits; each bit of progress restarts the write timer";
    chopin_conn *c = open_conn();
    fake.send_limit = 100;
    feed(c, GET("/big"));
    CHECK(c->flags & CF_SENDING, "still sending");
    CHECK_EQ_INT(c->timer, TK_WRITE);
    uint64_t first_deadline = w.wheel.nodes[c->idx].deadline;
    w.now_ms += 5000; /* well inside write_timeout_ms */
    chopin__conn_send_ready(&w, c, 0);
    CHECK(w.wheel.nodes[c->idx].deadline == first_deadline + 5000, "deadline moved with the progress");
    fake.send_limit = 0; /* the client stops reading */
    w.now_ms += 5000;
    chopin__conn_send_ready(&w, c, 0);
    CHECK(w.wheel.nodes[c->idx].deadline == first_deadline + 5000, "no progress: the deadline stays");
    fake.send_limit = -1;
    chopin__conn_send_ready(&w, c, 0);
    CHECK(!(c->flags & CF_SENDING), "all sent");
    CHECK(fake.sent_len > 4096 && count(fake.sent, fake.sent_len, "HTTP/1.1 200 OK") == 1, "one whole response");
    CHECK_EQ_INT(c->timer, TK_IDLE);
    chopin__conn_close(&w, c);
}

static void test_backpressure(void) {
    t_case = "backpressure: reads pause while output backs up, resume when it drains";
    chopin_conn *c = open_conn();
    fake.send_limit = 0;
    char reqs[8 * 40] = "";
    for (int i = 0; i < 8; i++)
        strcat(reqs, GET("/big"));
    feed(c, reqs); /* 8 x 4 KiB against max_pending_output of 8 KiB */
    CHECK(fake.paused && (c->flags & CF_READ_PAUSED), "paused");
    CHECK(c->flags & CF_PENDING_INPUT, "the rest waits, unread");
    fake.send_limit = -1;
    for (int i = 0; i < 8 && (c->flags & CF_SENDING); i++)
        chopin__conn_send_ready(&w, c, 0);
    CHECK(!fake.paused && !(c->flags & CF_READ_PAUSED), "resumed");
    CHECK_EQ_INT(count(fake.sent, fake.sent_len, "HTTP/1.1 200 OK"), 8);
    chopin__conn_close(&w, c);
}

static void test_deferred_and_half_close(void) {
    t_case = "DEFERRED: later requests wait; a half-closed client still gets every answer, then the close";
    chopin_conn *c = open_conn();
    feed_in_turn(c, GET("/defer") GET("/"));
    CHECK_EQ_INT(c->state, CONN_DEFERRED);
    CHECK(!fake.paused, "reads not paused before the turn ends: the answer may come within it");
    chopin__conn_follow_due_interest(&w);
    CHECK(fake.paused, "reads paused while deferred past the turn");
    CHECK_EQ_INT(fake.sent_len, 0);
    chopin__conn_eof(&w, c, 0);
    CHECK_EQ_INT(c->state, CONN_DEFERRED);
    answer(last_deferral, "late");
    CHECK_EQ_INT(count(fake.sent, fake.sent_len, "HTTP/1.1 200 OK"), 2);
    CHECK(memmem(fake.sent, fake.sent_len, "late", 4) < memmem(fake.sent, fake.sent_len, "\r\n\r\nok", 6), "in order");
    CHECK_EQ_INT(c->state, CONN_FREE);
}

static int app_error_body(void *ctx, int status, const char **type, const void **body, size_t *len) {
    (void)ctx;
    if (status != 400) return 0;
    static const char problem[] = "{\"title\":\"bad request\"}";
    *type = "application/problem+json";
    *body = problem;
    *len = sizeof problem - 1;
    return 1;
}

static void test_error_body(void) {
    t_case = "the core's own answers in the application's error format (error_body)";
    cfg.error_body = app_error_body;
    chopin_conn *c = open_conn();
    size_t before = fake.sent_len;
    feed(c, "GET / HTTP/1.1\r\nHost t\r\n\r\n");
    const char *got = fake.sent + before;
    size_t n = fake.sent_len - before;
    CHECK(count(got, n, "HTTP/1.1 400") == 1, "400");
    static const char type[] = "Content-Type: application/problem+json\r\n";
    CHECK(memmem(got, n, type, sizeof type - 1) != NULL, "its type");
    static const char tail[] = "Content-Length: 23\r\nConnection: close\r\n\r\n{\"title\":\"bad request\"}";
    CHECK(memmem(got, n, tail, sizeof tail - 1) != NULL, "its body, and the close: %.*s", (int)n, got);
    chopin__conn_eof(&w, c, 0);
    chopin__conn_close(&w, c);
    cfg.error_body = NULL;
}

static void test_error_lingers(void) {
    t_case = "bad input -> CLOSING -> LINGER: the response, the FIN, then late bytes are dropped";
    chopin_conn *c = open_conn();
    feed(c, "GET / HTTP/1.1\r\nHost t\r\n\r\nmore");
    CHECK(count(fake.sent, fake.sent_len, "HTTP/1.1 400") == 1, "400");
    CHECK_EQ_INT(c->state, CONN_LINGER);
    CHECK_EQ_INT(c->timer, TK_LINGER);
    CHECK(!fake.paused, "reading, to drain");
    CHECK(peer_sees_fin(), "the write side is shut");
    size_t before = fake.sent_len;
    feed(c, GET("/"));
    CHECK(fake.sent_len == before && c->state == CONN_LINGER, "a late request is not answered");
    chopin__conn_eof(&w, c, 0);
    CHECK_EQ_INT(c->state, CONN_FREE);

    t_case = "LINGER ends at max_linger_bytes";
    c = open_conn();
    feed(c, "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 999999999\r\n\r\n");
    CHECK_EQ_INT(c->state, CONN_LINGER);
    static char junk[1024];
    for (int i = 0; i < 8 && c->state == CONN_LINGER; i++)
        chopin__conn_data(&w, c, junk, sizeof junk); /* max_linger_bytes is 4 KiB here */
    CHECK_EQ_INT(c->state, CONN_FREE);

    t_case = "LINGER ends at linger_timeout_ms, and is not a timeout";
    c = open_conn();
    feed(c, "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 999999999\r\n\r\n");
    uint64_t timeouts = metrics.timeouts;
    chopin__conn_timeout(&w, c);
    CHECK_EQ_INT(c->state, CONN_FREE);
    CHECK_EQ_INT(metrics.timeouts, timeouts);

    t_case = "a Connection: close response with nothing left unread closes without lingering";
    c = open_conn();
    feed(c, "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    CHECK_EQ_INT(c->state, CONN_FREE);
    t_case = "a Connection: close response with a pipelined request behind it lingers";
    c = open_conn();
    feed(c, "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" GET("/"));
    CHECK_EQ_INT(c->state, CONN_LINGER);
    CHECK_EQ_INT(count(fake.sent, fake.sent_len, "HTTP/1.1 200 OK"), 1);
    chopin__conn_close(&w, c);
}

static void test_timeouts(void) {
    t_case = "header timeout mid-request: 408, then CLOSING's way out";
    chopin_conn *c = open_conn();
    feed(c, "GET / HTTP/1.1\r\nHo");
    CHECK_EQ_INT(c->timer, TK_HEADER);
    chopin__conn_timeout(&w, c);
    CHECK(count(fake.sent, fake.sent_len, "HTTP/1.1 408") == 1, "408");
    CHECK_EQ_INT(c->state, CONN_LINGER);
    chopin__conn_close(&w, c);
    t_case = "BODY: the body timer, then 408";
    c = open_conn();
    feed(c, "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
    CHECK_EQ_INT(c->state, CONN_BODY);
    CHECK_EQ_INT(c->timer, TK_BODY);
    chopin__conn_timeout(&w, c);
    CHECK(count(fake.sent, fake.sent_len, "HTTP/1.1 408") == 1, "408");
    chopin__conn_close(&w, c);
}

static void test_deferred_answered_within_the_turn(void) {
    t_case = "a deferral answered within its turn (an async handler that awaits nothing) never pauses reads";
    chopin_conn *c = open_conn();
    for (int i = 0; i < 3; i++) {
        feed_in_turn(c, GET("/defer"));
        CHECK_EQ_INT(c->state, CONN_DEFERRED);
        answer(last_deferral, "soon");
        chopin__conn_follow_due_interest(&w);
    }
    CHECK_EQ_INT(count(fake.sent, fake.sent_len, "HTTP/1.1 200 OK"), 3);
    CHECK_EQ_INT(fake.pause_calls, 0);
    CHECK_EQ_INT(fake.resume_calls, 0);
    CHECK(!(c->flags & CF_READ_PAUSED), "reading");

    t_case = "a deferral left for a later turn pauses reads at the turn's end, once";
    feed_in_turn(c, GET("/defer"));
    chopin__conn_follow_due_interest(&w);
    chopin__conn_follow_due_interest(&w);
    CHECK_EQ_INT(fake.pause_calls, 1);
    answer(last_deferral, "later");
    CHECK_EQ_INT(fake.resume_calls, 1);
    CHECK_EQ_INT(count(fake.sent, fake.sent_len, "HTTP/1.1 200 OK"), 4);
    chopin__conn_close(&w, c);
}

static void test_deferral_reuse(void) {
    t_case = "a finished deferral serves the next request that defers: a shorter second answer carries nothing of the first";
    chopin_conn *c = open_conn();
    feed_in_turn(c, GET("/defer"));
    chopin_deferred *first = last_deferral;
    answer(first, "a much longer first answer");
    CHECK(w.nspare_deferrals >= 1, "kept for reuse");
    size_t before = fake.sent_len;
    feed_in_turn(c, GET("/defer"));
    CHECK(last_deferral == first, "the kept deferral reused");
    answer(last_deferral, "2nd");
    const char *second = fake.sent + before;
    size_t n = fake.sent_len - before;
    CHECK_EQ_INT(count(second, n, "HTTP/1.1 200 OK"), 1);
    CHECK(memmem(second, n, "Content-Length: 3\r\n", 19) != NULL, "its own length");
    CHECK(n >= 3 && memcmp(second + n - 3, "2nd", 3) == 0, "its own body, last");
    CHECK(memmem(second, n, "longer", 6) == NULL, "nothing of the first");

    t_case = "a deferral whose answer needed a large buffer is freed, not kept";
    uint32_t spare = w.nspare_deferrals;
    feed_in_turn(c, GET("/defer"));
    CHECK_EQ_INT(w.nspare_deferrals, spare - 1);
    static char large[20000];
    memset(large, 'l', sizeof large);
    chopin_response_send(chopin_deferred_response(last_deferral), 200, "text/plain", large, sizeof large);
    chopin_deferred_finish(last_deferral);
    chopin__worker_wake_event(&w);
    CHECK_EQ_INT(w.nspare_deferrals, spare - 1);
    chopin__conn_close(&w, c);
}

static void test_backend_failures(void) {
    t_case = "a backend that cannot pause reads: the connection closes";
    chopin_conn *c = open_conn();
    fake.fail_pause = -ENOMEM;
    feed(c, GET("/defer"));
    CHECK_EQ_INT(c->state, CONN_FREE);
    answer(last_deferral, "nobody reads this");

    t_case = "DEAD until the backend's operations end, then FREE";
    c = open_conn();
    fake.busy = 1;
    uint32_t gen = c->gen;
    chopin__conn_close(&w, c);
    CHECK_EQ_INT(c->state, CONN_DEAD);
    CHECK(chopin__conn_lookup(&w, c->idx, gen) == c, "still found by its completions");
    chopin__conn_data(&w, c, (char *)"x", 1); /* a late completion changes nothing */
    CHECK_EQ_INT(c->state, CONN_DEAD);
    chopin__conn_release(&w, c);
    CHECK_EQ_INT(c->state, CONN_FREE);
    CHECK(chopin__conn_lookup(&w, c->idx, gen) == NULL, "a stale completion finds nothing");
}

static void test_deferred_deadline(void) {
    t_case = "DEFERRED past deferred_timeout_ms: 503 in its place, the handler cancelled, the late answer dropped";
    chopin_conn *c = open_conn();
    cancels = releases = 0;
    feed(c, GET("/defer") GET("/"));
    chopin_deferred *d = last_deferral;
    observe(d);
    CHECK_EQ_INT(c->timer, TK_DEFERRED);
    chopin__conn_timeout(&w, c);
    CHECK_EQ_INT(cancels, 1);
    CHECK(count(fake.sent, fake.sent_len, "HTTP/1.1 503") == 1, "503");
    CHECK(count(fake.sent, fake.sent_len, "HTTP/1.1 200 OK") == 1, "the request behind it answered too");
    CHECK_EQ_INT(c->state, CONN_HEAD);
    answer(d, "too late");
    CHECK(!memmem(fake.sent, fake.sent_len, "too late", 8), "the late answer is dropped");
    CHECK_EQ_INT(releases, 1);
    CHECK_EQ_INT(cancels, 1);
    CHECK_EQ_INT(w.ndeferred, 0);
    chopin__conn_close(&w, c);
}

static void test_deferred_deadline_grace(void) {
    t_case = "a handler that answers its own deadline: cancelled at it, its own answer sent within the grace";
    chopin_conn *c = open_conn();
    cancels = releases = 0;
    size_t sent_before = fake.sent_len;
    feed(c, GET("/defer") GET("/"));
    chopin_deferred *d = last_deferral;
    observe(d);
    chopin_deferred_answers_timeout(d, 500);
    chopin__conn_timeout(&w, c);
    CHECK_EQ_INT(cancels, 1);
    CHECK_EQ_INT(chopin_deferred_timed_out(d), 1);
    CHECK_EQ_INT(c->timer, TK_DEFERRED);
    CHECK(!memmem(fake.sent + sent_before, fake.sent_len - sent_before, "HTTP/1.1 503", 12), "no 503 of the core's");
    CHECK_EQ_INT(c->state, CONN_DEFERRED);
    answer(d, "its own answer");
    CHECK(memmem(fake.sent + sent_before, fake.sent_len - sent_before, "its own answer", 14) != NULL, "its answer");
    CHECK(count(fake.sent + sent_before, fake.sent_len - sent_before, "HTTP/1.1 200 OK") == 2, "and the one behind");
    CHECK_EQ_INT(cancels, 1);
    CHECK_EQ_INT(releases, 1);
    chopin__conn_close(&w, c);

    t_case = "a handler that answers its own deadline but not within the grace: the core's 503";
    c = open_conn();
    cancels = releases = 0;
    sent_before = fake.sent_len;
    feed(c, GET("/defer"));
    d = last_deferral;
    observe(d);
    chopin_deferred_answers_timeout(d, 500);
    chopin__conn_timeout(&w, c);
    chopin__conn_timeout(&w, c);
    CHECK_EQ_INT(cancels, 1);
    CHECK(count(fake.sent + sent_before, fake.sent_len - sent_before, "HTTP/1.1 503") == 1, "503");
    answer(d, "too late");
    CHECK(!memmem(fake.sent + sent_before, fake.sent_len - sent_before, "too late", 8), "the late answer is dropped");
    CHECK_EQ_INT(releases, 1);
    CHECK_EQ_INT(w.ndeferred, 0);
    chopin__conn_close(&w, c);
}

static void test_deferred_client_gone(void) {
    t_case = "a client that leaves while its answer is deferred cancels the handler; the answer is freed";
    chopin_conn *c = open_conn();
    cancels = releases = 0;
    feed(c, GET("/defer"));
    chopin_deferred *d = last_deferral;
    observe(d);
    chopin__conn_eof(&w, c, ECONNRESET);
    CHECK_EQ_INT(c->state, CONN_FREE);
    CHECK_EQ_INT(cancels, 1);
    CHECK_EQ_INT(releases, 0);
    answer(d, "gone");
    CHECK_EQ_INT(releases, 1);
    CHECK_EQ_INT(w.ndeferred, 0);

    t_case = "an answer deferred for a connection that left never reaches the next one in the same slot";
    c = open_conn();
    uint32_t idx = c->idx, gen = c->gen;
    feed(c, GET("/defer"));
    chopin_deferred *old = last_deferral;
    chopin__conn_close(&w, c);
    w.slab.gen[idx] = gen; /* as if the 24-bit generation had wrapped round */
    c = open_conn();
    CHECK(c->idx == idx && c->gen == gen, "same slot, same generation");
    feed(c, GET("/defer"));
    chopin_deferred *mine = last_deferral;
    answer(old, "not yours");
    CHECK(fake.sent_len == 0 && c->state == CONN_DEFERRED, "nothing delivered");
    answer(mine, "yours");
    CHECK(memmem(fake.sent, fake.sent_len, "yours", 5) && !memmem(fake.sent, fake.sent_len, "not yours", 9), "own answer");
    chopin__conn_close(&w, c);
}

static void test_deferred_during_stop(void) {
    t_case = "an HTTP/1.0 keep-alive answer deferred across a stop says Connection: close, once";
    chopin_conn *c = open_conn();
    feed(c, "GET /defer HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    chopin_deferred *d = last_deferral;
    chopin_response_send(chopin_deferred_response(d), 200, "text/plain", "bye", 3);
    w.stopping = 1;
    chopin_deferred_finish(d);
    chopin__worker_wake_event(&w);
    w.stopping = 0;
    CHECK_EQ_INT(count(fake.sent, fake.sent_len, "Connection: "), 1);
    CHECK_EQ_INT(count(fake.sent, fake.sent_len, "Connection: close\r\n"), 1);
    CHECK(memmem(fake.sent, fake.sent_len, "\r\n\r\nbye", 7) != NULL, "body intact");
    CHECK_EQ_INT(c->state, CONN_FREE);
}

static void test_deferred_cap(void) {
    t_case = "max_deferred: past it, requests wait unread; they go on when one ends";
    cfg.max_deferred = 2;
    chopin_conn *a = open_conn();
    feed(a, GET("/defer"));
    chopin_deferred *da = last_deferral;
    chopin_conn *b = open_conn();
    feed(b, GET("/defer"));
    chopin_deferred *db = last_deferral;
    chopin_conn *c = open_conn();
    feed(c, GET("/"));
    CHECK(fake.sent_len == 0 && (c->flags & CF_CAP_WAIT), "the third waits");
    CHECK(fake.paused, "its reads pause");
    answer(da, "a");
    CHECK(count(fake.sent, fake.sent_len, "HTTP/1.1 200 OK") == 2 && memmem(fake.sent, fake.sent_len, "\r\n\r\nok", 6),
          "the first's answer, and the third answered once a deferral ended");
    CHECK(!(c->flags & CF_CAP_WAIT) && !fake.paused, "and reads again");
    answer(db, "b");
    chopin__conn_close(&w, a);
    chopin__conn_close(&w, b);
    chopin__conn_close(&w, c);
    cfg.max_deferred = 1024;
}

static void test_streaming(void) {
    t_case = "a streamed response: the head at once, chunks as written, the last chunk at the end";
    chopin_conn *c = open_conn();
    feed(c, GET("/defer"));
    chopin_deferred *d = last_deferral;
    observe(d);
    drains = releases = 0;
    chopin_response *r = chopin_deferred_response(d);
    chopin_response_start(r, 200);
    chopin_response_header(r, "Content-Type", 12, "text/event-stream", 17);
    CHECK_EQ_INT(chopin_deferred_stream_start(d), 0);
    CHECK(SENT("Transfer-Encoding: chunked\r\n"), "chunked head out");
    CHECK(!memmem(fake.sent, fake.sent_len, "Content-Length", 14), "no length");
    CHECK_EQ_INT(chopin_deferred_stream_write(d, "hello", 5), 0);
    CHECK(SENT("\r\n\r\n5\r\nhello\r\n"), "a chunk");
    t_case = "a stream whose client does not read is told to wait, and drained";
    fake.send_limit = 0;
    static char piece[6000];
    memset(piece, 'p', sizeof piece);
    CHECK_EQ_INT(chopin_deferred_stream_write(d, piece, sizeof piece), 0);
    CHECK_EQ_INT(chopin_deferred_stream_write(d, piece, sizeof piece), 1); /* over max_pending_output (8 KiB) */
    CHECK_EQ_INT(drains, 0);
    fake.send_limit = -1;
    chopin__conn_send_ready(&w, c, 0);
    CHECK_EQ_INT(drains, 1);
    t_case = "a stream's end: the last chunk, and the connection goes on";
    chopin__current_worker = NULL;
    CHECK_EQ_INT(chopin_deferred_stream_write(d, "x", 1), -1); /* only on the worker's thread */
    chopin__current_worker = &w;
    chopin_deferred_finish(d);
    chopin__worker_wake_event(&w);
    CHECK(fake.sent_len >= 5 && memcmp(fake.sent + fake.sent_len - 5, "0\r\n\r\n", 5) == 0, "last chunk");
    CHECK_EQ_INT(c->state, CONN_HEAD);
    CHECK_EQ_INT(releases, 1);
    chopin__conn_close(&w, c);

    t_case = "an HTTP/1.0 stream: raw bytes, delimited by the close";
    c = open_conn();
    feed(c, "GET /defer HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    d = last_deferral;
    chopin_response_start(chopin_deferred_response(d), 200);
    CHECK_EQ_INT(chopin_deferred_stream_start(d), 0);
    CHECK_EQ_INT(chopin_deferred_stream_write(d, "raw", 3), 0);
    CHECK(SENT("Connection: close\r\n\r\nraw"), "close-delimited");
    CHECK(!memmem(fake.sent, fake.sent_len, "chunked", 7), "not chunked");
    chopin_deferred_finish(d);
    chopin__worker_wake_event(&w);
    CHECK_EQ_INT(c->state, CONN_FREE);

    t_case = "a stream whose client left: writes say so";
    c = open_conn();
    feed(c, GET("/defer"));
    d = last_deferral;
    chopin_response_start(chopin_deferred_response(d), 200);
    CHECK_EQ_INT(chopin_deferred_stream_start(d), 0);
    chopin__conn_eof(&w, c, ECONNRESET);
    CHECK_EQ_INT(chopin_deferred_stream_write(d, "x", 1), -1);
    chopin_deferred_finish(d);
    chopin__worker_wake_event(&w);
}

static void test_worker_end(void) {
    t_case = "a worker that ends orphans the deferrals still being written; their handlers free them";
    chopin_conn *c = open_conn();
    cancels = releases = 0;
    feed(c, GET("/defer"));
    chopin_deferred *d = last_deferral;
    observe(d);
    chopin__conn_close(&w, c);
    chopin__deferrals_end(&w);
    chopin__worker_wake_event(&w); /* as the worker does after it */
    CHECK_EQ_INT(w.ndeferred, 0);
    CHECK(w.deferrals == NULL, "none left on the worker");
    chopin_response_send(chopin_deferred_response(d), 200, NULL, "x", 1);
    chopin_deferred_finish(d); /* after the worker is gone: frees it, touches nothing else */
    CHECK_EQ_INT(releases, 1);
    CHECK_EQ_INT(cancels, 1);
}

int main(void) {
    chopin_config_init(&cfg);
    cfg.handler = app;
    cfg.max_connections = 8;
    cfg.max_pending_output = 8192;
    cfg.max_linger_bytes = 4096;
    w.cfg = &cfg;
    w.ops = &fake_ops;
    w.metrics = &metrics;
    w.listen_fd = w.wake_fd = -1;
    CHECK_EQ_INT(chopin__worker_setup(&w), 0);
    chopin__current_worker = &w; /* these calls come from the worker's own thread */
    test_keep_alive();
    test_partial_sends();
    test_backpressure();
    test_deferred_and_half_close();
    test_deferred_answered_within_the_turn();
    test_deferral_reuse();
    test_error_lingers();
    test_error_body();
    test_timeouts();
    test_backend_failures();
    test_deferred_deadline();
    test_deferred_deadline_grace();
    test_deferred_client_gone();
    test_deferred_during_stop();
    test_deferred_cap();
    test_streaming();
    test_worker_end();
    CHECK_EQ_INT(chopin__slab_used(&w.slab), 0);
    chopin__worker_teardown(&w);
    if (peer >= 0) close(peer);
    return test_finish("test_conn");
}
