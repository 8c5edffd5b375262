/* process.h - the process floor: a server's start and stop and its worker
 * threads (server.c), its configuration and listeners (listen.c), worker
 * processes under a supervisor (supervisor.c, spawn.c, worker_env.c), the
 * slots they share (shm.c), signals (signals.c), certificate reloads
 * (tls_reload.c) and the metrics readers (metrics.c). It calls down into the loop floor to run workers; nothing
 * below calls it.
 *
 * Within the floor, calls go one way: metrics.c calls server.c; server.c
 * calls listen.c, supervisor.c, worker_env.c, shm.c, signals.c and
 * tls_reload.c; signals.c calls supervisor.c; supervisor.c calls spawn.c,
 * worker_env.c, shm.c and tls_reload.c; spawn.c calls worker_env.c. */
#ifndef CHOPIN_PROCESS_H
#define CHOPIN_PROCESS_H

#include <stdio.h>
#include <sys/types.h>

#include "../loop/loop.h"

/* One worker slot's shared state (shm.c). In threads mode it is plain
 * memory; in processes mode it lives in the supervisor's MAP_SHARED region,
 * so counters outlive a worker and any worker reads every slot. Two blocks:
 * during a rolling restart the replacement counts in the block its
 * predecessor does not use, so each block keeps a single writer. */
#define CHOPIN_SLOT_BLOCKS 2
typedef struct chopin_slot {
    chopin_worker_metrics blocks[CHOPIN_SLOT_BLOCKS];
    /* Per block: the request whose handler runs now (method and route
     * pattern), or handling 0: written by the worker before and after each
     * handler, read by the supervisor after the worker died. */
    chopin_handling now[CHOPIN_SLOT_BLOCKS];
    /* Written by the supervisor only. */
    uint64_t restarts __attribute__((aligned(CHOPIN_CACHELINE)));
    uint64_t roll_failures; /* replacements of a rolling restart that never served */
    /* The pid of the worker process that serves now: its own store once it
     * accepts, which is what the supervisor waits for. */
    int32_t _Atomic ready_pid;
} __attribute__((aligned(CHOPIN_CACHELINE))) chopin_slot;

/* Writes the error message into err (err_len bytes) and returns -1 from
 * the function it is used in. */
#define FAIL(...)                                                                                                      \
    do {                                                                                                               \
        snprintf(err, err_len, __VA_ARGS__);                                                                           \
        return -1;                                                                                                     \
    } while (0)

/* listen.c. port_in_use: whether a plain bind (no SO_REUSEPORT) to the
 * configured host and port fails with EADDRINUSE, another process being on
 * it; open_listener: an SO_REUSEPORT listener on port (0: any), its port in
 * *bound (-1 and err); bound_port: the port socket fd is bound to (-1 when
 * fd is no socket). */
int chopin__port_in_use(const chopin_config *c, uint16_t port);
int chopin__open_listener(const chopin_config *c, uint16_t port, uint16_t *bound, char *err, size_t err_len);
int chopin__bound_port(int fd, uint16_t *port);

/* The server's slots, for the readers in metrics.c (server.c). */
const chopin_slot *chopin__server_slots(const chopin_server *s, uint32_t *count);

/* The last rolling restart, written by the supervisor alone and read by
 * any process (chopin_server_roll_status): seq is odd while a write is
 * under way, so a reader copies until it sees the same even seq twice. */
typedef struct chopin_roll_record {
    uint32_t _Atomic seq;
    int32_t state;
    uint32_t replaced;
    uint64_t failed_rolls;
    char reason[232];
} chopin_roll_record;
void chopin__roll_record_write(chopin_roll_record *r, int state, uint32_t replaced, int failed, const char *reason);
void chopin__roll_record_read(const chopin_roll_record *r, chopin_roll_status *out);

/* ---- worker slots, the supervisor, signals ----------------------------------
 * shm.c: the slots, plain memory (threads) or a MAP_SHARED memfd region the
 * supervisor creates and its workers map (processes). */
