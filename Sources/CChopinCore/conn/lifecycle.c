/* lifecycle.c - a connection from open to release, and what leaves it in
 * between:
 *   - the one deadline it waits on;
 *   - the output pump: all the responses of one read leave in one send,
 *     then the file body that follows them, if any, one part at a time;
 *     at most one send is in flight;
 *   - reads paused and resumed (backpressure), and the calm end of a
 *     request on a keep-alive connection (settle.c does the rest);
 *   - its last response, a failed request answered and closed;
 *   - a deferral's lifetime on its worker: abandoned when its connection no
 *     longer wants the answer (its handler's cancel runs), freed once done,
 *     counted against max_deferred;
 *   - the close itself, and the slot given back once the backend is done
 *     with it. */
#include "conn.h"
#include "count.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

__thread chopin_worker *chopin__current_worker;

/* ---- deadlines ----------------------------------------------------------------- */

/* Arms deadline k, ms from now, unless it is armed already (restart: arm it anew). */
void chopin__conn_set_timer(chopin_worker *w, chopin_conn *c, timer_kind k, uint32_t ms, int restart) {
    if (c->timer == k && !restart) return;
    c->timer = (uint8_t)k;
    chopin__wheel_set(&w->wheel, c->idx, w->now_ms + ms);
}

/* Arms the one deadline that matters for what the connection waits on. */
void chopin__conn_arm_timer(chopin_worker *w, chopin_conn *c) {
    const chopin_config *cfg = w->cfg;
    if (c->flags & CF_SENDING) {
        chopin__conn_set_timer(w, c, TK_WRITE, cfg->write_timeout_ms, 0); /* restarted by each send's progress */
        return;
    }
    if ((c->flags & (CF_BODY_STREAM | CF_BODY_FULL)) == CF_BODY_STREAM) {
        chopin__conn_set_timer(w, c, TK_BODY, cfg->body_timeout_ms, 0); /* restarted by each piece */
        return;
    }
    switch (c->state) {
    case CONN_DEFERRED: chopin__conn_set_timer(w, c, TK_DEFERRED, cfg->deferred_timeout_ms, 0); break;
    case CONN_BODY: chopin__conn_set_timer(w, c, TK_BODY, cfg->body_timeout_ms, 0); break;
    case CONN_LINGER: chopin__conn_set_timer(w, c, TK_LINGER, cfg->linger_timeout_ms, 0); break;
    case CONN_WEBSOCKET: chopin__conn_set_timer(w, c, TK_IDLE, cfg->idle_timeout_ms, 0); break; /* restarted by input */
    default:
        if (c->tls && !c->tls->established)
            chopin__conn_set_timer(w, c, TK_HANDSHAKE, cfg->tls_handshake_timeout_ms, 0);
        else if (c->in.len > 0 || c->requests == 0)
            chopin__conn_set_timer(w, c, TK_HEADER, cfg->header_timeout_ms, 0);
        else
            chopin__conn_set_timer(w, c, TK_IDLE, cfg->idle_timeout_ms, 1);
    }
}

/* ---- a deferral's lifetime ----------------------------------------------------- */

void chopin__deferral_abandon(chopin_worker *w, chopin_deferred *d) {
    (void)w;
    d->conn_idx = CHOPIN_NIL;
    d->in_callback = 1; /* a finish from these callbacks must not free d under us */
    if (d->body_open) {
        /* The rest of the body will not come to it. */
        d->body_open = 0;
        d->body_piece(d->arg, NULL, 0, CHOPIN_BODY_ABORTED);
    }
    if (d->cancel && !d->cancelled) {
        d->cancelled = 1;
        d->cancel(d->arg);
    }
    d->in_callback = 0;
}

void chopin__deferral_let_go(chopin_deferred *d) {
    if (d->release) d->release(d->arg);
    d->release = NULL;
    if (d->res.file_fd >= 0) close(d->res.file_fd); /* an answer with a file that was never delivered */
    d->res.file_fd = -1;
}

void chopin__deferral_free(chopin_deferred *d) {
    chopin__deferral_let_go(d);
    chopin__buf_release(&d->buf, NULL);
    free(d);
}

