/* backend_uring.c - the completion backend on io_uring (liburing).
 *
 * Per worker: a ring created on the worker thread (SINGLE_ISSUER with
 * DEFER_TASKRUN where the kernel has them), a few accepts in flight, one
 * multishot recv per connection from a provided-buffer ring, at most one
 * send in flight per connection, and one io_uring_enter per loop turn.
 *
 * Accepts are single-shot, never more in flight than free connection slots:
 * a multishot accept takes the whole backlog in one burst, and whatever it
 * takes past the connection cap could only be closed, losing connections
 * that would otherwise have waited in the backlog.
 *
 * user_data layout: op (8 bits) << 56 | generation (24 bits) << 32 | slot.
 * A completion whose generation is not the slot's is for a connection that
 * is gone; it is ignored. A slot is freed only once nothing is in flight. */
#include "internal.h"

#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SQ_ENTRIES 1024
#define CQ_ENTRIES 8192
#define BUF_GROUP 0
#define MAX_ACCEPTS 8 /* accepts in flight at once */

enum { OP_ACCEPT = 1, OP_RECV, OP_SEND, OP_CANCEL, OP_WAKE };

typedef struct uring_state {
    struct io_uring ring;
    int ring_ok;
    struct io_uring_buf_ring *br;
    char *bufs;
    uint32_t nbufs; /* power of two (config uring_buffers) */
    uint32_t buf_size;
    uint64_t wake_val;
    uint32_t accepts_armed;
    uint32_t *rearm; /* connections whose multishot recv ended on ENOBUFS */
    uint32_t nrearm;
} uring_state;

static uint64_t ud(int op, const chopin_conn *c) {
    uint64_t v = (uint64_t)op << 56;
    if (c) v |= ((uint64_t)c->gen << 32) | c->idx;
    return v;
}

static struct io_uring_sqe *get_sqe(uring_state *s) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);
    if (!sqe) {
        /* SQ full: push what is queued and take a fresh entry. */
        io_uring_submit(&s->ring);
        sqe = io_uring_get_sqe(&s->ring);
    }
    return sqe;
}

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

static int setup_buffers(uring_state *s) {
    void *mem;
    if (posix_memalign(&mem, 4096, s->nbufs * sizeof(struct io_uring_buf)) != 0) return -ENOMEM;
    s->br = mem;
    s->bufs = malloc((size_t)s->nbufs * s->buf_size);
    if (!s->bufs) return -ENOMEM;
    struct io_uring_buf_reg reg;
    memset(&reg, 0, sizeof reg);
    reg.ring_addr = (unsigned long)s->br;
    reg.ring_entries = s->nbufs;
    reg.bgid = BUF_GROUP;
    int rc = io_uring_register_buf_ring(&s->ring, &reg, 0);
    if (rc < 0) return rc;
    io_uring_buf_ring_init(s->br);
    for (uint32_t i = 0; i < s->nbufs; i++)
        io_uring_buf_ring_add(s->br, s->bufs + (size_t)i * s->buf_size, s->buf_size, (unsigned short)i,
                              io_uring_buf_ring_mask(s->nbufs), (int)i);
    io_uring_buf_ring_advance(s->br, (int)s->nbufs);
    return 0;
}

static void arm_wake(chopin_worker *w) {
    uring_state *s = w->backend;
    struct io_uring_sqe *sqe = get_sqe(s);
    if (!sqe) return;
    io_uring_prep_read(sqe, w->wake_fd, &s->wake_val, sizeof s->wake_val, 0);
    io_uring_sqe_set_data64(sqe, ud(OP_WAKE, NULL));
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
    if (!s->rearm) return -ENOMEM;
    if ((rc = setup_buffers(s)) < 0) return rc;
    arm_wake(w);
    return 0;
}

static void ur_destroy(chopin_worker *w) {
    uring_state *s = w->backend;
    /* Tearing the ring down cancels whatever is still in flight. */
    if (s->ring_ok) io_uring_queue_exit(&s->ring);
    for (uint32_t i = 0; i < w->slab.cap && w->conns; i++) {
        chopin_conn *c = &w->conns[i];
        if (c->fd >= 0) close(c->fd);
        c->fd = -1;
    }
    free(s->br);
    free(s->bufs);
    free(s->rearm);
    free(s);
    w->backend = NULL;
}

