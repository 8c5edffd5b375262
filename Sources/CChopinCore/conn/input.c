/* input.c - requests in: every complete request in the bytes that
 * arrived is parsed where it landed, framed (Content-Length, chunked, or a
 * body streamed to its handler) and dispatched to the handler; only an
 * unfinished tail is kept, in the connection's own buffer. Stops early when
 * the connection is closing, an answer is deferred, a client that does not
 * read has too much output queued, or the connection had its share of the
 * loop turn.
 *
 * A body streamed to its handler is read after the handler was called,
 * piece by piece, for uploads larger than anyone should hold in memory:
 * every byte of it that arrives is decoded here (Content-Length counted
 * down, chunked decoded in place by the same strict decoder as buffered
 * bodies) and handed to the deferral that took the body, within the same
 * event; nothing is kept. A body nobody takes is decoded and dropped, so
 * that the connection can go on with the request after it. */
#include "conn.h"
#include "count.h"

#include <string.h>

static const char continue_line[] = "HTTP/1.1 100 Continue\r\n\r\n";

/* Runs the handler; returns whether the response was the connection's last. */
static int dispatch(chopin_worker *w, chopin_conn *c, const chopin_request *req) {
    chopin_response res;
    int close = !req->keep_alive || w->stopping;
    int keep_alive_10 = req->version_minor == 0 && !close;
    chopin__response_init(&res, &c->out, &w->pool, w->date, req->method == CHOPIN_METHOD_HEAD, close, keep_alive_10);
    res.http10 = req->version_minor == 0;
    res.worker = w;
    res.conn_idx = c->idx;
    res.conn_gen = c->gen;
    w->cfg->handler(w->cfg->handler_ctx, req, &res);
    c->requests++;
    CHOPIN_COUNT(w, requests, 1);
    if (res.deferred && res.deferral->websocket) {
        c->deferral = res.deferral;
        c->deferral->started_ms = w->now_ms;
        return chopin__conn_upgrade(w, c) < 0;
    }
    if (res.deferred) {
        /* Later pipelined requests wait in `in` until the answer comes back. */
        c->state = CONN_DEFERRED;
        c->deferral = res.deferral;
        c->deferral->started_ms = w->now_ms;
        c->flags |= CF_PENDING_INPUT;
        c->timer = TK_NONE; /* the handler's deadline starts now */
        return 0;
    }
    chopin__response_finish(&res);
    chopin__metrics_answered_now(w, res.status);
    chopin__conn_take_file(c, &res);
    c->state = CONN_HEAD;
    return res.close;
}

/* The connection leaves HTTP for its deferral's WebSocket: the 101 is
 * queued, and whatever follows the request is frames. Returns -1 when the
 * connection closed instead (out of memory). */
int chopin__conn_upgrade(chopin_worker *w, chopin_conn *c) {
    chopin_deferred *d = c->deferral;
    if (chopin__ws_begin(w, c, d) < 0) {
        chopin__conn_close(w, c);
        return -1;
    }
    c->state = CONN_WEBSOCKET;
    c->timer = TK_NONE;
    c->flags &= (uint16_t)~CF_PENDING_INPUT; /* what waits in `in` is frames now */
    /* An open WebSocket is a connection, bounded by max_connections and
     * its own buffers; held against max_deferred, a few hundred idle
     * sockets would leave every async request waiting unread. */
    d->uncounted = 1;
    w->ndeferred--;
    chopin__worker_capacity_freed(w);
    chopin__metrics_answered(w, 101, d->started_ms);
    return 0;
}

/* A request whose body is taken as a stream: the handler runs now, then
 * gets the body bytes already here (rest[0..n)); *used says how many were
 * the body's. Returns -1 when the connection stops taking requests (its
 * last response, a failed body). */
