/* server.c - configuration, listeners, worker threads, signals, metrics.
 *
 * The server knows no HTTP: it binds one SO_REUSEPORT listener per worker,
 * picks the backend, starts the threads and waits for them. */
#include "internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

struct chopin_server {
    chopin_config cfg;
    char host[64]; /* the caller's string need not outlive start */
    uint32_t nworkers;
    chopin_worker *workers;
    chopin_worker_metrics *metrics; /* one aligned block per worker */
    uint16_t port;
    const chopin_backend_ops *ops;
    char backend_reason[160];
    sem_t started; /* each worker posts once its set-up is done */
};

void chopin_config_init(chopin_config *c) {
    memset(c, 0, sizeof *c);
    c->host = "0.0.0.0";
    c->port = 8080;
    c->workers = 0;
    c->backend = CHOPIN_BACKEND_AUTO;
    c->max_connections = 16384;
    c->max_request_line = 8192;
    c->max_head_bytes = 16384;
    c->max_headers = 100;
    c->max_body = 1u << 20;
    c->max_chunk_ext = 1024;
    c->max_trailer = 8192;
    c->max_pending_output = 256u << 10;
    c->max_pipelined = 32;
    c->max_streamed_body = 1ull << 30;
    c->uring_buffers = 512;
    c->uring_buffer_size = 8192;
    c->header_timeout_ms = 10000;
    c->body_timeout_ms = 30000;
    c->idle_timeout_ms = 60000;
    c->write_timeout_ms = 30000;
    c->shutdown_timeout_ms = 10000;
    c->linger_timeout_ms = 5000;
    c->max_linger_bytes = 4u << 20;
    c->max_deferred = 1024;
    c->deferred_timeout_ms = 30000;
}

int chopin_backend_parse(const char *name, chopin_backend_kind *out) {
    if (!name) return -1;
    if (strcmp(name, "auto") == 0)
        *out = CHOPIN_BACKEND_AUTO;
    else if (strcmp(name, "uring") == 0 || strcmp(name, "io_uring") == 0)
        *out = CHOPIN_BACKEND_URING;
    else if (strcmp(name, "epoll") == 0)
        *out = CHOPIN_BACKEND_EPOLL;
    else
        return -1;
    return 0;
}

static int parse_host(const char *host, uint16_t port, struct sockaddr_storage *ss, socklen_t *len) {
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        *len = sizeof *a4;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        *len = sizeof *a6;
        return 0;
    }
    return -1;
}

#define FAIL(...)                                                                                                      \
    do {                                                                                                               \
        snprintf(err, err_len, __VA_ARGS__);                                                                           \
        return -1;                                                                                                     \
    } while (0)

int chopin_config_validate(const chopin_config *c, char *err, size_t err_len) {
    struct sockaddr_storage ss;
    socklen_t sl;
    if (!c->host || parse_host(c->host, c->port, &ss, &sl) < 0)
        FAIL("host '%s' is not an IPv4 or IPv6 address", c->host ? c->host : "(null)");
    if (!c->handler) FAIL("no handler: set config.handler");
    if (c->workers > 1024) FAIL("workers is %u; at most 1024", c->workers);
    if (c->backend != CHOPIN_BACKEND_AUTO && c->backend != CHOPIN_BACKEND_URING && c->backend != CHOPIN_BACKEND_EPOLL)
        FAIL("backend must be auto, uring or epoll");
    if (c->max_connections < 1 || c->max_connections > (1u << 24))
        FAIL("max_connections is %u; it must be between 1 and 16777216", c->max_connections);
    if (c->max_request_line < 16) FAIL("max_request_line is %u; at least 16 bytes", c->max_request_line);
    if (c->max_head_bytes < c->max_request_line)
        FAIL("max_head_bytes (%u) must be at least max_request_line (%u)", c->max_head_bytes, c->max_request_line);
    if (c->max_head_bytes > (64u << 20)) FAIL("max_head_bytes is %u; at most 64 MiB", c->max_head_bytes);
    if (c->max_headers < 1 || c->max_headers > 65536) FAIL("max_headers is %u; between 1 and 65536", c->max_headers);
    if (c->max_body > (1ull << 31)) FAIL("max_body is %llu; at most 2 GiB", (unsigned long long)c->max_body);
    if (c->max_pending_output < 1024) FAIL("max_pending_output is %u; at least 1024 bytes", c->max_pending_output);
    if (c->max_pipelined < 1) FAIL("max_pipelined must be at least 1");
    if (c->uring_buffers < 1 || c->uring_buffers > 32768 || (c->uring_buffers & (c->uring_buffers - 1)))
        FAIL("uring_buffers is %u; a power of two from 1 to 32768", c->uring_buffers);
    if (c->uring_buffer_size < 512 || c->uring_buffer_size > (1u << 20))
        FAIL("uring_buffer_size is %u; between 512 and 1048576 bytes", c->uring_buffer_size);
    if (!c->header_timeout_ms || !c->body_timeout_ms || !c->idle_timeout_ms || !c->write_timeout_ms ||
        !c->deferred_timeout_ms)
        FAIL("timeouts must be above 0 ms");
    if (c->max_deferred < 1) FAIL("max_deferred must be at least 1");
    return 0;
}

