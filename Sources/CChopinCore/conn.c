/* conn.c - one connection's HTTP/1.1 life: bytes in, requests framed and
 * handed to the handler, responses out, keep-alive, backpressure, timeouts.
 *
 * Both backends drive it through the same few calls (chopin__conn_data,
 * chopin__conn_sent, chopin__conn_eof), so the protocol lives in one place.
 * Requests are parsed where the bytes landed; only an unfinished tail is
 * copied into the connection's own buffer. */
#include "internal.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char continue_line[] = "HTTP/1.1 100 Continue\r\n\r\n";

static size_t pending_output(const chopin_conn *c) { return (size_t)c->out.len + (c->tx.len - c->tx.off); }

static void count_status(chopin_worker *w, int status) {
    if (status >= 500)
        CHOPIN_COUNT(w, responses_5xx, 1);
    else if (status >= 400)
        CHOPIN_COUNT(w, responses_4xx, 1);
}

/* Answers a request that cannot be served (bad framing, limits, timeouts)
 * and closes once it is sent: nothing after it on this connection counts. */
static void fail(chopin_worker *w, chopin_conn *c, int status) {
    chopin_response res;
    chopin__response_init(&res, &c->out, &w->pool, w->date, 0, 1, 0);
    chopin__response_error(&res, status);
    count_status(w, status);
    c->state = CONN_CLOSING;
    c->flags |= CF_CLOSE_AFTER_TX;
}

