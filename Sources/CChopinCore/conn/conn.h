/* conn.h - the connection floor: one connection's HTTP/1.1 life over any
 * backend, the answers that come later, and the worker state it runs on.
 *
 * The files of conn/, each over this header, from the bottom up:
 *   count.c          the worker's counters for an answer (status class, latency)
 *   peer.c           the client's address
 *   tls.c            a TLS server's sessions, its handshakes counted, file
 *                    parts sealed (the transport's two passes are in events.c
 *                    and lifecycle.c)
 *   websocket_frames.c  frames in and out of an upgraded connection
 *   lifecycle.c      open, deadlines, the output pump, reads paused and
 *                    resumed, a deferral's lifetime, the last response,
 *                    close, release
 *   input.c          requests framed and dispatched to the handler, and
 *                    bodies streamed to it
 *   websocket_conn.c an upgraded connection's frames as events (the bridge)
 *   settle.c         bringing a connection to rest after any event
 *   answers.c        deferred and streamed answers, WebSocket sends
 *   events.c         what the loop reports: data, EOF, timeouts, drains
 *   deferred.c       the public deferral API (connection.h), from any thread
 * A file calls only the files listed before it, never one listed after
 * it; the loop floor calls the event entry points. */
#ifndef CHOPIN_CONN_H
#define CHOPIN_CONN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "../base/base.h"
#include "../http/write.h"
#include "chopin/chopin.h"

/* ---- what a worker records ----------------------------------------------------
 * Its counters: the worker's own cache line(s). Only the owner writes (plain relaxed
 * stores, no read-modify-write), readers sum with relaxed loads. */
typedef struct chopin_worker_metrics {
    uint64_t requests, bytes_in, bytes_out, accepted, closed;
    uint64_t responses_4xx, responses_5xx, parse_errors, timeouts;
    uint64_t buffer_bytes, recv_buffer_waits, buffer_heap_allocations;
    uint64_t tls_kernel;   /* TLS connections whose records the kernel seals */
    uint64_t tls_failures; /* TLS handshakes and sessions that failed (not plain HTTP at the port: a 400) */
    /* The latency histogram (count.c), on cache lines of its own. */
    uint64_t latency[CHOPIN_LATENCY_BUCKETS] __attribute__((aligned(CHOPIN_CACHELINE)));
    uint64_t latency_sum_ms;
} __attribute__((aligned(CHOPIN_CACHELINE))) chopin_worker_metrics;

#define CHOPIN_COUNT(w, field, n) __atomic_store_n(&(w)->metrics->field, (w)->metrics->field + (n), __ATOMIC_RELAXED)

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

/* ---- connections --------------------------------------------------------------
 * THE RULE: only the files of conn/ change a connection's state (enum
 * conn_state) and flags (enum conn_flags). A backend keeps its own
 * bookkeeping in `io` and `pending_ops`, follows CF_READ_PAUSED and
 * CF_WATCH_HUP when asked to (read_pause, read_resume), and reports what
 * happened through the event calls below; the loop floor asks the
 * connection floor to resume, drain, time out or close a connection, and
 * never sets a flag itself.
 *
 * The states (enum conn_state) and the transitions between them:
 *
 *   HEAD --head parsed, body incomplete--> BODY --body complete--> handler
 *   HEAD --head parsed, body_stream hook says so--> handler, then the body
 *        arrives piece by piece beside DEFERRED or HEAD (CF_BODY_STREAM)
 *   handler --deferred--> DEFERRED --answer arrives--> HEAD
 *   handler --answered--> HEAD (keep-alive) | CLOSING (last response)
 *   any --bad input, limit, 408--> CLOSING (chopin__conn_close_after_response)
 *   handler --deferred as a WebSocket--> WEBSOCKET (101 queued; frames both ways,
 *        websocket_conn.c) --a close either way, a protocol error--> CLOSING
 *   CLOSING --sent--> LINGER (unread input may follow) | closed
 *   LINGER --client closes, linger limits--> closed
 *   closed --backend done with it--> FREE (chopin__conn_release) */
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
                       (websocket_frames.c frames and delivers) */
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
    TK_HANDSHAKE, /* TLS: from accept to the end of the handshake */
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
    /* A TLS server's connection: its session, between the backend's
     * ciphertext and everything above, which sees plaintext only (tls.c). */
    chopin_tls_session *tls;
} chopin_conn;


