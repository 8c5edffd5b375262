/* test.h - a tiny test harness: CHECK records a failure and goes on, each
 * test binary prints "N passed, N failed" and exits non-zero on failure. */
#ifndef CHOPIN_TEST_H
#define CHOPIN_TEST_H

#include <stdio.h>
#include <string.h>

static int t_passed, t_failed;
static const char *t_case = "";

#define CHECK(cond, ...)                                                                                               \
    do {                                                                                                               \
        if (cond) {                                                                                                    \
            t_passed++;                                                                                                \
        } else {                                                                                                       \
            t_failed++;                                                                                                \
            fprintf(stderr, "FAIL %s:%d [%s] %s: ", __FILE__, __LINE__, t_case, #cond);                                \
            fprintf(stderr, __VA_ARGS__);                                                                              \
            fputc('\n', stderr);                                                                                       \
        }                                                                                                              \
    } while (0)

#define CHECK_EQ_INT(a, b) CHECK((long long)(a) == (long long)(b), "%lld != %lld", (long long)(a), (long long)(b))
#define CHECK_SLICE(s, lit)                                                                                            \
    CHECK((s).len == strlen(lit) && memcmp((s).ptr, lit, (s).len) == 0, "got '%.*s', want '%s'", (int)(s).len,         \
          (s).ptr, lit)

static inline int test_finish(const char *name) {
    printf("%s: %d passed, %d failed\n", name, t_passed, t_failed);
    return t_failed ? 1 : 0;
}

#endif
