/* websocket.h - WebSocket (RFC 6455): the opening handshake, the frame
 * codec (the HTTP floor of the core implements both). A deferred response
 * that becomes a WebSocket connection is connection.h's.
 *
 * A handler that accepts an upgrade checks the request, defers, and turns
 * the deferral into a WebSocket before it returns:
 *
 *     char accept[CHOPIN_WS_ACCEPT_LEN];
 *     int status = chopin_ws_handshake(req, accept);    0, or 400 / 426 to answer
 *     chopin_deferred *d = chopin_response_defer(res);
 *     chopin_deferred_observe(d, cancel, drain, release, arg);
 *     chopin_deferred_websocket(d, accept, on_message, max_message);
 *
 * The core then sends 101 Switching Protocols and the connection leaves
 * HTTP: frames are parsed as they arrive (client masking required, reserved
 * bits and unknown opcodes refused, control frames short and whole, text
 * checked as UTF-8 as it arrives), pings are answered, and message pieces
 * go to on_message on the worker thread. Sends go through
 * chopin_deferred_websocket_send from that thread; chopin_deferred_finish
 * ends the connection with a close frame (1000) unless one was sent. */
#ifndef CHOPIN_WEBSOCKET_H
#define CHOPIN_WEBSOCKET_H

#include <stddef.h>
#include <stdint.h>

#include "chopin/http.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Frame opcodes (RFC 6455 section 5.2). */
enum {
    CHOPIN_WS_CONTINUATION = 0x0,
    CHOPIN_WS_TEXT = 0x1,
    CHOPIN_WS_BINARY = 0x2,
    CHOPIN_WS_CLOSE = 0x8,
    CHOPIN_WS_PING = 0x9,
    CHOPIN_WS_PONG = 0xA,
};

/* Close status codes the core sends itself. */
enum {
    CHOPIN_WS_NORMAL = 1000,
    CHOPIN_WS_GOING_AWAY = 1001,
    CHOPIN_WS_PROTOCOL_ERROR = 1002,
    CHOPIN_WS_INVALID_DATA = 1007, /* text that is not UTF-8 */
    CHOPIN_WS_TOO_BIG = 1009,      /* a message over the maximum size */
};

/* Sec-WebSocket-Accept: base64 of a SHA-1, 28 characters (no NUL). */
#define CHOPIN_WS_ACCEPT_LEN 28

/* SHA-1 (RFC 3174) of data[0..len) into out. */
void chopin_sha1(const void *data, size_t len, uint8_t out[20]);
/* Base64 (RFC 4648, padded) of in[0..len) into out, which takes
 * 4 * ((len + 2) / 3) bytes; returns that length. */
size_t chopin_base64(const uint8_t *in, size_t len, char *out);
/* The Sec-WebSocket-Accept value for a Sec-WebSocket-Key. */
void chopin_ws_accept_key(const char *key, size_t key_len, char out[CHOPIN_WS_ACCEPT_LEN]);

/* Checks an opening handshake (RFC 6455 section 4.2.1): GET, HTTP/1.1,
 * Upgrade: websocket, Connection with the upgrade token, a 16-byte
 * base64 Sec-WebSocket-Key, Sec-WebSocket-Version: 13. Returns 0 and the
 * accept value, 426 for another version (answer with
 * "Sec-WebSocket-Version: 13"), or 400. */
int chopin_ws_handshake(const chopin_request *req, char accept[CHOPIN_WS_ACCEPT_LEN]);

/* Subprotocols (RFC 6455 section 4.2.2): whether the client offered name
 * in any of its Sec-WebSocket-Protocol fields, each a comma-separated list.
 * Names compare exactly (they are case-sensitive tokens). The server picks
 * one it offers in its own order of preference and names it in the 101;
 * none agreed means no Sec-WebSocket-Protocol in the 101. */
int chopin_ws_offers_protocol(const chopin_request *req, const char *name, size_t name_len);
/* The list test behind it, on one field value: whether value[0..len) holds
 * name (not empty) as an element, spaces and tabs around elements ignored. */
int chopin_ws_list_has(const char *value, size_t len, const char *name, size_t name_len);

/* The longest subprotocol name the server can answer with. */
#define CHOPIN_WS_PROTOCOL_MAX 64

/* ---- the frame parser --------------------------------------------------------
 * Incremental: fed any split of the client's bytes, it reports one event
 * at a time; payload is unmasked in place and handed out as it arrives,
 * so memory does not grow with the message. */
typedef struct chopin_ws_parser {
    uint64_t max_message; /* bytes of one message, all fragments together (0: no limit) */
    uint64_t frame_left;  /* payload bytes of the current frame still to come */
    uint64_t message_len; /* bytes of the message under way so far */
    uint32_t utf8;        /* the UTF-8 checker's state (text messages) */
    uint8_t head[14];     /* the current frame's header, as far as it came */
    uint8_t head_len, head_need;
    uint8_t opcode, fin;
    uint8_t message;      /* CHOPIN_WS_TEXT or _BINARY while a message is under way, else 0 */
    uint8_t mask[4];
    uint8_t mask_pos;
    uint8_t in_payload;   /* the header is complete */
    uint8_t control_len;
    uint8_t control[125]; /* a control frame's payload, gathered whole */
} chopin_ws_parser;

enum {
    CHOPIN_WS_EV_NONE = 0, /* all input used, nothing to report */
    CHOPIN_WS_EV_DATA,     /* a piece of a message (event.opcode TEXT or BINARY, event.fin on its last) */
    CHOPIN_WS_EV_PING,     /* a ping, its payload in event.data */
    CHOPIN_WS_EV_PONG,
    CHOPIN_WS_EV_CLOSE, /* a valid close frame: event.code (1005 when none), reason in event.data */
};

typedef struct chopin_ws_event {
    int kind;
    int opcode;
    int fin;
    uint16_t code;
    const char *data;
    size_t len;
} chopin_ws_event;

/* Zeroes p and sets its limit. */
void chopin_ws_parser_init(chopin_ws_parser *p, uint64_t max_message);

/* Parses buf[0..len) (unmasking it in place), stopping at the first event.
 * Returns the bytes used (>= 0) with *ev filled (kind NONE when the input
 * ran out first), or a negative close code: -1002 (protocol error), -1007
 * (invalid UTF-8), -1009 (message too big); the parser is then dead. */
long chopin_ws_parse(chopin_ws_parser *p, char *buf, size_t len, chopin_ws_event *ev);

/* Incremental UTF-8 check: *state starts at 0; returns 0 while valid (the
 * sequence may still be cut mid-character), -1 once invalid. *state is 0 at
 * a character boundary. */
int chopin_utf8_check(uint32_t *state, const uint8_t *s, size_t len);

/* A server frame's header (unmasked, FIN set) for a payload of len bytes;
 * writes 2, 4 or 10 bytes into out and returns how many. */
size_t chopin_ws_frame_header(uint8_t out[10], int opcode, uint64_t len);

#ifdef __cplusplus
}
#endif
#endif
