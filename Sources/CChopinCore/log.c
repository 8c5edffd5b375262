/* log.c - the core's few lines for people: startup, stops, unexpected
 * errors. Never called on the per-request path. */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

void chopin__log(const char *fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n > sizeof line - 2) n = (int)sizeof line - 2;
    line[n++] = '\n';
    /* One write, so lines of different workers do not interleave. */
    ssize_t rc = write(STDERR_FILENO, line, (size_t)n);
    (void)rc;
}
