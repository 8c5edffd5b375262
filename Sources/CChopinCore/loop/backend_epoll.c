/* backend_epoll.c - the readiness backend, made to look like completions.
 *
 * Level-triggered: one read per readiness event into the worker's read
 * buffer, handed to the connection as a completed receive; EPOLLOUT is
 * asked for only after a send met EAGAIN. The worker's eventfd wakes it
 * from other threads.
 *
 * Every epoll_ctl result is checked: a connection whose interest cannot be
 * changed would wait forever for an event that never comes, so the failure
 * goes back to the connection, which closes. */
#include "loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define READ_BUF 65536
#define MAX_EVENTS 256

/* epoll_event.data.u64: kind in the top byte, generation and slot below. */
#define TAG_LISTEN (1ull << 56)
#define TAG_WAKE (2ull << 56)
#define TAG_CONN (3ull << 56)
#define TAG_MASK (0xffull << 56)

/* c->io: this backend's own flags. */
enum { IO_OUT_ARMED = 1 << 0 }; /* EPOLLOUT asked for: a send is waiting for room */

typedef struct epoll_state {
    int ep;
    int nevents; /* from the last wait */
    char *rbuf;
    struct epoll_event events[MAX_EVENTS];
} epoll_state;

/* The three system calls of every request, without libc's wrappers: recv,
 * send and epoll_wait are cancellation points, and each wrapper turns
 * asynchronous cancellation on and off around its call (two more calls,
 * about 30 instructions, a third of what the wrapper costs) for a worker
 * thread that nothing ever cancels. syscall(2) makes the same call and sets
 * errno the same way. epoll_pwait with no mask is epoll_wait, and arm64
 * has only that one. */
static ssize_t sys_recv(int fd, void *buf, size_t len) { return syscall(SYS_recvfrom, fd, buf, len, 0, NULL, NULL); }
static ssize_t sys_send(int fd, const void *buf, size_t len, int flags) {
    return syscall(SYS_sendto, fd, buf, len, MSG_NOSIGNAL | flags, NULL, 0);
}
static int sys_epoll_wait(int ep, struct epoll_event *events, int max, int timeout_ms) {
    return (int)syscall(SYS_epoll_pwait, ep, events, max, timeout_ms, NULL, (size_t)8 /* the kernel's sigset */);
}

static uint64_t conn_tag(const chopin_conn *c) { return TAG_CONN | ((uint64_t)c->gen << 32) | c->idx; }

static int ep_init(chopin_worker *w) {
    epoll_state *s = calloc(1, sizeof *s);
    if (!s) return -ENOMEM;
    w->backend = s;
    s->ep = epoll_create1(EPOLL_CLOEXEC);
    if (s->ep < 0) return -errno;
    s->rbuf = malloc(READ_BUF);
    if (!s->rbuf) return -ENOMEM;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG_WAKE};
    if (epoll_ctl(s->ep, EPOLL_CTL_ADD, w->wake_fd, &ev) < 0) return -errno;
    return 0;
}

static void ep_destroy(chopin_worker *w) {
    epoll_state *s = w->backend;
    /* Nothing is in flight in the kernel: every operation was synchronous. */
    if (s->ep >= 0) close(s->ep);
    free(s->rbuf);
    free(s);
    w->backend = NULL;
}

static int ep_accept_start(chopin_worker *w) {
    epoll_state *s = w->backend;
    if (w->accepting || w->listen_fd < 0) return 0;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG_LISTEN};
    if (epoll_ctl(s->ep, EPOLL_CTL_ADD, w->listen_fd, &ev) < 0) return -errno;
    w->accepting = 1;
    return 0;
}

static void ep_accept_stop(chopin_worker *w) {
    epoll_state *s = w->backend;
    if (!w->accepting) return;
    w->accepting = 0;
    if (w->listen_fd >= 0 && epoll_ctl(s->ep, EPOLL_CTL_DEL, w->listen_fd, NULL) < 0) {
        /* Still registered: connections would be accepted past the cap. Say
         * so; the listener keeps working and the slab refuses what it cannot hold. */
        int err = errno;
        chopin__log("chopin: worker %u: cannot pause accepting: %s", w->id, strerror(err));
    }
}

static int update(chopin_worker *w, chopin_conn *c) {
    epoll_state *s = w->backend;
    uint32_t ev = 0;
    if (!(c->flags & CF_READ_PAUSED)) ev |= EPOLLIN;
    if (c->flags & CF_WATCH_HUP) ev |= EPOLLRDHUP;
    if (c->io & IO_OUT_ARMED) ev |= EPOLLOUT;
    struct epoll_event e = {.events = ev, .data.u64 = conn_tag(c)};
    return epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &e) < 0 ? -errno : 0;
}

static int ep_conn_start(chopin_worker *w, chopin_conn *c) {
    epoll_state *s = w->backend;
    c->io = 0;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = conn_tag(c)};
    return epoll_ctl(s->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0 ? -errno : 0;
}

