/* websocket_codec.c - the WebSocket frame codec (RFC 6455 section 5): an
 * incremental parser for the client's frames, the UTF-8 check for text,
 * and the header of the server's frames. No I/O and no allocation, so it
 * is fuzzed on its own (fuzz/fuzz_websocket.c); conn/websocket_frames.c drives
 * it for a connection. */
#include "chopin/websocket.h"

#include <string.h>

void chopin_ws_parser_init(chopin_ws_parser *p, uint64_t max_message) {
    memset(p, 0, sizeof *p);
    p->max_message = max_message;
}

/* The UTF-8 state keeps how many continuation bytes are still due and the
 * range the next one must fall in (narrower after E0, ED, F0 and F4, which
 * is how overlong forms, surrogates and code points past U+10FFFF are
 * refused). */
#define UTF8_STATE(need, lo, hi) ((uint32_t)(need) | (uint32_t)(lo) << 8 | (uint32_t)(hi) << 16)

int chopin_utf8_check(uint32_t *state, const uint8_t *s, size_t len) {
    uint32_t need = *state & 3, lo = (*state >> 8) & 0xFF, hi = (*state >> 16) & 0xFF;
    size_t i = 0;
    while (i < len) {
        if (need == 0) {
            /* ASCII, eight bytes at a time. */
            while (i + 8 <= len) {
                uint64_t word;
                memcpy(&word, s + i, 8);
                if (word & 0x8080808080808080ull) break;
                i += 8;
            }
            if (i == len) break;
        }
        uint8_t b = s[i++];
        if (need) {
            if (b < lo || b > hi) return -1;
            need--;
            lo = 0x80;
            hi = 0xBF;
            continue;
        }
        if (b < 0x80) continue;
        lo = 0x80;
        hi = 0xBF;
        if (b >= 0xC2 && b <= 0xDF) {
            need = 1;
        } else if (b >= 0xE0 && b <= 0xEF) {
            need = 2;
            if (b == 0xE0) lo = 0xA0;
            if (b == 0xED) hi = 0x9F;
        } else if (b >= 0xF0 && b <= 0xF4) {
            need = 3;
            if (b == 0xF0) lo = 0x90;
            if (b == 0xF4) hi = 0x8F;
        } else {
            return -1;
        }
    }
    *state = need ? UTF8_STATE(need, lo, hi) : 0;
    return 0;
}

size_t chopin_ws_frame_header(uint8_t out[10], int opcode, uint64_t len) {
    out[0] = (uint8_t)(0x80 | (opcode & 0x0F));
    if (len < 126) {
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len <= 0xFFFF) {
        out[1] = 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; i++) out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
    return 10;
}

/* Close codes a peer may send (RFC 6455 section 7.4 and the IANA registry);
 * 1005, 1006 and 1015 are only ever reported locally, never sent. */
static int valid_close_code(unsigned code) {
    if (code >= 3000 && code <= 4999) return 1;
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014);
}

/* The first two header bytes: what the frame is, and how long its header. */
static long frame_start(chopin_ws_parser *p) {
    uint8_t b0 = p->head[0], b1 = p->head[1];
    p->fin = b0 >> 7;
    p->opcode = b0 & 0x0F;
    if (b0 & 0x70) return -CHOPIN_WS_PROTOCOL_ERROR; /* no extension was negotiated */
    if (!(b1 & 0x80)) return -CHOPIN_WS_PROTOCOL_ERROR; /* clients must mask */
    unsigned len7 = b1 & 0x7F;
    switch (p->opcode) {
    case CHOPIN_WS_CONTINUATION:
        if (!p->message) return -CHOPIN_WS_PROTOCOL_ERROR;
        break;
    case CHOPIN_WS_TEXT:
    case CHOPIN_WS_BINARY:
        if (p->message) return -CHOPIN_WS_PROTOCOL_ERROR; /* the last message is not finished */
        break;
    case CHOPIN_WS_CLOSE:
    case CHOPIN_WS_PING:
    case CHOPIN_WS_PONG:
        if (!p->fin || len7 > 125) return -CHOPIN_WS_PROTOCOL_ERROR;
        break;
    default: return -CHOPIN_WS_PROTOCOL_ERROR;
    }
    p->head_need = (uint8_t)(2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + 4);
    return 0;
}

