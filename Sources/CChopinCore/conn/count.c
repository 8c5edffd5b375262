/* count.c - the per-worker counters' one writer-side rule: the status
 * classes and the latency histogram, recorded where a response is queued.
 *
 * Only the owning worker writes its block, with relaxed stores and no
 * read-modify-write (process/metrics.c reads). Nothing here takes a lock
 * or a clock reading: latency comes from the loop clock the worker already
 * keeps. */
#include "count.h"

/* Milliseconds; Prometheus' usual shape (1-2.5-5 per decade) up to 10 s. */
const uint32_t chopin__latency_bounds_ms[CHOPIN_LATENCY_BUCKETS - 1] = {1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000};

void chopin__metrics_status(chopin_worker *w, int status) {
    if (status >= 500)
        CHOPIN_COUNT(w, responses_5xx, 1);
    else if (status >= 400)
        CHOPIN_COUNT(w, responses_4xx, 1);
}

void chopin__metrics_answered(chopin_worker *w, int status, uint64_t started_ms) {
    chopin__metrics_status(w, status);
    uint64_t ms = w->now_ms > started_ms ? w->now_ms - started_ms : 0;
    uint32_t b = 0; /* most answers land in the first bucket: the scan is short */
    while (b < CHOPIN_LATENCY_BUCKETS - 1 && ms > chopin__latency_bounds_ms[b]) b++;
    CHOPIN_COUNT(w, latency[b], 1);
    CHOPIN_COUNT(w, latency_sum_ms, ms);
}

/* Nanoseconds; 50 us to 10 s, so that a fast answer lands in a bucket of its own. */
const uint64_t chopin__route_bounds_ns[CHOPIN_ROUTE_BUCKETS - 1] = {
    50000,     100000,    250000,     500000,     1000000,    2500000,    5000000,    10000000,  25000000,
    50000000,  100000000, 250000000,  500000000,  1000000000, 2500000000, 5000000000, 10000000000};

void chopin__metrics_route(chopin_worker *w, uint32_t route, int status, uint64_t nanos) {
    if (!w || route >= w->route_count) return;
    int c = status / 100 - 1;
    if (c < 0) c = 0;
    if (c >= CHOPIN_STATUS_CLASSES) c = CHOPIN_STATUS_CLASSES - 1;
    chopin_route_cell *cell = &w->route_cells[(size_t)route * CHOPIN_STATUS_CLASSES + (uint32_t)c];
    uint32_t b = 0;
    while (b < CHOPIN_ROUTE_BUCKETS - 1 && nanos > chopin__route_bounds_ns[b]) b++;
#define BUMP(field, n) __atomic_store_n(&cell->field, cell->field + (n), __ATOMIC_RELAXED)
    BUMP(count, 1);
    BUMP(sum_ns, nanos);
    BUMP(buckets[b], 1);
#undef BUMP
}

void chopin__metrics_answered_now(chopin_worker *w, int status) {
    if (status >= 400) chopin__metrics_status(w, status);
    CHOPIN_COUNT(w, latency[0], 1);
}
