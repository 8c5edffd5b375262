/* supervisor.c - worker processes under a small supervisor, so that a trap
 * in a handler costs one worker for a few milliseconds.
 *
 * The supervisor runs on a thread of its own in the program as started. It
 * owns the listeners (one SO_REUSEPORT socket per slot, kept open: the
 * connections queued on a dead worker's socket wait in the kernel for its
 * replacement) and the shared slots. It starts each worker with
 * posix_spawn of the program itself (spawn.c): the shared slots at
 * descriptor 3, its listeners from 4, stderr through a pipe it reads and
 * forwards, and the worker's identity in CHOPIN_WORKER. It waits
 * on each worker's pidfd: a death is logged once (signal, worker, the
 * request whose handler ran, the last "Fatal error" line) and the worker
 * started again at once, or after a backoff while it keeps dying young.
 *
 * A slot has two counter blocks: a worker starts in the one no live
 * process of its slot writes, so during a rolling restart (replacement
 * serving, predecessor draining) each block keeps a single writer.
 *
 * A rolling restart goes slot by slot and stops at the first replacement
 * that does not serve (it exits, dies, or is still starting after
 * worker_start_timeout_ms and is killed): its predecessor keeps serving,
 * no later slot is touched, and the outcome is written to the shared roll
 * record with the reason (chopin_server_roll_status). */
#include "supervisor_state.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>


/* For a second stop signal, which kills every worker process of every
 * live supervisor from a handler (chopin__supervisor_kill_all). A
 * supervisor is freed only once no handler reads it: the handler counts
 * itself in kill_readers, and supervisor_free, after taking the supervisor
 * off the list, waits for that count to be 0 (a handler never waits, so it
 * cannot deadlock with it, even on the same thread). */
#define LIVE_MAX 8 /* supervisors a second signal reaches (more run, and stop on their own) */
static chopin_supervisor *_Atomic live_supervisors[LIVE_MAX];
static uint32_t _Atomic kill_readers;
/* SIGHUPs seen by a program that takes the stop signals itself (see
 * chopin__supervisor_hup_seen), and the supervisors that watch the count. */
static uint32_t _Atomic hups_seen;
static uint32_t _Atomic rolls_asked; /* SIGUSR2: a rolling restart, with TLS or without */
static uint32_t _Atomic supervisors_live;
#define ROLL_POLL_MS 100 /* how soon such a supervisor sees a SIGHUP */

static void begin_stop(chopin_supervisor *sv);
static void check_ready(chopin_supervisor *sv, uint64_t now);

/* The roll is over, done or failed; another may have been asked for meanwhile. */
static void roll_ended(chopin_supervisor *sv) {
    sv->roll_unit = -1;
    sv->roll_pid = 0;
    if (!atomic_load(&sv->roll_requested)) atomic_store(&sv->rolling, 0);
}

/* The replacement of unit u in a rolling restart never served: the roll
 * stops here (whether the unit still has a process is reaped's to see). */
static void fail_roll(chopin_supervisor *sv, uint32_t u, pid_t pid, const char *how, const char *fatal) {
    chopin_slot *shared = &sv->slots->slot[sv->unit[u].first];
    __atomic_store_n(&shared->roll_failures, shared->roll_failures + 1, __ATOMIC_RELAXED);
    char reason[232], name[64];
    snprintf(reason, sizeof reason, "%s's replacement (pid %d) %s%s%s", chopin__sv_unit_name(sv, u, name, sizeof name), (int)pid,
             how, fatal[0] ? ": " : "", fatal);
    uint32_t replaced = sv->unit[u].first, all = sv->slots->count;
    chopin__roll_record_write(sv->slots->roll, CHOPIN_ROLL_FAILED, replaced, 1, reason);
    chopin__log("chopin: rolling restart failed: %s; %u of %u worker%s replaced, %s", reason, replaced, all,
                all == 1 ? "" : "s",
                sv->unit[u].count > 1 ? "the old worker process keeps serving" : "the others keep serving as they were");
    sv->roll_failed = 1;
    roll_ended(sv);
}

/* What a dead process of unit u (block b) was running, from its slots'
 * records, which are cleared for the unit's next process: with one worker
 * its record as it is; with several, every worker thread whose handler ran
 * (which of them trapped, the records cannot tell). */
