/* parse.c - zero-copy HTTP/1.1 request head parser (RFC 9112, RFC 9110).
 *
 * Strict on purpose: whatever could be read two ways by two servers (bare LF,
 * bare CR, obs-fold, whitespace before the colon, Content-Length with
 * Transfer-Encoding, differing Content-Lengths) is refused, because every
 * parser that accepted such input became a request-smuggling report. */
#include "chopin/http.h"
#include "../base/scan.h"
#include "parse.h"

#include <string.h>

/* The len bytes at name (4 to 16 of them) are the lower-case literal lit,
 * in any case. lit holds letters and '-' only: OR-ing 0x20 into a byte
 * lowers a letter and keeps '-', and takes no other token byte to either,
 * so for a name already known to be a token this is exact. (It would also
 * take CR to '-': a name not yet checked must have its dashes compared as
 * they are.) Two loads that may overlap, whatever the length. */
static int name_is(const char *name, size_t len, const char *lit) {
    if (len >= 8) {
        uint64_t a, b, x, y, fold = 0x2020202020202020ull;
        memcpy(&a, name, 8);
        memcpy(&b, name + len - 8, 8);
        memcpy(&x, lit, 8);
        memcpy(&y, lit + len - 8, 8);
        return ((a | fold) == x) & ((b | fold) == y);
    }
    uint32_t a, b, x, y, fold = 0x20202020u;
    memcpy(&a, name, 4);
    memcpy(&b, name + len - 4, 4);
    memcpy(&x, lit, 4);
    memcpy(&y, lit + len - 4, 4);
    return ((a | fold) == x) & ((b | fold) == y);
}

/* name (len bytes) is lit in any case. The name is not checked yet, and
 * name_is would take a CR for a '-': dash is where lit has one
 * (0: none), compared as it is. */
static inline int name_is_dashed(const char *name, size_t len, const char *lit, size_t dash) {
    return name_is(name, len, lit) && (dash == 0 || name[dash] == '-');
}

/* Switched on the length first, so most names meet one compare. */
int chopin__header_kind(const char *name, size_t len) {
    switch (len) {
    case 10:
        if (name_is_dashed(name, len, "connection", 0)) return H_CORE;
        break;
    case 12:
        if (name_is_dashed(name, len, "content-type", 7)) return H_CONTENT_TYPE;
        break;
    case 14:
        if (name_is_dashed(name, len, "content-length", 7)) return H_CORE;
        break;
    case 16:
        if (name_is_dashed(name, len, "content-encoding", 7)) return H_CONTENT_ENCODING;
        break;
    case 17:
        if (name_is_dashed(name, len, "transfer-encoding", 8)) return H_CORE;
        break;
    }
    if (len == 0) return H_INVALID;
    for (size_t i = 0; i < len; i++)
        if (!(chopin__char_class[(unsigned char)name[i]] & CHOPIN_C_TCHAR)) return H_INVALID;
    return H_OTHER;
}

static inline int is_host(unsigned char c) { return chopin__char_class[c] & CHOPIN_C_HOST; }

static inline unsigned char lower(unsigned char c) { return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c; }

/* a (any case) equals lit (lower case) */
static int ieq(const char *a, size_t alen, const char *lit, size_t litlen) {
    if (alen != litlen) return 0;
    for (size_t i = 0; i < alen; i++)
        if (lower((unsigned char)a[i]) != (unsigned char)lit[i]) return 0;
    return 1;
}
#define IEQ(p, n, lit) ieq((p), (n), lit, sizeof(lit) - 1)

