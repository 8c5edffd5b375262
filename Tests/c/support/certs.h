/* certs.h - a self-signed test certificate for localhost (EC P-256, two
 * days), made with the openssl command in a fresh directory under /tmp,
 * and that directory removed at the end. */
#ifndef CHOPIN_TEST_CERTS_H
#define CHOPIN_TEST_CERTS_H

#include <stdio.h>
#include <stdlib.h>

typedef struct test_pair {
    char dir[64], cert[96], key[96];
} test_pair;

/* 0, or -1 with the reason said (no openssl command, no /tmp). */
static inline int test_pair_make(test_pair *p, const char *name) {
    snprintf(p->dir, sizeof p->dir, "/tmp/chopin-%s.XXXXXX", name);
    if (!mkdtemp(p->dir)) {
        perror("mkdtemp");
        return -1;
    }
    snprintf(p->cert, sizeof p->cert, "%s/cert.pem", p->dir);
    snprintf(p->key, sizeof p->key, "%s/key.pem", p->dir);
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s -out %s -days 2 "
             "-subj /CN=localhost -addext subjectAltName=DNS:localhost >/dev/null 2>&1",
             p->key, p->cert);
    if (system(cmd) != 0) {
        fprintf(stderr, "the openssl command could not make a test certificate\n");
        return -1;
    }
    return 0;
}

static inline void test_pair_remove(const test_pair *p) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", p->dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", p->dir);
}

#endif
