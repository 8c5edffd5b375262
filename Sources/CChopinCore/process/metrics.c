/* metrics.c - the per-worker counters' lock-free readers: one worker's
 * block, or every worker's summed (the writers are conn/count.c and the
 * CHOPIN_COUNT calls of the floors below). Any thread reads, with relaxed
 * loads: no lock, no stop of the workers. */
#include "process.h"
#include "../conn/count.h"

#include <string.h>

uint32_t chopin_latency_bound_ms(uint32_t bucket) {
    return bucket < CHOPIN_LATENCY_BUCKETS - 1 ? chopin__latency_bounds_ms[bucket] : UINT32_MAX;
}

int chopin_server_worker_metrics(const chopin_server *srv, uint32_t worker, chopin_metrics *out,
                                 chopin_latency *latency) {
    uint32_t n;
    const chopin_slot *slots = chopin__server_slots(srv, &n);
    if (worker >= n) return -1;
    memset(out, 0, sizeof *out);
    if (latency) memset(latency, 0, sizeof *latency);
    /* A slot has one block per process that served it at once (a rolling
     * restart's predecessor and replacement): the worker is their sum. */
    for (uint32_t b = 0; b < CHOPIN_SLOT_BLOCKS; b++) {
        const chopin_worker_metrics *m = &slots[worker].blocks[b];
#define LOAD(f) __atomic_load_n(&m->f, __ATOMIC_RELAXED)
        out->requests += LOAD(requests);
        out->bytes_in += LOAD(bytes_in);
        out->bytes_out += LOAD(bytes_out);
        uint64_t accepted = LOAD(accepted), closed = LOAD(closed);
        out->accepted += accepted;
        out->closed += closed;
        /* closed was loaded after accepted, so it cannot run ahead of it for
         * long; clamp rather than wrap if it does. */
        out->active += accepted > closed ? accepted - closed : 0;
        out->responses_4xx += LOAD(responses_4xx);
        out->responses_5xx += LOAD(responses_5xx);
        out->parse_errors += LOAD(parse_errors);
        out->timeouts += LOAD(timeouts);
        out->buffer_bytes += LOAD(buffer_bytes);
        out->recv_buffer_waits += LOAD(recv_buffer_waits);
        out->buffer_heap_allocations += LOAD(buffer_heap_allocations);
        out->tls_kernel += LOAD(tls_kernel);
        out->tls_failures += LOAD(tls_failures);
        if (latency) {
            for (uint32_t k = 0; k < CHOPIN_LATENCY_BUCKETS; k++) latency->buckets[k] += LOAD(latency[k]);
            latency->sum_ms += LOAD(latency_sum_ms);
        }
#undef LOAD
    }
    out->restarts = __atomic_load_n(&slots[worker].restarts, __ATOMIC_RELAXED);
    out->rolling_restart_failures = __atomic_load_n(&slots[worker].roll_failures, __ATOMIC_RELAXED);
    return 0;
}

_Static_assert(sizeof(chopin_metrics) % sizeof(uint64_t) == 0, "chopin_metrics holds uint64_t fields only");

void chopin_server_metrics(const chopin_server *srv, chopin_metrics *out) {
    memset(out, 0, sizeof *out);
    chopin_metrics one;
    for (uint32_t i = 0; chopin_server_worker_metrics(srv, i, &one, NULL) == 0; i++) {
        uint64_t *sum = (uint64_t *)out;
        const uint64_t *add = (const uint64_t *)&one;
        /* chopin_metrics is uint64_t fields only: sum them as an array. */
        for (size_t f = 0; f < sizeof *out / sizeof(uint64_t); f++) sum[f] += add[f];
    }
}

uint64_t chopin_route_bound_ns(uint32_t bucket) {
    return bucket < CHOPIN_ROUTE_BUCKETS - 1 ? chopin__route_bounds_ns[bucket] : UINT64_MAX;
}

uint32_t chopin_server_route_count(const chopin_server *srv) { return chopin__server_slot_region(srv)->routes; }

int chopin_server_route_metrics(const chopin_server *srv, uint32_t worker, uint32_t route, uint32_t status_class,
                                chopin_route_cell *out) {
    const chopin_slots *region = chopin__server_slot_region(srv);
    if (worker >= region->count || route >= region->routes || status_class >= CHOPIN_STATUS_CLASSES) return -1;
    memset(out, 0, sizeof *out);
    for (uint32_t b = 0; b < CHOPIN_SLOT_BLOCKS; b++) {
        const chopin_route_cell *c =
            &chopin__slot_route_cells(region, worker, b)[(size_t)route * CHOPIN_STATUS_CLASSES + status_class];
        out->count += __atomic_load_n(&c->count, __ATOMIC_RELAXED);
        out->sum_ns += __atomic_load_n(&c->sum_ns, __ATOMIC_RELAXED);
        for (uint32_t k = 0; k < CHOPIN_ROUTE_BUCKETS; k++) out->buckets[k] += __atomic_load_n(&c->buckets[k], __ATOMIC_RELAXED);
    }
    return 0;
}

uint32_t chopin_response_worker_id(const chopin_response *res) { return res->worker ? res->worker->id : 0; }
