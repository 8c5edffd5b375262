/* counter.c - see CMallocCounter.h. */
#include "CMallocCounter.h"

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <execinfo.h>
#include <stdlib.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static atomic_int counting;
static atomic_uint_fast64_t allocations;
static __thread int worker_thread = -1; /* -1: not looked at yet */

static void note(void) {
    if (!atomic_load_explicit(&counting, memory_order_relaxed)) return;
    if (worker_thread < 0) {
        char name[17] = {0};
        prctl(PR_GET_NAME, name, 0, 0, 0);
        worker_thread = strncmp(name, "chopin-w", 8) == 0;
    }
    if (worker_thread) {
        uint64_t n = atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
        static __thread int in_trace;
        if (n < 12 && !in_trace && getenv("MALLOC_COUNTER_TRACE")) {
            in_trace = 1;
            void *frames[12];
            int k = backtrace(frames, 12);
            backtrace_symbols_fd(frames, k, 2);
            write(2, "----\n", 5);
            in_trace = 0;
        }
    }
}

void malloc_counter_start(void) {
    atomic_store(&allocations, 0);
    atomic_store(&counting, 1);
}

uint64_t malloc_counter_stop(void) {
    atomic_store(&counting, 0);
    return atomic_load(&allocations);
}

void *malloc(size_t n) {
    note();
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t size) {
    note();
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n) {
    note();
    return __libc_realloc(p, n);
}

void free(void *p) { __libc_free(p); }

void *memalign(size_t align, size_t n) {
    note();
    return __libc_memalign(align, n);
}

void *aligned_alloc(size_t align, size_t n) {
    note();
    return __libc_memalign(align, n);
}

int posix_memalign(void **out, size_t align, size_t n) {
    note();
    void *p = __libc_memalign(align, n);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}
