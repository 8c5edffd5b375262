/* signals.c - SIGINT, SIGTERM and SIGHUP through a handler and a pipe.
 *
 * Blocking the signals on the waiting thread and calling sigwait is not
 * enough in a process whose other threads (Swift's, a user's) leave them
 * unblocked: the kernel delivers to any of those, and the default action
 * ends the process without a graceful stop. A handler runs on whichever
 * thread gets the signal and only writes its number to a pipe; the waiter
 * reads it. A second SIGINT/SIGTERM, while the first one's stop is under
 * way, ends the process at once (and a supervisor's workers with it).
 * SIGHUP is a rolling restart for a supervisor (a certificate reload for a
 * server with TLS, in every mode, with or without a waiter); a server of
 * worker threads without TLS logs that it has nothing to reload and goes
 * on. SIGUSR2 is always a supervisor's rolling restart; worker threads log
 * that they have none and go on. */
#include "process.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

static int pipe_fds[2] = {-1, -1};
static pthread_once_t pipe_once = PTHREAD_ONCE_INIT;
static int _Atomic stops_seen;
static int _Atomic installed_role = -1;

static void make_pipe(void) {
    if (pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) < 0) pipe_fds[0] = pipe_fds[1] = -1;
}

static void on_signal(int sig) {
    int saved = errno;
    if (sig != SIGHUP && sig != SIGUSR2 && atomic_fetch_add(&stops_seen, 1) > 0) {
        /* The second stop signal: now, not gracefully. */
        if (atomic_load(&installed_role) == CHOPIN_SIGNALS_SUPERVISOR) chopin__supervisor_kill_all();
        _exit(128 + sig);
    }
    unsigned char c = (unsigned char)sig;
    ssize_t r = write(pipe_fds[1], &c, 1);
    (void)r;
    errno = saved;
}

/* A worker process's SIGTERM: its supervisor's stop (or the death signal
 * the kernel sends when the supervisor ends). The same SIGTERM sent to the
 * whole process group (systemd's default KillMode, timeout(1), kill -TERM
 * -PGID) is the supervisor's to act on: it drains first, then stops its
 * workers; a worker that stopped on its own meanwhile would be restarted. */
static pid_t _Atomic worker_supervisor;

static void on_worker_term(int sig, siginfo_t *info, void *context) {
    (void)context;
    pid_t from_supervisor = atomic_load(&worker_supervisor);
    if (info && info->si_code == SI_USER && from_supervisor > 0 && info->si_pid != from_supervisor) return;
    on_signal(sig);
}

void chopin__signals_worker_of(pid_t supervisor) { atomic_store(&worker_supervisor, supervisor); }

/* A signal handler's line: write(2) alone, errno as it was. */
static void say(const char *line, size_t len) {
    int saved = errno;
    ssize_t r = write(STDERR_FILENO, line, len);
    (void)r;
    errno = saved;
}

static void on_hup_without_workers(int sig) {
    (void)sig;
    static const char line[] = CHOPIN_HUP_NOTHING_TO_RELOAD "\n";
    say(line, sizeof line - 1);
}

uint32_t _Atomic chopin__threads_tls_reloads;

/* SIGHUP to worker threads with TLS and nobody waiting on the pipe (a
 * ServiceGroup, an embedding program): a reload, asked here and made by
 * the first worker to accept a connection after it (a handler can take no
 * lock and call no OpenSSL). */
static void on_hup_tls_threads(int sig) {
    (void)sig;
    atomic_fetch_add(&chopin__threads_tls_reloads, 1);
    static const char line[] = "chopin: SIGHUP: the TLS certificate is read again before the next connection\n";
    say(line, sizeof line - 1);
}

static void on_usr2_without_workers(int sig) {
    (void)sig;
    static const char line[] = "chopin: SIGUSR2: worker threads in one process have no worker processes to "
                               "restart; serving on\n";
    say(line, sizeof line - 1);
}

/* SIGHUP in a program that takes the stop signals itself: nobody waits on
 * the pipe there, so the handler asks the supervisors directly. */
static void on_hup_roll(int sig) {
    (void)sig;
    static const char line[] = "chopin: SIGHUP: the supervisor restarts the worker processes one at a time (with TLS: reloads the certificate)\n";
    if (chopin__supervisor_hup_seen()) say(line, sizeof line - 1);
}

static void on_usr2_roll(int sig) {
    (void)sig;
    static const char line[] = "chopin: SIGUSR2, restarting the worker processes one at a time\n";
    if (chopin__supervisor_roll_asked()) say(line, sizeof line - 1);
}

