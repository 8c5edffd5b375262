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

/* ---- per route ----------------------------------------------------------
 * Answers counted by route index (the caller's numbering, below
 * chopin_config.route_metrics) and status class (1xx..5xx as 0..4), with
 * their durations in nanoseconds, measured by the caller (a 50 us answer
 * is 50 us, not the loop clock's 0 ms). */
#define CHOPIN_ROUTE_BUCKETS 18
#define CHOPIN_STATUS_CLASSES 5

typedef struct chopin_route_cell {
    uint64_t count;
    uint64_t sum_ns;
    uint64_t buckets[CHOPIN_ROUTE_BUCKETS]; /* answers per bucket, not cumulative; the last is +Inf */
} chopin_route_cell;

/* The upper bound in nanoseconds of bucket i (inclusive), or UINT64_MAX
 * for the last one: 50 us to 10 s. */
uint64_t chopin_route_bound_ns(uint32_t bucket);

/* Counts one answer of route `route` with `status`, that took `nanos`, on
 * the worker answering res, or for a deferred answer's response, on the
 * worker whose thread calls (only a worker's own thread may call it: the
 * worker is its cells' one writer). Nothing when route is past
 * chopin_config.route_metrics, or off every worker's thread. */
void chopin_response_record_route(const chopin_response *res, uint32_t route, int status, uint64_t nanos);

/* How many route indices are counted (chopin_config.route_metrics). */
uint32_t chopin_server_route_count(const chopin_server *srv);

/* One worker's answers of one route and status class (0..4). Returns -1
 * when worker, route or class is out of range. */
int chopin_server_route_metrics(const chopin_server *srv, uint32_t worker, uint32_t route, uint32_t status_class,
                                chopin_route_cell *out);

/* The index of the worker answering res (for logs). */
uint32_t chopin_response_worker_id(const chopin_response *res);

#ifdef __cplusplus
}
#endif
#endif