static void unit_handling(chopin_supervisor *sv, uint32_t u, uint32_t b, char *out, size_t len) {
    const sv_unit *unit = &sv->unit[u];
    size_t at = 0;
    out[0] = 0;
    uint32_t named = 0;
    for (uint32_t j = 0; j < unit->count; j++) {
        chopin_handling *h = &sv->slots->slot[unit->first + j].now[b];
        if (unit->count == 1 || h->handling || h->async_job) {
            char one[400];
            chopin__handling_describe(h, one, sizeof one);
            if (at < len) {
                int w = unit->count == 1 ? snprintf(out + at, len - at, "%s", one)
                                         : snprintf(out + at, len - at, "%s%s on worker %u", named ? ", or " : "",
                                                    named ? one + (strncmp(one, "while ", 6) == 0 ? 6 : 0) : one,
                                                    unit->first + j);
                at += w > 0 ? (size_t)w : 0;
            }
            named++;
        }
        chopin__handling_clear(h);
    }
    if (!named) snprintf(out, len, "with no handler running");
}

/* A process of unit u (block b) is gone: settle its counters, say why
 * once, and start it again unless it was asked to go. */
static void reaped(chopin_supervisor *sv, uint32_t u, uint32_t b, int status) {
    /* It may have said it serves, and served, and died, all since the loop
     * last looked (a loaded machine, a request that traps at once): it
     * died serving, not starting, which at start would end the server. */
    check_ready(sv, now_ms());
    sv_unit *s = &sv->unit[u];
    sv_proc *p = &s->proc[b];
    chopin__sv_read_stderr(p); /* what it wrote last, its fatal error among it */
    if (p->err_fd >= 0) close(p->err_fd);
    if (p->pidfd >= 0) close(p->pidfd);
    /* Its connections died with it, and its buffers: the block's only
     * writer is gone, so the supervisor may write it until the next one. */
    for (uint32_t j = 0; j < s->count; j++) {
        chopin_worker_metrics *m = &sv->slots->slot[s->first + j].blocks[b];
        __atomic_store_n(&m->closed, __atomic_load_n(&m->accepted, __ATOMIC_RELAXED), __ATOMIC_RELAXED);
        __atomic_store_n(&m->buffer_bytes, 0, __ATOMIC_RELAXED);
    }
    char request[800], name[64];
    unit_handling(sv, u, b, request, sizeof request);
    chopin__sv_unit_name(sv, u, name, sizeof name);
    int role = p->role;
    pid_t pid = p->pid;
    p->role = P_NONE;
    p->pid = 0;
    if (role == P_DRAINING || sv->stopping) return; /* asked to go */

    uint64_t now = now_ms();
    char how[96];
    chopin__sv_describe(status, how, sizeof how);
    if (p->timed_out)
        snprintf(how, sizeof how, "did not serve within %u ms and was killed", sv->cfg->worker_start_timeout_ms);
    if (sv->starting && role == P_STARTING) {
        snprintf(sv->start_err, sizeof sv->start_err, "%s %s before it served%s%s", name, how, p->fatal[0] ? ": " : "",
                 p->fatal);
        sv->start_failed = 1;
        begin_stop(sv);
        return;
    }
    /* Another process of this unit still serves (a rolling restart's
     * predecessor, or the replacement): no restart needed. */
    int other = 0;
    for (uint32_t k = 0; k < CHOPIN_SLOT_BLOCKS; k++)
        if (s->proc[k].role == P_SERVING || s->proc[k].role == P_STARTING) other = 1;
    if (role == P_STARTING && sv->roll_unit == (int)u && pid == sv->roll_pid) {
        fail_roll(sv, u, pid, how, p->fatal);
        /* Its predecessor serves on; if that one died meanwhile, the unit
         * is restarted as after any death (a failed replacement is no
         * restart of its own). */
        if (other) return;
    } else {
        /* Counted once per process restarted (on its first slot): one trap
         * is one restart, however many worker threads the process ran. */
        chopin_slot *shared = &sv->slots->slot[s->first];
        __atomic_store_n(&shared->restarts, shared->restarts + 1, __ATOMIC_RELAXED);
    }
    uint64_t delay = 0;
    if (!other) {
        int young = !p->ready_ms || now - p->ready_ms < YOUNG_MS;
        s->streak = young ? s->streak + 1 : 0;
        if (s->streak >= BACKOFF_AFTER) {
            uint32_t doublings = s->streak - BACKOFF_AFTER;
            delay = (uint64_t)BACKOFF_FIRST_MS << (doublings < 5 ? doublings : 5);
            if (delay > BACKOFF_MAX_MS) delay = BACKOFF_MAX_MS;
        }
        s->restart_due = 1;
        s->restart_at_ms = now + delay;
        s->died_at_ms = now;
    }
    char when[48] = "";
    if (delay) snprintf(when, sizeof when, " in %llu ms (it keeps dying young)", (unsigned long long)delay);
    chopin__log("chopin: %s (pid %d) %s %s%s%s; %s%s", name, (int)pid, how, request, p->fatal[0] ? ": " : "", p->fatal,
                other ? "another process serves its slot" : "restarting it", when);
}

