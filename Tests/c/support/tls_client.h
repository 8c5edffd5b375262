/* tls_client.h - a blocking OpenSSL client for the TLS tests: a context
 * that trusts one certificate, a connection (resuming a session when one is
 * offered), and responses read from it, head then body. */
#ifndef CHOPIN_TEST_TLS_CLIENT_H
#define CHOPIN_TEST_TLS_CLIENT_H

#include "fixture.h"
#include "net.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

typedef struct tls_client {
    int fd;
    SSL *ssl;
    char buf[1 << 16];
    size_t len;
} tls_client;

static inline SSL_CTX *client_ctx(int max_version, const char *trust) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx, max_version == TLS1_1_VERSION ? TLS1_VERSION : TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, max_version);
    if (max_version == TLS1_1_VERSION) SSL_CTX_set_security_level(ctx, 0); /* let it try */
    SSL_CTX_load_verify_locations(ctx, trust, NULL);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    static const unsigned char alpn[] = "\x02h2\x08http/1.1";
    SSL_CTX_set_alpn_protos(ctx, alpn, sizeof alpn - 1);
    return ctx;
}

static inline int raw_connect(uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return -1;
    }
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

/* 0 once the handshake is done, -1 when it failed; with a session, an
 * offer to resume it. */
static inline int tls_resume(tls_client *c, SSL_CTX *ctx, uint16_t port, SSL_SESSION *session) {
    c->len = 0;
    c->fd = raw_connect(port);
    c->ssl = SSL_new(ctx);
    SSL_set_tlsext_host_name(c->ssl, "localhost");
    if (session) SSL_set_session(c->ssl, session);
    SSL_set_fd(c->ssl, c->fd);
    int r;
    do /* the server's io_uring threads share this process: a blocking read may see EINTR */
        r = SSL_connect(c->ssl);
    while (r != 1 && SSL_get_error(c->ssl, r) == SSL_ERROR_WANT_READ && errno == EINTR);
    if (r != 1 && getenv("TLS_TEST_VERBOSE")) {
        char why[256] = "";
        ERR_error_string_n(ERR_peek_last_error(), why, sizeof why);
        fprintf(stderr, "client handshake on %s: SSL_get_error %d, errno %d, %s\n", backend_name,
                SSL_get_error(c->ssl, r), errno, why);
    }
    ERR_clear_error();
    return r == 1 ? 0 : -1;
}

static inline int tls_open(tls_client *c, SSL_CTX *ctx, uint16_t port) { return tls_resume(c, ctx, port, NULL); }

static inline void tls_close(tls_client *c) {
    if (c->ssl) SSL_free(c->ssl);
    if (c->fd >= 0) close(c->fd);
    c->ssl = NULL;
    c->fd = -1;
}

static inline int tls_send(tls_client *c, const void *data, size_t n) { return SSL_write(c->ssl, data, (int)n) == (int)n ? 0 : -1; }

static inline int tls_fill(tls_client *c) {
    if (c->len == sizeof c->buf) return -1;
    int r;
    do
        r = SSL_read(c->ssl, c->buf + c->len, (int)(sizeof c->buf - c->len));
    while (r <= 0 && SSL_get_error(c->ssl, r) == SSL_ERROR_WANT_READ && errno == EINTR);
    if (r <= 0) return -1;
    c->len += (size_t)r;
    return 0;
}

/* Reads one response head; its status and Content-Length, the head consumed. */
static inline int tls_head(tls_client *c, size_t *content_length) {
    for (;;) {
        char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
        if (end) {
            size_t hlen = (size_t)(end - c->buf) + 4;
            int status = atoi(c->buf + 9);
            const char *cl = find_header(c->buf, hlen, "content-length");
            *content_length = cl ? strtoull(cl, NULL, 10) : 0;
            memmove(c->buf, c->buf + hlen, c->len - hlen);
            c->len -= hlen;
            return status;
        }
        if (tls_fill(c) < 0) return -1;
    }
}

#endif
