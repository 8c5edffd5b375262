/* fuzz_inflate.c - libFuzzer target for chopin_inflate_body. The first
 * byte picks the coding and the limit. The rest is inflated as it is
 * (never more than the limit handed back, nothing leaked), and compressed
 * then inflated again, which must give it back exactly, or TOO_LARGE when
 * it is longer than the limit. */
#include "chopin/chopin.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int gzip = data[0] & 1;
    int raw = (data[0] >> 1) & 1; /* deflate only: a raw stream rather than the zlib format */
    size_t max = (size_t)(data[0] >> 2) * 64;
    data++;
    size--;
    int encoding = gzip ? CHOPIN_ENCODING_GZIP : CHOPIN_ENCODING_DEFLATE;

    void *out;
    size_t len;
    int rc = chopin_inflate_body(encoding, data, size, max, &out, &len);
    if (rc == CHOPIN_INFLATE_OK && len > max) abort();
    if (rc != CHOPIN_INFLATE_OK && (out || len)) abort();
    free(out);

    z_stream s;
    memset(&s, 0, sizeof s);
    if (deflateInit2(&s, 6, Z_DEFLATED, gzip ? 31 : raw ? -15 : 15, 8, Z_DEFAULT_STRATEGY) != Z_OK) return 0;
    size_t cap = deflateBound(&s, size);
    unsigned char *packed = malloc(cap);
    s.next_in = (unsigned char *)data;
    s.avail_in = (uInt)size;
    s.next_out = packed;
    s.avail_out = (uInt)cap;
    if (deflate(&s, Z_FINISH) != Z_STREAM_END) abort();
    size_t n = cap - s.avail_out;
    deflateEnd(&s);
    rc = chopin_inflate_body(encoding, packed, n, max, &out, &len);
    if (size > max) {
        if (rc != CHOPIN_INFLATE_TOO_LARGE) abort();
    } else if (rc != CHOPIN_INFLATE_OK || len != size || (size && memcmp(out, data, size) != 0)) {
        abort();
    }
    free(out);
    free(packed);
    return 0;
}
