/* tls_context.c - a server's TLS identity (include/chopin/tls.h): the
 * OpenSSL context every new session starts from, with Chopin's fixed
 * secure settings, swapped whole on a reload; and the session ticket keys,
 * which outlive reloads and rotate on their own (kept in shared memory for
 * the worker processes of a server that has them, so that any of them
 * opens a ticket another sealed).
 *
 * A reload builds a complete new context first and swaps it in only when
 * it loaded and checked: a bad file never leaves a server without an
 * identity. Sessions hold a reference to the context they started from, so
 * established connections keep their certificate. */
#include "tls.h"
#include "logging.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* TLS 1.2's suites: ECDHE key exchange and AEAD ciphers only (TLS 1.3's
 * are all of that kind, and OpenSSL's defaults for them stand). */
#define TLS12_CIPHERS                                                                                                  \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"                         \
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define TLS_GROUPS "X25519:P-256:P-384"

/* Ticket keys rotate this often; a ticket made with the previous key still
 * resumes (and gets a new one), so a ticket lives at most twice this. */
#define TICKET_ROTATE_S 3600
#define TICKET_LIFETIME_S (2 * TICKET_ROTATE_S)

typedef struct ticket_key {
    unsigned char name[16];
    unsigned char aes[32];
    unsigned char hmac[32];
    int set;
} ticket_key;

struct chopin_tls {
    pthread_mutex_t lock;        /* ctx and the ticket keys */
    pthread_mutex_t reload_lock; /* one reload at a time; the remembered sources */
    SSL_CTX *ctx;
    uint64_t _Atomic generation;
    /* What a reload without new options loads again. */
    char *cert_file, *key_file, *client_ca_file;
    void *cert_pem, *key_pem;
    size_t cert_pem_len, key_pem_len;
    chopin_tls_client_auth client_auth;
    chopin_tls_kernel kernel;
    uint32_t followed; /* the supervisor's reload this process's workers last followed */
    ticket_key current, previous;
    time_t rotated_at;
    chopin_tls_ticket_keys *shared; /* the keys of every process of the server, where it has several */
};

/* ---- errors ------------------------------------------------------------------ */

/* "what: OpenSSL's reason" into err, and OpenSSL's error queue emptied. */
static void fail(char *err, size_t len, const char *what) {
    unsigned long e = ERR_peek_last_error();
    char reason[256] = "";
    if (e) ERR_error_string_n(e, reason, sizeof reason);
    ERR_clear_error();
    if (err && len) snprintf(err, len, "%s%s%s", what, reason[0] ? ": " : "", reason);
}

/* ---- session tickets ----------------------------------------------------------- */

static int new_ticket_key(ticket_key *k) {
    k->set = RAND_bytes(k->name, sizeof k->name) == 1 && RAND_bytes(k->aes, sizeof k->aes) == 1 &&
             RAND_bytes(k->hmac, sizeof k->hmac) == 1;
    return k->set ? 0 : -1;
}

static time_t monotonic_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

/* Under tls->lock: the current key becomes the previous one once its hour is over. */
static void rotate_if_due(chopin_tls *tls) {
    time_t now = monotonic_s();
    if (tls->current.set && now - tls->rotated_at < TICKET_ROTATE_S) return;
    ticket_key next;
    if (new_ticket_key(&next) < 0) return; /* keep the old one rather than none */
    tls->previous = tls->current;
    tls->current = next;
    tls->rotated_at = now;
}

static int mac_init(EVP_MAC_CTX *hctx, unsigned char *key) {
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key, 32),
        OSSL_PARAM_construct_end(),
    };
    return EVP_MAC_CTX_set_params(hctx, params);
}

/* ---- ticket keys shared by the processes of a server ------------------------------ */

static void put_key(unsigned char out[80], const ticket_key *k) {
    memcpy(out, k->name, 16);
    memcpy(out + 16, k->aes, 32);
    memcpy(out + 48, k->hmac, 32);
}

