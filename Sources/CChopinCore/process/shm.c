/* shm.c - the worker slots: every worker's counters, its request record and
 * its readiness, and after them the per-route cells (RouteMetrics' counts by
 * route and status class, chopin_config.route_metrics routes per block). Plain memory with worker threads; with worker processes a
 * memfd the supervisor creates and maps MAP_SHARED before any worker
 * starts, so counters outlive the worker that wrote them and any worker can
 * read every slot (a /metrics route answers for the whole server). */
#include "process.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The region's head (a few cache lines: its identity, the drain flag, the
 * certificate reloads and the roll record), checked by each worker that maps it: a worker built
 * from a different version of this file (a rolling restart onto a new
 * executable) must not misread the slots. */
typedef struct region_head {
    char magic[8];
    uint32_t slot_size;
    uint32_t count;
    uint32_t roll_size;
    uint32_t routes;    /* route indices counted, after the slots */
    uint32_t cell_size; /* sizeof(chopin_route_cell) */
    uint32_t _Atomic draining;
    uint32_t _Atomic tls_reloads; /* the supervisor's certificate reloads, which worker processes follow */
    chopin_tls_ticket_keys tickets; /* one set of session ticket keys for every worker process */
    chopin_roll_record roll;
} __attribute__((aligned(CHOPIN_CACHELINE))) region_head;

static const char MAGIC[8] = "CHOPSLT7";

/* The region's size for count slots and routes route indices. */
static size_t region_len(uint32_t count, uint32_t routes) {
    return sizeof(region_head) + sizeof(chopin_slot) * count +
           sizeof(chopin_route_cell) * (size_t)count * CHOPIN_SLOT_BLOCKS * routes * CHOPIN_STATUS_CLASSES;
}

/* Points out's slots, roll record, drain flag and cells into its region. */
static void locate(chopin_slots *out, uint32_t count, uint32_t routes) {
    region_head *h = out->base;
    out->roll = &h->roll;
    out->draining = &h->draining;
    out->tls_reloads = &h->tls_reloads;
    out->tickets = &h->tickets;
    out->slot = (chopin_slot *)(h + 1);
    out->count = count;
    out->routes = routes;
    out->route_cells = routes ? (chopin_route_cell *)(out->slot + count) : NULL;
}

chopin_route_cell *chopin__slot_route_cells(const chopin_slots *s, uint32_t slot, uint32_t block) {
    if (!s->route_cells) return NULL;
    return s->route_cells + ((size_t)slot * CHOPIN_SLOT_BLOCKS + block) * s->routes * CHOPIN_STATUS_CLASSES;
}

int chopin__slots_alloc(chopin_slots *out, uint32_t count, uint32_t routes, int shared) {
    memset(out, 0, sizeof *out);
    out->fd = -1;
    out->len = region_len(count, routes);
    if (!shared) {
        out->base = aligned_alloc(CHOPIN_CACHELINE, out->len);
        if (!out->base) return -ENOMEM;
        memset(out->base, 0, out->len);
    } else {
        /* Not close-on-exec here: the supervisor hands it to each worker
         * (as a numbered descriptor) and keeps it closed everywhere else. */
        out->fd = memfd_create("chopin-slots", MFD_CLOEXEC);
        if (out->fd < 0) return -errno;
        if (ftruncate(out->fd, (off_t)out->len) < 0) {
            int e = errno;
            close(out->fd);
            return -e;
        }
        out->base = mmap(NULL, out->len, PROT_READ | PROT_WRITE, MAP_SHARED, out->fd, 0);
        if (out->base == MAP_FAILED) {
            int e = errno;
            close(out->fd);
            return -e;
        }
    }
    region_head *h = out->base;
    memcpy(h->magic, MAGIC, sizeof MAGIC);
    h->slot_size = sizeof(chopin_slot);
    h->count = count;
    h->roll_size = sizeof(chopin_roll_record);
    h->routes = routes;
    h->cell_size = sizeof(chopin_route_cell);
    locate(out, count, routes);
    return 0;
}

