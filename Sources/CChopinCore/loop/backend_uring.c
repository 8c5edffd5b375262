/* backend_uring.c - the completion backend on io_uring (liburing).
 *
 * Per worker: a ring created on the worker thread (SINGLE_ISSUER with
 * DEFER_TASKRUN where the kernel has them), a poll on the listener, one
 * multishot recv per connection from a provided-buffer ring, at most one
 * send in flight per connection, and one io_uring_enter per loop turn.
 *
 * Connections are accepted in user space, as epoll does: the listener's
 * poll says there are some, and the worker takes them with accept4 while
 * it has free slots (chopin__worker_accept_ready). A connection stays in
 * the kernel's backlog until the worker itself takes it. Accepts armed in
 * the ring would take connections on the kernel's own time: as a worker
 * process under a supervisor is killed, or while it is stopped, and those
 * die with it, where in the backlog they would have waited for its
 * replacement. Measured under load, accept4 and the poll cost no more
 * than accepts in the ring, so every worker accepts this way.
 *
 * Receive buffers come from one mapping sized by the configuration, but
 * only a few of them go into the ring at start; more join whenever receives
 * find none free. Pages of buffers never used are never touched, so an idle
 * worker does not pay for the configured maximum.
 *
 * A file body goes with sendfile(2) from the worker, straight from the page
 * cache as on epoll, and a POLLOUT poll in the ring waits for room for the
 * rest: a send in the ring would need the bytes in user memory first.
 *
 * Sends are not MSG_WAITALL: a send that the kernel can only partly finish
 * completes with what it sent, so a slow reader's progress is seen (and the
 * write timeout restarts) instead of one send waiting out the whole response.
 *
 * An operation names its socket by descriptor number, and the kernel reads
 * that number when the entry is submitted, not when it is written. So a
 * connection closed after an entry for it was written and before the next
 * submission first has that entry submitted (ur_cancel): otherwise the
 * number, freed by close() and taken by the next accept4 (or by any other
 * thread of the process), would have the entry's recv or send work on
 * somebody else's connection, and one client would read another's answer.
 *
 * user_data layout: op (8 bits) << 56 | generation (24 bits) << 32 | slot.
 * A completion whose generation is not the slot's is for a connection that
 * is gone; it is ignored. A slot is freed only once nothing is in flight, and
 * the ring is torn down only once the kernel has handed back every operation
 * (they point into buffers freed right after). */
#include "loop.h"

#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define SQ_ENTRIES 1024
#define CQ_ENTRIES 8192
#define BUF_GROUP 0
#define FIRST_BUFFERS 32 /* receive buffers in the ring at start; doubled when they run out */
#define DRAIN_MS 1000    /* how long teardown waits for the kernel to hand operations back */

enum { OP_LISTEN = 1, OP_RECV, OP_SEND, OP_CANCEL, OP_WAKE, OP_POLL, OP_WRITABLE };

/* c->io: this backend's own flags. */
enum {
    IO_RECV_ARMED = 1 << 0, /* a multishot recv is in flight */
    IO_POLL_ARMED = 1 << 1, /* a poll for the client's FIN is in flight (CF_WATCH_HUP) */
    IO_WRITABLE_ARMED = 1 << 2, /* a poll for room to send the rest of a file body is in flight */
};

uint64_t _Atomic chopin__uring_abandoned_ops;

typedef struct uring_state {
    struct io_uring ring;
    int ring_ok;
    struct io_uring_buf_ring *br;
    char *bufs;      /* nbufs x buf_size, mapped, touched only as buffers are used */
    uint32_t nbufs;  /* power of two (config uring_buffers) */
    uint32_t in_use; /* buffers handed to the ring so far (bids 0..in_use-1) */
    uint32_t buf_size;
    uint64_t wake_val;
    int wake_armed;
    int listen_armed; /* the listener's poll is in flight */
    uint64_t inflight; /* operations whose last completion has not come yet */
    uint32_t *rearm;   /* connections whose multishot recv ended on ENOBUFS */
    uint32_t *written; /* per slot: the batch of its last entry naming its socket */
    uint32_t batch;    /* entries written since the last submission belong to this one */
    uint32_t nrearm;
    int grow;          /* receives ran out of buffers this turn */
    struct uring_state *kept_next; /* on kept_states */
} uring_state;