static void take_key(ticket_key *k, const unsigned char in[80], uint8_t set) {
    memcpy(k->name, in, 16);
    memcpy(k->aes, in + 16, 32);
    memcpy(k->hmac, in + 48, 32);
    k->set = set;
}

/* The shared keys, read whole (a seqlock's read): 0, or -1 when a writer
 * never finished (it died mid-write: the caller uses its own keys). */
static int read_shared(const chopin_tls_ticket_keys *sh, ticket_key *cur, ticket_key *prev, int64_t *rotated_at) {
    for (int tries = 0; tries < 10000; tries++) {
        uint32_t before = atomic_load_explicit(&sh->seq, memory_order_acquire);
        if (before & 1) continue;
        take_key(cur, sh->current, sh->current_set);
        take_key(prev, sh->previous, sh->previous_set);
        *rotated_at = sh->rotated_at;
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&sh->seq, memory_order_relaxed) == before) return 0;
    }
    return -1;
}

static void write_shared(chopin_tls_ticket_keys *sh, const ticket_key *cur, const ticket_key *prev, int64_t at) {
    atomic_fetch_add_explicit(&sh->seq, 1, memory_order_acq_rel); /* odd: being written */
    atomic_thread_fence(memory_order_release);
    put_key(sh->current, cur);
    put_key(sh->previous, prev);
    sh->current_set = (uint8_t)cur->set;
    sh->previous_set = (uint8_t)prev->set;
    sh->rotated_at = at;
    atomic_fetch_add_explicit(&sh->seq, 1, memory_order_release); /* even: whole again */
}

/* The current and previous keys of every process: rotated here when the
 * hour is over and no other process is rotating them. 0, or -1. */
static int shared_keys(chopin_tls_ticket_keys *sh, ticket_key *cur, ticket_key *prev) {
    int64_t at;
    if (read_shared(sh, cur, prev, &at) < 0) return -1;
    if (cur->set && monotonic_s() - at < TICKET_ROTATE_S) return 0;
    /* rotating: when a process began (monotonic seconds + 1), 0 when none
     * is at it; one that died at it for a minute is taken over. */
    uint32_t began = atomic_load(&sh->rotating), now = (uint32_t)monotonic_s() + 1;
    if (began && now - began < 60) return 0; /* another process is at it */
    if (!atomic_compare_exchange_strong(&sh->rotating, &began, now)) return 0;
    ticket_key next;
    if (read_shared(sh, cur, prev, &at) == 0 && (!cur->set || monotonic_s() - at >= TICKET_ROTATE_S) &&
        new_ticket_key(&next) == 0) {
        write_shared(sh, &next, cur, monotonic_s());
        *prev = *cur;
        *cur = next;
        OPENSSL_cleanse(&next, sizeof next);
    }
    atomic_store(&sh->rotating, 0);
    return 0;
}

void chopin__tls_share_tickets(chopin_tls *tls, chopin_tls_ticket_keys *shared, int publish) {
    pthread_mutex_lock(&tls->lock);
    if (publish) {
        rotate_if_due(tls);
        write_shared(shared, &tls->current, &tls->previous, (int64_t)tls->rotated_at);
    }
    tls->shared = shared;
    pthread_mutex_unlock(&tls->lock);
}

/* OpenSSL asks for a key to seal a new ticket (enc 1) or to open one (enc
 * 0): 1 done, 2 opened with the previous key (issue a fresh ticket), 0 not
 * ours (a full handshake), -1 failure. */
