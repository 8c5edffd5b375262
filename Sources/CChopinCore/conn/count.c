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

void chopin__metrics_answered_now(chopin_worker *w, int status) {
    if (status >= 400) chopin__metrics_status(w, status);
    CHOPIN_COUNT(w, latency[0], 1);
}
