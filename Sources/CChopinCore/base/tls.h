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
} chopin_tls_session;

/* What chopin__tls_read returns besides a plaintext length. */
enum {
    CHOPIN_TLS_WANT = 0,        /* every offered byte is taken: wait for more */
    CHOPIN_TLS_CLOSED = -1,     /* the client's close_notify: no more data will come */
    CHOPIN_TLS_FAILED = -2,     /* a handshake or record error; an alert may be queued in out */
};

/* tls_context.c: the context new sessions start from (a reference the
 * caller frees with chopin__tls_context_put), taken under the identity's
 * lock; NULL when out of memory. */
struct ssl_ctx_st *chopin__tls_context_get(chopin_tls *tls);
void chopin__tls_context_put(struct ssl_ctx_st *ctx);
/* A worker process follows its supervisor's reload number `reload`: the
 * first of its workers to see it loads the identity again from its sources
 * (1, or -1 with the reason), the others find it done (0). */
int chopin__tls_follow(chopin_tls *tls, uint32_t reload, char *err, size_t err_len);

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

#endif
