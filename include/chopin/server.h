/* server.h - configuration, lifecycle and metrics of a Chopin server.
 *
 * One worker thread per core, each with its own SO_REUSEPORT listener, event
 * loop (io_uring or epoll), connection slab, buffers, Date cache and metrics
 * block. Nothing writable is shared between workers. */
#ifndef CHOPIN_SERVER_H
#define CHOPIN_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "chopin/http.h"
#include "chopin/connection.h"
#include "chopin/response.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum chopin_backend_kind {
    CHOPIN_BACKEND_AUTO = 0, /* io_uring when it can be set up, else epoll */
    CHOPIN_BACKEND_URING = 1,
    CHOPIN_BACKEND_EPOLL = 2,
} chopin_backend_kind;

/* Called once per complete request, on the worker thread that owns the
 * connection. req and res are valid only during the call (see
 * chopin_response_defer to answer later). */
typedef void (*chopin_handler_fn)(void *ctx, const chopin_request *req, chopin_response *res);

/* Where a trap in a handler stops (see isolation.h). */
typedef enum chopin_isolation {
    CHOPIN_ISOLATION_THREADS = 0,   /* worker threads in one process: a trap ends the process */
    CHOPIN_ISOLATION_PROCESSES = 1, /* a process per worker under a supervisor: a trap ends one worker,
                                       which is restarted; each worker has its own memory */
    CHOPIN_ISOLATION_SHARED_PROCESS = 2, /* the worker threads in one process under a supervisor: a trap
                                            ends that process (the requests in flight on every worker),
                                            which is restarted; the workers share its memory */
} chopin_isolation;