int chopin__slots_map(chopin_slots *out, int fd, char *err, size_t err_len) {
    memset(out, 0, sizeof *out);
    out->fd = -1;
    region_head h;
    if (pread(fd, &h, sizeof h, 0) != (ssize_t)sizeof h || memcmp(h.magic, MAGIC, sizeof MAGIC) != 0 ||
        h.slot_size != sizeof(chopin_slot) || h.roll_size != sizeof(chopin_roll_record) || h.count == 0 ||
        h.cell_size != sizeof(chopin_route_cell)) {
        snprintf(err, err_len,
                 "worker: the supervisor's shared slots are not what this program expects "
                 "(a supervisor from a different Chopin version?)");
        return -1;
    }
    out->len = region_len(h.count, h.routes);
    out->base = mmap(NULL, out->len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (out->base == MAP_FAILED) {
        snprintf(err, err_len, "worker: cannot map the shared slots: %s", strerror(errno));
        out->base = NULL;
        return -1;
    }
    close(fd);   /* the mapping keeps the memory */
    out->fd = -2; /* mapped, not owned: munmap only */
    locate(out, h.count, h.routes);
    return 0;
}

void chopin__roll_record_write(chopin_roll_record *r, int state, uint32_t replaced, int failed, const char *reason) {
    uint32_t seq = atomic_load_explicit(&r->seq, memory_order_relaxed);
    atomic_store_explicit(&r->seq, seq + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    r->state = state;
    r->replaced = replaced;
    if (failed) r->failed_rolls++;
    snprintf(r->reason, sizeof r->reason, "%s", reason ? reason : "");
    atomic_store_explicit(&r->seq, seq + 2, memory_order_release);
}

void chopin__roll_record_read(const chopin_roll_record *r, chopin_roll_status *out) {
    memset(out, 0, sizeof *out);
    if (!r) return;
    for (int tries = 0; tries < 1000; tries++) {
        uint32_t before = atomic_load_explicit(&r->seq, memory_order_acquire);
        if (before & 1) continue;
        /* Copied byte by byte through volatile: a torn copy is thrown away. */
        const volatile chopin_roll_record *v = r;
        out->state = v->state;
        out->replaced = v->replaced;
        out->failed_rolls = v->failed_rolls;
        for (size_t i = 0; i < sizeof out->reason; i++) out->reason[i] = v->reason[i];
        out->reason[sizeof out->reason - 1] = 0;
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&r->seq, memory_order_relaxed) == before) return;
    }
}

void chopin__slots_free(chopin_slots *s) {
    if (!s->base) return;
    if (s->fd >= 0) {
        munmap(s->base, s->len);
        close(s->fd);
    } else if (s->fd == -2) {
        munmap(s->base, s->len); /* a worker's mapping */
    } else {
        free(s->base);
    }
    s->base = NULL;
    s->slot = NULL;
}

static void name_request(chopin_handling *h, const chopin_request *req, const char *route, size_t route_len) {
    size_t m = req->method_name.len < sizeof h->method - 1 ? req->method_name.len : sizeof h->method - 1;
    memcpy(h->method, req->method_name.ptr, m);
    h->method[m] = 0;
    size_t r = route_len < sizeof h->route - 1 ? route_len : sizeof h->route - 1;
    memcpy(h->route, route, r);
    h->route[r] = 0;
}

void chopin_response_handling(chopin_response *res, const chopin_request *req, const char *route, size_t route_len) {
    chopin_worker *w = res->worker;
    if (!w || !w->now) return;
    name_request(w->now, req, route, route_len);
    w->named_route = NULL;
    /* Read only by the supervisor once this process is dead: no ordering needed. */
    w->now->handling = 1;
}

void chopin_response_handling_static(chopin_response *res, const chopin_request *req, const char *route,
                                     size_t route_len) {
    chopin_worker *w = res->worker;
    if (!w || !w->now) return;
    /* A worker mostly answers the route it answered last: its name is
     * there already. A method outside the enum is named by its bytes. */
    if (route != w->named_route || (int)req->method != w->named_method || req->method == CHOPIN_METHOD_OTHER) {
        name_request(w->now, req, route, route_len);
        w->named_route = route;
        w->named_method = (int)req->method;
    }
    w->now->handling = 1;
}

