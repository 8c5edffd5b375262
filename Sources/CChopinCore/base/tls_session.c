/* tls_session.c - one connection's TLS session, over a BIO of our own:
 * its reads take from the ciphertext the caller offered (the backend's
 * receive buffer, copied by nobody), its writes append to the session's
 * output buffer, a block of the worker's pool like any response. OpenSSL
 * never sees the socket, so the same session runs over io_uring
 * completions and epoll readiness alike. */
#include "tls.h"

#include <limits.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static BIO_METHOD *method;
static pthread_once_t method_once = PTHREAD_ONCE_INIT;

static int bio_read(BIO *b, char *out, int len) {
    chopin_tls_session *s = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (s->in_len == 0) {
        BIO_set_retry_read(b); /* not the end: more may arrive */
        return -1;
    }
    size_t n = (size_t)len < s->in_len ? (size_t)len : s->in_len;
    memcpy(out, s->in, n);
    s->in += n;
    s->in_len -= n;
    return (int)n;
}

static int bio_write(BIO *b, const char *data, int len) {
    chopin_tls_session *s = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (chopin__buf_append(&s->out, s->pool, data, (size_t)len) < 0) {
        s->write_failed = 1;
        return -1;
    }
    if (s->kernel_keys) chopin__tls_kernel_count(s, (const unsigned char *)data, (size_t)len);
    return len;
}

/* OpenSSL's request to give new keys to the kernel (internal to OpenSSL,
 * stable across its 3.x releases). */
#define BIO_CTRL_SET_KTLS 72

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr) {
    chopin_tls_session *s = BIO_get_data(b);
    /* A flush has nothing to do: the caller sends out when it may. */
    if (cmd == BIO_CTRL_FLUSH) return 1;
    if (cmd == BIO_CTRL_SET_KTLS) return chopin__tls_kernel_take_keys(s, num, ptr);
    return 0;
}

static int bio_create(BIO *b) {
    BIO_set_init(b, 1);
    return 1;
}

static void make_method(void) {
    method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "chopin connection");
    if (!method) return;
    BIO_meth_set_read(method, bio_read);
    BIO_meth_set_write(method, bio_write);
    BIO_meth_set_ctrl(method, bio_ctrl);
    BIO_meth_set_create(method, bio_create);
}

chopin_tls_session *chopin__tls_session_new(SSL_CTX *ctx, chopin_bufpool *pool) {
    pthread_once(&method_once, make_method);
    if (!method) return NULL;
    chopin_tls_session *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->pool = pool;
    s->ssl = SSL_new(ctx);
    BIO *bio = BIO_new(method);
    if (!s->ssl || !bio) {
        BIO_free(bio);
        SSL_free(s->ssl);
        free(s);
        ERR_clear_error();
        return NULL;
    }
    BIO_set_data(bio, s);
    SSL_set_bio(s->ssl, bio, bio); /* one BIO both ways: the session owns its one reference */
    SSL_set_accept_state(s->ssl);
    if (chopin__tls_kernel_wanted(ctx)) chopin__tls_kernel_watch(s);
    return s;
}

void chopin__tls_session_free(chopin_tls_session *s) {
    if (!s) return;
    SSL_free(s->ssl);
    OPENSSL_cleanse(s->kernel_info, sizeof s->kernel_info);
    chopin__buf_release(&s->out, s->pool);
    free(s);
}

/* What an SSL_* call that returned r means here. */
static long outcome(chopin_tls_session *s, int r) {
    int e = SSL_get_error(s->ssl, r);
    /* OpenSSL's error queue is the thread's: left there, one connection's
     * failure would read as the next one's. The reason is kept. */
    unsigned long reason = ERR_peek_last_error();
    ERR_clear_error();
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        if (!s->write_failed) return CHOPIN_TLS_WANT;
    } else if (e == SSL_ERROR_ZERO_RETURN) {
        return CHOPIN_TLS_CLOSED;
    }
    if (!s->error) s->error = reason;
    return CHOPIN_TLS_FAILED;
}

long chopin__tls_read(chopin_tls_session *s, char *plain, size_t cap) {
    if (!s->established) {
        int r = SSL_do_handshake(s->ssl);
        if (r != 1) return outcome(s, r);
        s->established = 1;
    }
    int r = SSL_read(s->ssl, plain, cap > INT_MAX ? INT_MAX : (int)cap);
    if (r > 0) return r;
    return outcome(s, r);
}

int chopin__tls_write(chopin_tls_session *s, const void *plain, size_t len) {
    const char *p = plain;
    while (len > 0) {
        int n = len > INT_MAX ? INT_MAX : (int)len;
        int r = SSL_write(s->ssl, p, n);
        if (r <= 0) {
            ERR_clear_error();
            return -1; /* the BIO never asks to wait: out of memory, or a session that failed */
        }
        p += r;
        len -= (size_t)r;
    }
    return 0;
}

void chopin__tls_notify_close(chopin_tls_session *s) {
    if (s->notified || !s->established) return;
    s->notified = 1;
    SSL_shutdown(s->ssl);
    ERR_clear_error();
}

int chopin__tls_plain_http(const chopin_tls_session *s) {
    int reason = ERR_GET_REASON(s->error);
    return !s->established && (reason == SSL_R_HTTP_REQUEST || reason == SSL_R_HTTPS_PROXY_REQUEST);
}

const char *chopin__tls_failure(const chopin_tls_session *s, char *buf, size_t len) {
    if (s->write_failed) return "out of memory for its output";
    if (!s->error) return "the client broke the protocol";
    ERR_error_string_n(s->error, buf, len);
    return buf;
}
