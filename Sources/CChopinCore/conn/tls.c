/* tls.c - a TLS server's connections: each gets a session when it opens
 * (base/tls_session.c), the handshakes in progress are counted against
 * max_tls_handshakes (accepting pauses at the cap, so that a flood of
 * handshakes cannot take the worker from its established connections), and
 * a file body's parts are read and sealed here, the kernel's sendfile
 * having no way to encrypt, until the session's write keys are the
 * kernel's (kTLS, base/tls_kernel.c): from then on the connection sends as
 * a plain one does. The rest of the transport is in the two places
 * bytes pass: events.c (ciphertext in) and lifecycle.c (sealed out). */
#include "conn.h"
#include "count.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

int chopin__conn_tls_begin(chopin_worker *w, chopin_conn *c) {
    struct ssl_ctx_st *ctx = chopin__tls_context_get(w->cfg->tls);
    c->tls = ctx ? chopin__tls_session_new(ctx, &w->pool) : NULL;
    if (ctx) chopin__tls_context_put(ctx); /* the session holds its own reference */
    if (!c->tls) return -1;
    w->tls_handshaking++;
    /* The handshake's deadline, not the head's that the open armed. */
    c->timer = TK_HANDSHAKE;
    chopin__wheel_set(&w->wheel, c->idx, w->now_ms + w->cfg->tls_handshake_timeout_ms);
    return 0;
}

void chopin__conn_tls_handshake_ended(chopin_worker *w) {
    w->tls_handshaking--;
    if (!w->accept_handshakes || w->tls_handshaking >= w->cfg->max_tls_handshakes) return;
    w->accept_handshakes = 0;
    if (!w->accept_full && !w->stopping) w->ops->accept_start(w);
}

/* A scanner, or a client that distrusts the certificate, fails handshakes
 * by the thousand: one line per worker per interval says why, and how
 * many failed since the last line. */
#define TLS_FAILURE_LOG_MS 10000

static void log_failure(chopin_worker *w, chopin_conn *c) {
    w->tls_failures++;
    if (w->tls_failure_logged_ms && w->now_ms - w->tls_failure_logged_ms < TLS_FAILURE_LOG_MS) return;
    char why[256];
    chopin__log("chopin: worker %u: a TLS %s failed: %s (%u failure%s since the last such line)", w->id,
                c->tls->established ? "session" : "handshake", chopin__tls_failure(c->tls, why, sizeof why),
                w->tls_failures, w->tls_failures == 1 ? "" : "s");
    w->tls_failures = 0;
    w->tls_failure_logged_ms = w->now_ms ? w->now_ms : 1;
}

/* Plain HTTP at the HTTPS port (http://host:443/): the client cannot read
 * an alert, so it gets a 400 in its own protocol that says what went
 * wrong, as nginx answers, instead of a connection closed without a word.
 * It replaces whatever the failed handshake queued. */
static const char PLAIN_HTTP_ANSWER[] = "HTTP/1.1 400 Bad Request\r\n"
                                        "Content-Type: text/plain; charset=utf-8\r\n"
                                        "Content-Length: 50\r\n"
                                        "Connection: close\r\n"
                                        "\r\n"
                                        "This port speaks HTTPS: ask again with https://.\r\n";

void chopin__conn_tls_failed(chopin_worker *w, chopin_conn *c) {
    if (chopin__tls_plain_http(c->tls)) {
        c->tls->out.len = 0;
        if (chopin__buf_append(&c->tls->out, &w->pool, PLAIN_HTTP_ANSWER, sizeof PLAIN_HTTP_ANSWER - 1) < 0)
            c->tls->out.len = 0;
        chopin__metrics_status(w, 400);
        CHOPIN_COUNT(w, parse_errors, 1); /* a request refused as malformed, as on a plain port */
        return;
    }
    CHOPIN_COUNT(w, tls_failures, 1);
    log_failure(w, c);
}

int chopin__conn_tls_kernel(chopin_worker *w, chopin_conn *c) {
    chopin_tls_session *s = c->tls;
    if (s->kernel_tx) return 1;
    if (!chopin__tls_kernel_ready(s) || (c->flags & CF_SENDING)) return 0;
    int rc = chopin__tls_kernel_hand_over(s, c->fd);
    if (rc > 0) {
        CHOPIN_COUNT(w, tls_kernel, 1);
        return 1;
    }
    if (!w->tls_kernel_refusal_logged) {
        /* Once per worker: the same kernel refuses the next ones alike. */
        w->tls_kernel_refusal_logged = 1;
        chopin__log("chopin: worker %u: the kernel refused a connection's TLS keys (%s); the connections it refuses "
                    "are sealed in user space",
                    w->id, strerror(-rc));
    }
    return 0;
}

long chopin__conn_tls_seal_file_part(chopin_worker *w, chopin_conn *c) {
    size_t want = c->file_left < CHOPIN_TLS_FILE_PART ? (size_t)c->file_left : CHOPIN_TLS_FILE_PART;
    ssize_t n;
    do
        n = pread(c->file_fd, w->tls_file_part, want, (off_t)c->file_off);
    while (n < 0 && errno == EINTR);
    if (n < 0) return -errno;
    if (n > 0 && chopin__tls_write(c->tls, w->tls_file_part, (size_t)n) < 0) return -ENOMEM;
    return (long)n;
}