void chopin__worker_capacity_freed(chopin_worker *w) {
    if (w->ndeferred >= w->cfg->max_deferred) return;
    /* Below the cap again: connections that waited take their turn next. */
    for (uint32_t i = 0; i < w->ncap_wait; i++) {
        chopin_conn *c = &w->conns[w->cap_wait[i]];
        if (!(c->flags & CF_CAP_WAIT)) continue;
        c->flags &= (uint16_t)~CF_CAP_WAIT;
        if (!(c->flags & CF_READY)) {
            c->flags |= CF_READY;
            w->ready[w->nready++] = c->idx;
        }
    }
    w->ncap_wait = 0;
}

/* ---- file bodies --------------------------------------------------------------- */

/* A file body's share of one loop turn: a fast reader of a large file does
 * not keep the worker from its other connections. */
#define FILE_TURN_BYTES (1u << 20)

long chopin__file_sendfile_part(chopin_conn *c) {
    off_t off = (off_t)c->file_off;
    uint64_t left = c->file_left < FILE_TURN_BYTES ? c->file_left : FILE_TURN_BYTES;
    uint64_t done = 0;
    while (done < left) {
        ssize_t n = sendfile(c->fd, c->file_fd, &off, (size_t)(left - done));
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN) return -errno;
            break;
        }
        if (n == 0) return -EIO; /* the file shrank under us */
        done += (uint64_t)n;
    }
    return (long)done;
}

/* 64 KB: big enough that a 1 MB file is 16 sends, small enough to stay a
 * heap block that malloc recycles rather than maps. */
#define FILE_PART (64u << 10)

long chopin__file_read_part(chopin_worker *w, chopin_conn *c) {
    size_t want = c->file_left < FILE_PART ? (size_t)c->file_left : FILE_PART;
    if (chopin__buf_reserve(&c->tx, &w->pool, want) < 0) return -ENOMEM;
    ssize_t n;
    do
        n = pread(c->file_fd, c->tx.data, want, (off_t)c->file_off);
    while (n < 0 && errno == EINTR);
    if (n < 0) return -errno;
    c->tx.len = (uint32_t)n;
    c->tx.off = 0;
    return (long)n;
}

void chopin__conn_take_file(chopin_conn *c, chopin_response *res) {
    if (res->file_fd < 0) return;
    c->file_fd = res->file_fd;
    c->file_off = res->file_off;
    c->file_left = res->file_len;
    c->flags |= CF_FILE;
    res->file_fd = -1; /* the connection's to close now */
}

void chopin__file_done(chopin_conn *c) {
    if (!(c->flags & CF_FILE)) return;
    close(c->file_fd);
    c->file_fd = -1;
    c->flags &= (uint16_t)~CF_FILE;
}

/* ---- the output pump ----------------------------------------------------------- */

/* n more bytes of tx left; clears CF_SENDING when all of them did. Progress
 * restarts the write timer: it measures a stall, not a whole response. */
static void sent(chopin_worker *w, chopin_conn *c, size_t n) {
    c->tx.off += (uint32_t)n;
    if (c->tx.off < c->tx.len) {
        if (n) chopin__conn_set_timer(w, c, TK_WRITE, w->cfg->write_timeout_ms, 1);
        return;
    }
    c->flags &= (uint16_t)~CF_SENDING;
    CHOPIN_COUNT(w, bytes_out, c->tx.len);
    c->tx.len = c->tx.off = 0;
}

/* Gives the rest of tx to the backend. Returns -1 when the connection closed. */
static int send_more(chopin_worker *w, chopin_conn *c) {
    long n = w->ops->send(w, c);
    if (n < 0) {
        chopin__conn_close(w, c);
        return -1;
    }
    sent(w, c, (size_t)n);
    return 0;
}

/* The next part of a file body. With the backend's send_file, straight from
 * the page cache (CF_SENDING while the socket is full, so the write timer
 * runs and send_ready comes); otherwise read into tx and sent like any
 * other bytes. Returns -1 when the connection closed. */
static int send_file_part(chopin_worker *w, chopin_conn *c) {
    long n;
    if (w->ops->send_file) {
        n = w->ops->send_file(w, c);
        if (n > 0) {
            c->file_off += (uint64_t)n;
            c->file_left -= (uint64_t)n;
            CHOPIN_COUNT(w, bytes_out, (uint64_t)n);
            chopin__conn_set_timer(w, c, TK_WRITE, w->cfg->write_timeout_ms, 1); /* progress */
        }
        if (n >= 0 && c->file_left > 0) c->flags |= CF_SENDING; /* waits for room */
    } else {
        n = chopin__file_read_part(w, c);
        if (n > 0) {
            c->file_off += (uint64_t)n;
            c->file_left -= (uint64_t)n;
            c->flags |= CF_SENDING;
            c->timer = TK_NONE; /* a new send: the stall clock restarts */
            if (send_more(w, c) < 0) return -1;
        } else if (n == 0) {
            n = -EIO; /* the file shrank: the promised length cannot be kept */
        }
    }
    if (n < 0) {
        chopin__conn_close(w, c);
        return -1;
    }
    if (c->file_left == 0) chopin__file_done(c);
    return 0;
}

