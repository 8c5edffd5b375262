/* server.c - a server's start and stop: its listeners (listen.c), worker
 * threads, supervisor, drain and wait.
 *
 * The server knows no HTTP: it binds one SO_REUSEPORT listener per worker,
 * picks the backend, starts the threads and waits for them. With a
 * supervisor (isolation processes or shared_process) the program as
 * started becomes the supervisor (supervisor.c) and each worker process
 * runs its worker threads here on the listeners and slots it inherited:
 * one with processes, all of them with shared_process. */
#include "process.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* After the stop's deadline, how long chopin_server_wait waits for a
 * worker thread before it gives up on it (one stuck in a handler). */
#define JOIN_GRACE_MS 250

struct chopin_server {
    chopin_config cfg;
    char host[64]; /* the caller's string need not outlive start */
    uint32_t nworkers; /* threads in this process */
    chopin_worker *workers;
    chopin_slots slots; /* one per worker slot: counters, request record */
    int *listeners;     /* the server's own reference to each listener (threads, supervisor) */
    uint32_t nlisteners;
    uint16_t port;
    const chopin_backend_ops *ops;
    char backend_reason[160];
    sem_t started;               /* each worker posts once its set-up is done */
    sem_t gate;                  /* a worker process's threads wait here to serve (see start_worker_process) */
    int gated;
    /* Its holders: the caller until chopin_server_wait, and each worker
     * thread until it ends. The last one frees it: the caller, unless it
     * gave up on a thread, which then frees it when it ends. */
    uint32_t _Atomic refs;
    int worker_process;          /* this process is one of a supervisor's workers */
    int dormant;                 /* in another server's worker process: it serves nothing here */
    chopin_supervisor *sup;      /* this process is the supervisor */
    uint64_t _Atomic stop_at_ms; /* when chopin_server_stop was first called (monotonic), 0 before */
    uint32_t _Atomic adopt_next; /* the worker the next chopin_server_adopt hands its connection to */
};

static int allowed_cpus(int *cpus, int max) {
    cpu_set_t set;
    int n = 0;
    if (sched_getaffinity(0, sizeof set, &set) < 0) return 0;
    for (int i = 0; i < CPU_SETSIZE && n < max; i++)
        if (CPU_ISSET(i, &set)) cpus[n++] = i;
    return n;
}

/* Decides the backend once, before the workers start, and says why. */
static const chopin_backend_ops *choose_backend(chopin_server *s, char *err, size_t err_len) {
    chopin_backend_kind kind = s->cfg.backend;
    const char *env = getenv("CHOPIN_BACKEND");
    const char *why = "configured";
    if (env && *env) {
        if (chopin_backend_parse(env, &kind) < 0) {
            snprintf(err, err_len, "CHOPIN_BACKEND='%s': expected auto, uring or epoll", env);
            return NULL;
        }
        why = "CHOPIN_BACKEND";
    }
    if (kind == CHOPIN_BACKEND_EPOLL) {
        snprintf(s->backend_reason, sizeof s->backend_reason, "epoll (%s)", why);
        return &chopin__backend_epoll;
    }
    int rc = chopin__uring_probe();
    if (rc == 0) {
        snprintf(s->backend_reason, sizeof s->backend_reason, "io_uring (%s)",
                 kind == CHOPIN_BACKEND_AUTO ? "auto: the kernel allows it" : why);
        return &chopin__backend_uring;
    }
    if (kind == CHOPIN_BACKEND_URING) {
        snprintf(err, err_len, "io_uring was asked for (%s) but cannot be set up here: %s%s", why, strerror(-rc),
                 rc == -EPERM || rc == -EACCES ? " (refused by a seccomp profile or kernel.io_uring_disabled)" : "");
        return NULL;
    }
    snprintf(s->backend_reason, sizeof s->backend_reason, "epoll (auto: io_uring unavailable: %s)", strerror(-rc));
    return &chopin__backend_epoll;
}

/* A worker finished its set-up (w->init_rc says how). */
static void worker_started(void *arg) { sem_post(arg); }

/* The same in a worker process, whose threads then wait at the gate: none
 * serves before the process has said it serves. */
