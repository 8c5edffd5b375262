/* backend_epoll.c - the readiness backend, made to look like completions.
 *
 * Level-triggered: one read per readiness event into the worker's read
 * buffer, handed to the connection as a completed receive; EPOLLOUT is
 * asked for only after a send met EAGAIN. The worker's eventfd wakes it
 * from other threads. */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_BUF 65536
#define MAX_EVENTS 256
#define ACCEPT_BATCH 64

/* epoll_event.data.u64: kind in the top byte, generation and slot below. */
#define TAG_LISTEN (1ull << 56)
#define TAG_WAKE (2ull << 56)
#define TAG_CONN (3ull << 56)
#define TAG_MASK (0xffull << 56)

typedef struct epoll_state {
    int ep;
    char *rbuf;
    struct epoll_event events[MAX_EVENTS];
} epoll_state;

static uint64_t conn_tag(const chopin_conn *c) { return TAG_CONN | ((uint64_t)c->gen << 32) | c->idx; }

static int ep_init(chopin_worker *w) {
    epoll_state *s = calloc(1, sizeof *s);
    if (!s) return -ENOMEM;
    s->ep = epoll_create1(EPOLL_CLOEXEC);
    s->rbuf = malloc(READ_BUF);
    w->backend = s;
    if (s->ep < 0 || !s->rbuf) return s->ep < 0 ? -errno : -ENOMEM;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG_WAKE};
    if (epoll_ctl(s->ep, EPOLL_CTL_ADD, w->wake_fd, &ev) < 0) return -errno;
    return 0;
}

static void ep_destroy(chopin_worker *w) {
    epoll_state *s = w->backend;
    /* Whatever is still open goes now (deadline passed or start failed). */
    for (uint32_t i = 0; i < w->slab.cap && w->conns; i++) {
        chopin_conn *c = &w->conns[i];
        if (c->fd >= 0) close(c->fd);
        c->fd = -1;
    }
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
    if (w->listen_fd >= 0) epoll_ctl(s->ep, EPOLL_CTL_DEL, w->listen_fd, NULL);
    w->accepting = 0;
}

static int interest(const chopin_conn *c) {
    uint32_t ev = 0;
    if (!(c->flags & CF_READ_PAUSED)) ev |= EPOLLIN;
    if (c->flags & CF_SENDING) ev |= EPOLLOUT;
    return (int)ev;
}

static void update(chopin_worker *w, chopin_conn *c) {
    epoll_state *s = w->backend;
    struct epoll_event ev = {.events = (uint32_t)interest(c), .data.u64 = conn_tag(c)};
    epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static int ep_conn_start(chopin_worker *w, chopin_conn *c) {
    epoll_state *s = w->backend;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = conn_tag(c)};
    return epoll_ctl(s->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0 ? -errno : 0;
}

static void ep_read_pause(chopin_worker *w, chopin_conn *c) { update(w, c); }
static void ep_read_resume(chopin_worker *w, chopin_conn *c) { update(w, c); }

/* Writes as much of tx as the socket takes. 1: all of it, 0: EAGAIN, -errno. */
static int write_some(chopin_conn *c) {
    while (c->tx.off < c->tx.len) {
        ssize_t n = send(c->fd, c->tx.data + c->tx.off, c->tx.len - c->tx.off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) return 0;
            return -errno;
        }
        c->tx.off += (uint32_t)n;
    }
    return 1;
}

static int ep_send(chopin_worker *w, chopin_conn *c) {
    int rc = write_some(c);
    if (rc == 0) {
        update(w, c); /* CF_SENDING is set: ask for EPOLLOUT */
        return CHOPIN_SEND_PENDING;
    }
    return rc > 0 ? CHOPIN_SEND_DONE : rc;
}

static void ep_close(chopin_worker *w, chopin_conn *c) {
    /* Closing the only descriptor also removes it from the epoll set. If
     * the peer still sends, shutting down writes first lets the last
     * response arrive ahead of the FIN. */
    shutdown(c->fd, SHUT_WR);
    close(c->fd);
    c->fd = -1;
    chopin__conn_release(w, c);
}

static void accept_ready(chopin_worker *w) {
    for (int i = 0; i < ACCEPT_BATCH && w->accepting; i++) {
        int fd = accept4(w->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno != EAGAIN) chopin__worker_accept_failed(w, errno);
            return;
        }
        chopin__worker_accepted(w, fd);
    }
}

static void conn_ready(chopin_worker *w, chopin_conn *c, uint32_t events) {
    epoll_state *s = w->backend;
    if ((events & EPOLLOUT) && (c->flags & CF_SENDING)) {
        int rc = write_some(c);
        if (rc != 0) {
            c->flags &= ~CF_SENDING;
            if (rc > 0) update(w, c);
            chopin__conn_sent(w, c, rc < 0 ? -rc : 0);
            if (!(c->flags & CF_OPEN)) return;
        }
    }
    if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !(c->flags & CF_READ_PAUSED)) {
        ssize_t n = recv(c->fd, s->rbuf, READ_BUF, 0);
        if (n > 0)
            chopin__conn_data(w, c, s->rbuf, (size_t)n);
        else if (n == 0)
            chopin__conn_eof(w, c, 0);
        else if (errno != EAGAIN && errno != EINTR)
            chopin__conn_eof(w, c, errno);
    } else if ((events & (EPOLLHUP | EPOLLERR)) && !(c->flags & CF_SENDING)) {
        chopin__conn_close(w, c);
    }
}

static int ep_run_once(chopin_worker *w, int timeout_ms) {
    epoll_state *s = w->backend;
    int n = epoll_wait(s->ep, s->events, MAX_EVENTS, timeout_ms);
    if (n < 0) return errno == EINTR ? 0 : -errno;
    chopin__worker_refresh_clock(w);
    for (int i = 0; i < n; i++) {
        uint64_t tag = s->events[i].data.u64;
        switch (tag & TAG_MASK) {
        case TAG_LISTEN: accept_ready(w); break;
        case TAG_WAKE: {
            uint64_t v;
            ssize_t r = read(w->wake_fd, &v, sizeof v);
            (void)r;
            chopin__worker_wake_event(w);
            break;
        }
        case TAG_CONN: {
            chopin_conn *c = chopin__conn_lookup(w, (uint32_t)tag, (uint32_t)(tag >> 32) & 0xffffffu);
            if (c && (c->flags & CF_OPEN)) conn_ready(w, c, s->events[i].events);
            break;
        }
        }
    }
    return 0;
}

static void ep_wake(chopin_worker *w) {
    uint64_t one = 1;
    ssize_t r = write(w->wake_fd, &one, sizeof one);
    (void)r;
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
    .close = ep_close,
    .run_once = ep_run_once,
    .wake = ep_wake,
};
