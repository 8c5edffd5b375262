/* test_lifecycle.c - how a connection makes progress and how it ends, over
 * real sockets on both backends: a slow reader of a large response is not
 * cut off while it reads and one that stops is; an error response reaches a
 * client still sending its body (lingering close), within bounded time and
 * bytes; a worker that leaves at the shutdown deadline with io_uring
 * operations in flight leaves none behind, and one given up on at the
 * deadline frees the server once it ends; an epoll_ctl that fails closes
 * its connection instead of leaving it waiting forever; an answer written
 * for a connection that then resets never reaches the connection accepted
 * next on its descriptor number. */
#include "fixture.h"
#include "net.h"
#include "test.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define HUGE_SIZE (20u << 20) /* 20 MB: far more than loopback's socket buffers */
static char *huge_body;

/* Answers a deferred response from another thread after a while. */
static void *answer_later(void *arg) {
    chopin_deferred *d = arg;
    usleep(400000);
    chopin_response_send(chopin_deferred_response(d), 200, "text/plain", "late", 4);
    chopin_deferred_finish(d);
    return NULL;
}
static pthread_t late_thread;
static _Atomic int blocked, unblock; /* /block's handler runs; it may return */

static void app(void *ctx, const chopin_request *req, chopin_response *res) {
    (void)ctx;
    if (req->path.len == 11 && memcmp(req->path.ptr, "/slow-defer", 11) == 0)
        pthread_create(&late_thread, NULL, answer_later, chopin_response_defer(res));
    else if (req->path.len == 5 && memcmp(req->path.ptr, "/huge", 5) == 0)
        chopin_response_send(res, 200, "application/octet-stream", huge_body, HUGE_SIZE);
    else if (req->path.len == 6 && memcmp(req->path.ptr, "/block", 6) == 0) {
        /* Holds its worker until the test lets it go. */
        atomic_store(&blocked, 1);
        while (!atomic_load(&unblock)) usleep(1000);
        chopin_response_send(res, 200, "text/plain", "late", 4);
    }
    else
        chopin_response_send(res, 200, "text/plain", "ok", 2);
}

static client ca;
static response r;

/* Reads a /huge response at about `mb_per_s` (0: as fast as it comes),
 * stopping after `stop_after` body bytes (0: never). Returns the body bytes
 * read before the server closed or everything arrived. */