/* ---- the loop --------------------------------------------------------------------- */

static void begin_stop(chopin_supervisor *sv) {
    if (sv->stopping) return;
    sv->stopping = 1;
    sv->kill_at_ms = now_ms() + sv->cfg->shutdown_timeout_ms + KILL_GRACE_MS;
    /* New connections are refused at once; the workers finish theirs. */
    for (uint32_t i = 0; i < sv->slots->count; i++) shutdown(sv->listen_fds[i], SHUT_RD);
    for (uint32_t u = 0; u < sv->n; u++) {
        sv->unit[u].restart_due = 0;
        for (uint32_t b = 0; b < CHOPIN_SLOT_BLOCKS; b++)
            if (sv->unit[u].proc[b].role != P_NONE) kill(sv->unit[u].proc[b].pid, SIGTERM);
    }
}

/* Processes that now accept: a restart's replacement says how long its
 * unit was down; a newer process of a unit lets the older one drain. */
static void check_ready(chopin_supervisor *sv, uint64_t now) {
    for (uint32_t u = 0; u < sv->n; u++) {
        sv_unit *s = &sv->unit[u];
        int32_t ready = atomic_load_explicit(&sv->slots->slot[s->first].ready_pid, memory_order_acquire);
        for (uint32_t b = 0; b < CHOPIN_SLOT_BLOCKS; b++) {
            sv_proc *p = &s->proc[b];
            if (p->role != P_STARTING || p->pid != ready) continue;
            p->role = P_SERVING;
            p->ready_ms = now;
            if (s->died_at_ms) {
                char name[64];
                chopin__log("chopin: %s serving again (pid %d), %llu ms after the death", chopin__sv_unit_name(sv, u, name, sizeof name),
                            (int)p->pid, (unsigned long long)(now - s->died_at_ms));
                s->died_at_ms = 0;
            }
            sv_proc *old = &s->proc[1 - b];
            if (old->role == P_SERVING) {
                old->role = P_DRAINING;
                kill(old->pid, SIGTERM);
            }
        }
    }
}

/* Starts the roll's replacement for unit u, and remembers which process it is. */
static void roll_spawn(chopin_supervisor *sv, uint32_t u) {
    chopin__sv_spawn_unit(sv, u);
    sv->roll_pid = 0;
    for (uint32_t b = 0; b < CHOPIN_SLOT_BLOCKS; b++)
        if (sv->unit[u].proc[b].role == P_STARTING) sv->roll_pid = sv->unit[u].proc[b].pid;
}

/* A rolling restart: unit by unit, the next one once the previous unit's
 * replacement serves and its predecessor is gone. */
static void roll(chopin_supervisor *sv) {
    if (sv->roll_unit < 0) {
        if (!atomic_exchange(&sv->roll_requested, 0)) return;
        sv->roll_unit = 0;
        atomic_store(&sv->rolling, 1);
        chopin__roll_record_write(sv->slots->roll, CHOPIN_ROLL_RUNNING, 0, 0, NULL);
        roll_spawn(sv, 0);
        return;
    }
    sv_unit *s = &sv->unit[sv->roll_unit];
    for (uint32_t b = 0; b < CHOPIN_SLOT_BLOCKS; b++)
        if (s->proc[b].role == P_STARTING || s->proc[b].role == P_DRAINING) return;
    if (s->restart_due) return;
    if (++sv->roll_unit < (int)sv->n) {
        roll_spawn(sv, (uint32_t)sv->roll_unit);
        return;
    }
    sv->roll_failed = 0;
    /* The build every worker now runs is the one to fall back on. */
    int fd = open(sv->exe, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (sv->good_exe_fd >= 0) close(sv->good_exe_fd);
        sv->good_exe_fd = fd;
    }
    uint32_t all = sv->slots->count;
    chopin__roll_record_write(sv->slots->roll, CHOPIN_ROLL_SUCCEEDED, all, 0, NULL);
    chopin__log("chopin: rolling restart done: %u worker%s replaced", all, all == 1 ? "" : "s");
    roll_ended(sv);
}

