/* logging.c - the core's few lines for people: startup, stops, unexpected
 * errors. Never called on the per-request path. */
#include "logging.h"

#include <stdatomic.h>

#include "chopin/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

/* Set once before servers start, read by any thread that logs: the
 * context is published before the function, and read after it. */
static void *_Atomic sink_ctx;
static chopin_log_fn _Atomic sink_fn;

void chopin_set_log_handler(chopin_log_fn fn, void *ctx) {
    atomic_store_explicit(&sink_ctx, ctx, memory_order_relaxed);
    atomic_store_explicit(&sink_fn, fn, memory_order_release);
}

void chopin__log(const char *fmt, ...) {
    /* Room for a worker's death: the requests it had in flight and its fatal error. */
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n > sizeof line - 2) n = (int)sizeof line - 2;
    chopin_log_fn fn = atomic_load_explicit(&sink_fn, memory_order_acquire);
    if (fn) {
        fn(atomic_load_explicit(&sink_ctx, memory_order_relaxed), line, (size_t)n);
        return;
    }
    line[n++] = '\n';
    /* One write, so lines of different workers do not interleave. */
    ssize_t rc = write(STDERR_FILENO, line, (size_t)n);
    (void)rc;
}