/* ---- what a connection asks of its I/O backend ---------------------------------
 * The loop floor (loop/) implements this table for io_uring and for epoll,
 * and the connection floor calls through it: that is how the floor below
 * reaches the one above without calling up. Shaped around completions:
 * epoll imitates a completed receive cheaply, io_uring cannot imitate
 * readiness cheaply. Backends know sockets and buffers, never HTTP; the
 * worker owns what they share (the wake-up eventfd, closing descriptors,
 * the clock). */
typedef struct chopin_backend_ops {
    const char *name;
    int (*init)(chopin_worker *w); /* 0 or -errno */
    /* Ends every operation still in flight (waiting for the kernel to let go
     * of the buffers they use), then frees the backend. */
    void (*destroy)(chopin_worker *w);
    int (*accept_start)(chopin_worker *w);               /* begin or resume accepting */
    void (*accept_stop)(chopin_worker *w);               /* pause accepting */
    int (*conn_start)(chopin_worker *w, chopin_conn *c); /* a new connection: start reading */
    /* Follow CF_READ_PAUSED and CF_WATCH_HUP (set or cleared by conn/ just
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
     * socket takes more. Without it, conn/ reads the file into tx. */
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
    uint8_t timed_out;                         /* its deadline passed; in its grace (answers_timeout) */
    uint32_t timeout_grace_ms;                 /* chopin_deferred_answers_timeout; 0: the core answers at once */
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
    char ws_protocol[CHOPIN_WS_PROTOCOL_MAX];  /* chopin_deferred_websocket_protocol's name */
    uint8_t ws_protocol_len;                   /* 0: the 101 names no subprotocol */
    /* Its async handler's request (chopin_deferred_handling_async), and
     * its entry in the worker's list plus one (0: not listed). */
    chopin_route_name async_name;
    uint8_t async_entry;
};

/* ---- the worker ------------------------------------------------------------------
 * One per thread. The loop floor starts it, runs its loop and ends it; its
 * state is declared here because the connection floor reads most of it
 * (configuration, buffers, clock, Date, the lists of connections waiting
 * for their turn, the deferrals in flight) and lives below the loop. */
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
    /* Connections handed over by chopin_server_adopt, for the worker to take
     * at its next wake-up: written by any thread, under adopt_lock. */
    pthread_mutex_t adopt_lock;
    int *adopted;
    uint32_t nadopted, adopted_cap;
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
    int accept_handshakes;    /* paused: max_tls_handshakes in progress */
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
    /* Deferrals done with, kept for the next request that goes async (worker
     * thread only): it then costs no calloc, and its answer's buffer is there. */
    chopin_deferred *spare_deferrals;
    uint32_t nspare_deferrals;
    uint32_t *cap_wait;                     /* connections stopped at max_deferred */
    uint32_t ncap_wait;
    int _Atomic stop_requested;
    int _Atomic wake_pending; /* a wake-up is already on its way: later ones add nothing */
    int in_turn;              /* the worker_turn hook is running */
    int _Atomic turn_asked;   /* chopin_worker_ask_turn since the hook last ran */
    void *hook_state;         /* what worker_start returned */

    chopin_worker_metrics *metrics;
    /* Its per-route cells (route_count routes x CHOPIN_STATUS_CLASSES), or NULL. */
    chopin_route_cell *route_cells;
    uint32_t route_count;
    chopin_handling *now; /* its request record in its slot */
    /* The route name and method `now` holds, when written by
     * chopin_response_handling_static (else NULL): the same again is not
     * copied again. */
    const char *named_route;
    int named_method;

    /* TLS (cfg->tls): a record's plaintext as it is decrypted, a file
     * body's part before it is sealed, and the handshakes in progress. */
    char *tls_plain;
    char *tls_file_part;
    uint32_t tls_handshaking;
    uint32_t tls_failures;         /* since the last line that said why (tls.c) */
    /* A worker process's: the supervisor's reload count it follows (NULL
     * elsewhere), and the last it saw. */
    const uint32_t _Atomic *tls_reloads;
    uint32_t tls_reload_seen;
    uint64_t tls_failure_logged_ms;
    uint8_t tls_kernel_refusal_logged; /* kTLS refused once: said (tls.c) */
};


