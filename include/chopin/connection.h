/* connection.h - what a handler can ask of the connection its request came
 * on, beyond writing the answer (response.h): the client's address, an
 * answer deferred to later or to another thread, a streamed answer, a
 * streamed request body, an upgrade to WebSocket, and waking the worker
 * that owns it. The connection floor of the core (Sources/CChopinCore/conn)
 * implements all of it. */
#ifndef CHOPIN_CONNECTION_H
#define CHOPIN_CONNECTION_H

#include <stddef.h>
#include <stdint.h>

#include "chopin/response.h"
#include "chopin/websocket.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct chopin_deferred chopin_deferred;

/* A worker thread (opaque). */
typedef struct chopin_worker chopin_worker;

/* Wakes a worker's loop: its worker_turn hook runs soon after. Safe from
 * any thread and from a signal handler; wakes coalesce. */
void chopin_worker_wake(chopin_worker *worker);

/* Asks for the worker_turn hook in the loop's next turn (see
 * worker_turn_when_asked). Safe from any thread; from one other than the
 * worker's, wake it as well (chopin_worker_wake), after this. */
void chopin_worker_ask_turn(chopin_worker *worker);

/* The address of the client a response answers, as recorded when its
 * connection was accepted. family is 4 or 6 (0: unknown); addr holds 4 or
 * 16 bytes in network order (an IPv4-mapped IPv6 address is given as IPv4);
 * port is in host order. */
typedef struct chopin_peer {
    uint8_t family;
    uint16_t port;
    uint8_t addr[16];
} chopin_peer;

/* Fills *out with the client's address; 0, or -1 when it is not known (a
 * deferred response's own writer: read it before deferring). */
int chopin_response_peer(const chopin_response *res, chopin_peer *out);

/* Defers the response: the handler returns now and the answer is written
 * later, from any thread, through chopin_deferred_response. Later pipelined
 * requests on the connection wait, so responses still leave in order.
 * Returns NULL when out of memory (the core then answers 500). */
chopin_deferred *chopin_response_defer(chopin_response *res);

/* The writer for a deferred response. Use it from one thread at a time. */
chopin_response *chopin_deferred_response(chopin_deferred *d);

/* Hands the finished deferred response back to its worker, which sends it.
 * d must not be used afterwards. Safe from any thread, also after the
 * server stopped. If the connection is gone by then (closed, timed out by
 * deferred_timeout_ms, or the server stopped), the response is dropped. */
void chopin_deferred_finish(chopin_deferred *d);

/* Watches a deferral: cancel(arg) runs at most once, on the worker thread,
 * when the answer is no longer wanted before it is finished (the client
 * left, deferred_timeout_ms passed, the shutdown deadline came); drain(arg)
 * runs on the worker thread when a stream that was told to wait (below) may
 * write again; release(arg) runs exactly once, on whichever thread frees
 * the deferral (after finish). Any may be NULL. Call before handing d to
 * another thread. */
void chopin_deferred_observe(chopin_deferred *d, void (*cancel)(void *arg), void (*drain)(void *arg),
                             void (*release)(void *arg), void *arg);

/* The handler answers its own deadline: when deferred_timeout_ms passes,
 * the core cancels it (cancel above) and waits up to grace_ms more for its
 * answer (a 503 of the application's own making, say) before it answers
 * 503 itself. chopin_deferred_timed_out then says 1 (worker thread). Call
 * with observe, before handing d to another thread. */
void chopin_deferred_answers_timeout(chopin_deferred *d, uint32_t grace_ms);
int chopin_deferred_timed_out(const chopin_deferred *d);

/* Streaming a deferred response: the body leaves piece by piece as the
 * handler produces it, chunked (HTTP/1.1) or delimited by the close
 * (HTTP/1.0). Only on the worker thread that owns the connection (an async
 * handler's task between awaits, which runs there):
 *
 *     chopin_response *r = chopin_deferred_response(d);
 *     chopin_response_start(r, 200);
 *     chopin_response_header(r, "Content-Type", 12, "text/event-stream", 17);
 *     chopin_deferred_stream_start(d);                  the head leaves now
 *     chopin_deferred_stream_write(d, piece, n);        and each piece
 *     chopin_deferred_finish(d);                        the end
 *
 * Both return 0 to go on, 1 when the client is not reading fast enough
 * (more than max_pending_output is queued: wait for drain before the next
 * write), or -1 when the connection is gone (or the call came from another
 * thread). While streaming, deferred_timeout_ms counts from the last write. */
