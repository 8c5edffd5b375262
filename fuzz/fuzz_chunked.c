/* fuzz_chunked.c - libFuzzer target for the chunked decoder. The input is
 * decoded whole and again in pieces whose sizes come from the first byte;
 * both must agree, and decoded bytes never outgrow the raw bytes. */
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
    free(whole);
    free(parts);
    return 0;
}
