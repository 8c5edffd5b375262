/* events.c - what the loop floor reports about a connection: bytes
 * arrived, the client half-closed or left, a deadline passed, the server
 * drains, a waiting connection may go on. Each event ends with the
 * connection settled (settle.c). */
#include "conn.h"

/* Bytes that arrive after the last response was queued. */
static void discard(chopin_worker *w, chopin_conn *c, size_t len) {
    c->discarded = len > UINT32_MAX - c->discarded ? UINT32_MAX : c->discarded + (uint32_t)len;
    if (c->state == CONN_LINGER && c->discarded > w->cfg->max_linger_bytes) chopin__conn_close(w, c);
}

static void tls_data(chopin_worker *w, chopin_conn *c, char *data, size_t len);

/* Plaintext: a plain connection's bytes as they arrived, or a TLS
 * connection's as its session decrypted them. Inlined into both callers: a
 * call here cost a plain request about 14 instructions. */
static inline __attribute__((always_inline)) void plain_data(chopin_worker *w, chopin_conn *c, char *data, size_t len) {
    if (c->state == CONN_WEBSOCKET) {
        c->flags &= (uint16_t)~CF_WS_PINGED; /* the client is there */
        if (c->timer == TK_IDLE) chopin__conn_set_timer(w, c, TK_IDLE, w->cfg->idle_timeout_ms, 1);
        if (c->in.len > 0 || (c->flags & CF_BODY_FULL)) {
            if (chopin__conn_keep_input(w, c, data, len) == 0 && !(c->flags & CF_BODY_FULL)) chopin__ws_input(w, c);
        } else {
            chopin__ws_frames(w, c, data, len, 0);
        }
        chopin__conn_settle(w, c);
        return;
    }
    if (c->flags & CF_BODY_STREAM) {
        int status;
        size_t used = chopin__body_feed(w, c, data, len, &status);
        if (status < 0) {
            chopin__conn_body_failed(w, c, -status);
            chopin__conn_settle(w, c);
            return;
        }
        if (used) chopin__conn_set_timer(w, c, TK_BODY, w->cfg->body_timeout_ms, 1); /* progress */
        data += used;
        len -= used;
        if (len == 0) {
            chopin__conn_settle(w, c);
            return;
        }
    }
    if (c->state == CONN_DEFERRED || (c->flags & CF_PENDING_INPUT)) {
        /* Reads are pausing; keep what already arrived, in order. */
        if (chopin__conn_keep_input(w, c, data, len) < 0) return;
    } else if (c->in.len > 0) {
        /* The rest of an unfinished request. */
        if (chopin__conn_keep_input(w, c, data, len) < 0) return;
        chopin__conn_process_kept_input(w, c);
    } else {
        size_t n = len;
        size_t used = chopin__conn_process(w, c, data, &n);
        if (used < n && c->state != CONN_CLOSING && chopin__conn_keep_input(w, c, data + used, n - used) < 0) return;
    }
    if (c->state == CONN_CLOSING) c->in.len = 0;
    chopin__conn_settle(w, c);
}

void chopin__conn_data(chopin_worker *w, chopin_conn *c, char *data, size_t len) {
    if (!chopin__conn_open_p(c)) return;
    CHOPIN_COUNT(w, bytes_in, len);
    if (c->state == CONN_CLOSING || c->state == CONN_LINGER) {
        discard(w, c, len);
        return;
    }
    if (c->tls)
        tls_data(w, c, data, len);
    else
        plain_data(w, c, data, len);
}

/* TLS: the ciphertext goes through the connection's session, every byte of
 * it (the backend's buffer is gone after this call); each record's
 * plaintext is handled as a plain connection's bytes are, in order. A
 * connection that closes, or answers for the last time, drops the rest. */