/* The states of workers that ended with operations still in the kernel's
 * hands (ur_destroy): kept, and reachable from here, so that a leak
 * checker does not report memory the kernel may still write into. */
static uring_state *_Atomic kept_states;

static uint64_t ud(int op, const chopin_conn *c) {
    uint64_t v = (uint64_t)op << 56;
    if (c) v |= ((uint64_t)c->gen << 32) | c->idx;
    return v;
}

/* Every submission goes through here or submit_and_wait: a new batch begins. */
static void submit(uring_state *s) {
    s->batch++;
    io_uring_submit(&s->ring);
}

static int submit_and_wait(uring_state *s, struct __kernel_timespec *ts) {
    struct io_uring_cqe *cqe;
    s->batch++;
    return io_uring_submit_and_wait_timeout(&s->ring, &cqe, 1, ts, NULL);
}

static struct io_uring_sqe *get_sqe(uring_state *s) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);
    if (!sqe) {
        /* SQ full: push what is queued and take a fresh entry. */
        submit(s);
        sqe = io_uring_get_sqe(&s->ring);
    }
    if (sqe) s->inflight++;
    return sqe;
}

/* An entry naming c's socket by number is written: see ur_cancel. */
static void names_socket(uring_state *s, const chopin_conn *c) { s->written[c->idx] = s->batch; }

int chopin__uring_probe(void) {
    struct io_uring ring;
    int rc = io_uring_queue_init(4, &ring, 0);
    if (rc < 0) return rc;
    io_uring_queue_exit(&ring);
    return 0;
}

static int setup_ring(uring_state *s) {
    /* Newest flags first; step down where the kernel says EINVAL. */
    static const unsigned flag_sets[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_COOP_TASKRUN |
            IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_SUBMIT_ALL,
        IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL,
        0,
    };
    int rc = -EINVAL;
    for (size_t i = 0; i < sizeof flag_sets / sizeof flag_sets[0]; i++) {
        struct io_uring_params p;
        memset(&p, 0, sizeof p);
        p.flags = flag_sets[i] | IORING_SETUP_CQSIZE;
        p.cq_entries = CQ_ENTRIES;
        rc = io_uring_queue_init_params(SQ_ENTRIES, &s->ring, &p);
        if (rc != -EINVAL) break;
    }
    return rc;
}

static void return_buffer(uring_state *s, unsigned bid) {
    io_uring_buf_ring_add(s->br, s->bufs + (size_t)bid * s->buf_size, s->buf_size, (unsigned short)bid,
                          io_uring_buf_ring_mask(s->nbufs), 0);
    io_uring_buf_ring_advance(s->br, 1);
}

/* Hands buffers in_use..want-1 to the ring for the first time. */
static void add_buffers(uring_state *s, uint32_t want) {
    if (want > s->nbufs) want = s->nbufs;
    for (uint32_t bid = s->in_use; bid < want; bid++)
        return_buffer(s, bid);
    if (want > s->in_use) s->in_use = want;
}

static int setup_buffers(uring_state *s) {
    void *mem;
    if (posix_memalign(&mem, 4096, s->nbufs * sizeof(struct io_uring_buf)) != 0) return -ENOMEM;
    s->br = mem;
    size_t bytes = (size_t)s->nbufs * s->buf_size;
    s->bufs = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (s->bufs == MAP_FAILED) {
        s->bufs = NULL;
        return -ENOMEM;
    }
    struct io_uring_buf_reg reg;
    memset(&reg, 0, sizeof reg);
    reg.ring_addr = (unsigned long)s->br;
    reg.ring_entries = s->nbufs;
    reg.bgid = BUF_GROUP;
    int rc = io_uring_register_buf_ring(&s->ring, &reg, 0);
    if (rc < 0) return rc;
    io_uring_buf_ring_init(s->br);
    add_buffers(s, FIRST_BUFFERS);
    return 0;
}