static inline chopin_conn *chopin__conn_lookup(chopin_worker *w, uint32_t idx, uint32_t gen) {
    if (idx >= w->slab.cap) return NULL;
    chopin_conn *c = &w->conns[idx];
    return (c->gen == gen && c->state != CONN_FREE) ? c : NULL;
}
static inline int chopin__conn_open_p(const chopin_conn *c) { return c->state != CONN_FREE && c->state != CONN_DEAD; }

/* Bytes waiting to reach the client: queued, sealed by TLS, being sent, and a file body's rest. */
static inline size_t chopin__conn_pending_output(const chopin_conn *c) {
    size_t file = (c->flags & CF_FILE) ? (c->file_left > SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t)c->file_left) : 0;
    size_t sealed = c->tls ? c->tls->out.len : 0;
    return (size_t)c->out.len + sealed + (c->tx.len - c->tx.off) + file;
}
static inline int chopin__conn_output_queued(const chopin_conn *c) {
    return c->out.len > 0 || (c->flags & (CF_SENDING | CF_FILE)) || (c->tls && c->tls->out.len > 0);
}

/* ---- the floor's calls, by file (bottom up) ------------------------------------ */

/* peer.c: converts an accepted sockaddr into a chopin_peer (family 0 when unknown). */
void chopin__peer_set(chopin_peer *out, const void *addr, uint32_t addr_len);

/* tls.c. begin gives a new connection of a TLS server its session and the
 * handshake's deadline (-1: out of memory); handshake_ended counts one
 * handshake done or abandoned (accepting resumes below the cap);
 * seal_file_part reads the next part of c's file body and seals it into the
 * session's output: its length, 0 when the file ended early, or -errno. */
#define CHOPIN_TLS_RECORD 16384 /* the most plaintext one record holds */
#define CHOPIN_TLS_FILE_PART (64u << 10) /* a file body's part per seal: four full records */
int chopin__conn_tls_begin(chopin_worker *w, chopin_conn *c);
void chopin__conn_tls_handshake_ended(chopin_worker *w);
/* A session failed: a plain-HTTP request gets a plain 400 that says to use
 * https (counted as a parse error); other failures are counted as TLS
 * failures and logged, a line per worker per 10 s at most. */
void chopin__conn_tls_failed(chopin_worker *w, chopin_conn *c);
long chopin__conn_tls_seal_file_part(chopin_worker *w, chopin_conn *c);
/* kTLS: hands the session's write keys to the kernel once nothing sealed
 * by OpenSSL waits to be sent (the first refusal logged per worker).
 * Returns 1 when the kernel seals this connection's output. */
int chopin__conn_tls_kernel(chopin_worker *w, chopin_conn *c);

/* websocket_frames.c. begin queues the 101 and sets up the parser (-1: out
 * of memory); feed parses data[0..len), answers pings, hands message pieces
 * to the deferral and returns the bytes used (fewer when its consumer asked
 * to wait, CF_BODY_FULL), with *end 0, or the close code the connection
 * ends with: the client's close was echoed (WS_END_ECHOED) or a close frame
 * for its error was queued (1002, 1007, 1009); append queues one server
 * frame (0 or -1). */
enum { WS_END_ECHOED = 1 };
int chopin__ws_begin(chopin_worker *w, chopin_conn *c, chopin_deferred *d);
size_t chopin__ws_feed(chopin_worker *w, chopin_conn *c, char *data, size_t len, int *end);
int chopin__ws_append(chopin_worker *w, chopin_conn *c, int opcode, const void *data, size_t len);
int chopin__ws_append_close(chopin_worker *w, chopin_conn *c, unsigned code);

/* lifecycle.c. */
void chopin__conn_open(chopin_worker *w, chopin_conn *c, int fd);
/* Arms deadline k, ms from now, unless it is armed already (restart: arm it anew). */
void chopin__conn_set_timer(chopin_worker *w, chopin_conn *c, timer_kind k, uint32_t ms, int restart);
/* Arms the one deadline that matters for what the connection waits on. */
void chopin__conn_arm_timer(chopin_worker *w, chopin_conn *c);
/* The worker whose thread this is (NULL elsewhere); the loop floor sets it. */
extern __thread chopin_worker *chopin__current_worker;
/* The connection no longer wants d's answer (it closed, or timed out): d
 * stays alive for its handler, whose cancel runs now. Worker thread. */