static void worker_started_gated(void *arg) {
    chopin_server *s = arg;
    sem_post(&s->started);
    while (sem_wait(&s->gate) < 0 && errno == EINTR) {
    }
}

static void open_gate(chopin_server *s, uint32_t threads) {
    for (uint32_t i = 0; i < threads; i++) sem_post(&s->gate);
}

static uint64_t monotonic_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void server_free(chopin_server *s);

/* Drops one hold on s (see refs); the last frees it. */
static void server_release(chopin_server *s) {
    if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1) server_free(s);
}

static void worker_ended(void *arg) { server_release(arg); }

static void server_free(chopin_server *s) {
    for (uint32_t i = 0; s->workers && i < s->nworkers; i++) {
        chopin_worker *w = &s->workers[i];
        if (w->listen_fd >= 0) close(w->listen_fd);
        if (w->wake_fd >= 0) close(w->wake_fd);
        for (uint32_t k = 0; k < w->nadopted; k++) close(w->adopted[k]); /* handed over, never taken */
        free(w->adopted);
        pthread_mutex_destroy(&w->adopt_lock);
    }
    for (uint32_t i = 0; s->listeners && i < s->nlisteners; i++)
        if (s->listeners[i] >= 0) close(s->listeners[i]);
    sem_destroy(&s->started);
    sem_destroy(&s->gate);
    chopin__slots_free(&s->slots);
    free(s->listeners);
    free(s->workers);
    free(s);
}

/* Opens n listeners on one port (with port 0 the first picks it). For a
 * supervisor each is numbered above WORKER_FIRST_LISTEN_FD + n: it moves
 * them to WORKER_FIRST_LISTEN_FD and up in its workers, and no move may
 * overwrite a listener still to be moved. */
static int open_listeners(chopin_server *s, uint32_t n, char *err, size_t err_len) {
    s->listeners = malloc(sizeof *s->listeners * n);
    if (!s->listeners) FAIL("out of memory");
    uint16_t port = s->cfg.port;
    if (port != 0 && chopin__port_in_use(&s->cfg, port))
        FAIL("cannot listen on %s:%u: the address is already in use by another socket", s->cfg.host, port);
    for (; s->nlisteners < n; s->nlisteners++) {
        int fd = chopin__open_listener(&s->cfg, port, &port, err, err_len);
        if (fd < 0) return -1;
        if (s->cfg.isolation != CHOPIN_ISOLATION_THREADS) {
            int high = fcntl(fd, F_DUPFD_CLOEXEC, (int)(WORKER_FIRST_LISTEN_FD + n + 10));
            close(fd);
            if (high < 0) FAIL("fcntl: %s (the descriptor limit, ulimit -n, is too low for %u workers)", strerror(errno), n);
            fd = high;
        }
        s->listeners[s->nlisteners] = fd;
    }
    s->port = port;
    return 0;
}

/* Starts the worker threads of this process and waits until each is set up. */
static int launch_threads(chopin_server *s, char *err, size_t err_len) {
    /* Workers block the stop signals: the thread that waits for them gets them. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    uint32_t started = 0;
    for (; started < s->nworkers; started++) {
        atomic_fetch_add(&s->refs, 1);
        if (pthread_create(&s->workers[started].thread, NULL, chopin__worker_main, &s->workers[started]) != 0) {
            atomic_fetch_sub(&s->refs, 1);
            break;
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);

    for (uint32_t i = 0; i < started; i++)
        while (sem_wait(&s->started) < 0 && errno == EINTR) {
        }

    int failed_rc = started < s->nworkers ? -EAGAIN : 0;
    for (uint32_t i = 0; i < started; i++)
        if (s->workers[i].init_rc < 0) failed_rc = s->workers[i].init_rc;
    if (failed_rc < 0) {
        snprintf(err, err_len, "worker start failed (%s backend): %s", s->ops->name, strerror(-failed_rc));
        if (s->gated) open_gate(s, started); /* to see their stop */
        for (uint32_t i = 0; i < started; i++) {
            atomic_store(&s->workers[i].stop_requested, 1);
            if (s->workers[i].init_rc == 0) chopin_worker_wake(&s->workers[i]);
        }
        for (uint32_t i = 0; i < started; i++)
            pthread_join(s->workers[i].thread, NULL);
        return -1;
    }
    return 0;
}