/* The whole header is here: length and mask. */
static long header_done(chopin_ws_parser *p) {
    unsigned len7 = p->head[1] & 0x7F;
    uint64_t len = len7;
    const uint8_t *h = p->head + 2;
    if (len7 == 126) {
        len = (uint64_t)h[0] << 8 | h[1];
        h += 2;
    } else if (len7 == 127) {
        len = 0;
        for (int i = 0; i < 8; i++) len = len << 8 | h[i];
        if (len >> 63) return -CHOPIN_WS_PROTOCOL_ERROR;
        h += 8;
    }
    memcpy(p->mask, h, 4);
    p->mask_pos = 0;
    p->frame_left = len;
    p->control_len = 0;
    if (!(p->opcode & 0x08)) {
        if (p->opcode != CHOPIN_WS_CONTINUATION) {
            p->message = p->opcode;
            p->message_len = 0;
            p->utf8 = 0;
        }
        if (p->max_message && len > p->max_message - p->message_len) return -CHOPIN_WS_TOO_BIG;
        p->message_len += len;
    }
    p->in_payload = 1;
    return 0;
}

static void unmask(chopin_ws_parser *p, char *data, size_t n) {
    uint8_t *d = (uint8_t *)data;
    size_t i = 0;
    while (i < n && p->mask_pos) {
        d[i++] ^= p->mask[p->mask_pos];
        p->mask_pos = (p->mask_pos + 1) & 3;
    }
    /* Aligned to the mask now: eight bytes at a time. */
    uint32_t m32;
    memcpy(&m32, p->mask, 4);
    uint64_t m64 = (uint64_t)m32 << 32 | m32;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, d + i, 8);
        v ^= m64;
        memcpy(d + i, &v, 8);
    }
    for (; i < n; i++) {
        d[i] ^= p->mask[p->mask_pos];
        p->mask_pos = (p->mask_pos + 1) & 3;
    }
}

/* A control frame's payload is complete. */
static long control_done(chopin_ws_parser *p, chopin_ws_event *ev) {
    ev->data = (const char *)p->control;
    ev->len = p->control_len;
    ev->opcode = p->opcode;
    if (p->opcode == CHOPIN_WS_PING) {
        ev->kind = CHOPIN_WS_EV_PING;
    } else if (p->opcode == CHOPIN_WS_PONG) {
        ev->kind = CHOPIN_WS_EV_PONG;
    } else {
        ev->kind = CHOPIN_WS_EV_CLOSE;
        ev->code = 1005; /* no status code present */
        if (p->control_len == 1) return -CHOPIN_WS_PROTOCOL_ERROR;
        if (p->control_len >= 2) {
            ev->code = (uint16_t)(p->control[0] << 8 | p->control[1]);
            if (!valid_close_code(ev->code)) return -CHOPIN_WS_PROTOCOL_ERROR;
            uint32_t st = 0;
            if (chopin_utf8_check(&st, p->control + 2, p->control_len - 2u) < 0 || st != 0)
                return -CHOPIN_WS_INVALID_DATA;
            ev->data += 2;
            ev->len -= 2;
        }
    }
    return 0;
}

long chopin_ws_parse(chopin_ws_parser *p, char *buf, size_t len, chopin_ws_event *ev) {
    size_t i = 0;
    long rc;
    memset(ev, 0, sizeof *ev);
    while (i < len || (p->in_payload && p->frame_left == 0)) {
        if (!p->in_payload) {
            p->head[p->head_len++] = (uint8_t)buf[i++];
            if (p->head_len == 2 && (rc = frame_start(p)) < 0) return rc;
            if (p->head_len < 2 || p->head_len < p->head_need) continue;
            if ((rc = header_done(p)) < 0) return rc;
            continue;
        }
        size_t n = p->frame_left < len - i ? (size_t)p->frame_left : len - i;
        unmask(p, buf + i, n);
        p->frame_left -= n;
        int frame_end = p->frame_left == 0;
        if (p->opcode & 0x08) {
            memcpy(p->control + p->control_len, buf + i, n);
            p->control_len = (uint8_t)(p->control_len + n);
            i += n;
            if (!frame_end) continue;
            p->in_payload = 0;
            p->head_len = p->head_need = 0;
            if ((rc = control_done(p, ev)) < 0) return rc;
            return (long)i;
        }
        int message_end = frame_end && p->fin;
        if (p->message == CHOPIN_WS_TEXT) {
            if (chopin_utf8_check(&p->utf8, (const uint8_t *)buf + i, n) < 0) return -CHOPIN_WS_INVALID_DATA;
            if (message_end && p->utf8 != 0) return -CHOPIN_WS_INVALID_DATA; /* cut mid-character */
        }
        ev->kind = CHOPIN_WS_EV_DATA;
        ev->opcode = p->message;
        ev->fin = message_end;
        ev->data = buf + i;
        ev->len = n;
        i += n;
        if (frame_end) {
            p->in_payload = 0;
            p->head_len = p->head_need = 0;
            if (message_end) p->message = 0;
        }
        if (n || message_end) return (long)i;
        ev->kind = CHOPIN_WS_EV_NONE; /* an empty fragment: nothing to say */
    }
    return (long)i;
}
