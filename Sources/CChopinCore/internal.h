/* internal.h - the C core's private types: buffers, slab, timer wheel,
 * connections, workers and the backend ops table. Not installed, not seen
 * by Swift. Internal non-static symbols are prefixed chopin__. */
#ifndef CHOPIN_INTERNAL_H
#define CHOPIN_INTERNAL_H

#ifndef _GNU_SOURCE
#error "CChopinCore is built with _GNU_SOURCE (Makefile and Package.swift define it)"
#endif

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "chopin/chopin.h"

#define CHOPIN_CACHELINE 64
#define CHOPIN_NIL UINT32_MAX

/* ---- buffers -------------------------------------------------------------
 * A connection holds buffers only while it has bytes in flight: input that
 * is not a complete request yet, responses not yet sent. They come from a
 * per-worker pool of fixed-size blocks, so steady state allocates nothing;
 * only a buffer that outgrows a block is malloc'd. */
typedef struct chopin_bufpool {
    uint32_t block_size;
    uint32_t nfree;
    uint32_t max_free;
    void **free;
    uint64_t *held; /* bytes handed out, for the metrics (NULL: not counted) */
} chopin_bufpool;

typedef struct chopin_buf {
    char *data;
    uint32_t len; /* bytes filled */
    uint32_t off; /* bytes already consumed (sent, for output) */
    uint32_t cap;
} chopin_buf;

int chopin__pool_init(chopin_bufpool *p, uint32_t block_size, uint32_t max_free);
void chopin__pool_destroy(chopin_bufpool *p);
/* Makes room for `need` bytes in total; pool may be NULL (plain malloc).
 * Returns 0 or -ENOMEM. The check is inline: a response reserves several
 * times and nearly always has the room already; growing is out of line. */
int chopin__buf_grow(chopin_buf *b, chopin_bufpool *pool, size_t need);
static inline int chopin__buf_reserve(chopin_buf *b, chopin_bufpool *pool, size_t need) {
    return need <= b->cap ? 0 : chopin__buf_grow(b, pool, need);
}
int chopin__buf_append(chopin_buf *b, chopin_bufpool *pool, const void *src, size_t n);
/* Drops the first n bytes. */
void chopin__buf_consume(chopin_buf *b, size_t n);
/* Gives the memory back (to the pool when it is a pool block). A block
 * that goes back on the pool's free list, nearly every release, is inline;
 * the rest is chopin__buf_free. */
void chopin__buf_free(chopin_buf *b, chopin_bufpool *pool);
static inline void chopin__buf_release(chopin_buf *b, chopin_bufpool *pool) {
    if (b->data && pool && b->cap == pool->block_size && pool->nfree < pool->max_free) {
        /* Only the owning worker writes held; metric readers load it relaxed. */
        if (pool->held) __atomic_store_n(pool->held, *pool->held - b->cap, __ATOMIC_RELAXED);
        pool->free[pool->nfree++] = b->data;
        b->data = NULL;
        b->len = b->off = b->cap = 0;
        return;
    }
    chopin__buf_free(b, pool);
}

/* ---- slab ------------------------------------------------------------------
 * Connection slots by index: O(1) alloc and free from a free stack, and a
 * generation per slot, bumped on free, so a completion that names a slot and
 * an older generation is recognized as stale and ignored. Slots never used
 * are handed out in ascending order and cost no memory until then. */
typedef struct chopin_slab {
    uint32_t cap;
    uint32_t nfree;  /* free slots in all: on the stack, and never used yet */
    uint32_t fresh;  /* slots [fresh, cap) were never handed out */
    uint32_t nstack; /* freed slots on the stack */
    uint32_t *free;
    uint32_t *gen;
} chopin_slab;

int chopin__slab_init(chopin_slab *s, uint32_t cap);
void chopin__slab_destroy(chopin_slab *s);
/* Returns a slot index, or CHOPIN_NIL when full. */
uint32_t chopin__slab_alloc(chopin_slab *s);
void chopin__slab_free(chopin_slab *s, uint32_t idx);
static inline uint32_t chopin__slab_gen(const chopin_slab *s, uint32_t idx) { return s->gen[idx]; }
static inline uint32_t chopin__slab_used(const chopin_slab *s) { return s->cap - s->nfree; }

