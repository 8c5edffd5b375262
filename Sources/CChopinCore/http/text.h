/* text.h - status reasons, decimal integers and HTTP dates as the response
 * head spells them (text.c). */
#ifndef CHOPIN_HTTP_TEXT_H
#define CHOPIN_HTTP_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* The reason phrase of a status the core names ("" for others), with its
 * length, so the status line is copied rather than measured. */
typedef struct chopin_reason_text {
    const char *text;
    size_t len;
} chopin_reason_text;
chopin_reason_text chopin__status_reason(int status);
/* Formats an IMF-fixdate (29 bytes, no NUL) for the Unix time t. */
void chopin__format_date(char out[29], time_t t);
/* Writes the decimal digits of v into out; returns how many. */
size_t chopin__format_u64(char *out, uint64_t v);

#endif