static int dispatch_streamed(chopin_worker *w, chopin_conn *c, chopin_request *req, char *rest, size_t n,
                             size_t *used) {
    *used = 0;
    if (req->framing == CHOPIN_FRAMING_LENGTH && req->content_length > w->cfg->max_streamed_body) {
        chopin__conn_fail(w, c, 413); /* said before a byte of the body is read */
        return -1;
    }
    req->body_streamed = 1;
    /* Whatever the handler answers, the body will be read (taken or
     * dropped), so a client that waits to be asked may send it. */
    if (req->expect_continue) chopin__buf_append(&c->out, &w->pool, continue_line, sizeof continue_line - 1);
    chopin__body_begin(w, c, req);
    c->timer = TK_NONE; /* the body's clock starts now */
    if (dispatch(w, c, req)) {
        /* Answered at once, and the connection's last: the body is not read. */
        c->flags &= (uint16_t)~(CF_BODY_STREAM | CF_BODY_FULL);
        chopin__conn_close_after_response(w, c, 1);
        return -1;
    }
    int status;
    *used = chopin__body_feed(w, c, rest, n, &status);
    if (status < 0) {
        chopin__conn_body_failed(w, c, -status);
        return -1;
    }
    return 0;
}

/* A head that arrives a byte at a time must not be re-parsed from its start
 * on every byte: look only at the new bytes for the blank line, and run the
 * full parser again only when it is there, or when the head has doubled
 * since the last parse (so limits and garbage are still caught early). */
static int head_still_incomplete(const chopin_worker *w, chopin_conn *c, const char *p, size_t avail) {
    if (c->head_parsed == 0 || avail >= 2 * (size_t)c->head_parsed || avail > w->cfg->max_head_bytes) return 0;
    size_t from = c->head_scan > 3 ? c->head_scan - 3 : 0;
    if (from < avail && memmem(p + from, avail - from, "\r\n\r\n", 4)) return 0;
    c->head_scan = (uint32_t)avail;
    return 1;
}

/* Handles every complete request in buf[0..*len). Returns the bytes used.
 * May shrink *len: an unfinished chunked body is compacted in place. Stops
 * early when the connection is closing, a response is deferred, or a client
 * that does not read has too much output queued. */
size_t chopin__conn_process(chopin_worker *w, chopin_conn *c, char *buf, size_t *len) {
    const chopin_config *cfg = w->cfg;
    size_t off = 0;
    uint32_t handled = 0;
    chopin_request req;

    c->flags &= (uint16_t)~CF_PENDING_INPUT;
    while (off < *len && (c->state == CONN_HEAD || c->state == CONN_BODY)) {
        if ((c->flags & CF_FILE) || chopin__conn_pending_output(c) > cfg->max_pending_output) {
            c->flags |= CF_PENDING_INPUT;
            break;
        }
        if (handled == cfg->max_pipelined) {
            /* Fairness: the rest waits for the next loop turn. */
            c->flags |= CF_PENDING_INPUT | CF_QUOTA;
            break;
        }
        if (w->ndeferred >= cfg->max_deferred && c->state == CONN_HEAD) {
            /* As many deferred responses in flight as allowed: the rest
             * waits, unread, until one of them ends. */
            c->flags |= CF_PENDING_INPUT;
            if (!(c->flags & CF_CAP_WAIT)) {
                c->flags |= CF_CAP_WAIT;
                w->cap_wait[w->ncap_wait++] = c->idx;
            }
            break;
        }
        char *p = buf + off;
        size_t avail = *len - off;
        int fresh = c->state == CONN_HEAD;
        if (fresh && head_still_incomplete(w, c, p, avail)) break;
        int rc = chopin_parse_request(p, avail, &req, w->headers, cfg->max_headers, &w->limits);
        if (rc == CHOPIN_PARSE_INCOMPLETE) {
            c->head_scan = c->head_parsed = (uint32_t)avail;
            break;
        }
        c->head_scan = c->head_parsed = 0;
        if (rc < 0) {
            CHOPIN_COUNT(w, parse_errors, 1);
            chopin__conn_fail(w, c, chopin_parse_error_status(rc));
            return *len;
        }
        size_t head = (size_t)rc;
        size_t total = head;
        req.body = (chopin_slice){p + head, 0};
        req.body_streamed = 0;
        if (fresh && req.framing != CHOPIN_FRAMING_NONE && cfg->body_stream &&
            cfg->body_stream(cfg->handler_ctx, &req)) {
            size_t used;
            if (dispatch_streamed(w, c, &req, p + head, avail - head, &used) < 0) return *len;
            handled++;
            off += head + used;
            continue;
        }

        if (req.framing == CHOPIN_FRAMING_LENGTH) {
            if (req.content_length > cfg->max_body) {
                /* Said before a byte of the body is read. */
                chopin__conn_fail(w, c, 413);
                return *len;
            }
            if (avail - head < req.content_length) goto need_body;
            req.body.len = (size_t)req.content_length;
            total += (size_t)req.content_length;
        } else if (req.framing == CHOPIN_FRAMING_CHUNKED) {
            if (fresh) {
                memset(&c->chunk, 0, sizeof c->chunk);
                c->chunk.max_body = cfg->max_body;
                c->chunk.max_ext = cfg->max_chunk_ext;
                c->chunk.max_trailer = cfg->max_trailer;
            }
            int dr = chopin_chunked_decode(&c->chunk, p + head, avail - head);
            if (dr == CHOPIN_CHUNKED_INCOMPLETE) {
                /* Close the gap between decoded body and raw bytes, so
                 * what is kept for later is just head + body + raw rest. */
                size_t gap = c->chunk.pos - (size_t)c->chunk.decoded;
                if (gap) {
                    char *dst = p + head + c->chunk.decoded;
                    memmove(dst, dst + gap, avail - head - c->chunk.pos);
                    *len -= gap;
                    c->chunk.pos = (size_t)c->chunk.decoded;
                }
                goto need_body;
            }
            if (dr < 0) {
                CHOPIN_COUNT(w, parse_errors, 1);
                chopin__conn_fail(w, c, -dr);
                return *len;
            }
            req.body.len = (size_t)c->chunk.decoded;
            total += c->chunk.pos;
        }

        int last = dispatch(w, c, &req);
        handled++;
        if (!chopin__conn_open_p(c)) return *len;
        c->timer = TK_NONE; /* the next request's header clock starts now, not with this one */
        off += total;
        c->flags &= (uint16_t)~CF_CONTINUE_SENT;
        if (last) {
            chopin__conn_close_after_response(w, c, off < *len);
            return *len;
        }
        continue;

    need_body:
        if (fresh) {
            c->state = CONN_BODY;
            c->timer = TK_NONE; /* the body timer starts now */
        }
        if (req.expect_continue && !(c->flags & CF_CONTINUE_SENT)) {
            /* The client waits for this before sending the body. */
            chopin__buf_append(&c->out, &w->pool, continue_line, sizeof continue_line - 1);
            c->flags |= CF_CONTINUE_SENT;
        }
        break;
    }
    return off;
}