int chopin_deferred_stream_start(chopin_deferred *d);
int chopin_deferred_stream_write(chopin_deferred *d, const void *data, size_t n);

/* Streaming request bodies (a request with req->body_streamed set). The
 * handler defers its response and, before it returns, takes the body:
 * piece(arg, data, len, status) then runs on the worker thread for each
 * piece as it arrives (data valid only during the call), with status
 * CHOPIN_BODY_MORE; once more with CHOPIN_BODY_END after the last one; or
 * once with a negative status when the body cannot complete: -400 (bad
 * chunked framing), -413 (over max_streamed_body), -408 (no piece for
 * body_timeout_ms; these three are answered by the core, with that status,
 * and the handler is cancelled), CHOPIN_BODY_ABORTED (the connection is gone
 * or the deferral was cancelled). arg is the one given to
 * chopin_deferred_observe. piece returns nonzero to stop reading the body
 * until chopin_deferred_body_resume (bounded memory for a slow consumer).
 * A body the handler does not take, or no longer wants once it answered, is
 * read and dropped, and the connection goes on. */
enum { CHOPIN_BODY_MORE = 0, CHOPIN_BODY_END = 1, CHOPIN_BODY_ABORTED = -1 };
typedef int (*chopin_body_fn)(void *arg, const char *data, size_t len, int status);
void chopin_deferred_take_body(chopin_deferred *d, chopin_body_fn piece);

/* Reading the body goes on after piece asked to stop. Only on the worker
 * thread that owns the connection; returns -1 elsewhere (or when the
 * connection is gone), 0 otherwise. */
int chopin_deferred_body_resume(chopin_deferred *d);

/* The state the worker_start hook returned for the worker answering this
 * request (NULL without the hook, or for a deferred response's writer). */
void *chopin_response_worker_state(const chopin_response *res);

/* ---- a deferral that becomes a WebSocket -------------------------------------
 * on_message(arg, data, len, status), on the worker thread, with status:
 *   CHOPIN_WS_TEXT or CHOPIN_WS_BINARY, plus CHOPIN_WS_MSG_FIN on the
 *       message's last piece (data may be empty then): a piece of a message;
 *   CHOPIN_WS_MSG_CLOSED: the client closed (data: its code, 2 bytes big-endian,
 *       and reason, or empty); the core echoed the code and closes;
 *   -1002, -1007, -1009: the client broke the protocol; the core sent that close;
 *   CHOPIN_BODY_ABORTED: the connection is gone (or the handler cancelled).
 * Returning nonzero from a piece stops reading until chopin_deferred_body_resume.
 * arg is the one given to chopin_deferred_observe; drain runs when a send
 * that returned 1 may be followed by more. */
enum { CHOPIN_WS_MSG_FIN = 0x10, CHOPIN_WS_MSG_CLOSED = 0x20 };
void chopin_deferred_websocket(chopin_deferred *d, const char accept[CHOPIN_WS_ACCEPT_LEN], chopin_body_fn on_message,
                               uint64_t max_message);

/* The subprotocol the 101 names (Sec-WebSocket-Protocol), after
 * chopin_deferred_websocket and before the deferral is finished. Returns
 * -1, naming none, for an empty name, one longer than
 * CHOPIN_WS_PROTOCOL_MAX, or one that is not a token. */
int chopin_deferred_websocket_protocol(chopin_deferred *d, const char *name, size_t len);

/* For a deferral whose handler call returned before the upgrade was
 * decided (an async chain that awaited first): after
 * chopin_deferred_websocket (and _protocol), the connection becomes the
 * WebSocket now: the 101 is queued, later bytes are frames. Only on the
 * worker thread, while the answer is still awaited. Returns 0, or -1 when
 * the connection is gone or its answer was already given. */
int chopin_deferred_websocket_accept(chopin_deferred *d);

/* Sends one whole message or control frame (TEXT, BINARY, PING, PONG; CLOSE
 * with payload = code and reason, after which the core closes once the
 * client answers or linger_timeout_ms passes). Only on the worker thread.
 * Returns 0, 1 when more than max_pending_output is queued (wait for drain),
 * or -1 when the connection is gone or closing. */
int chopin_deferred_websocket_send(chopin_deferred *d, int opcode, const void *data, size_t len);

#ifdef __cplusplus
}
#endif
#endif
