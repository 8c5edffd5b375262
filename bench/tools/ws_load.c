/* ws_load - a WebSocket echo load generator for bench/run.sh extras.
 *
 *   ws_load PORT [CONNECTIONS [SECONDS [SIZE [PATH]]]]   (64, 5, 32, /ws)
 *
 * Opens CONNECTIONS connections to 127.0.0.1:PORT, upgrades each at PATH,
 * then on every connection sends one masked text frame of SIZE bytes and
 * waits for its echo before sending the next, for SECONDS, on one thread
 * with epoll. One message in flight per connection is the WebSocket
 * counterpart of wrk's one request per connection, so messages/s measures
 * the server's round trip, not how much it can buffer. Prints, one per line:
 * messages, messages/s, p50_us, p99_us (latency of each echo), the fewest and
 * most round trips of one connection, and errors (a failed upgrade, a wrong
 * echo, a close or reset by the server); exits 1 if errors is not 0. Build: cc -O2 -o ws_load ws_load.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SIZE 125          /* one-byte payload length: the header is always 6 bytes */
#define IN_CAP 4096
#define HIST_US 100000        /* 1 us buckets up to 100 ms, then one overflow bucket */

struct conn {
    int fd;
    int open;
    uint64_t echoes;          /* round trips completed on this connection */
    uint64_t sent_ns;         /* when the message now in flight was sent */
    size_t in_len;
    uint8_t in[IN_CAP];
};

static uint8_t payload[MAX_SIZE];
static size_t size = 32;
static uint64_t hist[HIST_US + 1];
static uint64_t messages, errors;
static int open_conns;
static uint32_t rng = 2463534242u;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A client frame: FIN, the opcode, the mask bit with a length under 126,
 * a fresh mask key and the masked payload. Returns its length. */
static size_t client_frame(uint8_t *out, int opcode, const uint8_t *data, size_t len) {
    rng ^= rng << 13, rng ^= rng >> 17, rng ^= rng << 5;
    uint8_t key[4] = {(uint8_t)rng, (uint8_t)(rng >> 8), (uint8_t)(rng >> 16), (uint8_t)(rng >> 24)};
    out[0] = (uint8_t)(0x80 | opcode);
    out[1] = (uint8_t)(0x80 | len);
    memcpy(out + 2, key, 4);
    for (size_t i = 0; i < len; i++) out[6 + i] = data[i] ^ key[i & 3];
    return 6 + len;
}

/* Writes all of a small frame. The socket's send buffer is empty or nearly
 * so (one message in flight), so a short write is an error, not a wait. */
static int send_all(int fd, const uint8_t *buf, size_t len) {
    ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
    return n == (ssize_t)len ? 0 : -1;
}

static int send_message(struct conn *c) {
    uint8_t frame[6 + MAX_SIZE];
    size_t n = client_frame(frame, 0x1, payload, size);
    c->sent_ns = now_ns();
    return send_all(c->fd, frame, n);
}

static void fail(struct conn *c, const char *why) {
    if (errors++ < 5) fprintf(stderr, "ws_load: connection %d: %s\n", c->fd, why);
    close(c->fd);
    c->open = 0;
    open_conns--;
}

/* Connects and upgrades, blocking: the handshake is not part of what is
 * measured. Returns the connected socket, or -1. Bytes after the 101's head
 * (there should be none) are left in c->in. */
static int upgrade(struct conn *c, int port, const char *path) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {.tv_sec = 5};
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) goto err;
    char req[512];
    int len = snprintf(req, sizeof req,
                       "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                       path, port);
    if (send_all(fd, (const uint8_t *)req, (size_t)len) < 0) goto err;
    c->in_len = 0;
    for (;;) {
        ssize_t n = recv(fd, c->in + c->in_len, IN_CAP - 1 - c->in_len, 0);
        if (n <= 0) goto err;
        c->in_len += (size_t)n;
        c->in[c->in_len] = 0;
        char *end = strstr((char *)c->in, "\r\n\r\n");
        if (end == NULL) {
            if (c->in_len >= IN_CAP - 1) goto err;
            continue;
        }
        if (strncmp((char *)c->in, "HTTP/1.1 101", 12) != 0) goto err;
        size_t head = (size_t)(end + 4 - (char *)c->in);
        memmove(c->in, c->in + head, c->in_len - head);
        c->in_len -= head;
        break;
    }
    tv.tv_sec = 0;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
err:
    close(fd);
    return -1;
}

/* Walks the whole server frames in c->in. Returns 1 for each echo that
 * completes a round trip (then the caller sends the next), 0 when more bytes
 * are needed, -1 on a protocol error or a close. */
static int take_frame(struct conn *c, uint64_t t) {
    if (c->in_len < 2) return 0;
    int opcode = c->in[0] & 0x0f, fin = c->in[0] & 0x80;
    if (c->in[1] & 0x80) return -1; /* servers do not mask */
    size_t len = c->in[1] & 0x7f, head = 2;
    if (len == 126) {
        if (c->in_len < 4) return 0;
        len = (size_t)c->in[2] << 8 | c->in[3];
        head = 4;
    } else if (len == 127) {
        return -1; /* nothing this tool sends comes back that large */
    }
    if (head + len > IN_CAP) return -1;
    if (c->in_len < head + len) return 0;
    int r = 0;
    if (opcode == 0x1 && fin && len == size && memcmp(c->in + head, payload, size) == 0) {
        uint64_t us = (t - c->sent_ns) / 1000;
        hist[us < HIST_US ? us : HIST_US]++;
        messages++;
        c->echoes++;
        r = 1;
    } else if (opcode == 0x9 && len <= MAX_SIZE) { /* ping: answer, keep waiting for the echo */
        uint8_t pong[6 + MAX_SIZE];
        if (send_all(c->fd, pong, client_frame(pong, 0xA, c->in + head, len)) < 0) return -1;
    } else if (opcode != 0xA) {
        return -1; /* a close, a wrong echo or a fragment */
    }
    memmove(c->in, c->in + head + len, c->in_len - head - len);
    c->in_len -= head + len;
    return r ? 1 : take_frame(c, t);
}