static int ticket_key_cb(SSL *ssl, unsigned char name[16], unsigned char *iv, EVP_CIPHER_CTX *cctx,
                         EVP_MAC_CTX *hctx, int enc) {
    chopin_tls *tls = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
    if (!tls) return -1;
    ticket_key k, current, previous;
    int rc = 1;
    pthread_mutex_lock(&tls->lock);
    if (!tls->shared || shared_keys(tls->shared, &current, &previous) < 0) {
        rotate_if_due(tls);
        current = tls->current;
        previous = tls->previous;
    }
    pthread_mutex_unlock(&tls->lock);
    if (enc) {
        k = current;
    } else if (current.set && memcmp(name, current.name, 16) == 0) {
        k = current;
    } else if (previous.set && memcmp(name, previous.name, 16) == 0) {
        k = previous;
        rc = 2;
    } else {
        k.set = 0;
    }
    OPENSSL_cleanse(&current, sizeof current);
    OPENSSL_cleanse(&previous, sizeof previous);
    if (!k.set) return enc ? -1 : 0;
    int ready;
    if (enc) {
        memcpy(name, k.name, 16);
        ready = RAND_bytes(iv, 16) == 1 && EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k.aes, iv) == 1;
    } else {
        ready = EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k.aes, iv) == 1;
    }
    if (!ready) {
        OPENSSL_cleanse(&k, sizeof k);
        return -1;
    }
    int ok = mac_init(hctx, k.hmac) == 1;
    OPENSSL_cleanse(&k, sizeof k); /* the stack copy's keys */
    return ok ? rc : -1;
}

/* ---- ALPN: HTTP/1.1 is all there is ---------------------------------------------- */

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                       unsigned int inlen, void *arg) {
    (void)ssl;
    (void)arg;
    static const unsigned char h11[] = "http/1.1";
    for (unsigned i = 0; i < inlen;) {
        unsigned n = in[i];
        if (i + 1 + n > inlen) break;
        if (n == 8 && memcmp(in + i + 1, h11, 8) == 0) {
            *out = in + i + 1;
            *outlen = 8;
            return SSL_TLSEXT_ERR_OK;
        }
        i += 1 + n;
    }
    /* A client that offers only h2 goes on without ALPN and meets HTTP/1.1. */
    return SSL_TLSEXT_ERR_NOACK;
}

/* ---- loading an identity ----------------------------------------------------------- */

/* Never prompts for a passphrase on the terminal: an encrypted key is refused. */
static int no_passphrase(char *buf, int size, int rwflag, void *u) {
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return 0;
}

static BIO *open_source(const char *file, const void *pem, size_t len, const char *what, char *err, size_t err_len) {
    BIO *b = file ? BIO_new_file(file, "r") : BIO_new_mem_buf(pem, (int)len);
    if (!b) {
        char msg[512];
        snprintf(msg, sizeof msg, "cannot read the %s%s%s", what, file ? " " : "", file ? file : "");
        fail(err, err_len, msg);
    }
    return b;
}

/* The leaf certificate, then its chain, into ctx. */
static int load_chain(SSL_CTX *ctx, const char *file, const void *pem, size_t len, char *err, size_t err_len) {
    BIO *b = open_source(file, pem, len, "certificate chain", err, err_len);
    if (!b) return -1;
    X509 *leaf = PEM_read_bio_X509_AUX(b, NULL, no_passphrase, NULL);
    int rc = -1;
    if (!leaf) {
        fail(err, err_len, "the certificate chain holds no PEM certificate");
    } else if (SSL_CTX_use_certificate(ctx, leaf) != 1) {
        fail(err, err_len, "the certificate is refused");
    } else {
        rc = 0;
        X509 *ca;
        while ((ca = PEM_read_bio_X509(b, NULL, no_passphrase, NULL)) != NULL) {
            if (SSL_CTX_add0_chain_cert(ctx, ca) != 1) {
                X509_free(ca);
                fail(err, err_len, "an intermediate certificate is refused");
                rc = -1;
                break;
            }
        }
        /* The end of the file is the one expected reason to stop. */
        unsigned long e = ERR_peek_last_error();
        if (rc == 0 && e && !(ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
            fail(err, err_len, "an intermediate certificate cannot be read");
            rc = -1;
        }
        ERR_clear_error();
    }
    X509_free(leaf);
    BIO_free(b);
    return rc;
}

static int load_key(SSL_CTX *ctx, const char *file, const void *pem, size_t len, char *err, size_t err_len) {
    BIO *b = open_source(file, pem, len, "private key", err, err_len);
    if (!b) return -1;
    EVP_PKEY *key = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL);
    BIO_free(b);
    int rc = -1;
    if (!key)
        fail(err, err_len, "the private key cannot be read (PEM, unencrypted)");
    else if (SSL_CTX_use_PrivateKey(ctx, key) != 1)
        fail(err, err_len, "the private key is refused");
    else if (SSL_CTX_check_private_key(ctx) != 1)
        fail(err, err_len, "the private key does not match the certificate");
    else
        rc = 0;
    EVP_PKEY_free(key);
    return rc;
}