typedef struct chopin_config {
    const char *host;            /* IPv4 or IPv6 literal; default "0.0.0.0" */
    uint16_t port;               /* 0: an ephemeral port (see chopin_server_port) */
    uint32_t workers;            /* 0: one per CPU in the process's affinity mask */
    chopin_backend_kind backend; /* the environment variable CHOPIN_BACKEND overrides */
    int pin_workers;             /* pin worker i to the i-th allowed CPU */
    int quiet;                   /* no startup log line */
    int no_listener;             /* threads only: bind nothing; connections come from chopin_server_adopt */
    int leave_signals;           /* the program takes SIGINT and SIGTERM itself (a ServiceGroup) and calls
                                    chopin_server_stop: no handler for them here; a supervisor takes
                                    SIGHUP (a rolling restart) unless the program handles it */

    uint32_t max_connections;    /* per worker; accept pauses when full (default 16384) */
    uint32_t max_request_line;   /* bytes; over it 414 (default 8192) */
    uint32_t max_head_bytes;     /* request line + headers; over it 431 (default 16384) */
    uint32_t max_headers;        /* header count; over it 431 (default 100) */
    uint64_t max_body;           /* bytes; over it 413, sent before reading the body (default 1 MiB) */
    uint32_t max_chunk_ext;      /* bytes of extensions on one chunk line (default 1024) */
    uint32_t max_trailer;        /* bytes of the trailer section (default 8192) */
    uint32_t max_pending_output; /* bytes of responses queued for a client that does not
                                    read; past it, reads pause (default 256 KiB) */
    uint32_t max_pipelined;      /* requests of one connection handled per loop turn; the
                                    rest wait, unread, for the next turn (default 32) */
    uint64_t max_streamed_body;  /* bytes of a body taken as a stream (see body_stream);
                                    over it 413 (default 1 GiB) */

    uint32_t uring_buffers;     /* io_uring: receive buffers per worker, a power of two
                                   (default 512); when all are in use, receives wait */
    uint32_t uring_buffer_size; /* io_uring: bytes per receive buffer (default 8192) */

    uint32_t header_timeout_ms;   /* from a request's first byte to its last header (default 10 s) */
    uint32_t body_timeout_ms;     /* from the head to the body's last byte (default 30 s) */
    uint32_t idle_timeout_ms;     /* keep-alive connection with nothing to do (default 60 s) */
    uint32_t write_timeout_ms;    /* a response that makes no progress (default 30 s) */
    uint32_t shutdown_timeout_ms; /* graceful stop's deadline (default 10 s) */
    uint32_t drain_ms;            /* before a stop: readiness says 503, all else served (default 3 s; 0: none) */
    uint32_t worker_start_timeout_ms; /* worker processes: a started worker serves within this, or its
                                         start (the server's, a rolling restart's step) fails (default 60 s) */

    /* Lingering close: after an error response (or a last response with request
     * bytes left unread), the server shuts down its write side and keeps reading
     * and discarding, so the client reads the response instead of a reset. */
    uint32_t linger_timeout_ms; /* at most this long after the response (default 5 s; 0: close at once) */
    uint32_t max_linger_bytes;  /* and at most this many bytes discarded (default 4 MiB) */

    /* Deferred responses (chopin_response_defer), per worker. */
    uint32_t max_deferred;        /* in flight at once; past it, requests wait unread (default 1024);
                                   * an open WebSocket stops counting once upgraded */
    uint32_t deferred_timeout_ms; /* not finished by then: the client gets 503 and the
                                     deferral's cancel runs (default 30 s) */

    /* Per-route metrics (chopin_response_record_route): how many route
     * indices each worker counts answers of, by status class (0: none, and
     * no memory for them). */
    uint32_t route_metrics;

    /* HTTPS (tls.h): every connection speaks TLS first. NULL: plain HTTP,
     * and nothing of OpenSSL runs. The server does not own it. */
    struct chopin_tls *tls;
    uint32_t tls_handshake_timeout_ms; /* from accept to the handshake's end (default 10 s) */
    uint32_t max_tls_handshakes;       /* per worker in progress at once; past it, accepting
                                          waits for one to end (default 256) */

    chopin_handler_fn handler;
    void *handler_ctx;

    /* Optional: asked once a request head with a body is parsed, before the
     * body is read. Nonzero: the handler is called at once, with an empty
     * body and req->body_streamed set, and takes the body piece by piece
     * (chopin_deferred_take_body); max_streamed_body is its limit instead of
     * max_body, and body_timeout_ms counts from the last piece. */
    int (*body_stream)(void *handler_ctx, const chopin_request *req);

    /* Optional hooks, each run on the worker's own thread, that let another
     * runtime (Swift's executors) do its work on the worker's loop:
     * worker_start once before the first request, returning the worker's
     * state (chopin_response_worker_state hands it to handlers);
     * worker_turn once per loop turn, returning nonzero while it has more
     * queued (the loop then does not sleep); worker_stop as the worker ends. */
    void *(*worker_start)(void *handler_ctx, chopin_worker *worker, uint32_t index);
    int (*worker_turn)(void *state);
    void (*worker_stop)(void *state);
    /* Nonzero: worker_turn runs only in the turns after
     * chopin_worker_ask_turn was called (and while it says more is queued,
     * and once as the worker ends), not in every turn: a loop that answers
     * synchronous requests then spends nothing on it. */
    int worker_turn_when_asked;
    /* The body of the answers the core gives on its own, before any handler
     * runs (400, 408, 413, 414, 417, 431, 501, 505): sets *content_type
     * (NUL-terminated), *body and *len for status and returns 1, or returns 0
     * for an empty body. On the worker thread; what it points at must last
     * as long as the server. NULL: empty bodies. */
    int (*error_body)(void *handler_ctx, int status, const char **content_type, const void **body, size_t *len);

    /* Threads (the default here) or supervised worker processes; the
     * program must then call chopin_server_start from main the same way in
     * every process (see isolation.h). */
    chopin_isolation isolation;
} chopin_config;

/* Fills in every default. */
void chopin_config_init(chopin_config *cfg);

/* Checks a configuration. Returns 0, or -1 with a readable reason in err. */
int chopin_config_validate(const chopin_config *cfg, char *err, size_t err_len);

/* Parses "auto", "uring"/"io_uring" or "epoll"; -1 when none. */
int chopin_backend_parse(const char *name, chopin_backend_kind *out);

typedef struct chopin_server chopin_server;

/* Binds, starts the workers and returns once all of them serve.
 * Returns NULL with a readable reason in err on failure. */
chopin_server *chopin_server_start(const chopin_config *cfg, char *err, size_t err_len);

/* The bound port (useful with port 0). */
uint16_t chopin_server_port(const chopin_server *srv);

