/* inflate.h - request bodies sent with Content-Encoding gzip or deflate. */
#ifndef CHOPIN_INFLATE_H
#define CHOPIN_INFLATE_H

#include <stddef.h>

/* chopin_inflate_body's results. */
enum {
    CHOPIN_INFLATE_OK = 0,
    CHOPIN_INFLATE_TOO_LARGE = 1, /* more than max bytes once inflated (a zip bomb): 413 */
    CHOPIN_INFLATE_CORRUPT = 2,   /* not valid data of that coding, cut short, or bytes after its end: 400 */
    CHOPIN_INFLATE_NO_MEMORY = -1,
};

/* Inflates body (len bytes, coded with CHOPIN_ENCODING_GZIP or _DEFLATE)
 * into a buffer of its own: *out (malloc'd, the caller frees it; NULL when
 * the result is empty) and *out_len. Never holds more than max bytes of
 * output, whatever the ratio, so a bomb costs at most max. gzip may be
 * several members one after another (RFC 1952); deflate is the zlib format
 * HTTP means by it, and a raw deflate stream, which some clients send
 * instead, is accepted as well. */
int chopin_inflate_body(int encoding, const void *body, size_t len, size_t max, void **out, size_t *out_len);

#endif
