/* compress.c - gzip and deflate for response bodies, with zlib.
 *
 * A route that opts in (chopin_response_compress) has its body compressed
 * when the response ends, if it is worth it: a compressible Content-Type,
 * at least the threshold, no Content-Encoding of its own, not a 206, and
 * smaller once compressed. Each thread keeps one zlib stream per format
 * and resets it per response: deflateInit's quarter megabyte of state is
 * paid once per thread, not per request. */
#include "compress.h"

#include "chopin/response.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

typedef struct zstreams {
    z_stream s[2]; /* gzip, deflate (zlib format, as HTTP's "deflate" means) */
    uint8_t ready[2];
} zstreams;

static pthread_key_t key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void zstreams_free(void *p) {
    zstreams *z = p;
    for (int i = 0; i < 2; i++)
        if (z->ready[i]) deflateEnd(&z->s[i]);
    free(z);
}

static void make_key(void) { pthread_key_create(&key, zstreams_free); }

/* The calling thread's stream for encoding, reset; NULL out of memory. */
static z_stream *stream_for(int encoding) {
    pthread_once(&key_once, make_key);
    zstreams *z = pthread_getspecific(key);
    if (!z) {
        z = calloc(1, sizeof *z);
        if (!z || pthread_setspecific(key, z) != 0) {
            free(z);
            return NULL;
        }
    }
    int i = encoding == CHOPIN_ENCODING_GZIP ? 0 : 1;
    z_stream *s = &z->s[i];
    if (!z->ready[i]) {
        /* Level 6 (zlib's default), window 2^15 (+16: the gzip wrapper). */
        if (deflateInit2(s, 6, Z_DEFLATED, i == 0 ? 15 + 16 : 15, 8, Z_DEFAULT_STRATEGY) != Z_OK) return NULL;
        z->ready[i] = 1;
    } else if (deflateReset(s) != Z_OK) {
        return NULL;
    }
    return s;
}

/* a[0..n) equals lit, ignoring ASCII case; lit is lower case. The exact
 * memcmp first (a constant length: a few loads), since types are nearly
 * always written in lower case; strncasecmp was most of this on every
 * Content-Type a handler writes. */
static inline int ieq_prefix(const char *a, const char *lit, size_t n) {
    if (memcmp(a, lit, n) == 0) return 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)a[i];
        if ((c >= 'A' && c <= 'Z' ? c | 0x20 : c) != (unsigned char)lit[i]) return 0;
    }
    return 1;
}

/* The media type of v (up to the first ';' or ' ') is lit, any case: lit
 * holds neither, so it is when v starts with lit and the type ends there. */
#define TYPE_IS(v, n, lit)                                                                                             \
    ((n) >= sizeof(lit) - 1 && ieq_prefix((v), lit, sizeof(lit) - 1) &&                                              \
     ((n) == sizeof(lit) - 1 || (v)[sizeof(lit) - 1] == ';' || (v)[sizeof(lit) - 1] == ' '))

int chopin__compressible_type(const char *v, size_t n) {
    if (n >= 5 && ieq_prefix(v, "text/", 5)) return 1;
    if (TYPE_IS(v, n, "application/json") || TYPE_IS(v, n, "application/javascript") ||
        TYPE_IS(v, n, "application/xml") || TYPE_IS(v, n, "image/svg+xml") || TYPE_IS(v, n, "application/wasm"))
        return 1;
    /* application/problem+json, application/atom+xml, ...: the media type alone, without parameters */
    size_t end = 0;
    while (end < n && v[end] != ';' && v[end] != ' ') end++;
    return (end >= 5 && ieq_prefix(v + end - 5, "+json", 5)) || (end >= 4 && ieq_prefix(v + end - 4, "+xml", 4));
}

long chopin__compress(int encoding, const char *in, size_t len, char **out) {
    z_stream *s = stream_for(encoding);
    if (!s) return -1;
    size_t cap = deflateBound(s, (uLong)len);
    char *buf = malloc(cap);
    if (!buf) return -1;
    s->next_in = (Bytef *)in;
    s->avail_in = (uInt)len;
    s->next_out = (Bytef *)buf;
    s->avail_out = (uInt)cap;
    if (deflate(s, Z_FINISH) != Z_STREAM_END) {
        free(buf);
        return -1;
    }
    *out = buf;
    return (long)(cap - s->avail_out);
}
