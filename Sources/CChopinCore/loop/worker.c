/* worker.c - one event loop per thread, sharing nothing writable with the
 * others: its own listener, backend, slab, timer wheel, buffers, Date cache
 * and metrics block. */
#include "loop.h"

#include "../http/text.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* After the shutdown deadline, how long closed connections may wait for the
 * kernel to hand back their in-flight operations before the loop ends anyway. */
#define CANCEL_GRACE_MS 1000

/* How long accepting pauses after the process ran out of descriptors. */
#define ACCEPT_RETRY_MS 100
/* Connections taken from a ready listener in one go (chopin__worker_accept_ready). */
#define ACCEPT_BATCH 64
/* Timer resolution: deadlines are met within one tick. */
#define WHEEL_TICK_MS 10
#define WHEEL_SLOTS 4096
/* A stop leaves idle keep-alive connections open this long (at most half
 * the shutdown deadline): a request a client sent on one just as the stop
 * began is answered with Connection: close instead of meeting a close. A
 * busy connection ends after its next response either way. */
#define DRAIN_IDLE_GRACE_MS 500

void chopin__worker_refresh_clock(chopin_worker *w) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    w->now_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    time_t now = time(NULL);
    if (now != w->date_sec) {
        w->date_sec = now;
        chopin__format_date(w->date, now);
    }
}

/* Serves fd (accepted, or handed over by chopin_server_adopt) in a free
 * slot, or closes it when there is none. */
static void open_connection(chopin_worker *w, int fd, const void *addr, uint32_t addr_len) {
    uint32_t idx = chopin__slab_alloc(&w->slab);
    if (idx == CHOPIN_NIL) {
        close(fd);
        return;
    }
    chopin_conn *c = &w->conns[idx];
    c->idx = idx;
    c->gen = chopin__slab_gen(&w->slab, idx);
    chopin__conn_open(w, c, fd);
    chopin__peer_set(&c->peer, addr, addr_len);
    CHOPIN_COUNT(w, accepted, 1);
    if (w->ops->conn_start(w, c) < 0 || (w->cfg->tls && chopin__conn_tls_begin(w, c) < 0)) chopin__conn_close(w, c);
}

/* A new connection, taken while the worker accepts (so neither stopping
 * nor full: accepting ends with either). */
static void accepted(chopin_worker *w, int fd, const void *addr, uint32_t addr_len) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    open_connection(w, fd, addr, addr_len);
    if (w->slab.nfree == 0 && w->accepting) {
        /* Full: leave further connections in the kernel's backlog. */
        w->accept_full = 1;
        w->ops->accept_stop(w);
    }
    if (w->cfg->tls && w->tls_handshaking >= w->cfg->max_tls_handshakes && w->accepting) {
        /* As many handshakes as a worker takes on at once: the next clients
         * wait in the backlog until one ends (done, failed or timed out). */
        w->accept_handshakes = 1;
        w->ops->accept_stop(w);
    }
}

void chopin__worker_accept_failed(chopin_worker *w, int err) {
    if (err == EINVAL) {
        /* The listener was shut down (a stop): nothing more will come. */
        if (w->accepting) w->ops->accept_stop(w);
        return;
    }
    if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        /* Out of descriptors or memory: retrying at once would spin. */
        if (w->accepting) w->ops->accept_stop(w);
        w->accept_retry_ms = w->now_ms + ACCEPT_RETRY_MS;
    }
}

/* A worker process: its supervisor reloaded the certificate (and checked
 * it); this process loads its own copy before the next connection. Worker
 * threads: a SIGHUP that no waiter took asked for a reload, which the first
 * of them to get here makes (and says, the supervisor being the one to
 * speak for worker processes). */