static void handle(int sig, void (*handler)(int)) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

/* Whether SIGHUP is still the program's to take: its default action, or
 * the harmless line below (nobody else installed a handler). */
static int hup_unclaimed(void) {
    struct sigaction old;
    return sigaction(SIGHUP, NULL, &old) == 0 && !(old.sa_flags & SA_SIGINFO) &&
           (old.sa_handler == SIG_DFL || old.sa_handler == on_hup_without_workers ||
            old.sa_handler == on_hup_tls_threads);
}

/* The same for SIGUSR2 (nobody else installed a handler). */
static int usr2_unclaimed(void) {
    struct sigaction old;
    return sigaction(SIGUSR2, NULL, &old) == 0 && !(old.sa_flags & SA_SIGINFO) &&
           (old.sa_handler == SIG_DFL || old.sa_handler == on_usr2_without_workers);
}

void chopin__signals_install(int role) {
    if (role == CHOPIN_SIGNALS_WORKER_OF_PROGRAM) {
        signal(SIGINT, SIG_IGN);
        if (hup_unclaimed()) signal(SIGHUP, SIG_IGN);
        if (usr2_unclaimed()) signal(SIGUSR2, SIG_IGN);
        return;
    }
    if (role == CHOPIN_SIGNALS_ROLL_ONLY) {
        sigset_t rolls;
        sigemptyset(&rolls);
        if (hup_unclaimed()) {
            handle(SIGHUP, on_hup_roll);
            sigaddset(&rolls, SIGHUP);
        }
        if (usr2_unclaimed()) {
            handle(SIGUSR2, on_usr2_roll);
            sigaddset(&rolls, SIGUSR2);
        }
        pthread_sigmask(SIG_UNBLOCK, &rolls, NULL);
        return;
    }
    pthread_once(&pipe_once, make_pipe);
    atomic_store(&installed_role, role);
    if (role == CHOPIN_SIGNALS_WORKER) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_worker_term;
        sa.sa_flags = SA_RESTART | SA_SIGINFO;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
    } else {
        handle(SIGTERM, on_signal);
    }
    /* A program started by one whose thread blocked these (a Dispatch or
     * Swift concurrency thread blocks them all) inherits that mask: without
     * this, SIGTERM would wait forever instead of stopping the server. */
    sigset_t ours;
    sigemptyset(&ours);
    sigaddset(&ours, SIGTERM);
    if (role != CHOPIN_SIGNALS_WORKER) sigaddset(&ours, SIGINT);
    if (role != CHOPIN_SIGNALS_WORKER) sigaddset(&ours, SIGHUP);
    if (role == CHOPIN_SIGNALS_SUPERVISOR) sigaddset(&ours, SIGUSR2);
    pthread_sigmask(SIG_UNBLOCK, &ours, NULL);
    if (role == CHOPIN_SIGNALS_WORKER) {
        /* A worker stops when its supervisor says so: Ctrl-C in a terminal
         * reaches the whole process group, and the supervisor handles it. */
        signal(SIGINT, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        if (usr2_unclaimed()) signal(SIGUSR2, SIG_IGN);
        return;
    }
    handle(SIGINT, on_signal);
    /* A supervisor rolls its workers; a server of threads says there is
     * nothing to reload, unless the program handles SIGHUP itself (to
     * reopen its logs, say): that handler is left alone. */
    if (role == CHOPIN_SIGNALS_SUPERVISOR || hup_unclaimed()) handle(SIGHUP, on_signal);
    if (role == CHOPIN_SIGNALS_SUPERVISOR && usr2_unclaimed()) handle(SIGUSR2, on_signal);
}

void chopin__signals_hup_harmless(int tls) {
    if (hup_unclaimed()) handle(SIGHUP, tls ? on_hup_tls_threads : on_hup_without_workers);
    if (usr2_unclaimed()) handle(SIGUSR2, on_usr2_without_workers);
}

int chopin__signals_wait(void) {
    for (;;) {
        unsigned char c;
        ssize_t r = read(pipe_fds[0], &c, 1);
        if (r == 1) return c;
        if (r < 0 && errno != EAGAIN && errno != EINTR) return SIGTERM;
        /* The pipe is non-blocking (a handler must never block on it): wait. */
        struct pollfd pfd = {.fd = pipe_fds[0], .events = POLLIN};
        poll(&pfd, 1, -1);
    }
}
