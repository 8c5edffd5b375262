/* tls_reload.c - a certificate reload, in every isolation mode: the
 * process that is asked (SIGHUP, chopin_server_tls_reload) loads and
 * checks the new identity first; only when it is good do the worker
 * processes hear of it, through the count in the shared slots' head, and
 * load their own copy before their next connection. With worker threads
 * the identity the workers use is the one just reloaded. */
#include "process.h"

#include <stdatomic.h>

int chopin__tls_reload_all(chopin_tls *tls, const chopin_slots *slots, char *err, size_t err_len) {
    if (chopin_tls_reload(tls, NULL, err, err_len) < 0) {
        chopin__log("chopin: the TLS certificate cannot be reloaded: %s; the old one stays in use", err);
        return -1;
    }
    if (slots->tls_reloads) atomic_fetch_add_explicit(slots->tls_reloads, 1, memory_order_release);
    chopin__tls_say_reloaded(tls);
    return 0;
}
