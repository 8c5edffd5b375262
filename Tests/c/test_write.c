/* test_write.c - the response writer: exact bytes for the common shapes,
 * in-place body serialization, HEAD, bodiless statuses, misuse becoming a
 * 500, header injection refused, and the integer and date formatters. */
#include "internal.h"
#include "scan.h"
#include "test.h"

#include <stdlib.h>

static const char date[] = "Wed, 25 Nov 2026 01:00:00 GMT";

static chopin_buf out;
static chopin_response res;

static void begin(int head_only, int close, int ka10) {
    chopin__buf_release(&out, NULL);
    chopin__response_init(&res, &out, NULL, date, head_only, close, ka10);
}

#define EXPECT_OUT(lit)                                                                                                \
    CHECK(out.len == strlen(lit) && memcmp(out.data, lit, out.len) == 0, "got\n%.*s\nwant\n%s", (int)out.len,          \
          out.data, lit)

int main(void) {
    t_case = "send";
    begin(0, 0, 0);
    chopin_response_send(&res, 200, "text/plain", "Hello, World!", 13);
    chopin__response_finish(&res);
    EXPECT_OUT("HTTP/1.1 200 OK\r\nServer: chopin\r\nDate: Wed, 25 Nov 2026 01:00:00 GMT\r\n"
               "Content-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!");

    t_case = "serialize in place, several reserves";
    begin(0, 1, 0);
    chopin_response_start(&res, 201);
    char *p = chopin_response_reserve(&res, 100);
    memcpy(p, "abc", 3);
    chopin_response_commit(&res, 3);
    p = chopin_response_reserve(&res, 5000); /* forces the buffer to grow */
    memcpy(p, "def", 3);
    chopin_response_commit(&res, 3);
    chopin_response_end(&res);
    EXPECT_OUT("HTTP/1.1 201 Created\r\nServer: chopin\r\nDate: Wed, 25 Nov 2026 01:00:00 GMT\r\n"
               "Content-Length: 6\r\nConnection: close\r\n\r\nabcdef");

    t_case = "HEAD: the head with the body's length, no body";
    begin(1, 0, 0);
    chopin_response_send(&res, 200, NULL, "Hello", 5);
    EXPECT_OUT("HTTP/1.1 200 OK\r\nServer: chopin\r\nDate: Wed, 25 Nov 2026 01:00:00 GMT\r\n"
               "Content-Length: 5\r\n\r\n");

    t_case = "204 has no body and no Content-Length";
    begin(0, 0, 0);
    chopin_response_send(&res, 204, NULL, "x", 1);
    EXPECT_OUT("HTTP/1.1 204 No Content\r\nServer: chopin\r\nDate: Wed, 25 Nov 2026 01:00:00 GMT\r\n\r\n");

    t_case = "HTTP/1.0 keep-alive is said";
    begin(0, 0, 1);
    chopin_response_send(&res, 404, NULL, NULL, 0);
    EXPECT_OUT("HTTP/1.1 404 Not Found\r\nServer: chopin\r\nDate: Wed, 25 Nov 2026 01:00:00 GMT\r\n"
               "Content-Length: 0\r\nConnection: keep-alive\r\n\r\n");

    t_case = "started but not ended: finish ends it";
    begin(0, 0, 0);
    chopin_response_start(&res, 200);
    chopin_response_write(&res, "ok", 2);
    chopin__response_finish(&res);
    EXPECT_OUT("HTTP/1.1 200 OK\r\nServer: chopin\r\nDate: Wed, 25 Nov 2026 01:00:00 GMT\r\n"
               "Content-Length: 2\r\n\r\nok");

    t_case = "nothing written: 500";
    begin(0, 0, 0);
    chopin__response_finish(&res);
    EXPECT_OUT("HTTP/1.1 500 Internal Server Error\r\nServer: chopin\r\nDate: Wed, 25 Nov 2026 01:00:00 GMT\r\n"
               "Content-Length: 0\r\n\r\n");

    t_case = "CRLF in a header value: 500, not a split response";
    begin(0, 0, 0);
    chopin_response_start(&res, 200);
    chopin_response_header(&res, "X-A", 3, "a\r\nSet-Cookie: x", 16);
    chopin__response_finish(&res);
    CHECK_EQ_INT(res.status, 500);
    CHECK(memmem(out.data, out.len, "Set-Cookie", 10) == NULL, "no injected header");

    t_case = "handler may not set Content-Length";
    begin(0, 0, 0);
    chopin_response_start(&res, 200);
    chopin_response_header(&res, "content-length", 14, "5", 1);
    chopin__response_finish(&res);
    CHECK_EQ_INT(res.status, 500);

    t_case = "the core's own headers are refused in any case; names like them are not";
    static const struct {
        const char *name;
        int ok;
    } names[] = {{"Connection", 0},         {"CONTENT-LENGTH", 0},   {"Transfer-Encoding", 0},
                 {"transfer-encodinG", 0},  {"content\rlength", 0},  {"Content\nType", 0},
                 {"Content_Length", 1},     {"Content-Lengths", 1},  {"Connectiom", 1},
                 {"Content-Type", 1},       {"X-Content-Length", 1}, {"Transfer-Encodings", 1},
                 {"Content Type", 0},       {"", 0},                 {"X\x80", 0}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        begin(0, 0, 0);
        chopin_response_start(&res, 200);
        chopin_response_header(&res, names[i].name, strlen(names[i].name), "v", 1);
        CHECK(res.failed == !names[i].ok, "%s: failed %d", names[i].name, res.failed);
    }

    t_case = "Content-Type and Content-Encoding are recognized in any case";
    begin(0, 0, 0);
    chopin_response_start(&res, 200);
    chopin_response_header(&res, "CONTENT-type", 12, "text/html", 9);
    chopin_response_header(&res, "content-ENCODING", 16, "br", 2);
    CHECK(res.type_compressible && res.has_encoding, "compressible %d, encoding %d", res.type_compressible,
          res.has_encoding);

    t_case = "header values: every byte outside the field class refused, wherever it stands";
    for (size_t len = 1; len <= 20; len++) {
        for (size_t at = 0; at < len; at++) {
            for (unsigned c = 0; c < 256; c++) {
                char v[20];
                memset(v, 'a', sizeof v);
                v[at] = (char)c;
                begin(0, 0, 0);
                chopin_response_start(&res, 200);
                chopin_response_header(&res, "X-V", 3, v, len);
                int want_ok = (chopin__char_class[c] & CHOPIN_C_FIELD) != 0;
                if (res.failed == want_ok) CHECK(0, "byte 0x%02x at %zu of %zu: failed %d", c, at, len, res.failed);
            }
        }
    }
    CHECK(1, "all lengths and positions");

    t_case = "header after body: 500";
    begin(0, 0, 0);
    chopin_response_start(&res, 200);
    chopin_response_write(&res, "x", 1);
    chopin_response_header(&res, "X", 1, "y", 1);
    chopin__response_finish(&res);
    CHECK_EQ_INT(res.status, 500);

    t_case = "two responses in one buffer (pipelining)";
    begin(0, 0, 0);
    chopin_response_send(&res, 200, NULL, "a", 1);
    uint32_t first = out.len;
    chopin__response_init(&res, &out, NULL, date, 0, 0, 0);
    chopin_response_send(&res, 200, NULL, "b", 1);
    CHECK(out.len == 2 * first && memcmp(out.data, out.data + first, first - 1) == 0, "same bytes twice");

    t_case = "format_u64";
    char num[24];
    CHECK_EQ_INT(chopin__format_u64(num, 0), 1);
    CHECK(num[0] == '0', "zero");
    static const uint64_t around[] = {9, 10, 11, 99, 100, 101, 999, 1000, 4294967295ull};
    for (size_t i = 0; i < sizeof around / sizeof around[0]; i++) {
        char want[24];
        int wn = snprintf(want, sizeof want, "%llu", (unsigned long long)around[i]);
        size_t got = chopin__format_u64(num, around[i]);
        CHECK(got == (size_t)wn && memcmp(num, want, got) == 0, "%s: got %.*s", want, (int)got, num);
    }
    size_t n = chopin__format_u64(num, 18446744073709551615ull);
    CHECK(n == 20 && memcmp(num, "18446744073709551615", 20) == 0, "max");

    t_case = "format_date";
    char d[29];
    chopin__format_date(d, 784111777); /* RFC 9110's example */
    CHECK(memcmp(d, "Sun, 06 Nov 1994 08:49:37 GMT", 29) == 0, "%.29s", d);

    chopin__buf_release(&out, NULL);
    return test_finish("test_write");
}
