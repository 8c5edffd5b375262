/* compress.h - gzip and deflate for response bodies (compress.c). */
#ifndef CHOPIN_HTTP_COMPRESS_H
#define CHOPIN_HTTP_COMPRESS_H

#include <stddef.h>

/* Whether a Content-Type value is worth compressing. */
int chopin__compressible_type(const char *value, size_t len);
/* The body in[0..len) compressed into *out (malloc'd, the caller frees);
 * returns its length or -1. */
long chopin__compress(int encoding, const char *in, size_t len, char **out);

#endif
