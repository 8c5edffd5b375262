/* fuzz_websocket.c - libFuzzer target for the WebSocket frame parser. The
 * input (after one byte that picks a piece size) is parsed whole and again
 * in pieces of that size; both runs must end the same way (the same close
 * code for an error) and, when neither fails, report the same events
 * (kinds, payload bytes, close codes); an empty piece that ends nothing is
 * never reported. ASan checks every payload lies within the input. A close
 * event's payload must be what a handler may be given: no code (1005) and no
 * reason, or a code a peer may send and a reason of at most 123 bytes of
 * UTF-8. The input is also a Sec-WebSocket-Protocol value: an element found
 * in it is in it, and one appended to it is always found. */
#include "chopin/websocket.h"

#include <stdlib.h>
#include <string.h>

typedef struct run {
    uint64_t digest; /* over event kinds, payload bytes and codes */
    long end;        /* the error code, or 0 */
    size_t events;
} run;

static void mix(uint64_t *h, uint64_t v) { *h = (*h ^ v) * 0x100000001b3ull; }

static void check_close(const chopin_ws_event *ev) {
    if (ev->code == 1005) {
        if (ev->len) __builtin_trap();
        return;
    }
    /* RFC 6455 section 7.4: 1000-1003 and 1007-1014 of the IANA range, 3000-4999 for applications. */
    int allowed = (ev->code >= 1000 && ev->code <= 1003) || (ev->code >= 1007 && ev->code <= 1014) ||
                  (ev->code >= 3000 && ev->code <= 4999);
    if (!allowed || ev->len > 123) __builtin_trap();
    uint32_t st = 0;
    if (chopin_utf8_check(&st, (const uint8_t *)ev->data, ev->len) < 0 || st != 0) __builtin_trap();
}

/* The input as an offer: a name cut from it (its first 1-8 bytes) found in
 * the list must be in the bytes, and the list with ", name" appended holds
 * it whenever the name is one element (no comma, space or tab). */
static void check_offer(const uint8_t *data, size_t size) {
    size_t n = size < 8 ? size : (size_t)(data[0] % 8) + 1;
    if (n > size) n = size;
    const char *name = (const char *)data;
    if (chopin_ws_list_has((const char *)data, size, name, n) && !memmem(data, size, name, n)) __builtin_trap();
    if (n == 0 || memchr(name, ',', n) || memchr(name, ' ', n) || memchr(name, '\t', n)) return;
    char *with = malloc(size + 2 + n);
    memcpy(with, data, size);
    memcpy(with + size, ", ", 2);
    memcpy(with + size + 2, name, n);
    int found = chopin_ws_list_has(with, size + 2 + n, name, n);
    free(with);
    if (!found) __builtin_trap();
}

static run parse_all(const uint8_t *data, size_t size, size_t step) {
    run r = {0xcbf29ce484222325ull, 0, 0};
    char *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    chopin_ws_parser p;
    chopin_ws_parser_init(&p, 4096);
    size_t off = 0;
    while (off < size) {
        size_t end = step && off + step < size ? off + step : size;
        size_t at = off;
        while (at < end) {
            chopin_ws_event ev;
            long rc = chopin_ws_parse(&p, buf + at, end - at, &ev);
            if (rc < 0) {
                r.end = rc;
                free(buf);
                return r;
            }
            if (rc == 0 && ev.kind == CHOPIN_WS_EV_NONE) break;
            at += (size_t)rc;
            if (ev.kind == CHOPIN_WS_EV_NONE) continue;
            if (ev.kind == CHOPIN_WS_EV_DATA && ev.len == 0 && !ev.fin) __builtin_trap();
            /* The payload first, the event after it: a message in pieces mixes the same. */
            for (size_t i = 0; i < ev.len; i++) mix(&r.digest, (uint8_t)ev.data[i]);
            if (ev.kind != CHOPIN_WS_EV_DATA || ev.fin) {
                mix(&r.digest, (uint64_t)ev.kind << 8 | (uint64_t)ev.opcode);
                r.events++;
            }
            if (ev.kind == CHOPIN_WS_EV_CLOSE) {
                mix(&r.digest, ev.code);
                check_close(&ev);
            }
        }
        off = end;
    }
    free(buf);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    check_offer(data, size);
    size_t step = (size_t)(data[0] % 13) + 1;
    run whole = parse_all(data + 1, size - 1, 0);
    run parts = parse_all(data + 1, size - 1, step);
    /* Pieces of a message go out as they arrive, so a run that fails saw
     * more of it before the failure than the whole one: compare the ends. */
    if (whole.end != parts.end) __builtin_trap();
    if (!whole.end && (whole.digest != parts.digest || whole.events != parts.events)) __builtin_trap();
    if (whole.end && whole.end != -1002 && whole.end != -1007 && whole.end != -1009) __builtin_trap();
    return 0;
}
