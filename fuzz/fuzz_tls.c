/* fuzz_tls.c - libFuzzer target for the core's TLS sessions (base/tls_session.c)
 * and the BIO under them. Each input runs one server session against an
 * in-memory OpenSSL client: the handshake is carried between them in pieces
 * whose size the first byte picks, then:
 *   - mode 0: the client seals the rest of the input as application data,
 *     and the server, fed the records in pieces, must decrypt exactly those
 *     bytes, in order, with every offered byte taken before it asks for more;
 *   - mode 1: the rest of the input goes to the server as raw bytes after the
 *     handshake (forged records, alerts, garbage): it may fail, never crash,
 *     and never returns more plaintext than it was given room for;
 *   - mode 2: the same raw bytes before any handshake (a hostile ClientHello).
 * Inputs of odd length run on a context that offers its write keys to the
 * kernel (kTLS, base/tls_kernel.c): after a handshake the session must hold
 * keys to hand over, and still after it sealed more records.
 * The identity is a self-signed test certificate, made once for this file. */
#include "base/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECORD 16384 /* the most plaintext one record holds */

static const char CERT[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBgjCCASmgAwIBAgIUR8x6geprfjEaglBFwS5watn4fgQwCgYIKoZIzj0EAwIw\n"
    "FjEUMBIGA1UEAwwLY2hvcGluLWZ1enowIBcNMjYxMjA3MTMyNzMzWhgPMjEyNjEx\n"
    "MTMxMzI3MzNaMBYxFDASBgNVBAMMC2Nob3Bpbi1mdXp6MFkwEwYHKoZIzj0CAQYI\n"
    "KoZIzj0DAQcDQgAE4g00Zz177D37fkRzoBOHn/dQW42b15ycd5NCbng0g8WG1KFU\n"
    "2+85C6xI/sz46MOIAOJifPc7oauLFbEEZH4GPaNTMFEwHQYDVR0OBBYEFHnF7iNP\n"
    "WDrYizPqmt8Bzw4gXNjjMB8GA1UdIwQYMBaAFHnF7iNPWDrYizPqmt8Bzw4gXNjj\n"
    "MA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDRwAwRAIgZ1QZsB0xgiWe3p56\n"
    "JsKekc+DuPaPeTELCoIIEyFYfL0CIDB8CGvydYMWoaXxuqUF1z2Eu72vOUwBP1/q\n"
    "fQY+sQ6R\n"
    "-----END CERTIFICATE-----\n";
static const char KEY[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgW1y6zkIk8RlhZfdf\n"
    "W/QQQ2puohUaDv8PJtm8fB0sewqhRANCAATiDTRnPXvsPft+RHOgE4ef91BbjZvX\n"
    "nJx3k0JueDSDxYbUoVTb7zkLrEj+zPjow4gA4mJ89zuhq4sVsQRkfgY9\n"
    "-----END PRIVATE KEY-----\n";

static chopin_tls *identity, *identity_kernel;
static SSL_CTX *client_ctx;
static chopin_bufpool pool;

static void init(void) {
    chopin_tls_options o = {.cert_pem = CERT, .cert_pem_len = sizeof CERT - 1, .key_pem = KEY, .key_pem_len = sizeof KEY - 1};
    char err[256];
    o.kernel = CHOPIN_TLS_KERNEL_OFF; /* the same on every kernel; the kTLS one is made so below */
    identity = chopin_tls_new(&o, err, sizeof err);
    identity_kernel = chopin_tls_new(&o, err, sizeof err);
    if (!identity || !identity_kernel) __builtin_trap();
    /* What a context is made with where the kernel offers the tls ULP. */
    SSL_CTX *kernel_ctx = chopin__tls_context_get(identity_kernel);
    SSL_CTX_set_options(kernel_ctx, SSL_OP_ENABLE_KTLS);
    chopin__tls_context_put(kernel_ctx);
    client_ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(client_ctx, SSL_VERIFY_NONE, NULL);
    chopin__pool_init(&pool, 16384, 64);
}

/* Feeds data to the server in pieces of `piece`, collecting plaintext;
 * returns the last outcome (WANT, CLOSED or FAILED). */
static long feed(chopin_tls_session *s, const char *data, size_t len, size_t piece, char *plain, size_t cap,
                 size_t *plain_len) {
    long r = CHOPIN_TLS_WANT;
    for (size_t off = 0; off < len || off == 0; off += piece) {
        size_t n = len - off < piece ? len - off : piece;
        chopin__tls_feed(s, data + off, n);
        for (;;) {
            char buf[RECORD];
            r = chopin__tls_read(s, buf, sizeof buf);
            if (r > (long)sizeof buf) __builtin_trap();
            if (r <= 0) break;
            if (*plain_len + (size_t)r <= cap) memcpy(plain + *plain_len, buf, (size_t)r);
            *plain_len += (size_t)r;
        }
        if (r == CHOPIN_TLS_WANT && s->in_len != 0) __builtin_trap(); /* bytes left behind */
        if (r != CHOPIN_TLS_WANT || len == 0) break;
    }
    return r;
}

/* Moves what the client wrote to the server and back until neither has
 * more to say. Returns 0 once both ends are through the handshake. */
static int handshake(chopin_tls_session *s, SSL *client, BIO *to_client, BIO *from_client, size_t piece) {
    for (int round = 0; round < 16; round++) {
        SSL_do_handshake(client);
        char out[65536];
        int n = BIO_read(from_client, out, sizeof out);
        size_t got = 0;
        char none[1];
        if (n > 0 && feed(s, out, (size_t)n, piece, none, 0, &got) == CHOPIN_TLS_FAILED) return -1;
        if (got) __builtin_trap(); /* no plaintext during a handshake */
        if (s->out.len) {
            BIO_write(to_client, s->out.data, (int)s->out.len);
            s->out.len = 0;
        }
        if (s->established && SSL_is_init_finished(client)) return 0;
    }
    return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!identity) init();
    if (size < 1) return 0;
    int mode = data[0] % 3;
    size_t piece = (size_t)(data[0] / 3) % 64 + 1;
    const char *rest = (const char *)data + 1;
    size_t len = size - 1;
    int kernel = size & 1;
    struct ssl_ctx_st *ctx = chopin__tls_context_get(kernel ? identity_kernel : identity);
    chopin_tls_session *s = chopin__tls_session_new(ctx, &pool);
    chopin__tls_context_put(ctx);
    if (!s) return 0;
    static char plain[1 << 16];
    size_t plain_len = 0;
    if (mode == 2) {
        feed(s, rest, len, piece, plain, sizeof plain, &plain_len);
        if (plain_len) __builtin_trap(); /* nothing decrypts before a handshake */
        chopin__tls_session_free(s);
        return 0;
    }
    SSL *client = SSL_new(client_ctx);
    BIO *to_client = BIO_new(BIO_s_mem()), *from_client = BIO_new(BIO_s_mem());
    SSL_set_bio(client, to_client, from_client);
    SSL_set_connect_state(client);
    int shook = handshake(s, client, to_client, from_client, piece) == 0;
    if (getenv("FUZZ_TLS_SAY")) fprintf(stderr, "fuzz_tls: handshake %s\n", shook ? "done" : "failed");
    unsigned char keys[CHOPIN_TLS_KERNEL_INFO_MAX];
    if (shook && kernel != (chopin__tls_kernel_info(s, keys, sizeof keys) > 0)) __builtin_trap();
    if (shook) {
        if (mode == 0 && len > 0) {
            if (SSL_write(client, rest, (int)len) != (int)len) __builtin_trap();
            static char sealed[1 << 17];
            int n = BIO_read(from_client, sealed, sizeof sealed);
            if (n <= 0) __builtin_trap();
            if (feed(s, sealed, (size_t)n, piece, plain, sizeof plain, &plain_len) != CHOPIN_TLS_WANT) __builtin_trap();
            if (plain_len != len || memcmp(plain, rest, len) != 0) __builtin_trap();
            if (chopin__tls_write(s, rest, len) < 0) __builtin_trap(); /* and back */
            if (kernel && !chopin__tls_kernel_info(s, keys, sizeof keys)) __builtin_trap();
        } else if (mode == 1) {
            feed(s, rest, len, piece, plain, sizeof plain, &plain_len);
            if (plain_len > len) __builtin_trap();
        }
    }
    SSL_free(client);
    chopin__tls_session_free(s);
    ERR_clear_error();
    return 0;
}
