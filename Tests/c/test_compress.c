/* test_compress.c - response compression (chopin_response_compress) over
 * real sockets on both backends: gzip and deflate bodies that inflate back
 * to what the handler wrote, with Content-Encoding, Vary and the
 * compressed Content-Length; the threshold, the content types, a 206 and a
 * handler's own Content-Encoding left alone; a refused identity compresses
 * even a small body; HEAD gets the compressed length. */
#include "fixture.h"
#include "net.h"
#include "test.h"

#include <zlib.h>

static char big[4096];

/* /<encoding>/<case>: g = gzip, d = deflate, i = identity; the case picks the body. */
static void app(void *ctx, const chopin_request *req, chopin_response *res) {
    (void)ctx;
    const char *p = req->path.ptr;
    int enc = p[1] == 'g' ? CHOPIN_ENCODING_GZIP : p[1] == 'd' ? CHOPIN_ENCODING_DEFLATE : CHOPIN_ENCODING_IDENTITY;
    char what = p[3];
    chopin_response_compress(res, enc, 1024, what == 'r');
    int status = what == 'p' ? 206 : 200;
    chopin_response_start(res, status);
    const char *type = what == 'i' ? "image/png" : "application/json";
    chopin_response_header(res, "Content-Type", 12, type, strlen(type));
    if (what == 'e') chopin_response_header(res, "Content-Encoding", 16, "br", 2);
    size_t n = what == 's' || what == 'r' ? 100 : sizeof big;
    chopin_response_write(res, big, n);
}

static const char *header_value(const char *name, char *out, size_t cap, const client *c, size_t hlen) {
    const char *v = find_header(c->buf, hlen, name);
    if (!v) return NULL;
    while (*v == ' ') v++;
    size_t n = strcspn(v, "\r");
    if (n >= cap) n = cap - 1;
    memcpy(out, v, n);
    out[n] = 0;
    return out;
}

typedef struct got {
    int status;
    char encoding[32], vary[64];
    size_t wire_len;  /* Content-Length */
    size_t plain_len; /* after inflating */
    int same;         /* inflated bytes equal what the handler wrote */
} got;

static got ask(uint16_t port, const char *method, const char *path) {
    got g = {0};
    static client c;
    client_connect(&c, port);
    char req[128];
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: x\r\n\r\n", method, path);
    client_send(&c, req, (size_t)n);
    static response r;
    /* Keep the head for its headers: read_response moves it away. */
    while (!memmem(c.buf, c.len, "\r\n\r\n", 4))
        if (client_fill(&c, 3000) <= 0) return g;
    size_t hlen = (size_t)((char *)memmem(c.buf, c.len, "\r\n\r\n", 4) - c.buf) + 4;
    header_value("Content-Encoding", g.encoding, sizeof g.encoding, &c, hlen);
    header_value("Vary", g.vary, sizeof g.vary, &c, hlen);
    char cl[32] = "0";
    header_value("Content-Length", cl, sizeof cl, &c, hlen);
    g.wire_len = strtoul(cl, NULL, 10);
    g.status = atoi(c.buf + 9);
    if (strcmp(method, "HEAD") == 0) {
        CHECK(client_silent(&c, 100), "HEAD got body bytes");
        client_close(&c);
        return g;
    }
    if (client_read_response(&c, &r, 3000, 0) != 0) return g;
    static char plain[65536];
    uLongf plain_len = sizeof plain;
    if (!g.encoding[0]) {
        memcpy(plain, r.body, r.body_len);
        plain_len = r.body_len;
    } else {
        z_stream z = {0};
        inflateInit2(&z, strcmp(g.encoding, "gzip") == 0 ? 15 + 16 : 15);
        z.next_in = (Bytef *)r.body;
        z.avail_in = (uInt)r.body_len;
        z.next_out = (Bytef *)plain;
        z.avail_out = sizeof plain;
        int rc = inflate(&z, Z_FINISH);
        plain_len = rc == Z_STREAM_END ? z.total_out : 0;
        inflateEnd(&z);
    }
    g.plain_len = plain_len;
    g.same = plain_len <= sizeof big && memcmp(plain, big, plain_len) == 0;
    client_close(&c);
    return g;
}

