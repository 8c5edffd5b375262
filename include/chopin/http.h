/* http.h - the request view and the zero-copy HTTP/1.1 request parser.
 *
 * The parser never allocates and never copies: every field of a parsed
 * request is a pointer+length slice into the caller's buffer, valid as long
 * as that buffer is. It follows picohttpparser's contract: the caller owns
 * the memory, the header array's capacity goes in and the count comes out,
 * and the return value is bytes consumed, or incomplete, or a specific error.
 */
#ifndef CHOPIN_HTTP_H
#define CHOPIN_HTTP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A view of bytes owned by someone else. */
typedef struct chopin_slice {
    const char *ptr;
    size_t len;
} chopin_slice;

typedef struct chopin_header {
    chopin_slice name;
    chopin_slice value;
} chopin_header;

typedef enum chopin_method {
    CHOPIN_METHOD_OTHER = 0, /* a valid token that is none of the below */
    CHOPIN_METHOD_GET,
    CHOPIN_METHOD_HEAD,
    CHOPIN_METHOD_POST,
    CHOPIN_METHOD_PUT,
    CHOPIN_METHOD_DELETE,
    CHOPIN_METHOD_PATCH,
    CHOPIN_METHOD_OPTIONS,
    CHOPIN_METHOD_CONNECT,
    CHOPIN_METHOD_TRACE,
} chopin_method;

/* How the body of a request is delimited (RFC 9112 section 6). */
typedef enum chopin_framing {
    CHOPIN_FRAMING_NONE = 0,    /* no body */
    CHOPIN_FRAMING_LENGTH = 1,  /* Content-Length */
    CHOPIN_FRAMING_CHUNKED = 2, /* Transfer-Encoding: chunked */
} chopin_framing;

/* Where a router (the Swift layer's) keeps the parameters of the route it
 * matched: spans[2i] and spans[2i+1] are the offset and length of the i-th
 * in path; used of them are set. The parser leaves it alone. */
#define CHOPIN_ROUTE_PARAMS_MAX 8
typedef struct chopin_route_params {
    uint32_t spans[2 * CHOPIN_ROUTE_PARAMS_MAX];
    uint32_t used;
} chopin_route_params;

/* A parsed request. Every slice points into the buffer that was parsed. */
typedef struct chopin_request {
    chopin_method method;
    chopin_slice method_name; /* the method token as sent */
    chopin_slice target;      /* request-target as sent */
    chopin_slice path;        /* path part of the target, without the query */
    chopin_slice query;       /* after '?', without it; len 0 when absent */
    int version_minor;        /* 0 for HTTP/1.0, 1 for HTTP/1.1 (and other 1.x) */
    chopin_header *headers;
    size_t header_count;
    chopin_framing framing;
    uint64_t content_length; /* with CHOPIN_FRAMING_LENGTH */
    chopin_slice body;       /* set by the connection layer once the body is complete */
    uint8_t keep_alive;      /* after version defaults and the Connection header */
    uint8_t expect_continue; /* Expect: 100-continue */
    uint8_t body_streamed;   /* the body follows the handler's call in pieces (chopin_deferred_take_body) */
    size_t head_len;         /* bytes of request line and headers, final CRLF included */
    chopin_route_params route; /* the router's, set after parsing */
    /* When a timer above the core (Swift's RouteMetrics) started on this
     * request, in CLOCK_MONOTONIC nanoseconds: 0 until one does. The parser
     * zeroes it; a copy of the request (an async handler's) carries it. */
    uint64_t timer_started_ns;
} chopin_request;

/* Parser results. Positive: bytes consumed by the head. */
enum {
    CHOPIN_PARSE_INCOMPLETE = -1,
    CHOPIN_PARSE_BAD_REQUEST = -400, /* malformed or ambiguous: 400 */
    CHOPIN_PARSE_URI_TOO_LONG = -414,
    CHOPIN_PARSE_EXPECTATION_FAILED = -417,
    CHOPIN_PARSE_HEADERS_TOO_LARGE = -431, /* header bytes or header count */
    CHOPIN_PARSE_NOT_IMPLEMENTED = -501,   /* a transfer coding we do not know */
    CHOPIN_PARSE_VERSION = -505,           /* HTTP/2.0 and later */
};

typedef struct chopin_parse_limits {
    size_t max_request_line; /* bytes of the request line, CRLF excluded: over it, 414 */
    size_t max_head;         /* bytes of the whole head: over it, 431 */
} chopin_parse_limits;

/* Parses the request head at buf[0..len). On success returns the head's
 * length (> 0) and fills *req; header slices go into headers[0..max_headers).
 * Returns CHOPIN_PARSE_INCOMPLETE while the head is not complete and within
 * limits, or a negative CHOPIN_PARSE_* error whose absolute value is the HTTP
 * status to answer with. req->body is not touched. */
int chopin_parse_request(const char *buf, size_t len, chopin_request *req, chopin_header *headers, size_t max_headers,
                         const chopin_parse_limits *limits);

/* Finds the status to answer for a parse error: 400, 414, 417, 431, 501, 505. */
static inline int chopin_parse_error_status(int rc) { return -rc; }

/* Incremental, in-place chunked body decoder (RFC 9112 section 7.1).
 * Zero it before the first call. Decoded bytes are moved towards the start of
 * the buffer, so the whole body ends up contiguous at the body's first byte. */
typedef struct chopin_chunked {
    uint64_t remaining;     /* bytes left in the current chunk's data */
    uint64_t decoded;       /* body bytes decoded so far (at buf start) */
    uint64_t max_body;      /* limit on the decoded body */
    size_t pos;             /* raw bytes consumed so far */
    uint32_t ext_bytes;     /* bytes of chunk extensions on the current line */
    uint32_t trailer_bytes; /* bytes of trailer section so far */
    uint32_t max_ext;       /* limit on one chunk's extensions */
    uint32_t max_trailer;   /* limit on the trailer section */
    uint8_t state;
    uint8_t size_digits;
} chopin_chunked;

enum {
    CHOPIN_CHUNKED_DONE = 0,        /* the last chunk and trailers are consumed */
    CHOPIN_CHUNKED_INCOMPLETE = -1, /* call again with more bytes (same buffer start) */
    CHOPIN_CHUNKED_BAD = -400,
    CHOPIN_CHUNKED_TOO_LARGE = -413, /* body over max_body */
    CHOPIN_CHUNKED_TRAILER_TOO_LARGE = -431,
};

/* Decodes buf[d->pos..len). buf is the start of the body (first chunk-size
 * digit); d->decoded bytes of body sit at buf[0..decoded). Returns
 * CHOPIN_CHUNKED_DONE (d->pos is then the raw length consumed and d->decoded
 * the body length), CHOPIN_CHUNKED_INCOMPLETE, or an error. */
int chopin_chunked_decode(chopin_chunked *d, char *buf, size_t len);

/* The same decoder for a body that is not kept (a streamed body): decodes
 * the piece buf[0..len) on its own, its decoded bytes ending up at
 * buf[0..d->decoded) and d->pos the piece's raw bytes consumed. budget is
 * how many body bytes may still come (the limit less what earlier pieces
 * decoded). Returns as chopin_chunked_decode. */
int chopin_chunked_decode_piece(chopin_chunked *d, char *buf, size_t len, uint64_t budget);

/* Case-insensitive header lookup; NULL when absent. */
const chopin_header *chopin_request_header(const chopin_request *req, const char *name, size_t name_len);

/* The method's canonical name, for logs. */
const char *chopin_method_name(chopin_method m);

#ifdef __cplusplus
}
#endif
#endif
