/* test_tls_tickets.c - session ticket keys shared by the processes of a
 * server (base/tls_context.c, the keys in the shared slots' head), played
 * here by two identities over one chopin_tls_ticket_keys: a ticket that
 * one sealed resumes on the other, both ways, in TLS 1.3 and 1.2; an
 * identity that shares nothing does not open it. When the current key's
 * hour is over, the first seal makes the next key: a ticket of the old one
 * still resumes (the previous key) and is given a new ticket, and after
 * one more rotation it no longer resumes. A writer that died mid-write
 * (seq left odd) leaves each identity with its own keys, never stuck. */
#include "base/tls.h"
#include "certs.h"
#include "test.h"
#include "tls_memory.h"

#include <openssl/err.h>
#include <stdlib.h>
#include <unistd.h>

static test_pair certs;

/* A handshake of a client of cctx with the identity, offering `offer`;
 * whether it resumed, and the session the client holds after reading an
 * answer (its new ticket, with TLS 1.3's arriving after the handshake). */
static int connect_once(chopin_tls *tls, SSL_CTX *cctx, SSL_SESSION *offer, SSL_SESSION **kept) {
    struct ssl_ctx_st *ctx = chopin__tls_context_get(tls);
    pair p;
    pair_open(&p, ctx, cctx, offer);
    chopin__tls_context_put(ctx);
    int done = handshake(&p) == 0;
    CHECK(done, "the handshake");
    int reused = done && SSL_session_reused(p.client);
    chopin__tls_write(p.s, "ok", 2);
    server_to_client(&p);
    char got[64];
    client_read(&p, got, sizeof got);
    if (kept) *kept = SSL_get1_session(p.client);
    SSL_shutdown(p.client); /* OpenSSL forgets a session cut off without close_notify */
    ERR_clear_error();
    pair_close(&p);
    return reused;
}

static void shared_between(int version) {
    t_case = version == TLS1_3_VERSION ? "TLS 1.3" : "TLS 1.2";
    char err[256];
    chopin_tls_options o = {.cert_file = certs.cert, .key_file = certs.key, .kernel = CHOPIN_TLS_KERNEL_OFF};
    chopin_tls *supervisor = chopin_tls_new(&o, err, sizeof err), *a = chopin_tls_new(&o, err, sizeof err),
               *b = chopin_tls_new(&o, err, sizeof err), *alone = chopin_tls_new(&o, err, sizeof err);
    CHECK(supervisor && a && b && alone, "identities: %s", err);
    if (!supervisor || !a || !b || !alone) return;
    static chopin_tls_ticket_keys keys;
    memset(&keys, 0, sizeof keys);
    chopin__tls_share_tickets(supervisor, &keys, 1); /* the supervisor publishes before its workers start */
    chopin__tls_share_tickets(a, &keys, 0);
    chopin__tls_share_tickets(b, &keys, 0);
    SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(cctx, version);
    SSL_CTX_set_max_proto_version(cctx, version);

    SSL_SESSION *from_a = NULL, *again = NULL;
    CHECK(!connect_once(a, cctx, NULL, &from_a), "a first handshake is a full one");
    CHECK(from_a && connect_once(b, cctx, from_a, NULL), "a's ticket resumes on b");
    CHECK(from_a && connect_once(a, cctx, from_a, NULL), "and on a");
    CHECK(from_a && !connect_once(alone, cctx, from_a, NULL), "not on an identity that shares nothing");
    SSL_SESSION *from_b = NULL;
    CHECK(!connect_once(b, cctx, NULL, &from_b) && from_b && connect_once(a, cctx, from_b, NULL),
          "b's ticket resumes on a");

    /* The hour is over: the next seal rotates; the old ticket resumes with
     * the previous key, once more rotated, it does not. */
    unsigned char name_before[16];
    memcpy(name_before, keys.current, 16);
    keys.rotated_at -= 3 * 3600;
    CHECK(from_a && connect_once(b, cctx, from_a, &again), "a ticket of the previous key resumes");
    CHECK(memcmp(name_before, keys.current, 16) != 0 && memcmp(name_before, keys.previous, 16) == 0,
          "b made the next key; the old one is the previous");
    CHECK(again && connect_once(a, cctx, again, NULL), "the ticket b gave then (the new key) resumes on a");
    keys.rotated_at -= 3 * 3600;
    SSL_SESSION *ignored = NULL;
    connect_once(a, cctx, NULL, &ignored); /* a seal: the next rotation */
    CHECK(from_a && !connect_once(b, cctx, from_a, NULL), "two rotations later the first ticket is refused");

    /* A process that died while making the next key: after a minute
     * another takes over. */
    memcpy(name_before, keys.current, 16);
    keys.rotated_at -= 3 * 3600;
    keys.rotating = 1; /* began at the clock's start, long ago */
    connect_once(b, cctx, NULL, NULL);
    CHECK(memcmp(name_before, keys.current, 16) != 0 && keys.rotating == 0, "a stalled rotation is taken over");

    /* A writer that died mid-write: each identity falls back to its own keys. */
    keys.seq |= 1;
    SSL_SESSION *own = NULL;
    CHECK(!connect_once(a, cctx, NULL, &own) && own && connect_once(a, cctx, own, NULL),
          "a torn shared record: a still seals and opens its own tickets");
    keys.seq += 1;

    SSL_SESSION_free(own);
    SSL_SESSION_free(ignored);
    SSL_SESSION_free(again);
    SSL_SESSION_free(from_b);
    SSL_SESSION_free(from_a);
    SSL_CTX_free(cctx);
    chopin_tls_free(alone);
    chopin_tls_free(b);
    chopin_tls_free(a);
    chopin_tls_free(supervisor);
}

int main(void) {
    if (test_pair_make(&certs, "tickets") < 0) return 2;
    shared_between(TLS1_3_VERSION);
    shared_between(TLS1_2_VERSION);
    test_pair_remove(&certs);
    return test_finish("test_tls_tickets");
}