/* ---- timer wheel -------------------------------------------------------------
 * One hashed wheel per worker, one timer per connection slot. Arming is
 * lazy: moving a deadline later only stores it, and the entry is moved when
 * its old slot comes round. Expiry visits only the slots whose time has
 * come, so it costs O(expired + moved), never a scan of all connections. */
typedef struct chopin_timer_node {
    uint64_t deadline; /* ms; 0 = disarmed */
    uint64_t tick;     /* tick of the slot it is linked in */
    uint32_t prev, next;
    uint8_t linked;
} chopin_timer_node;

typedef void (*chopin_timer_cb)(void *ctx, uint32_t idx);

typedef struct chopin_wheel {
    chopin_timer_node *nodes;
    uint32_t *slots; /* list heads */
    uint32_t nslots; /* power of two */
    uint32_t tick_ms;
    uint64_t cur_tick; /* every tick <= cur_tick has been processed */
    uint32_t count;    /* linked nodes */
} chopin_wheel;

int chopin__wheel_init(chopin_wheel *w, uint32_t nodes, uint32_t nslots, uint32_t tick_ms, uint64_t now_ms);
void chopin__wheel_destroy(chopin_wheel *w);
void chopin__wheel_set(chopin_wheel *w, uint32_t idx, uint64_t deadline_ms);
void chopin__wheel_cancel(chopin_wheel *w, uint32_t idx);
/* Processes every tick up to now_ms, calling cb for each node whose deadline
 * has passed (the node is disarmed before the call). Returns how many expired. */
uint32_t chopin__wheel_advance(chopin_wheel *w, uint64_t now_ms, chopin_timer_cb cb, void *ctx);
/* Whether a tick has passed since the last advance: a busy loop turns many
 * times a tick, and asking costs less than the call. */
static inline int chopin__wheel_due(const chopin_wheel *w, uint64_t now_ms) { return now_ms / w->tick_ms > w->cur_tick; }
/* Milliseconds until the next tick worth waking for; -1 when nothing is armed. */
int chopin__wheel_timeout(const chopin_wheel *w, uint64_t now_ms);

/* ---- metrics -------------------------------------------------------------------
 * Each worker's own cache line(s). Only the owner writes (plain relaxed
 * stores, no read-modify-write), readers sum with relaxed loads. */
typedef struct chopin_worker_metrics {
    uint64_t requests, bytes_in, bytes_out, accepted, closed;
    uint64_t responses_4xx, responses_5xx, parse_errors, timeouts;
    uint64_t buffer_bytes, recv_buffer_waits;
    /* The latency histogram (metrics.c), on cache lines of its own. */
    uint64_t latency[CHOPIN_LATENCY_BUCKETS] __attribute__((aligned(CHOPIN_CACHELINE)));
    uint64_t latency_sum_ms;
} __attribute__((aligned(CHOPIN_CACHELINE))) chopin_worker_metrics;

#define CHOPIN_COUNT(w, field, n) __atomic_store_n(&(w)->metrics->field, (w)->metrics->field + (n), __ATOMIC_RELAXED)

/* One worker slot's shared state (shm.c). In threads mode it is plain
 * memory; in processes mode it lives in the supervisor's MAP_SHARED region,
 * so counters outlive a worker and any worker reads every slot. Two blocks:
 * during a rolling restart the replacement counts in the block its
 * predecessor does not use, so each block keeps a single writer. */
#define CHOPIN_SLOT_BLOCKS 2
/* An async handler's request as a crash report names it. */
typedef struct chopin_route_name {
    char method[20];
    char route[104];
} chopin_route_name;
/* Async handlers in flight that a worker's record lists by name (the
 * report counts the others). */