static chopin_method method_from(const char *p, size_t n) {
    /* Methods are case-sensitive (RFC 9110 section 9.1). */
    switch (n) {
    case 3:
        if (memcmp(p, "GET", 3) == 0) return CHOPIN_METHOD_GET;
        if (memcmp(p, "PUT", 3) == 0) return CHOPIN_METHOD_PUT;
        break;
    case 4:
        if (memcmp(p, "HEAD", 4) == 0) return CHOPIN_METHOD_HEAD;
        if (memcmp(p, "POST", 4) == 0) return CHOPIN_METHOD_POST;
        break;
    case 5:
        if (memcmp(p, "PATCH", 5) == 0) return CHOPIN_METHOD_PATCH;
        if (memcmp(p, "TRACE", 5) == 0) return CHOPIN_METHOD_TRACE;
        break;
    case 6:
        if (memcmp(p, "DELETE", 6) == 0) return CHOPIN_METHOD_DELETE;
        break;
    case 7:
        if (memcmp(p, "OPTIONS", 7) == 0) return CHOPIN_METHOD_OPTIONS;
        if (memcmp(p, "CONNECT", 7) == 0) return CHOPIN_METHOD_CONNECT;
        break;
    }
    return CHOPIN_METHOD_OTHER;
}

const char *chopin_method_name(chopin_method m) {
    static const char *const names[] = {"OTHER",  "GET",   "HEAD",    "POST",    "PUT",
                                        "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"};
    return (unsigned)m < sizeof names / sizeof names[0] ? names[m] : "OTHER";
}

/* Splits the request-target into path and query, checking its form against
 * the method (RFC 9112 section 3.2). head_end is the end of the request's
 * head, which the search for '?' may read up to. Returns 0 or a parse error. */
static int split_target(chopin_request *req, const char *head_end) {
    const char *t = req->target.ptr;
    size_t n = req->target.len;
    const char *path = t;
    size_t plen = n;

    if (req->method == CHOPIN_METHOD_CONNECT) {
        /* authority-form: host:port, nothing else */
        if (t[0] == '/' || memchr(t, ':', n) == NULL) return CHOPIN_PARSE_BAD_REQUEST;
        for (size_t i = 0; i < n; i++)
            if (!is_host((unsigned char)t[i])) return CHOPIN_PARSE_BAD_REQUEST;
        req->path = req->target;
        req->query = (chopin_slice){t + n, 0};
        return 0;
    }
    if (n == 1 && t[0] == '*') {
        if (req->method != CHOPIN_METHOD_OPTIONS) return CHOPIN_PARSE_BAD_REQUEST;
        req->path = req->target;
        req->query = (chopin_slice){t + n, 0};
        return 0;
    }
    if (t[0] != '/') {
        /* absolute-form: scheme "://" authority path-abempty [ "?" query ] */
        size_t skip;
        if (n >= 7 && IEQ(t, 7, "http://"))
            skip = 7;
        else if (n >= 8 && IEQ(t, 8, "https://"))
            skip = 8;
        else
            return CHOPIN_PARSE_BAD_REQUEST;
        size_t i = skip;
        while (i < n && t[i] != '/' && t[i] != '?') {
            if (!is_host((unsigned char)t[i]) && t[i] != '@') return CHOPIN_PARSE_BAD_REQUEST;
            i++;
        }
        if (i == skip) return CHOPIN_PARSE_BAD_REQUEST; /* empty authority */
        if (i == n || t[i] == '?') {
            /* no path: it means "/" */
            static const char root[] = "/";
            req->path = (chopin_slice){root, 1};
            req->query = i == n ? (chopin_slice){t + n, 0} : (chopin_slice){t + i + 1, n - i - 1};
            return 0;
        }
        path = t + i;
        plen = n - i;
    }
    const char *q = chopin__find_byte_inline(path, plen, head_end, '?');
    if (q) {
        req->path = (chopin_slice){path, (size_t)(q - path)};
        req->query = (chopin_slice){q + 1, plen - (size_t)(q - path) - 1};
    } else {
        req->path = (chopin_slice){path, plen};
        req->query = (chopin_slice){path + plen, 0};
    }
    return 0;
}

/* Walks a comma-separated list value, calling back with each trimmed,
 * non-empty element (RFC 9110 section 5.6.1). */
typedef struct list_iter {
    const char *p, *end;
} list_iter;

