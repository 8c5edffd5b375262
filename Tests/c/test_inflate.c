/* test_inflate.c - chopin_inflate_body: gzip (one member and several),
 * deflate in the zlib format and raw, the limit exactly reached and one
 * byte past it, a bomb (64 MiB of zeros, 64 KiB compressed) stopped at the
 * limit, and data that is corrupt, cut short, followed by garbage, or of
 * the other coding. */
#include "chopin/chopin.h"
#include "test.h"

#include <stdlib.h>
#include <zlib.h>

/* Compresses in[0..n) with windowBits (31 gzip, 15 zlib, -15 raw) into a malloc'd buffer. */
static unsigned char *pack(int window, const void *in, size_t n, size_t *out_len) {
    z_stream s = {0};
    deflateInit2(&s, 6, Z_DEFLATED, window, 8, Z_DEFAULT_STRATEGY);
    size_t cap = deflateBound(&s, n);
    unsigned char *out = malloc(cap);
    s.next_in = (unsigned char *)in;
    s.avail_in = (uInt)n;
    s.next_out = out;
    s.avail_out = (uInt)cap;
    int rc = deflate(&s, Z_FINISH);
    CHECK(rc == Z_STREAM_END, "deflate: %d", rc);
    *out_len = cap - s.avail_out;
    deflateEnd(&s);
    return out;
}

static char text[100000];

/* Inflates packed with encoding and max; returns the result, checks the output against want when OK. */
static int check_inflate(int encoding, const unsigned char *packed, size_t n, size_t max, const char *want,
                         size_t want_len) {
    void *out = (void *)1;
    size_t len = 12345;
    int rc = chopin_inflate_body(encoding, packed, n, max, &out, &len);
    if (rc == CHOPIN_INFLATE_OK) {
        CHECK(len == want_len && (len == 0 || memcmp(out, want, len) == 0), "inflated %zu bytes, want %zu", len,
              want_len);
        CHECK(len <= max, "%zu bytes past the limit %zu", len, max);
    } else {
        CHECK(out == NULL && len == 0, "nothing handed back on failure");
    }
    free(out);
    return rc;
}

static void test_round_trips(void) {
    t_case = "round trips";
    size_t n;
    int windows[] = {31, 15, -15};
    int encodings[] = {CHOPIN_ENCODING_GZIP, CHOPIN_ENCODING_DEFLATE, CHOPIN_ENCODING_DEFLATE};
    for (int i = 0; i < 3; i++) {
        unsigned char *p = pack(windows[i], text, sizeof text, &n);
        CHECK(n < sizeof text / 4, "compressible text");
        CHECK_EQ_INT(check_inflate(encodings[i], p, n, sizeof text, text, sizeof text), CHOPIN_INFLATE_OK);
        CHECK_EQ_INT(check_inflate(encodings[i], p, n, sizeof text + 1000000, text, sizeof text), CHOPIN_INFLATE_OK);
        /* One byte short of the limit. */
        CHECK_EQ_INT(check_inflate(encodings[i], p, n, sizeof text - 1, NULL, 0), CHOPIN_INFLATE_TOO_LARGE);
        free(p);
        p = pack(windows[i], "", 0, &n);
        CHECK_EQ_INT(check_inflate(encodings[i], p, n, 100, "", 0), CHOPIN_INFLATE_OK);
        free(p);
    }
}

static void test_gzip_members(void) {
    t_case = "gzip members";
    size_t n1, n2;
    unsigned char *a = pack(31, text, 600, &n1);
    unsigned char *b = pack(31, text + 600, 400, &n2);
    unsigned char *both = malloc(n1 + n2);
    memcpy(both, a, n1);
    memcpy(both + n1, b, n2);
    CHECK_EQ_INT(check_inflate(CHOPIN_ENCODING_GZIP, both, n1 + n2, 1000, text, 1000), CHOPIN_INFLATE_OK);
    CHECK_EQ_INT(check_inflate(CHOPIN_ENCODING_GZIP, both, n1 + n2, 999, NULL, 0), CHOPIN_INFLATE_TOO_LARGE);
    /* The second member cut short. */
    CHECK_EQ_INT(check_inflate(CHOPIN_ENCODING_GZIP, both, n1 + n2 - 3, 1000, NULL, 0), CHOPIN_INFLATE_CORRUPT);
    free(a);
    free(b);
    free(both);
}