#define CHOPIN_ASYNC_LISTED 4
typedef struct chopin_handling {
    uint32_t handling;
    char method[20];
    char route[104];
    /* Async handlers run in jobs between other requests' handlers, which
     * clear the synchronous record above, so they keep their own: how many
     * are in flight, up to CHOPIN_ASYNC_LISTED of them by name (bit i of
     * listed: list[i] is one), and, while the worker's thread runs one's
     * job (async_job 1), which one. */
    uint32_t async_running;
    uint32_t async_job;
    chopin_route_name job;
    uint32_t listed;
    chopin_route_name list[CHOPIN_ASYNC_LISTED];
} __attribute__((aligned(CHOPIN_CACHELINE))) chopin_handling;
typedef struct chopin_slot {
    chopin_worker_metrics blocks[CHOPIN_SLOT_BLOCKS];
    /* Per block: the request whose handler runs now (method and route
     * pattern), or handling 0: written by the worker before and after each
     * handler, read by the supervisor after the worker died. */
    chopin_handling now[CHOPIN_SLOT_BLOCKS];
    /* Written by the supervisor only. */
    uint64_t restarts __attribute__((aligned(CHOPIN_CACHELINE)));
    /* The pid of the worker process that serves now: its own store once it
     * accepts, which is what the supervisor waits for. */
    int32_t _Atomic ready_pid;
} __attribute__((aligned(CHOPIN_CACHELINE))) chopin_slot;

/* A response is queued (metrics.c): counts its status class. answered also
 * records its latency, from started_ms (the loop clock when its request was
 * dispatched) to now. */
typedef struct chopin_worker chopin_worker; /* (a C11 repeat of the one below) */
void chopin__metrics_status(chopin_worker *w, int status);
void chopin__metrics_answered(chopin_worker *w, int status, uint64_t started_ms);
/* The server's slots, for the readers in metrics.c (server.c). */
const chopin_slot *chopin__server_slots(const chopin_server *s, uint32_t *count);

/* ---- connections --------------------------------------------------------------
 * Only conn.c changes a connection's state and flags (body_stream.c, which
 * frames a streamed body for it, sets the two CF_BODY_* flags). A backend keeps its own
 * bookkeeping in `io` and `pending_ops` and reports what happened through the
 * chopin__conn_* calls below. */
enum conn_state {
    CONN_FREE = 0, /* slot not in use */
    CONN_HEAD,     /* waiting for (the rest of) a request head, or idle between requests */
    CONN_BODY,     /* head parsed, body incomplete */
    CONN_DEFERRED, /* a handler deferred its response; later requests wait */
    CONN_CLOSING,  /* the last response is queued: input is discarded, close once it is sent */
    CONN_LINGER,   /* last response sent, write side shut: reading and discarding until
                      the client closes, linger_timeout_ms or max_linger_bytes */
    CONN_DEAD,     /* closed; the backend still has operations in flight for it */
    CONN_WEBSOCKET, /* upgraded (101 queued): frames both ways, c->deferral is the handler's
                       (websocket_conn.c frames and delivers) */
};

enum conn_flags {
    CF_READ_PAUSED = 1 << 0,   /* reads stopped: backpressure, a deferral, or requests waiting in `in` */
    CF_SENDING = 1 << 1,       /* tx holds bytes the backend is sending */
    CF_CONTINUE_SENT = 1 << 2, /* 100 Continue already sent for this request */
    CF_PEER_DONE = 1 << 3,     /* the client half-closed: close once what it asked for is sent */
    CF_LINGER = 1 << 4,        /* unread request bytes may follow the last response: linger, then close */
    CF_PENDING_INPUT = 1 << 5, /* `in` may hold complete requests left for later */
    CF_QUOTA = 1 << 6,         /* stopped at max_pipelined: resume on the next loop turn */
    CF_READY = 1 << 7,         /* on the worker's ready list */
    CF_CAP_WAIT = 1 << 8,      /* stopped at max_deferred: resume when a deferral ends */
    CF_WATCH_HUP = 1 << 9,     /* reads paused, but the backend reports the client's FIN
                                  (chopin__conn_hangup): a deferred handler is cancelled if it left */
    CF_HUP_SEEN = 1 << 10,     /* that FIN came after more requests: read them later, watch no more */
    CF_STREAM_FULL = 1 << 11,  /* a stream was told to wait: its drain runs once output is low again */
    CF_BODY_STREAM = 1 << 12,  /* the body of the request last dispatched is still arriving: each
                                  piece goes to the deferral that took it, or is dropped */
    CF_BODY_FULL = 1 << 13,    /* that deferral asked to stop reading until it resumes */
    CF_FILE = 1 << 14,         /* a file body (file_fd) follows what is queued; later requests wait */
    CF_WS_PINGED = 1 << 15,    /* WebSocket: idle_timeout_ms passed and a ping went out; the
                                  next silent period closes */
};

