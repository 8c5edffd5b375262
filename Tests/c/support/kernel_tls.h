/* kernel_tls.h - the kernel's side of kTLS, played by a test: records
 * sealed the way Linux's tls ULP seals them (TLS 1.3 and 1.2; AES-GCM and
 * ChaCha20-Poly1305), from the keys and record number a session hands
 * over. A client that reads them proves the handover right. */
#ifndef CHOPIN_TEST_KERNEL_TLS_H
#define CHOPIN_TEST_KERNEL_TLS_H

#include <linux/tls.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <string.h>

typedef union kernel_keys {
    struct tls_crypto_info info;
    struct tls12_crypto_info_aes_gcm_128 gcm128;
    struct tls12_crypto_info_aes_gcm_256 gcm256;
    struct tls12_crypto_info_chacha20_poly1305 chacha;
} kernel_keys;

typedef struct kernel_sealer {
    kernel_keys k;
    const EVP_CIPHER *cipher;
    const unsigned char *key;
    unsigned char nonce_base[12]; /* TLS 1.3 and ChaCha20: XORed with the record number */
    unsigned char *seq;
    unsigned char explicit_iv[8]; /* TLS 1.2 AES-GCM: sent before each record, one per record */
} kernel_sealer;

static int sealer_init(kernel_sealer *k, const void *info, size_t len) {
    memset(k, 0, sizeof *k);
    if (len > sizeof k->k) return -1;
    memcpy(&k->k, info, len);
    switch (k->k.info.cipher_type) {
    case TLS_CIPHER_AES_GCM_128:
        k->cipher = EVP_aes_128_gcm();
        k->key = k->k.gcm128.key;
        k->seq = k->k.gcm128.rec_seq;
        memcpy(k->nonce_base, k->k.gcm128.salt, 4);
        memcpy(k->nonce_base + 4, k->k.gcm128.iv, 8);
        memcpy(k->explicit_iv, k->k.gcm128.iv, 8);
        return len == sizeof k->k.gcm128 ? 0 : -1;
    case TLS_CIPHER_AES_GCM_256:
        k->cipher = EVP_aes_256_gcm();
        k->key = k->k.gcm256.key;
        k->seq = k->k.gcm256.rec_seq;
        memcpy(k->nonce_base, k->k.gcm256.salt, 4);
        memcpy(k->nonce_base + 4, k->k.gcm256.iv, 8);
        memcpy(k->explicit_iv, k->k.gcm256.iv, 8);
        return len == sizeof k->k.gcm256 ? 0 : -1;
    case TLS_CIPHER_CHACHA20_POLY1305:
        k->cipher = EVP_chacha20_poly1305();
        k->key = k->k.chacha.key;
        k->seq = k->k.chacha.rec_seq;
        memcpy(k->nonce_base, k->k.chacha.iv, 12);
        return len == sizeof k->k.chacha ? 0 : -1;
    default: return -1;
    }
}

static void increment(unsigned char *be, int n) {
    for (int i = n - 1; i >= 0 && ++be[i] == 0; i--) {
    }
}

/* One record of `type` holding data[0..n), into out: its length. */
static size_t kernel_seal(kernel_sealer *k, int type, const void *data, size_t n, unsigned char *out) {
    int tls13 = k->k.info.version == TLS_1_3_VERSION;
    int explicit_nonce = !tls13 && k->k.info.cipher_type != TLS_CIPHER_CHACHA20_POLY1305;
    unsigned char nonce[12], aad[13], inner[20000];
    size_t aad_len, plain_len;
    if (explicit_nonce) {
        memcpy(nonce, k->nonce_base, 4);
        memcpy(nonce + 4, k->explicit_iv, 8);
    } else {
        memcpy(nonce, k->nonce_base, 12);
        for (int i = 0; i < 8; i++)
            nonce[4 + i] ^= k->seq[i];
    }
    memcpy(inner, data, n);
    plain_len = n;
    if (tls13) inner[plain_len++] = (unsigned char)type; /* the real type rides inside */
    size_t body = (explicit_nonce ? 8 : 0) + plain_len + 16;
    out[0] = tls13 ? 23 : (unsigned char)type;
    out[1] = 3;
    out[2] = 3;
    out[3] = (unsigned char)(body >> 8);
    out[4] = (unsigned char)body;
    if (tls13) {
        memcpy(aad, out, 5);
        aad_len = 5;
    } else {
        memcpy(aad, k->seq, 8);
        aad[8] = (unsigned char)type;
        aad[9] = 3;
        aad[10] = 3;
        aad[11] = (unsigned char)(n >> 8);
        aad[12] = (unsigned char)n;
        aad_len = 13;
    }
    unsigned char *p = out + 5;
    if (explicit_nonce) {
        memcpy(p, k->explicit_iv, 8);
        p += 8;
    }
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int outl = 0, ok = EVP_EncryptInit_ex(c, k->cipher, NULL, NULL, NULL) == 1 &&
                       EVP_EncryptInit_ex(c, NULL, NULL, k->key, nonce) == 1 &&
                       EVP_EncryptUpdate(c, NULL, &outl, aad, (int)aad_len) == 1 &&
                       EVP_EncryptUpdate(c, p, &outl, inner, (int)plain_len) == 1;
    int fin = 0;
    ok = ok && EVP_EncryptFinal_ex(c, p + outl, &fin) == 1 &&
         EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, p + plain_len) == 1;
    EVP_CIPHER_CTX_free(c);
    increment(k->seq, 8);
    increment(k->explicit_iv, 8);
    return ok ? 5 + body : 0;
}

#endif
