/* spawn.c - one worker process of a supervisor: started with posix_spawn
 * of the program itself (never fork() after threads exist), its shared
 * slots and listeners at the descriptors it expects and its identity in
 * CHOPIN_WORKER; its stderr read line by line and forwarded; and how its
 * end is told in the log. */
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

/* How the log names unit u: "worker 3", or with every worker in one
 * process "the worker process". */
const char *chopin__sv_unit_name(const chopin_supervisor *sv, uint32_t u, char *out, size_t len) {
    if (sv->unit[u].count == 1)
        snprintf(out, len, "worker %u", sv->unit[u].first);
    else
        snprintf(out, len, "the worker process");
    return out;
}

static int spawn(chopin_supervisor *sv, uint32_t u, uint32_t b) {
    sv_unit *unit = &sv->unit[u];
    sv_proc *p = &unit->proc[b];
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) < 0) return -errno;
    /* Above the numbers the worker's descriptors are moved to. */
    int err_w = fcntl(pipe_fds[1], F_DUPFD_CLOEXEC, (int)(WORKER_FIRST_LISTEN_FD + sv->slots->count + 10));
    close(pipe_fds[1]);
    if (err_w < 0) {
        close(pipe_fds[0]);
        return -errno;
    }
    fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK);

    char identity[192];
    char **env = chopin__worker_env(sv->cfg, unit->first, unit->count, b, identity, sizeof identity);
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    /* Every source descriptor is above every target (server.c opens them
     * so), so no move overwrites one still to be moved. */
    int moves = posix_spawn_file_actions_adddup2(&fa, sv->slots->fd, WORKER_SLOTS_FD);
    if (!moves) moves = posix_spawn_file_actions_adddup2(&fa, err_w, STDERR_FILENO);
    for (uint32_t j = 0; j < unit->count && !moves; j++)
        moves = posix_spawn_file_actions_adddup2(&fa, sv->listen_fds[unit->first + j], (int)(WORKER_FIRST_LISTEN_FD + j));
    posix_spawnattr_init(&attr);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGHUP);
    sigaddset(&defaults, SIGCHLD);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid = 0;
    /* The program's path, so that a rolling restart runs the file now on
     * disk (a deploy replaced it); the running image if the path is gone.
     * After a failed roll, only a roll (which tries the file on disk again)
     * runs anything but the last build that served. */
    char good[64];
    const char *path = sv->exe;
    if (sv->roll_failed && sv->good_exe_fd >= 0 && sv->roll_unit < 0) {
        snprintf(good, sizeof good, "/proc/self/fd/%d", sv->good_exe_fd);
        path = good;
    }
    int rc = moves ? moves : env ? posix_spawn(&pid, path, &fa, &attr, sv->argv, env) : ENOMEM;
    if (rc == ENOENT || rc == EACCES) rc = posix_spawn(&pid, "/proc/self/exe", &fa, &attr, sv->argv, env);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    free(env);
    close(err_w);
    if (rc != 0) {
        close(pipe_fds[0]);
        return -rc;
    }
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    /* Kernels before 5.3 (and valgrind) have no pidfd_open: then a death
     * is seen as its stderr pipe's hangup, and by a waitpid every
     * NO_PIDFD_POLL_MS whatever happens (see the loop). */
    if (pidfd < 0 && errno != ENOSYS) {
        /* Without it the death could not be seen: do not run it blind. */
        int e = errno;
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        close(pipe_fds[0]);
        return -e;
    }
    memset(p, 0, sizeof *p);
    p->role = P_STARTING;
    p->pid = pid;
    p->pidfd = pidfd;
    p->err_fd = pipe_fds[0];
    p->started_ms = now_ms();
    return 0;
}

/* Starts unit u's next process in a block no live process of it writes. */
void chopin__sv_spawn_unit(chopin_supervisor *sv, uint32_t u) {
    sv_unit *s = &sv->unit[u];
    s->restart_due = 0;
    /* Blocks in turn: a dead worker's block stays as it left it (settled)
     * until the unit's next start. */
    for (uint32_t k = 0; k < CHOPIN_SLOT_BLOCKS; k++) {
        uint32_t b = (s->next_block + k) % CHOPIN_SLOT_BLOCKS;
        if (s->proc[b].role != P_NONE) continue;
        s->next_block = b + 1;
        int rc = spawn(sv, u, b);
        if (rc < 0) {
            char name[64];
            chopin__log("chopin: cannot start %s: %s; trying again", chopin__sv_unit_name(sv, u, name, sizeof name),
                        strerror(-rc));
            s->restart_due = 1;
            s->restart_at_ms = now_ms() + BACKOFF_MAX_MS;
        }
        return;
    }
}

/* One line of a worker's stderr: forwarded as it is, and kept when it is
 * Swift's fatal-error message. */
static void worker_line(sv_proc *p, const char *line, size_t len) {
    ssize_t r = write(STDERR_FILENO, line, len);
    (void)r;
    if (memmem(line, len, "Fatal error", 11)) {
        size_t n = len < sizeof p->fatal - 1 ? len : sizeof p->fatal - 1;
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
        memcpy(p->fatal, line, n);
        p->fatal[n] = 0;
    }
}

void chopin__sv_read_stderr(sv_proc *p) {
    char buf[4096];
    while (p->err_fd >= 0) {
        ssize_t r = read(p->err_fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            if (r < 0 && errno == EAGAIN) return;
            if (p->line_len) worker_line(p, p->line, p->line_len);
            p->line_len = 0;
            close(p->err_fd);
            p->err_fd = -1;
            return;
        }
        for (ssize_t k = 0; k < r; k++) {
            p->line[p->line_len++] = buf[k];
            if (buf[k] == '\n' || p->line_len == sizeof p->line) {
                worker_line(p, p->line, p->line_len);
                p->line_len = 0;
            }
        }
    }
}

void chopin__sv_describe(int status, char *out, size_t len) {
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        const char *abbrev = sigabbrev_np(sig), *what = sigdescr_np(sig);
        snprintf(out, len, "died of SIG%s (%s)", abbrev ? abbrev : "?", what ? what : "unknown signal");
    } else {
        snprintf(out, len, "exited with status %d", WEXITSTATUS(status));
    }
}