static void arm_wake(chopin_worker *w) {
    uring_state *s = w->backend;
    struct io_uring_sqe *sqe = get_sqe(s);
    if (!sqe) return;
    io_uring_prep_read(sqe, w->wake_fd, &s->wake_val, sizeof s->wake_val, 0);
    io_uring_sqe_set_data64(sqe, ud(OP_WAKE, NULL));
    s->wake_armed = 1;
}

static int ur_init(chopin_worker *w) {
    uring_state *s = calloc(1, sizeof *s);
    if (!s) return -ENOMEM;
    w->backend = s;
    s->nbufs = w->cfg->uring_buffers;
    s->buf_size = w->cfg->uring_buffer_size;
    int rc = setup_ring(s);
    if (rc < 0) return rc;
    s->ring_ok = 1;
    s->rearm = calloc(w->slab.cap, sizeof *s->rearm);
    s->written = calloc(w->slab.cap, sizeof *s->written);
    if (!s->rearm || !s->written) return -ENOMEM;
    s->batch = 1; /* the slots' 0 names no batch */
    if ((rc = setup_buffers(s)) < 0) return rc;
    arm_wake(w);
    return 0;
}

static void cancel_op(uring_state *s, uint64_t target, int flags) {
    struct io_uring_sqe *sqe = get_sqe(s);
    if (!sqe) return;
    io_uring_prep_cancel64(sqe, target, flags);
    io_uring_sqe_set_data64(sqe, ud(OP_CANCEL, NULL));
}

/* A completion that ends its operation (a multishot one ends without F_MORE). */
static int final_cqe(const struct io_uring_cqe *cqe) { return !(cqe->flags & IORING_CQE_F_MORE); }

static int ur_cancel(chopin_worker *w, chopin_conn *c);


/* Cancels what is left and reaps completions until the kernel has handed
 * back every operation, so that nothing still points into the buffers
 * about to be freed. Returns how many are still out after DRAIN_MS. */
static uint64_t drain(chopin_worker *w) {
    uring_state *s = w->backend;
    if (s->listen_armed) cancel_op(s, ud(OP_LISTEN, NULL), 0);
    if (s->wake_armed) cancel_op(s, ud(OP_WAKE, NULL), 0);
    /* Slots closed at the deadline had theirs cancelled then; again does no harm. */
    for (uint32_t i = 0; w->conns && i < w->slab.fresh; i++)
        if (w->conns[i].pending_ops) ur_cancel(w, &w->conns[i]);
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (s->inflight) {
        struct io_uring_cqe *cqe;
        struct __kernel_timespec ts = {.tv_sec = 0, .tv_nsec = 50 * 1000000};
        submit_and_wait(s, &ts);
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&s->ring, head, cqe) {
            if (final_cqe(cqe)) s->inflight--;
            seen++;
        }
        io_uring_cq_advance(&s->ring, seen);
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 > DRAIN_MS) break;
    }
    return s->inflight;
}

static void ur_destroy(chopin_worker *w) {
    uring_state *s = w->backend;
    uint64_t left = 0;
    if (s->ring_ok) {
        left = drain(w);
        io_uring_queue_exit(&s->ring);
    }
    free(s->rearm);
    free(s->written);
    w->backend = NULL;
    if (left) {
        /* The kernel still holds operations: what they point into (the
         * receive buffers, the wake-up counter in s) must outlive them. */
        atomic_fetch_add(&chopin__uring_abandoned_ops, left);
        s->kept_next = atomic_load(&kept_states);
        while (!atomic_compare_exchange_weak(&kept_states, &s->kept_next, s)) {
        }
        chopin__log("chopin: worker %u: %llu io_uring operations did not end; their buffers are kept", w->id,
                    (unsigned long long)left);
        return;
    }
    free(s->br);
    if (s->bufs) munmap(s->bufs, (size_t)s->nbufs * s->buf_size);
    free(s);
}