typedef enum timer_kind {
    TK_NONE = 0,
    TK_HEADER,
    TK_BODY,
    TK_IDLE,
    TK_WRITE,
    TK_LINGER,
    TK_DEFERRED,
} timer_kind;

typedef struct chopin_conn {
    int fd;
    uint32_t idx;
    uint32_t gen;
    uint8_t state;        /* conn_state */
    uint8_t timer;        /* timer_kind of the armed deadline */
    uint16_t flags;       /* conn_flags */
    uint8_t io;           /* the backend's own flags */
    uint8_t interest_due; /* the slot is on w->interest_due (kept across connections) */
    uint16_t pending_ops; /* the backend's operations in flight (io_uring) */
    uint32_t discarded;   /* bytes read and dropped since the last response was queued */
    chopin_deferred *deferral; /* the response a handler deferred (state DEFERRED) */
    chopin_buf in;        /* unconsumed input (unfinished tail, or paused requests) */
    chopin_buf out;       /* responses produced, not yet handed to the backend */
    chopin_buf tx;        /* bytes the backend is sending: tx[off..len) */
    uint32_t head_scan;   /* bytes of an unfinished head already searched for its end */
    uint32_t head_parsed; /* length of the unfinished head at the last full parse */
    chopin_chunked chunk; /* progress through a chunked body */
    uint64_t body_left;   /* streamed body with Content-Length: bytes still to come */
    uint64_t body_seen;   /* streamed body: bytes so far (against max_streamed_body) */
    uint64_t requests;    /* served on this connection */
    chopin_peer peer;     /* the client's address, recorded at accept */
    int file_fd;          /* CF_FILE: the file whose bytes [file_off, file_off + file_left) go next */
    uint64_t file_off;
    uint64_t file_left;
    chopin_ws_parser *ws; /* CONN_WEBSOCKET and after: the client's frames (malloc'd at the upgrade) */
} chopin_conn;

/* ---- backends ------------------------------------------------------------------
 * The same small table for io_uring and epoll, shaped around completions:
 * epoll imitates a completed receive cheaply, io_uring cannot imitate
 * readiness cheaply. Backends know sockets and buffers, never HTTP; the
 * worker owns what they share (the wake-up eventfd, closing descriptors,
 * the clock). */
typedef struct chopin_worker chopin_worker;

typedef struct chopin_backend_ops {
    const char *name;
    int (*init)(chopin_worker *w); /* 0 or -errno */
    /* Ends every operation still in flight (waiting for the kernel to let go
     * of the buffers they use), then frees the backend. */
    void (*destroy)(chopin_worker *w);
    int (*accept_start)(chopin_worker *w);               /* begin or resume accepting */
    void (*accept_stop)(chopin_worker *w);               /* pause accepting */
    int (*conn_start)(chopin_worker *w, chopin_conn *c); /* a new connection: start reading */
    /* Follow CF_READ_PAUSED and CF_WATCH_HUP (set or cleared by conn.c just
     * before; read_pause is called again when only CF_WATCH_HUP changed). 0 or -errno. */
    int (*read_pause)(chopin_worker *w, chopin_conn *c);
    int (*read_resume)(chopin_worker *w, chopin_conn *c);
    /* Sends what it can of c->tx[off..len) without touching c. Returns the
     * bytes that left at once (epoll), 0 when they leave later, or -errno.
     * Unless everything left, the backend calls chopin__conn_send_ready
     * when it can take more (epoll: writable again) or when a submitted
     * send completed (io_uring, with its byte count). */
    long (*send)(chopin_worker *w, chopin_conn *c);
    /* Optional: sends what it can of c's file body (file_fd, file_off,
     * file_left) straight from the page cache without touching c, up to a
     * fair share per call. Returns the bytes that left at once, or -errno;
     * unless the file is done, chopin__conn_send_ready follows when the
     * socket takes more. Without it, conn.c reads the file into tx. */
    long (*send_file)(chopin_worker *w, chopin_conn *c);
    /* Stops every operation of a connection that is closing. Returns 1 when
     * some are still in flight (the backend calls chopin__conn_release once
     * the last one ends), 0 when the slot may be freed now. The worker
     * closes the descriptor. */
    int (*cancel)(chopin_worker *w, chopin_conn *c);
    /* Waits up to timeout_ms (-1: no limit) for something to happen... */
    int (*wait)(chopin_worker *w, int timeout_ms);
    /* ...then, with the clock refreshed, dispatches what completed. */
    void (*dispatch)(chopin_worker *w);
} chopin_backend_ops;

