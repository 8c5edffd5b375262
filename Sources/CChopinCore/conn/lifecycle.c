/* lifecycle.c - a connection from open to release: the one deadline it
 * waits on, its last response, a failed request answered and closed, the
 * close itself (cancelling a deferred handler nobody will read), and the
 * slot given back once the backend is done with it. */
#include "conn.h"
#include "count.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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
        if (c->in.len > 0 || c->requests == 0)
            chopin__conn_set_timer(w, c, TK_HEADER, cfg->header_timeout_ms, 0);
        else
            chopin__conn_set_timer(w, c, TK_IDLE, cfg->idle_timeout_ms, 1);
    }
}

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
    c->state = CONN_FREE;
    c->flags = 0;
    c->fd = -1;
    chopin__slab_free(&w->slab, c->idx);
    c->gen = chopin__slab_gen(&w->slab, c->idx);
    if (w->accept_full && !w->stopping) {
        w->accept_full = 0;
        w->ops->accept_start(w);
    }
}