static void follow_tls_reload(chopin_worker *w) {
    uint32_t reload = atomic_load_explicit(w->tls_reloads, memory_order_acquire);
    if (reload == w->tls_reload_seen) return;
    w->tls_reload_seen = reload;
    char err[256];
    int rc = chopin__tls_follow(w->cfg->tls, reload, err, sizeof err);
    if (rc < 0)
        chopin__log("chopin: worker %u: the TLS certificate cannot be reloaded here: %s; the old one stays", w->id,
                    err);
    else if (rc > 0 && !w->cfg->quiet)
        chopin__tls_say_reloaded(w->cfg->tls);
}

void chopin__worker_accept_ready(chopin_worker *w) {
    if (w->tls_reloads) follow_tls_reload(w);
    /* A batch at most, so that a flood of new connections does not starve
     * the established ones; the listener is still ready afterwards, so the
     * backend comes back for the rest on its next turn. accepting drops
     * when the slab fills or the listener fails. */
    for (int i = 0; i < ACCEPT_BATCH && w->accepting; i++) {
        struct sockaddr_storage addr;
        socklen_t addr_len = sizeof addr;
        int fd = accept4(w->listen_fd, (struct sockaddr *)&addr, &addr_len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            int err = errno;
            if (err == EINTR || err == ECONNABORTED) continue;
            if (err != EAGAIN) chopin__worker_accept_failed(w, err);
            return;
        }
        accepted(w, fd, &addr, addr_len);
    }
}

static void on_timer(void *ctx, uint32_t idx) {
    chopin_worker *w = ctx;
    chopin__conn_timeout(w, &w->conns[idx]);
}

static void close_all(chopin_worker *w) {
    for (uint32_t i = 0; i < w->slab.fresh; i++)
        chopin__conn_close(w, &w->conns[i]);
}

/* The stop's grace is over: idle connections close now. */
static void drain_idle(chopin_worker *w) {
    w->drain_idle_ms = 0;
    for (uint32_t i = 0; i < w->slab.fresh; i++)
        chopin__conn_drain(w, &w->conns[i]);
}

static void begin_stop(chopin_worker *w) {
    w->stopping = 1;
    w->stop_deadline_ms = w->now_ms + w->cfg->shutdown_timeout_ms;
    if (w->accepting) w->ops->accept_stop(w);
    if (w->listen_fd >= 0) {
        close(w->listen_fd);
        w->listen_fd = -1;
    }
    uint32_t grace = w->cfg->shutdown_timeout_ms / 2 < DRAIN_IDLE_GRACE_MS ? w->cfg->shutdown_timeout_ms / 2
                                                                            : DRAIN_IDLE_GRACE_MS;
    w->drain_idle_ms = w->now_ms + grace;
    if (!grace) drain_idle(w);
}

/* Connections handed over by chopin_server_adopt: served like accepted
 * ones (no peer address: a socketpair has none), or closed when the worker
 * stops or is full. */
static void take_adopted(chopin_worker *w) {
    pthread_mutex_lock(&w->adopt_lock);
    for (uint32_t k = 0; k < w->nadopted; k++) {
        if (w->stopping)
            close(w->adopted[k]);
        else
            open_connection(w, w->adopted[k], NULL, 0);
    }
    w->nadopted = 0;
    pthread_mutex_unlock(&w->adopt_lock);
}

void chopin__worker_wake_event(chopin_worker *w) {
    /* Cleared first: a wake-up asked for from now on is a new one. */
    atomic_store_explicit(&w->wake_pending, 0, memory_order_seq_cst);
    if (atomic_load_explicit(&w->stop_requested, memory_order_acquire) && !w->stopping) begin_stop(w);
    take_adopted(w);
    chopin__deferrals_collect(w);
}