static void tls_data(chopin_worker *w, chopin_conn *c, char *data, size_t len) {
    chopin_tls_session *s = c->tls;
    int established = s->established, produced = 0;
    /* An idle connection's deadline, which records without plaintext (a
     * KeyUpdate, an empty record) must not push back: a plain connection's
     * idle period ends unless a request begins. */
    uint64_t idle_deadline = c->timer == TK_IDLE ? w->wheel.nodes[c->idx].deadline : 0;
    chopin__tls_feed(s, data, len);
    for (;;) {
        long n = chopin__tls_read(s, w->tls_plain, CHOPIN_TLS_RECORD);
        if (!established && s->established) {
            established = 1;
            chopin__conn_tls_handshake_ended(w);
            c->timer = TK_NONE; /* the head's deadline next (settle arms it) */
        }
        if (n > 0) {
            produced = 1;
            plain_data(w, c, w->tls_plain, (size_t)n);
            if (!chopin__conn_open_p(c)) return;
            if (c->state == CONN_CLOSING || c->state == CONN_LINGER) break;
            continue;
        }
        if (n == CHOPIN_TLS_CLOSED) {
            /* The client's close_notify: as a FIN, with nothing after it. */
            chopin__tls_feed(s, NULL, 0);
            chopin__conn_eof(w, c, 0);
            return;
        }
        if (n == CHOPIN_TLS_FAILED) {
            /* A failed handshake or a forged record: the alert OpenSSL
             * queued goes out, then the connection closes (counted by
             * chopin__conn_tls_failed). */
            chopin__conn_tls_failed(w, c);
            chopin__conn_close_after_response(w, c, 0);
        }
        break;
    }
    chopin__tls_feed(s, NULL, 0);
    if (s->kernel_tx && chopin__tls_kernel_stuck(s)) {
        /* OpenSSL has something to say (an alert, the KeyUpdate a client
         * asked for) with write keys that are the kernel's now: it cannot
         * go out, and the connection cannot go on without it. */
        s->out.len = 0;
        chopin__conn_close(w, c);
        return;
    }
    chopin__conn_settle(w, c);
    if (!produced && idle_deadline && chopin__conn_open_p(c) && c->timer == TK_IDLE)
        chopin__wheel_set(&w->wheel, c->idx, idle_deadline);
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
    if (c->flags & CF_BODY_STREAM) chopin__conn_body_failed(w, c, 400); /* a body cut short */
    chopin__conn_settle(w, c);
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
        if (chopin__conn_deadline_grace(w, c)) return;
        chopin__conn_answer_unavailable(w, c);
        chopin__conn_settle(w, c);
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
            chopin__ws_stop(w, c, 0);
        }
        chopin__conn_settle(w, c);
        return;
    }
    CHOPIN_COUNT(w, timeouts, 1);
    if (k == TK_BODY && (c->flags & CF_BODY_STREAM)) {
        chopin__conn_body_failed(w, c, 408);
        chopin__conn_settle(w, c);
        return;
    }
    if ((k == TK_HEADER && c->in.len > 0) || k == TK_BODY) {
        /* A request had begun: say why it ends (RFC 9110 section 15.5.9). */
        c->in.len = 0;
        chopin__conn_fail(w, c, 408);
        chopin__conn_settle(w, c);
        return;
    }
    chopin__conn_close(w, c);
}

void chopin__conn_body_resume(chopin_worker *w, chopin_conn *c) {
    if (!chopin__conn_open_p(c) || !(c->flags & CF_BODY_FULL)) return;
    c->flags &= (uint16_t)~CF_BODY_FULL;
    chopin__conn_settle(w, c);
}

void chopin__conn_resume(chopin_worker *w, chopin_conn *c) {
    if (chopin__conn_open_p(c)) chopin__conn_settle(w, c);
}

void chopin__conn_drain(chopin_worker *w, chopin_conn *c) {
    if (!chopin__conn_open_p(c)) return;
    if (c->state == CONN_WEBSOCKET) {
        /* The server stops: its WebSockets are told so. */
        chopin__ws_append_close(w, c, CHOPIN_WS_GOING_AWAY);
        chopin__ws_stop(w, c, 1);
        chopin__conn_settle(w, c);
        return;
    }
    if (chopin__conn_idle(c)) chopin__conn_close(w, c);
    /* Otherwise the response under way carries Connection: close
     * (w->stopping) and chopin__conn_settle() closes once it is sent. */
}

/* Connections that stopped at max_pipelined (or max_deferred) go on now,
 * after every other connection had its turn. */
void chopin__conn_resume_ready(chopin_worker *w) {
    uint32_t n = w->nready;
    w->nready = 0;
    for (uint32_t i = 0; i < n; i++) {
        chopin_conn *c = &w->conns[w->ready[i]];
        if (!(c->flags & CF_READY)) continue;
        c->flags &= (uint16_t)~(CF_READY | CF_QUOTA);
        chopin__conn_resume(w, c);
    }
}