static void run_backend(const char *backend) {
    (void)backend;
    chopin_config cfg = fixture_config(app);
    chopin_server *s = fixture_start(&cfg);
    CHECK(s != NULL, "start");
    if (!s) return;
    uint16_t port = chopin_server_port(s);
    got g;
    t_case = "gzip";
    g = ask(port, "GET", "/g/json");
    CHECK(strcmp(g.encoding, "gzip") == 0 && strcmp(g.vary, "Accept-Encoding") == 0, "'%s' '%s'", g.encoding, g.vary);
    CHECK(g.same && g.plain_len == sizeof big && g.wire_len < sizeof big / 4, "%zu -> %zu", g.plain_len, g.wire_len);
    t_case = "deflate";
    g = ask(port, "GET", "/d/json");
    CHECK(strcmp(g.encoding, "deflate") == 0 && g.same && g.plain_len == sizeof big, "'%s'", g.encoding);
    t_case = "HEAD";
    size_t gz_len = ask(port, "GET", "/g/json").wire_len;
    g = ask(port, "HEAD", "/g/json");
    CHECK(strcmp(g.encoding, "gzip") == 0 && g.wire_len == gz_len, "%zu vs %zu", g.wire_len, gz_len);
    t_case = "identity: Vary only";
    g = ask(port, "GET", "/i/json");
    CHECK(!g.encoding[0] && strcmp(g.vary, "Accept-Encoding") == 0 && g.same && g.plain_len == sizeof big, "'%s'", g.vary);
    t_case = "under the threshold";
    g = ask(port, "GET", "/g/small");
    CHECK(!g.encoding[0] && g.vary[0] && g.same && g.plain_len == 100, "'%s'", g.encoding);
    t_case = "identity refused";
    g = ask(port, "GET", "/g/required");
    CHECK(strcmp(g.encoding, "gzip") == 0 && g.same && g.plain_len == 100, "'%s'", g.encoding);
    t_case = "not a compressible type";
    g = ask(port, "GET", "/g/image");
    CHECK(!g.encoding[0] && !g.vary[0] && g.plain_len == sizeof big, "'%s' '%s'", g.encoding, g.vary);
    t_case = "206";
    g = ask(port, "GET", "/g/partial");
    CHECK(g.status == 206 && !g.encoding[0] && g.plain_len == sizeof big, "'%s'", g.encoding);
    t_case = "its own Content-Encoding";
    g = ask(port, "GET", "/g/encoded");
    CHECK(strcmp(g.encoding, "br") == 0 && g.wire_len == sizeof big, "'%s' %zu", g.encoding, g.wire_len);
    fixture_stop(s);
}

/* Which Content-Types are worth compressing: the media type alone, any case. */
static void test_compressible_types(void) {
    static const struct {
        const char *type;
        int want;
    } cases[] = {{"text/plain; charset=utf-8", 1}, {"TEXT/HTML", 1}, {"text/", 1},   {"text", 0},
                 {"application/json", 1},          {"Application/JSON; charset=utf-8", 1},
                 {"application/jsonx", 0},         {"application/javascript", 1}, {"application/xml", 1},
                 {"image/svg+xml", 1},             {"application/wasm", 1},       {"application/problem+json", 1},
                 {"application/atom+XML", 1},      {"image/png", 0},              {"application/octet-stream", 0},
                 {"+json", 1},                     {"json", 0},                   {"", 0},
                 {"application/json x", 1},        {"xtext/plain", 0},            {"application/json;q", 1},
                 {"application/jsonp", 0},         {"application/json+x", 0},     {"APPLICATION/XML", 1},
                 {"image/svg+xml ", 1},            {"application/wasm2", 0},      {"a/b+json; charset=x", 1}};
    t_case = "compressible types";
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK(chopin__compressible_type(cases[i].type, strlen(cases[i].type)) == cases[i].want, "%s: want %d",
              cases[i].type, cases[i].want);
}

int main(void) {
    test_compressible_types();
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = "{\"id\":1,\"randomNumber\":4242},"[i % 30];
    fixture_each_backend(run_backend);
    return test_finish("test_compress");
}