/* Single-shot: armed anew after each batch, a poll sees a backlog that
 * the batch left behind at once, as level-triggered epoll would, while a
 * multishot poll would wait for the next connection to arrive. */
static int arm_listen(chopin_worker *w) {
    uring_state *s = w->backend;
    struct io_uring_sqe *sqe = get_sqe(s);
    if (!sqe) return -EBUSY;
    io_uring_prep_poll_add(sqe, w->listen_fd, POLLIN);
    io_uring_sqe_set_data64(sqe, ud(OP_LISTEN, NULL));
    s->listen_armed = 1;
    return 0;
}

static int ur_accept_start(chopin_worker *w) {
    uring_state *s = w->backend;
    if (w->listen_fd < 0) return 0;
    w->accepting = 1;
    /* Still armed after a stop whose cancel has not landed: its completion re-arms. */
    return s->listen_armed ? 0 : arm_listen(w);
}

static void ur_accept_stop(chopin_worker *w) {
    uring_state *s = w->backend;
    w->accepting = 0;
    if (s->listen_armed) cancel_op(s, ud(OP_LISTEN, NULL), 0);
}

static int arm_recv(chopin_worker *w, chopin_conn *c) {
    uring_state *s = w->backend;
    struct io_uring_sqe *sqe = get_sqe(s);
    if (!sqe) return -EBUSY;
    io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
    names_socket(s, c);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = BUF_GROUP;
    io_uring_sqe_set_data64(sqe, ud(OP_RECV, c));
    c->io |= IO_RECV_ARMED;
    c->pending_ops++;
    return 0;
}

static int ur_conn_start(chopin_worker *w, chopin_conn *c) {
    c->io = 0;
    c->pending_ops = 0;
    return arm_recv(w, c);
}

/* A single-shot poll of c's socket for `events`, flagged `armed` in c->io. */
static int arm_poll(chopin_worker *w, chopin_conn *c, unsigned events, int op, uint8_t armed) {
    uring_state *s = w->backend;
    struct io_uring_sqe *sqe = get_sqe(s);
    if (!sqe) return -EBUSY;
    io_uring_prep_poll_add(sqe, c->fd, events);
    names_socket(s, c);
    io_uring_sqe_set_data64(sqe, ud(op, c));
    c->io |= armed;
    c->pending_ops++;
    return 0;
}

/* Reads are paused: the client's FIN still shows (CF_WATCH_HUP). */
static int arm_hup_poll(chopin_worker *w, chopin_conn *c) { return arm_poll(w, c, POLLRDHUP, OP_POLL, IO_POLL_ARMED); }

static int ur_read_pause(chopin_worker *w, chopin_conn *c) {
    /* Bytes already on their way still arrive; the connection keeps them. */
    if (c->io & IO_RECV_ARMED) cancel_op(w->backend, ud(OP_RECV, c), 0);
    if ((c->flags & CF_WATCH_HUP) && !(c->io & IO_POLL_ARMED)) return arm_hup_poll(w, c);
    if (!(c->flags & CF_WATCH_HUP) && (c->io & IO_POLL_ARMED)) cancel_op(w->backend, ud(OP_POLL, c), 0);
    return 0;
}

static int ur_read_resume(chopin_worker *w, chopin_conn *c) {
    if (c->io & IO_POLL_ARMED) cancel_op(w->backend, ud(OP_POLL, c), 0);
    /* Still armed means the cancel has not landed: its completion re-arms. */
    return (c->io & IO_RECV_ARMED) ? 0 : arm_recv(w, c);
}

static long ur_send(chopin_worker *w, chopin_conn *c) {
    uring_state *s = w->backend;
    struct io_uring_sqe *sqe = get_sqe(s);
    if (!sqe) return -EBUSY;
    /* A file body follows these bytes (its head): MSG_MORE holds them for
     * sendfile's first segment, as on epoll. */
    int more = (c->flags & CF_FILE) && c->file_left > 0 ? MSG_MORE : 0;
    io_uring_prep_send(sqe, c->fd, c->tx.data + c->tx.off, c->tx.len - c->tx.off, MSG_NOSIGNAL | more);
    names_socket(s, c);
    io_uring_sqe_set_data64(sqe, ud(OP_SEND, c));
    c->pending_ops++;
    return 0;
}

