/* test_tls_kernel.c - kTLS's keys, on any kernel: a session that offers its
 * write keys to the kernel hands over exactly what the kernel needs to go
 * on where OpenSSL stopped. Each pass makes a handshake in memory between a
 * Chopin session and OpenSSL's client, for TLS 1.3 and 1.2 and each AEAD
 * cipher the kernel seals, with none or some responses sealed by OpenSSL
 * before the handover; then this file seals records the way the kernel
 * does (its record formats, from the keys and the record number the session
 * hands over) and the client must read them, a close_notify last. A wrong
 * key, nonce or record number fails the client's integrity check. The
 * session still reads what the client sends after the handover.
 *
 * test_tls runs the same over real sockets with the kernel sealing, where
 * the kernel offers the tls ULP (and says loudly where it does not). */
#include "base/tls.h"
#include "kernel_tls.h"
#include "certs.h"
#include "test.h"
#include "tls_memory.h"

#include <linux/tls.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <unistd.h>

static test_pair certs;

static void one_pass(SSL_CTX *server_ctx, int version, const char *cipher, int sealed_before) {
    char name[96];
    snprintf(name, sizeof name, "%s %s, %d before", version == TLS1_3_VERSION ? "TLS 1.3" : "TLS 1.2", cipher,
             sealed_before);
    t_case = name;
    SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(cctx, version);
    SSL_CTX_set_max_proto_version(cctx, version);
    if (version == TLS1_3_VERSION)
        SSL_CTX_set_ciphersuites(cctx, cipher);
    else
        SSL_CTX_set_cipher_list(cctx, cipher);
    pair p;
    pair_open(&p, server_ctx, cctx, NULL);
    CHECK(p.s && handshake(&p) == 0, "the handshake");
    CHECK(strcmp(SSL_get_cipher_name(p.client), cipher) == 0, "the cipher: %s", SSL_get_cipher_name(p.client));

    char got[65536];
    /* The first request, read as it always is. */
    SSL_write(p.client, "GET /first HTTP/1.1\r\n\r\n", 23);
    size_t n = client_to_server(&p, got, sizeof got);
    CHECK(n == 23 && memcmp(got, "GET /first", 10) == 0, "the first request (%zu bytes)", n);
    for (int i = 0; i < sealed_before; i++) {
        char answer[64];
        int len = snprintf(answer, sizeof answer, "sealed by OpenSSL %d", i);
        chopin__tls_write(p.s, answer, (size_t)len);
    }
    server_to_client(&p);
    n = client_read(&p, got, sizeof got);
    CHECK(n == (size_t)sealed_before * 19, "OpenSSL's records before the handover: %zu bytes", n);

    unsigned char info[CHOPIN_TLS_KERNEL_INFO_MAX];
    size_t info_len = chopin__tls_kernel_info(p.s, info, sizeof info);
    CHECK(info_len > 0, "the session kept write keys the kernel can take");
    kernel_sealer k;
    if (info_len == 0 || sealer_init(&k, info, info_len) < 0) {
        CHECK(0, "keys of a cipher the kernel seals (%zu bytes)", info_len);
    } else {
        CHECK(k.k.info.version == (version == TLS1_3_VERSION ? TLS_1_3_VERSION : TLS_1_2_VERSION), "the version");
        /* Three records the kernel would seal: the client reads each. */
        static const char *const answers[] = {"HTTP/1.1 200 OK\r\n", "Content-Length: 2\r\n\r\n", "ok"};
        unsigned char rec[20100];
        for (int i = 0; i < 3; i++) {
            size_t rl = kernel_seal(&k, 23, answers[i], strlen(answers[i]), rec);
            BIO_write(p.to_client, rec, (int)rl);
            n = client_read(&p, got, sizeof got);
            CHECK(n == strlen(answers[i]) && memcmp(got, answers[i], n) == 0, "record %d of the kernel's: %zu bytes",
                  i, n);
        }
        /* A full record's worth. */
        static char full[16384];
        for (size_t i = 0; i < sizeof full; i++)
            full[i] = (char)(i * 7);
        size_t rl = kernel_seal(&k, 23, full, sizeof full, rec);
        BIO_write(p.to_client, rec, (int)rl);
        n = client_read(&p, got, sizeof got);
        CHECK(n == sizeof full && memcmp(got, full, n) == 0, "a full record: %zu bytes", n);
        /* The client goes on asking: the session reads, in user space. */
        SSL_write(p.client, "GET /second HTTP/1.1\r\n\r\n", 24);
        n = client_to_server(&p, got, sizeof got);
        CHECK(n == 24 && memcmp(got, "GET /second", 11) == 0, "a request after the handover (%zu bytes)", n);
        CHECK(p.s->out.len == 0, "reading wrote nothing the kernel would have to seal");
        /* Our close_notify, as the kernel seals an alert record. */
        static const unsigned char alert[2] = {1, 0};
        rl = kernel_seal(&k, 21, alert, 2, rec);
        BIO_write(p.to_client, rec, (int)rl);
        int r = SSL_read(p.client, got, sizeof got);
        CHECK(r == 0 && SSL_get_error(p.client, r) == SSL_ERROR_ZERO_RETURN, "the close_notify: %d, %d", r,
              SSL_get_error(p.client, r));
    }
    ERR_clear_error();
    pair_close(&p);
    SSL_CTX_free(cctx);
}

