/* websocket_conn.c - an upgraded connection's frames as connection
 * events: the frames that arrive go to the framing (websocket_frames.c),
 * what a consumer that asked to wait has not taken is kept for later, and a
 * close either way ends the WebSocket from this side. */
#include "conn.h"

/* The WebSocket ends from this side (the handler's close frame, an error,
 * silence): the handler's side hears nothing more from the client. With
 * `linger`, the client's own close is awaited (read and dropped) after ours. */
void chopin__ws_stop(chopin_worker *w, chopin_conn *c, int linger) {
    chopin_deferred *d = c->deferral;
    if (d) {
        c->deferral = NULL;
        chopin__deferral_abandon(w, d);
    }
    c->in.len = 0;
    c->flags &= (uint16_t)~CF_STREAM_FULL;
    chopin__conn_close_after_response(w, c, linger);
}

/* Frames in data[0..len); the rest, when the handler's side asked to wait, kept in `in`. */
void chopin__ws_frames(chopin_worker *w, chopin_conn *c, char *data, size_t len, int kept) {
    int end;
    size_t used = chopin__ws_feed(w, c, data, len, &end);
    if (end) {
        /* Echoed the client's close: ours is the last word, the TCP close follows it.
         * Refused its frames: ours says why, and its close is read and dropped. */
        chopin__ws_stop(w, c, end != WS_END_ECHOED);
        return;
    }
    if (kept)
        chopin__buf_consume(&c->in, used);
    else if (used < len)
        chopin__conn_keep_input(w, c, data + used, len - used);
}

/* Frames that waited in `in`. */
void chopin__ws_input(chopin_worker *w, chopin_conn *c) { chopin__ws_frames(w, c, c->in.data, c->in.len, 1); }
