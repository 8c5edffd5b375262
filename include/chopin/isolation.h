/* isolation.h - worker processes under a supervisor, so that a handler that
 * traps (a force-unwrapped nil, fatalError, SIGSEGV) costs one worker for a
 * few milliseconds instead of the whole server.
 *
 * With config.isolation = CHOPIN_ISOLATION_PROCESSES, chopin_server_start
 * in the program as started becomes the supervisor: it opens one
 * SO_REUSEPORT listener per worker slot, maps the shared counters, and
 * starts each worker by executing the same program again (never fork()
 * after threads exist) with the worker's identity in its environment
 * (CHOPIN_WORKER and the inherited descriptors). In the worker, the program
 * runs from main again, and its chopin_server_start sees that environment
 * and becomes worker N on the supervisor's listener. So the program must
 * reach chopin_server_start the same way in every process, with the same
 * handler; whatever it does before runs in every worker too.
 *
 * The supervisor restarts a worker that dies (any signal, any exit) at
 * once, with backoff when it keeps dying young, and logs the death once:
 * the signal or exit status, the worker, the request whose handler was
 * running (see chopin_response_handling) and the last "Fatal error" line
 * the worker wrote to standard error (which the supervisor forwards).
 * SIGTERM/SIGINT stop every worker gracefully; SIGHUP rolls them one at a
 * time (see chopin_server_roll), as SIGUSR2 does, except with TLS, where
 * SIGHUP reloads the certificate (chopin_server_tls_reload); a worker whose
 * supervisor is gone stops. */
#ifndef CHOPIN_ISOLATION_H
#define CHOPIN_ISOLATION_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "chopin/http.h"
#include "chopin/response.h"
#include "chopin/server.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when this process was started by a supervisor as one of its workers
 * (and has not become that worker yet), else 0. */
int chopin_is_worker_process(void);

/* 1 when srv is a supervisor (processes mode, in the program as started). */
int chopin_server_is_supervisor(const chopin_server *srv);

/* Begins a rolling restart: one worker at a time, a replacement is started
 * (from the executable now on disk at the program's path) and serves before
 * its predecessor drains. Safe from a signal handler. -1 unless srv is a
 * supervisor. */
int chopin_server_roll(chopin_server *srv);

/* 1 while a rolling restart is under way or asked for. */
int chopin_server_rolling(const chopin_server *srv);

/* How the last rolling restart went, readable from any process of the
 * server (the supervisor writes it in the shared slots). A replacement
 * that exits, dies or does not serve within worker_start_timeout_ms is a
 * failed step: it is stopped, its predecessor keeps serving, no later slot
 * is touched, the slot's rolling_restart_failures counter goes up, and
 * reason says why (the worker, its exit status or signal, its last "Fatal
 * error" line). A later roll (another SIGHUP) starts from the first slot. */
enum { CHOPIN_ROLL_NONE, CHOPIN_ROLL_RUNNING, CHOPIN_ROLL_SUCCEEDED, CHOPIN_ROLL_FAILED };
typedef struct chopin_roll_status {
    int state;            /* CHOPIN_ROLL_...; NONE without a supervisor or before the first roll */
    uint32_t replaced;    /* workers the last roll replaced (all of them when it succeeded) */
    uint64_t failed_rolls; /* rolls that failed since the server started */
    char reason[232];     /* why the last roll failed ("" otherwise) */
} chopin_roll_status;
void chopin_server_roll_status(const chopin_server *srv, chopin_roll_status *out);

/* The pid of the process serving worker slot `worker` now (0 while it is
 * being restarted); getpid() in threads mode. */
pid_t chopin_server_worker_pid(const chopin_server *srv, uint32_t worker);

/* Records, in the worker's shared slot, that a handler for req runs now
 * for the route pattern route[0..route_len) (truncated to 100 bytes), so
 * that the supervisor can name it if the worker dies; handled clears it.
 * A few stores: cheap enough for every request. */
void chopin_response_handling(chopin_response *res, const chopin_request *req, const char *route, size_t route_len);

/* The same, for a route name whose bytes stay where they are, unchanged,
 * for as long as the server runs (a router's own copy, say): a worker that
 * answers the same route and method again does not copy them again. */
void chopin_response_handling_static(chopin_response *res, const chopin_request *req, const char *route,
                                     size_t route_len);
void chopin_response_handled(chopin_response *res);

/* The same for an async handler, whose code runs between other requests'
 * handlers: handling when its task is started (from the synchronous
 * handler), handled when it ends, both on the worker's thread (elsewhere
 * they do nothing). The worker's record keeps how many are in flight and
 * the first few by name. */
void chopin_deferred_handling_async(chopin_deferred *d, const char *method, size_t method_len, const char *route,
                                    size_t route_len);
void chopin_deferred_handled_async(chopin_deferred *d);

/* The worker's thread runs d's async handler's code now (a job of its
 * task), or, with d NULL, no async handler's: called by the executor that
 * runs those jobs where it switches from one handler to another, so that a
 * worker that dies inside one is logged with that handler's route. A
 * worker that dies while no handler runs on its thread is logged with the
 * async handlers in flight. Worker thread only (elsewhere it does nothing). */
void chopin_worker_running_async(chopin_worker *w, const chopin_deferred *d);

/* 1 once srv's drain period (chopin_server_drain) or graceful stop has
 * begun, else 0: what a readiness route answers 503 on, so that a balancer
 * stops sending. With worker processes every worker sees the supervisor's
 * drain (the flag is in the shared slots). */
int chopin_server_draining(const chopin_server *srv);

#ifdef __cplusplus
}
#endif
#endif
