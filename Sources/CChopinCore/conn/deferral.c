/* deferral.c - a deferral's lifetime on its worker: abandoned when its
 * connection no longer wants the answer (its handler's cancel runs), freed
 * once done, and counted against max_deferred, whose connections waiting
 * for room go on when one ends. */
#include "conn.h"

#include <stdlib.h>

__thread chopin_worker *chopin__current_worker;

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

void chopin__deferral_free(chopin_deferred *d) {
    if (d->release) d->release(d->arg);
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
