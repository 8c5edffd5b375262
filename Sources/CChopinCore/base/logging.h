/* logging.h - the core's few lines for people (startup, stops, unexpected
 * errors), sent to the handler set with chopin_set_log_handler, or to
 * stderr. Never on the per-request path. */
#ifndef CHOPIN_BASE_LOGGING_H
#define CHOPIN_BASE_LOGGING_H

void chopin__log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
