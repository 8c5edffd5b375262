/* net.h - a small blocking HTTP client for the integration tests: raw bytes
 * over real sockets, responses framed by Content-Length. */
#ifndef CHOPIN_TEST_NET_H
#define CHOPIN_TEST_NET_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct client {
    int fd;
    char buf[1 << 20];
    size_t len;
} client;

typedef struct response {
    int status;
    char body[1 << 17];
    size_t body_len;
    int conn_close;    /* Connection: close */
    int keep_alive_10; /* Connection: keep-alive */
    int has_date;
    int has_content_length;
} response;

static inline uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline int client_connect(client *c, uint16_t port) {
    c->len = 0;
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    return 0;
}

static inline void client_close(client *c) {
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
}

static inline int client_send(client *c, const char *s, size_t n) {
    while (n) {
        ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);
        if (w <= 0) return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}
#define SEND(c, lit) client_send((c), lit, sizeof(lit) - 1)

/* Reads more bytes within timeout_ms: >0 bytes, 0 EOF, -1 timeout, -2 error. */
static inline int client_fill(client *c, int timeout_ms) {
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    int r = poll(&p, 1, timeout_ms);
    if (r == 0) return -1;
    if (c->len == sizeof c->buf) return -2;
    ssize_t n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
    if (n < 0) return errno == ECONNRESET ? 0 : -2;
    c->len += (size_t)n;
    return (int)n;
}

static inline const char *find_header(const char *head, size_t hlen, const char *name) {
    size_t nl = strlen(name);
    for (const char *p = head; p + nl < head + hlen; p++) {
        if ((p == head || p[-1] == '\n') && strncasecmp(p, name, nl) == 0 && p[nl] == ':') return p + nl + 1;
    }
    return NULL;
}

/* Reads one response (skipping 100 Continue unless want_interim). 0 on
 * success, -1 on timeout, -2 on EOF or error before a whole response. */
static inline int client_read_response(client *c, response *r, int timeout_ms, int want_interim) {
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        char *end = c->len ? memmem(c->buf, c->len, "\r\n\r\n", 4) : NULL;
        if (end) {
            size_t hlen = (size_t)(end - c->buf) + 4;
            memset(r, 0, offsetof(response, body));
            r->body_len = 0;
            r->status = atoi(c->buf + 9);
            const char *cl = find_header(c->buf, hlen, "Content-Length");
            size_t blen = cl ? strtoul(cl, NULL, 10) : 0;
            r->has_content_length = cl != NULL;
            const char *conn = find_header(c->buf, hlen, "Connection");
            r->conn_close = conn && strncasecmp(conn + 1, "close", 5) == 0;
            r->keep_alive_10 = conn && strncasecmp(conn + 1, "keep-alive", 10) == 0;
            r->has_date = find_header(c->buf, hlen, "Date") != NULL;
            if (r->status == 100 && !want_interim) {
                memmove(c->buf, c->buf + hlen, c->len - hlen);
                c->len -= hlen;
                continue;
            }
            if (c->len >= hlen + blen) {
                size_t keep = blen < sizeof r->body ? blen : sizeof r->body;
                memcpy(r->body, c->buf + hlen, keep);
                r->body_len = blen;
                memmove(c->buf, c->buf + hlen + blen, c->len - hlen - blen);
                c->len -= hlen + blen;
                return 0;
            }
        }
        int left = (int)(deadline > now_ms() ? deadline - now_ms() : 0);
        int n = client_fill(c, left);
        if (n == -1) return -1;
        if (n <= 0) return -2;
    }
}

/* 1 when the server closes the connection within timeout_ms (any bytes
 * still arriving before the close are discarded). */
static inline int client_wait_eof(client *c, int timeout_ms) {
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        int left = (int)(deadline > now_ms() ? deadline - now_ms() : 0);
        c->len = 0;
        int n = client_fill(c, left);
        if (n == 0 || n == -2) return 1;
        if (n == -1) return 0;
    }
}

/* 1 when nothing arrives within ms. */
static inline int client_silent(client *c, int ms) {
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    return poll(&p, 1, ms) == 0;
}

#endif
