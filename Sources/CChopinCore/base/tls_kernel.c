/* tls_kernel.c - kTLS: once a session's handshake is done and everything
 * OpenSSL sealed has left, its write keys go to the kernel (the "tls" TCP
 * ULP), which seals what the connection sends from then on. Responses leave
 * as plain sends and file bodies by sendfile from the page cache: no copy
 * through user space, no encryption on the worker's own time.
 *
 * How the keys are had. OpenSSL, when the context has SSL_OP_ENABLE_KTLS,
 * offers each new set of write keys to the session's BIO, already in the
 * kernel's struct (its ktls_crypto_info_t). Our BIO cannot take them at that
 * moment: records sealed before the change (the handshake's last flight)
 * still wait in the session's output, and the kernel would seal them a
 * second time. So it declines, which leaves OpenSSL sealing as before,
 * keeps a copy of the keys, and counts the records OpenSSL goes on sealing
 * with them (the Finished in TLS 1.2, the session ticket in 1.3, any
 * response sent before the handover). At the handover, when nothing sealed
 * waits, the kernel starts at the record number after those.
 *
 * Reading stays in user space: OpenSSL decrypts what the backend received,
 * as it does without kTLS. A session that would need to write again after
 * the handover (a KeyUpdate the client asks an answer to) cannot, and its
 * connection closes (conn/events.c), as with OpenSSL's own kTLS. */
#include "tls.h"

#include <errno.h>
#include <linux/tls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <string.h>
#include <sys/socket.h>

/* OpenSSL's ktls_crypto_info_t on Linux: the kernel's struct for the
 * cipher, in a union the size of the largest, then that struct's length. */
typedef union kernel_keys {
    struct tls_crypto_info info; /* version and cipher, first in each */
    struct tls12_crypto_info_aes_gcm_128 gcm128;
    struct tls12_crypto_info_aes_gcm_256 gcm256;
    struct tls12_crypto_info_aes_ccm_128 ccm128;
    struct tls12_crypto_info_chacha20_poly1305 chacha;
} kernel_keys;

typedef struct openssl_kernel_keys {
    kernel_keys keys;
    size_t len;
} openssl_kernel_keys;

_Static_assert(sizeof(kernel_keys) == CHOPIN_TLS_KERNEL_INFO_MAX, "the kernel's largest crypto_info");

/* The struct's length for a cipher the kernel seals, and where its record
 * number lies; 0 for another. */
static size_t keys_len(const kernel_keys *k, unsigned char **seq) {
    kernel_keys *m = (kernel_keys *)k;
    switch (k->info.cipher_type) {
    case TLS_CIPHER_AES_GCM_128: *seq = m->gcm128.rec_seq; return sizeof m->gcm128;
    case TLS_CIPHER_AES_GCM_256: *seq = m->gcm256.rec_seq; return sizeof m->gcm256;
    case TLS_CIPHER_AES_CCM_128: *seq = m->ccm128.rec_seq; return sizeof m->ccm128;
    case TLS_CIPHER_CHACHA20_POLY1305: *seq = m->chacha.rec_seq; return sizeof m->chacha;
    default: return 0;
    }
}

static void forget_keys(chopin_tls_session *s) {
    s->kernel_keys = 0;
    OPENSSL_cleanse(s->kernel_info, sizeof s->kernel_info);
}

int chopin__tls_kernel_wanted(const SSL_CTX *ctx) { return (SSL_CTX_get_options(ctx) & SSL_OP_ENABLE_KTLS) != 0; }

/* A KeyUpdate we send moves the write keys on: the kept ones are stale
 * from there (OpenSSL offers the new ones where it can, and they are kept
 * again then). */
static void watch_messages(int write_p, int version, int content_type, const void *buf, size_t len, SSL *ssl,
                           void *arg) {
    (void)version;
    (void)ssl;
    chopin_tls_session *s = arg;
    if (write_p && content_type == SSL3_RT_HANDSHAKE && len > 0 && *(const unsigned char *)buf == SSL3_MT_KEY_UPDATE)
        forget_keys(s);
}

void chopin__tls_kernel_watch(chopin_tls_session *s) {
    s->kernel_wanted = 1;
    SSL_set_msg_callback(s->ssl, watch_messages);
    SSL_set_msg_callback_arg(s->ssl, s);
}

