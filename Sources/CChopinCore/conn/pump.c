/* pump.c - the output pump, and bringing a connection to rest.
 *
 * All the responses of one read leave in one send, then the file body
 * that follows them, if any; at most one send is in flight. After every
 * event, settle() sends what is queued, closes or lingers when it should,
 * picks up requests left in `in`, applies or lifts backpressure (reads
 * pause while output backs up, an answer is deferred or requests wait),
 * gives idle buffers back and arms the right timer. */
#include "conn.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

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

/* The queued responses (out) become the send under way (tx); the old tx
 * buffer, empty now, is kept as the next out. Returns -1 when the
 * connection closed. */
static inline int send_out(chopin_worker *w, chopin_conn *c) {
    chopin_buf t = c->tx;
    c->tx = c->out;
    c->tx.off = 0;
    c->out = t;
    c->out.len = c->out.off = 0;
    c->flags |= CF_SENDING;
    c->timer = TK_NONE; /* a new send: the stall clock restarts */
    return send_more(w, c);
}

/* Hands queued responses to the backend: all the responses of one read
 * leave in one send, then the file body that follows them, if any.
 * Returns -1 when the connection closed. */
static int flush(chopin_worker *w, chopin_conn *c) {
    while (!(c->flags & CF_SENDING)) {
        if (c->out.len > 0) {
            if (send_out(w, c) < 0) return -1;
        } else if (c->flags & CF_FILE) {
            if (send_file_part(w, c) < 0) return -1;
        } else {
            break;
        }
    }
    return 0;
}

/* CLOSING, response sent: linger, or close. Returns 0 when the connection
 * closed. */
static int end_closing(chopin_worker *w, chopin_conn *c) {
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

/* A half-closed client that has nothing left to be answered. */
static int peer_done_and_answered(const chopin_conn *c) {
    return (c->flags & CF_PEER_DONE) && (c->state == CONN_HEAD || c->state == CONN_BODY) &&
           !(c->flags & CF_PENDING_INPUT) && !chopin__conn_output_queued(c);
}

static int can_take_kept_input(const chopin_worker *w, const chopin_conn *c) {
    return (c->flags & CF_PENDING_INPUT) && !(c->flags & (CF_QUOTA | CF_CAP_WAIT | CF_FILE)) &&
           (c->state == CONN_HEAD || c->state == CONN_BODY) && chopin__conn_pending_output(c) <= w->cfg->max_pending_output;
}

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
static int follow_read_interest(chopin_worker *w, chopin_conn *c) {
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

void chopin__conn_hangup(chopin_worker *w, chopin_conn *c) {
    if (!chopin__conn_open_p(c) || !(c->flags & CF_WATCH_HUP)) return;
    char b;
    ssize_t n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        /* Gone, with nothing more asked: nobody will read the answer. */
        chopin__conn_close(w, c);
        return;
    }
    /* More requests came before the FIN (a half-closed client that still
     * reads): they are read, and the FIN after them, once the deferred
     * answer is out. */
    c->flags |= CF_HUP_SEEN;
    follow_read_interest(w, c);
}

/* A stream that waited may write again once its client has read half of
 * what was queued. */
static void stream_drained(chopin_worker *w, chopin_conn *c) {
    if (!(c->flags & CF_STREAM_FULL) || chopin__conn_pending_output(c) > w->cfg->max_pending_output / 2) return;
    c->flags &= (uint16_t)~CF_STREAM_FULL;
    chopin_deferred *d = c->deferral;
    if (d && d->drain) d->drain(d->arg);
}

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
static int settle_calm(chopin_worker *w, chopin_conn *c) {
    if (c->state != CONN_HEAD || (c->flags & CF_NOT_CALM) || c->in.len || w->stopping) return 0;
    if (c->out.len > 0) {
        if (send_out(w, c) < 0) return 1;
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

/* Brings a connection to rest after any event: sends what is queued, closes
 * or lingers when it should, picks up requests left in `in`, applies or
 * lifts backpressure, gives idle buffers back, and arms the right timer. */
void chopin__conn_settle(chopin_worker *w, chopin_conn *c) {
    if (!chopin__conn_open_p(c) || settle_calm(w, c)) return;
    for (;;) {
        if (!chopin__conn_open_p(c)) return;
        if (flush(w, c) < 0) return;
        if (c->state == CONN_CLOSING && !chopin__conn_output_queued(c)) {
            if (!end_closing(w, c)) return;
            break;
        }
        /* In a stop's grace (w->drain_idle_ms) an idle connection stays: its
         * last response did not say close, and its client may be sending. */
        if (peer_done_and_answered(c) || (w->stopping && !w->drain_idle_ms && chopin__conn_idle(c))) {
            chopin__conn_close(w, c);
            return;
        }
        if (can_take_kept_input(w, c)) {
            chopin__conn_process_kept_input(w, c);
            continue;
        }
        if (c->state == CONN_WEBSOCKET && c->in.len > 0 && !(c->flags & CF_BODY_FULL)) {
            chopin__ws_input(w, c);
            continue;
        }
        break;
    }
    if ((c->flags & CF_QUOTA) && !(c->flags & CF_READY)) {
        c->flags |= CF_READY;
        w->ready[w->nready++] = c->idx;
    }
    if (follow_read_interest(w, c) < 0) return;
    stream_drained(w, c);
    if (!chopin__conn_open_p(c)) return;
    if (c->in.len == 0 && c->in.data) chopin__buf_release(&c->in, &w->pool);
    if (c->out.len == 0 && c->out.data) chopin__buf_release(&c->out, &w->pool);
    if (!(c->flags & CF_SENDING) && c->tx.data) chopin__buf_release(&c->tx, &w->pool);
    chopin__conn_arm_timer(w, c);
}

void chopin__conn_send_ready(chopin_worker *w, chopin_conn *c, long res) {
    if (!chopin__conn_open_p(c) || !(c->flags & CF_SENDING)) return;
    if (res < 0) {
        chopin__conn_close(w, c);
        return;
    }
    sent(w, c, (size_t)res);
    if ((c->flags & CF_SENDING) && send_more(w, c) < 0) return;
    chopin__conn_settle(w, c);
}
