/* peer.c - the client's address: recorded once at accept (the backends get
 * it from the accept itself, so it costs no system call), read by handlers
 * and access logs through the response they write. */
#include "conn.h"
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

void chopin__peer_set(chopin_peer *out, const void *addr, uint32_t addr_len) {
    memset(out, 0, sizeof *out);
    if (!addr || addr_len < sizeof(sa_family_t)) return;
    sa_family_t family;
    memcpy(&family, addr, sizeof family);
    if (family == AF_INET && addr_len >= sizeof(struct sockaddr_in)) {
        struct sockaddr_in in4;
        memcpy(&in4, addr, sizeof in4);
        out->family = 4;
        out->port = ntohs(in4.sin_port);
        memcpy(out->addr, &in4.sin_addr, 4);
    } else if (family == AF_INET6 && addr_len >= sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 in6;
        memcpy(&in6, addr, sizeof in6);
        out->port = ntohs(in6.sin6_port);
        if (IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr)) {
            /* A dual-stack listener's IPv4 client: say what the client is. */
            out->family = 4;
            memcpy(out->addr, &in6.sin6_addr.s6_addr[12], 4);
        } else {
            out->family = 6;
            memcpy(out->addr, &in6.sin6_addr, 16);
        }
    }
}

int chopin_response_peer(const chopin_response *res, chopin_peer *out) {
    memset(out, 0, sizeof *out);
    if (!res->worker) return -1;
    const chopin_conn *c = chopin__conn_lookup(res->worker, res->conn_idx, res->conn_gen);
    if (!c || c->peer.family == 0) return -1;
    *out = c->peer;
    return 0;
}