static long ur_send_file(chopin_worker *w, chopin_conn *c) {
    long done = chopin__file_sendfile_part(c);
    if (done < 0 || (uint64_t)done == c->file_left) return done;
    /* A full socket, or the turn's share: the rest when there is room. */
    int rc = arm_poll(w, c, POLLOUT, OP_WRITABLE, IO_WRITABLE_ARMED);
    return rc < 0 ? rc : done;
}

static int ur_cancel(chopin_worker *w, chopin_conn *c) {
    uring_state *s = w->backend;
    if (c->io & IO_RECV_ARMED) cancel_op(s, ud(OP_RECV, c), 0);
    if (c->flags & CF_SENDING) cancel_op(s, ud(OP_SEND, c), 0);
    if (c->io & IO_POLL_ARMED) cancel_op(s, ud(OP_POLL, c), 0);
    if (c->io & IO_WRITABLE_ARMED) cancel_op(s, ud(OP_WRITABLE, c), 0);
    /* conn/lifecycle.c closes the socket next: an entry naming it that is still
     * unsubmitted goes to the kernel now, while the number is still c's
     * (the cancels just written follow it and end it). */
    if (s->written[c->idx] == s->batch) submit(s);
    return c->pending_ops > 0;
}

/* One operation of a closed connection finished: free the slot after the last. */
static void op_done_dead(chopin_worker *w, chopin_conn *c) {
    if (c->pending_ops == 0) chopin__conn_release(w, c);
}

static void on_recv(chopin_worker *w, chopin_conn *c, struct io_uring_cqe *cqe) {
    uring_state *s = w->backend;
    int more = cqe->flags & IORING_CQE_F_MORE;
    if (!more) {
        c->io &= (uint8_t)~IO_RECV_ARMED;
        c->pending_ops--;
    }
    if (cqe->flags & IORING_CQE_F_BUFFER) {
        unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
        if (cqe->res > 0) chopin__conn_data(w, c, s->bufs + (size_t)bid * s->buf_size, (size_t)cqe->res);
        return_buffer(s, bid);
    } else if (cqe->res == 0) {
        chopin__conn_eof(w, c, 0);
    } else if (cqe->res == -ENOBUFS) {
        /* Not fatal: more buffers join the ring, and the recv is re-armed after the batch. */
        CHOPIN_COUNT(w, recv_buffer_waits, 1);
        s->grow = 1;
        if (chopin__conn_open_p(c) && !(c->io & IO_RECV_ARMED)) s->rearm[s->nrearm++] = c->idx;
    } else if (cqe->res < 0 && cqe->res != -ECANCELED) {
        chopin__conn_eof(w, c, -cqe->res);
    }
    if (c->state == CONN_DEAD) {
        op_done_dead(w, c);
        return;
    }
    /* A multishot that ended while we still want bytes: start another. */
    if (!more && chopin__conn_open_p(c) && !(c->io & IO_RECV_ARMED) && !(c->flags & CF_READ_PAUSED) &&
        cqe->res != 0 && cqe->res != -ENOBUFS)
        arm_recv(w, c);
}

/* A single-shot operation of c ended (`armed`: its c->io flag, if any).
 * Returns 0 when c is closed, and its slot freed after the last one. */
static int single_op_ended(chopin_worker *w, chopin_conn *c, uint8_t armed) {
    c->io &= (uint8_t)~armed;
    c->pending_ops--;
    if (c->state == CONN_DEAD) {
        op_done_dead(w, c);
        return 0;
    }
    return 1;
}

static void on_send(chopin_worker *w, chopin_conn *c, int res) {
    if (single_op_ended(w, c, 0)) chopin__conn_send_ready(w, c, res);
}

