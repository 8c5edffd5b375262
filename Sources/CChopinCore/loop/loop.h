/* loop.h - the loop floor: one event loop per worker thread over an I/O
 * backend (io_uring or epoll), accepting connections and reporting what
 * happens to them to the connection floor (conn/), which it calls down
 * into. The backends implement conn.h's chopin_backend_ops; the worker
 * owns what they share (the wake-up eventfd, the listener, the clock).
 *
 *   worker.c          the thread: set-up, the loop, timers, accepting, the stop
 *   backend_epoll.c   readiness, made to look like completions
 *   backend_uring.c   completions from io_uring (liburing) */
#ifndef CHOPIN_LOOP_H
#define CHOPIN_LOOP_H

#include "../conn/conn.h"

extern const chopin_backend_ops chopin__backend_epoll;
extern const chopin_backend_ops chopin__backend_uring;
/* Tries to set up a small ring: 0, or the -errno that refuses io_uring here. */
int chopin__uring_probe(void);
/* io_uring operations a worker left behind in flight when it ended (tests read it; 0 is right). */
extern uint64_t _Atomic chopin__uring_abandoned_ops;

/* Called by the backends. accept_ready: the listener is readable; accepts
 * in user space (accept4, non-blocking) a batch at most, while the worker
 * accepts (it stops once the slab is full), errors going to accept_failed;
 * EAGAIN ends it quietly. Both backends accept this way. wake_event: the
 * wake-up eventfd fired (a stop asked for, deferrals finished elsewhere). */
void chopin__worker_accept_failed(chopin_worker *w, int err);
void chopin__worker_accept_ready(chopin_worker *w);
void chopin__worker_wake_event(chopin_worker *w);

/* The worker's state without a thread or a backend: what a test of the
 * connection floor needs (with a fake ops table), and the first half of a
 * real worker's start. */
int chopin__worker_setup(chopin_worker *w);
void chopin__worker_teardown(chopin_worker *w);
void chopin__worker_refresh_clock(chopin_worker *w);
/* The thread's body (process floor's server.c starts it). */
void *chopin__worker_main(void *arg);

#endif