/* A process still starting past worker_start_timeout_ms is killed; its
 * death is then handled like any other (a failed roll step, or a restart). */
static void check_start_timeouts(chopin_supervisor *sv, uint64_t now) {
    for (uint32_t i = 0; i < sv->n; i++)
        for (uint32_t b = 0; b < CHOPIN_SLOT_BLOCKS; b++) {
            sv_proc *p = &sv->unit[i].proc[b];
            if (p->role != P_STARTING || p->timed_out || now - p->started_ms < sv->cfg->worker_start_timeout_ms)
                continue;
            p->timed_out = 1;
            kill(p->pid, SIGKILL);
        }
}

static int all_serving(const chopin_supervisor *sv) {
    for (uint32_t i = 0; i < sv->n; i++) {
        int serving = 0;
        for (uint32_t b = 0; b < CHOPIN_SLOT_BLOCKS; b++) serving |= sv->unit[i].proc[b].role == P_SERVING;
        if (!serving) return 0;
    }
    return 1;
}

static int any_alive(const chopin_supervisor *sv) {
    for (uint32_t i = 0; i < sv->n; i++)
        for (uint32_t b = 0; b < CHOPIN_SLOT_BLOCKS; b++)
            if (sv->unit[i].proc[b].role != P_NONE) return 1;
    return 0;
}

/* How long poll may sleep: not at all past a due restart, 1 ms while a
 * worker starts (readiness is a store in shared memory, not an event). */
static int next_timeout(const chopin_supervisor *sv, uint64_t now) {
    int64_t t = -1;
    for (uint32_t i = 0; i < sv->n; i++) {
        const sv_unit *s = &sv->unit[i];
        for (uint32_t b = 0; b < CHOPIN_SLOT_BLOCKS; b++)
            if (s->proc[b].role == P_STARTING) t = 1;
        if (s->restart_due && !sv->stopping) {
            int64_t d = s->restart_at_ms > now ? (int64_t)(s->restart_at_ms - now) : 0;
            if (t < 0 || d < t) t = d;
        }
    }
    if (sv->stopping) {
        int64_t d = sv->kill_at_ms > now ? (int64_t)(sv->kill_at_ms - now) : 0;
        if (t < 0 || d < t) t = d;
    }
    if (sv->starting) {
        int64_t d = sv->start_deadline_ms > now ? (int64_t)(sv->start_deadline_ms - now) : 0;
        if (t < 0 || d < t) t = d;
    }
    return (int)t;
}

