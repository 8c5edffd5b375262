/* answers.c - answers that come later: a deferred answer appended in its
 * turn, the 503 that takes the place of one that did not come in time, a
 * streamed answer's head, pieces and end, and the sends of a WebSocket
 * handler. Whatever stands for the answer is queued exactly once, then the
 * requests that waited behind it are taken. */
#include "conn.h"
#include "count.h"

#include <stdio.h>
#include <string.h>

/* A deferred answer (or what stands in for it) is queued: the requests that
 * waited behind it are taken next, or, when it was the connection's last,
 * they go unanswered and the close lingers if there were any. */
static void after_deferred_answer(chopin_worker *w, chopin_conn *c, int last) {
    if (last) {
        chopin__conn_close_after_response(w, c, c->in.len > 0);
        c->in.len = 0;
    } else {
        c->state = CONN_HEAD; /* CF_PENDING_INPUT is still set: what waited is taken next */
    }
}

/* DEFERRED past deferred_timeout_ms, for a handler that answers its own
 * deadline (chopin_deferred_answers_timeout): it is cancelled and given its
 * grace to answer. Returns 1 when the grace began; 0 when the core must
 * answer now (no grace asked, or the grace is over). */
int chopin__conn_deadline_grace(chopin_worker *w, chopin_conn *c) {
    chopin_deferred *d = c->deferral;
    if (!d || d->streaming || d->timed_out || d->timeout_grace_ms == 0) return 0;
    d->timed_out = 1;
    if (d->cancel && !d->cancelled) {
        d->cancelled = 1;
        d->in_callback = 1; /* a finish from the callback must not free d under us */
        d->cancel(d->arg);
        d->in_callback = 0;
    }
    chopin__conn_set_timer(w, c, TK_DEFERRED, d->timeout_grace_ms, 1);
    return 1;
}

/* DEFERRED past deferred_timeout_ms: the handler is cancelled and the client
 * gets 503 in its place; requests behind it go on as usual. */
void chopin__conn_answer_unavailable(chopin_worker *w, chopin_conn *c) {
    chopin_deferred *d = c->deferral;
    if (d->streaming) {
        /* Its head is out: a stream that fell silent can only be cut. */
        chopin__conn_close(w, c);
        return;
    }
    c->deferral = NULL;
    chopin__deferral_abandon(w, d);
    chopin_response res;
    int close = d->res.close || w->stopping;
    chopin__response_init(&res, &c->out, &w->pool, w->date, d->res.head_only, close,
                          d->res.http10_keep_alive && !close);
    static const char body[] = "the handler did not answer in time\n";
    chopin_response_send(&res, 503, "text/plain", body, sizeof body - 1);
    chopin__metrics_answered(w, 503, d->started_ms);
    after_deferred_answer(w, c, close);
}

int chopin__conn_ws_send(chopin_worker *w, chopin_conn *c, int opcode, const void *data, size_t len) {
    if (chopin__ws_append(w, c, opcode, data, len) < 0) {
        chopin__conn_close(w, c);
        return -1;
    }
    if (opcode == CHOPIN_WS_CLOSE) {
        /* The handler closes: the deferral stays the handler's until it finishes. */
        c->in.len = 0;
        chopin__conn_close_after_response(w, c, 1);
    }
    /* From inside on_message the frame waits for the event under way to settle. */
    if (c->deferral && c->deferral->in_callback) return chopin__conn_pending_output(c) > w->cfg->max_pending_output;
    chopin__conn_settle(w, c);
    if (!chopin__conn_open_p(c)) return -1;
    if (chopin__conn_pending_output(c) <= w->cfg->max_pending_output) return 0;
    c->flags |= CF_STREAM_FULL;
    return 1;
}

int chopin__conn_stream(chopin_worker *w, chopin_conn *c, chopin_deferred *d, const void *data, size_t n) {
    int rc = 0;
    if (d->buf.len) {
        /* The head, once. */
        rc = chopin__buf_append(&c->out, &w->pool, d->buf.data, d->buf.len);
        d->buf.len = 0;
    }
    if (rc == 0 && n) {
        if (d->res.http10) {
            rc = chopin__buf_append(&c->out, &w->pool, data, n);
        } else {
            char size[24];
            int k = snprintf(size, sizeof size, "%zx\r\n", n);
            rc = chopin__buf_append(&c->out, &w->pool, size, (size_t)k) < 0 ||
                         chopin__buf_append(&c->out, &w->pool, data, n) < 0 ||
                         chopin__buf_append(&c->out, &w->pool, "\r\n", 2) < 0
                     ? -1
                     : 0;
        }
    }
    if (rc < 0) {
        chopin__conn_close(w, c);
        return -1;
    }
    /* The stream's deadline counts from its last write. */
    chopin__conn_set_timer(w, c, TK_DEFERRED, w->cfg->deferred_timeout_ms, 1);
    chopin__conn_settle(w, c);
    if (!chopin__conn_open_p(c)) return -1;
    if (chopin__conn_pending_output(c) <= w->cfg->max_pending_output) return 0;
    c->flags |= CF_STREAM_FULL;
    return 1;
}

/* The end of a streamed response: the last chunk, or the close that ends an
 * HTTP/1.0 body. */
static void end_stream(chopin_worker *w, chopin_conn *c, chopin_deferred *d) {
    static const char last_chunk[] = "0\r\n\r\n";
    c->flags &= (uint16_t)~CF_STREAM_FULL;
    if (d->buf.len) chopin__buf_append(&c->out, &w->pool, d->buf.data, d->buf.len); /* a head never started */
    if (!d->res.http10 && !d->res.head_only &&
        chopin__buf_append(&c->out, &w->pool, last_chunk, sizeof last_chunk - 1) < 0) {
        chopin__conn_close(w, c);
        return;
    }
    after_deferred_answer(w, c, d->res.close || w->stopping);
    chopin__conn_settle(w, c);
}

void chopin__conn_deferred_done(chopin_worker *w, chopin_conn *c, chopin_deferred *d) {
    if (d->websocket && chopin__conn_open_p(c) && c->deferral == d) {
        /* The WebSocket handler returned: a normal close, unless it closed already. */
        c->deferral = NULL;
        if (c->state == CONN_WEBSOCKET) {
            chopin__ws_append_close(w, c, CHOPIN_WS_NORMAL);
            chopin__ws_stop(w, c, 1);
        }
        chopin__conn_settle(w, c);
        return;
    }
    if (!chopin__conn_open_p(c) || c->state != CONN_DEFERRED || c->deferral != d) return;
    c->deferral = NULL;
    chopin__metrics_answered(w, d->res.status, d->started_ms);
    if (d->streaming) {
        end_stream(w, c, d);
        return;
    }
    if (w->stopping && !d->res.close) {
        /* Written before the stop began: it is the connection's last, and says so. */
        chopin_response_close(&d->res);
        d->res.close = 1;
    }
    if (chopin__buf_append(&c->out, &w->pool, d->buf.data, d->buf.len) < 0) {
        chopin__conn_close(w, c);
        return;
    }
    chopin__conn_take_file(c, &d->res); /* sent as the worker's own are (sendfile) */
    after_deferred_answer(w, c, d->res.close);
    chopin__conn_settle(w, c);
}
