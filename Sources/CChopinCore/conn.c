/* conn.c - one connection's HTTP/1.1 life: bytes in, requests framed and
 * handed to the handler, responses out, keep-alive, backpressure, timeouts,
 * lingering close.
 *
 * Both backends drive it through the same few calls (chopin__conn_data,
 * chopin__conn_send_ready, chopin__conn_eof), and only this file changes a
 * connection's state, so the protocol lives in one place. Requests are parsed
 * where the bytes landed; only an unfinished tail is copied into the
 * connection's own buffer.
 *
 * States (enum conn_state) and the transitions between them:
 *
 *   HEAD --head parsed, body incomplete--> BODY --body complete--> handler
 *   HEAD --head parsed, body_stream hook says so--> handler, then the body
 *        arrives piece by piece beside DEFERRED or HEAD (CF_BODY_STREAM)
 *   handler --deferred--> DEFERRED --answer arrives--> HEAD
 *   handler --answered--> HEAD (keep-alive) | CLOSING (last response)
 *   any --bad input, limit, 408--> CLOSING (close_after_response)
 *   handler --deferred as a WebSocket--> WEBSOCKET (101 queued; frames both ways,
 *        websocket_conn.c) --a close either way, a protocol error--> CLOSING
 *   CLOSING --sent--> LINGER (unread input may follow) | closed
 *   LINGER --client closes, linger limits--> closed
 *   closed --backend done with it--> FREE (chopin__conn_release) */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char continue_line[] = "HTTP/1.1 100 Continue\r\n\r\n";

static size_t pending_output(const chopin_conn *c) {
    size_t file = (c->flags & CF_FILE) ? (c->file_left > SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t)c->file_left) : 0;
    return (size_t)c->out.len + (c->tx.len - c->tx.off) + file;
}
static int output_queued(const chopin_conn *c) { return c->out.len > 0 || (c->flags & (CF_SENDING | CF_FILE)); }

/* ---- timers ------------------------------------------------------------------ */

static void set_timer(chopin_worker *w, chopin_conn *c, timer_kind k, uint32_t ms, int restart) {
    if (c->timer == k && !restart) return;
    c->timer = (uint8_t)k;
    chopin__wheel_set(&w->wheel, c->idx, w->now_ms + ms);
}

/* Arms the one deadline that matters for what the connection waits on. */
static void arm_timer(chopin_worker *w, chopin_conn *c) {
    const chopin_config *cfg = w->cfg;
    if (c->flags & CF_SENDING) {
        set_timer(w, c, TK_WRITE, cfg->write_timeout_ms, 0); /* restarted by each send's progress */
        return;
    }
    if ((c->flags & (CF_BODY_STREAM | CF_BODY_FULL)) == CF_BODY_STREAM) {
        set_timer(w, c, TK_BODY, cfg->body_timeout_ms, 0); /* restarted by each piece */
        return;
    }
    switch (c->state) {
    case CONN_DEFERRED: set_timer(w, c, TK_DEFERRED, cfg->deferred_timeout_ms, 0); break;
    case CONN_BODY: set_timer(w, c, TK_BODY, cfg->body_timeout_ms, 0); break;
    case CONN_LINGER: set_timer(w, c, TK_LINGER, cfg->linger_timeout_ms, 0); break;
    case CONN_WEBSOCKET: set_timer(w, c, TK_IDLE, cfg->idle_timeout_ms, 0); break; /* restarted by input */
    default:
        if (c->in.len > 0 || c->requests == 0)
            set_timer(w, c, TK_HEADER, cfg->header_timeout_ms, 0);
        else
            set_timer(w, c, TK_IDLE, cfg->idle_timeout_ms, 1);
    }
}

/* ---- transitions ---------------------------------------------------------------- */

/* The last response is queued: whatever the client sends from now on is
 * discarded, and the connection closes once the response is out. With
 * `linger`, request bytes may still be on their way (an error mid-request,
 * pipelined requests left unanswered): the close lingers so that the client
 * reads the response instead of a reset. */
static void close_after_response(chopin_worker *w, chopin_conn *c, int linger) {
    c->state = CONN_CLOSING;
    c->flags &= (uint16_t)~(CF_PENDING_INPUT | CF_BODY_STREAM | CF_BODY_FULL);
    if (linger && w->cfg->linger_timeout_ms) c->flags |= CF_LINGER;
    c->discarded = 0;
}

/* Answers a request that cannot be served (bad framing, limits, timeouts)
 * and closes once it is sent: nothing after it on this connection counts. */
static void fail(chopin_worker *w, chopin_conn *c, int status) {
    chopin_response res;
    chopin__response_init(&res, &c->out, &w->pool, w->date, 0, 1, 0);
    chopin__response_error(&res, status);
    chopin__metrics_status(w, status);
    close_after_response(w, c, 1);
}

