/* tls.h - TLS over memory: OpenSSL sessions that take ciphertext from
 * whatever buffer the caller got it in and write theirs into a chopin_buf,
 * so that they sit between any I/O backend and the bytes of HTTP without
 * knowing either. tls_context.c makes the shared contexts (chopin_tls,
 * include/chopin/tls.h); tls_session.c runs one connection's session. */
#ifndef CHOPIN_BASE_TLS_H
#define CHOPIN_BASE_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "chopin/tls.h"

struct ssl_st;
struct ssl_ctx_st;

/* The largest of the kernel's tls12_crypto_info_* structs (AES-256-GCM,
 * ChaCha20-Poly1305). */
#define CHOPIN_TLS_KERNEL_INFO_MAX 56

typedef struct chopin_tls_session {
    struct ssl_st *ssl;
    /* Ciphertext offered by the last feed and not yet taken by OpenSSL. */
    const char *in;
    size_t in_len;
    /* Ciphertext to send: records, handshake messages, alerts. */
    chopin_buf out;
    chopin_bufpool *pool;
    uint8_t established; /* the handshake is done */
    uint8_t notified;    /* our close_notify is queued */
    uint8_t write_failed;
    unsigned long error; /* OpenSSL's reason for the first failure */
    /* kTLS (tls_kernel.c): the write keys OpenSSL last changed to, in the
     * kernel's struct, and the records it has sealed with them since. */
    uint8_t kernel_wanted; /* the context offers the write keys to the kernel */
    uint8_t kernel_keys;   /* kernel_info holds the write keys in use */
    uint8_t kernel_tx;     /* handed over: the kernel seals everything sent from now on */
    uint8_t header_have;   /* of the record header being written */
    uint8_t header[5];
    uint32_t record_left;  /* bytes of the record being written still to come */
    uint64_t sealed_since; /* records sealed with kernel_info's keys */
    unsigned char kernel_info[CHOPIN_TLS_KERNEL_INFO_MAX];
} chopin_tls_session;

/* What chopin__tls_read returns besides a plaintext length. */
enum {
    CHOPIN_TLS_WANT = 0,        /* every offered byte is taken: wait for more */
    CHOPIN_TLS_CLOSED = -1,     /* the client's close_notify: no more data will come */
    CHOPIN_TLS_FAILED = -2,     /* a handshake or record error; an alert may be queued in out */
};

/* Session ticket keys where every process of a server reads them (the
 * shared slots' head): a ticket that one worker process sealed opens in
 * another, and after a rolling restart. A seqlock: a writer makes seq odd,
 * writes, makes it even again; rotating marks the one process that makes
 * the next key when the current one's hour is over (when it began). */
typedef struct chopin_tls_ticket_keys {
    uint32_t _Atomic seq;
    uint32_t _Atomic rotating;
    int64_t rotated_at; /* CLOCK_MONOTONIC seconds: one clock for every process of the machine */
    unsigned char current[80], previous[80]; /* name 16, AES 32, HMAC 32 */
    uint8_t current_set, previous_set;
} chopin_tls_ticket_keys;

/* tls_context.c. share_tickets: tls seals and opens tickets with the keys
 * in shared from now on; `publish` (the supervisor, before any worker
 * process starts) puts its own keys there first. */
void chopin__tls_share_tickets(chopin_tls *tls, chopin_tls_ticket_keys *shared, int publish);

/* tls_context.c: the context new sessions start from (a reference the
 * caller frees with chopin__tls_context_put), taken under the identity's
 * lock; NULL when out of memory. */
struct ssl_ctx_st *chopin__tls_context_get(chopin_tls *tls);
void chopin__tls_context_put(struct ssl_ctx_st *ctx);
/* A worker process follows its supervisor's reload number `reload`: the
 * first of its workers to see it loads the identity again from its sources
 * (1, or -1 with the reason), the others find it done (0). */