static void *supervise(void *arg) {
    chopin_supervisor *sv = arg;
    /* Signals go to the program's other threads (signals.c's handler). */
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    for (uint32_t i = 0; i < sv->n; i++) chopin__sv_spawn_unit(sv, i);
    size_t cap = 1 + (size_t)sv->n * CHOPIN_SLOT_BLOCKS * 2;
    struct pollfd *pfds = calloc(cap, sizeof *pfds);
    uint32_t (*who)[2] = calloc(cap, sizeof *who);
    if (!pfds || !who) {
        snprintf(sv->start_err, sizeof sv->start_err, "out of memory");
        sv->start_failed = 1;
        begin_stop(sv);
    }
    for (;;) {
        uint64_t now = now_ms();
        if (atomic_load(&sv->stop_requested)) begin_stop(sv);
        if (sv->watches_hups && atomic_load(&rolls_asked) != sv->rolls_handled) {
            sv->rolls_handled = atomic_load(&rolls_asked);
            chopin__supervisor_roll(sv);
        }
        if (sv->watches_hups && atomic_load(&hups_seen) != sv->hups_handled) {
            sv->hups_handled = atomic_load(&hups_seen);
            char err[256];
            if (sv->cfg->tls)
                chopin__tls_reload_all(sv->cfg->tls, sv->slots, err, sizeof err); /* HTTPS: the certificate's reload */
            else
                chopin__supervisor_roll(sv);
        }
        if (sv->starting && now >= sv->start_deadline_ms && !sv->start_failed) {
            snprintf(sv->start_err, sizeof sv->start_err, "the workers did not all serve within %u ms",
                     sv->cfg->worker_start_timeout_ms);
            sv->start_failed = 1;
            begin_stop(sv);
        }
        if (!sv->starting && !sv->stopping) {
            check_ready(sv, now); /* one that just said it serves is not late */
            check_start_timeouts(sv, now);
        }
        if (!sv->stopping)
            for (uint32_t i = 0; i < sv->n; i++)
                if (sv->unit[i].restart_due && now >= sv->unit[i].restart_at_ms) chopin__sv_spawn_unit(sv, i);
        check_ready(sv, now);
        if (sv->starting && (sv->start_failed || all_serving(sv))) {
            sv->starting = 0;
            sem_post(&sv->started);
        }
        if (!sv->starting && !sv->stopping) roll(sv);
        if (sv->stopping) {
            if (!any_alive(sv)) break;
            if (now >= sv->kill_at_ms)
                for (uint32_t i = 0; i < sv->n; i++)
                    for (uint32_t b = 0; b < CHOPIN_SLOT_BLOCKS; b++)
                        if (sv->unit[i].proc[b].role != P_NONE) kill(sv->unit[i].proc[b].pid, SIGKILL);
        }
        if (!pfds || !who) continue;

        size_t n = 0;
        pfds[n++] = (struct pollfd){.fd = sv->wake_fd, .events = POLLIN};
        for (uint32_t i = 0; i < sv->n; i++)
            for (uint32_t b = 0; b < CHOPIN_SLOT_BLOCKS; b++) {
                sv_proc *p = &sv->unit[i].proc[b];
                if (p->role == P_NONE) continue;
                who[n][0] = who[n + 1][0] = i;
                who[n][1] = who[n + 1][1] = b;
                pfds[n++] = (struct pollfd){.fd = p->err_fd, .events = POLLIN}; /* -1: ignored */
                pfds[n++] = (struct pollfd){.fd = p->pidfd, .events = POLLIN};
            }
        int timeout = next_timeout(sv, now), blind = 0;
        if (sv->watches_hups && (timeout < 0 || timeout > ROLL_POLL_MS)) timeout = ROLL_POLL_MS;
        for (size_t k = 2; k < n; k += 2) blind |= pfds[k].fd < 0;
        if (blind && (timeout < 0 || timeout > NO_PIDFD_POLL_MS)) timeout = NO_PIDFD_POLL_MS;
        int ready = poll(pfds, (nfds_t)n, timeout);
        if (ready < 0 || (ready == 0 && !blind)) continue;
        if (pfds[0].revents) {
            uint64_t v;
            ssize_t r = read(sv->wake_fd, &v, sizeof v);
            (void)r;
        }
        for (size_t k = 1; k < n; k += 2) {
            sv_proc *p = &sv->unit[who[k][0]].proc[who[k][1]];
            if (pfds[k].revents) chopin__sv_read_stderr(p);
            if (!pfds[k + 1].revents && pfds[k + 1].fd >= 0) continue;
            int status = 0;
            if (waitpid(p->pid, &status, WNOHANG) == p->pid) reaped(sv, who[k][0], who[k][1], status);
        }
    }
    free(pfds);
    free(who);
    if (sv->starting) sem_post(&sv->started);
    return NULL;
}

/* ---- the API server.c calls ------------------------------------------------------ */

static void supervisor_free(chopin_supervisor *sv) {
    for (uint32_t i = 0; i < LIVE_MAX; i++) {
        chopin_supervisor *expected = sv;
        atomic_compare_exchange_strong(&live_supervisors[i], &expected, NULL);
    }
    while (atomic_load(&kill_readers)) sched_yield();
    if (sv->watches_hups) atomic_fetch_sub(&supervisors_live, 1);
    if (sv->good_exe_fd >= 0) close(sv->good_exe_fd);
    if (sv->wake_fd >= 0) close(sv->wake_fd);
    sem_destroy(&sv->started);
    free(sv->unit);
    free(sv->argv);
    free(sv->cmdline);
    free(sv);
}