/* What is queued in `queued` (the responses in out, or a TLS session's
 * sealed records) becomes the send under way (tx); the old tx buffer,
 * empty now, is kept to queue the next bytes in. Returns -1 when the
 * connection closed. */
static inline int send_queued(chopin_worker *w, chopin_conn *c, chopin_buf *queued) {
    chopin_buf t = c->tx;
    c->tx = *queued;
    c->tx.off = 0;
    *queued = t;
    queued->len = queued->off = 0;
    c->flags |= CF_SENDING;
    c->timer = TK_NONE; /* a new send: the stall clock restarts */
    return send_more(w, c);
}

/* ---- the output pump under TLS ------------------------------------------------- */

/* TLS, everything sent: whether our close_notify is due. The last answer is
 * out, or the client said it is done and has nothing more to be answered:
 * it reads an end rather than a truncation. */
static inline int tls_end_due(const chopin_conn *c) {
    return c->state == CONN_CLOSING ||
           ((c->flags & CF_PEER_DONE) && c->state == CONN_HEAD && !(c->flags & CF_PENDING_INPUT));
}

/* TLS: the next plaintext in line (the queued responses, else a file
 * body's next part, else, on a closing connection, our close_notify) is
 * sealed into the session's output (or, once the connection is ending, our
 * close_notify). Returns -1 when the connection closed. */
static int tls_seal(chopin_worker *w, chopin_conn *c) {
    chopin_tls_session *s = c->tls;
    if (!s->established) return 0; /* only the handshake's own messages go out */
    long n = 0;
    if (c->out.len > 0) {
        n = chopin__tls_write(s, c->out.data, c->out.len) < 0 ? -ENOMEM : 1;
        c->out.len = c->out.off = 0;
    } else if (c->flags & CF_FILE) {
        n = chopin__conn_tls_seal_file_part(w, c);
        if (n > 0) {
            c->file_off += (uint64_t)n;
            c->file_left -= (uint64_t)n;
            if (c->file_left == 0) chopin__file_done(c);
        } else if (n == 0) {
            n = -EIO; /* the file shrank: the promised length cannot be kept */
        }
    } else if (tls_end_due(c)) {
        chopin__tls_notify_close(s);
    }
    if (n < 0) {
        chopin__conn_close(w, c);
        return -1;
    }
    return 0;
}

/* TLS: sealed records leave as queued responses do on a plain connection. */
static int plain_flush(chopin_worker *w, chopin_conn *c);

static int tls_flush(chopin_worker *w, chopin_conn *c) {
    chopin_tls_session *s = c->tls;
    uint64_t file_start = (c->flags & CF_FILE) ? c->file_left : 0;
    while (!(c->flags & CF_SENDING)) {
        /* kTLS: what OpenSSL sealed is out, the kernel seals the rest. */
        if (chopin__conn_tls_kernel(w, c)) return plain_flush(w, c);
        if ((c->flags & CF_FILE) && file_start - c->file_left >= FILE_TURN_BYTES && c->out.len == 0) {
            /* A file body's share of this turn is out (a socket that keeps
             * taking would hold the worker here): the rest goes on at the
             * next turn, after the other connections (settle puts it on
             * the ready list). */
            c->flags |= CF_QUOTA;
            break;
        }
        if (tls_seal(w, c) < 0) return -1;
        if (s->out.len == 0) break;
        if (send_queued(w, c, &s->out) < 0) return -1;
    }
    return 0;
}

/* Hands queued responses to the backend: all the responses of one read
 * leave in one send, then the file body that follows them, if any.
 * Returns -1 when the connection closed. */
