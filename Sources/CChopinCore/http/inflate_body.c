/* inflate_body.c - request bodies sent compressed (Content-Encoding gzip or
 * deflate), inflated with zlib for the route that opts in. Rare and costly
 * next to the rest of a request, so plainly written: a stream per call, an
 * output buffer grown by doubling up to the caller's limit. */
#include "chopin/inflate.h"
#include "chopin/response.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* zlib's windowBits: gzip wrapper only (+16), zlib wrapper, raw deflate. */
enum { WINDOW_GZIP = 15 + 16, WINDOW_ZLIB = 15, WINDOW_RAW = -15 };

typedef struct output {
    char *buf;
    size_t len, cap, max;
} output;

/* Room for at least one more byte, doubling; 0 once max is reached (the
 * byte that would pass it is the proof of a body too large). */
static int grow(output *o) {
    if (o->cap > o->max) return 0;
    size_t cap = o->cap ? o->cap * 2 : 16384;
    if (cap > o->max + 1) cap = o->max + 1; /* one past max: room to see it crossed */
    char *b = realloc(o->buf, cap);
    if (!b) return -1;
    o->buf = b;
    o->cap = cap;
    return 1;
}

/* Runs one stream over in[0..len) from *used on; the stream's end must
 * come before the input's. Returns an CHOPIN_INFLATE_ result. */
static int run(z_stream *s, const unsigned char *in, size_t len, size_t *used, output *o) {
    s->next_in = (unsigned char *)in + *used;
    s->avail_in = (uInt)(len - *used);
    for (;;) {
        if (o->len == o->cap) {
            int g = grow(o);
            if (g < 0) return CHOPIN_INFLATE_NO_MEMORY;
            if (g == 0) return CHOPIN_INFLATE_TOO_LARGE;
        }
        s->next_out = (unsigned char *)o->buf + o->len;
        s->avail_out = (uInt)(o->cap - o->len);
        int rc = inflate(s, Z_NO_FLUSH);
        o->len = o->cap - s->avail_out;
        if (o->len > o->max) return CHOPIN_INFLATE_TOO_LARGE;
        if (rc == Z_STREAM_END) {
            *used = len - s->avail_in;
            return CHOPIN_INFLATE_OK;
        }
        if (rc == Z_MEM_ERROR) return CHOPIN_INFLATE_NO_MEMORY;
        /* Z_BUF_ERROR with input left means the output was full: go round.
         * Without input, the stream was cut short. */
        if (rc != Z_OK && !(rc == Z_BUF_ERROR && s->avail_in > 0)) return CHOPIN_INFLATE_CORRUPT;
        if (s->avail_in == 0 && s->avail_out > 0) return CHOPIN_INFLATE_CORRUPT;
    }
}

/* One stream of the given window over the whole input: gzip members one
 * after another until the input ends, or exactly one zlib/raw stream. */
static int inflate_all(int window, const unsigned char *in, size_t len, output *o) {
    z_stream s;
    memset(&s, 0, sizeof s);
    if (inflateInit2(&s, window) != Z_OK) return CHOPIN_INFLATE_NO_MEMORY;
    size_t used = 0;
    int rc = run(&s, in, len, &used, o);
    while (rc == CHOPIN_INFLATE_OK && used < len) {
        /* Only gzip may continue, and only with another member. */
        if (window != WINDOW_GZIP || len - used < 2 || in[used] != 0x1f || in[used + 1] != 0x8b) {
            rc = CHOPIN_INFLATE_CORRUPT;
            break;
        }
        if (inflateReset(&s) != Z_OK) {
            rc = CHOPIN_INFLATE_NO_MEMORY;
            break;
        }
        rc = run(&s, in, len, &used, o);
    }
    inflateEnd(&s);
    return rc;
}

int chopin_inflate_body(int encoding, const void *body, size_t len, size_t max, void **out, size_t *out_len) {
    *out = NULL;
    *out_len = 0;
    if (encoding != CHOPIN_ENCODING_GZIP && encoding != CHOPIN_ENCODING_DEFLATE) return CHOPIN_INFLATE_CORRUPT;
    if (len > (uInt)-1) return CHOPIN_INFLATE_TOO_LARGE; /* zlib counts input in 32 bits */
    output o = {.max = max};
    const unsigned char *in = body;
    int rc = inflate_all(encoding == CHOPIN_ENCODING_GZIP ? WINDOW_GZIP : WINDOW_ZLIB, in, len, &o);
    if (rc == CHOPIN_INFLATE_CORRUPT && encoding == CHOPIN_ENCODING_DEFLATE) {
        /* Not the zlib format: perhaps the raw deflate some clients send. */
        o.len = 0;
        rc = inflate_all(WINDOW_RAW, in, len, &o);
    }
    if (rc != CHOPIN_INFLATE_OK || o.len == 0) {
        free(o.buf);
        return rc;
    }
    *out = o.buf;
    *out_len = o.len;
    return CHOPIN_INFLATE_OK;
}
