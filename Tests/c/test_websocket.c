/* test_websocket.c - WebSocket: SHA-1 and base64 against RFC 3174 / 4648
 * vectors and the accept key of RFC 6455's example; the UTF-8 check; the
 * frame parser fed whole and byte by byte; then over real sockets on both
 * backends a C echo server: the handshake (101, 426, 400), echo of text,
 * binary and fragmented messages, pings, the close handshake, and every
 * refusal with its close code (unmasked, RSV, opcode, control rules,
 * UTF-8, the message limit), and the idle ping then close; subprotocols:
 * the offer's list test, and the 101 naming the server's first choice the
 * client offered, or no subprotocol when none agreed. */
#include "fixture.h"
#include "net.h"
#include "test.h"

#include <stdatomic.h>
#include <stdlib.h>

/* ---- units --------------------------------------------------------------------- */

static void hex(const uint8_t *d, size_t n, char *out) {
    for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", d[i]);
}

static void test_sha1_base64(void) {
    t_case = "sha1";
    static const struct { const char *in; const char *want; } v[] = {
        {"abc", "a9993e364706816aba3e25717850c26c9cd0d89d"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "84983e441c3bd26ebaae4aa1f95129e5e54670f1"},
        {"", "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t d[20];
        char h[41];
        chopin_sha1(v[i].in, strlen(v[i].in), d);
        hex(d, 20, h);
        CHECK(strcmp(h, v[i].want) == 0, "%s: %s", v[i].in, h);
    }
    /* RFC 3174's third test: a million 'a', over many blocks. */
    char *a = malloc(1000000);
    memset(a, 'a', 1000000);
    uint8_t d[20];
    char h[41];
    chopin_sha1(a, 1000000, d);
    hex(d, 20, h);
    CHECK(strcmp(h, "34aa973cd4c4daa4f61eeb2bdbad27316534016f") == 0, "%s", h);
    free(a);
    t_case = "base64";
    static const char *const b[][2] = {{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foobar", "Zm9vYmFy"}};
    for (size_t i = 0; i < 5; i++) {
        char out[16];
        size_t n = chopin_base64((const uint8_t *)b[i][0], strlen(b[i][0]), out);
        CHECK(n == strlen(b[i][1]) && memcmp(out, b[i][1], n) == 0, "%s", b[i][0]);
    }
    t_case = "accept key (RFC 6455 section 1.3)";
    char acc[CHOPIN_WS_ACCEPT_LEN + 1] = {0};
    chopin_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24, acc);
    CHECK(strcmp(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0, "%s", acc);
}

static int utf8_ok(const char *s, size_t n) {
    uint32_t st = 0;
    return chopin_utf8_check(&st, (const uint8_t *)s, n) == 0 && st == 0;
}

static void test_utf8(void) {
    t_case = "utf8";
    CHECK(utf8_ok("hello, world and more ascii", 27), "ascii");
    CHECK(utf8_ok("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", 11), "greek");
    CHECK(utf8_ok("\xf4\x8f\xbf\xbf", 4), "U+10FFFF");
    CHECK(!utf8_ok("\xf4\x90\x80\x80", 4), "past U+10FFFF");
    CHECK(!utf8_ok("\xed\xa0\x80", 3), "surrogate");
    CHECK(!utf8_ok("\xc0\xaf", 2), "overlong");
    CHECK(!utf8_ok("\xe0\x80\xaf", 3), "overlong 3");
    CHECK(!utf8_ok("\x80", 1), "lone continuation");
    CHECK(!utf8_ok("\xce", 1), "cut");
    CHECK(!utf8_ok("\xff", 1), "ff");
    /* Split anywhere: the state carries over. */
    const char *s = "a\xf0\x9f\x98\x80z";
    for (size_t cut = 0; cut <= 6; cut++) {
        uint32_t st = 0;
        int ok = chopin_utf8_check(&st, (const uint8_t *)s, cut) == 0 &&
                 chopin_utf8_check(&st, (const uint8_t *)s + cut, 6 - cut) == 0 && st == 0;
        CHECK(ok, "cut at %zu", cut);
    }
}

/* A client frame: masked unless mask is 0. Returns its length. */
static size_t frame(uint8_t *out, uint8_t b0, const void *payload, size_t len, int mask) {
    static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    size_t n = 0;
    out[n++] = b0;
    uint8_t m = mask ? 0x80 : 0;
    if (len < 126) {
        out[n++] = m | (uint8_t)len;
    } else if (len <= 0xFFFF) {
        out[n++] = m | 126;
        out[n++] = (uint8_t)(len >> 8);
        out[n++] = (uint8_t)len;
    } else {
        out[n++] = m | 127;
        for (int i = 0; i < 8; i++) out[n++] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
    }
    if (mask) {
        memcpy(out + n, key, 4);
        n += 4;
    }
    for (size_t i = 0; i < len; i++) out[n + i] = ((const uint8_t *)payload)[i] ^ (mask ? key[i & 3] : 0);
    return n + len;
}

static void test_parser(void) {
    uint8_t buf[512];
    size_t n = 0;
    n += frame(buf + n, 0x01, "Hel", 3, 1);                /* text, not final */
    n += frame(buf + n, 0x89, "pp", 2, 1);                 /* a ping in between */
    n += frame(buf + n, 0x80, "lo", 2, 1);                 /* continuation, final */
    n += frame(buf + n, 0x88, "\x03\xe8" "bye", 5, 1);     /* close 1000 "bye" */
    for (int split = 0; split < 2; split++) {
        t_case = split ? "parser: byte by byte" : "parser: whole";
        uint8_t copy[512];
        memcpy(copy, buf, n);
        chopin_ws_parser p;
        chopin_ws_parser_init(&p, 100);
        char text[16];
        size_t tlen = 0;
        int pings = 0, closes = 0, fin = 0;
        size_t off = 0;
        while (off < n) {
            chopin_ws_event ev;
            size_t avail = split ? 1 : n - off;
            long rc = chopin_ws_parse(&p, (char *)copy + off, avail, &ev);
            CHECK(rc >= 0, "rc %ld", rc);
            if (rc < 0) break;
            off += (size_t)rc;
            if (ev.kind == CHOPIN_WS_EV_DATA) {
                memcpy(text + tlen, ev.data, ev.len);
                tlen += ev.len;
                fin += ev.fin;
            } else if (ev.kind == CHOPIN_WS_EV_PING) {
                pings++;
                CHECK(ev.len == 2 && memcmp(ev.data, "pp", 2) == 0, "ping payload");
            } else if (ev.kind == CHOPIN_WS_EV_CLOSE) {
                closes++;
                CHECK(ev.code == 1000 && ev.len == 3 && memcmp(ev.data, "bye", 3) == 0, "code %u", ev.code);
            }
        }
        CHECK(tlen == 5 && memcmp(text, "Hello", 5) == 0 && fin == 1, "%.*s fin %d", (int)tlen, text, fin);
        CHECK(pings == 1 && closes == 1, "%d %d", pings, closes);
    }
    static const struct { const char *name; uint8_t b0; const char *payload; size_t len; int mask; long want; } bad[] = {
        {"unmasked", 0x81, "x", 1, 0, -1002},
        {"rsv1", 0xC1, "x", 1, 1, -1002},
        {"opcode 3", 0x83, "x", 1, 1, -1002},
        {"opcode 11", 0x8B, "x", 1, 1, -1002},
        {"fragmented ping", 0x09, "x", 1, 1, -1002},
        {"continuation first", 0x80, "x", 1, 1, -1002},
        {"bad utf-8", 0x81, "\xc0\xaf", 2, 1, -1007},
        {"utf-8 cut at the end", 0x81, "\xce", 1, 1, -1007},
        {"close of one byte", 0x88, "\x03", 1, 1, -1002},
        {"close code 999", 0x88, "\x03\xe7", 2, 1, -1002},
        {"close code 1005", 0x88, "\x03\xed", 2, 1, -1002},
        {"close reason not utf-8", 0x88, "\x03\xe8\xff", 3, 1, -1007},
        {"over the limit", 0x82, "0123456789", 10, 1, -1009},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        t_case = bad[i].name;
        uint8_t f[64];
        size_t fl = frame(f, bad[i].b0, bad[i].payload, bad[i].len, bad[i].mask);
        chopin_ws_parser p;
        chopin_ws_parser_init(&p, 8);
        chopin_ws_event ev;
        long rc = 0;
        for (size_t off = 0; off < fl && rc >= 0; off += (size_t)rc) {
            rc = chopin_ws_parse(&p, (char *)f + off, fl - off, &ev);
            if (rc == 0) break;
        }
        CHECK_EQ_INT(rc, bad[i].want);
    }
    t_case = "ping of 126 bytes";
    uint8_t big[200];
    memset(big, 'p', sizeof big);
    uint8_t f[256];
    size_t fl = frame(f, 0x89, big, 126, 1);
    chopin_ws_parser p;
    chopin_ws_parser_init(&p, 0);
    chopin_ws_event ev;
    CHECK_EQ_INT(chopin_ws_parse(&p, (char *)f, fl, &ev), -1002);
}

/* ---- over sockets: a C echo server ------------------------------------------- */

typedef struct echo {
    chopin_deferred *d;
    char *msg;
    size_t len;
    int opcode;
} echo;

static void echo_release(void *arg) {
    echo *e = arg;
    free(e->msg);
    free(e);
}

static int echo_piece(void *arg, const char *data, size_t len, int status) {
    echo *e = arg;
    if (status < 0 || status == CHOPIN_WS_MSG_CLOSED) {
        chopin_deferred_finish(e->d);
        return 0;
    }
    e->opcode = status & 0x0F;
    e->msg = realloc(e->msg, e->len + len + 1);
    memcpy(e->msg + e->len, data, len);
    e->len += len;
    if (status & CHOPIN_WS_MSG_FIN) {
        if (e->len == 5 && memcmp(e->msg, "close", 5) == 0) {
            chopin_deferred_websocket_send(e->d, CHOPIN_WS_CLOSE, "\x0f\xa0" "done", 6); /* 4000 */
        } else {
            chopin_deferred_websocket_send(e->d, e->opcode, e->msg, e->len);
        }
        e->len = 0;
    }
    return 0;
}

/* /late: the upgrade decided after the handler call returned, in a later
 * turn of the worker (as an async chain that awaited first decides it):
 * the worker_turn hook accepts it. */
static echo *late_pending;
static char late_accept[CHOPIN_WS_ACCEPT_LEN];
/* Written by the worker, read by the test: 99 until the turn hook ran. */
static _Atomic int late_early_rc = 99, late_rc = 99;

static int accept_late(void *state) {
    (void)state;
    echo *e = late_pending;
    if (!e) return 0;
    late_pending = NULL;
    late_early_rc = chopin_deferred_websocket_accept(e->d); /* not a WebSocket deferral yet: refused */
    chopin_deferred_websocket(e->d, late_accept, echo_piece, 100000);
    late_rc = chopin_deferred_websocket_accept(e->d);
    return 0;
}

static void app(void *ctx, const chopin_request *req, chopin_response *res) {
    (void)ctx;
    char accept[CHOPIN_WS_ACCEPT_LEN];
    int status = chopin_ws_handshake(req, accept);
    if (status) {
        chopin_response_start(res, status);
        if (status == 426) chopin_response_header(res, "Sec-WebSocket-Version", 21, "13", 2);
        chopin_response_end(res);
        return;
    }
    echo *e = calloc(1, sizeof *e);
    e->d = chopin_response_defer(res);
    chopin_deferred_observe(e->d, NULL, NULL, echo_release, e);
    if (req->path.len == 5 && memcmp(req->path.ptr, "/late", 5) == 0) {
        memcpy(late_accept, accept, sizeof accept);
        late_pending = e;
        return;
    }
    chopin_deferred_websocket(e->d, accept, echo_piece, 100000);
    /* The server's subprotocols, in its order of preference. */
    static const char *const ours[] = {"chat.v2", "chat.v1"};
    for (size_t i = 0; i < 2; i++) {
        if (chopin_ws_offers_protocol(req, ours[i], strlen(ours[i]))) {
            chopin_deferred_websocket_protocol(e->d, ours[i], strlen(ours[i]));
            break;
        }
    }
}

/* The 101's Sec-WebSocket-Protocol for an upgrade with `offer` (header
 * lines), into out ("" when the 101 names none); -1 without a 101. */
static int negotiated(uint16_t port, const char *offer, char *out, size_t cap) {
    client c;
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n%s\r\n",
                     offer);
    if (client_connect(&c, port) < 0 || client_send(&c, req, (size_t)n) < 0) return -1;
    char *end = NULL;
    while (!(end = c.len ? memmem(c.buf, c.len, "\r\n\r\n", 4) : NULL))
        if (client_fill(&c, 2000) <= 0) break;
    int ok = end && strncmp(c.buf, "HTTP/1.1 101", 12) == 0;
    out[0] = 0;
    const char *v = ok ? find_header(c.buf, (size_t)(end - c.buf) + 2, "Sec-WebSocket-Protocol") : NULL;
    if (v) {
        while (*v == ' ') v++;
        size_t len = strcspn(v, "\r");
        if (len >= cap) len = cap - 1;
        memcpy(out, v, len);
        out[len] = 0;
    }
    client_close(&c);
    return ok ? 0 : -1;
}

static void test_subprotocol_list(void) {
    t_case = "subprotocol list";
    static const struct { const char *value, *name; int want; } v[] = {
        {"chat", "chat", 1},         {" chat ,x", "chat", 1}, {"x,\tchat", "chat", 1}, {"chatty", "chat", 0},
        {"Chat", "chat", 0},         {"", "chat", 0},         {",,", "chat", 0},       {"a, b", "b", 1},
        {"chat.v1, chat.v2", "chat.v2", 1}, {"x", "", 0},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        CHECK(chopin_ws_list_has(v[i].value, strlen(v[i].value), v[i].name, strlen(v[i].name)) == v[i].want,
              "'%s' holds '%s': %d", v[i].value, v[i].name, v[i].want);
}

static void subprotocols(uint16_t port) {
    static const struct { const char *offer, *want; } v[] = {
        {"Sec-WebSocket-Protocol: chat.v1, chat.v2\r\n", "chat.v2"}, /* the server's preference wins */
        {"Sec-WebSocket-Protocol: chat.v1\r\n", "chat.v1"},
        {"Sec-WebSocket-Protocol: x\r\nSec-WebSocket-Protocol: chat.v1\r\n", "chat.v1"}, /* any field */
        {"Sec-WebSocket-Protocol: other, CHAT.V2\r\n", ""},            /* none agreed: no header */
        {"", ""},                                                          /* none offered */
    };
    char got[128];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        t_case = "subprotocol negotiated";
        CHECK(negotiated(port, v[i].offer, got, sizeof got) == 0, "101 for offer '%s'", v[i].offer);
        CHECK(strcmp(got, v[i].want) == 0, "offer '%s': got '%s', want '%s'", v[i].offer, got, v[i].want);
    }
}

static const char upgrade[] = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
                              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

static int open_ws(client *c, uint16_t port) {
    if (client_connect(c, port) < 0 || client_send(c, upgrade, sizeof upgrade - 1) < 0) return -1;
    response r;
    if (client_read_response(c, &r, 2000, 0) < 0) return -1;
    return r.status == 101 ? 0 : -1;
}

/* Reads one server frame: its opcode, payload into out (up to cap). -1 on timeout or EOF. */
static int read_frame(client *c, int *opcode, char *out, size_t cap, size_t *len) {
    for (;;) {
        if (c->len >= 2) {
            const uint8_t *b = (const uint8_t *)c->buf;
            CHECK(!(b[1] & 0x80), "server frames are not masked");
            size_t hl = 2;
            uint64_t n = b[1] & 0x7F;
            if (n == 126) {
                hl = 4;
                n = c->len >= 4 ? (uint64_t)b[2] << 8 | b[3] : 0;
            } else if (n == 127) {
                hl = 10;
                n = 0;
                for (int i = 0; i < 8 && c->len >= 10; i++) n = n << 8 | b[2 + i];
            }
            if (c->len >= hl && c->len >= hl + n) {
                *opcode = b[0] & 0x0F;
                *len = (size_t)n;
                memcpy(out, c->buf + hl, n < cap ? n : cap);
                memmove(c->buf, c->buf + hl + n, c->len - hl - n);
                c->len -= hl + (size_t)n;
                return 0;
            }
        }
        if (client_fill(c, 2000) <= 0) return -1;
    }
}

static char payload[90000];
static char got[90000];

/* Sends frames, expects a close with code `want` and then the server's FIN. */
static void expect_close(uint16_t port, const char *name, const uint8_t *frames, size_t n, int want) {
    t_case = name;
    client c;
    CHECK(open_ws(&c, port) == 0, "upgrade");
    client_send(&c, (const char *)frames, n);
    int op = -1;
    size_t len = 0;
    CHECK(read_frame(&c, &op, got, sizeof got, &len) == 0, "a frame");
    int code = len >= 2 ? ((uint8_t)got[0] << 8 | (uint8_t)got[1]) : 0;
    CHECK(op == CHOPIN_WS_CLOSE && code == want, "opcode %d code %d", op, code);
    /* Our close answers theirs; then the TCP close comes. */
    uint8_t f[16];
    client_send(&c, (const char *)f, frame(f, 0x88, got, 2, 1));
    CHECK(client_wait_eof(&c, 2000), "closed");
    client_close(&c);
}

static void run_backend(const char *backend) {
    (void)backend;
    chopin_config cfg = fixture_config(app);
    cfg.idle_timeout_ms = 400;
    cfg.worker_turn = accept_late;
    chopin_server *s = fixture_start(&cfg);
    CHECK(s != NULL, "start");
    if (!s) return;
    uint16_t port = chopin_server_port(s);
    client c;
    response r;

    subprotocols(port);
    t_case = "handshake";
    CHECK(client_connect(&c, port) == 0, "connect");
    client_send(&c, upgrade, sizeof upgrade - 1);
    CHECK(client_read_response(&c, &r, 2000, 0) == 0 && r.status == 101, "status %d", r.status);
    client_close(&c);
    t_case = "version 8: 426";
    CHECK(client_connect(&c, port) == 0, "connect");
    SEND(&c, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n");
    CHECK(client_read_response(&c, &r, 2000, 0) == 0 && r.status == 426, "status %d", r.status);
    client_close(&c);
    t_case = "no key: 400";
    CHECK(client_connect(&c, port) == 0, "connect");
    SEND(&c, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Version: 13\r\n\r\n");
    CHECK(client_read_response(&c, &r, 2000, 0) == 0 && r.status == 400, "status %d", r.status);
    client_close(&c);

    t_case = "echo";
    CHECK(open_ws(&c, port) == 0, "upgrade");
    static uint8_t f[130000];
    int op;
    size_t len;
    client_send(&c, (const char *)f, frame(f, 0x81, "hello", 5, 1));
    CHECK(read_frame(&c, &op, got, sizeof got, &len) == 0 && op == 1 && len == 5 && memcmp(got, "hello", 5) == 0,
          "op %d len %zu", op, len);
    for (size_t i = 0; i < sizeof payload; i++) payload[i] = (char)(i * 7);
    t_case = "binary of 90000 bytes (64-bit length), sent a byte at a time at first";
    size_t fl = frame(f, 0x82, payload, sizeof payload, 1);
    for (size_t i = 0; i < 20; i++) client_send(&c, (const char *)f + i, 1);
    client_send(&c, (const char *)f + 20, fl - 20);
    CHECK(read_frame(&c, &op, got, sizeof got, &len) == 0 && op == 2 && len == sizeof payload &&
              memcmp(got, payload, len) == 0,
          "op %d len %zu", op, len);
    t_case = "fragmented, a ping between the fragments";
    size_t n = frame(f, 0x01, "frag", 4, 1);
    n += frame(f + n, 0x89, "are you there", 13, 1);
    n += frame(f + n, 0x00, "men", 3, 1);
    n += frame(f + n, 0x80, "ted", 3, 1);
    client_send(&c, (const char *)f, n);
    CHECK(read_frame(&c, &op, got, sizeof got, &len) == 0 && op == CHOPIN_WS_PONG && len == 13 &&
              memcmp(got, "are you there", 13) == 0,
          "op %d", op);
    CHECK(read_frame(&c, &op, got, sizeof got, &len) == 0 && op == 1 && len == 10 && memcmp(got, "fragmented", 10) == 0,
          "op %d %.*s", op, (int)len, got);
    t_case = "close handshake: the code echoed, then the TCP close";
    client_send(&c, (const char *)f, frame(f, 0x88, "\x03\xe8" "bye", 5, 1));
    CHECK(read_frame(&c, &op, got, sizeof got, &len) == 0 && op == 8 && len == 2 && memcmp(got, "\x03\xe8", 2) == 0,
          "op %d len %zu", op, len);
    CHECK(client_wait_eof(&c, 2000), "closed");
    client_close(&c);

    t_case = "upgraded in a later turn, a frame sent behind the upgrade request";
    {
        static const char late[] = "GET /late HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
        CHECK(client_connect(&c, port) == 0, "connect");
        size_t hn = sizeof late - 1;
        memcpy(f, late, hn);
        hn += frame(f + hn, 0x81, "early", 5, 1);
        client_send(&c, (const char *)f, hn);
        CHECK(client_read_response(&c, &r, 2000, 0) == 0 && r.status == 101, "status %d", r.status);
        CHECK(read_frame(&c, &op, got, sizeof got, &len) == 0 && op == 1 && len == 5 && memcmp(got, "early", 5) == 0,
              "op %d len %zu", op, len);
        /* The 101 and the echo leave from inside the accept: its result is
         * stored just after, on the worker's thread. */
        for (int i = 0; i < 1000 && atomic_load(&late_rc) == 99; i++) usleep(1000);
        CHECK(atomic_load(&late_early_rc) == -1 && atomic_load(&late_rc) == 0,
              "accept before chopin_deferred_websocket %d, after %d", atomic_load(&late_early_rc), atomic_load(&late_rc));
        client_send(&c, (const char *)f, frame(f, 0x81, "later", 5, 1));
        CHECK(read_frame(&c, &op, got, sizeof got, &len) == 0 && op == 1 && len == 5 && memcmp(got, "later", 5) == 0,
              "op %d len %zu", op, len);
        client_close(&c);
        atomic_store(&late_early_rc, 99);
        atomic_store(&late_rc, 99);
    }

    t_case = "the handler closes with 4000";
    CHECK(open_ws(&c, port) == 0, "upgrade");
    client_send(&c, (const char *)f, frame(f, 0x81, "close", 5, 1));
    CHECK(read_frame(&c, &op, got, sizeof got, &len) == 0 && op == 8 && len == 6 && memcmp(got, "\x0f\xa0" "done", 6) == 0,
          "op %d len %zu", op, len);
    client_send(&c, (const char *)f, frame(f, 0x88, "\x0f\xa0", 2, 1));
    CHECK(client_wait_eof(&c, 2000), "closed");
    client_close(&c);

    expect_close(port, "unmasked", f, frame(f, 0x81, "x", 1, 0), 1002);
    expect_close(port, "rsv", f, frame(f, 0xC1, "x", 1, 1), 1002);
    expect_close(port, "opcode 5", f, frame(f, 0x85, "x", 1, 1), 1002);
    expect_close(port, "invalid utf-8", f, frame(f, 0x81, "\xce\xba\xff", 3, 1), 1007);
    expect_close(port, "message over 100000 bytes in two fragments", f,
                 (n = frame(f, 0x02, payload, 60000, 1), n + frame(f + n, 0x80, payload, 60000, 1)), 1009);

    t_case = "idle: a ping, then a close (1001)";
    CHECK(open_ws(&c, port) == 0, "upgrade");
    uint64_t t0 = now_ms();
    CHECK(read_frame(&c, &op, got, sizeof got, &len) == 0 && op == CHOPIN_WS_PING, "op %d", op);
    CHECK(read_frame(&c, &op, got, sizeof got, &len) == 0 && op == 8 && len == 2 && memcmp(got, "\x03\xe9", 2) == 0,
          "op %d", op);
    CHECK(now_ms() - t0 >= 700, "%llu ms", (unsigned long long)(now_ms() - t0));
    CHECK(client_wait_eof(&c, 2000), "closed");
    client_close(&c);

    t_case = "a pong keeps it open";
    CHECK(open_ws(&c, port) == 0, "upgrade");
    CHECK(read_frame(&c, &op, got, sizeof got, &len) == 0 && op == CHOPIN_WS_PING, "op %d", op);
    client_send(&c, (const char *)f, frame(f, 0x8A, "", 0, 1));
    client_send(&c, (const char *)f, frame(f, 0x81, "still", 5, 1));
    CHECK(read_frame(&c, &op, got, sizeof got, &len) == 0 && op == 1 && len == 5, "op %d", op);
    client_close(&c);
    fixture_stop(s);
}

/* Open WebSockets do not hold max_deferred: with a cap of 2, five of them
 * open, and a request on another connection is still read and answered. */
static void run_websockets_past_max_deferred(const char *backend) {
    t_case = backend;
    chopin_config cfg = fixture_config(app);
    cfg.max_deferred = 2;
    chopin_server *s = fixture_start(&cfg);
    CHECK(s != NULL, "server starts");
    if (!s) return;
    uint16_t port = chopin_server_port(s);
    client ws[5];
    for (int i = 0; i < 5; i++)
        CHECK(open_ws(&ws[i], port) == 0, "WebSocket %d of 5 opens past max_deferred 2", i + 1);
    client plain;
    response r;
    static const char get[] = "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n"; /* no upgrade: 400 at once */
    CHECK(client_connect(&plain, port) == 0 && client_send(&plain, get, sizeof get - 1) == 0, "plain request sent");
    CHECK(client_read_response(&plain, &r, 2000, 0) == 0 && r.status == 400, "a plain request is still answered");
    client_close(&plain);
    for (int i = 0; i < 5; i++)
        client_close(&ws[i]);
    fixture_stop(s);
}

int main(void) {
    test_sha1_base64();
    test_utf8();
    test_parser();
    test_subprotocol_list();
    fixture_each_backend(run_backend);
    fixture_each_backend(run_websockets_past_max_deferred);
    return test_finish("test_websocket");
}
