/* test_tls_kernel_conn.c - kTLS from the connection's side, over real
 * sockets, on any kernel: this test plays the kernel's tls ULP. Its
 * setsockopt takes what a connection hands over (TCP_ULP "tls", then the
 * TLS_TX keys), and from then on its send, sendfile and sendmsg seal what
 * the worker sends into records, as the kernel would, before the bytes
 * reach the socket. OpenSSL's client must read every answer whole: two
 * requests on one connection, 32 pipelined requests, a 1 MiB file by
 * sendfile, a 1 MiB file asked for with TLS 1.3's Finished (its head
 * sealed by OpenSSL, its body by the kernel), a last
 * answer ending with a close_notify sealed as an alert record, TLS 1.3 and
 * 1.2. A client's KeyUpdate that asks nothing back changes nothing; one
 * that asks for ours closes the connection (the kernel has the write keys
 * now, and nothing can answer it). The epoll backend only: io_uring's sends
 * go to the kernel without a call this test can take (test_tls runs both
 * backends with the real kernel where it offers the ULP). */
#include "certs.h"
#include "fixture.h"
#include "kernel_tls.h"
#include "net.h"
#include "test.h"
#include "tls_client.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/sendfile.h>
#include <sys/syscall.h>

#define FILE_SIZE (1u << 20)

static test_pair certs;
static char path[128];

static unsigned char pattern(uint64_t i) { return (unsigned char)(i * 13 + (i >> 10)); }

/* ---- the kernel, played here ------------------------------------------------------ */

#define MAX_FD 4096
typedef struct fake_socket {
    int ulp; /* TCP_ULP "tls" set */
    int tx;  /* TLS_TX keys taken: what is sent is sealed */
    kernel_sealer k;
} fake_socket;
static fake_socket fakes[MAX_FD];
static atomic_ulong handovers, records_sealed, file_bytes_sealed, alerts_sealed;

static long (*real_syscall)(long, ...);
static ssize_t (*real_sendfile)(int, int, off_t *, size_t);
static ssize_t (*real_sendmsg)(int, const struct msghdr *, int);
static int (*real_setsockopt)(int, int, int, const void *, socklen_t);
static int (*real_close)(int);

__attribute__((constructor)) static void find_real_calls(void) {
    real_syscall = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
    real_sendfile = (ssize_t (*)(int, int, off_t *, size_t))dlsym(RTLD_NEXT, "sendfile");
    real_sendmsg = (ssize_t (*)(int, const struct msghdr *, int))dlsym(RTLD_NEXT, "sendmsg");
    real_setsockopt = (int (*)(int, int, int, const void *, socklen_t))dlsym(RTLD_NEXT, "setsockopt");
    real_close = (int (*)(int))dlsym(RTLD_NEXT, "close");
}

static fake_socket *sealing(int fd) { return fd >= 0 && fd < MAX_FD && fakes[fd].tx ? &fakes[fd] : NULL; }

/* Seals data as records of `type` (16 KiB of plaintext at most each) and
 * writes them whole, waiting for room as the kernel's blocking part would. */
static ssize_t seal_out(int fd, fake_socket *f, int type, const void *data, size_t len) {
    static __thread unsigned char rec[16384 + 64];
    const unsigned char *p = data;
    for (size_t done = 0; done < len || (len == 0 && done == 0);) {
        size_t n = len - done < 16384 ? len - done : 16384;
        size_t rl = kernel_seal(&f->k, type, p + done, n, rec);
        atomic_fetch_add(&records_sealed, 1);
        for (size_t w = 0; w < rl;) {
            long r = real_syscall(SYS_sendto, fd, rec + w, rl - w, MSG_NOSIGNAL, NULL, 0);
            if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
                struct pollfd pf = {.fd = fd, .events = POLLOUT};
                poll(&pf, 1, 1000);
                continue;
            }
            if (r < 0) return -1;
            w += (size_t)r;
        }
        done += n;
        if (len == 0) break;
    }
    return (ssize_t)len;
}

