/* write.h - the response writer's state (write.c): a chopin_response is a
 * writer over one connection's output buffer, or over a deferred answer's
 * own buffer. The writer knows bytes and HTTP framing; the fields after
 * file_len belong to the connection floor, which sets them at dispatch and
 * reads them when a handler defers, and the writer never follows them. */
#ifndef CHOPIN_HTTP_WRITE_H
#define CHOPIN_HTTP_WRITE_H

#include <stdint.h>

#include "../base/buf.h"
#include "chopin/connection.h"
#include "chopin/response.h"

enum { RS_NONE = 0, RS_HEAD, RS_BODY, RS_DONE };

struct chopin_response {
    chopin_buf *out;
    chopin_bufpool *pool;
    const char *date;    /* 29 bytes, IMF-fixdate */
    uint32_t start;      /* offset of this response in out */
    uint32_t body_start; /* where reserved body bytes begin */
    uint32_t body_len;
    uint16_t status;
    uint8_t state;
    uint8_t head_only;         /* answering HEAD */
    uint8_t close;             /* Connection: close */
    uint8_t http10_keep_alive; /* HTTP/1.0 client that asked for keep-alive */
    uint8_t http10;            /* an HTTP/1.0 client: a stream is delimited by the close */
    uint8_t failed;            /* misuse or out of memory: becomes a 500 */
    uint8_t deferred;
    uint8_t takes_file;        /* a deferred answer's own writer: its file goes to the connection */
    chopin_deferred *deferral;
    uint8_t compress_on;       /* chopin_response_compress was called: Vary, and maybe compression */
    uint8_t compress;          /* CHOPIN_ENCODING_*, the client's choice */
    uint8_t compress_required; /* identity refused: compress whatever it is */
    uint8_t has_encoding;      /* the handler wrote its own Content-Encoding */
    uint8_t in_place;          /* the tail and the body are written (write_in_place in write.c) */
    uint8_t tail_close;        /* and that tail said Connection: close */
    uint32_t ctype_at;         /* the last Content-Type value written, its offset in out, */
    uint32_t ctype_len;        /* and length (0: none); compression decides by it */
    uint32_t tail_at;          /* in_place: where the tail begins, the head's end */
    uint32_t compress_min;
    int file_fd;       /* chopin_response_file's descriptor, -1 without one */
    uint64_t file_off; /* and the part of it that is the body */
    uint64_t file_len;
    chopin_worker *worker; /* NULL for a deferred response's own writer */
    uint32_t conn_idx, conn_gen;
};

/* Set by the worker on its own thread: its stop flag. A response finished
 * on that thread after a stop was asked for says Connection: close; any
 * other thread (a deferred answer written elsewhere) has none. */
extern __thread const int _Atomic *chopin__thread_stop_requested;

/* Prepares a writer over out (pool may be NULL) for one request. */
void chopin__response_init(chopin_response *res, chopin_buf *out, chopin_bufpool *pool, const char *date, int head_only,
                           int close, int http10_keep_alive);
/* Ends the response if the handler left it open; a handler that wrote
 * nothing, or misused the writer, gets a 500. */
void chopin__response_finish(chopin_response *res);
/* Ends a streamed response's head: Transfer-Encoding: chunked (HTTP/1.1) or
 * Connection: close (HTTP/1.0), no Content-Length. */
void chopin__response_end_stream(chopin_response *res);
/* A complete error response (status, empty body, Connection: close). */
void chopin__response_error(chopin_response *res, int status);
/* The same with a body (content_type NUL-terminated, or NULL for none). */
void chopin__response_error_with(chopin_response *res, int status, const char *content_type, const void *body,
                                 size_t len);

#endif
