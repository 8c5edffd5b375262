/* chunked.c - incremental, in-place decoder for Transfer-Encoding: chunked
 * (RFC 9112 section 7.1).
 *
 * It keeps its state between calls, so bytes arriving one at a time cost
 * O(n) in total, and it moves decoded data towards the buffer's start, so the
 * handler sees one contiguous body without a second buffer. Chunk sizes,
 * extensions and trailers are bounded: each limit is a clear error.
 *
 * The grammar is followed to the letter, because a chunk line that two
 * servers read differently is a request-smuggling lever:
 *
 *   chunk-size [ chunk-ext ] CRLF
 *   chunk-ext  = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] )
 *   ext-name   = token;  ext-val = token / quoted-string
 *
 * so whitespace after the size is allowed only before a ';', a ';' needs a
 * name, a '=' needs a value, and a quoted value must end on its line.
 * Trailer lines must be `token ":" value`. */
#include "chopin/http.h"

#include <string.h>

enum {
    S_SIZE = 0,      /* chunk-size hex digits */
    S_EXT_BWS,       /* whitespace after the size or an extension: only ';' may follow */
    S_EXT_NAME_BWS,  /* after ';': whitespace, then the extension's name */
    S_EXT_NAME,      /* inside an extension name */
    S_EXT_NAME_END,  /* whitespace after a name: '=' or ';' must follow */
    S_EXT_VAL_BWS,   /* after '=': whitespace, then a token or a quoted string */
    S_EXT_TOKEN,     /* inside a token value */
    S_EXT_QUOTED,    /* inside a quoted value */
    S_EXT_QUOTED_BS, /* after a backslash inside a quoted value */
    S_EXT_VAL_END,   /* after a value's closing quote */
    S_SIZE_LF,       /* LF after the size line's CR */
    S_DATA,          /* chunk data */
    S_DATA_CR,       /* CR after chunk data */
    S_DATA_LF,       /* LF after chunk data */
    S_TRAILER_START, /* start of a trailer line, or the final CRLF */
    S_TRAILER_NAME,  /* inside a trailer field's name */
    S_TRAILER,       /* inside a trailer field's value */
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

/* Characters allowed in a trailer value: visible ASCII, obs-text, SP and
 * HTAB. No CR, LF, NUL or other controls. */
static int line_char(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

/* tchar (RFC 9110 section 5.6.2). */
static int is_tchar(unsigned char c) {
    if ((c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')) return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int is_ws(unsigned char c) { return c == ' ' || c == '\t'; }

/* qdtext: HTAB, SP, visible ASCII but '"' and '\\', obs-text. */
static int is_qdtext(unsigned char c) { return c == '\t' || c == ' ' || (c >= 0x21 && c != '"' && c != '\\' && c != 0x7f); }

/* One byte of a chunk line after its size: the next state, or -1 when the
 * grammar forbids the byte here. CR ends the line where a line may end. */
static int ext_step(uint8_t state, unsigned char c) {
    switch (state) {
    case S_EXT_BWS:
        if (is_ws(c)) return S_EXT_BWS;
        return c == ';' ? S_EXT_NAME_BWS : -1;
    case S_EXT_NAME_BWS:
        if (is_ws(c)) return S_EXT_NAME_BWS;
        return is_tchar(c) ? S_EXT_NAME : -1;
    case S_EXT_NAME:
        if (is_tchar(c)) return S_EXT_NAME;
        if (c == '=') return S_EXT_VAL_BWS;
        if (c == ';') return S_EXT_NAME_BWS;
        if (c == '\r') return S_SIZE_LF;
        return is_ws(c) ? S_EXT_NAME_END : -1;
    case S_EXT_NAME_END:
        if (is_ws(c)) return S_EXT_NAME_END;
        if (c == '=') return S_EXT_VAL_BWS;
        return c == ';' ? S_EXT_NAME_BWS : -1;
    case S_EXT_VAL_BWS:
        if (is_ws(c)) return S_EXT_VAL_BWS;
        if (c == '"') return S_EXT_QUOTED;
        return is_tchar(c) ? S_EXT_TOKEN : -1;
    case S_EXT_TOKEN:
        if (is_tchar(c)) return S_EXT_TOKEN;
        if (c == ';') return S_EXT_NAME_BWS;
        if (c == '\r') return S_SIZE_LF;
        return is_ws(c) ? S_EXT_BWS : -1;
    case S_EXT_QUOTED:
        if (c == '"') return S_EXT_VAL_END;
        if (c == '\\') return S_EXT_QUOTED_BS;
        return is_qdtext(c) ? S_EXT_QUOTED : -1;
    case S_EXT_QUOTED_BS: /* quoted-pair: HTAB, SP, VCHAR, obs-text */
        return (c == '\t' || c == ' ' || (c >= 0x21 && c != 0x7f)) ? S_EXT_QUOTED : -1;
    case S_EXT_VAL_END:
        if (c == ';') return S_EXT_NAME_BWS;
        if (c == '\r') return S_SIZE_LF;
        return is_ws(c) ? S_EXT_BWS : -1;
    }
    return -1;
}

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
            if (c == '\r')
                d->state = S_SIZE_LF;
            else if (c == ';')
                d->state = S_EXT_NAME_BWS;
            else if (is_ws(c))
                d->state = S_EXT_BWS;
            else
                return CHOPIN_CHUNKED_BAD;
            i++;
            break;
        }
        case S_EXT_BWS:
        case S_EXT_NAME_BWS:
        case S_EXT_NAME:
        case S_EXT_NAME_END:
        case S_EXT_VAL_BWS:
        case S_EXT_TOKEN:
        case S_EXT_QUOTED:
        case S_EXT_QUOTED_BS:
        case S_EXT_VAL_END: {
            /* Extensions are checked and ignored (RFC 9112 section 7.1.1), and bounded. */
            int next = ext_step(d->state, c);
            if (next < 0) return CHOPIN_CHUNKED_BAD;
            if (next != S_SIZE_LF && ++d->ext_bytes > d->max_ext) return CHOPIN_CHUNKED_TOO_LARGE;
            d->state = (uint8_t)next;
            i++;
            break;
        }
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
            /* A trailer field line: token ":" value. Whitespace first would be obs-fold. */
            if (!is_tchar(c)) return CHOPIN_CHUNKED_BAD;
            d->state = S_TRAILER_NAME;
            break;
        case S_TRAILER_NAME:
            if (++d->trailer_bytes > d->max_trailer) return CHOPIN_CHUNKED_TRAILER_TOO_LARGE;
            if (c == ':')
                d->state = S_TRAILER;
            else if (!is_tchar(c))
                return CHOPIN_CHUNKED_BAD;
            i++;
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

int chopin_chunked_decode_piece(chopin_chunked *d, char *buf, size_t len, uint64_t budget) {
    /* Earlier pieces are gone: this one starts at buf[0], and the limit
     * check (remaining against max_body - decoded) sees what is left of it. */
    d->pos = 0;
    d->decoded = 0;
    d->max_body = budget;
    return chopin_chunked_decode(d, buf, len);
}