static uint64_t percentile(double p) {
    uint64_t want = (uint64_t)((double)messages * p), seen = 0;
    for (size_t i = 0; i <= HIST_US; i++) {
        seen += hist[i];
        if (seen > want) return i;
    }
    return HIST_US;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: ws_load PORT [CONNECTIONS [SECONDS [SIZE [PATH]]]]\n");
        return 2;
    }
    int port = atoi(argv[1]);
    int nconns = argc > 2 ? atoi(argv[2]) : 64;
    double seconds = argc > 3 ? atof(argv[3]) : 5;
    size = argc > 4 ? (size_t)atoi(argv[4]) : 32;
    const char *path = argc > 5 ? argv[5] : "/ws";
    if (nconns < 1 || seconds <= 0 || size < 1 || size > MAX_SIZE) {
        fprintf(stderr, "ws_load: CONNECTIONS >= 1, SECONDS > 0, SIZE 1..%d\n", MAX_SIZE);
        return 2;
    }
    for (size_t i = 0; i < size; i++) payload[i] = (uint8_t)('a' + i % 26);

    struct conn *conns = calloc((size_t)nconns, sizeof *conns);
    int ep = epoll_create1(0);
    if (conns == NULL || ep < 0) return 1;
    for (int i = 0; i < nconns; i++) {
        struct conn *c = &conns[i];
        c->fd = upgrade(c, port, path);
        if (c->fd < 0) {
            if (errors++ < 5) fprintf(stderr, "ws_load: upgrade %d failed\n", i);
            continue;
        }
        c->open = 1;
        open_conns++;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    }
    if (open_conns == 0) {
        printf("messages 0\nmessages/s 0\np50_us 0\np99_us 0\nerrors %llu\n", (unsigned long long)errors);
        return 1;
    }

    uint64_t start = now_ns(), deadline = start + (uint64_t)(seconds * 1e9);
    for (int i = 0; i < nconns; i++)
        if (conns[i].open && send_message(&conns[i]) < 0) fail(&conns[i], "send failed");
    struct epoll_event evs[256];
    uint64_t t = start;
    while (t < deadline) {
        int ms = (int)((deadline - t) / 1000000) + 1;
        int n = epoll_wait(ep, evs, 256, ms);
        if (n < 0 && errno != EINTR) break;
        t = now_ns();
        for (int k = 0; k < n; k++) {
            struct conn *c = evs[k].data.ptr;
            if (!c->open) continue;
            ssize_t got = recv(c->fd, c->in + c->in_len, IN_CAP - c->in_len, MSG_DONTWAIT);
            if (got <= 0) {
                if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
                fail(c, got == 0 ? "closed by the server" : strerror(errno));
                continue;
            }
            c->in_len += (size_t)got;
            int r;
            while ((r = take_frame(c, t)) == 1)
                if (t < deadline && send_message(c) < 0) {
                    r = -1;
                    break;
                }
            if (r < 0) fail(c, "bad frame, close or failed send");
        }
    }
    double elapsed = (double)(now_ns() - start) / 1e9;

    /* Close as a client should: a close frame (1000), then wait a little for
     * the server's close so that neither side logs a reset. */
    static const uint8_t normal[2] = {0x03, 0xe8};
    for (int i = 0; i < nconns; i++) {
        struct conn *c = &conns[i];
        uint8_t frame[8];
        if (c->open && send_all(c->fd, frame, client_frame(frame, 0x8, normal, 2)) == 0) shutdown(c->fd, SHUT_WR);
    }
    uint64_t linger = now_ns() + 1000000000u;
    while (open_conns > 0 && now_ns() < linger) {
        int n = epoll_wait(ep, evs, 256, 100);
        for (int k = 0; k < n; k++) {
            struct conn *c = evs[k].data.ptr;
            uint8_t sink[4096];
            ssize_t got = c->open ? recv(c->fd, sink, sizeof sink, MSG_DONTWAIT) : 1;
            if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
                close(c->fd);
                c->open = 0;
                open_conns--;
            }
        }
    }
    for (int i = 0; i < nconns; i++)
        if (conns[i].open) close(conns[i].fd);

    printf("connections %d\nseconds %.2f\nsize %zu\n", nconns, elapsed, size);
    printf("messages %llu\nmessages/s %.0f\n", (unsigned long long)messages, (double)messages / elapsed);
    printf("p50_us %llu\np99_us %llu\n", (unsigned long long)percentile(0.50), (unsigned long long)percentile(0.99));
    /* The fewest and most round trips of one connection: far apart when a
     * server serves some connections and starves others. */
    uint64_t lo = UINT64_MAX, hi = 0;
    for (int i = 0; i < nconns; i++) {
        if (conns[i].echoes < lo) lo = conns[i].echoes;
        if (conns[i].echoes > hi) hi = conns[i].echoes;
    }
    printf("per_connection_min %llu\nper_connection_max %llu\nerrors %llu\n", (unsigned long long)lo,
           (unsigned long long)hi, (unsigned long long)errors);
    return errors ? 1 : 0;
}