void chopin_response_handled(chopin_response *res) {
    if (res->worker && res->worker->now) res->worker->now->handling = 0;
}

static void name_copy(chopin_route_name *to, const char *method, size_t method_len, const char *route,
                      size_t route_len) {
    size_t m = method_len < sizeof to->method - 1 ? method_len : sizeof to->method - 1;
    memcpy(to->method, method, m);
    to->method[m] = 0;
    size_t r = route_len < sizeof to->route - 1 ? route_len : sizeof to->route - 1;
    memcpy(to->route, route, r);
    to->route[r] = 0;
}

void chopin_deferred_handling_async(chopin_deferred *d, const char *method, size_t method_len, const char *route,
                                    size_t route_len) {
    chopin_worker *w = d->worker;
    if (chopin__current_worker != w || !w->now) return;
    chopin_handling *h = w->now;
    /* The deferral keeps the name for chopin_worker_running_async, which
     * copies it whenever the worker switches to this handler's jobs. */
    name_copy(&d->async_name, method, method_len, route, route_len);
    h->async_running++;
    uint32_t free_entries = ~h->listed & ((1u << CHOPIN_ASYNC_LISTED) - 1);
    if (free_entries) {
        uint32_t i = (uint32_t)__builtin_ctz(free_entries);
        h->list[i] = d->async_name;
        h->listed |= 1u << i;
        d->async_entry = (uint8_t)(i + 1);
    }
}

void chopin_deferred_handled_async(chopin_deferred *d) {
    /* Only on the worker's own thread, while it runs: a handler that
     * outlived its worker (moved to the global executor) finds its slot
     * gone, and nobody left to name it. */
    chopin_worker *w = d->worker;
    if (chopin__current_worker != w || !w->now) return;
    if (w->now->async_running) w->now->async_running--;
    if (d->async_entry) w->now->listed &= ~(1u << (d->async_entry - 1));
    d->async_entry = 0;
}

void chopin_worker_running_async(chopin_worker *w, const chopin_deferred *d) {
    if (chopin__current_worker != w || !w->now) return;
    if (d) w->now->job = d->async_name;
    w->now->async_job = d != NULL;
}

/* Appends to out[*at..len), truncating. */
static void append(char *out, size_t len, size_t *at, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void append(char *out, size_t len, size_t *at, const char *fmt, ...) {
    if (*at >= len) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out + *at, len - *at, fmt, ap);
    va_end(ap);
    if (n > 0) *at += (size_t)n;
}

void chopin__handling_describe(const chopin_handling *h, char *out, size_t len) {
    size_t at = 0;
    uint32_t n = h->async_running;
    const char *s = n == 1 ? "" : "s";
    if (h->handling) {
        append(out, len, &at, "while handling %s %s", h->method, h->route);
        if (n) append(out, len, &at, " (%u async handler%s in flight)", n, s);
    } else if (h->async_job) {
        /* Its task's job ran on the worker's thread: that handler's code. */
        append(out, len, &at, "while handling %s %s (async", h->job.method, h->job.route);
        if (n > 1) append(out, len, &at, ", one of %u in flight", n);
        append(out, len, &at, ")");
    } else if (n) {
        /* No handler's code ran on the worker's thread: the loop's own, or
         * another thread's (one a handler started, say). Those in flight
         * are all it can name. */
        append(out, len, &at, "with no handler running on its thread, %u async handler%s in flight:", n, s);
        uint32_t named = 0;
        for (uint32_t i = 0; i < CHOPIN_ASYNC_LISTED; i++) {
            if (!(h->listed & (1u << i))) continue;
            append(out, len, &at, "%s %s %s", named ? "," : "", h->list[i].method, h->list[i].route);
            named++;
        }
        if (n > named) append(out, len, &at, "%s %u more", named ? ", and" : "", n - named);
    } else {
        append(out, len, &at, "with no handler running");
    }
}

void chopin__handling_clear(chopin_handling *h) {
    h->handling = 0;
    h->async_running = 0;
    h->async_job = 0;
    h->listed = 0;
}