/* Worker i's thread state: listener fd (its own descriptor), counters in
 * block b of slot `slot`. */
static int prepare_worker(chopin_server *s, uint32_t i, uint32_t slot, uint32_t b, int listen_fd, int cpu, char *err,
                          size_t err_len) {
    chopin_worker *w = &s->workers[i];
    w->listen_fd = listen_fd;
    pthread_mutex_init(&w->adopt_lock, NULL);
    w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->wake_fd < 0) FAIL("eventfd: %s", strerror(errno));
    w->started = worker_started;
    w->started_arg = &s->started;
    w->ended = worker_ended;
    w->ended_arg = s;
    w->cfg = &s->cfg;
    w->ops = s->ops;
    w->id = slot;
    w->cpu = cpu;
    w->metrics = &s->slots.slot[slot].blocks[b];
    w->route_cells = chopin__slot_route_cells(&s->slots, slot, b);
    w->route_count = w->route_cells ? s->slots.routes : 0;
    w->now = &s->slots.slot[slot].now[b];
    return 0;
}

/* Threads mode: n worker threads on n listeners, plain-memory slots. */
static int start_threads(chopin_server *s, char *err, size_t err_len) {
    int cpus[CPU_SETSIZE];
    int ncpus = allowed_cpus(cpus, CPU_SETSIZE);
    if (chopin__slots_alloc(&s->slots, s->nworkers, s->cfg.route_metrics, 0) < 0) FAIL("out of memory");
    if (!s->cfg.no_listener && open_listeners(s, s->nworkers, err, err_len) < 0) return -1;
    for (uint32_t i = 0; i < s->nworkers; i++) {
        /* The worker closes its own descriptor when it stops; the server
         * keeps the listener's other one for an immediate shutdown. */
        int fd = s->cfg.no_listener ? -1 : fcntl(s->listeners[i], F_DUPFD_CLOEXEC, 0);
        if (fd < 0 && !s->cfg.no_listener) FAIL("fcntl: %s", strerror(errno));
        int cpu = s->cfg.pin_workers && ncpus > 0 ? cpus[i % (uint32_t)ncpus] : -1;
        if (prepare_worker(s, i, i, 0, fd, cpu, err, err_len) < 0) return -1;
        if (s->cfg.tls) {
            /* SIGHUP's reloads when no waiter takes it (signals.c). */
            s->workers[i].tls_reloads = &chopin__threads_tls_reloads;
            s->workers[i].tls_reload_seen = atomic_load(&chopin__threads_tls_reloads);
        }
    }
    return launch_threads(s, err, err_len);
}

/* In a worker process: a worker thread on each listener and slot the
 * supervisor handed over (one, or every slot with shared_process). */