long chopin__tls_kernel_take_keys(chopin_tls_session *s, long is_tx, const void *info) {
    if (!is_tx || !s->kernel_wanted || s->kernel_tx || !info) return 0;
    forget_keys(s);
    const openssl_kernel_keys *k = info;
    unsigned char *seq = NULL;
    size_t len = keys_len(&k->keys, &seq);
    uint16_t version = k->keys.info.version;
    /* A layout this build does not know (another OpenSSL): user space it is. */
    if (len == 0 || k->len != len || (version != TLS_1_2_VERSION && version != TLS_1_3_VERSION)) return 0;
    memcpy(s->kernel_info, &k->keys, len);
    s->kernel_keys = 1;
    s->sealed_since = 0;
    s->header_have = 0;
    s->record_left = 0;
    return 0; /* declined: OpenSSL seals until the handover */
}

void chopin__tls_kernel_count(chopin_tls_session *s, const unsigned char *p, size_t n) {
    /* OpenSSL writes whole records, a header and then its length of bytes;
     * the walk still keeps its place across writes. */
    while (n > 0) {
        if (s->record_left == 0) {
            size_t take = 5u - s->header_have < n ? 5u - s->header_have : n;
            memcpy(s->header + s->header_have, p, take);
            s->header_have = (uint8_t)(s->header_have + take);
            p += take;
            n -= take;
            if (s->header_have < 5) return;
            s->header_have = 0;
            s->record_left = ((uint32_t)s->header[3] << 8) | s->header[4];
            s->sealed_since++;
            continue;
        }
        size_t take = s->record_left < n ? s->record_left : n;
        s->record_left -= (uint32_t)take;
        p += take;
        n -= take;
    }
}

size_t chopin__tls_kernel_info(const chopin_tls_session *s, void *info, size_t cap) {
    if (!s->kernel_keys || s->header_have || s->record_left) return 0;
    kernel_keys k;
    memcpy(&k, s->kernel_info, sizeof k);
    unsigned char *seq = NULL;
    size_t len = keys_len(&k, &seq); /* (checked when the keys were kept) */
    if (len == 0 || cap < len) {
        OPENSSL_cleanse(&k, sizeof k);
        return 0;
    }
    /* The record number, big-endian, past the records OpenSSL sealed. */
    uint64_t n = 0;
    for (int i = 0; i < 8; i++) n = n << 8 | seq[i];
    n += s->sealed_since;
    for (int i = 7; i >= 0; i--, n >>= 8) seq[i] = (unsigned char)n;
    memcpy(info, &k, len);
    OPENSSL_cleanse(&k, sizeof k);
    return len;
}

int chopin__tls_kernel_hand_over(chopin_tls_session *s, int fd) {
    unsigned char info[CHOPIN_TLS_KERNEL_INFO_MAX];
    size_t len = chopin__tls_kernel_info(s, info, sizeof info);
    /* Tried once: from here the session never offers or counts again. */
    forget_keys(s);
    s->kernel_wanted = 0;
    SSL_set_msg_callback(s->ssl, NULL);
    if (len == 0) return -EINVAL;
    int rc = 1;
    /* With the ULP but no keys (TLS_TX refused, a cipher this kernel lacks),
     * the socket passes bytes through as before. */
    if (setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", sizeof "tls") < 0 ||
        setsockopt(fd, SOL_TLS, TLS_TX, info, (socklen_t)len) < 0)
        rc = -errno;
    OPENSSL_cleanse(info, sizeof info);
    if (rc > 0) s->kernel_tx = 1;
    return rc;
}

int chopin__tls_kernel_stuck(const chopin_tls_session *s) {
    /* OpenSSL answers a KeyUpdate request with its next write, which will
     * never come: the client's request is owed, and RFC 8446 wants it paid
     * before our next record. */
    return s->out.len > 0 || SSL_get_key_update_type(s->ssl) != SSL_KEY_UPDATE_NONE;
}

void chopin__tls_kernel_notify_close(chopin_tls_session *s, int fd) {
    if (s->notified) return;
    s->notified = 1;
    unsigned char alert[2] = {1, 0}; /* warning, close_notify */
    union {
        struct cmsghdr h;
        char space[CMSG_SPACE(sizeof(unsigned char))];
    } control;
    memset(&control, 0, sizeof control);
    struct iovec iov = {.iov_base = alert, .iov_len = sizeof alert};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.space,
                       .msg_controllen = sizeof control.space};
    struct cmsghdr *h = CMSG_FIRSTHDR(&m);
    h->cmsg_level = SOL_TLS;
    h->cmsg_type = TLS_SET_RECORD_TYPE;
    h->cmsg_len = CMSG_LEN(sizeof(unsigned char));
    *CMSG_DATA(h) = 21; /* an alert record */
    /* As a FIN is: best effort, never waited for. */
    (void)sendmsg(fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
}
