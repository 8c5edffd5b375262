/* test_write.c - the response writer: exact bytes for the common shapes,
 * in-place body serialization, HEAD, bodiless statuses, misuse becoming a
 * 500, header injection refused, and the integer and date formatters. */
#include "http/text.h"
#include "http/write.h"
#include "base/scan.h"
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
    char *p0;
    t_case = "send";
    begin(0, 0, 0);
    chopin_response_send(&res, 200, "text/plain", "Hello, World!", 13);
    chopin__response_finish(&res);
    EXPECT_OUT("HTTP/1.1 200 OK\r\nServer: chopin\r\nDate: Wed, 25 Nov 2026 01:00:00 GMT\r\n"
               "Content-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!");

    t_case = "whole: status, constant type and body in one call";
    begin(0, 0, 0);
    chopin_response_whole(&res, 200, "text/plain; charset=utf-8", 25, "Hello, World!", 13);
    chopin__response_finish(&res);
    EXPECT_OUT("HTTP/1.1 200 OK\r\nServer: chopin\r\nDate: Wed, 25 Nov 2026 01:00:00 GMT\r\n"
               "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 13\r\n\r\nHello, World!");

    t_case = "whole, the connection's last, and for HTTP/1.0 keep-alive";
    begin(0, 1, 0);
    chopin_response_whole(&res, 200, "text/plain", 10, "bye", 3);
    chopin__response_finish(&res);
    EXPECT_OUT("HTTP/1.1 200 OK\r\nServer: chopin\r\nDate: Wed, 25 Nov 2026 01:00:00 GMT\r\n"
               "Content-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbye");
    begin(0, 0, 1);
    chopin_response_whole(&res, 200, "text/plain", 10, NULL, 0);
    chopin__response_finish(&res);
    EXPECT_OUT("HTTP/1.1 200 OK\r\nServer: chopin\r\nDate: Wed, 25 Nov 2026 01:00:00 GMT\r\n"
               "Content-Type: text/plain\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n");

    t_case = "whole with a body larger than the buffer had";
    {
        static char big[70000];
        memset(big, 'z', sizeof big);
        begin(0, 0, 0);
        chopin_response_whole(&res, 200, "text/plain", 10, big, sizeof big);
        chopin__response_finish(&res);
        const char *blank = memmem(out.data, out.len, "\r\n\r\n", 4);
        CHECK(blank && out.len == (size_t)(blank - out.data) + 4 + sizeof big &&
                  memmem(out.data, out.len, "Content-Length: 70000\r\n", 23) != NULL && out.data[out.len - 1] == 'z',
              "%u bytes", out.len);
    }

    t_case = "whole drops what was begun (middleware answering instead)";
    begin(0, 1, 0);
    chopin_response_start(&res, 201);
    chopin_response_header(&res, "X-Gone", 6, "1", 1);
    chopin_response_whole(&res, 404, "text/plain", 10, "", 0);
    chopin__response_finish(&res);
    EXPECT_OUT("HTTP/1.1 404 Not Found\r\nServer: chopin\r\nDate: Wed, 25 Nov 2026 01:00:00 GMT\r\n"
               "Content-Type: text/plain\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");

    t_case = "whole for HEAD and 304: the head only";
    begin(1, 0, 0);
    chopin_response_whole(&res, 200, "application/json", 16, "{}", 2);
    chopin__response_finish(&res);
    EXPECT_OUT("HTTP/1.1 200 OK\r\nServer: chopin\r\nDate: Wed, 25 Nov 2026 01:00:00 GMT\r\n"
               "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n");
    begin(0, 0, 0);
    chopin_response_whole(&res, 304, "text/plain", 10, "x", 1);
    chopin__response_finish(&res);
    EXPECT_OUT("HTTP/1.1 304 Not Modified\r\nServer: chopin\r\nDate: Wed, 25 Nov 2026 01:00:00 GMT\r\n"
               "Content-Type: text/plain\r\n\r\n");

    t_case = "start_typed, then a body in the gap: the tail moved up to meet it";
    begin(0, 0, 0);
    chopin_response_start(&res, 500);
    chopin_response_start_typed(&res, 201, "application/json", 16);
    p0 = chopin_response_reserve(&res, 64);
    memcpy(p0, "{\"a\":1}", 7);
    chopin_response_commit(&res, 7);
    chopin_response_end(&res);
    EXPECT_OUT("HTTP/1.1 201 Created\r\nServer: chopin\r\nDate: Wed, 25 Nov 2026 01:00:00 GMT\r\n"
               "Content-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}");

    t_case = "a constant content type is where compression looks for it";
    begin(0, 0, 0);
    chopin_response_start(&res, 200);
    chopin_response_content_type_constant(&res, "text/html", 9);
    CHECK(res.ctype_len == 9 && memcmp(out.data + res.ctype_at, "text/html", 9) == 0, "noted at %u, %u bytes",
          res.ctype_at, res.ctype_len);

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
    CHECK(res.ctype_len == 9 && memcmp(out.data + res.ctype_at, "text/html", 9) == 0 && res.has_encoding,
          "type at %u, %u bytes, encoding %d", res.ctype_at, res.ctype_len, res.has_encoding);

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

    t_case = "header names and values of every short length, byte for byte";
    for (size_t nl = 1; nl <= 20; nl++) {
        for (size_t vl = 0; vl <= 20; vl++) {
            char name[21], value[21], want[64];
            for (size_t i = 0; i < nl; i++)
                name[i] = (char)('A' + i);
            for (size_t i = 0; i < vl; i++)
                value[i] = (char)('a' + i);
            int wn = snprintf(want, sizeof want, "%.*s: %.*s\r\n", (int)nl, name, (int)vl, value);
            begin(0, 0, 0);
            chopin_response_start(&res, 200);
            uint32_t at = out.len;
            chopin_response_header(&res, name, nl, value, vl);
            if (res.failed || out.len - at != (uint32_t)wn || memcmp(out.data + at, want, (size_t)wn) != 0)
                CHECK(0, "name %zu, value %zu bytes", nl, vl);
        }
    }
    CHECK(1, "all lengths");

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

    /* A body written whole is placed after its tail at once; whatever asks
     * more of it afterwards gets the bytes the gap would have given. */
    static const char head200[] = "HTTP/1.1 200 OK\r\nServer: chopin\r\nDate: Wed, 25 Nov 2026 01:00:00 GMT\r\n";
    t_case = "placed body, then a second write";
    begin(0, 0, 0);
    chopin_response_start(&res, 200);
    chopin_response_write(&res, "Hello, ", 7);
    chopin_response_write(&res, "World!", 6);
    chopin_response_end(&res);
    EXPECT_OUT("HTTP/1.1 200 OK\r\nServer: chopin\r\nDate: Wed, 25 Nov 2026 01:00:00 GMT\r\n"
               "Content-Length: 13\r\n\r\nHello, World!");

    t_case = "placed body, then reserve and commit";
    begin(0, 0, 1);
    chopin_response_start(&res, 200);
    chopin_response_write(&res, "ab", 2);
    p = chopin_response_reserve(&res, 3);
    memcpy(p, "cde", 3);
    chopin_response_commit(&res, 3);
    chopin_response_end(&res);
    EXPECT_OUT("HTTP/1.1 200 OK\r\nServer: chopin\r\nDate: Wed, 25 Nov 2026 01:00:00 GMT\r\n"
               "Content-Length: 5\r\nConnection: keep-alive\r\n\r\nabcde");

    t_case = "placed body, then the response is made the last";
    begin(0, 0, 0);
    chopin_response_start(&res, 200);
    chopin_response_write(&res, "bye", 3);
    chopin_response_close(&res);
    chopin_response_end(&res);
    EXPECT_OUT("HTTP/1.1 200 OK\r\nServer: chopin\r\nDate: Wed, 25 Nov 2026 01:00:00 GMT\r\n"
               "Content-Length: 3\r\nConnection: close\r\n\r\nbye");

    t_case = "placed body, then discarded and answered again";
    begin(0, 0, 0);
    chopin_response_start(&res, 200);
    chopin_response_header(&res, "Content-Type", 12, "text/plain", 10);
    chopin_response_write(&res, "first", 5);
    chopin_response_discard(&res);
    CHECK(out.len == 0 && !res.in_place && res.ctype_len == 0, "len %u, placed %d", out.len, res.in_place);
    chopin_response_start(&res, 404);
    chopin_response_write(&res, "no", 2);
    chopin_response_end(&res);
    EXPECT_OUT("HTTP/1.1 404 Not Found\r\nServer: chopin\r\nDate: Wed, 25 Nov 2026 01:00:00 GMT\r\n"
               "Content-Length: 2\r\n\r\nno");

    t_case = "placed body, then a header: 500";
    begin(0, 0, 0);
    chopin_response_start(&res, 200);
    chopin_response_write(&res, "x", 1);
    chopin_response_header(&res, "X", 1, "y", 1);
    chopin__response_finish(&res);
    CHECK(res.status == 500 && out.len > sizeof head200 && memcmp(out.data, "HTTP/1.1 500", 12) == 0 &&
              memmem(out.data, out.len, "200 OK", 6) == NULL,
          "one 500, nothing of the 200");

    t_case = "placed body, ended by finish, then a late header";
    begin(0, 0, 0);
    chopin_response_start(&res, 200);
    chopin_response_write(&res, "late", 4);
    chopin__response_finish(&res);
    chopin_response_header_late(&res, "X-Late", 6, "1", 1);
    EXPECT_OUT("HTTP/1.1 200 OK\r\nServer: chopin\r\nDate: Wed, 25 Nov 2026 01:00:00 GMT\r\n"
               "Content-Length: 4\r\nX-Late: 1\r\n\r\nlate");

    /* HTTP/1.1, then an HTTP/1.0 client that asked for keep-alive: the same
     * head either way, the keep-alive line replaced. */
    for (int ka10 = 0; ka10 <= 1; ka10++) {
        t_case = ka10 ? "an HTTP/1.0 keep-alive response written whole, then made the last"
                      : "a response written whole, then made the last";
        begin(0, 0, ka10);
        res.http10 = ka10;
        chopin_response_start(&res, 200);
        chopin_response_write(&res, "done", 4);
        chopin__response_finish(&res);
        static const char closing[] = "HTTP/1.1 200 OK\r\nServer: chopin\r\nDate: Wed, 25 Nov 2026 01:00:00 GMT\r\n"
                                      "Content-Length: 4\r\nConnection: close\r\n\r\ndone";
        chopin_response_close(&res);
        CHECK(res.close == 1, "the connection closes after it");
        EXPECT_OUT(closing);
        chopin_response_close(&res); /* a second ask changes nothing */
        EXPECT_OUT(closing);
    }

    t_case = "placed body, then compression asked for";
    begin(0, 0, 0);
    chopin_response_start(&res, 200);
    chopin_response_header(&res, "Content-Type", 12, "text/plain", 10);
    static char zeros[2000];
    chopin_response_write(&res, zeros, sizeof zeros);
    chopin_response_compress(&res, CHOPIN_ENCODING_GZIP, 100, 0);
    chopin_response_end(&res);
    CHECK(memmem(out.data, out.len, "Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n", 47) != NULL &&
              memmem(out.data, out.len, "Content-Length: 2000", 20) == NULL,
          "compressed:\n%.*s", (int)(memmem(out.data, out.len, "\r\n\r\n", 4) ? out.len : 0), out.data);

    t_case = "placed bodies of every length around the buffer's first growth";
    for (size_t len = 0; len < 5000; len += len < 40 ? 1 : 97) {
        static char body[5000];
        for (size_t i = 0; i < len; i++)
            body[i] = (char)('a' + i % 26);
        char want[6000];
        int wn = snprintf(want, sizeof want, "%sContent-Length: %zu\r\n\r\n", head200, len);
        memcpy(want + wn, body, len);
        begin(0, 0, 0);
        chopin_response_start(&res, 200);
        chopin_response_write(&res, body, len);
        chopin_response_end(&res);
        if (out.len != wn + len || memcmp(out.data, want, out.len) != 0) CHECK(0, "length %zu", len);
        /* and the same after a second, empty write sends it to the gap */
        begin(0, 0, 0);
        chopin_response_start(&res, 200);
        chopin_response_write(&res, body, len);
        chopin_response_write(&res, "", 0);
        chopin_response_end(&res);
        if (out.len != wn + len || memcmp(out.data, want, out.len) != 0) CHECK(0, "length %zu, unplaced", len);
    }
    CHECK(1, "all lengths");

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
