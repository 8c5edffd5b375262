/* listen.c - where a server listens: its configuration's defaults and
 * checks (the host must be an address), and the SO_REUSEPORT listeners
 * opened for it, one per worker slot. */
#include "process.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void chopin_config_init(chopin_config *c) {
    memset(c, 0, sizeof *c);
    c->host = "0.0.0.0";
    c->port = 8080;
    c->workers = 0;
    c->backend = CHOPIN_BACKEND_AUTO;
    c->max_connections = 16384;
    c->max_request_line = 8192;
    c->max_head_bytes = 16384;
    c->max_headers = 100;
    c->max_body = 1u << 20;
    c->max_chunk_ext = 1024;
    c->max_trailer = 8192;
    c->max_pending_output = 256u << 10;
    c->max_pipelined = 32;
    c->max_streamed_body = 1ull << 30;
    c->uring_buffers = 512;
    c->uring_buffer_size = 8192;
    c->header_timeout_ms = 10000;
    c->body_timeout_ms = 30000;
    c->idle_timeout_ms = 60000;
    c->write_timeout_ms = 30000;
    c->shutdown_timeout_ms = 10000;
    c->drain_ms = 3000;
    c->worker_start_timeout_ms = 60000;
    c->linger_timeout_ms = 5000;
    c->max_linger_bytes = 4u << 20;
    c->max_deferred = 1024;
    c->deferred_timeout_ms = 30000;
    c->tls_handshake_timeout_ms = 10000;
    c->max_tls_handshakes = 256;
}

int chopin_backend_parse(const char *name, chopin_backend_kind *out) {
    if (!name) return -1;
    if (strcmp(name, "auto") == 0)
        *out = CHOPIN_BACKEND_AUTO;
    else if (strcmp(name, "uring") == 0 || strcmp(name, "io_uring") == 0)
        *out = CHOPIN_BACKEND_URING;
    else if (strcmp(name, "epoll") == 0)
        *out = CHOPIN_BACKEND_EPOLL;
    else
        return -1;
    return 0;
}

static int parse_host(const char *host, uint16_t port, struct sockaddr_storage *ss, socklen_t *len) {
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        *len = sizeof *a4;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        *len = sizeof *a6;
        return 0;
    }
    return -1;
}

int chopin_config_validate(const chopin_config *c, char *err, size_t err_len) {
    struct sockaddr_storage ss;
    socklen_t sl;
    if (!c->host || parse_host(c->host, c->port, &ss, &sl) < 0)
        FAIL("host '%s' is not an IPv4 or IPv6 address", c->host ? c->host : "(null)");
    if (!c->handler) FAIL("no handler: set config.handler");
    if (c->workers > 1024) FAIL("workers is %u; at most 1024", c->workers);
    if (c->backend != CHOPIN_BACKEND_AUTO && c->backend != CHOPIN_BACKEND_URING && c->backend != CHOPIN_BACKEND_EPOLL)
        FAIL("backend must be auto, uring or epoll");
    if (c->max_connections < 1 || c->max_connections > (1u << 24))
        FAIL("max_connections is %u; it must be between 1 and 16777216", c->max_connections);
    if (c->max_request_line < 16) FAIL("max_request_line is %u; at least 16 bytes", c->max_request_line);
    if (c->max_head_bytes < c->max_request_line)
        FAIL("max_head_bytes (%u) must be at least max_request_line (%u)", c->max_head_bytes, c->max_request_line);
    if (c->max_head_bytes > (64u << 20)) FAIL("max_head_bytes is %u; at most 64 MiB", c->max_head_bytes);
    if (c->max_headers < 1 || c->max_headers > 65536) FAIL("max_headers is %u; between 1 and 65536", c->max_headers);
    if (c->max_body > (1ull << 31)) FAIL("max_body is %llu; at most 2 GiB", (unsigned long long)c->max_body);
    if (c->max_pending_output < 1024) FAIL("max_pending_output is %u; at least 1024 bytes", c->max_pending_output);
    if (c->max_pipelined < 1) FAIL("max_pipelined must be at least 1");
    if (c->uring_buffers < 1 || c->uring_buffers > 32768 || (c->uring_buffers & (c->uring_buffers - 1)))
        FAIL("uring_buffers is %u; a power of two from 1 to 32768", c->uring_buffers);
    if (c->uring_buffer_size < 512 || c->uring_buffer_size > (1u << 20))
        FAIL("uring_buffer_size is %u; between 512 and 1048576 bytes", c->uring_buffer_size);
    if (!c->header_timeout_ms || !c->body_timeout_ms || !c->idle_timeout_ms || !c->write_timeout_ms ||
        !c->deferred_timeout_ms || !c->worker_start_timeout_ms)
        FAIL("timeouts must be above 0 ms");
    if (c->max_deferred < 1) FAIL("max_deferred must be at least 1");
    if (c->tls && (!c->tls_handshake_timeout_ms || c->max_tls_handshakes < 1))
        FAIL("with TLS, tls_handshake_timeout_ms and max_tls_handshakes must be at least 1");
    if (c->isolation != CHOPIN_ISOLATION_THREADS && c->isolation != CHOPIN_ISOLATION_PROCESSES &&
        c->isolation != CHOPIN_ISOLATION_SHARED_PROCESS)
        FAIL("isolation must be threads, processes or shared_process");
    return 0;
}

/* SO_REUSEPORT would let this server share a port silently with another
 * process already on it (same user), splitting its traffic. A plain bind
 * first, without SO_REUSEPORT, fails in that case: say so instead. */
int chopin__port_in_use(const chopin_config *c, uint16_t port) {
    struct sockaddr_storage ss;
    socklen_t sl;
    parse_host(c->host, port, &ss, &sl);
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int taken = bind(fd, (struct sockaddr *)&ss, sl) < 0 && errno == EADDRINUSE;
    close(fd);
    return taken;
}

/* The port socket fd is bound to, in *port: 0, or -1 when fd is no socket. */
int chopin__bound_port(int fd, uint16_t *port) {
    struct sockaddr_storage got;
    socklen_t gl = sizeof got;
    if (getsockname(fd, (struct sockaddr *)&got, &gl) < 0) return -1;
    *port = ntohs(got.ss_family == AF_INET ? ((struct sockaddr_in *)&got)->sin_port
                                           : ((struct sockaddr_in6 *)&got)->sin6_port);
    return 0;
}

int chopin__open_listener(const chopin_config *c, uint16_t port, uint16_t *bound, char *err, size_t err_len) {
    struct sockaddr_storage ss;
    socklen_t sl;
    parse_host(c->host, port, &ss, &sl);
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) FAIL("socket: %s", strerror(errno));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) {
        snprintf(err, err_len, "SO_REUSEPORT: %s", strerror(errno));
        close(fd);
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 4096) < 0) {
        snprintf(err, err_len, "cannot listen on %s:%u: %s", c->host, port, strerror(errno));
        close(fd);
        return -1;
    }
    chopin__bound_port(fd, bound);
    return fd;
}