static int start_worker_process(chopin_server *s, const chopin_worker_identity *id, char *err, size_t err_len) {
    /* Ends this worker when the supervisor ends (it is the parent); the
     * check after it covers a supervisor that ended just before. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != id->supervisor) FAIL("worker %u: its supervisor (pid %d) is gone", id->slot, (int)id->supervisor);
    chopin__signals_worker_of(id->supervisor);
    /* The supervisor stops a worker process with SIGTERM: taken here, or by
     * the program (a ServiceGroup, which then stops this server). */
    chopin__signals_install(s->cfg.leave_signals ? CHOPIN_SIGNALS_WORKER_OF_PROGRAM : CHOPIN_SIGNALS_WORKER);
    if (chopin__slots_map(&s->slots, id->shm_fd, err, err_len) < 0) return -1;
    /* A ticket sealed by any worker process, or by one before a rolling
     * restart, opens here. */
    if (s->cfg.tls) chopin__tls_share_tickets(s->cfg.tls, s->slots.tickets, 0);
    if (id->slot + id->count > s->slots.count)
        FAIL("worker %u: the supervisor has %u slots", id->slot + id->count - 1, s->slots.count);
    s->worker_process = 1;
    s->cfg.quiet = 1; /* the supervisor speaks for its workers */
    s->nworkers = id->count;
    int cpus[CPU_SETSIZE];
    int ncpus = allowed_cpus(cpus, CPU_SETSIZE);
    for (uint32_t j = 0; j < id->count; j++) {
        int fd = id->listen_fd + (int)j;
        fcntl(fd, F_SETFD, FD_CLOEXEC); /* not for the program's own children */
        if (chopin__bound_port(fd, &s->port) < 0)
            FAIL("worker %u: descriptor %d is not the supervisor's listener: %s", id->slot + j, fd, strerror(errno));
        uint32_t slot = id->slot + j;
        int cpu = s->cfg.pin_workers && ncpus > 0 ? cpus[slot % (uint32_t)ncpus] : -1;
        if (prepare_worker(s, j, slot, id->block, fd, cpu, err, err_len) < 0) return -1;
        s->workers[j].started = worker_started_gated;
        s->workers[j].started_arg = s;
        if (s->cfg.tls) {
            /* Reloads the supervisor makes from now on are followed here;
             * after any earlier one, the files are read once more at the
             * first connection (this process may have read them before a
             * reload that finished while it started). */
            s->workers[j].tls_reloads = s->slots.tls_reloads;
            uint32_t reloads = atomic_load(s->slots.tls_reloads);
            s->workers[j].tls_reload_seen = reloads ? reloads - 1 : 0;
        }
    }
    s->gated = 1;
    /* Every thread set up, none serving yet (each waits at the gate): now
     * the process says it serves, which the supervisor waits for before it
     * calls it serving (and lets a rolled predecessor drain). Said before
     * any thread serves, not after: a thread may take a request and die of
     * it before this thread runs again, and a worker process that dies
     * without having said so is one that could not start, which at start
     * ends the whole server. Said only once every thread is set up: one
     * that failed ends this process as one that could not start. */
    if (launch_threads(s, err, err_len) < 0) return -1;
    int32_t _Atomic *ready = &s->slots.slot[id->slot].ready_pid; /* the first slot speaks for the process */
    atomic_store_explicit(ready, (int32_t)getpid(), memory_order_release);
    open_gate(s, s->nworkers);
    return 0;
}

/* With worker processes, in the program as started: the supervisor. */
static int start_supervisor(chopin_server *s, char *err, size_t err_len) {
    int rc = chopin__slots_alloc(&s->slots, s->nworkers, s->cfg.route_metrics, 1);
    if (rc < 0) FAIL("shared memory for the workers' counters: %s", strerror(-rc));
    int high = fcntl(s->slots.fd, F_DUPFD_CLOEXEC, (int)(WORKER_FIRST_LISTEN_FD + s->nworkers + 10));
    if (high < 0) FAIL("fcntl: %s", strerror(errno));
    close(s->slots.fd);
    s->slots.fd = high;
    if (open_listeners(s, s->nworkers, err, err_len) < 0) return -1;
    /* One set of ticket keys for every worker process, now and after a
     * rolling restart: a client resumes wherever its next connection lands. */
    if (s->cfg.tls) chopin__tls_share_tickets(s->cfg.tls, s->slots.tickets, 1);
    chopin__signals_install(s->cfg.leave_signals ? CHOPIN_SIGNALS_ROLL_ONLY : CHOPIN_SIGNALS_SUPERVISOR);
    s->sup = chopin__supervisor_start(&s->cfg, s->listeners, &s->slots, err, err_len);
    return s->sup ? 0 : -1;
}

/* This process is a worker process whose server took its role: every
 * server it starts later stays dormant (the variable that said so is gone). */
static int _Atomic worker_role_taken;