static int list_next(list_iter *it, const char **el, size_t *el_len) {
    while (it->p < it->end) {
        const char *s = it->p;
        const char *comma = memchr(s, ',', (size_t)(it->end - s));
        const char *e = comma ? comma : it->end;
        it->p = comma ? comma + 1 : it->end;
        while (s < e && (*s == ' ' || *s == '\t'))
            s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e > s) {
            *el = s;
            *el_len = (size_t)(e - s);
            return 1;
        }
    }
    return 0;
}

typedef struct framing_state {
    int content_length_seen;
    uint64_t content_length;
    int te_seen;
    int te_chunked_last;
    int te_chunked_count;
    int te_unknown;
    int host_count;
    int conn_close;
    int conn_keep_alive;
    int expect_continue;
    int expect_other;
} framing_state;

static int parse_content_length(const char *v, size_t n, uint64_t *out) {
    if (n == 0 || n > 19) return -1; /* 19 digits always fit in 64 bits */
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9') return -1;
        x = x * 10 + (uint64_t)(v[i] - '0');
    }
    *out = x;
    return 0;
}

/* limit: the end of the bytes that may be read (the buffer's) */
static int note_host(framing_state *fs, const char *v, size_t vl, const char *limit) {
    if (!chopin__all_host_inline(v, vl, limit)) return CHOPIN_PARSE_BAD_REQUEST;
    fs->host_count++;
    return 0;
}

/* Interprets the header fields that decide framing and connection
 * handling. Every request has some fields and few of them matter here: the
 * name's length picks the one candidate, and one compare decides (the name
 * is a token, so name_is is exact). */
static int note_header(framing_state *fs, const chopin_header *h, const char *limit) {
    const char *n = h->name.ptr;
    size_t nl = h->name.len;
    const char *v = h->value.ptr;
    size_t vl = h->value.len;
    list_iter it = {v, v + vl};
    const char *el;
    size_t ell;

    switch (nl) {
    case 4:
        if (name_is(n, nl, "host")) return note_host(fs, v, vl, limit);
        break;
    case 6:
        if (name_is(n, nl, "expect")) {
            if (IEQ(v, vl, "100-continue"))
                fs->expect_continue = 1;
            else
                fs->expect_other = 1;
        }
        break;
    case 10:
        if (name_is(n, nl, "connection")) {
            while (list_next(&it, &el, &ell)) {
                if (IEQ(el, ell, "close"))
                    fs->conn_close = 1;
                else if (IEQ(el, ell, "keep-alive"))
                    fs->conn_keep_alive = 1;
            }
        }
        break;
    case 14:
        if (name_is(n, nl, "content-length")) {
            uint64_t x;
            if (parse_content_length(v, vl, &x) < 0) return CHOPIN_PARSE_BAD_REQUEST;
            if (fs->content_length_seen && x != fs->content_length) return CHOPIN_PARSE_BAD_REQUEST;
            fs->content_length_seen = 1;
            fs->content_length = x;
        }
        break;
    case 17:
        if (name_is(n, nl, "transfer-encoding")) {
            int any = 0;
            fs->te_seen = 1;
            while (list_next(&it, &el, &ell)) {
                any = 1;
                if (IEQ(el, ell, "chunked")) {
                    fs->te_chunked_count++;
                    fs->te_chunked_last = 1;
                } else {
                    /* a coding we cannot decode, possibly after chunked */
                    fs->te_unknown = 1;
                    fs->te_chunked_last = 0;
                }
            }
            if (!any) return CHOPIN_PARSE_BAD_REQUEST;
        }
        break;
    }
    return 0;
}

#define NEED(p, end)                                                                                                   \
    do {                                                                                                               \
        if ((p) >= (end)) goto incomplete;                                                                             \
    } while (0)