static size_t read_huge(client *c, int mb_per_s, size_t stop_after) {
    static char buf[65536];
    size_t got = 0, head = 0;
    char first[512];
    size_t first_len = 0;
    for (;;) {
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        if (poll(&p, 1, 3000) <= 0) break;
        ssize_t n = recv(c->fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        if (!head) {
            size_t k = (size_t)n < sizeof first - first_len ? (size_t)n : sizeof first - first_len;
            memcpy(first + first_len, buf, k);
            first_len += k;
            char *end = memmem(first, first_len, "\r\n\r\n", 4);
            if (!end) continue;
            head = (size_t)(end - first) + 4;
            got = first_len - head + ((size_t)n - k);
        } else {
            got += (size_t)n;
        }
        if (got >= HUGE_SIZE) break;
        if (stop_after && got >= stop_after) break;
        if (mb_per_s) usleep((useconds_t)((size_t)n * 1000000u / ((size_t)mb_per_s << 20)));
    }
    return got;
}

/* Milliseconds from `since` until the server has closed more connections
 * than `before` counts (with `by_timeout`, also counted more timeouts), or
 * -1 when that did not happen within limit_ms; *now gets the metrics of
 * that moment. */
static int64_t ms_until_closed(chopin_server *srv, const chopin_metrics *before, int by_timeout, uint64_t since,
                               int limit_ms, chopin_metrics *now) {
    while (now_ms() - since < (uint64_t)limit_ms) {
        chopin_server_metrics(srv, now);
        if (now->closed > before->closed && (!by_timeout || now->timeouts > before->timeouts))
            return (int64_t)(now_ms() - since);
        usleep(5000);
    }
    return -1;
}

static void test_slow_reader(void) {
    chopin_config cfg = fixture_config(app);
    cfg.write_timeout_ms = 300;
    chopin_server *srv = fixture_start(&cfg);
    if (!srv) return;
    uint16_t port = chopin_server_port(srv);

    t_case = "write timeout: a slow reader of a 20 MB response gets all of it";
    client_connect(&ca, port);
    uint64_t t0 = now_ms();
    SEND(&ca, "GET /huge HTTP/1.1\r\nHost: t\r\n\r\n");
    size_t got = read_huge(&ca, 8, 0); /* about 2.5 s: many times the 300 ms timeout */
    uint64_t took = now_ms() - t0;
    CHECK(got == HUGE_SIZE, "read %zu of %u bytes in %llu ms", got, HUGE_SIZE, (unsigned long long)took);
    CHECK(took > 1000, "the read was slow (%llu ms), so the timeout was crossed many times", (unsigned long long)took);
    client_close(&ca);

    t_case = "write timeout: a reader that stops is cut off at the timeout";
    chopin_metrics m0, m1;
    chopin_server_metrics(srv, &m0);
    client_connect(&ca, port);
    SEND(&ca, "GET /huge HTTP/1.1\r\nHost: t\r\n\r\n");
    got = read_huge(&ca, 0, 1u << 20);
    int64_t cut = ms_until_closed(srv, &m0, 1, now_ms(), 3000, &m1);
    CHECK(cut >= 0, "closed by the write timeout after the reader stopped");
    CHECK(cut < 1500, "within %lld ms of stopping (timeout 300 ms, socket buffers drain first)", (long long)cut);
    got += read_huge(&ca, 0, 0);
    CHECK(got < HUGE_SIZE, "the rest was not sent (%zu bytes in all)", got);
    client_close(&ca);
    fixture_stop(srv);
}

/* Sends the whole buffer with a blocking socket; 0, or the errno that ended it. */
static int send_all(client *c, const char *p, size_t n) {
    while (n) {
        ssize_t k = send(c->fd, p, n, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* 1 when the server's FIN arrives as a clean end of stream (not a reset). */
static int clean_eof(client *c, int timeout_ms) {
    char buf[4096];
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    if (poll(&p, 1, timeout_ms) <= 0) return 0;
    return recv(c->fd, buf, sizeof buf, 0) == 0;
}

#define BODY_3MB (3u << 20)
#define BODY_16MB (16u << 20) /* more than loopback's socket buffers take before a reset */
static char body_16mb[BODY_16MB];

static void test_lingering_close(void) {
    chopin_config cfg = fixture_config(app);
    cfg.linger_timeout_ms = 2000;
    cfg.max_linger_bytes = 8u << 20;
    chopin_server *srv = fixture_start(&cfg);
    if (!srv) return;
    uint16_t port = chopin_server_port(srv);

    t_case = "lingering close: a client still sending its body reads the early 413, then a clean end";
    client_connect(&ca, port);
    SEND(&ca, "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 3145728\r\n\r\n");
    int err = send_all(&ca, body_16mb, BODY_3MB); /* the server answered 413 at the head */
    CHECK(err == 0, "the whole body was taken, not reset (%s)", strerror(err));
    CHECK(client_read_response(&ca, &r, 2000, 0) == 0 && r.status == 413, "status %d", r.status);
    CHECK(clean_eof(&ca, 2000), "then the server's FIN, not a reset");
    client_close(&ca);

    t_case = "lingering close: a client that neither sends nor closes is closed at linger_timeout_ms";
    fixture_stop(srv);
    cfg.linger_timeout_ms = 300;
    srv = fixture_start(&cfg);
    if (!srv) return;
    port = chopin_server_port(srv);
    chopin_metrics m0, m1;
    chopin_server_metrics(srv, &m0);
    client_connect(&ca, port);
    SEND(&ca, "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 3145728\r\n\r\nabc");
    CHECK(client_read_response(&ca, &r, 2000, 0) == 0 && r.status == 413, "status %d", r.status);
    uint64_t t0 = now_ms();
    CHECK(clean_eof(&ca, 2000), "the FIN comes at once");
    int64_t closed_after = ms_until_closed(srv, &m0, 0, t0, 3000, &m1);
    CHECK(closed_after >= 200 && closed_after < 1500, "closed %lld ms after the response (linger 300 ms)",
          (long long)closed_after);
    CHECK(m1.timeouts == m0.timeouts, "the end of lingering is not counted as a timeout");
    client_close(&ca);

    t_case = "lingering close: a client that sends more than max_linger_bytes is cut off";
    fixture_stop(srv);
    cfg.linger_timeout_ms = 5000;
    cfg.max_linger_bytes = 256u << 10;
    srv = fixture_start(&cfg);
    if (!srv) return;
    client_connect(&ca, chopin_server_port(srv));
    SEND(&ca, "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 16777216\r\n\r\n");
    t0 = now_ms();
    err = send_all(&ca, body_16mb, BODY_16MB);
    CHECK(err == EPIPE || err == ECONNRESET, "the body was refused part-way (%s)", strerror(err));
    CHECK(now_ms() - t0 < 2000, "promptly (%llu ms)", (unsigned long long)(now_ms() - t0));
    client_close(&ca);
    fixture_stop(srv);
}

static void test_linger_disabled(void) {
    t_case = "linger_timeout_ms = 0: an error response closes at once";
    chopin_config cfg = fixture_config(app);
    cfg.linger_timeout_ms = 0;
    chopin_server *srv = fixture_start(&cfg);
    if (!srv) return;
    chopin_metrics m0, m1;
    chopin_server_metrics(srv, &m0);
    client_connect(&ca, chopin_server_port(srv));
    SEND(&ca, "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 3145728\r\n\r\nabc");
    CHECK(client_read_response(&ca, &r, 2000, 0) == 0 && r.status == 413, "status %d", r.status);
    usleep(100000);
    chopin_server_metrics(srv, &m1);
    CHECK(m1.closed > m0.closed, "closed without lingering");
    client_close(&ca);
    fixture_stop(srv);
}

static void test_deadline_with_operations_in_flight(void) {
    t_case = "shutdown deadline: the worker leaves no io_uring operation in flight";
    chopin_config cfg = fixture_config(app);
    cfg.shutdown_timeout_ms = 200;
    cfg.write_timeout_ms = 60000;
    cfg.header_timeout_ms = 60000;
    chopin_server *srv = fixture_start(&cfg);
    if (!srv) return;
    uint16_t port = chopin_server_port(srv);
    enum { N = 8 };
    static client stalled[N], halfway[N];
    for (int i = 0; i < N; i++) {
        /* A send the reader never drains, and a recv waiting for the rest of a head. */
        client_connect(&stalled[i], port);
        SEND(&stalled[i], "GET /huge HTTP/1.1\r\nHost: t\r\n\r\n");
        client_connect(&halfway[i], port);
        SEND(&halfway[i], "GET /ok HTTP/1.1\r\nHo");
    }
    usleep(200000);
    uint64_t before = atomic_load(&chopin__uring_abandoned_ops);
    uint64_t t0 = now_ms();
    fixture_stop(srv);
    uint64_t took = now_ms() - t0;
    CHECK(atomic_load(&chopin__uring_abandoned_ops) == before, "%llu operations abandoned",
          (unsigned long long)(atomic_load(&chopin__uring_abandoned_ops) - before));
    CHECK(took >= 150 && took < 1500, "stopped at the deadline (%llu ms)", (unsigned long long)took);
    for (int i = 0; i < N; i++) {
        CHECK(client_wait_eof(&halfway[i], 1000), "waiting connection closed");
        client_close(&stalled[i]);
        client_close(&halfway[i]);
    }
}

static void test_deferral_outlives_server(void) {
    t_case = "a deferred answer finished after the server stopped is dropped safely (ASan watches)";
    chopin_config cfg = fixture_config(app);
    cfg.shutdown_timeout_ms = 100;
    chopin_server *srv = fixture_start(&cfg);
    if (!srv) return;
    client_connect(&ca, chopin_server_port(srv));
    SEND(&ca, "GET /slow-defer HTTP/1.1\r\nHost: t\r\n\r\n");
    usleep(50000);
    uint64_t t0 = now_ms();
    fixture_stop(srv); /* the deadline passes while the answer is still being written */
    CHECK(now_ms() - t0 < 1000, "the stop did not wait for the handler (%llu ms)", (unsigned long long)(now_ms() - t0));
    pthread_join(late_thread, NULL); /* finishes into a server that is gone */
    CHECK(client_wait_eof(&ca, 1000), "the client was closed at the deadline");
    client_close(&ca);
}

/* chopin_server_wait gives up on a worker still busy at the deadline; when
 * that worker ends after all, it frees the server (which used to stay
 * allocated for good: LeakSanitizer saw it at exit, as it did in
 * test_deadline_with_operations_in_flight on a machine too loaded to run
 * the worker within the wait's grace). */
static void test_worker_given_up_on_frees_the_server(void) {
    t_case = "a worker given up on at the deadline frees the server once it ends (LeakSanitizer watches)";
    chopin_config cfg = fixture_config(app);
    cfg.shutdown_timeout_ms = 100;
    chopin_server *srv = fixture_start(&cfg);
    if (!srv) return;
    atomic_store(&blocked, 0);
    atomic_store(&unblock, 0);
    client_connect(&ca, chopin_server_port(srv));
    SEND(&ca, "GET /block HTTP/1.1\r\nHost: t\r\n\r\n");
    uint64_t until = now_ms() + 3000;
    while (!atomic_load(&blocked) && now_ms() < until) usleep(1000);
    CHECK(atomic_load(&blocked), "the handler did not run");
    chopin_server_stop(srv);
    CHECK(chopin_server_wait(srv) == 1, "the wait did not give up on the busy worker");
    /* Now the handler returns and its worker ends: it frees the server (if
     * it has not by the time this process exits, LeakSanitizer sees a live
     * thread and nothing lost either way). */
    atomic_store(&unblock, 1);
    usleep(300000);
    client_close(&ca);
}

static void test_client_gone_while_deferred(void) {
    chopin_config cfg = fixture_config(app);
    chopin_server *srv = fixture_start(&cfg);
    if (!srv) return;
    uint16_t port = chopin_server_port(srv);

    t_case = "a client that closes while its answer is deferred is closed at once (its handler cancelled)";
    chopin_metrics m0, m1;
    chopin_server_metrics(srv, &m0);
    client_connect(&ca, port);
    SEND(&ca, "GET /slow-defer HTTP/1.1\r\nHost: t\r\n\r\n");
    usleep(50000);
    client_close(&ca);
    int64_t closed_after = ms_until_closed(srv, &m0, 0, now_ms(), 1000, &m1);
    CHECK(closed_after >= 0 && closed_after < 250, "closed %lld ms after the client left (the answer takes 400)",
          (long long)closed_after);
    pthread_join(late_thread, NULL);

    t_case = "a client that half-closes after more requests still gets every answer";
    client_connect(&ca, port);
    SEND(&ca, "GET /slow-defer HTTP/1.1\r\nHost: t\r\n\r\n");
    usleep(50000);
    SEND(&ca, "GET /ok HTTP/1.1\r\nHost: t\r\n\r\n");
    shutdown(ca.fd, SHUT_WR);
    CHECK(client_read_response(&ca, &r, 2000, 0) == 0 && r.body_len == 4 && memcmp(r.body, "late", 4) == 0,
          "the deferred answer");
    CHECK(client_read_response(&ca, &r, 2000, 0) == 0 && r.status == 200, "the next one");
    CHECK(client_wait_eof(&ca, 1000), "then the close");
    pthread_join(late_thread, NULL);
    client_close(&ca);
    fixture_stop(srv);
}

/* A child whose epoll_ctl(EPOLL_CTL_MOD) fails with ENOMEM, as it may under
 * memory pressure: the connection that needs EPOLLOUT must close, not wait
 * forever for an event it never asked for. */
static int child_with_failing_epoll_mod(void) {
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_epoll_ctl, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, EPOLL_CTL_MOD, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOMEM & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof filter / sizeof filter[0], .filter = filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) return 10;
    backend_name = "epoll";
    chopin_config cfg = fixture_config(app);
    cfg.write_timeout_ms = 60000; /* only the failure may end it */
    chopin_server *s = fixture_start(&cfg);
    if (!s) return 11;
    client c;
    client_connect(&c, chopin_server_port(s));
    SEND(&c, "GET /huge HTTP/1.1\r\nHost: t\r\n\r\n");
    usleep(300000); /* the server's send meets a full socket and asks for EPOLLOUT */
    uint64_t t0 = now_ms();
    size_t got = read_huge(&c, 0, 0);
    int rc = got < HUGE_SIZE && now_ms() - t0 < 2500 ? 0 : 12;
    client_close(&c);
    fixture_stop(s);
    return rc;
}

static void test_epoll_ctl_failure(void) {
    t_case = "epoll: a failed epoll_ctl closes the connection instead of stalling it";
    pid_t pid = fork();
    if (pid == 0) _exit(child_with_failing_epoll_mod());
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child exit %d", WEXITSTATUS(status));
}

/* A connection closed in the same turn that wrote a send for it must not
 * have that send land on the next connection given its descriptor number.
 * The worker is held in /block while a client asks for an answer and
 * resets at once and a second client connects, so that the next turn sees
 * all three: the answer is written, the reset closes the first connection,
 * and accept4 hands its number to the second. (io_uring read the number
 * only when it submitted the send, after that: the second client got the
 * first one's answer.) Several rounds, as the kernel's order of those
 * events is not fixed. */
static void test_answer_never_reaches_the_next_connection(void) {
    t_case = "an answer for a connection that reset never reaches the one accepted after it";
    chopin_config cfg = fixture_config(app);
    chopin_server *srv = fixture_start(&cfg);
    if (!srv) return;
    uint16_t port = chopin_server_port(srv);
    static client held, asker, next;
    int strays = 0, rounds = 20, held_rounds = 0;
    for (int i = 0; i < rounds; i++) {
        atomic_store(&blocked, 0);
        atomic_store(&unblock, 0);
        client_connect(&asker, port);
        SEND(&asker, "GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
        client_read_response(&asker, &r, 2000, 0); /* accepted and reading */
        client_connect(&held, port);
        SEND(&held, "GET /block HTTP/1.1\r\nHost: t\r\n\r\n");
        uint64_t until = now_ms() + 3000;
        while (!atomic_load(&blocked) && now_ms() < until) usleep(1000);
        held_rounds += atomic_load(&blocked);
        SEND(&asker, "GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
        struct linger reset = {.l_onoff = 1, .l_linger = 0};
        setsockopt(asker.fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
        client_close(&asker);
        client_connect(&next, port);
        usleep(20000);
        atomic_store(&unblock, 1);
        if (!client_silent(&next, 100)) strays++;
        client_close(&next);
        client_close(&held);
    }
    CHECK_EQ_INT(held_rounds, rounds);
    CHECK(strays == 0, "%d of %d connections got bytes they never asked for", strays, rounds);
    fixture_stop(srv);
}

/* worker_turn_when_asked: the hook runs in no turn nobody asked for (a
 * loop of requests calls it not once), runs after chopin_worker_ask_turn
 * from another thread with a wake, runs again while it says more is
 * queued, and then stops again. */
static chopin_worker *_Atomic turn_worker;
static _Atomic int turns, more_turns;
static void *remember_worker(void *ctx, chopin_worker *w, uint32_t i) {
    (void)ctx, (void)i;
    atomic_store(&turn_worker, w);
    return w;
}
static int count_turn(void *state) {
    (void)state;
    atomic_fetch_add(&turns, 1);
    return atomic_fetch_sub(&more_turns, 1) > 0;
}
static int turns_reach(int want) {
    uint64_t until = now_ms() + 2000;
    while (atomic_load(&turns) < want && now_ms() < until) usleep(1000);
    return atomic_load(&turns);
}
static void test_turn_only_when_asked(void) {
    t_case = "worker_turn_when_asked runs the hook only in turns it was asked for";
    chopin_config cfg = fixture_config(app);
    cfg.worker_start = remember_worker;
    cfg.worker_turn = count_turn;
    cfg.worker_turn_when_asked = 1;
    atomic_store(&turns, 0);
    atomic_store(&more_turns, 0);
    atomic_store(&turn_worker, NULL);
    chopin_server *srv = fixture_start(&cfg);
    if (!srv) return;
    client_connect(&ca, chopin_server_port(srv));
    for (int i = 0; i < 50; i++) {
        SEND(&ca, "GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
        CHECK_EQ_INT(client_read_response(&ca, &r, 2000, 0), 0);
    }
    CHECK_EQ_INT(atomic_load(&turns), 0);
    chopin_worker *w = atomic_load(&turn_worker);
    CHECK(w != NULL, "worker_start ran");
    if (w) {
        atomic_store(&more_turns, 2); /* two more after the asked one */
        chopin_worker_ask_turn(w);
        chopin_worker_wake(w);
        CHECK_EQ_INT(turns_reach(3), 3);
        usleep(50000);
        CHECK_EQ_INT(atomic_load(&turns), 3);
        SEND(&ca, "GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
        CHECK_EQ_INT(client_read_response(&ca, &r, 2000, 0), 0);
        CHECK_EQ_INT(atomic_load(&turns), 3);
    }
    client_close(&ca);
    fixture_stop(srv);
    /* One last turn as the worker ends, asked for or not. */
    CHECK_EQ_INT(atomic_load(&turns), 4);
}

static void run_backend(const char *name) {
    test_turn_only_when_asked();
    test_slow_reader();
    test_lingering_close();
    test_linger_disabled();
    test_deferral_outlives_server();
    test_client_gone_while_deferred();
    test_worker_given_up_on_frees_the_server();
    test_answer_never_reaches_the_next_connection();
    if (strcmp(name, "uring") == 0) test_deadline_with_operations_in_flight();
}

int main(void) {
    huge_body = malloc(HUGE_SIZE);
    for (uint32_t i = 0; i < HUGE_SIZE; i++)
        huge_body[i] = (char)('a' + i % 26);
    fixture_each_backend(run_backend);
    test_epoll_ctl_failure();
    free(huge_body);
    return test_finish("test_lifecycle");
}
