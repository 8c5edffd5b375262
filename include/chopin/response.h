/* response.h - the response writer a handler gets for each request.
 *
 * The writer appends straight into the connection's output buffer: no
 * response object, no copy. The order is fixed by HTTP itself:
 *
 *     chopin_response_start(res, 200);                   status line, Server, Date
 *     chopin_response_header(res, "Content-Type", 12, "application/json", 16);
 *     char *p = chopin_response_reserve(res, 64);         room for body bytes
 *     size_t n = serialize_into(p, 64);
 *     chopin_response_commit(res, n);                     n of them are the body
 *     chopin_response_end(res);                           Content-Length, Connection
 *
 * chopin_response_end is optional: the core ends a started response when the
 * handler returns, and answers 500 when the handler wrote nothing at all.
 * Content-Length and Connection are the core's to write: a handler's own are
 * refused. A HEAD request gets the head only, with the body's length. */
#ifndef CHOPIN_RESPONSE_H
#define CHOPIN_RESPONSE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct chopin_response chopin_response;

/* Writes the status line and the Server and Date headers. */
void chopin_response_start(chopin_response *res, int status);

/* Adds a header. Names must be tokens and values must not hold CR, LF or
 * NUL: a bad header makes the whole response a 500 instead of a split one.
 * Content-Length, Transfer-Encoding and Connection are the core's own. */
void chopin_response_header(chopin_response *res, const char *name, size_t name_len, const char *value,
                            size_t value_len);

/* Returns room for at least n more body bytes, valid until the next call on
 * this response; NULL when memory or the 4 GiB response limit runs out. */
char *chopin_response_reserve(chopin_response *res, size_t n);

/* Declares that n bytes of the last reserved room are body. */
void chopin_response_commit(chopin_response *res, size_t n);

/* Appends body bytes (reserve + copy + commit). */
void chopin_response_write(chopin_response *res, const void *data, size_t n);

/* Finishes the head (Content-Length, Connection) and places the body after it. */
void chopin_response_end(chopin_response *res);

/* Content-Type from a constant of the caller's own ("application/json"),
 * written as it is: unlike chopin_response_header, the value is not judged
 * again for each response. Never pass a value that came from a request or
 * from a user of the framework; those go through chopin_response_header. */
void chopin_response_content_type_constant(chopin_response *res, const char *value, size_t value_len);

/* chopin_response_start and a constant Content-Type as above, in one call;
 * a response already begun is dropped first. The body follows (reserve
 * and commit, say), then chopin_response_end. */
void chopin_response_start_typed(chopin_response *res, int status, const char *constant_type, size_t type_len);

/* A whole response in one call: status, a constant Content-Type as above,
 * and the body (copied). Where a response was begun already, it is dropped
 * first (middleware answering in its handler's place). */
void chopin_response_whole(chopin_response *res, int status, const char *constant_type, size_t type_len,
                           const void *body, size_t body_len);

/* The whole response in one call: status, Content-Type (may be NULL), body. */
void chopin_response_send(chopin_response *res, int status, const char *content_type, const void *body,
                          size_t body_len);

/* The body is len bytes of the open file fd from offset, sent without a copy
 * through user space where the backend allows it (sendfile on epoll; on
 * io_uring it is read piece by piece into the connection's buffer and
 * sent). Call it after the headers instead of writing a body; it ends the
 * response (Content-Length: len). The core owns fd from then on, and closes
 * it once the body is out, when the connection ends, or at once for HEAD,
 * 304 or a writer that cannot take it (a streaming response's: the
 * response then becomes a 500). A deferred answer's own writer takes a
 * file too: it follows the deferred head, from the worker, when the answer
 * is delivered. Bounded like any other response: later pipelined
 * requests wait until the file is sent, reads pause while the client is
 * slow, and write_timeout_ms counts from the last progress. A file that
 * shrinks while it is sent ends the connection. */
void chopin_response_file(chopin_response *res, int fd, uint64_t offset, uint64_t len);

/* Opens path (relative, no "..") for reading beneath the directory dirfd:
 * no symlink is followed, so nothing outside the directory is ever opened
 * (openat2 with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, or one component at
 * a time with O_NOFOLLOW where openat2 is missing). The open never blocks
 * (O_NONBLOCK: a FIFO without a writer opens at once) and takes no terminal;
 * fstat the result and refuse what is not a regular file. Returns the
 * descriptor or -errno (-ELOOP for a symlink on the way). */
int chopin_open_beneath(int dirfd, const char *path);

/* HTTP dates (IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT", 29 bytes, no
 * NUL) to and from Unix seconds; parse returns -1 for anything else. */
void chopin_format_http_date(char out[29], int64_t unix_seconds);
int64_t chopin_parse_http_date(const char *text, size_t len);

/* Compression of this response's body (compress.c), decided before the
 * body is written: when the response ends, a body of at least min_size
 * bytes with a compressible Content-Type (any text type, JSON, JavaScript, XML,
 * SVG, +json, +xml), no Content-Encoding of its own and a status other than
 * 206 is compressed with encoding, if that makes it smaller; such responses
 * also get "Vary: Accept-Encoding", compressed or not (encoding IDENTITY:
 * only the Vary). required compresses whatever the size, type or gain (the
 * client refused identity). Whole bodies only: files and streams are sent
 * as they are. */
enum { CHOPIN_ENCODING_IDENTITY = 0, CHOPIN_ENCODING_GZIP = 1, CHOPIN_ENCODING_DEFLATE = 2 };
void chopin_response_compress(chopin_response *res, int encoding, uint32_t min_size, int required);

/* Adds a header to a response that is already ended, moving its body up
 * (for middleware that decorates a response a handler wrote in place). */
void chopin_response_header_late(chopin_response *res, const char *name, size_t name_len, const char *value,
                                 size_t value_len);

/* Drops everything this response has written so far, so the handler can
 * start over (for instance with an error status after a failure). */
void chopin_response_discard(chopin_response *res);

/* Asks for the connection to close after this response, also once the
 * response is written whole (its head then gains Connection: close, in
 * place of an HTTP/1.0 client's keep-alive line). */
void chopin_response_close(chopin_response *res);

/* The status written so far; 0 before chopin_response_start. */
int chopin_response_status(const chopin_response *res);

/* Reason phrase for a status code ("" when unknown). */
const char *chopin_status_reason(int status);

#ifdef __cplusplus
}
#endif
#endif
