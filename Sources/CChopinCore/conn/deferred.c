/* deferred.c - responses answered later, from any thread.
 *
 * A deferred response is written into its own buffer by whichever thread
 * finishes it, then pushed on the owning worker's lock-free stack and the
 * worker is woken. The worker appends it to the connection's output; the
 * connection read nothing further meanwhile, so responses stay in order.
 *
 * Lifetimes (see D_* in conn.h): the worker keeps every deferral not yet
 * done on a list, so that a connection that goes away can cancel its
 * handler, and a worker that ends can orphan what is still being written
 * instead of leaving a handler to push into freed memory. */
#include "conn.h"
#include "count.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How many finished deferrals a worker keeps for reuse, and the largest
 * answer buffer one may keep: enough for the async requests of a busy turn,
 * not a large answer's memory held for good. */
#define SPARE_DEFERRALS 64
#define SPARE_BUF_MAX 16384

/* A zeroed deferral: a spare one (its buffer's memory kept, empty), or a
 * new one. Worker thread. */
static chopin_deferred *new_deferral(chopin_worker *w) {
    chopin_deferred *d = w->spare_deferrals;
    if (!d) return calloc(1, sizeof *d);
    w->spare_deferrals = d->next;
    w->nspare_deferrals--;
    chopin_buf buf = d->buf;
    memset(d, 0, sizeof *d);
    buf.len = buf.off = 0;
    d->buf = buf;
    return d;
}

/* Done with d on its worker's thread: kept for the next request that goes
 * async, or freed. */
static void recycle_deferral(chopin_worker *w, chopin_deferred *d) {
    if (w->nspare_deferrals >= SPARE_DEFERRALS || d->buf.cap > SPARE_BUF_MAX) {
        chopin__deferral_free(d);
        return;
    }
    chopin__deferral_let_go(d);
    d->next = w->spare_deferrals;
    w->spare_deferrals = d;
    w->nspare_deferrals++;
}

void chopin__deferrals_spare_free(chopin_worker *w) {
    while (w->spare_deferrals) {
        chopin_deferred *d = w->spare_deferrals;
        w->spare_deferrals = d->next;
        chopin__deferral_free(d); /* let go already: only its memory is left */
    }
    w->nspare_deferrals = 0;
}

chopin_deferred *chopin_response_defer(chopin_response *res) {
    if (!res->worker || res->deferred || res->state != RS_NONE) return NULL;
    chopin_worker *w = res->worker;
    chopin_deferred *d = new_deferral(w);
    if (!d) return NULL;
    d->worker = w;
    d->conn_idx = res->conn_idx;
    d->conn_gen = res->conn_gen;
    atomic_init(&d->state, D_PENDING);
    /* Its own copy of the Date: the worker's cache changes under other threads. */
    memcpy(d->date, res->date, 29);
    chopin__response_init(&d->res, &d->buf, NULL, d->date, res->head_only, res->close, res->http10_keep_alive);
    d->res.http10 = res->http10;
    d->res.takes_file = 1;
    /* Compression chosen by middleware applies to the answer written later. */
    d->res.compress_on = res->compress_on;
    d->res.compress = res->compress;
    d->res.compress_min = res->compress_min;
    d->res.compress_required = res->compress_required;
    d->older = w->deferrals;
    if (w->deferrals) w->deferrals->newer = d;
    w->deferrals = d;
    w->ndeferred++;
    res->deferred = 1;
    res->deferral = d;
    return d;
}

chopin_response *chopin_deferred_response(chopin_deferred *d) { return &d->res; }

void chopin_response_record_route(const chopin_response *res, uint32_t route, int status, uint64_t nanos) {
    /* A deferred answer's response names no worker (other threads may write
     * it): the cells are then those of the worker whose thread this is, the
     * one an async handler's task runs on, which keeps them single-writer. */
    chopin__metrics_route(res->worker ? res->worker : chopin__current_worker, route, status, nanos);
}