static int plain_flush(chopin_worker *w, chopin_conn *c) {
    while (!(c->flags & CF_SENDING)) {
        if (c->out.len > 0) {
            if (send_queued(w, c, &c->out) < 0) return -1;
        } else if (c->flags & CF_FILE) {
            if (send_file_part(w, c) < 0) return -1;
        } else {
            /* kTLS: everything is out; a connection that ends says so,
             * as tls_seal does in user space. */
            if (c->tls && tls_end_due(c)) chopin__tls_kernel_notify_close(c->tls, c->fd);
            break;
        }
    }
    return 0;
}

int chopin__conn_flush(chopin_worker *w, chopin_conn *c) {
    if (c->tls && !c->tls->kernel_tx) return tls_flush(w, c);
    return plain_flush(w, c);
}

/* CLOSING, response sent: linger, or close. Returns 0 when the connection
 * closed. */
int chopin__conn_end_closing(chopin_worker *w, chopin_conn *c) {
    if (!(c->flags & CF_LINGER) || (c->flags & CF_PEER_DONE) || c->discarded > w->cfg->max_linger_bytes) {
        chopin__conn_close(w, c);
        return 0;
    }
    /* The FIN goes after the response; the client's late bytes are read and dropped. */
    shutdown(c->fd, SHUT_WR);
    c->state = CONN_LINGER;
    return 1;
}

int chopin__conn_idle(const chopin_conn *c) { return c->state == CONN_HEAD && c->in.len == 0 && !chopin__conn_output_queued(c); }

/* The backend reports res bytes of tx sent (or -errno): the rest goes on.
 * Returns -1 when the connection closed. */
int chopin__conn_sent(chopin_worker *w, chopin_conn *c, long res) {
    if (res < 0) {
        chopin__conn_close(w, c);
        return -1;
    }
    sent(w, c, (size_t)res);
    if ((c->flags & CF_SENDING) && send_more(w, c) < 0) return -1;
    return 0;
}

/* ---- reads follow the state ---------------------------------------------------- */

/* Reads pause while a response is deferred or closing, output backs up,
 * complete requests already wait in `in`, or the client said it is done:
 * memory stays bounded per connection (a streamed body is read while its
 * consumer keeps up). While a deferred handler works for a
 * client with nothing more to ask, the backend still watches for its FIN, so
 * that a client that leaves cancels the handler. Returns -1 when the
 * connection closed. */
static int apply_read_interest(chopin_worker *w, chopin_conn *c) {
    /* A streamed body is read while its consumer keeps up, deferred or not. */
    int body_wanted = (c->flags & (CF_BODY_STREAM | CF_BODY_FULL)) == CF_BODY_STREAM;
    int want_pause = !body_wanted && (c->state == CONN_DEFERRED || c->state == CONN_CLOSING ||
                                      chopin__conn_pending_output(c) > w->cfg->max_pending_output ||
                                      (c->flags & (CF_PENDING_INPUT | CF_PEER_DONE)));
    if (c->state == CONN_WEBSOCKET)
        want_pause = (c->flags & (CF_BODY_FULL | CF_PEER_DONE)) || chopin__conn_pending_output(c) > w->cfg->max_pending_output;
    int want_watch =
        want_pause && c->state == CONN_DEFERRED && c->in.len == 0 && !(c->flags & (CF_PEER_DONE | CF_HUP_SEEN));
    int paused = !!(c->flags & CF_READ_PAUSED), watching = !!(c->flags & CF_WATCH_HUP);
    int rc = 0;
    if (want_pause && (!paused || want_watch != watching)) {
        c->flags = (uint16_t)((c->flags | CF_READ_PAUSED) & ~CF_WATCH_HUP);
        if (want_watch) c->flags |= CF_WATCH_HUP;
        rc = w->ops->read_pause(w, c);
    } else if (!want_pause && paused) {
        c->flags &= (uint16_t)~(CF_READ_PAUSED | CF_WATCH_HUP);
        rc = w->ops->read_resume(w, c);
    }
    if (rc < 0) {
        chopin__log("chopin: worker %u: cannot %s reads of a connection: %s; closing it", w->id,
                    want_pause ? "pause" : "resume", strerror(-rc));
        chopin__conn_close(w, c);
        return -1;
    }
    return 0;
}

/* Reads follow the connection's state, except that a deferral's pause waits
 * for the end of the turn: an async handler that awaits nothing answers in
 * this very turn (the worker_turn hook), and pausing now only to resume then
 * would cost two epoll_ctl calls (or a cancel and a re-armed recv) per
 * request. Until then nothing more is read for the connection on epoll (one
 * read per readiness event), and io_uring's bytes already on their way are
 * kept in `in`, as they are when paused. */