extern const chopin_backend_ops chopin__backend_epoll;
extern const chopin_backend_ops chopin__backend_uring;
/* Tries to set up a small ring: 0, or the -errno that refuses io_uring here. */
int chopin__uring_probe(void);
/* io_uring operations a worker left behind in flight when it ended (tests read it; 0 is right). */
extern uint64_t _Atomic chopin__uring_abandoned_ops;

/* ---- responses -------------------------------------------------------------------- */
enum { RS_NONE = 0, RS_HEAD, RS_BODY, RS_DONE };

struct chopin_response {
    chopin_buf *out;
    chopin_bufpool *pool;
    const char *date;    /* 29 bytes, IMF-fixdate */
    uint32_t start;      /* offset of this response in out */
    uint32_t body_start; /* where reserved body bytes begin */
    uint32_t body_len;
    uint16_t status;
    uint8_t state;
    uint8_t head_only;         /* answering HEAD */
    uint8_t close;             /* Connection: close */
    uint8_t http10_keep_alive; /* HTTP/1.0 client that asked for keep-alive */
    uint8_t http10;            /* an HTTP/1.0 client: a stream is delimited by the close */
    uint8_t failed;            /* misuse or out of memory: becomes a 500 */
    uint8_t deferred;
    chopin_deferred *deferral;
    uint8_t compress_on;       /* chopin_response_compress was called: Vary, and maybe compression */
    uint8_t compress;          /* CHOPIN_ENCODING_*, the client's choice */
    uint8_t compress_required; /* identity refused: compress whatever it is */
    uint8_t has_encoding;      /* the handler wrote its own Content-Encoding */
    uint8_t in_place;          /* the tail and the body are written (write_in_place in write.c) */
    uint8_t tail_close;        /* and that tail said Connection: close */
    uint32_t ctype_at;         /* the last Content-Type value written, its offset in out, */
    uint32_t ctype_len;        /* and length (0: none); compression decides by it */
    uint32_t tail_at;          /* in_place: where the tail begins, the head's end */
    uint32_t compress_min;
    int file_fd;       /* chopin_response_file's descriptor, -1 without one */
    uint64_t file_off; /* and the part of it that is the body */
    uint64_t file_len;
    chopin_worker *worker; /* NULL for a deferred response's own writer */
    uint32_t conn_idx, conn_gen;
};

/* A deferral's life: PENDING while a handler writes it; the finishing
 * thread moves it to PUSHING, pushes it on the worker's completion stack,
 * wakes the worker and stores PUSHED, after which it never touches it (or
 * the worker) again. A worker that ends first marks what is still PENDING
 * ORPHANED, and the finishing thread frees it. */
enum { D_PENDING = 0, D_PUSHING, D_PUSHED, D_ORPHANED };

struct chopin_deferred {
    struct chopin_deferred *next;              /* worker's completion stack */
    struct chopin_deferred *older, *newer;     /* worker's list of deferrals not yet done */
    chopin_worker *worker;
    uint32_t conn_idx, conn_gen;               /* CHOPIN_NIL once the connection no longer wants it */
    int _Atomic state;
    uint8_t cancelled;                         /* cancel already ran */
    uint8_t streaming;                         /* its head is out; pieces follow (worker thread) */
    uint64_t started_ms;                       /* the loop clock at dispatch, for the latency histogram */
    uint8_t body_open;                         /* took the request body, which has not ended yet */
    uint8_t in_callback;                       /* its piece or cancel callback is running (worker thread) */
    chopin_body_fn body_piece;                 /* where the request body's pieces go */
    void (*cancel)(void *arg);
    void (*drain)(void *arg);
    void (*release)(void *arg);
    void *arg;
    chopin_buf buf;
    chopin_response res;
    char date[32];
    uint8_t websocket;                         /* chopin_deferred_websocket: the answer is an upgrade */
    uint8_t uncounted;                         /* an open WebSocket: no longer counts against max_deferred */
    char ws_accept[CHOPIN_WS_ACCEPT_LEN];
    uint64_t ws_max_message;
    /* Its async handler's request (chopin_deferred_handling_async), and
     * its entry in the worker's list plus one (0: not listed). */
    chopin_route_name async_name;
    uint8_t async_entry;
};

