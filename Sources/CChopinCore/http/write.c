/* write.c - the response writer: status line, headers and body written
 * straight into the connection's output buffer.
 *
 * The body is reserved at a fixed gap after the headers so a caller can
 * serialize in place before its length is known; chopin_response_end then
 * writes Content-Length and Connection into the gap and slides the body
 * back against them. A body written whole in one chopin_response_write
 * has its length known at once: the tail goes first and the body right
 * after it, and nothing moves at the end (write_in_place). No printf on
 * this path: integers are formatted inline. */
#include "write.h"

#include "../base/scan.h"
#include "compress.h"
#include "parse.h"
#include "text.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Room for "Content-Encoding: deflate\r\nVary: Accept-Encoding\r\n"
 * (compression's) and "Content-Length: 4294967295\r\nConnection: keep-alive\r\n\r\n". */
#define TAIL_GAP 128

__thread const int _Atomic *chopin__thread_stop_requested;

void chopin__response_init(chopin_response *res, chopin_buf *out, chopin_bufpool *pool, const char *date, int head_only,
                           int close, int http10_keep_alive) {
    res->out = out;
    res->pool = pool;
    res->date = date;
    res->start = out->len;
    res->body_start = 0;
    res->body_len = 0;
    res->status = 0;
    res->state = RS_NONE;
    res->head_only = (uint8_t)head_only;
    res->close = (uint8_t)close;
    res->http10_keep_alive = (uint8_t)http10_keep_alive;
    res->failed = 0;
    res->deferred = 0;
    res->takes_file = 0;
    res->deferral = NULL;
    res->file_fd = -1;
    res->file_len = 0;
    res->compress_on = 0;
    res->has_encoding = 0;
    res->in_place = 0;
    res->ctype_len = 0;
}

/* The response will not send its file after all. */
static void drop_file(chopin_response *res) {
    if (res->file_fd >= 0) close(res->file_fd);
    res->file_fd = -1;
}

/* Copies n bytes to p and returns their end. A header's name and value
 * are mostly 4 to 16 bytes, which two loads that may overlap copy for less
 * than a call to memcpy costs; a constant n is the compiler's own. */
static inline char *put(char *p, const char *s, size_t n) {
    if (!__builtin_constant_p(n) && n >= 4 && n <= 16) {
        if (n >= 8) {
            uint64_t a, b;
            memcpy(&a, s, 8);
            memcpy(&b, s + n - 8, 8);
            memcpy(p, &a, 8);
            memcpy(p + n - 8, &b, 8);
        } else {
            uint32_t a, b;
            memcpy(&a, s, 4);
            memcpy(&b, s + n - 4, 4);
            memcpy(p, &a, 4);
            memcpy(p + n - 4, &b, 4);
        }
        return p + n;
    }
    memcpy(p, s, n);
    return p + n;
}
#define PUT(p, lit) put((p), lit, sizeof(lit) - 1)

/* The start of every 200's head, up to its Date. */
static const char ok_line[] = "HTTP/1.1 200 OK\r\nServer: chopin\r\nDate: ";

void chopin_response_start(chopin_response *res, int status) {
    if (res->state != RS_NONE || status < 100 || status > 999) {
        res->failed = 1;
        return;
    }
    /* "HTTP/1.1 NNN " reason CRLF "Server: chopin" CRLF "Date: " date CRLF;
     * 200, nearly every response, is one constant (its reason is "OK") and
     * is not looked up. */
    chopin_reason_text reason = status == 200 ? (chopin_reason_text){"OK", 2} : chopin__status_reason(status);
    size_t need = 13 + reason.len + 2 + 16 + 6 + 29 + 2;
    if (chopin__buf_reserve(res->out, res->pool, (size_t)res->out->len + need) < 0) {
        res->failed = 1;
        return;
    }
    char *p = res->out->data + res->out->len;
    if (status == 200) {
        p = PUT(p, ok_line);
    } else {
        p = PUT(p, "HTTP/1.1 ");
        p[0] = (char)('0' + status / 100);
        p[1] = (char)('0' + status / 10 % 10);
        p[2] = (char)('0' + status % 10);
        p[3] = ' ';
        p = put(p + 4, reason.text, reason.len);
        p = PUT(p, "\r\nServer: chopin\r\nDate: ");
    }
    p = put(p, res->date, 29);
    p = PUT(p, "\r\n");
    res->out->len = (uint32_t)(p - res->out->data);
    res->status = (uint16_t)status;
    res->state = RS_HEAD;
}

/* A header a handler may write: its name a token and not the core's, its
 * value free of CR, LF, NUL and every other control but HTAB (response
 * splitting). Returns its kind, or H_INVALID. */
static int handler_header(const char *name, size_t nlen, const char *value, size_t vlen) {
    int kind = chopin__header_kind(name, nlen);
    if (kind == H_CORE || !chopin__all_field(value, vlen)) return H_INVALID;
    return kind;
}

/* Writes a header already judged to be of kind (not H_INVALID). */
static void put_header(chopin_response *res, int kind, const char *name, size_t nlen, const char *value, size_t vlen) {
    if (res->state != RS_HEAD) {
        res->failed = 1;
        return;
    }
    if (chopin__buf_reserve(res->out, res->pool, (size_t)res->out->len + nlen + vlen + 4) < 0) {
        res->failed = 1;
        return;
    }
    char *p = res->out->data + res->out->len;
    p = put(p, name, nlen);
    p = PUT(p, ": ");
    if (kind == H_CONTENT_TYPE) {
        /* Whether the type is worth compressing is asked at the end, and
         * only where compression is on: most routes never need to know. */
        res->ctype_at = (uint32_t)(p - res->out->data);
        res->ctype_len = (uint32_t)vlen;
    } else if (kind == H_CONTENT_ENCODING) {
        res->has_encoding = 1;
    }
    p = put(p, value, vlen);
    p = PUT(p, "\r\n");
    res->out->len = (uint32_t)(p - res->out->data);
}

void chopin_response_header(chopin_response *res, const char *name, size_t nlen, const char *value, size_t vlen) {
    int kind = handler_header(name, nlen, value, vlen);
    if (kind == H_INVALID) {
        res->failed = 1;
        return;
    }
    put_header(res, kind, name, nlen, value, vlen);
}

void chopin_response_content_type_constant(chopin_response *res, const char *value, size_t value_len) {
    put_header(res, H_CONTENT_TYPE, "Content-Type", 12, value, value_len);
}

/* A response begun already (middleware answering in its handler's place)
 * is dropped before another begins. */
static void drop_begun(chopin_response *res) {
    if (res->status != 0) chopin_response_discard(res);
}

void chopin_response_start_typed(chopin_response *res, int status, const char *constant_type, size_t type_len) {
    drop_begun(res);
    chopin_response_start(res, status);
    put_header(res, H_CONTENT_TYPE, "Content-Type", 12, constant_type, type_len);
}

void chopin_response_compress(chopin_response *res, int encoding, uint32_t min_size, int required) {
    res->compress_on = 1;
    res->compress = (uint8_t)(encoding == CHOPIN_ENCODING_GZIP || encoding == CHOPIN_ENCODING_DEFLATE ? encoding : 0);
    res->compress_min = min_size;
    res->compress_required = (uint8_t)(required && res->compress);
}

/* Compression's part of ending a response (chopin_response_compress):
 * whether it varies by Accept-Encoding, and the compressed body when it is
 * worth sending (*z malloc'd, its length returned; -1 otherwise). */
static long compressed_body(const chopin_response *res, uint32_t body_len, int bodyless, int *vary, char **z) {
    *vary = 0;
    if (!res->compress_on || res->state != RS_BODY || bodyless || res->has_encoding || res->status == 206) return -1;
    if (!res->compress_required &&
        !(res->ctype_len && chopin__compressible_type(res->out->data + res->ctype_at, res->ctype_len)))
        return -1;
    *vary = 1;
    if (!res->compress || (body_len < res->compress_min && !res->compress_required)) return -1;
    long n = chopin__compress(res->compress, res->out->data + res->body_start, body_len, z);
    if (n >= 0 && (uint64_t)n >= body_len && !res->compress_required) {
        free(*z); /* no gain: identity it is */
        n = -1;
    }
    return n;
}

/* 1xx, 204 and 304 have no body, and no Content-Length (RFC 9110 6.4.1). */
static inline int status_bodyless(int status) { return status < 200 || status == 204 || status == 304; }

/* Content-Length (without a bodyless status), Connection as close and
 * http10_keep_alive say, and the blank line, at p; returns the end. */
static char *put_tail(char *p, uint64_t body_len, int bodyless, int close, int http10_keep_alive) {
    if (!bodyless) {
        p = PUT(p, "Content-Length: ");
        p += chopin__format_u64(p, body_len);
        p = PUT(p, "\r\n");
    }
    if (close)
        p = PUT(p, "Connection: close\r\n");
    else if (http10_keep_alive)
        p = PUT(p, "Connection: keep-alive\r\n");
    return PUT(p, "\r\n");
}

/* The first body bytes of a response that has no compression, a status
 * with a body and a body to send (not HEAD): the tail as if the response
 * ended now, then the body. Room is reserved as for the gap, so going back
 * to it (unplace) never needs more. */
static void write_in_place(chopin_response *res, const void *data, size_t n) {
    chopin_buf *o = res->out;
    if (chopin__buf_reserve(o, res->pool, (size_t)o->len + TAIL_GAP + n) < 0) {
        res->failed = 1;
        return;
    }
    char *p = put_tail(o->data + o->len, n, 0, res->close, res->http10_keep_alive);
    put(p, data, n);
    res->tail_at = o->len;
    res->body_start = (uint32_t)(p - o->data);
    res->body_len = (uint32_t)n;
    o->len = res->body_start + (uint32_t)n;
    res->tail_close = res->close;
    res->in_place = 1;
    res->state = RS_BODY;
}

/* More is asked of a placed body than that it end as it is (more bytes,
 * compression, a close): the body goes to the gap, where the general path
 * expects it, and the tail is forgotten. */
__attribute__((noinline)) static void unplace(chopin_response *res) {
    chopin_buf *o = res->out;
    uint32_t gap = res->tail_at + TAIL_GAP;
    memmove(o->data + gap, o->data + res->body_start, res->body_len);
    res->body_start = gap;
    o->len = res->tail_at;
    res->in_place = 0;
}

char *chopin_response_reserve(chopin_response *res, size_t n) {
    if (res->in_place) unplace(res);
    if (res->state == RS_HEAD) {
        res->body_start = res->out->len + TAIL_GAP;
        res->body_len = 0;
        res->state = RS_BODY;
    }
    if (res->state != RS_BODY || res->failed) {
        res->failed = 1;
        return NULL;
    }
    size_t need = (size_t)res->body_start + res->body_len + n;
    if (chopin__buf_reserve(res->out, res->pool, need) < 0) {
        res->failed = 1;
        return NULL;
    }
    return res->out->data + res->body_start + res->body_len;
}

void chopin_response_commit(chopin_response *res, size_t n) {
    if (res->in_place) unplace(res);
    if (res->state != RS_BODY || (size_t)res->body_start + res->body_len + n > res->out->cap) {
        res->failed = 1;
        return;
    }
    res->body_len += (uint32_t)n;
}

void chopin_response_write(chopin_response *res, const void *data, size_t n) {
    if (res->state == RS_HEAD && !res->failed && !res->compress_on && !res->head_only &&
        !status_bodyless(res->status)) {
        write_in_place(res, data, n);
        return;
    }
    char *p = chopin_response_reserve(res, n);
    if (!p) return;
    memcpy(p, data, n);
    chopin_response_commit(res, n);
}

/* The general end: out of line, so that a placed body's end does not pay
 * for its register saves. */
__attribute__((noinline)) static void write_tail_general(chopin_response *res) {
    chopin_buf *o = res->out;
    int has_body = res->state == RS_BODY;
    uint64_t body_len = has_body ? res->body_len : res->file_fd >= 0 ? res->file_len : 0;
    int bodyless = status_bodyless(res->status);
    int vary;
    char *z = NULL;
    long zlen = compressed_body(res, (uint32_t)body_len, bodyless, &vary, &z);
    if (zlen >= 0) {
        /* The body now lives in z: the head and tail may run over its old place. */
        body_len = (uint64_t)zlen;
        has_body = 0;
    }
    /* Without a reserved body the tail still needs its room. */
    if (!has_body && chopin__buf_reserve(o, res->pool, (size_t)o->len + TAIL_GAP + (zlen > 0 ? (size_t)zlen : 0)) < 0) {
        free(z);
        res->failed = 1;
        return;
    }
    char *p = o->data + o->len;
    if (zlen >= 0)
        p = res->compress == CHOPIN_ENCODING_GZIP ? PUT(p, "Content-Encoding: gzip\r\n")
                                                  : PUT(p, "Content-Encoding: deflate\r\n");
    if (vary) p = PUT(p, "Vary: Accept-Encoding\r\n");
    p = put_tail(p, body_len, bodyless, res->close, res->http10_keep_alive);
    if (has_body && body_len && !res->head_only && !bodyless) {
        memmove(p, o->data + res->body_start, (size_t)body_len);
        p += body_len;
    }
    if (zlen > 0 && !res->head_only) {
        memcpy(p, z, (size_t)zlen);
        p += zlen;
    }
    if (z) free(z); /* only where compression ran: most responses make no call */
    o->len = (uint32_t)(p - o->data);
    res->state = RS_DONE;
}

static void write_tail_and_body(chopin_response *res) {
    /* A stop asked for while the handler ran: this response is the
     * connection's last, and says so. */
    const int _Atomic *stop = chopin__thread_stop_requested; /* (a deferred writer has no worker of its own) */
    if (stop && atomic_load_explicit(stop, memory_order_relaxed)) res->close = 1;
    if (res->in_place) {
        if (!res->compress_on && res->close == res->tail_close) {
            /* Written as it ends: nothing to add, nothing to move. */
            res->in_place = 0;
            res->state = RS_DONE;
            return;
        }
        unplace(res);
    }
    if (res->state == RS_BODY && !res->compress_on && !res->head_only && !status_bodyless(res->status)) {
        /* A body serialized into the gap (ctx.json), nothing to compress:
         * the tail, then the body moved up to meet it. */
        chopin_buf *o = res->out;
        char *p = put_tail(o->data + o->len, res->body_len, 0, res->close, res->http10_keep_alive);
        memmove(p, o->data + res->body_start, res->body_len);
        o->len = (uint32_t)(p - o->data) + res->body_len;
        res->state = RS_DONE;
        return;
    }
    write_tail_general(res);
}

void chopin__response_end_stream(chopin_response *res) {
    if (res->failed || res->state != RS_HEAD) {
        res->failed = 1;
        return;
    }
    chopin_buf *o = res->out;
    if (chopin__buf_reserve(o, res->pool, (size_t)o->len + TAIL_GAP) < 0) {
        res->failed = 1;
        return;
    }
    if (res->http10) res->close = 1; /* the close is what ends the body */
    char *p = o->data + o->len;
    if (!res->http10) p = PUT(p, "Transfer-Encoding: chunked\r\n");
    if (res->close) p = PUT(p, "Connection: close\r\n");
    p = PUT(p, "\r\n");
    o->len = (uint32_t)(p - o->data);
    res->state = RS_DONE;
}

void chopin_response_end(chopin_response *res) {
    if (res->failed || (res->state != RS_HEAD && res->state != RS_BODY)) {
        res->failed = 1;
        return;
    }
    write_tail_and_body(res);
}

/* chopin_response_whole's usual case, a 200 with its body, written in one
 * go: one reservation, no state to check between the parts. The bytes are
 * those of start, the Content-Type, write and end. Returns 0 where the
 * response is not that case (the caller takes the general way). */
static int whole_ok(chopin_response *res, const char *type, size_t type_len, const void *body, size_t body_len) {
    const int _Atomic *stop = chopin__thread_stop_requested;
    if (res->state != RS_NONE || res->failed || res->compress_on || res->head_only ||
        (stop && atomic_load_explicit(stop, memory_order_relaxed)))
        return 0;
    chopin_buf *o = res->out;
    size_t need = sizeof ok_line - 1 + 29 + 16 + type_len + 2 + TAIL_GAP + body_len;
    if (chopin__buf_reserve(o, res->pool, (size_t)o->len + need) < 0) {
        res->failed = 1; /* answered as 500 at the end */
        return 1;
    }
    char *p = PUT(o->data + o->len, ok_line);
    p = put(p, res->date, 29);
    p = PUT(p, "\r\nContent-Type: ");
    res->ctype_at = (uint32_t)(p - o->data);
    res->ctype_len = (uint32_t)type_len;
    p = put(p, type, type_len);
    p = PUT(p, "\r\n");
    p = put_tail(p, body_len, 0, res->close, res->http10_keep_alive);
    if (body_len) memcpy(p, body, body_len); /* (an empty body may come as NULL) */
    res->body_start = (uint32_t)(p - o->data);
    res->body_len = (uint32_t)body_len;
    o->len = res->body_start + (uint32_t)body_len;
    res->status = 200;
    res->state = RS_DONE;
    return 1;
}

void chopin_response_whole(chopin_response *res, int status, const char *constant_type, size_t type_len,
                           const void *body, size_t body_len) {
    drop_begun(res);
    if (status == 200 && whole_ok(res, constant_type, type_len, body, body_len)) return;
    chopin_response_start(res, status);
    put_header(res, H_CONTENT_TYPE, "Content-Type", 12, constant_type, type_len);
    if (body_len) chopin_response_write(res, body, body_len);
    chopin_response_end(res);
}

void chopin_response_send(chopin_response *res, int status, const char *content_type, const void *body,
                          size_t body_len) {
    chopin_response_start(res, status);
    if (content_type) {
        /* The name is known: only the value needs judging. */
        size_t n = strlen(content_type);
        if (chopin__all_field(content_type, n))
            put_header(res, H_CONTENT_TYPE, "Content-Type", 12, content_type, n);
        else
            res->failed = 1;
    }
    if (body_len) chopin_response_write(res, body, body_len);
    chopin_response_end(res);
}

void chopin_response_file(chopin_response *res, int fd, uint64_t offset, uint64_t len) {
    if (res->failed || res->state != RS_HEAD || !(res->worker || res->takes_file) || res->deferred) {
        /* Only a head with no body yet, on the worker's own writer or a
         * deferred answer's (its file is handed to the connection). */
        res->failed = 1;
        if (fd >= 0) close(fd);
        return;
    }
    res->file_fd = fd;
    res->file_off = offset;
    res->file_len = len;
    write_tail_and_body(res);
    if (res->head_only || status_bodyless(res->status) || len == 0) drop_file(res);
}

/* Where the blank line of a head written whole (RS_DONE) begins; NULL if none. */
static char *done_head_end(const chopin_response *res) {
    return memmem(res->out->data + res->start, res->out->len - res->start, "\r\n\r\n", 4);
}

/* Puts the line "name: value" into a head written whole, before its blank
 * line. Returns -1 (nothing changed) when there is no room. */
static int insert_into_done_head(chopin_response *res, const char *name, size_t nlen, const char *value, size_t vlen) {
    chopin_buf *o = res->out;
    char *end = done_head_end(res);
    if (!end) return -1;
    size_t at = (size_t)(end - o->data) + 2, add = nlen + vlen + 4; /* before the blank line */
    if (chopin__buf_reserve(o, res->pool, (size_t)o->len + add) < 0) return -1;
    char *p = o->data + at;
    memmove(p + add, p, o->len - at);
    p = PUT(put(p, name, nlen), ": ");
    PUT(put(p, value, vlen), "\r\n");
    o->len += (uint32_t)add;
    return 0;
}

void chopin_response_header_late(chopin_response *res, const char *name, size_t nlen, const char *value, size_t vlen) {
    if (res->state != RS_DONE)
        chopin_response_header(res, name, nlen, value, vlen);
    else if (handler_header(name, nlen, value, vlen) == H_INVALID)
        res->failed = 1;
    else
        insert_into_done_head(res, name, nlen, value, vlen);
}

/* A head written whole loses the keep-alive line an HTTP/1.0 client's
 * carries, for a close line in its place. */
static void drop_keep_alive_line(chopin_response *res) {
    static const char line[] = "Connection: keep-alive\r\n";
    char *head = res->out->data + res->start, *end = done_head_end(res);
    char *found = end ? memmem(head, (size_t)(end - head) + 2, line, sizeof line - 1) : NULL;
    if (!found) return;
    char *rest = found + sizeof line - 1;
    memmove(found, rest, (size_t)(res->out->data + res->out->len - rest));
    res->out->len -= (uint32_t)(sizeof line - 1);
}

void chopin_response_close(chopin_response *res) {
    if (res->close) return;
    if (res->state == RS_DONE) {
        /* Written whole already (in place by ctx.json, or a deferred answer
         * delivered after a stop began): its head says so as put_tail's would. */
        if (res->http10_keep_alive) drop_keep_alive_line(res);
        if (insert_into_done_head(res, "Connection", 10, "close", 5) < 0) return;
    }
    res->close = 1;
}

void chopin_response_discard(chopin_response *res) {
    if (res->deferred) return;
    drop_file(res);
    res->out->len = res->start;
    res->state = RS_NONE;
    res->in_place = 0;
    res->ctype_len = 0;
    res->failed = 0;
    res->status = 0;
    res->body_len = 0;
}

int chopin_response_status(const chopin_response *res) { return res->status; }

/* Drops whatever this response half-wrote, for an answer in its place. */
static void reset_for_rewrite(chopin_response *res) {
    drop_file(res);
    res->out->len = res->start;
    res->state = RS_NONE;
    res->in_place = 0;
    res->ctype_len = 0;
    res->failed = 0;
    res->head_only = 0;
}

/* Drops whatever this response half-wrote and writes an empty `status` instead. */
static void rewrite_as(chopin_response *res, int status) {
    reset_for_rewrite(res);
    chopin_response_start(res, status);
    chopin_response_end(res);
}

void chopin__response_error(chopin_response *res, int status) {
    res->close = 1;
    rewrite_as(res, status);
}

void chopin__response_error_with(chopin_response *res, int status, const char *content_type, const void *body,
                                 size_t len) {
    res->close = 1;
    reset_for_rewrite(res);
    chopin_response_send(res, status, content_type, body, len);
}

void chopin__response_finish(chopin_response *res) {
    if (res->deferred) return;
    if (!res->failed && (res->state == RS_HEAD || res->state == RS_BODY)) write_tail_and_body(res);
    /* Nothing sensible was written: answer 500 and keep serving. */
    if (res->failed || res->state != RS_DONE) rewrite_as(res, 500);
}