int chopin__conn_follow_read_interest(chopin_worker *w, chopin_conn *c) {
    if (c->state == CONN_DEFERRED && !(c->flags & CF_READ_PAUSED) && !(c->flags & CF_BODY_STREAM)) {
        if (!c->interest_due) {
            c->interest_due = 1;
            w->interest_due[w->ninterest_due++] = c->idx;
        }
        return 0;
    }
    return apply_read_interest(w, c);
}

void chopin__conn_follow_due_interest(chopin_worker *w) {
    uint32_t n = w->ninterest_due;
    w->ninterest_due = 0;
    for (uint32_t i = 0; i < n; i++) {
        chopin_conn *c = &w->conns[w->interest_due[i]];
        c->interest_due = 0;
        if (chopin__conn_open_p(c)) apply_read_interest(w, c);
    }
}

/* TLS: whether the bytes before the client's FIN are its close_notify
 * alone: one record, an alert (TLS 1.2), or, in TLS 1.3, where alerts are
 * sealed as application data, a record just big enough for a two-byte
 * alert (its type byte and the AEAD tag added). No request is that small. */
static int tls_only_close_notify(const unsigned char *b, ssize_t n) {
    if (n < 5 || (b[1] != 3) || 5 + (((size_t)b[3] << 8) | b[4]) != (size_t)n) return 0;
    return b[0] == 21 || (b[0] == 23 && n == 5 + 2 + 1 + 16);
}

void chopin__conn_hangup(chopin_worker *w, chopin_conn *c) {
    if (!chopin__conn_open_p(c) || !(c->flags & CF_WATCH_HUP)) return;
    unsigned char b[64];
    /* Peeked, never read: a receive of the backend's may still be on its way. */
    ssize_t n = recv(c->fd, b, c->tls ? sizeof b : 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) || (c->tls && tls_only_close_notify(b, n))) {
        /* Gone, with nothing more asked: nobody will read the answer. */
        chopin__conn_close(w, c);
        return;
    }
    /* More requests came before the FIN (a half-closed client that still
     * reads): they are read, and the FIN after them, once the deferred
     * answer is out. */
    c->flags |= CF_HUP_SEEN;
    chopin__conn_follow_read_interest(w, c);
}

/* A stream that waited may write again once its client has read half of
 * what was queued. */
void chopin__conn_stream_drained(chopin_worker *w, chopin_conn *c) {
    if (!(c->flags & CF_STREAM_FULL) || chopin__conn_pending_output(c) > w->cfg->max_pending_output / 2) return;
    c->flags &= (uint16_t)~CF_STREAM_FULL;
    chopin_deferred *d = c->deferral;
    if (d && d->drain) d->drain(d->arg);
}

/* ---- a calm connection comes to rest ------------------------------------------- */

/* What chopin__conn_settle() would find on nearly every keep-alive connection after its
 * request: waiting for the next head, nothing kept in `in`, nothing being
 * sent or waiting to be, reads not paused, no stop under way. Every flag in
 * the mask leads chopin__conn_settle() somewhere other than its plain end. */
#define CF_NOT_CALM                                                                                                    \
    (CF_READ_PAUSED | CF_SENDING | CF_PEER_DONE | CF_PENDING_INPUT | CF_QUOTA | CF_STREAM_FULL | CF_BODY_STREAM |      \
     CF_BODY_FULL | CF_FILE | CF_WATCH_HUP)

/* chopin__conn_settle() for a calm connection, which is chopin__conn_settle() with every check known
 * beforehand: send what the response queued, and when the socket took all
 * of it, give the buffers back and arm the idle timer (about 150
 * instructions a request fewer than the general walk). Returns 0 where the
 * general walk must go on: a send the socket did not take whole (the
 * backpressure check and the write timer), or a connection that was not
 * calm to begin with. Returns 1 when the connection is settled (or closed). */