static void on_poll(chopin_worker *w, chopin_conn *c, int res) {
    if (single_op_ended(w, c, IO_POLL_ARMED) && res > 0 && (res & (POLLRDHUP | POLLHUP | POLLERR)))
        chopin__conn_hangup(w, c);
}

static void on_writable(chopin_worker *w, chopin_conn *c, int res) {
    /* An error shows in the next sendfile; the poll itself failing ends it here. */
    if (single_op_ended(w, c, IO_WRITABLE_ARMED)) chopin__conn_send_ready(w, c, res < 0 ? res : 0);
}

static void on_listen(chopin_worker *w, int res) {
    uring_state *s = w->backend;
    s->listen_armed = 0;
    if (res > 0 && w->accepting)
        chopin__worker_accept_ready(w);
    else if (res < 0 && res != -ECANCELED)
        chopin__worker_accept_failed(w, -res);
    if (w->accepting && !w->accept_retry_ms && !s->listen_armed) arm_listen(w);
}

static void dispatch_one(chopin_worker *w, struct io_uring_cqe *cqe) {
    uring_state *s = w->backend;
    uint64_t data = io_uring_cqe_get_data64(cqe);
    int op = (int)(data >> 56);
    if (final_cqe(cqe)) s->inflight--;
    switch (op) {
    case OP_LISTEN: on_listen(w, cqe->res); return;
    case OP_WAKE:
        s->wake_armed = 0;
        arm_wake(w);
        chopin__worker_wake_event(w);
        return;
    case OP_CANCEL: return;
    }
    uint32_t idx = (uint32_t)data;
    uint32_t gen = (uint32_t)(data >> 32) & 0xffffffu;
    chopin_conn *c = chopin__conn_lookup(w, idx, gen);
    if (!c) {
        /* Cannot happen while slots wait for their operations; keep the buffer anyway. */
        if ((cqe->flags & IORING_CQE_F_BUFFER) && op == OP_RECV)
            return_buffer(s, cqe->flags >> IORING_CQE_BUFFER_SHIFT);
        return;
    }
    if (op == OP_RECV)
        on_recv(w, c, cqe);
    else if (op == OP_SEND)
        on_send(w, c, cqe->res);
    else if (op == OP_POLL)
        on_poll(w, c, cqe->res);
    else if (op == OP_WRITABLE)
        on_writable(w, c, cqe->res);
}

static int ur_wait(chopin_worker *w, int timeout_ms) {
    uring_state *s = w->backend;
    struct __kernel_timespec ts;
    struct __kernel_timespec *tsp = NULL;
    if (timeout_ms >= 0) {
        ts.tv_sec = timeout_ms / 1000;
        ts.tv_nsec = (long long)(timeout_ms % 1000) * 1000000;
        tsp = &ts;
    }
    int rc = submit_and_wait(s, tsp);
    return rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY ? rc : 0;
}

static void ur_dispatch(chopin_worker *w) {
    uring_state *s = w->backend;
    struct io_uring_cqe *cqe;
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&s->ring, head, cqe) {
        dispatch_one(w, cqe);
        seen++;
    }
    io_uring_cq_advance(&s->ring, seen);
    if (s->grow) {
        s->grow = 0;
        add_buffers(s, s->in_use * 2);
    }
    for (uint32_t i = 0; i < s->nrearm; i++) {
        chopin_conn *c = &w->conns[s->rearm[i]];
        if (chopin__conn_open_p(c) && !(c->io & IO_RECV_ARMED) && !(c->flags & CF_READ_PAUSED)) arm_recv(w, c);
    }
    s->nrearm = 0;
}

const chopin_backend_ops chopin__backend_uring = {
    .name = "io_uring",
    .init = ur_init,
    .destroy = ur_destroy,
    .accept_start = ur_accept_start,
    .accept_stop = ur_accept_stop,
    .conn_start = ur_conn_start,
    .read_pause = ur_read_pause,
    .read_resume = ur_read_resume,
    .send = ur_send,
    .send_file = ur_send_file,
    .cancel = ur_cancel,
    .wait = ur_wait,
    .dispatch = ur_dispatch,
};