/* CLOSING, response sent: linger, or close. Returns 0 when the connection
 * closed. */
static int end_closing(chopin_worker *w, chopin_conn *c) {
    if (!(c->flags & CF_LINGER) || (c->flags & CF_PEER_DONE) || c->discarded > w->cfg->max_linger_bytes) {
        chopin__conn_close(w, c);
        return 0;
    }
    /* The FIN goes after the response; the client's late bytes are read and dropped. */
    shutdown(c->fd, SHUT_WR);
    c->state = CONN_LINGER;
    return 1;
}

/* Bytes that arrive after the last response was queued. */
static void discard(chopin_worker *w, chopin_conn *c, size_t len) {
    c->discarded = len > UINT32_MAX - c->discarded ? UINT32_MAX : c->discarded + (uint32_t)len;
    if (c->state == CONN_LINGER && c->discarded > w->cfg->max_linger_bytes) chopin__conn_close(w, c);
}

/* ---- requests -------------------------------------------------------------------- */

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
        /* The connection leaves HTTP: whatever follows the request is frames. */
        c->deferral = res.deferral;
        c->deferral->started_ms = w->now_ms;
        if (chopin__ws_begin(w, c, c->deferral) < 0) {
            chopin__conn_close(w, c);
            return 1;
        }
        c->state = CONN_WEBSOCKET;
        c->timer = TK_NONE;
        /* An open WebSocket is a connection, bounded by max_connections and
         * its own buffers; held against max_deferred, a few hundred idle
         * sockets would leave every async request waiting unread. */
        c->deferral->uncounted = 1;
        w->ndeferred--;
        chopin__worker_capacity_freed(w);
        chopin__metrics_answered(w, 101, w->now_ms);
        return 0;
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
    if (res.file_fd >= 0) {
        /* Its file follows the head; later requests wait until it is out. */
        c->file_fd = res.file_fd;
        c->file_off = res.file_off;
        c->file_left = res.file_len;
        c->flags |= CF_FILE;
    }
    c->state = CONN_HEAD;
    return res.close;
}

static void body_failed(chopin_worker *w, chopin_conn *c, int status);

/* A request whose body is taken as a stream: the handler runs now, then
 * gets the body bytes already here (rest[0..n)); *used says how many were
 * the body's. Returns -1 when the connection stops taking requests (its
 * last response, a failed body). */
