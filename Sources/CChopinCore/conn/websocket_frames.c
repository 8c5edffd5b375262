/* websocket_frames.c - frames in and out of an upgraded connection: the
 * 101, the client's frames parsed as they arrive and handed to the
 * handler's deferral, pings answered, close frames, and the handler's sends
 * framed into the output.
 *
 * Like a streamed request body (input.c) it frames and delivers; the other files of conn/
 * decide what the connection does (its state, reads paused, timers,
 * closing). Message
 * pieces are delivered as they arrive, unmasked in place, never gathered
 * here: the consumer keeps what it needs, within max_message, and asks the
 * connection to stop reading when too much waits for it. */
#include "conn.h"

#include "../base/scan.h"

#include <stdlib.h>
#include <string.h>

void chopin_deferred_websocket(chopin_deferred *d, const char accept[CHOPIN_WS_ACCEPT_LEN], chopin_body_fn on_message,
                               uint64_t max_message) {
    d->websocket = 1;
    memcpy(d->ws_accept, accept, CHOPIN_WS_ACCEPT_LEN);
    d->ws_max_message = max_message;
    d->body_piece = on_message;
    d->body_open = on_message != NULL;
}

int chopin_deferred_websocket_protocol(chopin_deferred *d, const char *name, size_t len) {
    d->ws_protocol_len = 0;
    if (len == 0 || len > CHOPIN_WS_PROTOCOL_MAX) return -1;
    /* A token, so that it cannot end the header line or break the list. */
    if (chopin__scan_tchar(name, name + len) != name + len) return -1;
    memcpy(d->ws_protocol, name, len);
    d->ws_protocol_len = (uint8_t)len;
    return 0;
}

int chopin__ws_begin(chopin_worker *w, chopin_conn *c, chopin_deferred *d) {
    static const char head[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                               "Sec-WebSocket-Accept: ";
    static const char protocol[] = "\r\nSec-WebSocket-Protocol: ";
    c->ws = malloc(sizeof *c->ws);
    if (!c->ws) return -1;
    chopin_ws_parser_init(c->ws, d->ws_max_message);
    if (chopin__buf_append(&c->out, &w->pool, head, sizeof head - 1) < 0 ||
        chopin__buf_append(&c->out, &w->pool, d->ws_accept, CHOPIN_WS_ACCEPT_LEN) < 0)
        return -1;
    if (d->ws_protocol_len && (chopin__buf_append(&c->out, &w->pool, protocol, sizeof protocol - 1) < 0 ||
                               chopin__buf_append(&c->out, &w->pool, d->ws_protocol, d->ws_protocol_len) < 0))
        return -1;
    return chopin__buf_append(&c->out, &w->pool, "\r\n\r\n", 4) < 0 ? -1 : 0;
}

/* Hands a piece, the close, or the failure to the handler's side; returns
 * whether it asked to stop reading. */
static int deliver(chopin_conn *c, const char *data, size_t len, int status) {
    chopin_deferred *d = c->deferral;
    if (!d || !d->body_piece || !d->body_open) return 0;
    if (status < 0 || status == CHOPIN_WS_MSG_CLOSED) d->body_open = 0;
    d->in_callback = 1; /* a finish from on_message is delivered later, not under us */
    int wait = d->body_piece(d->arg, data, len, status);
    d->in_callback = 0;
    return wait && status >= 0;
}

int chopin__ws_append(chopin_worker *w, chopin_conn *c, int opcode, const void *data, size_t len) {
    uint8_t head[10];
    size_t n = chopin_ws_frame_header(head, opcode, len);
    if (chopin__buf_append(&c->out, &w->pool, head, n) < 0) return -1;
    return len ? chopin__buf_append(&c->out, &w->pool, data, len) : 0;
}

int chopin__ws_append_close(chopin_worker *w, chopin_conn *c, unsigned code) {
    uint8_t payload[2] = {(uint8_t)(code >> 8), (uint8_t)code};
    return chopin__ws_append(w, c, CHOPIN_WS_CLOSE, payload, code == 1005 ? 0 : 2);
}

size_t chopin__ws_feed(chopin_worker *w, chopin_conn *c, char *data, size_t len, int *end) {
    size_t off = 0;
    *end = 0;
    while (off < len) {
        chopin_ws_event ev;
        long rc = chopin_ws_parse(c->ws, data + off, len - off, &ev);
        if (rc < 0) {
            /* The client broke the protocol: say why, and stop listening to it. */
            *end = (int)-rc;
            chopin__ws_append_close(w, c, (unsigned)-rc);
            deliver(c, NULL, 0, (int)rc);
            return len;
        }
        off += (size_t)rc;
        switch (ev.kind) {
        case CHOPIN_WS_EV_DATA:
            if (deliver(c, ev.data, ev.len, ev.opcode | (ev.fin ? CHOPIN_WS_MSG_FIN : 0))) {
                c->flags |= CF_BODY_FULL;
                return off;
            }
            if (c->state != CONN_WEBSOCKET) return len; /* it closed from on_message */
            break;
        case CHOPIN_WS_EV_PING:
            if (chopin__ws_append(w, c, CHOPIN_WS_PONG, ev.data, ev.len) < 0) {
                *end = CHOPIN_WS_GOING_AWAY;
                return len;
            }
            break;
        case CHOPIN_WS_EV_CLOSE: {
            /* Echo the code (RFC 6455 section 5.5.1); the handler hears it with the reason. */
            *end = WS_END_ECHOED;
            chopin__ws_append_close(w, c, ev.code);
            char payload[125];
            size_t n = 0;
            if (ev.code != 1005) {
                payload[0] = (char)(ev.code >> 8);
                payload[1] = (char)ev.code;
                memcpy(payload + 2, ev.data, ev.len);
                n = ev.len + 2;
            }
            deliver(c, payload, n, CHOPIN_WS_MSG_CLOSED);
            return len;
        }
        default: break; /* a pong, or the input ran out */
        }
    }
    return off;
}