long syscall(long nr, ...) {
    va_list ap;
    va_start(ap, nr);
    long a[6];
    for (int i = 0; i < 6; i++)
        a[i] = va_arg(ap, long);
    va_end(ap);
    fake_socket *f;
    if (nr == SYS_sendto && (f = sealing((int)a[0])))
        return seal_out((int)a[0], f, 23, (const void *)a[1], (size_t)a[2]);
    return real_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

ssize_t sendfile(int out, int in, off_t *off, size_t count) {
    fake_socket *f = sealing(out);
    if (!f) return real_sendfile(out, in, off, count);
    static __thread unsigned char part[65536];
    ssize_t n = pread(in, part, count < sizeof part ? count : sizeof part, *off);
    if (n <= 0) return n;
    if (seal_out(out, f, 23, part, (size_t)n) < 0) return -1;
    *off += n;
    atomic_fetch_add(&file_bytes_sealed, (unsigned long)n);
    return n;
}

ssize_t sendmsg(int fd, const struct msghdr *m, int flags) {
    fake_socket *f = sealing(fd);
    if (!f) return real_sendmsg(fd, m, flags);
    int type = 23;
    for (struct cmsghdr *h = CMSG_FIRSTHDR(m); h; h = CMSG_NXTHDR((struct msghdr *)m, h))
        if (h->cmsg_level == SOL_TLS && h->cmsg_type == TLS_SET_RECORD_TYPE) type = *CMSG_DATA(h);
    unsigned char all[256];
    size_t n = 0;
    for (size_t i = 0; i < m->msg_iovlen && n + m->msg_iov[i].iov_len <= sizeof all; i++) {
        memcpy(all + n, m->msg_iov[i].iov_base, m->msg_iov[i].iov_len);
        n += m->msg_iov[i].iov_len;
    }
    if (type == 21) atomic_fetch_add(&alerts_sealed, 1);
    return seal_out(fd, f, type, all, n);
}

int setsockopt(int fd, int level, int name, const void *value, socklen_t len) {
    if (fd >= 0 && fd < MAX_FD && level == IPPROTO_TCP && name == TCP_ULP && len >= 3 && !memcmp(value, "tls", 3)) {
        fakes[fd].ulp = 1; /* the server's probe too: the kernel "offers" the ULP */
        return 0;
    }
    if (fd >= 0 && fd < MAX_FD && level == SOL_TLS && name == TLS_TX) {
        if (!fakes[fd].ulp || sealer_init(&fakes[fd].k, value, len) < 0) {
            errno = EINVAL;
            return -1;
        }
        fakes[fd].tx = 1;
        atomic_fetch_add(&handovers, 1);
        return 0;
    }
    return real_setsockopt(fd, level, name, value, len);
}

int close(int fd) {
    if (fd >= 0 && fd < MAX_FD) memset(&fakes[fd], 0, sizeof fakes[fd]);
    return real_close(fd);
}

/* ---- the server ------------------------------------------------------------------- */

static void app(void *ctx, const chopin_request *req, chopin_response *res) {
    (void)ctx;
    const char *p = req->path.ptr;
    size_t n = req->path.len;
    if (n >= 3 && memcmp(p, "/n/", 3) == 0) {
        chopin_response_send(res, 200, "text/plain", p + 3, n - 3);
    } else if (n == 5 && memcmp(p, "/file", 5) == 0) {
        chopin_response_start(res, 200);
        chopin_response_file(res, open(path, O_RDONLY | O_CLOEXEC), 0, FILE_SIZE);
    } else {
        chopin_response_send(res, 404, "text/plain", "no", 2);
    }
}

/* ---- the client's side (tls_client.h) -------------------------------------------- */

/* One response: its status, its body (checked against the file's pattern
 * when `file`, else copied into body), -1 when it did not come whole. */
static int tls_response(tls_client *c, int file, char *body, size_t cap) {
    size_t want = 0, got = 0;
    int status = tls_head(c, &want);
    if (status < 0) return -1;
    while (got < want) {
        if (c->len == 0 && tls_fill(c) < 0) return -1;
        size_t take = c->len < want - got ? c->len : want - got;
        for (size_t i = 0; i < take; i++) {
            if (file && (unsigned char)c->buf[i] != pattern(got + i)) return -1;
            if (!file && got + i < cap - 1) body[got + i] = c->buf[i];
        }
        memmove(c->buf, c->buf + take, c->len - take);
        c->len -= take;
        got += take;
    }
    if (!file) body[got < cap - 1 ? got : cap - 1] = 0;
    return status;
}

static int get(tls_client *c, const char *target, char *body, size_t cap) {
    char req[128];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", target);
    if (tls_send(c, req, (size_t)n) < 0) return -1;
    return tls_response(c, strcmp(target, "/file") == 0, body, cap);
}

/* The server ended the connection within ms (EOF, a reset, or an alert). */
static int server_ended(tls_client *c, int ms) {
    uint64_t until = now_ms() + (uint64_t)ms;
    while (now_ms() < until) {
        char b[256];
        if (SSL_read(c->ssl, b, sizeof b) <= 0) {
            int e = SSL_get_error(c->ssl, 0);
            if (e != SSL_ERROR_WANT_READ) return 1;
        }
    }
    return 0;
}

static void answers(SSL_CTX *ctx, uint16_t port, const char *version) {
    char name[64], body[64];
    snprintf(name, sizeof name, "%s: two answers", version);
    t_case = name;
    tls_client c;
    unsigned long before = atomic_load(&handovers);
    CHECK(tls_open(&c, ctx, port) == 0, "handshake");
    CHECK(get(&c, "/n/1", body, sizeof body) == 200 && strcmp(body, "1") == 0, "the first: %s", body);
    CHECK(get(&c, "/n/2", body, sizeof body) == 200 && strcmp(body, "2") == 0, "the second: %s", body);
    CHECK(atomic_load(&handovers) == before + 1, "the keys went to the kernel once");

    snprintf(name, sizeof name, "%s: pipelined", version);
    static char reqs[32 * 40];
    size_t n = 0;
    for (int i = 0; i < 32; i++)
        n += (size_t)snprintf(reqs + n, sizeof reqs - n, "GET /n/%d HTTP/1.1\r\nHost: x\r\n\r\n", i);
    SSL_write(c.ssl, reqs, (int)n);
    int in_order = 0;
    for (int i = 0; i < 32; i++)
        if (tls_response(&c, 0, body, sizeof body) == 200 && atoi(body) == i) in_order++;
    CHECK_EQ_INT(in_order, 32);

    snprintf(name, sizeof name, "%s: a file after the handover", version);
    unsigned long file_before = atomic_load(&file_bytes_sealed);
    CHECK(get(&c, "/file", NULL, 0) == 200, "the file, byte for byte");
    CHECK(atomic_load(&file_bytes_sealed) - file_before == FILE_SIZE, "all of it by sendfile: %lu",
          atomic_load(&file_bytes_sealed) - file_before);

    snprintf(name, sizeof name, "%s: close_notify", version);
    unsigned long alerts = atomic_load(&alerts_sealed);
    static const char last[] = "GET /n/9 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    SSL_write(c.ssl, last, (int)strlen(last));
    CHECK(tls_response(&c, 0, body, sizeof body) == 200 && strcmp(body, "9") == 0, "the last answer: %s", body);
    char b[16];
    int r = SSL_read(c.ssl, b, sizeof b);
    CHECK(r == 0 && SSL_get_error(c.ssl, r) == SSL_ERROR_ZERO_RETURN, "the end is a close_notify: %d, %d", r,
          SSL_get_error(c.ssl, r));
    CHECK(atomic_load(&alerts_sealed) == alerts + 1, "sealed by the kernel, as an alert record");
    ERR_clear_error();
    tls_close(&c);
}

/* TLS 1.3: the client's Finished and its first request in one write, so
 * that the request is read before the session ticket has left: the ticket
 * and the response head are sealed by OpenSSL, then the keys go to the
 * kernel, which starts at the record after those two, and the file goes by
 * sendfile. */
static void file_first(SSL_CTX *ctx, uint16_t port) {
    t_case = "TLS 1.3: a file first, with the Finished";
    tls_client c;
    c.len = 0;
    c.fd = raw_connect(port);
    CHECK(c.fd >= 0, "connect");
    c.ssl = SSL_new(ctx);
    BIO *held = BIO_new(BIO_s_mem()); /* what the client writes waits here until flushed */
    SSL_set_bio(c.ssl, BIO_new_socket(c.fd, BIO_NOCLOSE), held);
    /* (Counted before the request goes: the server may be done with it
     * before this thread runs again.) */
    unsigned long file_before = atomic_load(&file_bytes_sealed), handovers_before = atomic_load(&handovers);
    /* Non-blocking during the handshake: each flight is written out before
     * the client waits for the server's answer to it. */
    fcntl(c.fd, F_SETFL, O_NONBLOCK);
    int r;
    char out[8192];
    while ((r = SSL_connect(c.ssl)) != 1) {
        int n = BIO_read(held, out, sizeof out);
        if (n > 0 && write(c.fd, out, (size_t)n) != n) break;
        if (SSL_get_error(c.ssl, r) != SSL_ERROR_WANT_READ) break;
        struct pollfd pf = {.fd = c.fd, .events = POLLIN};
        if (poll(&pf, 1, 5000) != 1) break;
    }
    fcntl(c.fd, F_SETFL, 0);
    CHECK(r == 1, "handshake");
    static const char ask[] = "GET /file HTTP/1.1\r\nHost: x\r\n\r\n";
    SSL_write(c.ssl, ask, (int)strlen(ask));
    int n = BIO_read(held, out, sizeof out); /* the Finished and the request */
    CHECK(n > 0 && write(c.fd, out, (size_t)n) == n, "one write");
    SSL_set0_wbio(c.ssl, BIO_new_socket(c.fd, BIO_NOCLOSE));
    CHECK(tls_response(&c, 1, NULL, 0) == 200, "the file, byte for byte");
    unsigned long by_kernel = atomic_load(&file_bytes_sealed) - file_before;
    CHECK(by_kernel == FILE_SIZE, "all of the file by sendfile: %lu", by_kernel);
    CHECK(atomic_load(&handovers) == handovers_before + 1, "after the ticket and the head, sealed by OpenSSL");
    char body[64];
    CHECK(get(&c, "/n/3", body, sizeof body) == 200 && strcmp(body, "3") == 0, "and after it: %s", body);
    tls_close(&c);
}

static void key_updates(SSL_CTX *ctx, uint16_t port) {
    char body[64];
    tls_client c;
    t_case = "a KeyUpdate that asks nothing back";
    CHECK(tls_open(&c, ctx, port) == 0, "handshake");
    CHECK(get(&c, "/n/1", body, sizeof body) == 200, "before");
    CHECK(get(&c, "/n/2", body, sizeof body) == 200, "handed over");
    SSL_key_update(c.ssl, SSL_KEY_UPDATE_NOT_REQUESTED);
    CHECK(get(&c, "/n/3", body, sizeof body) == 200 && strcmp(body, "3") == 0, "answered after it: %s", body);
    tls_close(&c);

    t_case = "a KeyUpdate that asks for ours";
    CHECK(tls_open(&c, ctx, port) == 0, "handshake");
    CHECK(get(&c, "/n/1", body, sizeof body) == 200, "before");
    CHECK(get(&c, "/n/2", body, sizeof body) == 200, "handed over");
    SSL_key_update(c.ssl, SSL_KEY_UPDATE_REQUESTED);
    static const char next[] = "GET /n/3 HTTP/1.1\r\nHost: x\r\n\r\n";
    SSL_write(c.ssl, next, (int)strlen(next));
    CHECK(server_ended(&c, 3000), "the connection closes: nothing can answer it");
    ERR_clear_error();
    tls_close(&c);
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    if (test_pair_make(&certs, "ktls-conn") < 0) return 2;
    snprintf(path, sizeof path, "%s/file", certs.dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    static unsigned char block[FILE_SIZE];
    for (size_t i = 0; i < sizeof block; i++)
        block[i] = pattern(i);
    if (write(fd, block, sizeof block) != (ssize_t)sizeof block) return 2;
    close(fd);

    char err[256];
    chopin_tls_options opts = {.cert_file = certs.cert, .key_file = certs.key};
    chopin_tls *tls = chopin_tls_new(&opts, err, sizeof err);
    CHECK(tls != NULL, "chopin_tls_new: %s", err);
    CHECK(tls && chopin_tls_kernel_sealing(tls, err, sizeof err) == 1, "the played kernel offers kTLS: %s", err);
    backend_name = "epoll";
    chopin_config cfg = fixture_config(app);
    cfg.tls = tls;
    chopin_server *s = tls ? fixture_start(&cfg) : NULL;
    if (s) {
        uint16_t port = chopin_server_port(s);
        SSL_CTX *v13 = client_ctx(TLS1_3_VERSION, certs.cert), *v12 = client_ctx(TLS1_2_VERSION, certs.cert);
        answers(v13, port, "TLS 1.3");
        answers(v12, port, "TLS 1.2");
        file_first(v13, port);
        key_updates(v13, port);
        t_case = "metrics";
        chopin_metrics m;
        chopin_server_metrics(s, &m);
        CHECK(m.tls_kernel == atomic_load(&handovers), "chopin_tls_kernel_connections_total %llu, handovers %lu",
              (unsigned long long)m.tls_kernel, atomic_load(&handovers));
        SSL_CTX_free(v13);
        SSL_CTX_free(v12);
        fixture_stop(s);
    }
    chopin_tls_free(tls);
    test_pair_remove(&certs);
    return test_finish("test_tls_kernel_conn");
}
