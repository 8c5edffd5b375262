/* worker_env.c - how a worker process is told what it is: the supervisor
 * starts the program itself again, with the same arguments, its listeners
 * and the shared slots at fixed descriptors, and its identity in the
 * CHOPIN_WORKER variable: which of the program's servers (its configured
 * port and host), the worker slots it serves, the block and the descriptors. Only that server becomes the worker, and then
 * removes the variable, so that none of the program's own children
 * believes it is one; the program's other servers stay dormant there. */
#include "process.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

int chopin_is_worker_process(void) { return getenv("CHOPIN_WORKER") != NULL; }

int chopin__worker_identity(chopin_worker_identity *id, char *err, size_t err_len) {
    const char *v = getenv("CHOPIN_WORKER");
    if (!v) return 0;
    int pid = 0;
    if (sscanf(v, "slot=%u count=%u block=%u listen=%d slots=%d supervisor=%d port=%u host=%63s", &id->slot,
               &id->count, &id->block, &id->listen_fd, &id->shm_fd, &pid, &id->port, id->host) != 8 ||
        id->count < 1 || id->count > 1024 || id->block >= CHOPIN_SLOT_BLOCKS || id->listen_fd < 0 || id->shm_fd < 0) {
        snprintf(err, err_len,
                 "CHOPIN_WORKER='%s' is not what this Chopin's supervisor sets (a supervisor from another version?)",
                 v);
        return -1;
    }
    id->supervisor = pid;
    return 1;
}

void chopin__worker_identity_taken(void) { unsetenv("CHOPIN_WORKER"); }

/* The environment of a worker: the supervisor's, with the worker's
 * identity, and Swift's crash backtracer off unless the user set it (it
 * symbolicates for seconds before the process ends, and the slot would
 * wait that long for its replacement). */
char **chopin__worker_env(const chopin_config *cfg, uint32_t slot, uint32_t count, uint32_t block, char *identity,
                          size_t identity_len) {
    size_t n = 0;
    while (environ[n]) n++;
    char **env = calloc(n + 3, sizeof *env);
    if (!env) return NULL;
    size_t k = 0;
    int backtrace_set = 0;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(environ[i], "CHOPIN_WORKER=", 14) == 0) continue;
        if (strncmp(environ[i], "SWIFT_BACKTRACE=", 16) == 0) backtrace_set = 1;
        env[k++] = environ[i];
    }
    snprintf(identity, identity_len,
             "CHOPIN_WORKER=slot=%u count=%u block=%u listen=%d slots=%d supervisor=%d port=%u host=%s", slot, count,
             block, WORKER_FIRST_LISTEN_FD, WORKER_SLOTS_FD, (int)getpid(), (unsigned)cfg->port, cfg->host);
    env[k++] = identity;
    if (!backtrace_set) env[k++] = "SWIFT_BACKTRACE=enable=no";
    env[k] = NULL;
    return env;
}

int chopin__read_cmdline(char **cmdline, char ***argv) {
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) break;
        if (len + 1 >= cap) {
            char *bigger = realloc(buf, cap *= 2);
            if (!bigger) break;
            buf = bigger;
        }
        ssize_t r = read(fd, buf + len, cap - len - 1);
        if (r <= 0) break;
        len += (size_t)r;
    }
    close(fd);
    if (!buf || len == 0) {
        free(buf);
        return -1;
    }
    buf[len] = 0;
    size_t argc = 0;
    for (size_t k = 0; k < len; k++) argc += buf[k] == 0;
    *argv = calloc(argc + 2, sizeof **argv);
    if (!*argv) {
        free(buf);
        return -1;
    }
    size_t a = 0;
    for (size_t k = 0; k < len; k += strlen(buf + k) + 1) (*argv)[a++] = buf + k;
    *cmdline = buf;
    return 0;
}
