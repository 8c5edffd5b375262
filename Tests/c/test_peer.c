/* test_peer.c - the client's address a handler reads (chopin_response_peer),
 * over real sockets on each backend: IPv4, IPv6, an IPv4 client of a
 * dual-stack listener (given as IPv4), and the port the client connected from. */
#include "fixture.h"
#include "net.h"
#include "test.h"

#include <stdio.h>

/* Answers "<family> <address> <port>", or "unknown". */
static void app(void *ctx, const chopin_request *req, chopin_response *res) {
    (void)ctx;
    (void)req;
    chopin_peer p;
    char text[128] = "unknown";
    if (chopin_response_peer(res, &p) == 0) {
        char addr[INET6_ADDRSTRLEN] = "";
        inet_ntop(p.family == 6 ? AF_INET6 : AF_INET, p.addr, addr, sizeof addr);
        snprintf(text, sizeof text, "%u %s %u", p.family, addr, p.port);
    }
    chopin_response_send(res, 200, "text/plain", text, strlen(text));
}

/* Connects to host:port over family, asks once, and checks the answer
 * names the client's own address and port. */
static void check_peer(const char *host, int family, uint16_t port, const char *want_family_and_addr) {
    struct sockaddr_storage a;
    memset(&a, 0, sizeof a);
    socklen_t alen;
    if (family == AF_INET6) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&a;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        inet_pton(AF_INET6, host, &a6->sin6_addr);
        alen = sizeof *a6;
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&a;
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        inet_pton(AF_INET, host, &a4->sin_addr);
        alen = sizeof *a4;
    }
    static client c;
    static response r;
    c.len = 0;
    c.fd = socket(family, SOCK_STREAM, 0);
    CHECK(connect(c.fd, (struct sockaddr *)&a, alen) == 0, "connect to %s: %s", host, strerror(errno));
    struct sockaddr_storage local;
    socklen_t llen = sizeof local;
    getsockname(c.fd, (struct sockaddr *)&local, &llen);
    uint16_t local_port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&local)->sin6_port
                                                   : ((struct sockaddr_in *)&local)->sin_port);
    const char *req = "GET /peer HTTP/1.1\r\nHost: x\r\n\r\n";
    client_send(&c, req, strlen(req));
    CHECK(client_read_response(&c, &r, 2000, 0) == 0, "no response from %s", host);
    char want[128];
    snprintf(want, sizeof want, "%s %u", want_family_and_addr, local_port);
    CHECK(r.body_len == strlen(want) && memcmp(r.body, want, r.body_len) == 0, "%s: got '%.*s', want '%s'", host,
          (int)r.body_len, r.body, want);
    client_close(&c);
}

static int ipv6_loopback_works(void) {
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    int ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

static void run_backend(const char *backend) {
    (void)backend;
    chopin_config cfg = fixture_config(app);
    chopin_server *s = fixture_start(&cfg);
    CHECK(s != NULL, "start on 127.0.0.1");
    if (!s) return;
    /* Several connections: each accept slot (io_uring) hands over its own address. */
    for (int i = 0; i < 12; i++)
        check_peer("127.0.0.1", AF_INET, chopin_server_port(s), "4 127.0.0.1");
    fixture_stop(s);

    if (!ipv6_loopback_works()) {
        fprintf(stderr, "NOTE: no IPv6 loopback here: the IPv6 peer checks did not run\n");
        return;
    }
    cfg.host = "::1";
    s = fixture_start(&cfg);
    CHECK(s != NULL, "start on ::1");
    if (!s) return;
    check_peer("::1", AF_INET6, chopin_server_port(s), "6 ::1");
    fixture_stop(s);

    /* A dual-stack listener sees an IPv4 client as ::ffff:127.0.0.1; the
     * handler is told 127.0.0.1. */
    cfg.host = "::";
    s = fixture_start(&cfg);
    CHECK(s != NULL, "start on ::");
    if (!s) return;
    check_peer("127.0.0.1", AF_INET, chopin_server_port(s), "4 127.0.0.1");
    fixture_stop(s);
}

int main(void) {
    fixture_each_backend(run_backend);
    return test_finish("test_peer");
}