/* Serves a connection the caller made: fd (one end of a socketpair, say;
 * made non-blocking here) is handed to a worker, which owns and closes it.
 * Threads mode only (-EINVAL otherwise); -ESHUTDOWN once the server stops.
 * Safe from any thread. In-process tests use it with no_listener. */
int chopin_server_adopt(chopin_server *srv, int fd);

/* "io_uring" or "epoll", and the reason auto chose it. */
const char *chopin_server_backend(const chopin_server *srv);
const char *chopin_server_backend_reason(const chopin_server *srv);
uint32_t chopin_server_workers(const chopin_server *srv);

/* The drain period before a stop, for load balancers: chopin_server_draining
 * says 1 at once (the readiness route answers 503) while every request is
 * still served and the listeners still accept; returns after drain_ms (at
 * once with drain_ms 0, in a worker process, or when a stop has begun).
 * Then call chopin_server_stop. Blocks the caller; not for signal handlers. */
void chopin_server_drain(chopin_server *srv);

/* The same without the wait, for a caller that waits its own way (an async
 * task): begins the drain and returns how many ms to wait before
 * chopin_server_stop; 0 when there is nothing to wait for (as above, or a
 * drain already began). */
uint32_t chopin_server_drain_begin(chopin_server *srv);

/* Begins a graceful stop: stop accepting, finish in-flight requests (their
 * responses carry Connection: close), close idle connections. Safe from any
 * thread and from a signal handler. */
void chopin_server_stop(chopin_server *srv);

/* Waits for every worker to finish (after a stop, or at the deadline), then
 * frees the server. Returns 0; or 1 when a worker was still busy (a handler
 * that did not return) at the stop's deadline: the call returns anyway and
 * leaves the server allocated until that worker ends (it frees it then), so
 * the caller must not free what handlers use. Either way srv is the
 * caller's no longer. */
int chopin_server_wait(chopin_server *srv);

/* Blocks until SIGINT or SIGTERM and returns which (logged); stops nothing.
 * Whichever thread the signal is delivered to, it is seen here; a second
 * SIGINT or SIGTERM after that ends the process at once. A supervisor (see
 * isolation.h) also takes SIGHUP here: a rolling restart (a certificate
 * reload with TLS, in every mode), then it waits on; and SIGUSR2, always a
 * rolling restart. */
int chopin_server_await_signal(chopin_server *srv);

/* Blocks until SIGINT or SIGTERM, stops gracefully, waits, frees the server. */
int chopin_server_run_until_signal(chopin_server *srv);

/* Loads the certificate and key of cfg.tls again from their files (see
 * chopin_tls_reload): new connections use them, established ones keep
 * theirs, in every isolation mode (a supervisor checks them first, then its
 * worker processes load their own before their next connection). SIGHUP
 * does the same for a server with TLS. 0, or -1 with the reason in err
 * (the old certificate stays in use). */
int chopin_server_tls_reload(chopin_server *srv, char *err, size_t err_len);

/* Counters summed over the workers' own blocks. */
typedef struct chopin_metrics {
    uint64_t requests;
    uint64_t bytes_in;
    uint64_t bytes_out;
    uint64_t accepted;
    uint64_t closed;
    uint64_t active;
    uint64_t responses_4xx;
    uint64_t responses_5xx;
    uint64_t parse_errors;
    uint64_t timeouts;
    uint64_t buffer_bytes;      /* held now by connections for unfinished input and unsent output */
    uint64_t recv_buffer_waits; /* io_uring receives that found every receive buffer in use */
    uint64_t buffer_heap_allocations; /* buffers taken from the heap: the pool growing, a buffer outgrowing a block */
    uint64_t restarts;          /* worker processes that died and were started again */
    uint64_t rolling_restart_failures; /* replacements of a rolling restart that never served */
    uint64_t tls_kernel;        /* TLS connections whose write keys went to the kernel (kTLS) */
    uint64_t tls_failures;      /* TLS handshakes (and sessions) that failed: a bad record, a refused certificate, no common suite */
} chopin_metrics;

void chopin_server_metrics(const chopin_server *srv, chopin_metrics *out);

#ifdef __cplusplus
}
#endif
#endif
