/* deferred.c - responses answered later, from any thread.
 *
 * A deferred response is written into its own buffer by whichever thread
 * finishes it, then pushed on the owning worker's lock-free stack and the
 * worker is woken. The worker appends it to the connection's output; the
 * connection read nothing further meanwhile, so responses stay in order. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

chopin_deferred *chopin_response_defer(chopin_response *res) {
    if (!res->worker || res->deferred || res->state != RS_NONE) return NULL;
    chopin_deferred *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->worker = res->worker;
    d->conn_idx = res->conn_idx;
    d->conn_gen = res->conn_gen;
    /* Its own copy of the Date: the worker's cache changes under other threads. */
    memcpy(d->date, res->date, 29);
    chopin__response_init(&d->res, &d->buf, NULL, d->date, res->head_only, res->close, res->http10_keep_alive);
    res->deferred = 1;
    res->deferral = d;
    return d;
}

chopin_response *chopin_deferred_response(chopin_deferred *d) { return &d->res; }

void chopin_deferred_finish(chopin_deferred *d) {
    chopin__response_finish(&d->res);
    chopin_worker *w = d->worker;
    chopin_deferred *head = atomic_load_explicit(&w->deferred_done, memory_order_relaxed);
    do {
        d->next = head;
    } while (!atomic_compare_exchange_weak_explicit(&w->deferred_done, &head, d, memory_order_release,
                                                    memory_order_relaxed));
    chopin__worker_wake(w);
}
