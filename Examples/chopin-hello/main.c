/* chopin-hello - the C example server.
 *   GET /plaintext -> 200 text/plain "Hello, World!"
 *   GET /json      -> 200 application/json {"message":"Hello, World!"}
 *   POST /echo     -> 200 with the request body
 *   anything else  -> 404 (501 for methods the server does not know)
 * Usage: chopin-hello [--port N] [--workers N] [--backend auto|uring|epoll] [--isolation threads|shared-process|processes] [--host ADDR]
 *                    [--tls-cert PEM --tls-key PEM [--kernel-tls auto|off]]   (HTTPS; the bench's TLS rows use it) */
#include <chopin/chopin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int path_is(const chopin_request *req, const char *p) {
    size_t n = strlen(p);
    return req->path.len == n && memcmp(req->path.ptr, p, n) == 0;
}

static void handle(void *ctx, const chopin_request *req, chopin_response *res) {
    (void)ctx;
    static const char hello[] = "Hello, World!";
    static const char json[] = "{\"message\":\"Hello, World!\"}";
    int get = req->method == CHOPIN_METHOD_GET || req->method == CHOPIN_METHOD_HEAD;
    if (req->method == CHOPIN_METHOD_OTHER) {
        chopin_response_send(res, 501, NULL, NULL, 0);
    } else if (get && path_is(req, "/plaintext")) {
        chopin_response_send(res, 200, "text/plain", hello, sizeof hello - 1);
    } else if (get && path_is(req, "/json")) {
        chopin_response_send(res, 200, "application/json", json, sizeof json - 1);
    } else if (req->method == CHOPIN_METHOD_POST && path_is(req, "/echo")) {
        const chopin_header *ct = chopin_request_header(req, "content-type", 12);
        chopin_response_start(res, 200);
        if (ct) chopin_response_header(res, "Content-Type", 12, ct->value.ptr, ct->value.len);
        chopin_response_write(res, req->body.ptr, req->body.len);
        chopin_response_end(res);
    } else {
        chopin_response_send(res, 404, "text/plain", "Not Found", 9);
    }
}

static void usage(const char *argv0) {
    fprintf(stderr, "usage: %s [--port N] [--workers N] [--backend auto|uring|epoll] [--isolation threads|shared-process|processes] [--host ADDR] [--tls-cert PEM --tls-key PEM [--kernel-tls auto|off]]\n", argv0);
    exit(2);
}

static long number(const char *s, const char *what, long lo, long hi) {
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "chopin-hello: %s must be a number between %ld and %ld, got '%s'\n", what, lo, hi, s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv) {
    chopin_config cfg;
    chopin_config_init(&cfg);
    chopin_tls_options tls_opts = {0};
    cfg.handler = handle;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc) usage(argv[0]);
        if (strcmp(a, "--port") == 0)
            cfg.port = (uint16_t)number(argv[++i], "--port", 0, 65535);
        else if (strcmp(a, "--workers") == 0)
            cfg.workers = (uint32_t)number(argv[++i], "--workers", 0, 1024);
        else if (strcmp(a, "--host") == 0)
            cfg.host = argv[++i];
        else if (strcmp(a, "--tls-cert") == 0)
            tls_opts.cert_file = argv[++i];
        else if (strcmp(a, "--tls-key") == 0)
            tls_opts.key_file = argv[++i];
        else if (strcmp(a, "--kernel-tls") == 0) {
            const char *v = argv[++i];
            if (strcmp(v, "auto") != 0 && strcmp(v, "off") != 0) {
                fprintf(stderr, "chopin-hello: --kernel-tls must be auto or off, got '%s'\n", v);
                return 2;
            }
            tls_opts.kernel = strcmp(v, "off") == 0 ? CHOPIN_TLS_KERNEL_OFF : CHOPIN_TLS_KERNEL_AUTO;
        }
        else if (strcmp(a, "--backend") == 0) {
            if (chopin_backend_parse(argv[++i], &cfg.backend) < 0) {
                fprintf(stderr, "chopin-hello: --backend must be auto, uring or epoll, got '%s'\n", argv[i]);
                return 2;
            }
        } else if (strcmp(a, "--isolation") == 0) {
            const char *v = argv[++i];
            if (strcmp(v, "threads") != 0 && strcmp(v, "processes") != 0 && strcmp(v, "shared-process") != 0) {
                fprintf(stderr, "chopin-hello: --isolation must be threads, shared-process or processes, got '%s'\n", v);
                return 2;
            }
            cfg.isolation = strcmp(v, "processes") == 0        ? CHOPIN_ISOLATION_PROCESSES
                            : strcmp(v, "shared-process") == 0 ? CHOPIN_ISOLATION_SHARED_PROCESS
                                                               : CHOPIN_ISOLATION_THREADS;
        } else
            usage(argv[0]);
    }
    char err[256];
    if (tls_opts.cert_file || tls_opts.key_file) {
        cfg.tls = chopin_tls_new(&tls_opts, err, sizeof err);
        if (!cfg.tls) {
            fprintf(stderr, "chopin-hello: TLS: %s\n", err);
            return 1;
        }
    }
    chopin_server *srv = chopin_server_start(&cfg, err, sizeof err);
    if (!srv) {
        fprintf(stderr, "chopin-hello: %s\n", err);
        return 1;
    }
    return chopin_server_run_until_signal(srv);
}