/* Handles the requests kept in `in`. */
void chopin__conn_process_kept_input(chopin_worker *w, chopin_conn *c) {
    size_t n = c->in.len;
    size_t used = chopin__conn_process(w, c, c->in.data, &n);
    c->in.len = (uint32_t)n;
    chopin__buf_consume(&c->in, used);
}

/* Limit on what a connection may hold unprocessed: one whole request plus
 * one more read's worth. Past it the client is not following the protocol. */
static size_t max_input(const chopin_worker *w) {
    return (size_t)w->cfg->max_head_bytes + (size_t)w->cfg->max_body + 65536;
}

/* Keeps bytes for later in `in`; closes the connection (and returns -1)
 * past the input limit or out of memory. */
int chopin__conn_keep_input(chopin_worker *w, chopin_conn *c, const char *data, size_t len) {
    if ((size_t)c->in.len + len > max_input(w) || chopin__buf_append(&c->in, &w->pool, data, len) < 0) {
        chopin__conn_close(w, c);
        return -1;
    }
    return 0;
}

/* A streamed body that cannot complete (bad framing, over its limit, stalled,
 * the client half-closed): its consumer hears why; a handler still working
 * is cancelled and the client gets the status; a handler that already
 * answered keeps its answer. Either way the connection ends after it. */
void chopin__conn_body_failed(chopin_worker *w, chopin_conn *c, int status) {
    chopin__body_deliver(c, NULL, 0, -status);
    c->flags &= (uint16_t)~(CF_BODY_STREAM | CF_BODY_FULL);
    if (status == 400) CHOPIN_COUNT(w, parse_errors, 1);
    chopin_deferred *d = c->state == CONN_DEFERRED ? c->deferral : NULL;
    if (d && d->streaming) {
        /* Its head is out: no status can follow. */
        chopin__conn_close(w, c);
        return;
    }
    c->in.len = 0;
    if (d) {
        c->deferral = NULL;
        chopin__deferral_abandon(w, d);
        chopin__conn_fail(w, c, status);
        return;
    }
    chopin__conn_close_after_response(w, c, 1);
}

/* ---- a body streamed to its handler ---------------------------------------- */

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