chopin_server *chopin_server_start(const chopin_config *cfg, char *err, size_t err_len) {
    if (chopin_config_validate(cfg, err, err_len) < 0) return NULL;
    chopin_worker_identity id;
    int role = chopin__worker_identity(&id, err, err_len);
    if (role < 0) return NULL;
    /* In a worker process, only the server the supervisor named (its
     * configured host and port) is the worker; the program's other servers
     * are served by the program as started (its threads, or their own
     * worker processes), not here. */
    int in_worker = role == 1 || atomic_load(&worker_role_taken);
    int mine = role == 1 && cfg->isolation != CHOPIN_ISOLATION_THREADS && id.port == cfg->port &&
               strcmp(id.host, cfg->host) == 0;
    int dormant = in_worker && !mine;
    role = mine;
    if (mine) {
        chopin__worker_identity_taken();
        atomic_store(&worker_role_taken, 1);
    }
    chopin_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    s->cfg = *cfg;
    snprintf(s->host, sizeof s->host, "%s", cfg->host);
    s->cfg.host = s->host;
    s->slots.fd = -1;
    sem_init(&s->started, 0, 0);
    sem_init(&s->gate, 0, 0);
    atomic_init(&s->refs, 1);

    int cpus[CPU_SETSIZE];
    int ncpus = allowed_cpus(cpus, CPU_SETSIZE);
    s->nworkers = cfg->workers ? cfg->workers : (uint32_t)(ncpus > 0 ? ncpus : 1);
    if (role == 1) s->nworkers = id.count; /* as many as the supervisor handed over */
    if (dormant) {
        /* It runs no loop: no io_uring probe (a ring set up and torn down
         * in every worker process for nothing). */
        s->ops = &chopin__backend_epoll;
        snprintf(s->backend_reason, sizeof s->backend_reason, "none (dormant in another server's worker process)");
    } else {
        s->ops = choose_backend(s, err, err_len);
    }
    s->workers = calloc(s->nworkers, sizeof *s->workers);
    if (!s->ops || !s->workers) {
        if (s->ops) snprintf(err, err_len, "out of memory");
        server_free(s);
        return NULL;
    }
    for (uint32_t i = 0; i < s->nworkers; i++)
        s->workers[i].listen_fd = s->workers[i].wake_fd = -1;

    if (dormant) {
        /* No listener, no worker: what it serves, the program as started
         * serves (its threads, or its own worker processes). It only waits,
         * like this worker process, for the supervisor's stop. */
        s->dormant = 1;
        s->worker_process = 1;
        s->nworkers = 0;
        s->port = cfg->port;
        if (chopin__slots_alloc(&s->slots, 0, 0, 0) < 0) {
            snprintf(err, err_len, "out of memory");
            server_free(s);
            return NULL;
        }
        return s;
    }

    if (role == 1) {
        if (start_worker_process(s, &id, err, err_len) < 0) {
            server_free(s);
            return NULL;
        }
    } else if (cfg->isolation != CHOPIN_ISOLATION_THREADS) {
        if (start_supervisor(s, err, err_len) < 0) {
            server_free(s);
            return NULL;
        }
    } else if (start_threads(s, err, err_len) < 0) {
        server_free(s);
        return NULL;
    } else {
        /* A reload (systemd's ExecReload=kill -HUP) must not end a server
         * that has no worker processes to replace; with TLS it is the
         * certificate's, whoever else takes the stop signals. */
        chopin__signals_hup_harmless(s->cfg.tls != NULL);
    }
    if (!s->cfg.quiet) {
        /* Which mode runs, and what it means for the application's memory
         * (a Mutex, an actor, a cache): said once, where an operator looks. */
        uint32_t n = s->nworkers;
        const char *what = "", *memory = "";
        if (cfg->isolation == CHOPIN_ISOLATION_SHARED_PROCESS) {
            what = " in one supervised worker process";
            memory = "; in-memory state is shared by every worker; a trap in a handler restarts the process "
                     "(its requests in flight are lost)";
        } else if (cfg->isolation == CHOPIN_ISOLATION_PROCESSES) {
            memory = n > 1 ? "; each worker process has its own memory: in-memory state (a Mutex, an actor, a cache) "
                             "is per worker (one shared worker process, the default, shares it)"
                           : "";
        } else {
            memory = "; no supervisor: a trap in a handler ends the server";
        }
        char tls[320] = "";
        if (cfg->tls) {
            /* Which record layer runs: an operator asks this of kTLS. */
            char why[120];
            if (chopin_tls_kernel_sealing(cfg->tls, why, sizeof why))
                snprintf(tls, sizeof tls,
                         "; HTTPS (TLS 1.2 and 1.3), records sealed by the kernel after each handshake (kTLS: %s)", why);
            else
                snprintf(tls, sizeof tls, "; HTTPS (TLS 1.2 and 1.3), records sealed in user space (%s)", why);
        }
        chopin__log("chopin: listening on %s:%u with %u worker %s%s, backend %s%s%s", cfg->host, s->port, n,
                    cfg->isolation == CHOPIN_ISOLATION_PROCESSES ? (n == 1 ? "process" : "processes")
                                                                 : (n == 1 ? "thread" : "threads"),
                    what, s->backend_reason, tls, memory);
    }
    return s;
}