void chopin__worker_teardown(chopin_worker *w) {
    /* The backend first: it waits until the kernel lets go of every buffer. */
    if (w->backend) w->ops->destroy(w);
    w->backend = NULL;
    chopin__deferrals_spare_free(w);
    for (uint32_t i = 0; w->conns && i < w->slab.fresh; i++) {
        chopin_conn *c = &w->conns[i];
        if (c->fd >= 0 && c->state != CONN_FREE) close(c->fd);
        chopin__buf_release(&c->in, &w->pool);
        chopin__buf_release(&c->out, &w->pool);
        chopin__buf_release(&c->tx, &w->pool);
        chopin__tls_session_free(c->tls);
        c->tls = NULL;
    }
    if (w->listen_fd >= 0) close(w->listen_fd);
    w->listen_fd = -1;
    chopin__wheel_destroy(&w->wheel);
    chopin__slab_destroy(&w->slab);
    chopin__pool_destroy(&w->pool);
    free(w->conns);
    free(w->headers);
    free(w->ready);
    free(w->interest_due);
    free(w->cap_wait);
    free(w->tls_plain);
    free(w->tls_file_part);
    w->tls_plain = w->tls_file_part = NULL;
    w->ready = NULL;
    w->interest_due = NULL;
    w->cap_wait = NULL;
    w->conns = NULL;
    w->headers = NULL;
}

int chopin__worker_setup(chopin_worker *w) {
    const chopin_config *cfg = w->cfg;
    uint32_t cap = cfg->max_connections;
    chopin__worker_refresh_clock(w);
    w->limits.max_request_line = cfg->max_request_line;
    w->limits.max_head = cfg->max_head_bytes;
    /* calloc'd and never touched up front: a slot costs memory once used. */
    w->conns = calloc(cap, sizeof *w->conns);
    w->headers = calloc(cfg->max_headers, sizeof *w->headers);
    w->ready = calloc(cap, sizeof *w->ready);
    w->interest_due = calloc(cap, sizeof *w->interest_due);
    w->cap_wait = calloc(cap, sizeof *w->cap_wait);
    if (!w->conns || !w->headers || !w->ready || !w->interest_due || !w->cap_wait) return -ENOMEM;
    int rc;
    if ((rc = chopin__slab_init(&w->slab, cap)) < 0) return rc;
    if ((rc = chopin__wheel_init(&w->wheel, cap, WHEEL_SLOTS, WHEEL_TICK_MS, w->now_ms)) < 0) return rc;
    if ((rc = chopin__pool_init(&w->pool, 16384, 1024)) < 0) return rc;
    if (cfg->tls) {
        w->tls_plain = malloc(CHOPIN_TLS_RECORD);
        w->tls_file_part = malloc(CHOPIN_TLS_FILE_PART);
        if (!w->tls_plain || !w->tls_file_part) return -ENOMEM;
    }
    w->pool.held = &w->metrics->buffer_bytes;
    w->pool.heap_allocations = &w->metrics->buffer_heap_allocations;
    return 0;
}

/* Whose thread this is, for the floors below (NULL: nobody's any more):
 * the connection floor's deferral calls check it, and the response writer
 * reads its stop flag. */
static void serve_on_this_thread(chopin_worker *w) {
    chopin__current_worker = w;
    chopin__thread_stop_requested = w ? &w->stop_requested : NULL;
}

static int worker_start(chopin_worker *w) {
    if (w->cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(w->cpu, &set);
        pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    }
    char name[16];
    snprintf(name, sizeof name, "chopin-w%u", w->id);
    pthread_setname_np(pthread_self(), name); /* for top, gdb, and the allocation test */
    int rc;
    if ((rc = chopin__worker_setup(w)) < 0) return rc;
    if ((rc = w->ops->init(w)) < 0) return rc;
    serve_on_this_thread(w);
    if (w->cfg->worker_start) w->hook_state = w->cfg->worker_start(w->cfg->handler_ctx, w, w->id);
    return w->ops->accept_start(w);
}

/* Another runtime's work on this thread (Swift's jobs); 1 while more is
 * queued. Where the hook runs only when asked, a turn nobody asked for costs
 * one load; the ask is taken before the hook runs, so that one made while it
 * runs brings it back next turn. */
