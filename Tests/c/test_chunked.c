/* test_chunked.c - the incremental in-place chunked decoder: whole input,
 * byte at a time, extensions, trailers, and every malformed or oversized case. */
#include "chopin/http.h"
#include "test.h"

#include <stdlib.h>

static chopin_chunked fresh(uint64_t max_body) {
    chopin_chunked d;
    memset(&d, 0, sizeof d);
    d.max_body = max_body;
    d.max_ext = 16;
    d.max_trailer = 32;
    return d;
}

/* Decodes raw in one call; returns the result, body in out. */
static int decode_all(const char *raw, size_t n, char *buf, chopin_chunked *d) {
    memcpy(buf, raw, n);
    return chopin_chunked_decode(d, buf, n);
}

/* Decodes raw arriving one byte at a time into the same buffer. */
static int decode_bytewise(const char *raw, size_t n, char *buf, chopin_chunked *d) {
    int rc = CHOPIN_CHUNKED_INCOMPLETE;
    for (size_t i = 1; i <= n; i++) {
        /* the connection keeps decoded bytes at the start and raw bytes from pos */
        buf[d->pos + (i - 1 - d->pos)] = raw[i - 1];
        rc = chopin_chunked_decode(d, buf, i);
        if (rc != CHOPIN_CHUNKED_INCOMPLETE) return rc == 0 && i != n ? -999 : rc;
    }
    return rc;
}

typedef struct ok_case {
    const char *name, *raw, *body;
} ok_case;