int chopin_parse_request(const char *buf, size_t len, chopin_request *req, chopin_header *headers, size_t max_headers,
                         const chopin_parse_limits *limits) {
    const char *p = buf;
    const char *end = buf + len;
    const char *line_start;
    size_t count = 0;
    framing_state fs;
    int rc;
    int in_request_line = 1;

    memset(&fs, 0, sizeof fs);

    /* RFC 9112 section 2.2: ignore empty lines before the request-line. */
    while (p + 1 < end && p[0] == '\r' && p[1] == '\n')
        p += 2;
    line_start = p;
    if (end - p < 2) goto incomplete;

    /* method SP: GET, the usual one, in one compare */
    const char *m = p;
    if (end - p >= 4 && memcmp(p, "GET ", 4) == 0) {
        p += 3;
        req->method = CHOPIN_METHOD_GET;
    } else {
        p = chopin__scan_tchar_inline(p, end);
        NEED(p, end);
        if (*p != ' ' || p == m) return CHOPIN_PARSE_BAD_REQUEST;
        req->method = method_from(m, (size_t)(p - m));
    }
    req->method_name = (chopin_slice){m, (size_t)(p - m)};
    p++;

    /* request-target SP: visible ASCII only */
    const char *t = p;
    p = chopin__scan_target_inline(buf, p, end);
    if (p < end && *p == '#') return CHOPIN_PARSE_BAD_REQUEST; /* fragments are never sent */
    if (p < end && (size_t)(p - line_start) > limits->max_request_line) return CHOPIN_PARSE_URI_TOO_LONG;
    NEED(p, end);
    if (*p != ' ' || p == t) {
        /* "GET /\r\n" is HTTP/0.9: refused like any other malformed line */
        return CHOPIN_PARSE_BAD_REQUEST;
    }
    req->target = (chopin_slice){t, (size_t)(p - t)};
    p++;

    /* HTTP-version CRLF: nearly always "HTTP/1.1\r\n", compared whole (a
     * constant-length memcmp is a couple of loads), else byte by byte. */
    int major = 1, minor = 1;
    if (end - p >= 10 && memcmp(p, "HTTP/1.1\r\n", 10) == 0) {
        p += 9;
    } else {
        static const char proto[] = "HTTP/";
        for (size_t i = 0; i < 5; i++, p++) {
            NEED(p, end);
            if (*p != proto[i]) return CHOPIN_PARSE_BAD_REQUEST;
        }
        if (end - p < 3) goto incomplete;
        if (p[0] < '0' || p[0] > '9' || p[1] != '.' || p[2] < '0' || p[2] > '9') return CHOPIN_PARSE_BAD_REQUEST;
        major = p[0] - '0';
        minor = p[2] - '0';
        p += 3;
        NEED(p, end);
        if (*p != '\r') return CHOPIN_PARSE_BAD_REQUEST;
        p++;
        NEED(p, end);
        if (*p != '\n') return CHOPIN_PARSE_BAD_REQUEST;
    }
    if ((size_t)(p - 1 - line_start) > limits->max_request_line) return CHOPIN_PARSE_URI_TOO_LONG;
    p++;
    in_request_line = 0;
    if (major != 1) return major == 0 ? CHOPIN_PARSE_BAD_REQUEST : CHOPIN_PARSE_VERSION;
    req->version_minor = minor == 0 ? 0 : 1; /* other 1.x minors are answered as 1.1 */

    /* header fields */
    for (;;) {
        if ((size_t)(p - buf) > limits->max_head) return CHOPIN_PARSE_HEADERS_TOO_LARGE;
        NEED(p, end);
        if (*p == '\r') {
            p++;
            NEED(p, end);
            if (*p != '\n') return CHOPIN_PARSE_BAD_REQUEST;
            p++;
            break;
        }
        /* a line starting with whitespace is obs-fold */
        const char *name = p;
        /* Host, which every request has, mostly first and spelled so: its
         * name is known without a scan, and its value goes straight to the
         * one check it needs. */
        int host = end - p >= 6 && memcmp(p, "Host: ", 6) == 0;
        if (host) {
            p += 4;
        } else {
            p = chopin__scan_tchar_inline(p, end);
            NEED(p, end);
            if (*p != ':' || p == name) return CHOPIN_PARSE_BAD_REQUEST;
        }
        size_t name_len = (size_t)(p - name);
        p++;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        const char *value = p;
        p = chopin__scan_field_inline(buf, p, end);
        NEED(p, end);
        if (*p != '\r') return CHOPIN_PARSE_BAD_REQUEST; /* bare LF, NUL, or another control */
        const char *vend = p;
        p++;
        NEED(p, end);
        if (*p != '\n') return CHOPIN_PARSE_BAD_REQUEST; /* bare CR */
        p++;
        while (vend > value && (vend[-1] == ' ' || vend[-1] == '\t'))
            vend--;
        if (count == max_headers) return CHOPIN_PARSE_HEADERS_TOO_LARGE;
        headers[count].name = (chopin_slice){name, name_len};
        headers[count].value = (chopin_slice){value, (size_t)(vend - value)};
        rc = host ? note_host(&fs, value, (size_t)(vend - value), end) : note_header(&fs, &headers[count], end);
        if (rc != 0) return rc;
        count++;
    }
    if ((size_t)(p - buf) > limits->max_head) return CHOPIN_PARSE_HEADERS_TOO_LARGE;

    req->headers = headers;
    req->header_count = count;
    req->head_len = (size_t)(p - buf);
    if ((rc = split_target(req, p)) != 0) return rc;

    /* Host: exactly once in HTTP/1.1, at most once in 1.0 (RFC 9112 section 3.2) */
    if (fs.host_count > 1 || (req->version_minor == 1 && fs.host_count != 1)) return CHOPIN_PARSE_BAD_REQUEST;

    /* framing (RFC 9112 section 6.1-6.3) */
    req->framing = CHOPIN_FRAMING_NONE;
    req->timer_started_ns = 0;
    req->content_length = 0;
    if (fs.te_seen) {
        if (req->version_minor == 0 || fs.content_length_seen) return CHOPIN_PARSE_BAD_REQUEST;
        /* Without chunked last the body's end cannot be known: 400 and a
         * close (RFC 9112 section 6.3), whatever the codings are. Only a
         * chunked body behind a coding we do not implement is 501 (RFC 9110
         * section 15.6.2). The connection closes either way, so nothing
         * after it can be read as a request. */
        if (!fs.te_chunked_last || fs.te_chunked_count != 1) return CHOPIN_PARSE_BAD_REQUEST;
        if (fs.te_unknown) return CHOPIN_PARSE_NOT_IMPLEMENTED;
        req->framing = CHOPIN_FRAMING_CHUNKED;
    } else if (fs.content_length_seen) {
        req->content_length = fs.content_length;
        if (fs.content_length > 0) req->framing = CHOPIN_FRAMING_LENGTH;
    }

    req->keep_alive = req->version_minor == 1 ? !fs.conn_close : (fs.conn_keep_alive && !fs.conn_close);
    /* An HTTP/1.0 client cannot understand 100 (RFC 9110 section 10.1.1). */
    if (fs.expect_other && req->version_minor == 1) return CHOPIN_PARSE_EXPECTATION_FAILED;
    req->expect_continue = fs.expect_continue && req->version_minor == 1 && req->framing != CHOPIN_FRAMING_NONE;
    return (int)req->head_len;

incomplete:
    /* Too long to ever fit: say so now rather than wait for more bytes. */
    if (in_request_line && (size_t)(end - line_start) > limits->max_request_line + 2) return CHOPIN_PARSE_URI_TOO_LONG;
    if (len > limits->max_head) return CHOPIN_PARSE_HEADERS_TOO_LARGE;
    return CHOPIN_PARSE_INCOMPLETE;
}

const chopin_header *chopin_request_header(const chopin_request *req, const char *name, size_t name_len) {
    for (size_t i = 0; i < req->header_count; i++) {
        const chopin_header *h = &req->headers[i];
        if (h->name.len != name_len) continue;
        size_t j = 0;
        while (j < name_len && lower((unsigned char)h->name.ptr[j]) == lower((unsigned char)name[j]))
            j++;
        if (j == name_len) return h;
    }
    return NULL;
}