/* The connection no longer wants d's answer (it closed, or timed out): d
 * stays alive for its handler, whose cancel runs now. Worker thread. */
void chopin__deferral_abandon(chopin_worker *w, chopin_deferred *d);
/* A finished deferral came back (worker thread): deliver it, free it. */
void chopin__deferral_done(chopin_worker *w, chopin_deferred *d);
/* The worker is ending: every deferral not yet done is orphaned or drained. */
void chopin__deferrals_end(chopin_worker *w);
void chopin__deferral_free(chopin_deferred *d);

/* compress.c: whether a Content-Type value is worth compressing, and the
 * body in[0..len) compressed into *out (malloc'd, the caller frees);
 * returns its length or -1. */
int chopin__compressible_type(const char *value, size_t len);
long chopin__compress(int encoding, const char *in, size_t len, char **out);

/* Prepares a writer over out (pool may be NULL) for one request. */
void chopin__response_init(chopin_response *res, chopin_buf *out, chopin_bufpool *pool, const char *date, int head_only,
                           int close, int http10_keep_alive);
/* Ends the response if the handler left it open; a handler that wrote
 * nothing, or misused the writer, gets a 500. */
void chopin__response_finish(chopin_response *res);
/* Ends a streamed response's head: Transfer-Encoding: chunked (HTTP/1.1) or
 * Connection: close (HTTP/1.0), no Content-Length. */
void chopin__response_end_stream(chopin_response *res);
/* A complete error response (status, empty body, Connection: close). */
void chopin__response_error(chopin_response *res, int status);
/* Formats an IMF-fixdate (29 bytes, no NUL) for the Unix time t. */
void chopin__format_date(char out[29], time_t t);
/* Writes the decimal digits of v into out; returns how many. */
size_t chopin__format_u64(char *out, uint64_t v);

/* ---- workers ---------------------------------------------------------------------- */
struct chopin_worker {
    const chopin_config *cfg;
    const chopin_backend_ops *ops;
    void *backend; /* the backend's private state */
    uint32_t id;
    int cpu; /* CPU to pin to, or -1 */
    int listen_fd;
    int wake_fd; /* eventfd: other threads wake the loop through it */
    pthread_t thread;
    int init_rc;           /* result of the worker's set-up, read by the starter */
    void (*started)(void *); /* called once set-up is done (init_rc is then set) */
    void *started_arg;
    /* The thread's last act: after it, w may be freed (chopin_server_wait
     * may have left the server to its last thread). */
    void (*ended)(void *);
    void *ended_arg;

    chopin_conn *conns;
    chopin_slab slab;
    chopin_wheel wheel;
    chopin_bufpool pool;
    chopin_header *headers; /* scratch array of cfg->max_headers */
    chopin_parse_limits limits;

    uint64_t now_ms; /* monotonic, refreshed once per loop turn, by the worker alone */
    time_t date_sec;
    char date[32];

    int accepting;            /* accept armed */
    int accept_full;          /* paused: slab full */
    uint64_t accept_retry_ms; /* paused after EMFILE/ENFILE until then; 0 = not */
    int stopping;             /* graceful stop under way */
    uint64_t stop_deadline_ms;
    uint64_t drain_idle_ms; /* a stop closes idle connections then (worker.c), 0 once done */

    uint32_t *ready; /* connections to resume on the next loop turn */
    uint32_t nready;
    uint32_t *interest_due; /* slots whose reads pause at the end of the turn, if still deferred */
    uint32_t ninterest_due;

    chopin_deferred *_Atomic deferred_done; /* finished deferred responses, any thread pushes */
    chopin_deferred *deferrals;             /* not yet done, newest first (worker thread only) */
    uint32_t ndeferred;                     /* how many */
    uint32_t *cap_wait;                     /* connections stopped at max_deferred */
    uint32_t ncap_wait;
    int _Atomic stop_requested;
    int _Atomic wake_pending; /* a wake-up is already on its way: later ones add nothing */
    int in_turn;              /* the worker_turn hook is running */
    void *hook_state;         /* what worker_start returned */

    chopin_worker_metrics *metrics;
    chopin_handling *now; /* its request record in its slot */
    /* The route name and method `now` holds, when written by
     * chopin_response_handling_static (else NULL): the same again is not
     * copied again. */
    const char *named_route;
    int named_method;
};