static const ok_case oks[] = {
    {"one chunk", "5\r\nhello\r\n0\r\n\r\n", "hello"},
    {"two chunks", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world"},
    {"hex size any case", "a\r\n0123456789\r\nA\r\nabcdefghij\r\n0\r\n\r\n", "0123456789abcdefghij"},
    {"empty body", "0\r\n\r\n", ""},
    {"extension", "5;name=value\r\nhello\r\n0;last\r\n\r\n", "hello"},
    {"extension with BWS", "5 ;a=\"q s\"\r\nhello\r\n0\r\n\r\n", "hello"},
    {"trailers", "5\r\nhello\r\n0\r\nX-Sum: 1\r\nY: 2\r\n\r\n", "hello"},
    {"leading zeros", "0005\r\nhello\r\n0000\r\n\r\n", "hello"},
    {"BWS around ';' and '='", "5 \t; a = b\r\nhello\r\n0\r\n\r\n", "hello"},
    {"several extensions", "5;a;b=c;d=\"e;f\"\r\nhello\r\n0\r\n\r\n", "hello"},
    {"quoted-pair in a value", "5;a=\"x\\\"y\"\r\nhello\r\n0\r\n\r\n", "hello"},
    {"BWS after a quoted value, then ';'", "5;a=\"x\" ;b\r\nhello\r\n0\r\n\r\n", "hello"},
};

typedef struct bad_case {
    const char *name, *raw;
    int rc;
} bad_case;

static const bad_case bads[] = {
    {"no size", "\r\nhello\r\n0\r\n\r\n", CHOPIN_CHUNKED_BAD},
    {"bad size char", "5x\r\nhello\r\n0\r\n\r\n", CHOPIN_CHUNKED_BAD},
    {"negative size", "-5\r\nhello\r\n0\r\n\r\n", CHOPIN_CHUNKED_BAD},
    {"bare LF after size", "5\nhello\r\n0\r\n\r\n", CHOPIN_CHUNKED_BAD},
    {"data longer than size", "3\r\nhello\r\n0\r\n\r\n", CHOPIN_CHUNKED_BAD},
    {"missing CRLF after data", "5\r\nhelloX\r\n0\r\n\r\n", CHOPIN_CHUNKED_BAD},
    {"17 hex digits", "10000000000000000\r\n", CHOPIN_CHUNKED_BAD},
    {"body over limit", "ff\r\n", CHOPIN_CHUNKED_TOO_LARGE},
    {"sum over limit", "30\r\n000000000000000000000000000000000000000000000000\r\n30\r\n", CHOPIN_CHUNKED_TOO_LARGE},
    {"extension too long", "5;aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\nhello\r\n0\r\n\r\n", CHOPIN_CHUNKED_TOO_LARGE},
    {"control char in extension", "5;a\x01\r\nhello\r\n0\r\n\r\n", CHOPIN_CHUNKED_BAD},
    {"trailer too long", "0\r\nX: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n",
     CHOPIN_CHUNKED_TRAILER_TOO_LARGE},
    {"obs-fold in trailer", "0\r\nX: a\r\n b\r\n\r\n", CHOPIN_CHUNKED_BAD},
    {"bare LF ending", "0\r\n\n", CHOPIN_CHUNKED_BAD},
    /* RFC 9112 section 7.1: each of these reads two ways somewhere. */
    {"whitespace after the size, no ';'", "5 \r\nhello\r\n0\r\n\r\n", CHOPIN_CHUNKED_BAD},
    {"whitespace then garbage after the size", "5 x\r\nhello\r\n0\r\n\r\n", CHOPIN_CHUNKED_BAD},
    {"bare ';'", "5;\r\nhello\r\n0\r\n\r\n", CHOPIN_CHUNKED_BAD},
    {"';' then only whitespace", "5; \r\nhello\r\n0\r\n\r\n", CHOPIN_CHUNKED_BAD},
    {"extension name not a token", "5;a(b\r\nhello\r\n0\r\n\r\n", CHOPIN_CHUNKED_BAD},
    {"extension name starts with '='", "5;=b\r\nhello\r\n0\r\n\r\n", CHOPIN_CHUNKED_BAD},
    {"'=' without a value", "5;a=\r\nhello\r\n0\r\n\r\n", CHOPIN_CHUNKED_BAD},
    {"value not a token", "5;a=b@c\r\nhello\r\n0\r\n\r\n", CHOPIN_CHUNKED_BAD},
    {"unterminated quoted value", "5;a=\"xy\r\nhello\r\n0\r\n\r\n", CHOPIN_CHUNKED_BAD},
    {"trailing whitespace after an extension", "5;a \r\nhello\r\n0\r\n\r\n", CHOPIN_CHUNKED_BAD},
    {"two names without ';'", "5;a b\r\nhello\r\n0\r\n\r\n", CHOPIN_CHUNKED_BAD},
    {"text after a quoted value", "5;a=\"x\"y\r\nhello\r\n0\r\n\r\n", CHOPIN_CHUNKED_BAD},
    {"CR inside a quoted value", "5;a=\"x\ry\"\r\nhello\r\n0\r\n\r\n", CHOPIN_CHUNKED_BAD},
    {"trailer line without a colon", "0\r\nX-Sum 1\r\n\r\n", CHOPIN_CHUNKED_BAD},
    {"trailer name not a token", "0\r\nX(Sum): 1\r\n\r\n", CHOPIN_CHUNKED_BAD},
};

int main(void) {
    char buf[256];
    for (size_t i = 0; i < sizeof oks / sizeof oks[0]; i++) {
        const ok_case *c = &oks[i];
        t_case = c->name;
        size_t n = strlen(c->raw);
        chopin_chunked d = fresh(100);
        CHECK_EQ_INT(decode_all(c->raw, n, buf, &d), CHOPIN_CHUNKED_DONE);
        CHECK_EQ_INT(d.pos, n);
        CHECK(d.decoded == strlen(c->body) && memcmp(buf, c->body, d.decoded) == 0, "body '%.*s'", (int)d.decoded, buf);
        d = fresh(100);
        CHECK_EQ_INT(decode_bytewise(c->raw, n, buf, &d), CHOPIN_CHUNKED_DONE);
        CHECK(d.decoded == strlen(c->body) && memcmp(buf, c->body, d.decoded) == 0, "bytewise body '%.*s'",
              (int)d.decoded, buf);
        /* what follows the body (a pipelined request) is not consumed */
        char two[256];
        snprintf(two, sizeof two, "%sGET / HTTP/1.1\r\n", c->raw);
        d = fresh(100);
        CHECK_EQ_INT(decode_all(two, strlen(two), buf, &d), CHOPIN_CHUNKED_DONE);
        CHECK_EQ_INT(d.pos, n);
        /* every strict prefix is incomplete */
        for (size_t cut = 0; cut < n; cut++) {
            d = fresh(100);
            int rc = decode_all(c->raw, cut, buf, &d);
            CHECK(rc == CHOPIN_CHUNKED_INCOMPLETE, "prefix %zu gave %d", cut, rc);
        }
    }
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
        const bad_case *c = &bads[i];
        t_case = c->name;
        chopin_chunked d = fresh(64);
        CHECK_EQ_INT(decode_all(c->raw, strlen(c->raw), buf, &d), c->rc);
        d = fresh(64);
        CHECK_EQ_INT(decode_bytewise(c->raw, strlen(c->raw), buf, &d), c->rc);
    }
    return test_finish("test_chunked");
}