void chopin_deferred_answers_timeout(chopin_deferred *d, uint32_t grace_ms) { d->timeout_grace_ms = grace_ms; }

int chopin_deferred_timed_out(const chopin_deferred *d) { return d->timed_out; }

void chopin_deferred_observe(chopin_deferred *d, void (*cancel)(void *), void (*drain)(void *),
                             void (*release)(void *), void *arg) {
    d->cancel = cancel;
    d->drain = drain;
    d->release = release;
    d->arg = arg;
}

void *chopin_response_worker_state(const chopin_response *res) {
    return res->worker ? res->worker->hook_state : NULL;
}

/* The connection still waiting for d's answer, or NULL (worker thread). */
static chopin_conn *waiting_conn(chopin_worker *w, chopin_deferred *d) {
    if (d->conn_idx == CHOPIN_NIL) return NULL;
    chopin_conn *c = chopin__conn_lookup(w, d->conn_idx, d->conn_gen);
    return c && c->deferral == d ? c : NULL;
}

/* The connection a streaming call is for: on its worker's thread, still
 * wanted, not finished. NULL otherwise. */
static chopin_conn *stream_conn(chopin_deferred *d) {
    if (chopin__current_worker != d->worker || atomic_load_explicit(&d->state, memory_order_relaxed) != D_PENDING)
        return NULL;
    return waiting_conn(d->worker, d);
}

int chopin_deferred_stream_start(chopin_deferred *d) {
    chopin_conn *c = stream_conn(d);
    if (!c || d->streaming) return -1;
    chopin__response_end_stream(&d->res);
    if (d->res.failed) return -1;
    d->streaming = 1;
    return chopin__conn_stream(d->worker, c, d, NULL, 0);
}

int chopin_deferred_stream_write(chopin_deferred *d, const void *data, size_t n) {
    chopin_conn *c = stream_conn(d);
    if (!c || !d->streaming) return -1;
    if (n == 0 || d->res.head_only) return 0;
    return chopin__conn_stream(d->worker, c, d, data, n);
}

void chopin_deferred_take_body(chopin_deferred *d, chopin_body_fn piece) {
    d->body_piece = piece;
    d->body_open = piece != NULL;
}

int chopin_deferred_body_resume(chopin_deferred *d) {
    if (chopin__current_worker != d->worker || atomic_load_explicit(&d->state, memory_order_relaxed) != D_PENDING)
        return -1;
    chopin_conn *c = waiting_conn(d->worker, d);
    if (!c) return -1;
    chopin__conn_body_resume(d->worker, c);
    return 0;
}

void chopin_deferred_finish(chopin_deferred *d) {
    if (!d->streaming && !d->websocket) chopin__response_finish(&d->res);
    int expected = D_PENDING;
    if (!atomic_compare_exchange_strong_explicit(&d->state, &expected, D_PUSHING, memory_order_acq_rel,
                                                 memory_order_acquire)) {
        /* Orphaned: its worker ended, nobody will send it. */
        chopin__deferral_free(d);
        return;
    }
    chopin_worker *w = d->worker;
    if (chopin__current_worker == w && w->in_turn && !d->in_callback) {
        /* On the worker's own thread, between events (an async handler that
         * finished in the worker_turn hook): deliver it now, no wake-up. */
        atomic_store_explicit(&d->state, D_PUSHED, memory_order_release);
        chopin__deferral_done(w, d);
        return;
    }
    chopin_deferred *head = atomic_load_explicit(&w->deferred_done, memory_order_relaxed);
    do {
        d->next = head;
    } while (!atomic_compare_exchange_weak_explicit(&w->deferred_done, &head, d, memory_order_release,
                                                    memory_order_relaxed));
    chopin_worker_wake(w);
    /* The last touch: after this the worker may free d and end. */
    atomic_store_explicit(&d->state, D_PUSHED, memory_order_release);
}

/* The finishing thread is between its push and its last store: a moment. */
static void wait_pushed(chopin_deferred *d) {
    while (atomic_load_explicit(&d->state, memory_order_acquire) != D_PUSHED)
        sched_yield();
}

