/* test_conformance.c - HTTP/1.1 conformance over real sockets, on both
 * backends: each case sends raw bytes, then a well-formed request on the
 * same connection, and checks the status, whether the server closed, and
 * that nothing after a framing error was processed. Each case names the
 * RFC section it comes from. */
#include "fixture.h"
#include "net.h"
#include "test.h"

#include <signal.h>
#include <stdio.h>

static void app(void *ctx, const chopin_request *req, chopin_response *res) {
    (void)ctx;
    const chopin_slice p = req->path;
#define IS(s) (p.len == sizeof(s) - 1 && memcmp(p.ptr, s, p.len) == 0)
    if (req->method == CHOPIN_METHOD_OTHER && req->method_name.len == 8 && memcmp(req->method_name.ptr, "M-SEARCH", 8) == 0)
        chopin_response_send(res, 200, "text/plain", req->method_name.ptr, req->method_name.len); /* a routed extension method */
    else if (req->method == CHOPIN_METHOD_OTHER)
        chopin_response_send(res, 501, NULL, NULL, 0);
    else if (req->method == CHOPIN_METHOD_CONNECT)
        chopin_response_send(res, 501, NULL, NULL, 0);
    else if (req->method == CHOPIN_METHOD_OPTIONS)
        chopin_response_send(res, 204, NULL, NULL, 0);
    else if (IS("/echo"))
        chopin_response_send(res, 200, "text/plain", req->body.ptr, req->body.len);
    else if (IS("/nocontent"))
        chopin_response_send(res, 204, NULL, "x", 1);
    else if (IS("/notmodified"))
        chopin_response_send(res, 304, NULL, "x", 1);
    else if (IS("/plaintext"))
        chopin_response_send(res, 200, "text/plain", "Hello, World!", 13);
    else
        chopin_response_send(res, 404, NULL, NULL, 0);
#undef IS
}

typedef struct conformance_case {
    const char *rfc; /* where the rule comes from */
    const char *name;
    const char *raw;
    int status;       /* expected status of the first response */
    int closes;       /* 1: the server must close after it, and answer nothing more */
    const char *body; /* expected body of the first response, or NULL to skip the check */
} conformance_case;