/* Called by backends. */
/* Converts an accepted sockaddr into a chopin_peer (family 0 when unknown). */
void chopin__peer_set(chopin_peer *out, const void *addr, uint32_t addr_len);
void chopin__worker_accept_failed(chopin_worker *w, int err);
/* The listener is readable: accepts in user space (accept4, non-blocking)
 * a batch at most, while the worker accepts (it stops once the slab is
 * full), errors going to chopin__worker_accept_failed; EAGAIN ends it
 * quietly. Both backends accept this way. */
void chopin__worker_accept_ready(chopin_worker *w);
void chopin__worker_wake_event(chopin_worker *w);
void chopin__conn_data(chopin_worker *w, chopin_conn *c, char *data, size_t len);
void chopin__conn_eof(chopin_worker *w, chopin_conn *c, int err);
/* res bytes of tx left since the last report (io_uring), or -errno; 0 with
 * epoll, which only says the socket takes bytes again. */
void chopin__conn_send_ready(chopin_worker *w, chopin_conn *c, long res);
void chopin__conn_release(chopin_worker *w, chopin_conn *c);
/* The client's FIN arrived while reads were paused with CF_WATCH_HUP. */
void chopin__conn_hangup(chopin_worker *w, chopin_conn *c);

/* Streamed request bodies (body_stream.c). begin sets CF_BODY_STREAM for
 * req's framing; feed takes the body's bytes from data[0..len) (decoding
 * in place), hands them on, and returns how many were the body's, with
 * *status CHOPIN_BODY_MORE, CHOPIN_BODY_END, or -400/-413 (nothing handed
 * on: the caller fails the body); deliver tells the deferral that took the
 * body, if any, and sets CF_BODY_FULL when it asks to wait. */
void chopin__body_begin(chopin_worker *w, chopin_conn *c, const chopin_request *req);
size_t chopin__body_feed(chopin_worker *w, chopin_conn *c, char *data, size_t len, int *status);
void chopin__body_deliver(chopin_conn *c, const char *data, size_t len, int status);

/* WebSocket connections (websocket_conn.c). begin queues the 101 and sets
 * up the parser (-1: out of memory); feed parses data[0..len), answers
 * pings, hands message pieces to the deferral and returns the bytes used
 * (fewer when its consumer asked to wait, CF_BODY_FULL), with *end 0, or
 * the close code the connection ends with: the client's close was echoed
 * (WS_END_ECHOED) or a close frame for its error was queued (1002, 1007,
 * 1009); append queues one server frame (0 or -1). */
enum { WS_END_ECHOED = 1 };
int chopin__ws_begin(chopin_worker *w, chopin_conn *c, chopin_deferred *d);
size_t chopin__ws_feed(chopin_worker *w, chopin_conn *c, char *data, size_t len, int *end);
int chopin__ws_append(chopin_worker *w, chopin_conn *c, int opcode, const void *data, size_t len);
int chopin__ws_append_close(chopin_worker *w, chopin_conn *c, unsigned code);
/* conn.c: a send from the handler's side (0, 1: wait for drain, -1: gone). */
int chopin__conn_ws_send(chopin_worker *w, chopin_conn *c, int opcode, const void *data, size_t len);

/* Reads the next part of c's file body into c->tx (empty) and returns its
 * length, 0 when the file ended early, or -errno (file_send.c). */
long chopin__file_read_part(chopin_worker *w, chopin_conn *c);
/* A backend's send_file: sendfile of what the socket takes of c's file body
 * (a fair share of a turn at most). The bytes sent, or -errno; c is untouched. */
long chopin__file_sendfile_part(chopin_conn *c);

/* Called by the worker. */
void chopin__conn_open(chopin_worker *w, chopin_conn *c, int fd);
void chopin__conn_close(chopin_worker *w, chopin_conn *c);
void chopin__conn_timeout(chopin_worker *w, chopin_conn *c);
void chopin__conn_deferred_done(chopin_worker *w, chopin_conn *c, chopin_deferred *d);
/* A streaming deferral's head, then its pieces (worker thread): 0, 1 (wait
 * for drain) or -1 (connection gone), as chopin_deferred_stream_write. */