static int allowed_cpus(int *cpus, int max) {
    cpu_set_t set;
    int n = 0;
    if (sched_getaffinity(0, sizeof set, &set) < 0) return 0;
    for (int i = 0; i < CPU_SETSIZE && n < max; i++)
        if (CPU_ISSET(i, &set)) cpus[n++] = i;
    return n;
}

/* SO_REUSEPORT would let this server share a port silently with another
 * process already on it (same user), splitting its traffic. A plain bind
 * first, without SO_REUSEPORT, fails in that case: say so instead. */
static int port_in_use(const chopin_config *c, uint16_t port) {
    struct sockaddr_storage ss;
    socklen_t sl;
    parse_host(c->host, port, &ss, &sl);
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int taken = bind(fd, (struct sockaddr *)&ss, sl) < 0 && errno == EADDRINUSE;
    close(fd);
    return taken;
}

static int open_listener(const chopin_config *c, uint16_t port, uint16_t *bound, char *err, size_t err_len) {
    struct sockaddr_storage ss;
    socklen_t sl;
    parse_host(c->host, port, &ss, &sl);
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) FAIL("socket: %s", strerror(errno));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) {
        snprintf(err, err_len, "SO_REUSEPORT: %s", strerror(errno));
        close(fd);
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 4096) < 0) {
        snprintf(err, err_len, "cannot listen on %s:%u: %s", c->host, port, strerror(errno));
        close(fd);
        return -1;
    }
    struct sockaddr_storage got;
    socklen_t gl = sizeof got;
    getsockname(fd, (struct sockaddr *)&got, &gl);
    *bound = ntohs(got.ss_family == AF_INET ? ((struct sockaddr_in *)&got)->sin_port
                                            : ((struct sockaddr_in6 *)&got)->sin6_port);
    return fd;
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

static void server_free(chopin_server *s) {
    for (uint32_t i = 0; s->workers && i < s->nworkers; i++) {
        if (s->workers[i].listen_fd >= 0) close(s->workers[i].listen_fd);
        if (s->workers[i].wake_fd >= 0) close(s->workers[i].wake_fd);
    }
    sem_destroy(&s->started);
    free(s->workers);
    free(s->metrics);
    free(s);
}

