/* websocket_handshake.c - the WebSocket opening handshake (RFC 6455 section
 * 4.2): the request's checks and Sec-WebSocket-Accept, which is the base64
 * of a SHA-1 over the client's key and a fixed GUID. SHA-1 and base64 are
 * written out here (a few dozen lines each) rather than pulled from a
 * crypto library for one hash per connection; SHA-1 is not used for
 * anything that needs collision resistance. */
#include "chopin/websocket.h"

#include <string.h>

static uint32_t rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static void sha1_block(uint32_t h[5], const uint8_t *b) {
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)b[4 * i] << 24 | (uint32_t)b[4 * i + 1] << 16 | (uint32_t)b[4 * i + 2] << 8 | b[4 * i + 3];
    for (int i = 16; i < 80; i++) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], bb = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) {
            f = (bb & c) | (~bb & d);
            k = 0x5A827999;
        } else if (i < 40) {
            f = bb ^ c ^ d;
            k = 0x6ED9EBA1;
        } else if (i < 60) {
            f = (bb & c) | (bb & d) | (c & d);
            k = 0x8F1BBCDC;
        } else {
            f = bb ^ c ^ d;
            k = 0xCA62C1D6;
        }
        uint32_t t = rol(a, 5) + f + e + k + w[i];
        e = d;
        d = c;
        c = rol(bb, 30);
        bb = a;
        a = t;
    }
    h[0] += a;
    h[1] += bb;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

void chopin_sha1(const void *data, size_t len, uint8_t out[20]) {
    uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    const uint8_t *p = data;
    size_t left = len;
    for (; left >= 64; left -= 64, p += 64) sha1_block(h, p);
    /* The tail, the 0x80 marker and the bit length: one or two blocks. */
    uint8_t tail[128] = {0};
    memcpy(tail, p, left);
    tail[left] = 0x80;
    size_t blocks = left < 56 ? 1 : 2;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++) tail[blocks * 64 - 1 - i] = (uint8_t)(bits >> (8 * i));
    for (size_t i = 0; i < blocks; i++) sha1_block(h, tail + 64 * i);
    for (int i = 0; i < 5; i++) {
        out[4 * i] = (uint8_t)(h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(h[i] >> 8);
        out[4 * i + 3] = (uint8_t)h[i];
    }
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t chopin_base64(const uint8_t *in, size_t len, char *out) {
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len) v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len) v |= in[i + 2];
        out[o++] = b64[v >> 18];
        out[o++] = b64[(v >> 12) & 63];
        out[o++] = i + 1 < len ? b64[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? b64[v & 63] : '=';
    }
    return o;
}

void chopin_ws_accept_key(const char *key, size_t key_len, char out[CHOPIN_WS_ACCEPT_LEN]) {
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    char joined[128];
    uint8_t digest[20];
    /* A key longer than this was refused by the handshake check already. */
    if (key_len > sizeof joined - (sizeof guid - 1)) key_len = sizeof joined - (sizeof guid - 1);
    memcpy(joined, key, key_len);
    memcpy(joined + key_len, guid, sizeof guid - 1);
    chopin_sha1(joined, key_len + sizeof guid - 1, digest);
    chopin_base64(digest, sizeof digest, out);
}

/* Whether the comma-separated list value[0..len) holds name as one of its
 * elements (RFC 9110 section 5.6.1: elements trimmed of spaces and tabs,
 * empty ones skipped), compared exactly or ignoring case. */
static int list_has(const char *value, size_t len, const char *name, size_t name_len, int ignore_case) {
    const char *p = value, *end = value + len;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ',')) p++;
        const char *start = p;
        while (p < end && *p != ',') p++;
        const char *stop = p;
        while (stop > start && (stop[-1] == ' ' || stop[-1] == '\t')) stop--;
        if ((size_t)(stop - start) != name_len) continue;
        if (ignore_case ? strncasecmp(start, name, name_len) == 0 : memcmp(start, name, name_len) == 0) return 1;
    }
    return 0;
}

/* Whether a comma-separated header value holds token (case-insensitive). */
static int has_token(const chopin_header *h, const char *token) {
    return h && list_has(h->value.ptr, h->value.len, token, strlen(token), 1);
}

int chopin_ws_list_has(const char *value, size_t len, const char *name, size_t name_len) {
    return name_len > 0 && list_has(value, len, name, name_len, 0);
}

int chopin_ws_offers_protocol(const chopin_request *req, const char *name, size_t name_len) {
    static const char field[] = "sec-websocket-protocol";
    for (size_t i = 0; i < req->header_count; i++) {
        const chopin_header *h = &req->headers[i];
        if (h->name.len != sizeof field - 1 || strncasecmp(h->name.ptr, field, sizeof field - 1) != 0) continue;
        if (chopin_ws_list_has(h->value.ptr, h->value.len, name, name_len)) return 1;
    }
    return 0;
}

/* A Sec-WebSocket-Key must be the base64 of 16 bytes: 22 characters and "==". */
static int valid_key(const chopin_header *h) {
    if (!h || h->value.len != 24 || h->value.ptr[22] != '=' || h->value.ptr[23] != '=') return 0;
    for (int i = 0; i < 22; i++)
        if (!memchr(b64, h->value.ptr[i], 64)) return 0;
    return 1;
}

int chopin_ws_handshake(const chopin_request *req, char accept[CHOPIN_WS_ACCEPT_LEN]) {
    if (req->method != CHOPIN_METHOD_GET || req->version_minor < 1 || req->framing != CHOPIN_FRAMING_NONE) return 400;
    if (!has_token(chopin_request_header(req, "Upgrade", 7), "websocket")) return 400;
    if (!has_token(chopin_request_header(req, "Connection", 10), "upgrade")) return 400;
    const chopin_header *version = chopin_request_header(req, "Sec-WebSocket-Version", 21);
    if (!version || version->value.len != 2 || memcmp(version->value.ptr, "13", 2) != 0) return 426;
    const chopin_header *key = chopin_request_header(req, "Sec-WebSocket-Key", 17);
    if (!valid_key(key)) return 400;
    chopin_ws_accept_key(key->value.ptr, key->value.len, accept);
    return 0;
}
