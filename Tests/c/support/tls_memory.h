/* tls_memory.h - a Chopin TLS session and OpenSSL's client, a handshake
 * apart, carried in memory: no sockets, every byte in the test's hands. */
#ifndef CHOPIN_TEST_TLS_MEMORY_H
#define CHOPIN_TEST_TLS_MEMORY_H

#include "base/tls.h"

#include <openssl/ssl.h>
#include <string.h>

typedef struct pair {
    chopin_bufpool pool;
    chopin_tls_session *s;
    SSL *client;
    BIO *to_client, *from_client; /* memory BIOs: the client reads the first, writes the second */
} pair;

/* A server session over server_ctx and a client of client_ctx, offering
 * `session` to resume when not NULL. */
static inline void pair_open(pair *p, struct ssl_ctx_st *server_ctx, SSL_CTX *client_ctx, SSL_SESSION *session) {
    memset(p, 0, sizeof *p);
    chopin__pool_init(&p->pool, 16384, 8);
    p->s = chopin__tls_session_new(server_ctx, &p->pool);
    p->client = SSL_new(client_ctx);
    if (session) SSL_set_session(p->client, session);
    p->to_client = BIO_new(BIO_s_mem());
    p->from_client = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(p->to_client, -1);
    SSL_set_bio(p->client, p->to_client, p->from_client);
    SSL_set_connect_state(p->client);
}

static inline void pair_close(pair *p) {
    SSL_free(p->client);
    chopin__tls_session_free(p->s);
    chopin__pool_destroy(&p->pool);
}

/* The server's output to the client. */
static inline void server_to_client(pair *p) {
    if (p->s->out.len) BIO_write(p->to_client, p->s->out.data + p->s->out.off, (int)(p->s->out.len - p->s->out.off));
    p->s->out.len = p->s->out.off = 0;
}

/* The client's output to the server: the plaintext it yields, up to cap. */
static inline size_t client_to_server(pair *p, char *plain, size_t cap) {
    char buf[65536];
    int n = BIO_read(p->from_client, buf, sizeof buf);
    size_t got = 0;
    if (n <= 0) return 0;
    chopin__tls_feed(p->s, buf, (size_t)n);
    for (;;) {
        long r = chopin__tls_read(p->s, plain ? plain + got : buf, plain ? cap - got : sizeof buf);
        if (r <= 0) break;
        if (plain) got += (size_t)r;
    }
    chopin__tls_feed(p->s, NULL, 0);
    return got;
}

static inline int handshake(pair *p) {
    for (int round = 0; round < 10; round++) {
        int r = SSL_do_handshake(p->client);
        client_to_server(p, NULL, 0);
        server_to_client(p);
        if (r == 1 && p->s->established) return 0;
    }
    return -1;
}

/* Everything the client can read now, into out (at most cap): its length. */
static inline size_t client_read(pair *p, char *out, size_t cap) {
    size_t got = 0;
    for (;;) {
        int r = SSL_read(p->client, out + got, (int)(cap - got));
        if (r <= 0) break;
        got += (size_t)r;
    }
    return got;
}

#endif