static int run_turn_hook(chopin_worker *w, int more_queued) {
    if (!w->cfg->worker_turn) return 0;
    if (w->cfg->worker_turn_when_asked && !more_queued) {
        if (!atomic_load_explicit(&w->turn_asked, memory_order_relaxed)) return 0;
        /* An exchange, not a store: it reads the latest ask (acquiring what
         * was queued before it), so that none made meanwhile is lost. */
        atomic_exchange_explicit(&w->turn_asked, 0, memory_order_acq_rel);
    }
    w->in_turn = 1;
    int more = w->cfg->worker_turn(w->hook_state);
    w->in_turn = 0;
    return more;
}

/* The worker is leaving: its deferrals, then the other runtime's state. */
static void worker_end(chopin_worker *w) {
    chopin__deferrals_end(w);
    chopin__worker_wake_event(w); /* drains what was pushed meanwhile */
    /* Handlers cancelled just now may still want to run (and finish, which
     * frees their orphaned deferral): one last turn, then the hook ends. */
    run_turn_hook(w, 1);
    if (w->cfg->worker_stop && w->hook_state) w->cfg->worker_stop(w->hook_state);
    w->hook_state = NULL;
    serve_on_this_thread(NULL);
}

/* Milliseconds the loop may sleep: until the next timer, the accept retry,
 * a stop's next check, or not at all when connections wait for their turn. */
static int next_timeout(chopin_worker *w, int more_work) {
    int timeout = chopin__wheel_timeout(&w->wheel, w->now_ms);
    if (w->accept_retry_ms) {
        int t = (int)(w->accept_retry_ms > w->now_ms ? w->accept_retry_ms - w->now_ms : 0);
        if (timeout < 0 || t < timeout) timeout = t;
    }
    if (w->stopping && (timeout < 0 || timeout > 50)) timeout = 50;
    /* A turn asked for since the hook ran (a job queued on this thread
     * after it): no sleep before it runs. */
    if (w->nready || more_work || atomic_load_explicit(&w->turn_asked, memory_order_relaxed)) timeout = 0;
    return timeout;
}

void *chopin__worker_main(void *arg) {
    chopin_worker *w = arg;
    w->init_rc = worker_start(w);
    /* The starter waits for every worker's result. */
    w->started(w->started_arg);
    if (w->init_rc < 0) {
        chopin__worker_teardown(w);
        serve_on_this_thread(NULL);
        w->ended(w->ended_arg);
        return NULL;
    }
    int more_work = 0;
    for (;;) {
        if (chopin__wheel_due(&w->wheel, w->now_ms)) chopin__wheel_advance(&w->wheel, w->now_ms, on_timer, w);
        if (w->accept_retry_ms && w->now_ms >= w->accept_retry_ms) {
            w->accept_retry_ms = 0;
            if (!w->stopping && !w->accept_full && !w->accept_handshakes) w->ops->accept_start(w);
        }
        if (w->stopping) {
            if (w->drain_idle_ms && w->now_ms >= w->drain_idle_ms) drain_idle(w);
            if (chopin__slab_used(&w->slab) == 0) break;
            if (w->now_ms >= w->stop_deadline_ms) {
                /* Closed slots wait for their cancelled operations (io_uring):
                 * the loop goes on until the kernel has handed them all back. */
                close_all(w);
                if (chopin__slab_used(&w->slab) == 0 || w->now_ms >= w->stop_deadline_ms + CANCEL_GRACE_MS) break;
            }
        }
        w->ops->wait(w, next_timeout(w, more_work));
        chopin__worker_refresh_clock(w);
        /* A stop asked for while the loop waited applies to the requests
         * read in this turn too (Connection: close), whichever event the
         * backend hands over first. */
        if (!w->stopping && atomic_load_explicit(&w->stop_requested, memory_order_acquire)) begin_stop(w);
        w->ops->dispatch(w);
        chopin__conn_resume_ready(w);
        more_work = run_turn_hook(w, more_work);
        chopin__conn_follow_due_interest(w);
    }
    worker_end(w);
    chopin__worker_teardown(w);
    w->ended(w->ended_arg);
    return NULL;
}