static int ep_read_pause(chopin_worker *w, chopin_conn *c) { return update(w, c); }
static int ep_read_resume(chopin_worker *w, chopin_conn *c) { return update(w, c); }

/* EPOLLOUT is asked for only while bytes wait for room. */
static int want_out(chopin_worker *w, chopin_conn *c, int want) {
    if (want == !!(c->io & IO_OUT_ARMED)) return 0;
    c->io = (uint8_t)(want ? c->io | IO_OUT_ARMED : c->io & ~IO_OUT_ARMED);
    return update(w, c);
}

static long ep_send(chopin_worker *w, chopin_conn *c) {
    const char *p = c->tx.data + c->tx.off;
    size_t left = c->tx.len - c->tx.off;
    size_t done = 0;
    /* A file body follows these bytes (its head, CF_FILE): MSG_MORE holds
     * them for sendfile's first segment, so a client gets full segments
     * instead of a short one for the head (nginx corks for the same). */
    int more = (c->flags & CF_FILE) && c->file_left > 0 ? MSG_MORE : 0;
    while (done < left) {
        ssize_t n = sys_send(c->fd, p + done, left - done, more);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN) return -errno;
            break;
        }
        done += (size_t)n;
    }
    int rc = want_out(w, c, done < left);
    return rc < 0 ? rc : (long)done;
}

static long ep_send_file(chopin_worker *w, chopin_conn *c) {
    long done = chopin__file_sendfile_part(c);
    if (done < 0) return done;
    /* Short of the whole file (a full socket, or the turn's share): wait for room. */
    int rc = want_out(w, c, (uint64_t)done < c->file_left);
    return rc < 0 ? rc : done;
}

static int ep_cancel(chopin_worker *w, chopin_conn *c) {
    /* Closing the only descriptor also removes it from the epoll set. */
    (void)w;
    (void)c;
    return 0;
}

static void conn_ready(chopin_worker *w, chopin_conn *c, uint32_t events) {
    epoll_state *s = w->backend;
    if ((events & (EPOLLOUT | EPOLLERR)) && (c->io & IO_OUT_ARMED)) {
        chopin__conn_send_ready(w, c, 0);
        if (!chopin__conn_open_p(c)) return;
    }
    if ((events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && (c->flags & CF_WATCH_HUP)) {
        chopin__conn_hangup(w, c);
        return;
    }
    if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !(c->flags & CF_READ_PAUSED)) {
        ssize_t n = sys_recv(c->fd, s->rbuf, READ_BUF);
        if (n > 0) {
            chopin__conn_data(w, c, s->rbuf, (size_t)n);
        } else if (n == 0) {
            chopin__conn_eof(w, c, 0);
        } else {
            int err = errno;
            if (err != EAGAIN && err != EINTR) chopin__conn_eof(w, c, err);
        }
    } else if ((events & (EPOLLHUP | EPOLLERR)) && !(c->io & IO_OUT_ARMED)) {
        /* Reads are paused and nothing is being sent: nobody would notice. */
        chopin__conn_close(w, c);
    }
}

static int ep_wait(chopin_worker *w, int timeout_ms) {
    epoll_state *s = w->backend;
    int n = sys_epoll_wait(s->ep, s->events, MAX_EVENTS, timeout_ms);
    if (n < 0) {
        int err = errno;
        s->nevents = 0;
        return err == EINTR ? 0 : -err;
    }
    s->nevents = n;
    return 0;
}

static void ep_dispatch(chopin_worker *w) {
    epoll_state *s = w->backend;
    for (int i = 0; i < s->nevents; i++) {
        uint64_t tag = s->events[i].data.u64;
        switch (tag & TAG_MASK) {
        case TAG_LISTEN: chopin__worker_accept_ready(w); break;
        case TAG_WAKE: {
            uint64_t v;
            ssize_t r = read(w->wake_fd, &v, sizeof v); /* drains it: level-triggered */
            (void)r;
            chopin__worker_wake_event(w);
            break;
        }
        case TAG_CONN: {
            chopin_conn *c = chopin__conn_lookup(w, (uint32_t)tag, (uint32_t)(tag >> 32) & 0xffffffu);
            if (c && chopin__conn_open_p(c)) conn_ready(w, c, s->events[i].events);
            break;
        }
        }
    }
    s->nevents = 0;
}

const chopin_backend_ops chopin__backend_epoll = {
    .name = "epoll",
    .init = ep_init,
    .destroy = ep_destroy,
    .accept_start = ep_accept_start,
    .accept_stop = ep_accept_stop,
    .conn_start = ep_conn_start,
    .read_pause = ep_read_pause,
    .read_resume = ep_read_resume,
    .send = ep_send,
    .send_file = ep_send_file,
    .cancel = ep_cancel,
    .wait = ep_wait,
    .dispatch = ep_dispatch,
};
