/* fixture.h - a test server the way every integration test wants one: one
 * worker on an ephemeral loopback port, quiet, on the backend under test;
 * and a runner that repeats a test on each backend this machine has. */
#ifndef CHOPIN_TEST_FIXTURE_H
#define CHOPIN_TEST_FIXTURE_H

#include "http/compress.h"
#include "process/process.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The backend the current pass runs on: "epoll" or "uring". */
static const char *backend_name = "epoll";

static inline chopin_config fixture_config(chopin_handler_fn app) {
    chopin_config cfg;
    chopin_config_init(&cfg);
    cfg.host = "127.0.0.1";
    cfg.port = 0;
    cfg.workers = 1;
    cfg.quiet = 1;
    cfg.handler = app;
    chopin_backend_parse(backend_name, &cfg.backend);
    return cfg;
}

static inline chopin_server *fixture_start(const chopin_config *cfg) {
    char err[256];
    chopin_server *s = chopin_server_start(cfg, err, sizeof err);
    if (!s) fprintf(stderr, "server start failed (%s): %s\n", backend_name, err);
    return s;
}

static inline void fixture_stop(chopin_server *s) {
    if (!s) return;
    chopin_server_stop(s);
    chopin_server_wait(s);
}

/* Runs pass(backend) on epoll, then on io_uring where the kernel allows it
 * (saying loudly when it does not). Returns how many passes ran. */
static inline int fixture_each_backend(void (*pass)(const char *backend)) {
    signal(SIGPIPE, SIG_IGN);
    unsetenv("CHOPIN_BACKEND");
    static const char *const names[] = {"epoll", "uring"};
    int ran = 0;
    for (int i = 0; i < 2; i++) {
        if (i == 1) {
            int rc = chopin__uring_probe();
            if (rc != 0) {
                fprintf(stderr, "NOTE: io_uring unavailable here (%s): the io_uring pass did not run\n",
                        strerror(-rc));
                break;
            }
        }
        backend_name = names[i];
        fprintf(stderr, "-- backend %s\n", backend_name);
        pass(backend_name);
        ran++;
    }
    return ran;
}

#endif