static int ur_accept_start(chopin_worker *w) {
    uring_state *s = w->backend;
    if (w->listen_fd < 0) return 0;
    w->accepting = 1;
    /* Each accept in flight has a free slot waiting for it. */
    while (s->accepts_armed < MAX_ACCEPTS && s->accepts_armed < w->slab.nfree) {
        struct io_uring_sqe *sqe = get_sqe(s);
        if (!sqe) return -EBUSY;
        io_uring_prep_accept(sqe, w->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        io_uring_sqe_set_data64(sqe, ud(OP_ACCEPT, NULL));
        s->accepts_armed++;
    }
    return 0;
}

static void cancel_op(uring_state *s, uint64_t target, int flags) {
    struct io_uring_sqe *sqe = get_sqe(s);
    if (!sqe) return;
    io_uring_prep_cancel64(sqe, target, flags);
    io_uring_sqe_set_data64(sqe, ud(OP_CANCEL, NULL));
}

static void ur_accept_stop(chopin_worker *w) {
    uring_state *s = w->backend;
    w->accepting = 0;
    if (s->accepts_armed) cancel_op(s, ud(OP_ACCEPT, NULL), IORING_ASYNC_CANCEL_ALL);
}

static int arm_recv(chopin_worker *w, chopin_conn *c) {
    uring_state *s = w->backend;
    struct io_uring_sqe *sqe = get_sqe(s);
    if (!sqe) return -EBUSY;
    io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = BUF_GROUP;
    io_uring_sqe_set_data64(sqe, ud(OP_RECV, c));
    c->flags |= CF_RECV_ARMED;
    c->pending_ops++;
    return 0;
}

static int ur_conn_start(chopin_worker *w, chopin_conn *c) { return arm_recv(w, c); }

static void ur_read_pause(chopin_worker *w, chopin_conn *c) {
    /* Bytes already on their way still arrive; the connection keeps them. */
    if (c->flags & CF_RECV_ARMED) cancel_op(w->backend, ud(OP_RECV, c), 0);
}

static void ur_read_resume(chopin_worker *w, chopin_conn *c) {
    /* Still armed means the cancel has not landed: its completion re-arms. */
    if (!(c->flags & CF_RECV_ARMED)) arm_recv(w, c);
}

static int submit_send(chopin_worker *w, chopin_conn *c) {
    uring_state *s = w->backend;
    struct io_uring_sqe *sqe = get_sqe(s);
    if (!sqe) return -EBUSY;
    io_uring_prep_send(sqe, c->fd, c->tx.data + c->tx.off, c->tx.len - c->tx.off, MSG_WAITALL | MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, ud(OP_SEND, c));
    c->pending_ops++;
    return CHOPIN_SEND_PENDING;
}

static int ur_send(chopin_worker *w, chopin_conn *c) { return submit_send(w, c); }

static void ur_close(chopin_worker *w, chopin_conn *c) {
    uring_state *s = w->backend;
    if (c->flags & CF_RECV_ARMED) cancel_op(s, ud(OP_RECV, c), 0);
    if (c->flags & CF_SENDING) cancel_op(s, ud(OP_SEND, c), 0);
    shutdown(c->fd, SHUT_WR);
    close(c->fd); /* in-flight operations hold their own reference to the socket */
    c->fd = -1;
    if (c->pending_ops == 0) chopin__conn_release(w, c);
}

/* One operation of a closed connection finished: free the slot after the last. */
static void op_done_dead(chopin_worker *w, chopin_conn *c) {
    if (c->pending_ops == 0 && (c->flags & CF_DEAD)) chopin__conn_release(w, c);
}

static void return_buffer(uring_state *s, unsigned bid) {
    io_uring_buf_ring_add(s->br, s->bufs + (size_t)bid * s->buf_size, s->buf_size, (unsigned short)bid,
                          io_uring_buf_ring_mask(s->nbufs), 0);
    io_uring_buf_ring_advance(s->br, 1);
}

static void on_recv(chopin_worker *w, chopin_conn *c, struct io_uring_cqe *cqe) {
    uring_state *s = w->backend;
    int more = cqe->flags & IORING_CQE_F_MORE;
    if (!more) {
        c->flags &= ~CF_RECV_ARMED;
        c->pending_ops--;
    }
    if (cqe->flags & IORING_CQE_F_BUFFER) {
        unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
        if (cqe->res > 0 && (c->flags & CF_OPEN))
            chopin__conn_data(w, c, s->bufs + (size_t)bid * s->buf_size, (size_t)cqe->res);
        return_buffer(s, bid);
    } else if (cqe->res == 0) {
        chopin__conn_eof(w, c, 0);
    } else if (cqe->res == -ENOBUFS) {
        /* Not fatal: buffers come back as connections finish; re-arm after the batch. */
        CHOPIN_COUNT(w, recv_buffer_waits, 1);
        if ((c->flags & CF_OPEN) && !(c->flags & CF_RECV_ARMED)) s->rearm[s->nrearm++] = c->idx;
        if (!(c->flags & CF_DEAD)) return; /* a closed connection still needs its slot freed */
    } else if (cqe->res < 0 && cqe->res != -ECANCELED) {
        chopin__conn_eof(w, c, -cqe->res);
    }
    if (c->flags & CF_DEAD) {
        op_done_dead(w, c);
        return;
    }
    /* A multishot that ended while we still want bytes: start another. */
    if (!more && (c->flags & CF_OPEN) && !(c->flags & CF_RECV_ARMED) && !(c->flags & CF_READ_PAUSED) && cqe->res != 0)
        arm_recv(w, c);
}

static void on_send(chopin_worker *w, chopin_conn *c, int res) {
    c->pending_ops--;
    if (c->flags & CF_DEAD) {
        op_done_dead(w, c);
        return;
    }
    if (res < 0) {
        chopin__conn_sent(w, c, -res);
        return;
    }
    c->tx.off += (uint32_t)res;
    if (c->tx.off < c->tx.len) {
        /* A short send: the rest goes out next, nothing is lost. */
        c->timer = TK_NONE;
        submit_send(w, c);
        return;
    }
    chopin__conn_sent(w, c, 0);
}

static void on_accept(chopin_worker *w, struct io_uring_cqe *cqe) {
    uring_state *s = w->backend;
    s->accepts_armed--;
    if (cqe->res >= 0)
        chopin__worker_accepted(w, cqe->res);
    else if (cqe->res != -ECANCELED)
        chopin__worker_accept_failed(w, -cqe->res);
    if (w->accepting && !w->accept_retry_ms) ur_accept_start(w);
}

static void dispatch(chopin_worker *w, struct io_uring_cqe *cqe) {
    uint64_t data = io_uring_cqe_get_data64(cqe);
    int op = (int)(data >> 56);
    switch (op) {
    case OP_ACCEPT: on_accept(w, cqe); return;
    case OP_WAKE:
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
            return_buffer(w->backend, cqe->flags >> IORING_CQE_BUFFER_SHIFT);
        return;
    }
    if (op == OP_RECV)
        on_recv(w, c, cqe);
    else if (op == OP_SEND)
        on_send(w, c, cqe->res);
}

static int ur_run_once(chopin_worker *w, int timeout_ms) {
    uring_state *s = w->backend;
    struct io_uring_cqe *cqe;
    struct __kernel_timespec ts;
    struct __kernel_timespec *tsp = NULL;
    if (timeout_ms >= 0) {
        ts.tv_sec = timeout_ms / 1000;
        ts.tv_nsec = (long long)(timeout_ms % 1000) * 1000000;
        tsp = &ts;
    }
    int rc = io_uring_submit_and_wait_timeout(&s->ring, &cqe, 1, tsp, NULL);
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY) return rc;
    chopin__worker_refresh_clock(w);
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&s->ring, head, cqe) {
        dispatch(w, cqe);
        seen++;
    }
    io_uring_cq_advance(&s->ring, seen);
    for (uint32_t i = 0; i < s->nrearm; i++) {
        chopin_conn *c = &w->conns[s->rearm[i]];
        if ((c->flags & CF_OPEN) && !(c->flags & (CF_RECV_ARMED | CF_READ_PAUSED))) arm_recv(w, c);
    }
    s->nrearm = 0;
    return 0;
}

static void ur_wake(chopin_worker *w) {
    /* SINGLE_ISSUER rings refuse other threads: wake through the eventfd. */
    uint64_t one = 1;
    ssize_t r = write(w->wake_fd, &one, sizeof one);
    (void)r;
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
    .close = ur_close,
    .run_once = ur_run_once,
    .wake = ur_wake,
};
