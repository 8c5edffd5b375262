/* body_stream.c - a request body read after its handler was called, piece
 * by piece, for uploads larger than anyone should hold in memory.
 *
 * The connection dispatched the request as soon as its head was parsed
 * (the body_stream hook asked for it). From then on every byte of the body
 * that arrives is decoded here (Content-Length counted down, chunked decoded
 * in place by the same strict decoder as buffered bodies) and handed to the
 * deferral that took the body, within the same event: nothing is kept. A
 * body nobody takes is decoded and dropped, so that the connection can go
 * on with the request after it. The other files of conn/ decide what the
 * connection does; this file only frames and delivers. */
#include "conn.h"

#include <string.h>

void chopin__body_begin(chopin_worker *w, chopin_conn *c, const chopin_request *req) {
    c->flags = (uint16_t)((c->flags | CF_BODY_STREAM) & ~CF_BODY_FULL);
    c->body_seen = 0;
    c->body_left = req->framing == CHOPIN_FRAMING_LENGTH ? req->content_length : 0;
    if (req->framing == CHOPIN_FRAMING_CHUNKED) {
        memset(&c->chunk, 0, sizeof c->chunk);
        c->chunk.max_ext = w->cfg->max_chunk_ext;
        c->chunk.max_trailer = w->cfg->max_trailer;
    } else {
        /* Marks the framing: a finished decoder is never fed. */
        c->chunk.state = UINT8_MAX;
    }
}

void chopin__body_deliver(chopin_conn *c, const char *data, size_t len, int status) {
    chopin_deferred *d = c->state == CONN_DEFERRED ? c->deferral : NULL;
    if (!d || !d->body_piece || !d->body_open) return;
    if (status != CHOPIN_BODY_MORE) d->body_open = 0;
    d->in_callback = 1; /* a finish from piece is delivered later, not under the caller */
    int wait = d->body_piece(d->arg, data, len, status);
    d->in_callback = 0;
    if (wait && status == CHOPIN_BODY_MORE) c->flags |= CF_BODY_FULL;
}

/* The body is complete: the consumer hears it, the connection reads requests again. */
static void body_ended(chopin_conn *c) {
    c->flags &= (uint16_t)~(CF_BODY_STREAM | CF_BODY_FULL);
    chopin__body_deliver(c, NULL, 0, CHOPIN_BODY_END);
}

static size_t feed_length(chopin_conn *c, const char *data, size_t len, int *status) {
    size_t n = c->body_left < len ? (size_t)c->body_left : len;
    c->body_left -= n;
    c->body_seen += n;
    if (n) chopin__body_deliver(c, data, n, CHOPIN_BODY_MORE);
    *status = CHOPIN_BODY_MORE;
    if (c->body_left == 0) {
        body_ended(c);
        *status = CHOPIN_BODY_END;
    }
    return n;
}

/* Each piece is decoded on its own (its decoded bytes moved to its start)
 * and handed on at once. */
static size_t feed_chunked(chopin_worker *w, chopin_conn *c, char *data, size_t len, int *status) {
    uint64_t limit = w->cfg->max_streamed_body;
    int rc = chopin_chunked_decode_piece(&c->chunk, data, len, c->body_seen < limit ? limit - c->body_seen : 0);
    if (rc < 0 && rc != CHOPIN_CHUNKED_INCOMPLETE) {
        *status = rc == CHOPIN_CHUNKED_TRAILER_TOO_LARGE ? -431 : rc;
        return len;
    }
    size_t n = (size_t)c->chunk.decoded;
    c->body_seen += n;
    if (n) chopin__body_deliver(c, data, n, CHOPIN_BODY_MORE);
    *status = CHOPIN_BODY_MORE;
    if (rc == CHOPIN_CHUNKED_DONE) {
        body_ended(c);
        *status = CHOPIN_BODY_END;
    }
    return c->chunk.pos;
}

size_t chopin__body_feed(chopin_worker *w, chopin_conn *c, char *data, size_t len, int *status) {
    *status = CHOPIN_BODY_MORE;
    if (!(c->flags & CF_BODY_STREAM)) {
        *status = CHOPIN_BODY_END;
        return 0;
    }
    if (c->chunk.state == UINT8_MAX) return feed_length(c, data, len, status);
    return feed_chunked(w, c, data, len, status);
}