chopin_supervisor *chopin__supervisor_start(const chopin_config *cfg, const int *listen_fds, const chopin_slots *slots,
                                            char *err, size_t err_len) {
    chopin_supervisor *sv = calloc(1, sizeof *sv);
    if (!sv) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    sv->cfg = cfg;
    sv->good_exe_fd = -1;
    /* One process per worker slot, or one for all of them. */
    int shared = cfg->isolation == CHOPIN_ISOLATION_SHARED_PROCESS;
    sv->n = shared ? 1 : slots->count;
    sv->listen_fds = listen_fds;
    sv->slots = slots;
    sv->roll_unit = -1;
    sv->starting = 1;
    sv->start_deadline_ms = now_ms() + cfg->worker_start_timeout_ms;
    sem_init(&sv->started, 0, 0);
    sv->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    sv->unit = calloc(sv->n, sizeof *sv->unit);
    for (uint32_t u = 0; sv->unit && u < sv->n; u++) {
        sv->unit[u].first = shared ? 0 : u;
        sv->unit[u].count = shared ? slots->count : 1;
    }
    ssize_t len = readlink("/proc/self/exe", sv->exe, sizeof sv->exe - 1);
    if (sv->wake_fd < 0 || !sv->unit || len <= 0 || chopin__read_cmdline(&sv->cmdline, &sv->argv) < 0) {
        snprintf(err, err_len, "supervisor: cannot find this program's path and arguments in /proc/self");
        supervisor_free(sv);
        return NULL;
    }
    sv->exe[len] = 0;
    sv->good_exe_fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC); /* this very build */
    for (uint32_t i = 0; i < LIVE_MAX; i++) {
        chopin_supervisor *none = NULL;
        if (atomic_compare_exchange_strong(&live_supervisors[i], &none, sv)) break;
    }
    if (cfg->leave_signals) {
        sv->watches_hups = 1;
        sv->hups_handled = atomic_load(&hups_seen);
        sv->rolls_handled = atomic_load(&rolls_asked); /* a SIGUSR2 before this supervisor is none of its business */
        atomic_fetch_add(&supervisors_live, 1);
    }
    if (pthread_create(&sv->thread, NULL, supervise, sv) != 0) {
        snprintf(err, err_len, "supervisor: cannot start its thread");
        supervisor_free(sv);
        return NULL;
    }
    while (sem_wait(&sv->started) < 0 && errno == EINTR) {
    }
    if (sv->start_failed) {
        snprintf(err, err_len, "%s", sv->start_err);
        pthread_join(sv->thread, NULL);
        supervisor_free(sv);
        return NULL;
    }
    return sv;
}

static void wake(chopin_supervisor *sv) {
    uint64_t one = 1;
    ssize_t r = write(sv->wake_fd, &one, sizeof one);
    (void)r;
}

void chopin__supervisor_stop(chopin_supervisor *sv) {
    atomic_store(&sv->stop_requested, 1);
    wake(sv);
}

int chopin__supervisor_roll(chopin_supervisor *sv) {
    atomic_store(&sv->rolling, 1);
    atomic_store(&sv->roll_requested, 1);
    wake(sv);
    return 0;
}

int chopin__supervisor_rolling(const chopin_supervisor *sv) { return atomic_load(&sv->rolling); }

pid_t chopin__supervisor_pid(const chopin_supervisor *sv, uint32_t slot) {
    if (slot >= sv->slots->count) return 0;
    /* The newest process serving the slot's unit. */
    const sv_unit *s = &sv->unit[sv->n == 1 ? 0 : slot];
    pid_t pid = 0;
    uint64_t since = 0;
    for (uint32_t b = 0; b < CHOPIN_SLOT_BLOCKS; b++) {
        pid_t p = __atomic_load_n(&s->proc[b].pid, __ATOMIC_RELAXED);
        int role = __atomic_load_n(&s->proc[b].role, __ATOMIC_RELAXED);
        uint64_t at = __atomic_load_n(&s->proc[b].ready_ms, __ATOMIC_RELAXED);
        if (role == P_SERVING && at >= since) {
            pid = p;
            since = at;
        }
    }
    return pid;
}

void chopin__supervisor_wait(chopin_supervisor *sv) {
    pthread_join(sv->thread, NULL);
    supervisor_free(sv);
}

int chopin__supervisor_hup_seen(void) {
    atomic_fetch_add(&hups_seen, 1);
    return atomic_load(&supervisors_live) > 0;
}

int chopin__supervisor_roll_asked(void) {
    atomic_fetch_add(&rolls_asked, 1);
    return atomic_load(&supervisors_live) > 0;
}

void chopin__supervisor_kill_all(void) {
    atomic_fetch_add(&kill_readers, 1);
    for (uint32_t k = 0; k < LIVE_MAX; k++) {
        chopin_supervisor *sv = atomic_load(&live_supervisors[k]);
        if (!sv) continue;
        for (uint32_t i = 0; i < sv->n; i++)
            for (uint32_t b = 0; b < CHOPIN_SLOT_BLOCKS; b++) {
                pid_t pid = __atomic_load_n(&sv->unit[i].proc[b].pid, __ATOMIC_RELAXED);
                if (pid > 0) kill(pid, SIGKILL);
            }
    }
    atomic_fetch_sub(&kill_readers, 1);
}