int chopin_server_adopt(chopin_server *s, int fd) {
    if (s->sup || s->worker_process || s->nworkers == 0) return -EINVAL;
    if (atomic_load_explicit(&s->stop_at_ms, memory_order_acquire)) return -ESHUTDOWN;
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return -errno;
    /* Spread over the workers, one after the other. */
    chopin_worker *w = &s->workers[atomic_fetch_add_explicit(&s->adopt_next, 1, memory_order_relaxed) % s->nworkers];
    pthread_mutex_lock(&w->adopt_lock);
    int rc = 0;
    if (w->nadopted == w->adopted_cap) {
        uint32_t cap = w->adopted_cap ? w->adopted_cap * 2 : 8;
        int *grown = realloc(w->adopted, cap * sizeof *grown);
        if (grown) {
            w->adopted = grown;
            w->adopted_cap = cap;
        } else {
            rc = -ENOMEM;
        }
    }
    if (rc == 0) w->adopted[w->nadopted++] = fd;
    pthread_mutex_unlock(&w->adopt_lock);
    if (rc == 0) chopin_worker_wake(w);
    return rc;
}

uint16_t chopin_server_port(const chopin_server *s) { return s->port; }
const char *chopin_server_backend(const chopin_server *s) { return s->ops->name; }
const char *chopin_server_backend_reason(const chopin_server *s) { return s->backend_reason; }
uint32_t chopin_server_workers(const chopin_server *s) { return s->slots.count; }

int chopin_server_draining(const chopin_server *s) {
    if (atomic_load(&((chopin_server *)s)->stop_at_ms) != 0) return 1;
    return s->slots.draining && atomic_load_explicit(s->slots.draining, memory_order_acquire) != 0;
}

uint32_t chopin_server_drain_begin(chopin_server *s) {
    if (s->worker_process || !s->cfg.drain_ms || !s->slots.draining || atomic_load(&s->stop_at_ms)) return 0;
    if (atomic_exchange(s->slots.draining, 1)) return 0; /* a drain already ran or runs */
    if (!s->cfg.quiet)
        chopin__log("chopin: draining for %u ms: the readiness route answers 503, every request is still served",
                    s->cfg.drain_ms);
    return s->cfg.drain_ms;
}

void chopin_server_drain(chopin_server *s) {
    uint32_t ms = chopin_server_drain_begin(s);
    if (!ms) return;
    uint64_t until = monotonic_ms() + ms;
    while (!atomic_load(&s->stop_at_ms)) {
        uint64_t now = monotonic_ms();
        if (now >= until) break;
        uint64_t left = until - now < 20 ? until - now : 20;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)left * 1000000L};
        nanosleep(&ts, NULL);
    }
}

void chopin_server_stop(chopin_server *s) {
    /* Atomic stores, clock_gettime, write(2) and shutdown(2): fine in a
     * signal handler. */
    uint64_t zero = 0;
    atomic_compare_exchange_strong(&s->stop_at_ms, &zero, monotonic_ms());
    if (s->sup) {
        chopin__supervisor_stop(s->sup);
        return;
    }
    for (uint32_t i = 0; i < s->nworkers; i++) {
        atomic_store_explicit(&s->workers[i].stop_requested, 1, memory_order_release);
        chopin_worker_wake(&s->workers[i]);
    }
    /* New connections are refused from now on, not left in a backlog that
     * nobody will accept from. (A worker process leaves its listener to
     * the supervisor: in a rolling restart its replacement serves on it.) */
    for (uint32_t i = 0; i < s->nlisteners; i++)
        shutdown(s->listeners[i], SHUT_RD);
}