#define H "Host: t\r\n"
static const conformance_case cases[] = {
    /* request line */
    {"9112 3", "well-formed GET", "GET /plaintext HTTP/1.1\r\n" H "\r\n", 200, 0, "Hello, World!"},
    {"9112 3", "two spaces in the request line", "GET  /plaintext HTTP/1.1\r\n" H "\r\n", 400, 1, NULL},
    {"9112 3", "tab as separator", "GET\t/plaintext HTTP/1.1\r\n" H "\r\n", 400, 1, NULL},
    {"9112 3", "trailing space before CRLF", "GET /plaintext HTTP/1.1 \r\n" H "\r\n", 400, 1, NULL},
    {"9112 2.2", "empty line before the request line is ignored", "\r\nGET /plaintext HTTP/1.1\r\n" H "\r\n", 200, 0,
     NULL},
    {"9112 2.2", "bare LF ends no line", "GET /plaintext HTTP/1.1\n" H "\n", 400, 1, NULL},
    {"9112 2.3", "HTTP/1.0 closes by default", "GET /plaintext HTTP/1.0\r\n\r\n", 200, 1, NULL},
    {"9112 2.3", "HTTP/1.2 is answered as 1.1", "GET /plaintext HTTP/1.2\r\n" H "\r\n", 200, 0, NULL},
    {"9110 6.2", "HTTP/2.0 is 505", "GET /plaintext HTTP/2.0\r\n" H "\r\n", 505, 1, NULL},
    {"9110 6.2", "HTTP/9.9 is 505", "GET /plaintext HTTP/9.9\r\n" H "\r\n", 505, 1, NULL},
    {"9112 2.3", "HTTP/0.9 request line is refused", "GET /plaintext\r\n\r\n", 400, 1, NULL},
    {"9112 2.3", "lower-case protocol name", "GET /plaintext http/1.1\r\n" H "\r\n", 400, 1, NULL},
    {"9112 2.3", "two-digit version", "GET /plaintext HTTP/1.10\r\n" H "\r\n", 400, 1, NULL},
    {"9110 9.1", "methods are case-sensitive: 'get' is unknown", "get /plaintext HTTP/1.1\r\n" H "\r\n", 501, 0, NULL},
    {"9110 9.1", "unknown method", "BREW /pot HTTP/1.1\r\n" H "\r\n", 501, 0, NULL},
    {"9110 9.1", "any token is a method: M-SEARCH reaches the handler", "M-SEARCH /x HTTP/1.1\r\n" H "\r\n", 200, 0,
     "M-SEARCH"},
    {"9110 9.1", "every tchar in a method", "A!#$%&'*+-.^_`|~9 /x HTTP/1.1\r\n" H "\r\n", 501, 0, NULL},
    {"9112 3.2.4", "asterisk-form is for OPTIONS only", "M-SEARCH * HTTP/1.1\r\n" H "\r\n", 400, 1, NULL},
    {"9110 5.6.2", "method that is not a token", "GE(T /plaintext HTTP/1.1\r\n" H "\r\n", 400, 1, NULL},
    {"9112 3.2.1", "origin-form", "GET /plaintext?x=1 HTTP/1.1\r\n" H "\r\n", 200, 0, NULL},
    {"9112 3.2.2", "absolute-form", "GET http://t/plaintext HTTP/1.1\r\n" H "\r\n", 200, 0, NULL},
    {"9112 3.2.4", "asterisk-form with OPTIONS", "OPTIONS * HTTP/1.1\r\n" H "\r\n", 204, 0, NULL},
    {"9112 3.2.4", "asterisk-form with GET", "GET * HTTP/1.1\r\n" H "\r\n", 400, 1, NULL},
    {"9112 3.2.3", "authority-form with CONNECT", "CONNECT t:443 HTTP/1.1\r\nHost: t:443\r\n\r\n", 501, 0, NULL},
    {"9112 3.2.3", "authority-form with GET", "GET t:443 HTTP/1.1\r\n" H "\r\n", 400, 1, NULL},
    {"9110 4.1", "fragment in the target", "GET /plaintext#frag HTTP/1.1\r\n" H "\r\n", 400, 1, NULL},
    {"9112 3", "non-ASCII byte in the target", "GET /caf\xc3\xa9 HTTP/1.1\r\n" H "\r\n", 400, 1, NULL},
    {"9112 3", "control byte in the target", "GET /a\x01 HTTP/1.1\r\n" H "\r\n", 400, 1, NULL},
    /* Host */
    {"9112 3.2", "HTTP/1.1 without Host", "GET /plaintext HTTP/1.1\r\n\r\n", 400, 1, NULL},
    {"9112 3.2", "two Host fields", "GET /plaintext HTTP/1.1\r\n" H H "\r\n", 400, 1, NULL},
    {"9112 3.2", "HTTP/1.0 without Host", "GET /plaintext HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 200, 0, NULL},
    {"9110 7.2", "Host with a space", "GET /plaintext HTTP/1.1\r\nHost: a b\r\n\r\n", 400, 1, NULL},
    {"9112 3.2", "empty Host is allowed", "GET /plaintext HTTP/1.1\r\nHost:\r\n\r\n", 200, 0, NULL},
    /* fields */
    {"9112 5.1", "whitespace before the colon", "GET /plaintext HTTP/1.1\r\nHost : t\r\n\r\n", 400, 1, NULL},
    {"9112 5.2", "obs-fold", "GET /plaintext HTTP/1.1\r\n" H "X-A: a\r\n b\r\n\r\n", 400, 1, NULL},
    {"9110 5.5", "bare CR in a value", "GET /plaintext HTTP/1.1\r\n" H "X-A: a\rb\r\n\r\n", 400, 1, NULL},
    {"9110 5.1", "field name with a separator", "GET /plaintext HTTP/1.1\r\n" H "X@A: a\r\n\r\n", 400, 1, NULL},
    {"9110 5.1", "empty field name", "GET /plaintext HTTP/1.1\r\n" H ": a\r\n\r\n", 400, 1, NULL},
    {"9110 5.5", "empty value and OWS", "GET /plaintext HTTP/1.1\r\n" H "X-A:\r\nX-B: \t v \t\r\n\r\n", 200, 0, NULL},
    {"9110 5.5", "obs-text in a value", "GET /plaintext HTTP/1.1\r\n" H "X-A: caf\xc3\xa9\r\n\r\n", 200, 0, NULL},
    {"9112 2.2", "field line without CRLF end (bare LF)", "GET /plaintext HTTP/1.1\r\n" H "X-A: a\n\r\n", 400, 1, NULL},
    /* framing */
    {"9112 6.3", "Content-Length body", "POST /echo HTTP/1.1\r\n" H "Content-Length: 5\r\n\r\nhello", 200, 0, "hello"},
    {"9112 6.3", "identical Content-Length twice",
     "POST /echo HTTP/1.1\r\n" H "Content-Length: 2\r\nContent-Length: 2\r\n\r\nhi", 200, 0, "hi"},
    {"9112 6.3", "differing Content-Length",
     "POST /echo HTTP/1.1\r\n" H "Content-Length: 2\r\nContent-Length: 3\r\n\r\nhi!", 400, 1, NULL},
    {"9110 8.6", "Content-Length with a sign", "POST /echo HTTP/1.1\r\n" H "Content-Length: +2\r\n\r\nhi", 400, 1,
     NULL},
    {"9110 8.6", "Content-Length as a list", "POST /echo HTTP/1.1\r\n" H "Content-Length: 2, 2\r\n\r\nhi", 400, 1,
     NULL},
    {"9110 8.6", "Content-Length in hex", "POST /echo HTTP/1.1\r\n" H "Content-Length: 0x2\r\n\r\nhi", 400, 1, NULL},
    {"9112 6.3", "Content-Length and Transfer-Encoding",
     "POST /echo HTTP/1.1\r\n" H "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, 1, NULL},
    {"9112 6.1", "Transfer-Encoding on HTTP/1.0", "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
     400, 1, NULL},
    {"9112 6.3", "chunked not last is 400 and a close",
     "POST /echo HTTP/1.1\r\n" H "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400, 1, NULL},
    {"9112 6.3", "chunked then identity is 400 and a close",
     "POST /echo HTTP/1.1\r\n" H "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", 400, 1, NULL},
    {"9112 6.3", "a coding without chunked is 400 and a close",
     "POST /echo HTTP/1.1\r\n" H "Transfer-Encoding: gzip\r\n\r\n0\r\n\r\n", 400, 1, NULL},
    {"9112 6.3", "chunked in one field and gzip in a later one is 400",
     "POST /echo HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n0\r\n\r\n", 400, 1,
     NULL},
    {"9112 6.1", "chunked twice in one field",
     "POST /echo HTTP/1.1\r\n" H "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400, 1, NULL},
    {"9112 6.1", "chunked twice",
     "POST /echo HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, 1,
     NULL},
    {"9110 15.6.2", "chunked last behind a coding we lack is 501",
     "POST /echo HTTP/1.1\r\n" H "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501, 1, NULL},
    {"9112 7.1", "chunked body",
     "POST /echo HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", 200, 0, "abcde"},
    {"9112 7.1.1", "chunk extensions are ignored",
     "POST /echo HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n3;a=b;c=\"d\"\r\nabc\r\n0;x\r\n\r\n", 200, 0,
     "abc"},
    {"9112 7.1.2", "trailer fields are read",
     "POST /echo HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Sum: 1\r\n\r\n", 200, 0, "abc"},
    {"9112 7.1", "chunk extensions with BWS around ';' and '='",
     "POST /echo HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n3 ; a = b\r\nabc\r\n0\r\n\r\n", 200, 0, "abc"},
    {"9112 7.1", "whitespace after the chunk size without ';'",
     "POST /echo HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n0\r\n\r\n", 400, 1, NULL},
    {"9112 7.1.1", "a bare ';' with no extension name",
     "POST /echo HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n3;\r\nabc\r\n0\r\n\r\n", 400, 1, NULL},
    {"9112 7.1.1", "an extension name that is not a token",
     "POST /echo HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n3;a@b\r\nabc\r\n0\r\n\r\n", 400, 1, NULL},
    {"9112 7.1.1", "an unterminated quoted extension value",
     "POST /echo HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n3;a=\"bc\r\nabc\r\n0\r\n\r\n", 400, 1, NULL},
    {"9112 7.1", "chunk size not hex",
     "POST /echo HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400, 1, NULL},
    {"9112 7.1", "chunk size overflows 64 bits",
     "POST /echo HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n10000000000000003\r\nabc\r\n0\r\n\r\n", 400, 1,
     NULL},
    {"9112 7.1", "chunk data longer than its size",
     "POST /echo HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n", 400, 1, NULL},
    {"9112 7.1", "bare LF after the chunk size",
     "POST /echo HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n", 400, 1, NULL},
    {"9112 7.1.1", "chunk extension over its limit",
     "POST /echo HTTP/1.1\r\n" H
     "Transfer-Encoding: "
     "chunked\r\n\r\n3;"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\nabc\r\n0\r\n\r\n",
     413, 1, NULL},
    {"9112 7.1.2", "trailer section over its limit",
     "POST /echo HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n0\r\nX: "
                                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n",
     431, 1, NULL},
    {"9110 15.5.14", "Content-Length over max_body: 413 before the body",
     "POST /echo HTTP/1.1\r\n" H "Content-Length: 100000\r\n\r\n", 413, 1, NULL},
    {"9110 15.5.14", "chunked body over max_body",
     "POST /echo HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n10001\r\n", 413, 1, NULL},
    /* expectations */
    {"9110 10.1.1", "an expectation other than 100-continue", "GET /plaintext HTTP/1.1\r\n" H "Expect: teapot\r\n\r\n",
     417, 1, NULL},
    {"9110 10.1.1", "100-continue without a body gets no 100",
     "GET /plaintext HTTP/1.1\r\n" H "Expect: 100-continue\r\n\r\n", 200, 0, NULL},
    {"9110 10.1.1", "100-continue on HTTP/1.0 is ignored",
     "POST /echo HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi", 200, 1, "hi"},
    /* connection management */
    {"9112 9.6", "Connection: close", "GET /plaintext HTTP/1.1\r\n" H "Connection: close\r\n\r\n", 200, 1, NULL},
    {"9112 9.6", "Connection: CLOSE in any case", "GET /plaintext HTTP/1.1\r\n" H "Connection: CLOSE\r\n\r\n", 200, 1,
     NULL},
    {"9112 9.6", "close among other options", "GET /plaintext HTTP/1.1\r\n" H "Connection: keep-alive, close\r\n\r\n",
     200, 1, NULL},
    {"9112 9.3", "HTTP/1.0 keep-alive", "GET /plaintext HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 200, 0, NULL},
    /* responses without a body */
    {"9110 15.3.5", "204 has no body", "GET /nocontent HTTP/1.1\r\n" H "\r\n", 204, 0, ""},
    {"9110 15.4.5", "304 has no body", "GET /notmodified HTTP/1.1\r\n" H "\r\n", 304, 0, ""},
    /* after an error nothing is processed */
    {"9112 11.2", "smuggled request after a bad one is not served",
     "POST /echo HTTP/1.1\r\n" H "Content-Length: 1\r\nContent-Length: 40\r\n\r\nGET /plaintext HTTP/1.1\r\n" H "\r\n",
     400, 1, NULL},
};
#undef H

static chopin_server *start(void) {
    chopin_config cfg = fixture_config(app);
    cfg.max_body = 65536;
    cfg.max_chunk_ext = 64;
    cfg.max_trailer = 64;
    cfg.max_headers = 20;
    return fixture_start(&cfg);
}

static client c;
static response r;

static void run_case(uint16_t port, const conformance_case *k) {
    static const char follow[] = "GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n";
    char label[256];
    snprintf(label, sizeof label, "%s: RFC %s: %s", backend_name, k->rfc, k->name);
    t_case = label;
    if (client_connect(&c, port) < 0) {
        CHECK(0, "connect");
        return;
    }
    client_send(&c, k->raw, strlen(k->raw));
    client_send(&c, follow, sizeof follow - 1);
    int rc = client_read_response(&c, &r, 2000, 0);
    CHECK(rc == 0 && r.status == k->status, "status %d, want %d (rc %d)", r.status, k->status, rc);
    if (rc == 0 && k->body)
        CHECK(r.body_len == strlen(k->body) && memcmp(r.body, k->body, r.body_len) == 0, "body '%.*s'", (int)r.body_len,
              r.body);
    if (rc == 0 && (k->status == 204 || k->status == 304)) CHECK(!r.has_content_length, "no Content-Length");
    if (k->closes) {
        CHECK(client_wait_eof(&c, 2000) && c.len == 0, "closed, with nothing after the response");
    } else {
        rc = client_read_response(&c, &r, 2000, 0);
        CHECK(rc == 0 && r.status == 200, "the connection goes on (rc %d, status %d)", rc, r.status);
    }
    client_close(&c);
}

static void too_long_cases(uint16_t port) {
    static char big[40000];
    int n;
    t_case = "RFC 9112 3: request line over max_request_line is 414";
    n = snprintf(big, sizeof big, "GET /");
    memset(big + n, 'a', 9000);
    n += 9000;
    n += snprintf(big + n, sizeof big - (size_t)n, " HTTP/1.1\r\nHost: t\r\n\r\n");
    client_connect(&c, port);
    client_send(&c, big, (size_t)n);
    CHECK(client_read_response(&c, &r, 2000, 0) == 0 && r.status == 414, "status %d", r.status);
    CHECK(client_wait_eof(&c, 2000), "closed");
    client_close(&c);

    t_case = "RFC 9110 15.5.20 / 6585: header section over max_head_bytes is 431";
    n = snprintf(big, sizeof big, "GET /plaintext HTTP/1.1\r\nHost: t\r\nX-Big: ");
    memset(big + n, 'b', 20000);
    n += 20000;
    n += snprintf(big + n, sizeof big - (size_t)n, "\r\n\r\n");
    client_connect(&c, port);
    client_send(&c, big, (size_t)n);
    CHECK(client_read_response(&c, &r, 2000, 0) == 0 && r.status == 431, "status %d", r.status);
    client_close(&c);

    t_case = "RFC 6585 5: more fields than max_headers is 431";
    n = snprintf(big, sizeof big, "GET /plaintext HTTP/1.1\r\nHost: t\r\n");
    for (int i = 0; i < 25; i++)
        n += snprintf(big + n, sizeof big - (size_t)n, "X-%d: v\r\n", i);
    n += snprintf(big + n, sizeof big - (size_t)n, "\r\n");
    client_connect(&c, port);
    client_send(&c, big, (size_t)n);
    CHECK(client_read_response(&c, &r, 2000, 0) == 0 && r.status == 431, "status %d", r.status);
    client_close(&c);
}

static int cases_run;

static void run_backend(const char *name) {
    (void)name;
    chopin_server *s = start();
    if (!s) return;
    uint16_t port = chopin_server_port(s);
    size_t n = sizeof cases / sizeof cases[0];
    for (size_t i = 0; i < n; i++)
        run_case(port, &cases[i]);
    too_long_cases(port);
    fixture_stop(s);
    cases_run += (int)n + 3;
}

int main(void) {
    fixture_each_backend(run_backend);
    fprintf(stderr, "conformance: %d cases run\n", cases_run);
    return test_finish("test_conformance");
}
