/* tls.h - HTTPS: a server's TLS identity (certificate chain and key), made
 * once and handed to chopin_config.tls, reloadable while the server runs.
 *
 * TLS runs in the core, over OpenSSL 3, between the loop and the
 * connection: every connection of a server with `tls` set speaks TLS 1.2
 * or 1.3 first, then HTTP/1.1 exactly as a plain one does (pipelining,
 * streams, files, WebSocket, deferred answers). A server without `tls`
 * never touches OpenSSL on a request.
 *
 * The defaults are the secure ones, and not settings: TLS 1.2 at least,
 * forward-secret AEAD cipher suites only, no renegotiation, no compression,
 * ALPN answering "http/1.1", stateless session tickets whose keys rotate
 * every hour (the previous key still opens a ticket). */
#ifndef CHOPIN_TLS_H
#define CHOPIN_TLS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Whether a client must show a certificate. */
typedef enum chopin_tls_client_auth {
    CHOPIN_TLS_CLIENT_NONE = 0,     /* none asked for */
    CHOPIN_TLS_CLIENT_OPTIONAL = 1, /* asked for; one that is shown must verify against client_ca */
    CHOPIN_TLS_CLIENT_REQUIRED = 2, /* the handshake fails without a certificate that verifies */
} chopin_tls_client_auth;

/* Who seals the records a connection sends once its handshake is done. */
typedef enum chopin_tls_kernel {
    CHOPIN_TLS_KERNEL_AUTO = 0, /* the kernel (kTLS), where it offers the tls ULP and the cipher; else user space */
    CHOPIN_TLS_KERNEL_OFF = 1,  /* always user space (OpenSSL) */
} chopin_tls_kernel;

/* Where the identity comes from: PEM files (read again on each reload), or
 * PEM bytes (copied; a reload without new options uses them again). For
 * each of the certificate chain and the key, set the file or the bytes. */
typedef struct chopin_tls_options {
    const char *cert_file;  /* the leaf certificate first, then its intermediates */
    const char *key_file;   /* the leaf's private key (RSA, EC or Ed25519), unencrypted */
    const void *cert_pem;
    size_t cert_pem_len;
    const void *key_pem;
    size_t key_pem_len;
    chopin_tls_client_auth client_auth;
    const char *client_ca_file; /* PEM certificates a client's must chain to (client_auth != NONE) */
    chopin_tls_kernel kernel;
} chopin_tls_options;

typedef struct chopin_tls chopin_tls;

/* Loads and checks an identity (the key must match the certificate).
 * Returns NULL with a readable reason in err. Safe to share between
 * servers; free it after the last server that uses it has ended. */
chopin_tls *chopin_tls_new(const chopin_tls_options *opts, char *err, size_t err_len);
void chopin_tls_free(chopin_tls *tls);

/* Loads the identity again: from opts when given, else from the files (or
 * bytes) it was made from. New connections use the new one, established
 * ones keep theirs. On failure (a bad certificate, a key that does not
 * match) returns -1 with the reason in err, and the old identity stays in
 * use. Safe from any thread while servers run. */
int chopin_tls_reload(chopin_tls *tls, const chopin_tls_options *opts, char *err, size_t err_len);

/* How many times the identity was loaded (1 after chopin_tls_new). */
uint64_t chopin_tls_generation(const chopin_tls *tls);

/* Whether the kernel can take over the record layer (the "tls" TCP ULP):
 * 1 when it can, 0 when it cannot, with the reason in why. */
int chopin_tls_kernel_offload(char *why, size_t why_len);

/* Whether new connections hand their write keys to the kernel after the
 * handshake (kTLS): 1 when they do, 0 when they seal in user space, with
 * the reason in why (the startup line says it). Reading is always done in
 * user space. */
int chopin_tls_kernel_sealing(chopin_tls *tls, char *why, size_t why_len);

#ifdef __cplusplus
}
#endif
#endif