typedef struct chopin_slots {
    chopin_slot *slot;
    chopin_roll_record *roll; /* in the region's head */
    uint32_t _Atomic *draining; /* in the region's head: the server's drain period has begun */
    uint32_t _Atomic *tls_reloads; /* in the region's head: certificate reloads (chopin__tls_reload_all) */
    chopin_tls_ticket_keys *tickets; /* in the region's head: TLS session ticket keys of every process */
    uint32_t count;
    /* Per-route cells after the slots: per slot, per block, routes x
     * CHOPIN_STATUS_CLASSES (chopin__slot_route_cells). */
    chopin_route_cell *route_cells;
    uint32_t routes;
    void *base; /* the mapping or allocation */
    size_t len;
    int fd; /* the memfd (the supervisor), -1 (plain memory) or -2 (a worker's mapping) */
} chopin_slots;
int chopin__slots_alloc(chopin_slots *out, uint32_t count, uint32_t routes, int shared);
/* The certificate loaded again (SIGHUP, chopin_server_tls_reload): tls
 * first, which checks it (-1 and the reason: nothing changes), then every
 * worker process that maps slots, which reloads its own at its next
 * accept. Logs the outcome. */
int chopin__tls_reload_all(chopin_tls *tls, const chopin_slots *slots, char *err, size_t err_len);
/* The route cells of one block of one slot (NULL when no route is counted). */
chopin_route_cell *chopin__slot_route_cells(const chopin_slots *s, uint32_t slot, uint32_t block);
int chopin__slots_map(chopin_slots *out, int fd, char *err, size_t err_len);
void chopin__slots_free(chopin_slots *s);
/* The server's slot region, for the per-route readers in metrics.c (server.c). */
const chopin_slots *chopin__server_slot_region(const chopin_server *s);
/* What a dead worker's record says it was running, for the supervisor's
 * log ("while handling GET /route", or which async handlers were in
 * flight); clear resets it for the block's next process. */
void chopin__handling_describe(const chopin_handling *h, char *out, size_t len);
void chopin__handling_clear(chopin_handling *h);

/* What a worker process finds in its environment (worker_env.c). */
typedef struct chopin_worker_identity {
    char host[64];   /* which of the program's servers: its configured host and port */
    uint32_t port;
    uint32_t slot, count, block; /* worker slots slot..slot+count-1, counting in block */
    int listen_fd, shm_fd;       /* the first of count listeners, and the shared slots */
    pid_t supervisor;
} chopin_worker_identity;
/* Where a worker process finds the shared slots and its listeners (one per
 * worker slot it serves, from 4 up). */
#define WORKER_SLOTS_FD 3
#define WORKER_FIRST_LISTEN_FD 4
/* 1 and *id when this process is a worker, 0 when not, -1 with err when
 * the variables are malformed. id->host and id->port (as configured, 0
 * included) say which of the program's servers is this worker's:
 * chopin__worker_identity_taken removes the variable once that one took
 * the role (the program's own children are no workers). */
int chopin__worker_identity(chopin_worker_identity *id, char *err, size_t err_len);
void chopin__worker_identity_taken(void);
/* The environment of a worker: the supervisor's, with the worker's identity
 * (written into identity), and Swift's crash backtracer off unless the user
 * set it. A calloc'd array over the supervisor's strings; NULL without memory. */
char **chopin__worker_env(const chopin_config *cfg, uint32_t slot, uint32_t count, uint32_t block, char *identity,
                          size_t identity_len);
/* The program's own arguments (/proc/self/cmdline), to start each worker
 * with the same ones: *cmdline holds them, *argv points into it (both
 * malloc'd). 0, or -1. */
int chopin__read_cmdline(char **cmdline, char ***argv);