int chopin__conn_settle_calm(chopin_worker *w, chopin_conn *c) {
    if (c->state != CONN_HEAD || (c->flags & CF_NOT_CALM) || c->in.len || w->stopping) return 0;
    if (c->tls && !c->tls->kernel_tx) return 0; /* its output is sealed first (tls_flush) */
    if (c->out.len > 0) {
        if (send_queued(w, c, &c->out) < 0) return 1;
        if (c->flags & CF_SENDING) return 0;
    }
    if (c->in.data) chopin__buf_release(&c->in, &w->pool);
    if (c->out.data) chopin__buf_release(&c->out, &w->pool);
    if (c->tx.data) chopin__buf_release(&c->tx, &w->pool);
    /* chopin__conn_arm_timer()'s choice for a connection between requests */
    if (c->requests == 0)
        chopin__conn_set_timer(w, c, TK_HEADER, w->cfg->header_timeout_ms, 0);
    else
        chopin__conn_set_timer(w, c, TK_IDLE, w->cfg->idle_timeout_ms, 1);
    return 1;
}

/* ---- the last response, the close ---------------------------------------------- */

/* The last response is queued: whatever the client sends from now on is
 * discarded, and the connection closes once the response is out. With
 * `linger`, request bytes may still be on their way (an error mid-request,
 * pipelined requests left unanswered): the close lingers so that the client
 * reads the response instead of a reset. */
void chopin__conn_close_after_response(chopin_worker *w, chopin_conn *c, int linger) {
    c->state = CONN_CLOSING;
    c->flags &= (uint16_t)~(CF_PENDING_INPUT | CF_BODY_STREAM | CF_BODY_FULL);
    if (linger && w->cfg->linger_timeout_ms) c->flags |= CF_LINGER;
    c->discarded = 0;
}

/* Answers a request that cannot be served (bad framing, limits, timeouts)
 * and closes once it is sent: nothing after it on this connection counts. */
void chopin__conn_fail(chopin_worker *w, chopin_conn *c, int status) {
    chopin_response res;
    chopin__response_init(&res, &c->out, &w->pool, w->date, 0, 1, 0);
    const char *type = NULL;
    const void *body = NULL;
    size_t len = 0;
    /* In the application's error format, where it gave one. */
    if (w->cfg->error_body && w->cfg->error_body(w->cfg->handler_ctx, status, &type, &body, &len))
        chopin__response_error_with(&res, status, type, body, len);
    else
        chopin__response_error(&res, status);
    chopin__metrics_status(w, status);
    chopin__conn_close_after_response(w, c, 1);
}

void chopin__conn_open(chopin_worker *w, chopin_conn *c, int fd) {
    uint32_t idx = c->idx, gen = c->gen;
    uint8_t interest_due = c->interest_due; /* the slot may still be on the list */
    memset(c, 0, sizeof *c);
    c->idx = idx;
    c->gen = gen;
    c->interest_due = interest_due;
    c->fd = fd;
    c->file_fd = -1;
    c->state = CONN_HEAD;
    chopin__conn_arm_timer(w, c);
}

void chopin__conn_close(chopin_worker *w, chopin_conn *c) {
    if (!chopin__conn_open_p(c)) return;
    if (c->deferral) {
        /* Nobody will read the answer: its handler is cancelled. */
        chopin__deferral_abandon(w, c->deferral);
        c->deferral = NULL;
    }
    c->state = CONN_DEAD;
    c->timer = TK_NONE;
    chopin__wheel_cancel(&w->wheel, c->idx);
    CHOPIN_COUNT(w, closed, 1);
    if (c->tls && !c->tls->established) chopin__conn_tls_handshake_ended(w);
    chopin__file_done(c);
    int busy = w->ops->cancel(w, c);
    /* Shutting down writes first sends the FIN after the last response
     * even when unread input makes close() answer with a reset. In-flight
     * io_uring operations hold their own reference to the socket. */
    shutdown(c->fd, SHUT_WR);
    close(c->fd);
    c->fd = -1;
    if (!busy) chopin__conn_release(w, c);
}

void chopin__conn_release(chopin_worker *w, chopin_conn *c) {
    chopin__file_done(c);
    free(c->ws);
    c->ws = NULL;
    chopin__buf_release(&c->in, &w->pool);
    chopin__buf_release(&c->out, &w->pool);
    chopin__buf_release(&c->tx, &w->pool);
    chopin__tls_session_free(c->tls);
    c->tls = NULL;
    c->state = CONN_FREE;
    c->flags = 0;
    c->fd = -1;
    chopin__slab_free(&w->slab, c->idx);
    c->gen = chopin__slab_gen(&w->slab, c->idx);
    if (w->accept_full && !w->stopping) {
        w->accept_full = 0;
        if (!w->accept_handshakes) w->ops->accept_start(w);
    }
}
