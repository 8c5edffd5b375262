/* fuzz_parser.c - libFuzzer target for the request head parser. Checks the
 * parser's promises on any input: no crash or over-read, a consumed length
 * within the input, slices inside the input, and prefix consistency (a
 * request that parses must be "incomplete" when cut one byte short) - and
 * that the SIMD scans and the scalar ones give the same answer, field for
 * field, on every input. */
#include "chopin/http.h"
#include "base/scan.h"

#include <stdlib.h>
#include <string.h>

static int inside(const uint8_t *buf, size_t len, chopin_slice s) {
    return s.len == 0 || ((const uint8_t *)s.ptr >= buf && (const uint8_t *)s.ptr + s.len <= buf + len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* An exact-size heap copy, so ASan sees any read past the end. */
    char *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    chopin_header headers[16];
    chopin_request req;
    chopin_parse_limits limits = {.max_request_line = 512, .max_head = 2048};
    int rc = chopin_parse_request(buf, size, &req, headers, 16, &limits);

    /* The same input on the scalar scans: the same result, the same slices. */
    int simd = chopin__scan_simd;
    chopin__scan_simd = 0;
    chopin_header scalar_headers[16];
    chopin_request scalar_req;
    int scalar_rc = chopin_parse_request(buf, size, &scalar_req, scalar_headers, 16, &limits);
    chopin__scan_simd = simd;
    if (scalar_rc != rc) abort();
    if (rc > 0) {
        if (scalar_req.method != req.method || scalar_req.header_count != req.header_count ||
            scalar_req.target.ptr != req.target.ptr || scalar_req.target.len != req.target.len ||
            scalar_req.path.ptr != req.path.ptr || scalar_req.path.len != req.path.len ||
            scalar_req.query.len != req.query.len || scalar_req.framing != req.framing ||
            scalar_req.content_length != req.content_length || scalar_req.keep_alive != req.keep_alive)
            abort();
        for (size_t i = 0; i < req.header_count; i++)
            if (scalar_headers[i].name.ptr != headers[i].name.ptr || scalar_headers[i].name.len != headers[i].name.len ||
                scalar_headers[i].value.ptr != headers[i].value.ptr ||
                scalar_headers[i].value.len != headers[i].value.len)
                abort();
    }
    if (rc > 0) {
        if ((size_t)rc > size || req.header_count > 16) abort();
        if (!inside((const uint8_t *)buf, size, req.method_name) || !inside((const uint8_t *)buf, size, req.target))
            abort();
        if (req.path.len && req.path.ptr[0] != '/' && req.path.ptr[0] != '*' && req.method != CHOPIN_METHOD_CONNECT)
            abort();
        for (size_t i = 0; i < req.header_count; i++)
            if (!inside((const uint8_t *)buf, size, headers[i].name) ||
                !inside((const uint8_t *)buf, size, headers[i].value))
                abort();
        if (req.framing == CHOPIN_FRAMING_CHUNKED && req.version_minor == 0) abort();
        /* One byte short of a complete head is never a complete head. */
        chopin_request again;
        int short_rc = chopin_parse_request(buf, (size_t)rc - 1, &again, headers, 16, &limits);
        if (short_rc > 0) abort();
        /* A body, if chunked, goes through the decoder too. */
        if (req.framing == CHOPIN_FRAMING_CHUNKED) {
            chopin_chunked d;
            memset(&d, 0, sizeof d);
            d.max_body = 4096;
            d.max_ext = 64;
            d.max_trailer = 256;
            int dr = chopin_chunked_decode(&d, buf + rc, size - (size_t)rc);
            if (dr == CHOPIN_CHUNKED_DONE && (d.decoded > d.pos || d.pos > size - (size_t)rc)) abort();
        }
    } else if (rc != CHOPIN_PARSE_INCOMPLETE) {
        int status = chopin_parse_error_status(rc);
        if (status != 400 && status != 414 && status != 417 && status != 431 && status != 501 && status != 505) abort();
    }
    free(buf);
    return 0;
}
