/* supervisor_state.h - the supervisor's state, shared by its loop
 * (supervisor.c) and the starting of one worker process (spawn.c). */
#ifndef CHOPIN_PROCESS_SUPERVISOR_STATE_H
#define CHOPIN_PROCESS_SUPERVISOR_STATE_H

#include "process.h"

#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <time.h>

#define KILL_GRACE_MS 1500     /* after the stop's deadline, stragglers get SIGKILL */
/* A worker that dies this soon after serving (or before) dies young; the
 * third young death in a row starts the backoff. A crash loop (a start that
 * fails, a poison request retried at once) dies within milliseconds; a
 * worker that trapped a few times a second still serves between its deaths
 * and is restarted at once. */
#define YOUNG_MS 50
#define BACKOFF_AFTER 3
#define BACKOFF_FIRST_MS 100
#define NO_PIDFD_POLL_MS 10 /* without pidfd_open, how often waitpid looks for a death */
#define BACKOFF_MAX_MS 2000 /* a slot is never empty longer than this for backoff */
#define LINE_BYTES 2048

enum proc_role { P_NONE, P_STARTING, P_SERVING, P_DRAINING };

typedef struct sv_proc {
    int role;
    pid_t pid;
    int pidfd;
    int err_fd; /* the read end of its stderr */
    uint64_t started_ms, ready_ms;
    char line[LINE_BYTES]; /* an unfinished line of its stderr */
    size_t line_len;
    char fatal[512]; /* the last line it wrote that says "Fatal error" */
    int timed_out;   /* killed for not serving within worker_start_timeout_ms */
} sv_proc;

/* One process the supervisor keeps running: a worker process serves worker
 * slots first..first+count-1 (one with isolation processes, all of them with
 * shared_process), a thread and a listener for each. */
typedef struct sv_unit {
    uint32_t first, count;
    sv_proc proc[CHOPIN_SLOT_BLOCKS]; /* by the counter block it writes */
    uint32_t streak;                  /* young deaths in a row */
    uint32_t next_block;              /* where the slot's next process counts */
    int restart_due;
    uint64_t restart_at_ms;
    uint64_t died_at_ms; /* a crash's time, until its replacement serves */
} sv_unit;

struct chopin_supervisor {
    const chopin_config *cfg;
    uint32_t n; /* units */
    const int *listen_fds; /* one per worker slot */
    const chopin_slots *slots;
    sv_unit *unit;
    char exe[PATH_MAX];
    /* The last build known to serve (the program at start, then each roll
     * that succeeded), held open: after a failed roll, a worker that dies is
     * restarted from it, not from the build on disk that could not start. */
    int good_exe_fd;
    int roll_failed; /* since the last roll that succeeded */
    char *cmdline; /* the program's arguments, NUL-separated, and argv over them */
    char **argv;
    int wake_fd;
    int _Atomic stop_requested;
    int _Atomic roll_requested;
    int watches_hups; /* config.leave_signals: SIGHUP comes as a count (see hups_seen) */
    uint32_t hups_handled;
    uint32_t rolls_handled; /* the same for SIGUSR2 (rolls_asked) */
    int _Atomic rolling;
    pthread_t thread;
    sem_t started;
    int starting; /* the first start is under way */
    int start_failed;
    char start_err[256];
    uint64_t start_deadline_ms;
    int stopping;
    uint64_t kill_at_ms;
    int roll_unit; /* the unit a rolling restart is at, -1 when none */
    pid_t roll_pid; /* the replacement the roll started there (a crash restart of the unit is not it) */
};

static inline uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* spawn.c. unit_name: how the log names unit u ("worker 3", or "the worker
 * process" when one process serves every worker), in out; spawn_unit:
 * starts unit u's process (a failure to start is logged and retried after
 * a backoff); read_stderr: forwards what process p wrote to its stderr,
 * line by line, keeping the last "Fatal error" line; describe: a wait
 * status in words ("SIGILL (Illegal instruction)", "exit status 3"). */
const char *chopin__sv_unit_name(const chopin_supervisor *sv, uint32_t u, char *out, size_t len);
void chopin__sv_spawn_unit(chopin_supervisor *sv, uint32_t u);
void chopin__sv_read_stderr(sv_proc *p);
void chopin__sv_describe(int status, char *out, size_t len);

#endif
