/* parse.h - what the request parser (parse.c) lends the rest of http/:
 * the header-name match it frames requests with, which the response writer
 * uses for the names a handler sets. */
#ifndef CHOPIN_HTTP_PARSE_H
#define CHOPIN_HTTP_PARSE_H

#include <stddef.h>

/* Whether the len bytes at name (4 to 16 of them) are the lower-case
 * literal lit (letters and '-'), in any case; exact for a name known to be
 * a token (a CR would pass for a '-'). */
int chopin__name_is(const char *name, size_t len, const char *lit);

#endif