/* A complete context for these sources, or NULL with the reason. */
static SSL_CTX *build_context(chopin_tls *tls, const chopin_tls_options *o, char *err, size_t err_len) {
    if (!(o->cert_file || o->cert_pem) || !(o->key_file || o->key_pem)) {
        snprintf(err, err_len, "TLS needs a certificate chain and a private key (a PEM file or PEM bytes each)");
        return NULL;
    }
    if (o->client_auth != CHOPIN_TLS_CLIENT_NONE && !o->client_ca_file) {
        snprintf(err, err_len, "verifying client certificates needs client_ca_file");
        return NULL;
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        fail(err, err_len, "cannot make a TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* (OpenSSL 3 refuses a client's renegotiation unless told otherwise.) */
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_clear_options(ctx, SSL_OP_ALLOW_CLIENT_RENEGOTIATION);
    /* Idle connections give their record buffers back: memory follows the
     * connections that are busy, not the ones that are open. */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_timeout(ctx, TICKET_LIFETIME_S);
    /* Stateless tickets only: no session cache for the workers to share.
     * (The ticket keys are this identity's, or, with worker processes, the
     * supervisor's in the shared slots' head: a client resumes in any
     * worker process, and after a rolling restart.) */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    /* Which context a resumed session belongs to: OpenSSL refuses to
     * resume without one once client certificates are verified. The client
     * CA file is part of it, so that a change of roots does not resume a
     * session verified against the old ones. */
    unsigned char sid[SSL_MAX_SID_CTX_LENGTH];
    unsigned int sid_len = 0;
    const char *roots = o->client_auth != CHOPIN_TLS_CLIENT_NONE ? o->client_ca_file : "";
    if (!EVP_Digest(roots, strlen(roots), sid, &sid_len, EVP_sha256(), NULL) ||
        SSL_CTX_set_session_id_context(ctx, sid, sid_len < sizeof sid ? sid_len : sizeof sid) != 1) {
        fail(err, err_len, "cannot set the session context");
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_num_tickets(ctx, 1);
    /* kTLS: OpenSSL offers each session's write keys to its BIO, which
     * hands them to the kernel after the handshake (tls_kernel.c). */
    char why[120];
    if (o->kernel == CHOPIN_TLS_KERNEL_AUTO && chopin_tls_kernel_offload(why, sizeof why))
        SSL_CTX_set_options(ctx, SSL_OP_ENABLE_KTLS);
    int ok = SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) == 1 && SSL_CTX_set1_groups_list(ctx, TLS_GROUPS) == 1;
    if (!ok) {
        fail(err, err_len, "OpenSSL refuses Chopin's cipher suites");
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_app_data(ctx, tls);
    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_key_cb);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
    if (load_chain(ctx, o->cert_file, o->cert_pem, o->cert_pem_len, err, err_len) < 0 ||
        load_key(ctx, o->key_file, o->key_pem, o->key_pem_len, err, err_len) < 0) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (o->client_auth != CHOPIN_TLS_CLIENT_NONE) {
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(o->client_ca_file);
        if (!names || SSL_CTX_load_verify_locations(ctx, o->client_ca_file, NULL) != 1) {
            char msg[512];
            snprintf(msg, sizeof msg, "cannot load the client CA certificates %s", o->client_ca_file);
            fail(err, err_len, msg);
            sk_X509_NAME_pop_free(names, X509_NAME_free);
            SSL_CTX_free(ctx);
            return NULL;
        }
        SSL_CTX_set_client_CA_list(ctx, names);
        int mode = SSL_VERIFY_PEER;
        if (o->client_auth == CHOPIN_TLS_CLIENT_REQUIRED) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
        SSL_CTX_set_verify(ctx, mode, NULL);
    }
    return ctx;
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static void *dup_bytes(const void *p, size_t n) {
    if (!p) return NULL;
    void *d = malloc(n ? n : 1);
    if (d) memcpy(d, p, n);
    return d;
}

static void forget_sources(chopin_tls *tls) {
    free(tls->cert_file);
    free(tls->key_file);
    free(tls->client_ca_file);
    if (tls->key_pem) OPENSSL_cleanse(tls->key_pem, tls->key_pem_len);
    free(tls->cert_pem);
    free(tls->key_pem);
    tls->cert_file = tls->key_file = tls->client_ca_file = NULL;
    tls->cert_pem = tls->key_pem = NULL;
}

/* Under tls->reload_lock (or before anyone shares tls): remembers o's sources. */
static int keep_sources(chopin_tls *tls, const chopin_tls_options *o) {
    forget_sources(tls);
    tls->cert_file = dup_or_null(o->cert_file);
    tls->key_file = dup_or_null(o->key_file);
    tls->client_ca_file = dup_or_null(o->client_ca_file);
    tls->cert_pem = dup_bytes(o->cert_file ? NULL : o->cert_pem, o->cert_pem_len);
    tls->key_pem = dup_bytes(o->key_file ? NULL : o->key_pem, o->key_pem_len);
    tls->cert_pem_len = o->cert_pem_len;
    tls->key_pem_len = o->key_pem_len;
    tls->client_auth = o->client_auth;
    tls->kernel = o->kernel;
    int lost = (o->cert_file && !tls->cert_file) || (o->key_file && !tls->key_file) ||
               (o->client_ca_file && !tls->client_ca_file) || (!o->cert_file && o->cert_pem && !tls->cert_pem) ||
               (!o->key_file && o->key_pem && !tls->key_pem);
    return lost ? -1 : 0;
}

static chopin_tls_options remembered(const chopin_tls *tls) {
    chopin_tls_options o = {
        .cert_file = tls->cert_file,
        .key_file = tls->key_file,
        .cert_pem = tls->cert_pem,
        .cert_pem_len = tls->cert_pem_len,
        .key_pem = tls->key_pem,
        .key_pem_len = tls->key_pem_len,
        .client_auth = tls->client_auth,
        .client_ca_file = tls->client_ca_file,
        .kernel = tls->kernel,
    };
    return o;
}

chopin_tls *chopin_tls_new(const chopin_tls_options *opts, char *err, size_t err_len) {
    chopin_tls *tls = calloc(1, sizeof *tls);
    if (!tls) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&tls->lock, NULL);
    pthread_mutex_init(&tls->reload_lock, NULL);
    tls->ctx = build_context(tls, opts, err, err_len);
    if (!tls->ctx || keep_sources(tls, opts) < 0 || new_ticket_key(&tls->current) < 0) {
        if (tls->ctx) snprintf(err, err_len, "out of memory");
        chopin_tls_free(tls);
        return NULL;
    }
    tls->rotated_at = monotonic_s();
    atomic_store(&tls->generation, 1);
    ERR_clear_error();
    return tls;
}

void chopin_tls_free(chopin_tls *tls) {
    if (!tls) return;
    SSL_CTX_free(tls->ctx);
    forget_sources(tls);
    OPENSSL_cleanse(&tls->current, sizeof tls->current);
    OPENSSL_cleanse(&tls->previous, sizeof tls->previous);
    pthread_mutex_destroy(&tls->lock);
    pthread_mutex_destroy(&tls->reload_lock);
    free(tls);
}

/* Under tls->reload_lock: sessions keep starting from the old context
 * while the new one is read and checked. */
static int reload_locked(chopin_tls *tls, const chopin_tls_options *opts, char *err, size_t err_len) {
    chopin_tls_options o = opts ? *opts : remembered(tls);
    SSL_CTX *ctx = build_context(tls, &o, err, err_len);
    int rc = -1;
    if (ctx && opts && keep_sources(tls, opts) < 0) {
        snprintf(err, err_len, "out of memory");
        SSL_CTX_free(ctx);
    } else if (ctx) {
        pthread_mutex_lock(&tls->lock);
        SSL_CTX *old = tls->ctx;
        tls->ctx = ctx;
        atomic_fetch_add(&tls->generation, 1);
        pthread_mutex_unlock(&tls->lock);
        SSL_CTX_free(old); /* sessions that started from it hold their own reference */
        rc = 0;
    }
    /* A worker thread may run this (chopin__tls_follow): whatever OpenSSL
     * left in the thread's error queue would read as its next session's. */
    ERR_clear_error();
    return rc;
}

int chopin_tls_reload(chopin_tls *tls, const chopin_tls_options *opts, char *err, size_t err_len) {
    pthread_mutex_lock(&tls->reload_lock);
    int rc = reload_locked(tls, opts, err, err_len);
    pthread_mutex_unlock(&tls->reload_lock);
    return rc;
}

void chopin__tls_say_reloaded(const chopin_tls *tls) {
    chopin__log("chopin: TLS certificate reloaded (load %llu): new connections use it, established ones keep theirs",
                (unsigned long long)chopin_tls_generation(tls));
}

int chopin__tls_follow(chopin_tls *tls, uint32_t reload, char *err, size_t err_len) {
    pthread_mutex_lock(&tls->reload_lock);
    int rc = 0;
    if (tls->followed != reload) {
        tls->followed = reload; /* tried once per reload, by whichever worker saw it first */
        rc = reload_locked(tls, NULL, err, err_len) < 0 ? -1 : 1;
    }
    pthread_mutex_unlock(&tls->reload_lock);
    return rc;
}

uint64_t chopin_tls_generation(const chopin_tls *tls) {
    return atomic_load_explicit(&((chopin_tls *)tls)->generation, memory_order_relaxed);
}

SSL_CTX *chopin__tls_context_get(chopin_tls *tls) {
    pthread_mutex_lock(&tls->lock);
    SSL_CTX *ctx = tls->ctx;
    if (ctx && SSL_CTX_up_ref(ctx) != 1) ctx = NULL;
    pthread_mutex_unlock(&tls->lock);
    return ctx;
}

void chopin__tls_context_put(SSL_CTX *ctx) { SSL_CTX_free(ctx); }

int chopin_tls_kernel_sealing(chopin_tls *tls, char *why, size_t why_len) {
    SSL_CTX *ctx = chopin__tls_context_get(tls);
    int on = ctx && chopin__tls_kernel_wanted(ctx);
    chopin__tls_context_put(ctx);
    if (on)
        snprintf(why, why_len, "the kernel offers the tls ULP");
    else if (tls->kernel == CHOPIN_TLS_KERNEL_OFF)
        snprintf(why, why_len, "kTLS is turned off");
    else
        chopin_tls_kernel_offload(why, why_len);
    return on;
}

int chopin_tls_kernel_offload(char *why, size_t why_len) {
    /* The ULP is refused on a socket that is not connected (ENOTCONN) when
     * the kernel has it, and with ENOENT when it has none. */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(why, why_len, "cannot make a socket to ask: %s", strerror(errno));
        return 0;
    }
    int rc = setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", sizeof "tls");
    int e = errno;
    close(fd);
    if (rc == 0 || e == ENOTCONN) {
        snprintf(why, why_len, "the kernel offers the tls ULP");
        return 1;
    }
    snprintf(why, why_len, "the kernel has no tls ULP (%s)", strerror(e));
    return 0;
}