/* Without SSL_OP_ENABLE_KTLS (kTLS off, or a kernel without the ULP), the
 * session keeps nothing: it seals in user space. */
static void off_keeps_nothing(SSL_CTX *server_ctx) {
    t_case = "kTLS off";
    SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
    pair p;
    pair_open(&p, server_ctx, cctx, NULL);
    CHECK(p.s && handshake(&p) == 0, "the handshake");
    unsigned char info[CHOPIN_TLS_KERNEL_INFO_MAX];
    CHECK(chopin__tls_kernel_info(p.s, info, sizeof info) == 0, "no keys kept");
    CHECK(!chopin__tls_kernel_ready(p.s), "nothing to hand over");
    pair_close(&p);
    SSL_CTX_free(cctx);
}

int main(void) {
    if (test_pair_make(&certs, "ktls") < 0) return 2;
    char err[256];
    chopin_tls_options off = {.cert_file = certs.cert, .key_file = certs.key, .kernel = CHOPIN_TLS_KERNEL_OFF};
    chopin_tls *tls = chopin_tls_new(&off, err, sizeof err);
    CHECK(tls != NULL, "chopin_tls_new: %s", err);
    if (!tls) return test_finish("test_tls_kernel");
    struct ssl_ctx_st *ctx = chopin__tls_context_get(tls);
    CHECK(!chopin__tls_kernel_wanted(ctx), "kernel = OFF: the context does not offer keys");
    CHECK(chopin_tls_kernel_sealing(tls, err, sizeof err) == 0 && strstr(err, "off"), "the reason: %s", err);
    off_keeps_nothing(ctx);
    /* What a context makes where the kernel offers the ULP, on any kernel. */
    SSL_CTX_set_options(ctx, SSL_OP_ENABLE_KTLS);
    static const char *const tls13[] = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                        "TLS_CHACHA20_POLY1305_SHA256"};
    static const char *const tls12[] = {"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
                                        "ECDHE-ECDSA-CHACHA20-POLY1305"};
    for (int i = 0; i < 3; i++)
        for (int before = 0; before <= 3; before += 3) {
            one_pass(ctx, TLS1_3_VERSION, tls13[i], before);
            one_pass(ctx, TLS1_2_VERSION, tls12[i], before);
        }
    chopin__tls_context_put(ctx);
    chopin_tls_free(tls);
    test_pair_remove(&certs);
    return test_finish("test_tls_kernel");
}