void chopin__deferral_abandon(chopin_worker *w, chopin_deferred *d);
/* What d holds beyond its memory, let go (once): its handler's reference
 * and a file it never delivered. A deferral kept for reuse is let go when
 * it is kept, and freed later. */
void chopin__deferral_let_go(chopin_deferred *d);
void chopin__deferral_free(chopin_deferred *d);
/* Frees the deferrals kept for reuse (the worker is ending). */
void chopin__deferrals_spare_free(chopin_worker *w);
/* A deferral ended: connections stopped at max_deferred may go on. */
void chopin__worker_capacity_freed(chopin_worker *w);

/* A file body: read_part reads the next part of c's file body into c->tx
 * (empty) and returns its length, 0 when the file ended early, or -errno.
 * sendfile_part is a backend's send_file: sendfile of what the socket
 * takes of c's file body (a fair share of a turn at most); the bytes sent,
 * or -errno; c is untouched. done closes the file once its body is out. */
/* take_file: the file of a response just finished (the handler's, or a
 * deferred answer's when it is delivered) follows its head on c; later
 * requests wait until it is out. */
void chopin__conn_take_file(chopin_conn *c, chopin_response *res);
long chopin__file_read_part(chopin_worker *w, chopin_conn *c);
long chopin__file_sendfile_part(chopin_conn *c);
void chopin__file_done(chopin_conn *c);

/* The output pump. flush hands queued responses, then a file body's next
 * part, to the backend; sent takes a backend's report of res bytes of tx
 * sent (or -errno) and sends the rest; end_closing lingers or closes a
 * CLOSING connection whose last response is out (0: closed). Each returns
 * -1 when the connection closed. idle says whether it waits for a request
 * with nothing queued either way. */
int chopin__conn_flush(chopin_worker *w, chopin_conn *c);
int chopin__conn_sent(chopin_worker *w, chopin_conn *c, long res);
int chopin__conn_end_closing(chopin_worker *w, chopin_conn *c);
int chopin__conn_idle(const chopin_conn *c);
/* Reads follow the connection's state (-1: closed); follow_due_interest
 * ends a loop turn (connections deferred during it stop reading now if
 * their answer has not come yet); stream_drained lets a stream that waited
 * write again; hangup: the client's FIN arrived while reads were paused
 * with CF_WATCH_HUP. */
int chopin__conn_follow_read_interest(chopin_worker *w, chopin_conn *c);
void chopin__conn_follow_due_interest(chopin_worker *w);
void chopin__conn_stream_drained(chopin_worker *w, chopin_conn *c);
void chopin__conn_hangup(chopin_worker *w, chopin_conn *c);
/* A calm keep-alive connection after its request (nothing kept, nothing
 * paused, no stop): what was queued is sent and, when the socket took it
 * all, the buffers go back and the idle timer is armed. 0 where settle's
 * general walk must go on; 1 when settled (or closed). */
int chopin__conn_settle_calm(chopin_worker *w, chopin_conn *c);
/* The last response is queued: later input is discarded, and the
 * connection closes (or, with linger, lingers) once it is sent. */
void chopin__conn_close_after_response(chopin_worker *w, chopin_conn *c, int linger);
/* Answers status to a request that cannot be served, then closes. */
void chopin__conn_fail(chopin_worker *w, chopin_conn *c, int status);
void chopin__conn_close(chopin_worker *w, chopin_conn *c);
/* The backend is done with a closed connection: its slot is free again. */
void chopin__conn_release(chopin_worker *w, chopin_conn *c);

/* input.c. process handles every complete request in buf[0..*len) and
 * returns the bytes used (may shrink *len: an unfinished chunked body is
 * compacted in place); process_kept_input does it for what waits in `in`;
 * keep_input keeps bytes for later in `in` (-1: closed, past the input
 * limit or out of memory); body_failed ends a streamed body that cannot
 * complete with status. */