chopin_server *chopin_server_start(const chopin_config *cfg, char *err, size_t err_len) {
    if (chopin_config_validate(cfg, err, err_len) < 0) return NULL;
    chopin_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    s->cfg = *cfg;
    snprintf(s->host, sizeof s->host, "%s", cfg->host);
    s->cfg.host = s->host;
    sem_init(&s->started, 0, 0);

    int cpus[CPU_SETSIZE];
    int ncpus = allowed_cpus(cpus, CPU_SETSIZE);
    s->nworkers = cfg->workers ? cfg->workers : (uint32_t)(ncpus > 0 ? ncpus : 1);
    s->ops = choose_backend(s, err, err_len);
    s->workers = calloc(s->nworkers, sizeof *s->workers);
    s->metrics = aligned_alloc(CHOPIN_CACHELINE, sizeof *s->metrics * s->nworkers);
    if (!s->ops || !s->workers || !s->metrics) {
        if (s->ops) snprintf(err, err_len, "out of memory");
        server_free(s);
        return NULL;
    }
    memset(s->metrics, 0, sizeof *s->metrics * s->nworkers);
    for (uint32_t i = 0; i < s->nworkers; i++)
        s->workers[i].listen_fd = s->workers[i].wake_fd = -1;

    /* Listeners first, on the main thread: with port 0 the first one picks
     * the port and the others join it. */
    uint16_t port = cfg->port;
    if (port != 0 && port_in_use(cfg, port)) {
        snprintf(err, err_len, "cannot listen on %s:%u: the address is already in use by another socket", cfg->host,
                 port);
        server_free(s);
        return NULL;
    }
    for (uint32_t i = 0; i < s->nworkers; i++) {
        chopin_worker *w = &s->workers[i];
        w->listen_fd = open_listener(cfg, port, &port, err, err_len);
        w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (w->listen_fd < 0 || w->wake_fd < 0) {
            if (w->wake_fd < 0) snprintf(err, err_len, "eventfd: %s", strerror(errno));
            server_free(s);
            return NULL;
        }
        w->started = worker_started;
        w->started_arg = &s->started;
        w->cfg = &s->cfg;
        w->ops = s->ops;
        w->id = i;
        w->cpu = cfg->pin_workers && ncpus > 0 ? cpus[i % (uint32_t)ncpus] : -1;
        w->metrics = &s->metrics[i];
    }
    s->port = port;

    /* Workers block the stop signals: the thread that waits for them gets them. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    uint32_t started = 0;
    for (; started < s->nworkers; started++) {
        if (pthread_create(&s->workers[started].thread, NULL, chopin__worker_main, &s->workers[started]) != 0) break;
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
        for (uint32_t i = 0; i < started; i++) {
            atomic_store(&s->workers[i].stop_requested, 1);
            if (s->workers[i].init_rc == 0) chopin_worker_wake(&s->workers[i]);
        }
        for (uint32_t i = 0; i < started; i++)
            pthread_join(s->workers[i].thread, NULL);
        server_free(s);
        return NULL;
    }
    if (!cfg->quiet)
        chopin__log("chopin: listening on %s:%u with %u worker%s, backend %s", cfg->host, s->port, s->nworkers,
                    s->nworkers == 1 ? "" : "s", s->backend_reason);
    return s;
}

uint16_t chopin_server_port(const chopin_server *s) { return s->port; }
const char *chopin_server_backend(const chopin_server *s) { return s->ops->name; }
const char *chopin_server_backend_reason(const chopin_server *s) { return s->backend_reason; }
uint32_t chopin_server_workers(const chopin_server *s) { return s->nworkers; }

void chopin_server_stop(chopin_server *s) {
    /* Only an atomic store and write(2): fine in a signal handler. */
    for (uint32_t i = 0; i < s->nworkers; i++) {
        atomic_store_explicit(&s->workers[i].stop_requested, 1, memory_order_release);
        chopin_worker_wake(&s->workers[i]);
    }
}

int chopin_server_wait(chopin_server *s) {
    for (uint32_t i = 0; i < s->nworkers; i++)
        pthread_join(s->workers[i].thread, NULL);
    server_free(s);
    return 0;
}

int chopin_server_await_signal(chopin_server *s) {
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    int sig = 0;
    sigwait(&set, &sig);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!s->cfg.quiet) chopin__log("chopin: %s, stopping gracefully", sig == SIGINT ? "SIGINT" : "SIGTERM");
    return sig;
}

int chopin_server_run_until_signal(chopin_server *s) {
    chopin_server_await_signal(s);
    chopin_server_stop(s);
    return chopin_server_wait(s);
}

const chopin_worker_metrics *chopin__server_metrics_blocks(const chopin_server *s, uint32_t *count) {
    *count = s->nworkers;
    return s->metrics;
}