int chopin_server_wait(chopin_server *s) {
    if (s->sup) {
        chopin__supervisor_wait(s->sup);
        s->sup = NULL;
        server_free(s);
        return 0;
    }
    int stuck = 0;
    for (uint32_t i = 0; i < s->nworkers; i++) {
        uint64_t stop_at = atomic_load(&s->stop_at_ms);
        if (!stop_at) {
            pthread_join(s->workers[i].thread, NULL);
            continue;
        }
        /* A handler that never returns must not hold the process past the
         * deadline: give up on its thread (and leave the server allocated
         * until that thread ends, as it still uses it). */
        uint64_t deadline = stop_at + s->cfg.shutdown_timeout_ms + JOIN_GRACE_MS, now = monotonic_ms();
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t left = deadline > now ? deadline - now : 0;
        ts.tv_sec += (time_t)(left / 1000);
        ts.tv_nsec += (long)(left % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        if (pthread_timedjoin_np(s->workers[i].thread, NULL, &ts) != 0) {
            chopin__log("chopin: worker %u is still busy (a handler that has not returned) %u ms after the stop; "
                        "leaving it",
                        s->workers[i].id, s->cfg.shutdown_timeout_ms);
            /* It ends on its own, if ever: the last such thread frees the server. */
            pthread_detach(s->workers[i].thread);
            stuck = 1;
        }
    }
    server_release(s);
    return stuck;
}

int chopin_server_await_signal(chopin_server *s) {
    chopin__signals_install(s->sup              ? CHOPIN_SIGNALS_SUPERVISOR
                            : s->worker_process ? CHOPIN_SIGNALS_WORKER
                                                : CHOPIN_SIGNALS_SERVER);
    for (;;) {
        int sig = chopin__signals_wait();
        if (sig == SIGUSR2) {
            /* Only a supervisor installs it: a rolling restart, TLS or not. */
            chopin__log("chopin: SIGUSR2, restarting the workers one at a time");
            if (s->sup) chopin__supervisor_roll(s->sup);
            continue;
        }
        if (sig == SIGHUP) {
            if (s->cfg.tls) {
                /* With HTTPS, a reload is the certificate's (a rolling
                 * restart is SIGUSR2's, and chopin_server_roll's). */
                char err[256];
                chopin__log("chopin: SIGHUP, reloading the TLS certificate");
                chopin__tls_reload_all(s->cfg.tls, &s->slots, err, sizeof err);
            } else if (s->sup) {
                chopin__log("chopin: SIGHUP, restarting the workers one at a time");
                chopin__supervisor_roll(s->sup);
            } else {
                chopin__log("%s", CHOPIN_HUP_NOTHING_TO_RELOAD);
            }
            continue;
        }
        if (!s->cfg.quiet) chopin__log("chopin: %s, stopping gracefully", sig == SIGINT ? "SIGINT" : "SIGTERM");
        return sig;
    }
}

int chopin_server_run_until_signal(chopin_server *s) {
    chopin_server_await_signal(s);
    chopin_server_drain(s);
    chopin_server_stop(s);
    return chopin_server_wait(s);
}

int chopin_server_is_supervisor(const chopin_server *s) { return s->sup != NULL; }

int chopin_server_tls_reload(chopin_server *s, char *err, size_t err_len) {
    if (!s->cfg.tls) {
        snprintf(err, err_len, "this server does not serve HTTPS");
        return -1;
    }
    return chopin__tls_reload_all(s->cfg.tls, &s->slots, err, err_len);
}

int chopin_server_roll(chopin_server *s) { return s->sup ? chopin__supervisor_roll(s->sup) : -1; }

int chopin_server_rolling(const chopin_server *s) { return s->sup ? chopin__supervisor_rolling(s->sup) : 0; }

void chopin_server_roll_status(const chopin_server *s, chopin_roll_status *out) {
    chopin__roll_record_read(s->slots.roll, out);
}

pid_t chopin_server_worker_pid(const chopin_server *s, uint32_t worker) {
    if (worker >= s->slots.count) return 0;
    return s->sup ? chopin__supervisor_pid(s->sup, worker) : getpid();
}

const chopin_slots *chopin__server_slot_region(const chopin_server *s) { return &s->slots; }

const chopin_slot *chopin__server_slots(const chopin_server *s, uint32_t *count) {
    *count = s->slots.count;
    return s->slots.slot;
}
