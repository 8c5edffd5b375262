/* fuzz_chunked.c - libFuzzer target for the chunked decoder. The input is
 * decoded whole, again as a buffer growing by pieces whose sizes come from
 * the first byte, and again piece by piece with nothing kept (a streamed
 * body, chopin_chunked_decode_piece); all three must agree, and decoded
 * bytes never outgrow the raw bytes. */
#include "chopin/http.h"

#include <stdlib.h>
#include <string.h>

static chopin_chunked fresh(void) {
    chopin_chunked d;
    memset(&d, 0, sizeof d);
    d.max_body = 1 << 16;
    d.max_ext = 64;
    d.max_trailer = 256;
    return d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    size_t step = (size_t)(data[0] % 7) + 1;
    data++;
    size--;
    char *whole = malloc(size ? size : 1);
    char *parts = malloc(size ? size : 1);
    memcpy(whole, data, size);
    chopin_chunked a = fresh();
    int ra = chopin_chunked_decode(&a, whole, size);
    chopin_chunked b = fresh();
    int rb = CHOPIN_CHUNKED_INCOMPLETE;
    size_t have = 0;
    while (have < size && rb == CHOPIN_CHUNKED_INCOMPLETE) {
        size_t n = size - have < step ? size - have : step;
        memcpy(parts + have, data + have, n);
        have += n;
        rb = chopin_chunked_decode(&b, parts, have);
    }
    if (ra != rb) abort();
    if (ra == CHOPIN_CHUNKED_DONE) {
        if (a.pos != b.pos || a.decoded != b.decoded || a.decoded > a.pos || a.pos > size) abort();
        if (memcmp(whole, parts, a.decoded) != 0) abort();
    }

    /* Streamed: each piece in a buffer of its own, its body bytes appended. */
    chopin_chunked c = fresh();
    uint64_t limit = c.max_body, body_len = 0;
    size_t consumed = 0;
    int rc = CHOPIN_CHUNKED_INCOMPLETE;
    char piece[8];
    while (consumed < size && rc == CHOPIN_CHUNKED_INCOMPLETE) {
        size_t n = size - consumed < step ? size - consumed : step;
        memcpy(piece, data + consumed, n);
        rc = chopin_chunked_decode_piece(&c, piece, n, limit - body_len);
        if (rc != CHOPIN_CHUNKED_INCOMPLETE && rc != CHOPIN_CHUNKED_DONE) break;
        if (c.decoded > c.pos || c.pos > n) abort();
        memcpy(parts + body_len, piece, (size_t)c.decoded); /* parts is free again */
        body_len += c.decoded;
        consumed += c.pos;
    }
    if (rc != ra) abort();
    if (ra == CHOPIN_CHUNKED_DONE && (consumed != a.pos || body_len != a.decoded || memcmp(whole, parts, body_len)))
        abort();
    free(whole);
    free(parts);
    return 0;
}