size_t chopin__conn_process(chopin_worker *w, chopin_conn *c, char *buf, size_t *len);
void chopin__conn_process_kept_input(chopin_worker *w, chopin_conn *c);
int chopin__conn_keep_input(chopin_worker *w, chopin_conn *c, const char *data, size_t len);
void chopin__conn_body_failed(chopin_worker *w, chopin_conn *c, int status);
/* The connection becomes its deferral's WebSocket (c->deferral, with
 * chopin_deferred_websocket set): at the handler's return, or later, when
 * an async chain accepts the upgrade (-1: closed instead). */
int chopin__conn_upgrade(chopin_worker *w, chopin_conn *c);

/* input.c, streamed request bodies: begin sets CF_BODY_STREAM for
 * req's framing; feed takes the body's bytes from data[0..len) (decoding
 * in place), hands them on, and returns how many were the body's, with
 * *status CHOPIN_BODY_MORE, CHOPIN_BODY_END, or -400/-413 (nothing handed
 * on: the caller fails the body); deliver tells the deferral that took the
 * body, if any, and sets CF_BODY_FULL when it asks to wait. */
void chopin__body_begin(chopin_worker *w, chopin_conn *c, const chopin_request *req);
size_t chopin__body_feed(chopin_worker *w, chopin_conn *c, char *data, size_t len, int *status);
void chopin__body_deliver(chopin_conn *c, const char *data, size_t len, int status);

/* websocket_conn.c. frames handles the frames in data[0..len) (kept: they
 * are `in`'s); input those waiting in `in`; stop ends the WebSocket from
 * this side (with linger, the client's close is awaited after ours). */
void chopin__ws_frames(chopin_worker *w, chopin_conn *c, char *data, size_t len, int kept);
void chopin__ws_input(chopin_worker *w, chopin_conn *c);
void chopin__ws_stop(chopin_worker *w, chopin_conn *c, int linger);

/* settle.c. settle brings a connection to rest after any event;
 * send_ready: res bytes of tx left since the last report (io_uring), or
 * -errno; 0 with epoll, which only says the socket takes bytes again. */
void chopin__conn_settle(chopin_worker *w, chopin_conn *c);
void chopin__conn_send_ready(chopin_worker *w, chopin_conn *c, long res);

/* answers.c */
/* DEFERRED past deferred_timeout_ms: 503 in the handler's place. */
void chopin__conn_answer_unavailable(chopin_worker *w, chopin_conn *c);
int chopin__conn_deadline_grace(chopin_worker *w, chopin_conn *c);
void chopin__conn_deferred_done(chopin_worker *w, chopin_conn *c, chopin_deferred *d);
/* A streaming deferral's head, then its pieces (worker thread): 0, 1 (wait
 * for drain) or -1 (connection gone), as chopin_deferred_stream_write. */
int chopin__conn_stream(chopin_worker *w, chopin_conn *c, chopin_deferred *d, const void *data, size_t n);
/* A send from the WebSocket handler's side (0, 1: wait for drain, -1: gone). */
int chopin__conn_ws_send(chopin_worker *w, chopin_conn *c, int opcode, const void *data, size_t len);

/* events.c: what the backends and the worker report. */
void chopin__conn_data(chopin_worker *w, chopin_conn *c, char *data, size_t len);
void chopin__conn_eof(chopin_worker *w, chopin_conn *c, int err);
void chopin__conn_timeout(chopin_worker *w, chopin_conn *c);
void chopin__conn_drain(chopin_worker *w, chopin_conn *c);
void chopin__conn_resume(chopin_worker *w, chopin_conn *c);
/* Connections that stopped at max_pipelined or max_deferred go on. */
void chopin__conn_resume_ready(chopin_worker *w);
/* The consumer of a streamed body that asked to wait takes more (worker thread). */
void chopin__conn_body_resume(chopin_worker *w, chopin_conn *c);

/* deferred.c (beside connection.h's API). done: a finished deferral came
 * back (worker thread): deliver it, free it. collect: delivers every
 * deferral finished on another thread since the last call, in the order
 * they finished. end: the worker is ending: every deferral not yet done is
 * orphaned or drained (collect runs after it). */
void chopin__deferral_done(chopin_worker *w, chopin_deferred *d);
void chopin__deferrals_collect(chopin_worker *w);
void chopin__deferrals_end(chopin_worker *w);

#endif