static void test_bomb(void) {
    t_case = "bomb";
    size_t big = 64u << 20, n;
    char *zeros = calloc(1, big);
    unsigned char *p = pack(31, zeros, big, &n);
    free(zeros);
    CHECK(n < 100000, "64 MiB of zeros pack into %zu bytes", n);
    CHECK_EQ_INT(check_inflate(CHOPIN_ENCODING_GZIP, p, n, 1 << 20, NULL, 0), CHOPIN_INFLATE_TOO_LARGE);
    CHECK_EQ_INT(check_inflate(CHOPIN_ENCODING_GZIP, p, n, 0, NULL, 0), CHOPIN_INFLATE_TOO_LARGE);
    free(p);
}

static void test_bad_data(void) {
    t_case = "bad data";
    size_t n;
    unsigned char *p = pack(31, text, 5000, &n);
    CHECK_EQ_INT(check_inflate(CHOPIN_ENCODING_GZIP, p, n - 1, 5000, NULL, 0), CHOPIN_INFLATE_CORRUPT);
    CHECK_EQ_INT(check_inflate(CHOPIN_ENCODING_GZIP, p, n / 2, 5000, NULL, 0), CHOPIN_INFLATE_CORRUPT);
    CHECK_EQ_INT(check_inflate(CHOPIN_ENCODING_GZIP, p, 0, 5000, NULL, 0), CHOPIN_INFLATE_CORRUPT);
    unsigned char *extra = malloc(n + 3);
    memcpy(extra, p, n);
    memcpy(extra + n, "xyz", 3);
    CHECK_EQ_INT(check_inflate(CHOPIN_ENCODING_GZIP, extra, n + 3, 5000, NULL, 0), CHOPIN_INFLATE_CORRUPT);
    p[n - 2] ^= 0xff; /* the length in the gzip trailer */
    CHECK_EQ_INT(check_inflate(CHOPIN_ENCODING_GZIP, p, n, 5000, NULL, 0), CHOPIN_INFLATE_CORRUPT);
    p[n - 2] ^= 0xff;
    p[n - 6] ^= 0xff; /* the CRC */
    CHECK_EQ_INT(check_inflate(CHOPIN_ENCODING_GZIP, p, n, 5000, NULL, 0), CHOPIN_INFLATE_CORRUPT);
    p[n - 6] ^= 0xff;
    /* gzip sent as deflate: neither the zlib format nor a raw stream. */
    CHECK_EQ_INT(check_inflate(CHOPIN_ENCODING_DEFLATE, p, n, 5000, NULL, 0), CHOPIN_INFLATE_CORRUPT);
    CHECK_EQ_INT(check_inflate(CHOPIN_ENCODING_GZIP, (const unsigned char *)"plain text", 10, 5000, NULL, 0),
                 CHOPIN_INFLATE_CORRUPT);
    CHECK_EQ_INT(check_inflate(CHOPIN_ENCODING_IDENTITY, p, n, 5000, NULL, 0), CHOPIN_INFLATE_CORRUPT);
    free(extra);
    free(p);
    /* A zlib stream followed by bytes: only gzip has members. */
    p = pack(15, text, 100, &n);
    extra = malloc(n + 1);
    memcpy(extra, p, n);
    extra[n] = 0;
    CHECK_EQ_INT(check_inflate(CHOPIN_ENCODING_DEFLATE, extra, n + 1, 5000, NULL, 0), CHOPIN_INFLATE_CORRUPT);
    free(extra);
    free(p);
}

int main(void) {
    for (size_t i = 0; i < sizeof text; i++) text[i] = "chopin plays nocturnes, "[i % 24] ^ (i % 97 == 0 ? 32 : 0);
    test_round_trips();
    test_gzip_members();
    test_bomb();
    test_bad_data();
    return test_finish("test_inflate");
}
