/* settle.c - bringing a connection to rest after any event: what is queued
 * is sent, the connection closes or lingers when it should, requests (or
 * WebSocket frames) left in `in` are taken, reads pause or resume
 * (backpressure), idle buffers go back and the right timer is armed. A
 * calm keep-alive connection takes the short way (lifecycle.c). */
#include "conn.h"

/* A half-closed client that has nothing left to be answered. */
static int peer_done_and_answered(const chopin_conn *c) {
    return (c->flags & CF_PEER_DONE) && (c->state == CONN_HEAD || c->state == CONN_BODY) &&
           !(c->flags & CF_PENDING_INPUT) && !chopin__conn_output_queued(c);
}

static int can_take_kept_input(const chopin_worker *w, const chopin_conn *c) {
    return (c->flags & CF_PENDING_INPUT) && !(c->flags & (CF_QUOTA | CF_CAP_WAIT | CF_FILE)) &&
           (c->state == CONN_HEAD || c->state == CONN_BODY) && chopin__conn_pending_output(c) <= w->cfg->max_pending_output;
}

/* Brings a connection to rest after any event: sends what is queued, closes
 * or lingers when it should, picks up requests left in `in`, applies or
 * lifts backpressure, gives idle buffers back, and arms the right timer. */
void chopin__conn_settle(chopin_worker *w, chopin_conn *c) {
    if (!chopin__conn_open_p(c) || chopin__conn_settle_calm(w, c)) return;
    for (;;) {
        if (!chopin__conn_open_p(c)) return;
        if (chopin__conn_flush(w, c) < 0) return;
        if (c->state == CONN_CLOSING && !chopin__conn_output_queued(c)) {
            if (!chopin__conn_end_closing(w, c)) return;
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
    if (chopin__conn_follow_read_interest(w, c) < 0) return;
    chopin__conn_stream_drained(w, c);
    if (!chopin__conn_open_p(c)) return;
    if (c->in.len == 0 && c->in.data) chopin__buf_release(&c->in, &w->pool);
    if (c->out.len == 0 && c->out.data) chopin__buf_release(&c->out, &w->pool);
    if (!(c->flags & CF_SENDING) && c->tx.data) chopin__buf_release(&c->tx, &w->pool);
    if (c->tls && c->tls->out.len == 0 && c->tls->out.data) chopin__buf_release(&c->tls->out, &w->pool);
    chopin__conn_arm_timer(w, c);
}

void chopin__conn_send_ready(chopin_worker *w, chopin_conn *c, long res) {
    if (!chopin__conn_open_p(c) || !(c->flags & CF_SENDING)) return;
    if (chopin__conn_sent(w, c, res) < 0) return;
    chopin__conn_settle(w, c);
}
