/* parse.h - what the request parser (parse.c), which knows header names,
 * tells the response writer about the names a handler sets. */
#ifndef CHOPIN_HTTP_PARSE_H
#define CHOPIN_HTTP_PARSE_H

#include <stddef.h>

/* The header names the writer treats apart: Content-Type (compression
 * looks at it), Content-Encoding (the handler compressed already), and the
 * framing headers, which are the core's to write. */
enum { H_OTHER, H_CONTENT_TYPE, H_CONTENT_ENCODING, H_CORE, H_INVALID };

/* What a response header name is: one of the above, any other token, or
 * not a token (H_INVALID). */
int chopin__header_kind(const char *name, size_t len);

#endif
