/* metrics.h - reading a running server's counters and latency histogram,
 * one worker at a time, from any thread, without locks.
 *
 * Each worker keeps its own 64-byte-aligned block; only that worker writes
 * it. Readers load every field relaxed, so a reading taken while requests
 * are served may be a few requests behind, never torn. */
#ifndef CHOPIN_METRICS_H
#define CHOPIN_METRICS_H

#include <stdint.h>

#include "chopin/response.h"
#include "chopin/server.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Buckets of the request-latency histogram, the last one unbounded (+Inf). */
#define CHOPIN_LATENCY_BUCKETS 14

/* The upper bound in milliseconds of bucket i (inclusive), or UINT32_MAX
 * for the last one. Latency is measured on the worker's loop clock, which
 * advances once per loop turn: a request answered in the turn that read it
 * counts as 0 ms; a deferred (async) one counts until its answer is queued. */
uint32_t chopin_latency_bound_ms(uint32_t bucket);

typedef struct chopin_latency {
    uint64_t buckets[CHOPIN_LATENCY_BUCKETS]; /* responses per bucket, not cumulative */
    uint64_t sum_ms;                          /* of every response counted */
} chopin_latency;

/* One worker's counters (active = accepted - closed) and, when latency is
 * not NULL, its histogram. Returns -1 when worker >= chopin_server_workers. */
int chopin_server_worker_metrics(const chopin_server *srv, uint32_t worker, chopin_metrics *out,
                                 chopin_latency *latency);

/* The index of the worker answering res (for logs). */
uint32_t chopin_response_worker_id(const chopin_response *res);

#ifdef __cplusplus
}
#endif
#endif
