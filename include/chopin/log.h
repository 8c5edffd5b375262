/* log.h - where the core's few lines for people go (startup, signals,
 * unexpected errors; never one per request). By default each is one write
 * to standard error; an embedding runtime (Chopin's Swift layer, which
 * hands them to swift-log) may take them instead. */
#ifndef CHOPIN_LOG_H
#define CHOPIN_LOG_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Receives one line, without its newline; line is valid during the call
 * only. Called on whichever thread logs (workers, the signal waiter). */
typedef void (*chopin_log_fn)(void *ctx, const char *line, size_t len);

/* Sends every later line to fn(ctx, ...); NULL goes back to standard
 * error. Process-wide: set it before starting servers. */
void chopin_set_log_handler(chopin_log_fn fn, void *ctx);

#ifdef __cplusplus
}
#endif
#endif
