/* count.h - what a worker records of each answer (count.c). */
#ifndef CHOPIN_CONN_COUNT_H
#define CHOPIN_CONN_COUNT_H

#include "conn.h"

/* The latency histogram's upper bounds, in milliseconds (the last bucket has none). */
extern const uint32_t chopin__latency_bounds_ms[CHOPIN_LATENCY_BUCKETS - 1];

/* A response is queued: counts its status class. answered also records its
 * latency, from started_ms (the loop clock when its request was
 * dispatched) to now. */
void chopin__metrics_status(chopin_worker *w, int status);
void chopin__metrics_answered(chopin_worker *w, int status, uint64_t started_ms);

/* chopin__metrics_answered for a response queued in the loop turn its
 * request was dispatched in: no time passed on the loop clock, so the first
 * latency bucket, and nothing to add to the sum. */
void chopin__metrics_answered_now(chopin_worker *w, int status);

/* One answer of route `route` in w's per-route cells (w's own thread only;
 * nothing for a route past w->route_count). */
void chopin__metrics_route(chopin_worker *w, uint32_t route, int status, uint64_t nanos);

/* The per-route histogram's upper bounds, in nanoseconds (the last bucket has none). */
extern const uint64_t chopin__route_bounds_ns[CHOPIN_ROUTE_BUCKETS - 1];

#endif