typedef struct chopin_supervisor chopin_supervisor;
/* Starts every worker process and returns once all of them serve: one per
 * slot (isolation processes) or one for all slots (shared_process). Takes
 * listen_fds (one per slot, each numbered above WORKER_FIRST_LISTEN_FD plus
 * the slot count) and slots. NULL with err on failure. */
chopin_supervisor *chopin__supervisor_start(const chopin_config *cfg, const int *listen_fds, const chopin_slots *slots,
                                            char *err, size_t err_len);
void chopin__supervisor_stop(chopin_supervisor *sv); /* safe in a signal handler */
int chopin__supervisor_roll(chopin_supervisor *sv);  /* safe in a signal handler */
int chopin__supervisor_rolling(const chopin_supervisor *sv);
pid_t chopin__supervisor_pid(const chopin_supervisor *sv, uint32_t slot);
/* After a stop: waits until every worker process is gone, then frees sv. */
void chopin__supervisor_wait(chopin_supervisor *sv);
/* A second stop signal: every worker process is killed at once (signal handler). */
void chopin__supervisor_kill_all(void);
/* SIGHUP with config.leave_signals (signal handler): counts it; each live
 * supervisor sees the count change within ROLL_POLL_MS and rolls. Touches
 * no supervisor's memory, which may be being freed. 0 when no supervisor
 * is live. */
int chopin__supervisor_hup_seen(void);
/* SIGUSR2 with config.leave_signals: the same, always a rolling restart
 * (SIGHUP is a certificate reload for a server with TLS). */
int chopin__supervisor_roll_asked(void);

/* signals.c: SIGINT/SIGTERM (and SIGHUP for a supervisor) through a handler
 * and a pipe, so whichever thread the kernel picks, the waiter sees it. */
enum {
    CHOPIN_SIGNALS_SERVER,
    CHOPIN_SIGNALS_SUPERVISOR,
    CHOPIN_SIGNALS_WORKER,
    CHOPIN_SIGNALS_ROLL_ONLY,
    CHOPIN_SIGNALS_WORKER_OF_PROGRAM,
};
/* With config.leave_signals the program takes SIGINT and SIGTERM itself.
 * CHOPIN_SIGNALS_ROLL_ONLY, its supervisor: only SIGHUP and SIGUSR2, where
 * the program has no handler for them, which ask every live supervisor for
 * a rolling restart (chopin__supervisor_hup_seen, chopin__supervisor_roll_asked;
 * SIGHUP reloads the certificate instead for a server with TLS). CHOPIN_SIGNALS_WORKER_OF_PROGRAM,
 * its worker process: SIGINT (Ctrl-C reaches the whole process group) and
 * an unclaimed SIGHUP or SIGUSR2 are the supervisor's, ignored here; SIGTERM, the
 * supervisor's stop, stays the program's. */
void chopin__signals_install(int role);
/* A worker process's supervisor: the only sender whose SIGTERM stops it
 * (CHOPIN_SIGNALS_WORKER); call before installing. */
void chopin__signals_worker_of(pid_t supervisor);
/* Blocks until a signal arrives; returns it. */
int chopin__signals_wait(void);
/* Worker threads without a supervisor: SIGHUP and SIGUSR2, where nothing
 * else took them (their action is still the default, which ends the
 * process), no longer end it. SIGHUP writes one line saying there is
 * nothing to reload, or, for a server with TLS (tls), asks for the
 * certificate's reload: it adds one to chopin__threads_tls_reloads, which
 * the workers follow before their next connection (a waiter, once
 * chopin_server_await_signal runs, reloads at once instead). SIGUSR2 says
 * there are no worker processes to restart. */
void chopin__signals_hup_harmless(int tls);
extern uint32_t _Atomic chopin__threads_tls_reloads;
/* What SIGHUP says with worker threads, from that handler or the waiter. */
#define CHOPIN_HUP_NOTHING_TO_RELOAD                                                                                   \
    "chopin: SIGHUP: worker threads in one process have nothing to reload "                                           \
    "(a rolling restart needs worker processes); serving on"

#endif
