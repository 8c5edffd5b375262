/* chunked.c - incremental, in-place decoder for Transfer-Encoding: chunked
 * (RFC 9112 section 7.1).
 *
 * It keeps its state between calls, so bytes arriving one at a time cost
 * O(n) in total, and it moves decoded data towards the buffer's start, so the
 * handler sees one contiguous body without a second buffer. Chunk sizes,
 * extensions and trailers are bounded: each limit is a clear error. */
#include "chopin/http.h"

#include <string.h>

enum {
    S_SIZE = 0,      /* chunk-size hex digits */
    S_EXT,           /* after the size: BWS, chunk extensions, until CR */
    S_SIZE_LF,       /* LF after the size line's CR */
    S_DATA,          /* chunk data */
    S_DATA_CR,       /* CR after chunk data */
    S_DATA_LF,       /* LF after chunk data */
    S_TRAILER_START, /* start of a trailer line, or the final CRLF */
    S_TRAILER,       /* inside a trailer field line */
    S_TRAILER_LF,    /* LF ending a trailer line */
    S_END_LF,        /* LF of the final CRLF */
    S_DONE,
};

static int hexval(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Characters allowed on a chunk-ext or trailer line: visible ASCII,
 * obs-text, SP and HTAB. No CR, LF, NUL or other controls. */
static int line_char(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

int chopin_chunked_decode(chopin_chunked *d, char *buf, size_t len) {
    size_t i = d->pos;
    while (i < len) {
        unsigned char c = (unsigned char)buf[i];
        switch (d->state) {
        case S_SIZE: {
            int h = hexval(c);
            if (h >= 0) {
                if (d->size_digits == 16) return CHOPIN_CHUNKED_BAD; /* would overflow 64 bits */
                d->remaining = (d->remaining << 4) | (uint64_t)h;
                d->size_digits++;
                i++;
                break;
            }
            if (d->size_digits == 0) return CHOPIN_CHUNKED_BAD;
            if (d->remaining > d->max_body - d->decoded) return CHOPIN_CHUNKED_TOO_LARGE;
            d->ext_bytes = 0;
            if (c == '\r') {
                d->state = S_SIZE_LF;
                i++;
            } else if (c == ';' || c == ' ' || c == '\t') {
                d->state = S_EXT;
            } else {
                return CHOPIN_CHUNKED_BAD;
            }
            break;
        }
        case S_EXT:
            /* Extensions are read and ignored (RFC 9112 section 7.1.1), but bounded. */
            if (c == '\r') {
                d->state = S_SIZE_LF;
            } else if (!line_char(c) || ++d->ext_bytes > d->max_ext) {
                return line_char(c) ? CHOPIN_CHUNKED_TOO_LARGE : CHOPIN_CHUNKED_BAD;
            }
            i++;
            break;
        case S_SIZE_LF:
            if (c != '\n') return CHOPIN_CHUNKED_BAD;
            i++;
            d->size_digits = 0;
            d->state = d->remaining == 0 ? S_TRAILER_START : S_DATA;
            break;
        case S_DATA: {
            size_t avail = len - i;
            size_t n = d->remaining < avail ? (size_t)d->remaining : avail;
            if (d->decoded != i) memmove(buf + d->decoded, buf + i, n);
            d->decoded += n;
            d->remaining -= n;
            i += n;
            if (d->remaining == 0) d->state = S_DATA_CR;
            break;
        }
        case S_DATA_CR:
            if (c != '\r') return CHOPIN_CHUNKED_BAD;
            d->state = S_DATA_LF;
            i++;
            break;
        case S_DATA_LF:
            if (c != '\n') return CHOPIN_CHUNKED_BAD;
            d->state = S_SIZE;
            d->remaining = 0;
            i++;
            break;
        case S_TRAILER_START:
            if (c == '\r') {
                d->state = S_END_LF;
                i++;
                break;
            }
            /* A trailer field line: name ":" value. Whitespace first would be obs-fold. */
            if (c == ' ' || c == '\t' || c == ':') return CHOPIN_CHUNKED_BAD;
            d->state = S_TRAILER;
            break;
        case S_TRAILER:
            if (++d->trailer_bytes > d->max_trailer) return CHOPIN_CHUNKED_TRAILER_TOO_LARGE;
            if (c == '\r')
                d->state = S_TRAILER_LF;
            else if (!line_char(c))
                return CHOPIN_CHUNKED_BAD;
            i++;
            break;
        case S_TRAILER_LF:
            if (c != '\n') return CHOPIN_CHUNKED_BAD;
            d->state = S_TRAILER_START;
            i++;
            break;
        case S_END_LF:
            if (c != '\n') return CHOPIN_CHUNKED_BAD;
            i++;
            d->state = S_DONE;
            d->pos = i;
            return CHOPIN_CHUNKED_DONE;
        default: return CHOPIN_CHUNKED_BAD;
        }
    }
    d->pos = i;
    return CHOPIN_CHUNKED_INCOMPLETE;
}