int chopin__tls_follow(chopin_tls *tls, uint32_t reload, char *err, size_t err_len);
/* The line that says a reload took: whoever made it (the asked process, or
 * the worker thread that followed a SIGHUP) says it once. */
void chopin__tls_say_reloaded(const chopin_tls *tls);

/* tls_session.c. new: a server-side session over ctx, whose output takes
 * blocks of pool (NULL when out of memory). free gives everything back. */
chopin_tls_session *chopin__tls_session_new(struct ssl_ctx_st *ctx, chopin_bufpool *pool);
void chopin__tls_session_free(chopin_tls_session *s);
/* Offers data[0..len) (valid until the next feed); chopin__tls_read takes
 * from it. */
static inline void chopin__tls_feed(chopin_tls_session *s, const char *data, size_t len) {
    s->in = data;
    s->in_len = len;
}
/* Advances the handshake, then decrypts: the plaintext length (at most cap,
 * at most one record), or CHOPIN_TLS_WANT / CLOSED / FAILED. The handshake's
 * own messages go to out. Call until it returns WANT: only then has every
 * offered byte been taken. */
long chopin__tls_read(chopin_tls_session *s, char *plain, size_t cap);
/* Encrypts plain[0..len) into out: 0, or -1 (out of memory, or a session
 * that cannot write). */
int chopin__tls_write(chopin_tls_session *s, const void *plain, size_t len);
/* Queues our close_notify into out, once. */
void chopin__tls_notify_close(chopin_tls_session *s);
/* Whether the failed handshake was a plain-HTTP request (or a proxy's
 * CONNECT) sent to the TLS port. */
int chopin__tls_plain_http(const chopin_tls_session *s);
/* Why the last CHOPIN_TLS_FAILED happened, for a log line (static text or
 * OpenSSL's). */
const char *chopin__tls_failure(const chopin_tls_session *s, char *buf, size_t len);

/* tls_kernel.c - kTLS. wanted: whether ctx was made to offer its sessions'
 * write keys to the kernel. The BIO's part: take_keys keeps the keys
 * OpenSSL offers (info, its ktls_crypto_info_t) and returns 0, declining:
 * OpenSSL goes on sealing until the handover; count follows the records it
 * writes, to know the kernel's first record number. */
int chopin__tls_kernel_wanted(const struct ssl_ctx_st *ctx);
void chopin__tls_kernel_watch(chopin_tls_session *s);
long chopin__tls_kernel_take_keys(chopin_tls_session *s, long is_tx, const void *info);
void chopin__tls_kernel_count(chopin_tls_session *s, const unsigned char *data, size_t len);
/* Whether the handover may be tried: the handshake done (TLS 1.3's write
 * keys change before the client's Finished, and the session ticket comes
 * after it), keys kept, and nothing OpenSSL sealed waits in out. The caller
 * also knows that nothing is still being sent. */
static inline int chopin__tls_kernel_ready(const chopin_tls_session *s) {
    return s->kernel_keys && s->established && s->out.len == 0;
}
/* Hands the write keys to the kernel for socket fd: 1 when it seals from
 * now on, -errno when it refused (the session seals in user space, as
 * before, for good). Once tried, the keys are wiped either way. */
int chopin__tls_kernel_hand_over(chopin_tls_session *s, int fd);
/* The keys as the kernel would take them now (the record number advanced
 * past what OpenSSL sealed): the length, 0 when none are kept. For tests. */
size_t chopin__tls_kernel_info(const chopin_tls_session *s, void *info, size_t cap);
/* After the handover: whether OpenSSL has something to write that only its
 * own write keys, the kernel's now, could seal (output from a read, or the
 * KeyUpdate a client asked of us). The connection cannot go on. */
int chopin__tls_kernel_stuck(const chopin_tls_session *s);
/* Our close_notify, sealed by the kernel (a record of type alert), once. */
void chopin__tls_kernel_notify_close(chopin_tls_session *s, int fd);

#endif