static void unlink_deferral(chopin_worker *w, chopin_deferred *d) {
    if (d->newer)
        d->newer->older = d->older;
    else
        w->deferrals = d->older;
    if (d->older) d->older->newer = d->newer;
    d->older = d->newer = NULL;
    if (!d->uncounted) w->ndeferred--;
}

void chopin__deferral_done(chopin_worker *w, chopin_deferred *d) {
    wait_pushed(d);
    unlink_deferral(w, d);
    chopin_conn *c = waiting_conn(w, d);
    if (c) chopin__conn_deferred_done(w, c, d);
    recycle_deferral(w, d);
    chopin__worker_capacity_freed(w);
}

void chopin__deferrals_end(chopin_worker *w) {
    /* Still being written: orphan it (its handler frees it), or, when its
     * handler is pushing it right now, let the push end and drain it. */
    chopin_deferred *d = w->deferrals;
    while (d) {
        chopin_deferred *older = d->older;
        chopin__deferral_abandon(w, d);
        int expected = D_PENDING;
        if (atomic_compare_exchange_strong_explicit(&d->state, &expected, D_ORPHANED, memory_order_acq_rel,
                                                    memory_order_acquire))
            unlink_deferral(w, d);
        else
            wait_pushed(d);
        d = older;
    }
}

/* Deferrals finished on other threads since the last call, delivered in
 * the order they finished (the stack is newest first). */
void chopin__deferrals_collect(chopin_worker *w) {
    chopin_deferred *list = atomic_exchange_explicit(&w->deferred_done, NULL, memory_order_acquire);
    chopin_deferred *fifo = NULL;
    while (list) {
        chopin_deferred *next = list->next;
        list->next = fifo;
        fifo = list;
        list = next;
    }
    while (fifo) {
        chopin_deferred *d = fifo;
        fifo = d->next;
        chopin__deferral_done(w, d);
    }
}

void chopin_worker_wake(chopin_worker *w) {
    /* An atomic exchange and write(2): fine from any thread and from a
     * signal handler. One eventfd write per wake-up the worker has not
     * taken yet, however many threads ask. */
    if (atomic_exchange_explicit(&w->wake_pending, 1, memory_order_seq_cst)) return;
    uint64_t one = 1;
    ssize_t r = write(w->wake_fd, &one, sizeof one);
    (void)r;
}

void chopin_worker_ask_turn(chopin_worker *w) {
    /* Release: the hook that runs for this sees what was queued before. */
    atomic_store_explicit(&w->turn_asked, 1, memory_order_release);
}

int chopin_deferred_websocket_accept(chopin_deferred *d) {
    chopin_conn *c = d->websocket ? stream_conn(d) : NULL;
    if (!c || c->state != CONN_DEFERRED || d->streaming) return -1;
    if (chopin__conn_upgrade(d->worker, c) < 0) return -1;
    chopin__conn_settle(d->worker, c);
    return chopin__conn_open_p(c) ? 0 : -1;
}

int chopin_deferred_websocket_send(chopin_deferred *d, int opcode, const void *data, size_t len) {
    chopin_worker *w = d->worker;
    if (chopin__current_worker != w || !d->websocket ||
        atomic_load_explicit(&d->state, memory_order_relaxed) != D_PENDING || d->conn_idx == CHOPIN_NIL)
        return -1;
    chopin_conn *c = chopin__conn_lookup(w, d->conn_idx, d->conn_gen);
    if (!c || c->deferral != d || c->state != CONN_WEBSOCKET) return -1;
    switch (opcode) {
    case CHOPIN_WS_TEXT:
    case CHOPIN_WS_BINARY: break;
    case CHOPIN_WS_PING:
    case CHOPIN_WS_PONG:
    case CHOPIN_WS_CLOSE:
        if (len > 125) return -1;
        break;
    default: return -1;
    }
    return chopin__conn_ws_send(w, c, opcode, data, len);
}