int chopin__conn_stream(chopin_worker *w, chopin_conn *c, chopin_deferred *d, const void *data, size_t n);
void chopin__conn_drain(chopin_worker *w, chopin_conn *c);
void chopin__conn_resume(chopin_worker *w, chopin_conn *c);
/* The consumer of a streamed body that asked to wait takes more (worker thread). */
void chopin__conn_body_resume(chopin_worker *w, chopin_conn *c);

/* The worker's state without a thread or a backend: what a test of conn.c
 * needs (with a fake ops table), and the first half of a real worker's start. */
int chopin__worker_setup(chopin_worker *w);
void chopin__worker_teardown(chopin_worker *w);
void chopin__worker_refresh_clock(chopin_worker *w);
void *chopin__worker_main(void *arg);
/* The worker whose thread this is (NULL elsewhere). */
extern __thread chopin_worker *chopin__current_worker;
/* Connections that stopped at max_pipelined or max_deferred go on. */
void chopin__worker_resume_ready(chopin_worker *w);
/* The end of a loop turn: connections deferred during it stop reading now
 * if their answer has not come yet (conn.c). */
void chopin__conn_follow_due_interest(chopin_worker *w);
/* A deferral ended: connections stopped at max_deferred may go on. */
void chopin__worker_capacity_freed(chopin_worker *w);

/* chopin__metrics_answered for a response queued in the loop turn its
 * request was dispatched in: no time passed on the loop clock, so the first
 * latency bucket, and nothing to add to the sum. Inline, where most
 * responses are counted. */
static inline void chopin__metrics_answered_now(chopin_worker *w, int status) {
    if (status >= 400) chopin__metrics_status(w, status);
    CHOPIN_COUNT(w, latency[0], 1);
}

static inline chopin_conn *chopin__conn_lookup(chopin_worker *w, uint32_t idx, uint32_t gen) {
    if (idx >= w->slab.cap) return NULL;
    chopin_conn *c = &w->conns[idx];
    return (c->gen == gen && c->state != CONN_FREE) ? c : NULL;
}
static inline int chopin__conn_open_p(const chopin_conn *c) { return c->state != CONN_FREE && c->state != CONN_DEAD; }

/* ---- worker slots, the supervisor, signals ----------------------------------
 * shm.c: the slots, plain memory (threads) or a MAP_SHARED memfd region the
 * supervisor creates and its workers map (processes). */
typedef struct chopin_slots {
    chopin_slot *slot;
    uint32_t count;
    void *base; /* the mapping or allocation */
    size_t len;
    int fd; /* the memfd (the supervisor), -1 (plain memory) or -2 (a worker's mapping) */
} chopin_slots;
int chopin__slots_alloc(chopin_slots *out, uint32_t count, int shared);
int chopin__slots_map(chopin_slots *out, int fd, char *err, size_t err_len);
void chopin__slots_free(chopin_slots *s);
/* What a dead worker's record says it was running, for the supervisor's
 * log ("while handling GET /route", or which async handlers were in
 * flight); clear resets it for the block's next process. */
void chopin__handling_describe(const chopin_handling *h, char *out, size_t len);
void chopin__handling_clear(chopin_handling *h);

/* What a worker process finds in its environment (supervisor.c). */
typedef struct chopin_worker_identity {
    uint32_t slot, block;
    int listen_fd, shm_fd;
    pid_t supervisor;
} chopin_worker_identity;
/* 1 and *id when this process is a worker (the variables are removed, so
 * only the first server started becomes it), 0 when not, -1 with err when
 * the variables are malformed. */
int chopin__worker_identity(chopin_worker_identity *id, char *err, size_t err_len);

typedef struct chopin_supervisor chopin_supervisor;
/* Starts every worker process and returns once all of them serve; takes
 * listen_fds (one per slot) and slots. NULL with err on failure. */
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

/* signals.c: SIGINT/SIGTERM (and SIGHUP for a supervisor) through a handler
 * and a pipe, so whichever thread the kernel picks, the waiter sees it. */
enum { CHOPIN_SIGNALS_SERVER, CHOPIN_SIGNALS_SUPERVISOR, CHOPIN_SIGNALS_WORKER };
void chopin__signals_install(int role);
/* Blocks until a signal arrives; returns it. */
int chopin__signals_wait(void);

/* Logging for startup and unexpected errors, never on the hot path (log.c). */
void chopin__log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