static int dispatch_streamed(chopin_worker *w, chopin_conn *c, chopin_request *req, char *rest, size_t n,
                             size_t *used) {
    *used = 0;
    if (req->framing == CHOPIN_FRAMING_LENGTH && req->content_length > w->cfg->max_streamed_body) {
        fail(w, c, 413); /* said before a byte of the body is read */
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
        close_after_response(w, c, 1);
        return -1;
    }
    int status;
    *used = chopin__body_feed(w, c, rest, n, &status);
    if (status < 0) {
        body_failed(w, c, -status);
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
static size_t process(chopin_worker *w, chopin_conn *c, char *buf, size_t *len) {
    const chopin_config *cfg = w->cfg;
    size_t off = 0;
    uint32_t handled = 0;
    chopin_request req;

    c->flags &= (uint16_t)~CF_PENDING_INPUT;
    while (off < *len && (c->state == CONN_HEAD || c->state == CONN_BODY)) {
        if ((c->flags & CF_FILE) || pending_output(c) > cfg->max_pending_output) {
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
            fail(w, c, chopin_parse_error_status(rc));
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

        int last = dispatch(w, c, &req);
        handled++;
        if (!chopin__conn_open_p(c)) return *len;
        c->timer = TK_NONE; /* the next request's header clock starts now, not with this one */
        off += total;
        c->flags &= (uint16_t)~CF_CONTINUE_SENT;
        if (last) {
            close_after_response(w, c, off < *len);
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
static void process_kept_input(chopin_worker *w, chopin_conn *c) {
    size_t n = c->in.len;
    size_t used = process(w, c, c->in.data, &n);
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
static int keep_input(chopin_worker *w, chopin_conn *c, const char *data, size_t len) {
    if ((size_t)c->in.len + len > max_input(w) || chopin__buf_append(&c->in, &w->pool, data, len) < 0) {
        chopin__conn_close(w, c);
        return -1;
    }
    return 0;
}

/* ---- output ------------------------------------------------------------------------ */

/* n more bytes of tx left; clears CF_SENDING when all of them did. Progress
 * restarts the write timer: it measures a stall, not a whole response. */
static void sent(chopin_worker *w, chopin_conn *c, size_t n) {
    c->tx.off += (uint32_t)n;
    if (c->tx.off < c->tx.len) {
        if (n) set_timer(w, c, TK_WRITE, w->cfg->write_timeout_ms, 1);
        return;
    }
    c->flags &= (uint16_t)~CF_SENDING;
    CHOPIN_COUNT(w, bytes_out, c->tx.len);
    c->tx.len = c->tx.off = 0;
}

/* Gives the rest of tx to the backend. Returns -1 when the connection closed. */
static int send_more(chopin_worker *w, chopin_conn *c) {
    long n = w->ops->send(w, c);
    if (n < 0) {
        chopin__conn_close(w, c);
        return -1;
    }
    sent(w, c, (size_t)n);
    return 0;
}

static void file_done(chopin_conn *c) {
    if (!(c->flags & CF_FILE)) return;
    close(c->file_fd);
    c->file_fd = -1;
    c->flags &= (uint16_t)~CF_FILE;
}

/* The next part of a file body. With the backend's send_file, straight from
 * the page cache (CF_SENDING while the socket is full, so the write timer
 * runs and send_ready comes); otherwise read into tx and sent like any
 * other bytes. Returns -1 when the connection closed. */
static int send_file_part(chopin_worker *w, chopin_conn *c) {
    long n;
    if (w->ops->send_file) {
        n = w->ops->send_file(w, c);
        if (n > 0) {
            c->file_off += (uint64_t)n;
            c->file_left -= (uint64_t)n;
            CHOPIN_COUNT(w, bytes_out, (uint64_t)n);
            set_timer(w, c, TK_WRITE, w->cfg->write_timeout_ms, 1); /* progress */
        }
        if (n >= 0 && c->file_left > 0) c->flags |= CF_SENDING; /* waits for room */
    } else {
        n = chopin__file_read_part(w, c);
        if (n > 0) {
            c->file_off += (uint64_t)n;
            c->file_left -= (uint64_t)n;
            c->flags |= CF_SENDING;
            c->timer = TK_NONE; /* a new send: the stall clock restarts */
            if (send_more(w, c) < 0) return -1;
        } else if (n == 0) {
            n = -EIO; /* the file shrank: the promised length cannot be kept */
        }
    }
    if (n < 0) {
        chopin__conn_close(w, c);
        return -1;
    }
    if (c->file_left == 0) file_done(c);
    return 0;
}

/* The queued responses (out) become the send under way (tx); the old tx
 * buffer, empty now, is kept as the next out. Returns -1 when the
 * connection closed. */
static inline int send_out(chopin_worker *w, chopin_conn *c) {
    chopin_buf t = c->tx;
    c->tx = c->out;
    c->tx.off = 0;
    c->out = t;
    c->out.len = c->out.off = 0;
    c->flags |= CF_SENDING;
    c->timer = TK_NONE; /* a new send: the stall clock restarts */
    return send_more(w, c);
}

/* Hands queued responses to the backend: all the responses of one read
 * leave in one send, then the file body that follows them, if any.
 * Returns -1 when the connection closed. */
static int flush(chopin_worker *w, chopin_conn *c) {
    while (!(c->flags & CF_SENDING)) {
        if (c->out.len > 0) {
            if (send_out(w, c) < 0) return -1;
        } else if (c->flags & CF_FILE) {
            if (send_file_part(w, c) < 0) return -1;
        } else {
            break;
        }
    }
    return 0;
}

/* ---- bringing a connection to rest ------------------------------------------------------ */

static int idle(const chopin_conn *c) { return c->state == CONN_HEAD && c->in.len == 0 && !output_queued(c); }

/* A half-closed client that has nothing left to be answered. */
static int peer_done_and_answered(const chopin_conn *c) {
    return (c->flags & CF_PEER_DONE) && (c->state == CONN_HEAD || c->state == CONN_BODY) &&
           !(c->flags & CF_PENDING_INPUT) && !output_queued(c);
}

static int can_take_kept_input(const chopin_worker *w, const chopin_conn *c) {
    return (c->flags & CF_PENDING_INPUT) && !(c->flags & (CF_QUOTA | CF_CAP_WAIT | CF_FILE)) &&
           (c->state == CONN_HEAD || c->state == CONN_BODY) && pending_output(c) <= w->cfg->max_pending_output;
}

/* Reads pause while a response is deferred or closing, output backs up,
 * complete requests already wait in `in`, or the client said it is done:
 * memory stays bounded per connection (a streamed body is read while its
 * consumer keeps up). While a deferred handler works for a
 * client with nothing more to ask, the backend still watches for its FIN, so
 * that a client that leaves cancels the handler. Returns -1 when the
 * connection closed. */
static int apply_read_interest(chopin_worker *w, chopin_conn *c) {
    /* A streamed body is read while its consumer keeps up, deferred or not. */
    int body_wanted = (c->flags & (CF_BODY_STREAM | CF_BODY_FULL)) == CF_BODY_STREAM;
    int want_pause = !body_wanted && (c->state == CONN_DEFERRED || c->state == CONN_CLOSING ||
                                      pending_output(c) > w->cfg->max_pending_output ||
                                      (c->flags & (CF_PENDING_INPUT | CF_PEER_DONE)));
    if (c->state == CONN_WEBSOCKET)
        want_pause = (c->flags & (CF_BODY_FULL | CF_PEER_DONE)) || pending_output(c) > w->cfg->max_pending_output;
    int want_watch =
        want_pause && c->state == CONN_DEFERRED && c->in.len == 0 && !(c->flags & (CF_PEER_DONE | CF_HUP_SEEN));
    int paused = !!(c->flags & CF_READ_PAUSED), watching = !!(c->flags & CF_WATCH_HUP);
    int rc = 0;
    if (want_pause && (!paused || want_watch != watching)) {
        c->flags = (uint16_t)((c->flags | CF_READ_PAUSED) & ~CF_WATCH_HUP);
        if (want_watch) c->flags |= CF_WATCH_HUP;
        rc = w->ops->read_pause(w, c);
    } else if (!want_pause && paused) {
        c->flags &= (uint16_t)~(CF_READ_PAUSED | CF_WATCH_HUP);
        rc = w->ops->read_resume(w, c);
    }
    if (rc < 0) {
        chopin__log("chopin: worker %u: cannot %s reads of a connection: %s; closing it", w->id,
                    want_pause ? "pause" : "resume", strerror(-rc));
        chopin__conn_close(w, c);
        return -1;
    }
    return 0;
}

/* Reads follow the connection's state, except that a deferral's pause waits
 * for the end of the turn: an async handler that awaits nothing answers in
 * this very turn (the worker_turn hook), and pausing now only to resume then
 * would cost two epoll_ctl calls (or a cancel and a re-armed recv) per
 * request. Until then nothing more is read for the connection on epoll (one
 * read per readiness event), and io_uring's bytes already on their way are
 * kept in `in`, as they are when paused. */
static int follow_read_interest(chopin_worker *w, chopin_conn *c) {
    if (c->state == CONN_DEFERRED && !(c->flags & CF_READ_PAUSED) && !(c->flags & CF_BODY_STREAM)) {
        if (!c->interest_due) {
            c->interest_due = 1;
            w->interest_due[w->ninterest_due++] = c->idx;
        }
        return 0;
    }
    return apply_read_interest(w, c);
}

void chopin__conn_follow_due_interest(chopin_worker *w) {
    uint32_t n = w->ninterest_due;
    w->ninterest_due = 0;
    for (uint32_t i = 0; i < n; i++) {
        chopin_conn *c = &w->conns[w->interest_due[i]];
        c->interest_due = 0;
        if (chopin__conn_open_p(c)) apply_read_interest(w, c);
    }
}

void chopin__conn_hangup(chopin_worker *w, chopin_conn *c) {
    if (!chopin__conn_open_p(c) || !(c->flags & CF_WATCH_HUP)) return;
    char b;
    ssize_t n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        /* Gone, with nothing more asked: nobody will read the answer. */
        chopin__conn_close(w, c);
        return;
    }
    /* More requests came before the FIN (a half-closed client that still
     * reads): they are read, and the FIN after them, once the deferred
     * answer is out. */
    c->flags |= CF_HUP_SEEN;
    follow_read_interest(w, c);
}

/* A stream that waited may write again once its client has read half of
 * what was queued. */
static void stream_drained(chopin_worker *w, chopin_conn *c) {
    if (!(c->flags & CF_STREAM_FULL) || pending_output(c) > w->cfg->max_pending_output / 2) return;
    c->flags &= (uint16_t)~CF_STREAM_FULL;
    chopin_deferred *d = c->deferral;
    if (d && d->drain) d->drain(d->arg);
}

/* ---- WebSocket ---------------------------------------------------------------------------- */

/* The WebSocket ends from this side (the handler's close frame, an error,
 * silence): the handler's side hears nothing more from the client. With
 * `linger`, the client's own close is awaited (read and dropped) after ours. */
static void settle(chopin_worker *w, chopin_conn *c);

static void ws_stop(chopin_worker *w, chopin_conn *c, int linger) {
    chopin_deferred *d = c->deferral;
    if (d) {
        c->deferral = NULL;
        chopin__deferral_abandon(w, d);
    }
    c->in.len = 0;
    c->flags &= (uint16_t)~CF_STREAM_FULL;
    close_after_response(w, c, linger);
}

/* Frames in data[0..len); the rest, when the handler's side asked to wait, kept in `in`. */
static void ws_frames(chopin_worker *w, chopin_conn *c, char *data, size_t len, int kept) {
    int end;
    size_t used = chopin__ws_feed(w, c, data, len, &end);
    if (end) {
        /* Echoed the client's close: ours is the last word, the TCP close follows it.
         * Refused its frames: ours says why, and its close is read and dropped. */
        ws_stop(w, c, end != WS_END_ECHOED);
        return;
    }
    if (kept)
        chopin__buf_consume(&c->in, used);
    else if (used < len)
        keep_input(w, c, data + used, len - used);
}

/* Frames that waited in `in`. */
static void ws_input(chopin_worker *w, chopin_conn *c) { ws_frames(w, c, c->in.data, c->in.len, 1); }

int chopin__conn_ws_send(chopin_worker *w, chopin_conn *c, int opcode, const void *data, size_t len) {
    if (chopin__ws_append(w, c, opcode, data, len) < 0) {
        chopin__conn_close(w, c);
        return -1;
    }
    if (opcode == CHOPIN_WS_CLOSE) {
        /* The handler closes: the deferral stays the handler's until it finishes. */
        c->in.len = 0;
        close_after_response(w, c, 1);
    }
    /* From inside on_message the frame waits for the event under way to settle. */
    if (c->deferral && c->deferral->in_callback) return pending_output(c) > w->cfg->max_pending_output;
    settle(w, c);
    if (!chopin__conn_open_p(c)) return -1;
    if (pending_output(c) <= w->cfg->max_pending_output) return 0;
    c->flags |= CF_STREAM_FULL;
    return 1;
}

/* What settle() would find on nearly every keep-alive connection after its
 * request: waiting for the next head, nothing kept in `in`, nothing being
 * sent or waiting to be, reads not paused, no stop under way. Every flag in
 * the mask leads settle() somewhere other than its plain end. */
#define CF_NOT_CALM                                                                                                    \
    (CF_READ_PAUSED | CF_SENDING | CF_PEER_DONE | CF_PENDING_INPUT | CF_QUOTA | CF_STREAM_FULL | CF_BODY_STREAM |      \
     CF_BODY_FULL | CF_FILE | CF_WATCH_HUP)

/* settle() for a calm connection, which is settle() with every check known
 * beforehand: send what the response queued, and when the socket took all
 * of it, give the buffers back and arm the idle timer (about 150
 * instructions a request fewer than the general walk). Returns 0 where the
 * general walk must go on: a send the socket did not take whole (the
 * backpressure check and the write timer), or a connection that was not
 * calm to begin with. Returns 1 when the connection is settled (or closed). */
static int settle_calm(chopin_worker *w, chopin_conn *c) {
    if (c->state != CONN_HEAD || (c->flags & CF_NOT_CALM) || c->in.len || w->stopping) return 0;
    if (c->out.len > 0) {
        if (send_out(w, c) < 0) return 1;
        if (c->flags & CF_SENDING) return 0;
    }
    if (c->in.data) chopin__buf_release(&c->in, &w->pool);
    if (c->out.data) chopin__buf_release(&c->out, &w->pool);
    if (c->tx.data) chopin__buf_release(&c->tx, &w->pool);
    /* arm_timer()'s choice for a connection between requests */
    if (c->requests == 0)
        set_timer(w, c, TK_HEADER, w->cfg->header_timeout_ms, 0);
    else
        set_timer(w, c, TK_IDLE, w->cfg->idle_timeout_ms, 1);
    return 1;
}

/* Brings a connection to rest after any event: sends what is queued, closes
 * or lingers when it should, picks up requests left in `in`, applies or
 * lifts backpressure, gives idle buffers back, and arms the right timer. */
static void settle(chopin_worker *w, chopin_conn *c) {
    if (!chopin__conn_open_p(c) || settle_calm(w, c)) return;
    for (;;) {
        if (!chopin__conn_open_p(c)) return;
        if (flush(w, c) < 0) return;
        if (c->state == CONN_CLOSING && !output_queued(c)) {
            if (!end_closing(w, c)) return;
            break;
        }
        /* In a stop's grace (w->drain_idle_ms) an idle connection stays: its
         * last response did not say close, and its client may be sending. */
        if (peer_done_and_answered(c) || (w->stopping && !w->drain_idle_ms && idle(c))) {
            chopin__conn_close(w, c);
            return;
        }
        if (can_take_kept_input(w, c)) {
            process_kept_input(w, c);
            continue;
        }
        if (c->state == CONN_WEBSOCKET && c->in.len > 0 && !(c->flags & CF_BODY_FULL)) {
            ws_input(w, c);
            continue;
        }
        break;
    }
    if ((c->flags & CF_QUOTA) && !(c->flags & CF_READY)) {
        c->flags |= CF_READY;
        w->ready[w->nready++] = c->idx;
    }
    if (follow_read_interest(w, c) < 0) return;
    stream_drained(w, c);
    if (!chopin__conn_open_p(c)) return;
    if (c->in.len == 0 && c->in.data) chopin__buf_release(&c->in, &w->pool);
    if (c->out.len == 0 && c->out.data) chopin__buf_release(&c->out, &w->pool);
    if (!(c->flags & CF_SENDING) && c->tx.data) chopin__buf_release(&c->tx, &w->pool);
    arm_timer(w, c);
}

/* A deferred answer (or what stands in for it) is queued: the requests that
 * waited behind it are taken next, or, when it was the connection's last,
 * they go unanswered and the close lingers if there were any. */
static void after_deferred_answer(chopin_worker *w, chopin_conn *c, int last) {
    if (last) {
        close_after_response(w, c, c->in.len > 0);
        c->in.len = 0;
    } else {
        c->state = CONN_HEAD; /* CF_PENDING_INPUT is still set: what waited is taken next */
    }
}

/* DEFERRED past deferred_timeout_ms: the handler is cancelled and the client
 * gets 503 in its place; requests behind it go on as usual. */
static void answer_unavailable(chopin_worker *w, chopin_conn *c) {
    chopin_deferred *d = c->deferral;
    if (d->streaming) {
        /* Its head is out: a stream that fell silent can only be cut. */
        chopin__conn_close(w, c);
        return;
    }
    c->deferral = NULL;
    chopin__deferral_abandon(w, d);
    chopin_response res;
    int close = d->res.close || w->stopping;
    chopin__response_init(&res, &c->out, &w->pool, w->date, d->res.head_only, close,
                          d->res.http10_keep_alive && !close);
    static const char body[] = "the handler did not answer in time\n";
    chopin_response_send(&res, 503, "text/plain", body, sizeof body - 1);
    chopin__metrics_answered(w, 503, d->started_ms);
    after_deferred_answer(w, c, close);
}

/* A streamed body that cannot complete (bad framing, over its limit, stalled,
 * the client half-closed): its consumer hears why; a handler still working
 * is cancelled and the client gets the status; a handler that already
 * answered keeps its answer. Either way the connection ends after it. */
static void body_failed(chopin_worker *w, chopin_conn *c, int status) {
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
        fail(w, c, status);
        return;
    }
    close_after_response(w, c, 1);
}

/* ---- events ---------------------------------------------------------------------------- */

void chopin__conn_open(chopin_worker *w, chopin_conn *c, int fd) {
    uint32_t idx = c->idx, gen = c->gen;
    uint8_t interest_due = c->interest_due; /* the slot may still be on the list */
    memset(c, 0, sizeof *c);
    c->idx = idx;
    c->gen = gen;
    c->interest_due = interest_due;
    c->fd = fd;
    c->file_fd = -1;
    c->state = CONN_HEAD;
    arm_timer(w, c);
}

void chopin__conn_data(chopin_worker *w, chopin_conn *c, char *data, size_t len) {
    if (!chopin__conn_open_p(c)) return;
    CHOPIN_COUNT(w, bytes_in, len);
    if (c->state == CONN_CLOSING || c->state == CONN_LINGER) {
        discard(w, c, len);
        return;
    }
    if (c->state == CONN_WEBSOCKET) {
        c->flags &= (uint16_t)~CF_WS_PINGED; /* the client is there */
        if (c->timer == TK_IDLE) set_timer(w, c, TK_IDLE, w->cfg->idle_timeout_ms, 1);
        if (c->in.len > 0 || (c->flags & CF_BODY_FULL)) {
            if (keep_input(w, c, data, len) == 0 && !(c->flags & CF_BODY_FULL)) ws_input(w, c);
        } else {
            ws_frames(w, c, data, len, 0);
        }
        settle(w, c);
        return;
    }
    if (c->flags & CF_BODY_STREAM) {
        int status;
        size_t used = chopin__body_feed(w, c, data, len, &status);
        if (status < 0) {
            body_failed(w, c, -status);
            settle(w, c);
            return;
        }
        if (used) set_timer(w, c, TK_BODY, w->cfg->body_timeout_ms, 1); /* progress */
        data += used;
        len -= used;
        if (len == 0) {
            settle(w, c);
            return;
        }
    }
    if (c->state == CONN_DEFERRED || (c->flags & CF_PENDING_INPUT)) {
        /* Reads are pausing; keep what already arrived, in order. */
        if (keep_input(w, c, data, len) < 0) return;
    } else if (c->in.len > 0) {
        /* The rest of an unfinished request. */
        if (keep_input(w, c, data, len) < 0) return;
        process_kept_input(w, c);
    } else {
        size_t n = len;
        size_t used = process(w, c, data, &n);
        if (used < n && c->state != CONN_CLOSING && keep_input(w, c, data + used, n - used) < 0) return;
    }
    if (c->state == CONN_CLOSING) c->in.len = 0;
    settle(w, c);
}

void chopin__conn_eof(chopin_worker *w, chopin_conn *c, int err) {
    if (!chopin__conn_open_p(c)) return;
    if (err || c->state == CONN_LINGER || c->state == CONN_WEBSOCKET) {
        /* (A WebSocket client that leaves without a close frame: nothing more to say.) */
        chopin__conn_close(w, c);
        return;
    }
    /* Half-closed by the client: it may still read what it asked for. */
    c->flags |= CF_PEER_DONE;
    if (c->flags & CF_BODY_STREAM) body_failed(w, c, 400); /* a body cut short */
    settle(w, c);
}

void chopin__conn_send_ready(chopin_worker *w, chopin_conn *c, long res) {
    if (!chopin__conn_open_p(c) || !(c->flags & CF_SENDING)) return;
    if (res < 0) {
        chopin__conn_close(w, c);
        return;
    }
    sent(w, c, (size_t)res);
    if ((c->flags & CF_SENDING) && send_more(w, c) < 0) return;
    settle(w, c);
}

void chopin__conn_timeout(chopin_worker *w, chopin_conn *c) {
    if (!chopin__conn_open_p(c)) return;
    timer_kind k = (timer_kind)c->timer;
    c->timer = TK_NONE;
    if (k == TK_LINGER) {
        /* Lingering is bounded; its end is not a failure. */
        chopin__conn_close(w, c);
        return;
    }
    if (k == TK_DEFERRED) {
        answer_unavailable(w, c);
        settle(w, c);
        return;
    }
    if (k == TK_IDLE && c->state == CONN_WEBSOCKET) {
        if (!(c->flags & CF_WS_PINGED)) {
            /* Silent for idle_timeout_ms: a ping asks whether it is still there. */
            c->flags |= CF_WS_PINGED;
            if (chopin__ws_append(w, c, CHOPIN_WS_PING, NULL, 0) < 0) {
                chopin__conn_close(w, c);
                return;
            }
        } else {
            CHOPIN_COUNT(w, timeouts, 1);
            chopin__ws_append_close(w, c, CHOPIN_WS_GOING_AWAY);
            ws_stop(w, c, 0);
        }
        settle(w, c);
        return;
    }
    CHOPIN_COUNT(w, timeouts, 1);
    if (k == TK_BODY && (c->flags & CF_BODY_STREAM)) {
        body_failed(w, c, 408);
        settle(w, c);
        return;
    }
    if ((k == TK_HEADER && c->in.len > 0) || k == TK_BODY) {
        /* A request had begun: say why it ends (RFC 9110 section 15.5.9). */
        c->in.len = 0;
        fail(w, c, 408);
        settle(w, c);
        return;
    }
    chopin__conn_close(w, c);
}

/* Appends a deferred response written before the stop began, so that it
 * says Connection: close after all: the core's own keep-alive line (an
 * HTTP/1.0 client's) is dropped, the close line goes before the blank line. */
static int append_with_close(chopin_worker *w, chopin_conn *c, const char *bytes, size_t len) {
    static const char keep_alive_line[] = "Connection: keep-alive\r\n";
    static const char close_line[] = "Connection: close\r\n";
    const char *end = memmem(bytes, len, "\r\n\r\n", 4);
    if (!end) return chopin__buf_append(&c->out, &w->pool, bytes, len);
    size_t head = (size_t)(end - bytes) + 2; /* up to the last header line's CRLF */
    const char *ka = memmem(bytes, head, keep_alive_line, sizeof keep_alive_line - 1);
    size_t cut_at = ka ? (size_t)(ka - bytes) : head;
    size_t cut_len = ka ? sizeof keep_alive_line - 1 : 0;
    if (chopin__buf_append(&c->out, &w->pool, bytes, cut_at) < 0 ||
        chopin__buf_append(&c->out, &w->pool, bytes + cut_at + cut_len, head - cut_at - cut_len) < 0 ||
        chopin__buf_append(&c->out, &w->pool, close_line, sizeof close_line - 1) < 0)
        return -1;
    return chopin__buf_append(&c->out, &w->pool, bytes + head, len - head);
}

int chopin__conn_stream(chopin_worker *w, chopin_conn *c, chopin_deferred *d, const void *data, size_t n) {
    int rc = 0;
    if (d->buf.len) {
        /* The head, once. */
        rc = chopin__buf_append(&c->out, &w->pool, d->buf.data, d->buf.len);
        d->buf.len = 0;
    }
    if (rc == 0 && n) {
        if (d->res.http10) {
            rc = chopin__buf_append(&c->out, &w->pool, data, n);
        } else {
            char size[24];
            int k = snprintf(size, sizeof size, "%zx\r\n", n);
            rc = chopin__buf_append(&c->out, &w->pool, size, (size_t)k) < 0 ||
                         chopin__buf_append(&c->out, &w->pool, data, n) < 0 ||
                         chopin__buf_append(&c->out, &w->pool, "\r\n", 2) < 0
                     ? -1
                     : 0;
        }
    }
    if (rc < 0) {
        chopin__conn_close(w, c);
        return -1;
    }
    /* The stream's deadline counts from its last write. */
    set_timer(w, c, TK_DEFERRED, w->cfg->deferred_timeout_ms, 1);
    settle(w, c);
    if (!chopin__conn_open_p(c)) return -1;
    if (pending_output(c) <= w->cfg->max_pending_output) return 0;
    c->flags |= CF_STREAM_FULL;
    return 1;
}

/* The end of a streamed response: the last chunk, or the close that ends an
 * HTTP/1.0 body. */
static void end_stream(chopin_worker *w, chopin_conn *c, chopin_deferred *d) {
    static const char last_chunk[] = "0\r\n\r\n";
    c->flags &= (uint16_t)~CF_STREAM_FULL;
    if (d->buf.len) chopin__buf_append(&c->out, &w->pool, d->buf.data, d->buf.len); /* a head never started */
    if (!d->res.http10 && !d->res.head_only &&
        chopin__buf_append(&c->out, &w->pool, last_chunk, sizeof last_chunk - 1) < 0) {
        chopin__conn_close(w, c);
        return;
    }
    after_deferred_answer(w, c, d->res.close || w->stopping);
    settle(w, c);
}

void chopin__conn_deferred_done(chopin_worker *w, chopin_conn *c, chopin_deferred *d) {
    if (d->websocket && chopin__conn_open_p(c) && c->deferral == d) {
        /* The WebSocket handler returned: a normal close, unless it closed already. */
        c->deferral = NULL;
        if (c->state == CONN_WEBSOCKET) {
            chopin__ws_append_close(w, c, CHOPIN_WS_NORMAL);
            ws_stop(w, c, 1);
        }
        settle(w, c);
        return;
    }
    if (!chopin__conn_open_p(c) || c->state != CONN_DEFERRED || c->deferral != d) return;
    c->deferral = NULL;
    chopin__metrics_answered(w, d->res.status, d->started_ms);
    if (d->streaming) {
        end_stream(w, c, d);
        return;
    }
    int rc;
    if (w->stopping && !d->res.close) {
        rc = append_with_close(w, c, d->buf.data, d->buf.len);
        d->res.close = 1;
    } else {
        rc = chopin__buf_append(&c->out, &w->pool, d->buf.data, d->buf.len);
    }
    if (rc < 0) {
        chopin__conn_close(w, c);
        return;
    }
    after_deferred_answer(w, c, d->res.close);
    settle(w, c);
}

void chopin__conn_body_resume(chopin_worker *w, chopin_conn *c) {
    if (!chopin__conn_open_p(c) || !(c->flags & CF_BODY_FULL)) return;
    c->flags &= (uint16_t)~CF_BODY_FULL;
    settle(w, c);
}

void chopin__conn_resume(chopin_worker *w, chopin_conn *c) {
    if (chopin__conn_open_p(c)) settle(w, c);
}

void chopin__conn_drain(chopin_worker *w, chopin_conn *c) {
    if (!chopin__conn_open_p(c)) return;
    if (c->state == CONN_WEBSOCKET) {
        /* The server stops: its WebSockets are told so. */
        chopin__ws_append_close(w, c, CHOPIN_WS_GOING_AWAY);
        ws_stop(w, c, 1);
        settle(w, c);
        return;
    }
    if (idle(c)) chopin__conn_close(w, c);
    /* Otherwise the response under way carries Connection: close
     * (w->stopping) and settle() closes once it is sent. */
}

void chopin__conn_close(chopin_worker *w, chopin_conn *c) {
    if (!chopin__conn_open_p(c)) return;
    if (c->deferral) {
        /* Nobody will read the answer: its handler is cancelled. */
        chopin__deferral_abandon(w, c->deferral);
        c->deferral = NULL;
    }
    c->state = CONN_DEAD;
    c->timer = TK_NONE;
    chopin__wheel_cancel(&w->wheel, c->idx);
    CHOPIN_COUNT(w, closed, 1);
    file_done(c);
    int busy = w->ops->cancel(w, c);
    /* Shutting down writes first sends the FIN after the last response
     * even when unread input makes close() answer with a reset. In-flight
     * io_uring operations hold their own reference to the socket. */
    shutdown(c->fd, SHUT_WR);
    close(c->fd);
    c->fd = -1;
    if (!busy) chopin__conn_release(w, c);
}

void chopin__conn_release(chopin_worker *w, chopin_conn *c) {
    file_done(c);
    free(c->ws);
    c->ws = NULL;
    chopin__buf_release(&c->in, &w->pool);
    chopin__buf_release(&c->out, &w->pool);
    chopin__buf_release(&c->tx, &w->pool);
    c->state = CONN_FREE;
    c->flags = 0;
    c->fd = -1;
    chopin__slab_free(&w->slab, c->idx);
    c->gen = chopin__slab_gen(&w->slab, c->idx);
    if (w->accept_full && !w->stopping) {
        w->accept_full = 0;
        w->ops->accept_start(w);
    }
}