static void dispatch(chopin_worker *w, chopin_conn *c, const chopin_request *req) {
    chopin_response res;
    int close = !req->keep_alive || w->stopping;
    int keep_alive_10 = req->version_minor == 0 && !close;
    chopin__response_init(&res, &c->out, &w->pool, w->date, req->method == CHOPIN_METHOD_HEAD, close, keep_alive_10);
    res.worker = w;
    res.conn_idx = c->idx;
    res.conn_gen = c->gen;
    w->cfg->handler(w->cfg->handler_ctx, req, &res);
    c->requests++;
    CHOPIN_COUNT(w, requests, 1);
    if (res.deferred) {
        /* Later pipelined requests wait in `in` until the answer comes back. */
        c->state = CONN_DEFERRED;
        return;
    }
    chopin__response_finish(&res);
    count_status(w, res.status);
    if (res.close) {
        c->state = CONN_CLOSING;
        c->flags |= CF_CLOSE_AFTER_TX;
    }
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
 * early when the connection closes, a response is deferred, or a client
 * that does not read has too much output queued. */
static size_t process(chopin_worker *w, chopin_conn *c, char *buf, size_t *len) {
    const chopin_config *cfg = w->cfg;
    size_t off = 0;
    uint32_t handled = 0;
    chopin_request req;

    c->flags &= ~CF_PENDING_INPUT;
    while (off < *len && (c->state == CONN_HEAD || c->state == CONN_BODY)) {
        if (pending_output(c) > cfg->max_pending_output) {
            c->flags |= CF_PENDING_INPUT;
            break;
        }
        if (handled == cfg->max_pipelined) {
            /* Fairness: the rest waits for the next loop turn. */
            c->flags |= CF_PENDING_INPUT | CF_QUOTA;
            break;
        }
        char *p = buf + off;
        size_t avail = *len - off;
        int fresh = c->state == CONN_HEAD;
        c->flags |= CF_STARTED;
        if (fresh && head_still_incomplete(w, c, p, avail)) break;
        int rc = chopin_parse_request(p, avail, &req, w->headers, cfg->max_headers, &w->limits);
        if (rc == CHOPIN_PARSE_INCOMPLETE) {
            c->head_scan = c->head_parsed = (uint32_t)avail;
            break;
        }
        c->head_scan = c->head_parsed = 0;
        if (rc < 0) {
            CHOPIN_COUNT(w, parse_errors, 1);
            fail(w, c, chopin_parse_error_status(rc));
            return *len;
        }
        size_t head = (size_t)rc;
        size_t total = head;
        req.body = (chopin_slice){p + head, 0};

        if (req.framing == CHOPIN_FRAMING_LENGTH) {
            if (req.content_length > cfg->max_body) {
                /* Said before a byte of the body is read. */
                fail(w, c, 413);
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
                fail(w, c, -dr);
                return *len;
            }
            req.body.len = (size_t)c->chunk.decoded;
            total += c->chunk.pos;
        }

        dispatch(w, c, &req);
        handled++;
        c->timer = TK_NONE; /* the next request's header clock starts now, not with this one */
        off += total;
        c->flags &= ~(CF_STARTED | CF_CONTINUE_SENT);
        if (c->state == CONN_BODY) c->state = CONN_HEAD;
        if (c->state == CONN_DEFERRED) c->flags |= CF_PENDING_INPUT;
        if (c->state == CONN_CLOSING) return *len;
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

static void set_timer(chopin_worker *w, chopin_conn *c, timer_kind k, uint32_t ms, int restart) {
    if (c->timer == k && !restart) return;
    c->timer = (uint8_t)k;
    chopin__wheel_set(&w->wheel, c->idx, w->now_ms + ms);
}

/* Arms the one deadline that matters for what the connection waits on. */
static void arm_timer(chopin_worker *w, chopin_conn *c) {
    const chopin_config *cfg = w->cfg;
    if (c->flags & CF_SENDING)
        set_timer(w, c, TK_WRITE, cfg->write_timeout_ms, 0);
    else if (c->state == CONN_DEFERRED) {
        c->timer = TK_NONE; /* the handler owns the clock */
        chopin__wheel_cancel(&w->wheel, c->idx);
    } else if (c->state == CONN_BODY)
        set_timer(w, c, TK_BODY, cfg->body_timeout_ms, 0);
    else if (c->in.len > 0 || c->requests == 0)
        set_timer(w, c, TK_HEADER, cfg->header_timeout_ms, 0);
    else
        set_timer(w, c, TK_IDLE, cfg->idle_timeout_ms, 1);
}

/* Hands queued responses to the backend: all the responses of one read
 * leave in one send. Returns -1 when the connection closed. */
static int flush(chopin_worker *w, chopin_conn *c) {
    while (!(c->flags & CF_SENDING) && c->out.len > 0) {
        chopin_buf t = c->tx;
        c->tx = c->out;
        c->tx.off = 0;
        c->out = t;
        c->out.len = c->out.off = 0;
        c->flags |= CF_SENDING;
        c->timer = TK_NONE; /* a new send: the stall clock restarts */
        int rc = w->ops->send(w, c);
        if (rc == CHOPIN_SEND_PENDING) return 0;
        c->flags &= ~CF_SENDING;
        if (rc < 0) {
            chopin__conn_close(w, c);
            return -1;
        }
        CHOPIN_COUNT(w, bytes_out, c->tx.len);
        c->tx.len = c->tx.off = 0;
    }
    return 0;
}

static int idle(const chopin_conn *c) {
    return c->state == CONN_HEAD && c->in.len == 0 && c->out.len == 0 && !(c->flags & CF_SENDING);
}

/* Brings a connection to rest after any event: sends what is queued, closes
 * when it should, applies or lifts backpressure, picks up requests left in
 * `in`, gives idle buffers back, and arms the right timer. */
static void settle(chopin_worker *w, chopin_conn *c) {
    for (;;) {
        if (!(c->flags & CF_OPEN)) return;
        if (flush(w, c) < 0) return;
        if ((c->flags & CF_CLOSE_AFTER_TX) && !(c->flags & (CF_SENDING | CF_PENDING_INPUT)) && c->out.len == 0) {
            chopin__conn_close(w, c);
            return;
        }
        if ((c->flags & CF_PENDING_INPUT) && !(c->flags & CF_QUOTA) &&
            (c->state == CONN_HEAD || c->state == CONN_BODY) && pending_output(c) <= w->cfg->max_pending_output) {
            size_t n = c->in.len;
            size_t used = process(w, c, c->in.data, &n);
            c->in.len = (uint32_t)n;
            chopin__buf_consume(&c->in, used);
            continue;
        }
        break;
    }
    if (w->stopping && idle(c)) {
        chopin__conn_close(w, c);
        return;
    }
    if ((c->flags & CF_QUOTA) && !(c->flags & CF_READY)) {
        c->flags |= CF_READY;
        w->ready[w->nready++] = c->idx;
    }
    /* Reads pause while a response is deferred, output backs up, or complete
     * requests already wait in `in`: memory stays bounded per connection. */
    int want_pause = c->state == CONN_DEFERRED || pending_output(c) > w->cfg->max_pending_output ||
                     c->state == CONN_CLOSING || (c->flags & CF_PENDING_INPUT);
    if (want_pause && !(c->flags & CF_READ_PAUSED)) {
        c->flags |= CF_READ_PAUSED;
        w->ops->read_pause(w, c);
    } else if (!want_pause && (c->flags & CF_READ_PAUSED)) {
        c->flags &= ~CF_READ_PAUSED;
        w->ops->read_resume(w, c);
    }
    if (c->in.len == 0 && c->in.data) chopin__buf_release(&c->in, &w->pool);
    if (c->out.len == 0 && c->out.data) chopin__buf_release(&c->out, &w->pool);
    if (!(c->flags & CF_SENDING) && c->tx.data) chopin__buf_release(&c->tx, &w->pool);
    arm_timer(w, c);
}

void chopin__conn_open(chopin_worker *w, chopin_conn *c, int fd) {
    uint32_t idx = c->idx, gen = c->gen;
    memset(c, 0, sizeof *c);
    c->idx = idx;
    c->gen = gen;
    c->fd = fd;
    c->flags = CF_OPEN;
    c->state = CONN_HEAD;
    arm_timer(w, c);
}

/* Limit on what a connection may hold unprocessed: one whole request plus
 * one more read's worth. Past it the client is not following the protocol. */
static size_t max_input(const chopin_worker *w) {
    return (size_t)w->cfg->max_head_bytes + (size_t)w->cfg->max_body + 65536;
}

void chopin__conn_data(chopin_worker *w, chopin_conn *c, char *data, size_t len) {
    if (!(c->flags & CF_OPEN)) return;
    CHOPIN_COUNT(w, bytes_in, len);
    if (c->state == CONN_CLOSING) return; /* after an error nothing more is processed */
    if (c->state == CONN_DEFERRED || (c->flags & CF_PENDING_INPUT)) {
        /* Reads are pausing; keep what already arrived, in order. */
        if ((size_t)c->in.len + len > max_input(w) || chopin__buf_append(&c->in, &w->pool, data, len) < 0) {
            chopin__conn_close(w, c);
            return;
        }
        settle(w, c);
        return;
    }
    if (c->in.len == 0) {
        size_t n = len;
        size_t used = process(w, c, data, &n);
        if (used < n && c->state != CONN_CLOSING && chopin__buf_append(&c->in, &w->pool, data + used, n - used) < 0) {
            chopin__conn_close(w, c);
            return;
        }
    } else {
        if ((size_t)c->in.len + len > max_input(w) || chopin__buf_append(&c->in, &w->pool, data, len) < 0) {
            chopin__conn_close(w, c);
            return;
        }
        size_t n = c->in.len;
        size_t used = process(w, c, c->in.data, &n);
        c->in.len = (uint32_t)n;
        chopin__buf_consume(&c->in, used);
    }
    if (c->state == CONN_CLOSING) c->in.len = 0;
    settle(w, c);
}

void chopin__conn_eof(chopin_worker *w, chopin_conn *c, int err) {
    if (!(c->flags & CF_OPEN)) return;
    if (err == 0 &&
        (c->state == CONN_DEFERRED || (c->flags & CF_SENDING) || c->out.len > 0 || (c->flags & CF_PENDING_INPUT))) {
        /* Half-closed by the client: it may still read what it asked for. */
        c->flags |= CF_CLOSE_AFTER_TX;
        if (c->state != CONN_DEFERRED && !(c->flags & CF_PENDING_INPUT)) c->state = CONN_CLOSING;
        settle(w, c);
        return;
    }
    chopin__conn_close(w, c);
}

void chopin__conn_sent(chopin_worker *w, chopin_conn *c, int err) {
    c->flags &= ~CF_SENDING;
    if (!(c->flags & CF_OPEN)) return;
    if (err) {
        chopin__conn_close(w, c);
        return;
    }
    CHOPIN_COUNT(w, bytes_out, c->tx.len);
    c->tx.len = c->tx.off = 0;
    settle(w, c);
}

void chopin__conn_timeout(chopin_worker *w, chopin_conn *c) {
    if (!(c->flags & CF_OPEN)) return;
    timer_kind k = (timer_kind)c->timer;
    c->timer = TK_NONE;
    CHOPIN_COUNT(w, timeouts, 1);
    if ((k == TK_HEADER && c->in.len > 0) || k == TK_BODY) {
        /* A request had begun: say why it ends (RFC 9110 section 15.5.9). */
        c->in.len = 0;
        fail(w, c, 408);
        settle(w, c);
        return;
    }
    chopin__conn_close(w, c);
}

void chopin__conn_deferred_done(chopin_worker *w, chopin_conn *c, chopin_deferred *d) {
    if (!(c->flags & CF_OPEN) || c->state != CONN_DEFERRED) return;
    count_status(w, d->res.status);
    const char *bytes = d->buf.data;
    size_t len = d->buf.len;
    size_t head = len;
    if (w->stopping && !d->res.close) {
        /* Written before the stop began: it must still say close. */
        const char *end = memmem(bytes, len, "\r\n\r\n", 4);
        if (end) head = (size_t)(end - bytes) + 2;
        d->res.close = 1;
    }
    static const char close_line[] = "Connection: close\r\n";
    if (chopin__buf_append(&c->out, &w->pool, bytes, head) < 0 ||
        (head < len && (chopin__buf_append(&c->out, &w->pool, close_line, sizeof close_line - 1) < 0 ||
                        chopin__buf_append(&c->out, &w->pool, bytes + head, len - head) < 0))) {
        chopin__conn_close(w, c);
        return;
    }
    if (d->res.close) {
        c->state = CONN_CLOSING;
        c->flags |= CF_CLOSE_AFTER_TX;
        c->flags &= ~CF_PENDING_INPUT;
    } else {
        c->state = CONN_HEAD;
    }
    settle(w, c);
}

void chopin__conn_resume(chopin_worker *w, chopin_conn *c) {
    if (c->flags & CF_OPEN) settle(w, c);
}

void chopin__conn_drain(chopin_worker *w, chopin_conn *c) {
    if (!(c->flags & CF_OPEN)) return;
    if (idle(c)) chopin__conn_close(w, c);
    /* Otherwise the response under way carries Connection: close
     * (w->stopping) and settle() closes once it is sent. */
}

void chopin__conn_close(chopin_worker *w, chopin_conn *c) {
    if (!(c->flags & CF_OPEN)) return;
    c->flags = (uint16_t)((c->flags & ~CF_OPEN) | CF_DEAD);
    c->state = CONN_CLOSING;
    c->timer = TK_NONE;
    chopin__wheel_cancel(&w->wheel, c->idx);
    CHOPIN_COUNT(w, closed, 1);
    w->ops->close(w, c);
}

void chopin__conn_release(chopin_worker *w, chopin_conn *c) {
    chopin__buf_release(&c->in, &w->pool);
    chopin__buf_release(&c->out, &w->pool);
    chopin__buf_release(&c->tx, &w->pool);
    c->flags = 0;
    c->fd = -1;
    chopin__slab_free(&w->slab, c->idx);
    c->gen = chopin__slab_gen(&w->slab, c->idx);
    if (w->accept_full && !w->stopping) {
        w->accept_full = 0;
        w->ops->accept_start(w);
    }
}
