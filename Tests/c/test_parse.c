/* test_parse.c - the request parser, table-driven: valid requests (and every
 * prefix of each, which must be "incomplete"), and every malformed case with
 * the status it must get. Inputs sit against a guard page, so reading one
 * byte past the end crashes the test. */
#include "chopin/http.h"
#include "base/scan.h"
#include "test.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static char *guard_base;
static size_t page;

/* Copies s so its last byte is the last byte before an unreadable page. */
static const char *guarded(const char *s, size_t n) {
    if (!guard_base) {
        page = (size_t)sysconf(_SC_PAGESIZE);
        guard_base = mmap(NULL, page * 18, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        mprotect(guard_base + page * 17, page, PROT_NONE);
    }
    if (n > page * 17) abort();
    char *p = guard_base + page * 17 - n;
    memcpy(p, s, n);
    return p;
}

static const chopin_parse_limits limits = {.max_request_line = 256, .max_head = 1024};
static chopin_header hdrs[8];

static int parse(const char *s, size_t n, chopin_request *req) {
    return chopin_parse_request(guarded(s, n), n, req, hdrs, 8, &limits);
}

typedef struct valid_case {
    const char *name, *raw;
    chopin_method method;
    const char *path, *query;
    int minor, keep_alive, framing;
    unsigned long long content_length;
    size_t headers;
    int expect_continue;
} valid_case;

static const valid_case valid[] = {
    {"simple get", "GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n", CHOPIN_METHOD_GET, "/plaintext", "", 1, 1, 0, 0, 1, 0},
    {"query", "GET /search?q=x&limit=3 HTTP/1.1\r\nHost: a\r\n\r\n", CHOPIN_METHOD_GET, "/search", "q=x&limit=3", 1, 1,
     0, 0, 1, 0},
    /* The '?' is searched 16 bytes at a time: before, at and past the 16th. */
    {"query after 16 bytes", "GET /a/longer/path/than/16?k=v HTTP/1.1\r\nHost: a\r\n\r\n", CHOPIN_METHOD_GET,
     "/a/longer/path/than/16", "k=v", 1, 1, 0, 0, 1, 0},
    {"query at the 16th byte", "GET /fifteen-bytes/?k HTTP/1.1\r\nHost: a\r\n\r\n", CHOPIN_METHOD_GET,
     "/fifteen-bytes/", "k", 1, 1, 0, 0, 1, 0},
    {"long path, no query", "GET /a/longer/path/than/sixteen/bytes HTTP/1.1\r\nHost: a\r\n\r\n", CHOPIN_METHOD_GET,
     "/a/longer/path/than/sixteen/bytes", "", 1, 1, 0, 0, 1, 0},
    {"host in lower case, no space", "GET / HTTP/1.1\r\nhost:a\r\n\r\n", CHOPIN_METHOD_GET, "/", "", 1, 1, 0, 0, 1,
     0},
    {"http/1.0 closes", "GET / HTTP/1.0\r\n\r\n", CHOPIN_METHOD_GET, "/", "", 0, 0, 0, 0, 0, 0},
    {"http/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", CHOPIN_METHOD_GET, "/", "", 0, 1, 0, 0,
     1, 0},
    {"connection close", "GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, close\r\n\r\n", CHOPIN_METHOD_GET, "/", "", 1,
     0, 0, 0, 2, 0},
    {"http/1.9 is 1.1", "GET / HTTP/1.9\r\nHost: a\r\n\r\n", CHOPIN_METHOD_GET, "/", "", 1, 1, 0, 0, 1, 0},
    {"content-length", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n", CHOPIN_METHOD_POST, "/echo", "",
     1, 1, CHOPIN_FRAMING_LENGTH, 5, 2, 0},
    {"same content-length twice", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n",
     CHOPIN_METHOD_POST, "/", "", 1, 1, CHOPIN_FRAMING_LENGTH, 3, 3, 0},
    {"zero content-length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", CHOPIN_METHOD_POST, "/", "", 1,
     1, 0, 0, 2, 0},
    {"chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", CHOPIN_METHOD_POST, "/", "", 1, 1,
     CHOPIN_FRAMING_CHUNKED, 0, 2, 0},
    {"chunked any case", "POST / HTTP/1.1\r\nHost: a\r\ntransfer-encoding:  CHUNKED \r\n\r\n", CHOPIN_METHOD_POST, "/",
     "", 1, 1, CHOPIN_FRAMING_CHUNKED, 0, 2, 0},
    {"expect continue", "PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 9\r\n\r\n",
     CHOPIN_METHOD_PUT, "/f", "", 1, 1, CHOPIN_FRAMING_LENGTH, 9, 3, 1},
    {"unknown method token", "PURGE /x HTTP/1.1\r\nHost: a\r\n\r\n", CHOPIN_METHOD_OTHER, "/x", "", 1, 1, 0, 0, 1, 0},
    {"options asterisk", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", CHOPIN_METHOD_OPTIONS, "*", "", 1, 1, 0, 0, 1, 0},
    {"absolute form", "GET http://example.com/a/b?c=d HTTP/1.1\r\nHost: example.com\r\n\r\n", CHOPIN_METHOD_GET, "/a/b",
     "c=d", 1, 1, 0, 0, 1, 0},
    {"absolute form no path", "GET http://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n", CHOPIN_METHOD_GET, "/",
     "", 1, 1, 0, 0, 1, 0},
    {"connect authority", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", CHOPIN_METHOD_CONNECT,
     "example.com:443", "", 1, 1, 0, 0, 1, 0},
    {"leading empty line", "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", CHOPIN_METHOD_GET, "/", "", 1, 1, 0, 0, 1, 0},
    {"empty value and tabs", "GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Tab:\tv\t\r\n\r\n", CHOPIN_METHOD_GET, "/", "",
     1, 1, 0, 0, 3, 0},
    {"obs-text in value", "GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf\xc3\xa9\r\n\r\n", CHOPIN_METHOD_GET, "/", "", 1, 1,
     0, 0, 2, 0},
};

typedef struct bad_case {
    const char *name, *raw;
    int status;
    size_t len; /* 0: strlen(raw) */
} bad_case;

static const bad_case bad[] = {
    {"lowercase method is a token, but bare LF", "get / HTTP/1.1\nHost: a\n\n", 400, 0},
    {"bare LF after request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", 400, 0},
    {"bare LF after header", "GET / HTTP/1.1\r\nHost: a\n\r\n", 400, 0},
    {"bare CR in header", "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400, 0},
    {"NUL in header value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n", 400, 36},
    {"space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, 0},
    {"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n  b\r\n\r\n", 400, 0},
    {"empty header name", "GET / HTTP/1.1\r\nHost: a\r\n: v\r\n\r\n", 400, 0},
    {"bad char in header name", "GET / HTTP/1.1\r\nHost: a\r\nX(y): v\r\n\r\n", 400, 0},
    {"two spaces in request line", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400, 0},
    {"tab in request line", "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, 0},
    {"http/0.9", "GET /\r\n\r\n", 400, 0},
    {"bad version", "GET / HTTP/1.x\r\nHost: a\r\n\r\n", 400, 0},
    {"lowercase protocol", "GET / http/1.1\r\nHost: a\r\n\r\n", 400, 0},
    {"http/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, 0},
    {"http/3.0", "GET / HTTP/3.0\r\nHost: a\r\n\r\n", 505, 0},
    {"missing host in 1.1", "GET / HTTP/1.1\r\n\r\n", 400, 0},
    {"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, 0},
    {"bad host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, 0},
    /* Host as spelled most often is read without a name scan; spelled
     * otherwise it goes the general way: both count it and check its value. */
    {"bad host, lower case", "GET / HTTP/1.1\r\nhost: a b\r\n\r\n", 400, 0},
    {"bad host, no space", "GET / HTTP/1.1\r\nHost:a/b\r\n\r\n", 400, 0},
    {"two hosts, spelled two ways", "GET / HTTP/1.1\r\nHost: a\r\nHOST:a\r\n\r\n", 400, 0},
    {"bare CR after the Host name", "GET / HTTP/1.1\r\nHost: \ra\r\n\r\n", 400, 0},
    {"content-length sign", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", 400, 0},
    {"content-length list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", 400, 0},
    {"content-length empty", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400, 0},
    {"content-length huge", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", 400, 0},
    {"differing content-length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400,
     0},
    {"te with content-length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
     400, 0},
    {"te on http/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, 0},
    {"chunked not last: the end is unknown, 400",
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400, 0},
    {"a coding without chunked: 400", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 400, 0},
    {"identity alone has no chunked: 400", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n",
     400, 0},
    {"chunked last behind identity: 501",
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity, chunked\r\n\r\n", 501, 0},
    {"chunked twice in one field", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400,
     0},
    {"chunked twice", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
     400, 0},
    {"unknown coding", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501, 0},
    {"empty te", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\n\r\n", 400, 0},
    {"other expectation", "GET / HTTP/1.1\r\nHost: a\r\nExpect: the-unexpected\r\n\r\n", 417, 0},
    {"asterisk without options", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400, 0},
    {"authority form without connect", "GET example.com:80 HTTP/1.1\r\nHost: a\r\n\r\n", 400, 0},
    {"connect with path", "CONNECT /x HTTP/1.1\r\nHost: a\r\n\r\n", 400, 0},
    {"fragment", "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", 400, 0},
    {"non-ascii target", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400, 0},
    {"bad scheme", "GET ftp://x/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, 0},
    {"DEL in method", "GE\x7fT / HTTP/1.1\r\nHost: a\r\n\r\n", 400, 0},
    {"request line too long", NULL, 414, 0},
    {"head too large", NULL, 431, 0},
    {"too many headers",
     "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: 1\r\nF: 1\r\nG: 1\r\nH: 1\r\n\r\n", 431, 0},
};

static void test_valid(void) {
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        const valid_case *v = &valid[i];
        t_case = v->name;
        size_t n = strlen(v->raw);
        chopin_request req;
        int rc = parse(v->raw, n, &req);
        CHECK_EQ_INT(rc, (int)n);
        if (rc <= 0) continue;
        CHECK_EQ_INT(req.method, v->method);
        CHECK_SLICE(req.path, v->path);
        CHECK_SLICE(req.query, v->query);
        CHECK_EQ_INT(req.version_minor, v->minor);
        CHECK_EQ_INT(req.keep_alive, v->keep_alive);
        CHECK_EQ_INT(req.framing, v->framing);
        CHECK_EQ_INT(req.content_length, v->content_length);
        CHECK_EQ_INT(req.header_count, v->headers);
        CHECK_EQ_INT(req.expect_continue, v->expect_continue);
        CHECK_EQ_INT(req.head_len, n);
        /* Zero-copy: slices point into the parsed buffer itself. */
        const char *buf = guard_base + page * 17 - n;
        if (strcmp(v->name, "absolute form no path") != 0) /* that path is a constant "/" */
            CHECK(req.path.ptr >= buf && req.path.ptr < buf + n, "path slice outside the buffer");
        /* every prefix is incomplete, never an error, never a read past it */
        for (size_t cut = 0; cut < n; cut++) {
            int prc = parse(v->raw, cut, &req);
            CHECK(prc == CHOPIN_PARSE_INCOMPLETE, "prefix of %zu bytes gave %d", cut, prc);
        }
        /* bytes after the head are not the parser's: a pipelined request follows */
        char two[512];
        snprintf(two, sizeof two, "%sGET / HTTP/1.1\r\n", v->raw);
        CHECK_EQ_INT(parse(two, strlen(two), &req), (int)n);
    }
}

static void test_bad(void) {
    char big[2048];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const bad_case *b = &bad[i];
        t_case = b->name;
        const char *raw = b->raw;
        size_t n;
        if (b->status == 414) {
            n = (size_t)snprintf(big, sizeof big, "GET /%0300d HTTP/1.1\r\nHost: a\r\n\r\n", 0);
            raw = big;
        } else if (b->status == 431 && !raw) {
            n = (size_t)snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: a\r\nX: %01100d\r\n\r\n", 0);
            raw = big;
        } else {
            n = b->len ? b->len : strlen(raw);
        }
        chopin_request req;
        int rc = parse(raw, n, &req);
        CHECK(rc < 0 && chopin_parse_error_status(rc) == b->status, "got %d, want status %d", rc, b->status);
    }
    /* Limits are caught while the head is still arriving, not only at its end. */
    t_case = "414 before the line ends";
    memset(big, 'a', sizeof big);
    memcpy(big, "GET /", 5);
    chopin_request req;
    CHECK_EQ_INT(parse(big, 300, &req), CHOPIN_PARSE_URI_TOO_LONG);
    t_case = "431 before the head ends";
    int n = snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: a\r\nX: ");
    memset(big + n, 'b', sizeof big - (size_t)n);
    CHECK_EQ_INT(parse(big, 1100, &req), CHOPIN_PARSE_HEADERS_TOO_LARGE);
}

static void test_header_lookup(void) {
    t_case = "header lookup";
    const char *raw = "GET / HTTP/1.1\r\nHost: a\r\nX-Request-Id: 42\r\ncontent-type: text/plain\r\n\r\n";
    chopin_request req;
    CHECK(parse(raw, strlen(raw), &req) > 0, "parse");
    const chopin_header *h = chopin_request_header(&req, "Content-Type", 12);
    CHECK(h != NULL, "content-type found regardless of case");
    if (h) CHECK_SLICE(h->value, "text/plain");
    h = chopin_request_header(&req, "x-request-id", 12);
    CHECK(h != NULL, "x-request-id");
    if (h) CHECK_SLICE(h->value, "42");
    CHECK(chopin_request_header(&req, "accept", 6) == NULL, "absent header");
}

/* Each scan, SIMD and scalar, against the class table: one outsider byte of
 * every value at every position of a run of members long enough for several
 * 16-byte steps, and every run length, so the vector loop, its hand-over to
 * the scalar tail and the tail itself each meet it. */
static void test_scan_paths_agree(void) {
    typedef const char *(*scan_fn)(const char *, const char *);
    static const struct {
        const char *name;
        scan_fn fn;
        unsigned char cls, member;
    } scans[] = {{"scan tchar", chopin__scan_tchar, CHOPIN_C_TCHAR, 'a'},
                 {"scan tchar inline", chopin__scan_tchar_inline, CHOPIN_C_TCHAR, 'a'},
                 {"scan target", chopin__scan_target, CHOPIN_C_TARGET, '/'},
                 {"scan field", chopin__scan_field, CHOPIN_C_FIELD, ' '}};
    char run[48];
    int saved = chopin__scan_simd;
    for (size_t k = 0; k < sizeof scans / sizeof scans[0]; k++) {
        t_case = scans[k].name;
        for (size_t len = 0; len <= sizeof run; len++)
            for (size_t at = 0; at <= len; at++)
                for (unsigned c = 0; c < 256; c++) {
                    memset(run, scans[k].member, sizeof run);
                    if (at < len) run[at] = (char)c;
                    const char *p = guarded(run, len);
                    size_t want = at < len && !(chopin__char_class[c] & scans[k].cls) ? at : len;
                    chopin__scan_simd = 0;
                    size_t scalar = (size_t)(scans[k].fn(p, p + len) - p);
                    chopin__scan_simd = saved;
                    size_t simd = (size_t)(scans[k].fn(p, p + len) - p);
                    if (scalar != want || simd != want) {
                        CHECK(0, "byte 0x%02x at %zu of %zu: scalar %zu, simd %zu, want %zu", c, at, len, scalar, simd,
                              want);
                        return;
                    }
                    if (at == len) break;
                }
    }
    /* The inline scans may look back at bytes before p, as far as lo, for
     * the last 16 before end: outsiders there must not count, and the
     * answer must be the scalar one for every start. */
    typedef const char *(*scan_back_fn)(const char *, const char *, const char *);
    static const struct {
        const char *name;
        scan_back_fn fn;
        unsigned char cls, member;
    } back[] = {{"scan target from lo", chopin__scan_target_inline, CHOPIN_C_TARGET, '/'},
                {"scan field from lo", chopin__scan_field_inline, CHOPIN_C_FIELD, ' '}};
    for (size_t k = 0; k < sizeof back / sizeof back[0]; k++) {
        t_case = back[k].name;
        for (size_t len = 0; len <= 40; len++)
            for (size_t from = 0; from <= len; from++)
                for (size_t at = from; at <= len; at++)
                    for (unsigned c = 0; c < 256; c++) {
                        memset(run, back[k].member, sizeof run);
                        memset(run, '\n', from); /* outsiders before the start */
                        if (at < len) run[at] = (char)c;
                        const char *lo = guarded(run, len);
                        size_t want = at < len && !(chopin__char_class[c] & back[k].cls) ? at : len;
                        for (int simd = 0; simd < 2; simd++) {
                            chopin__scan_simd = simd ? saved : 0;
                            size_t got = (size_t)(back[k].fn(lo, lo + from, lo + len) - lo);
                            if (got != want) {
                                chopin__scan_simd = saved;
                                CHECK(0, "byte 0x%02x at %zu of %zu from %zu: %zu, want %zu (simd %d)", c, at, len,
                                      from, got, want, simd);
                                return;
                            }
                        }
                        chopin__scan_simd = saved;
                        if (at == len) break;
                    }
        CHECK(1, "every start, length and byte");
    }

    /* The '?' search: memchr's answer for every length, place and room to
     * read past the run (limit), on both paths. */
    t_case = "find byte";
    for (size_t len = 0; len <= 40; len++)
        for (size_t room = len; room <= 40; room++)
            for (size_t at = 0; at <= room; at++) {
                memset(run, 'a', sizeof run);
                if (at < room) run[at] = '?';
                const char *p = guarded(run, room);
                const char *want = memchr(p, '?', len);
                for (int simd = 0; simd < 2; simd++) {
                    chopin__scan_simd = simd ? saved : 0;
                    const char *got = chopin__find_byte_inline(p, len, p + room, '?');
                    chopin__scan_simd = saved;
                    if (got != want) {
                        CHECK(0, "'?' at %zu, length %zu, room %zu: %td, want %td (simd %d)", at, len, room,
                              got ? got - p : -1, want ? want - p : -1, simd);
                        return;
                    }
                }
            }
    CHECK(1, "every length, place and room");

    /* The Host check: the table's answer for every byte at every place,
     * among Host bytes of each kind the 16-byte step knows, whatever room
     * there is to read past the value. */
    t_case = "all host";
    static const char host_fill[] = "aZ-.9:q";
    for (size_t len = 0; len <= 40; len++)
        for (size_t extra = 0; extra <= 16; extra += 8)
            for (size_t at = 0; at <= len; at++)
                for (unsigned c = 0; c < 256; c++) {
                    size_t room = len + extra < sizeof run ? len + extra : sizeof run;
                    for (size_t i = 0; i < sizeof run; i++) run[i] = host_fill[i % (sizeof host_fill - 1)];
                    if (at < len) run[at] = (char)c;
                    const char *p = guarded(run, room);
                    int want = at == len || (chopin__char_class[c] & CHOPIN_C_HOST) != 0;
                    for (int simd = 0; simd < 2; simd++) {
                        chopin__scan_simd = simd ? saved : 0;
                        int got = chopin__all_host_inline(p, len, p + room);
                        chopin__scan_simd = saved;
                        if (got != want) {
                            CHECK(0, "byte 0x%02x at %zu of %zu, room %zu: %d, want %d (simd %d)", c, at, len, room, got,
                                  want, simd);
                            return;
                        }
                    }
                    if (at == len) break;
                }
    CHECK(1, "every byte, place, length and room");

#if defined(__x86_64__) || defined(__aarch64__)
    t_case = "simd in use";
    CHECK(saved == chopin__scan_simd_available(), "the SIMD path is chosen where the CPU has it");
#endif
}

int main(void) {
    test_scan_paths_agree();
    /* The parser's cases, once on the SIMD scans (where the CPU has them) and
     * once on the scalar ones: both must give every answer. */
    int simd = chopin__scan_simd;
    for (int pass = 0; pass < 2; pass++) {
        chopin__scan_simd = pass == 0 ? simd : 0;
        test_valid();
        test_bad();
        test_header_lookup();
    }
    chopin__scan_simd = simd;
    return test_finish("test_parse");
}
