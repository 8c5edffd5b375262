/* test_files.c - file bodies (chopin_response_file) over real sockets on
 * both backends: a 4 MB file arrives whole and in order, a part of a file
 * at an offset, HEAD sends the length and no bytes, a pipelined request
 * behind a file waits for it, a reader that stalls and comes back gets
 * every byte, one that never reads is cut at write_timeout_ms, a file that
 * is shorter than promised ends the connection, and no descriptor is left
 * open afterwards. chopin_open_beneath opens a FIFO without a writer at
 * once (it must never wait on the worker thread), for the caller's fstat
 * to refuse. */
#include "fixture.h"
#include "net.h"
#include "test.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define FILE_SIZE (4u << 20)
#define BIG_SIZE (64u << 20) /* a sparse file for the reader that never reads */
static char path[64], big_path[64];

static unsigned char pattern(uint64_t i) { return (unsigned char)(i * 31 + (i >> 12)); }

/* A deferred answer with a file, written and finished on another thread a
 * little later, as an async handler's is. */
static void *finish_with_file(void *arg) {
    chopin_deferred *d = arg;
    usleep(20000);
    chopin_response *r = chopin_deferred_response(d);
    chopin_response_start(r, 200);
    chopin_response_header(r, "Content-Type", 12, "application/octet-stream", 24);
    chopin_response_file(r, open(path, O_RDONLY | O_CLOEXEC), 0, FILE_SIZE);
    chopin_deferred_finish(d);
    return NULL;
}

static void app(void *ctx, const chopin_request *req, chopin_response *res) {
    (void)ctx;
    const char *p = req->path.ptr;
    size_t n = req->path.len;
    if (n == 6 && memcmp(p, "/hello", 6) == 0) {
        chopin_response_send(res, 200, "text/plain", "hello", 5);
        return;
    }
    if (n == 9 && memcmp(p, "/deferred", 9) == 0) {
        chopin_deferred *d = chopin_response_defer(res);
        pthread_t t;
        if (d && pthread_create(&t, NULL, finish_with_file, d) == 0) pthread_detach(t);
        return;
    }
    int big = n == 4 && memcmp(p, "/big", 4) == 0;
    int fd = open(big ? big_path : path, O_RDONLY | O_CLOEXEC);
    chopin_response_start(res, 200);
    chopin_response_header(res, "Content-Type", 12, "application/octet-stream", 24);
    if (n == 5 && memcmp(p, "/part", 5) == 0)
        chopin_response_file(res, fd, 1000, 5000);
    else if (n == 6 && memcmp(p, "/empty", 6) == 0)
        chopin_response_file(res, fd, 0, 0);
    else if (n == 7 && memcmp(p, "/shrunk", 7) == 0)
        chopin_response_file(res, fd, 0, FILE_SIZE + 100000); /* more than there is */
    else
        chopin_response_file(res, fd, 0, big ? BIG_SIZE : FILE_SIZE);
}

/* Reads one response head into *cl (Content-Length) and returns its status;
 * -1 on timeout or EOF. The body's first bytes may already be in c->buf. */
static int read_head(client *c, uint64_t *cl) {
    for (;;) {
        char *end = c->len ? memmem(c->buf, c->len, "\r\n\r\n", 4) : NULL;
        if (end) {
            size_t hlen = (size_t)(end - c->buf) + 4;
            const char *v = find_header(c->buf, hlen, "Content-Length");
            *cl = v ? strtoull(v, NULL, 10) : 0;
            int status = atoi(c->buf + 9);
            memmove(c->buf, c->buf + hlen, c->len - hlen);
            c->len -= hlen;
            return status;
        }
        if (client_fill(c, 3000) <= 0) return -1;
    }
}

/* Reads n body bytes and checks them against the pattern from `from`.
 * Returns the bytes read (fewer on EOF or timeout). */
static uint64_t read_body(client *c, uint64_t n, uint64_t from, int *mismatch) {
    uint64_t got = 0;
    *mismatch = 0;
    for (;;) {
        size_t take = c->len < n - got ? c->len : (size_t)(n - got);
        for (size_t i = 0; i < take && !*mismatch; i++)
            if ((unsigned char)c->buf[i] != pattern(from + got + i)) *mismatch = 1;
        memmove(c->buf, c->buf + take, c->len - take);
        c->len -= take;
        got += take;
        if (got == n) return got;
        if (client_fill(c, 3000) <= 0) return got;
    }
}

static int open_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    while (d && readdir(d))
        n++;
    if (d) closedir(d);
    return n;
}

/* Reads a 200 whose body is len bytes of the file from offset `from`. */
static void expect_file(client *c, uint64_t len, uint64_t from) {
    uint64_t cl;
    int bad = 0;
    CHECK_EQ_INT(read_head(c, &cl), 200);
    CHECK_EQ_INT(cl, len);
    CHECK_EQ_INT(read_body(c, cl, from, &bad), len);
    CHECK(!bad, "the bytes differ from the file's, from %llu", (unsigned long long)from);
}

static void whole_file(uint16_t port) {
    t_case = "whole file";
    static client c;
    client_connect(&c, port);
    SEND(&c, "GET /file HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_file(&c, FILE_SIZE, 0);
    /* The connection goes on. */
    static response r;
    SEND(&c, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(client_read_response(&c, &r, 3000, 0) == 0 && r.status == 200, "after the file");
    client_close(&c);
}

static void part_and_head(uint16_t port) {
    t_case = "part, HEAD, pipelined";
    static client c;
    client_connect(&c, port);
    /* Three requests in one write: the file's bytes come before the answers behind it. */
    SEND(&c, "GET /part HTTP/1.1\r\nHost: x\r\n\r\nHEAD /file HTTP/1.1\r\nHost: x\r\n\r\n"
             "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_file(&c, 5000, 1000);
    uint64_t cl;
    CHECK_EQ_INT(read_head(&c, &cl), 200);
    CHECK_EQ_INT(cl, FILE_SIZE); /* HEAD: the length, no bytes */
    static response r;
    CHECK(client_read_response(&c, &r, 3000, 0) == 0 && r.status == 200 && r.body_len == 5 &&
              memcmp(r.body, "hello", 5) == 0,
          "the request behind the HEAD");
    client_close(&c);
}

static void deferred_file(uint16_t port) {
    t_case = "a deferred answer's file, and one nobody waits for";
    static client c;
    client_connect(&c, port);
    SEND(&c, "GET /deferred HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_file(&c, FILE_SIZE, 0);
    static response r;
    CHECK(client_read_response(&c, &r, 3000, 0) == 0 && r.status == 200 && r.body_len == 5,
          "the request behind it, after the file");
    client_close(&c);
    /* Its client gone before the answer: the file is closed with the deferral
     * (run_backend counts the descriptors). */
    client_connect(&c, port);
    SEND(&c, "GET /deferred HTTP/1.1\r\nHost: x\r\n\r\n");
    client_close(&c);
    usleep(150000);
}

/* A file body of 0 bytes: its head must not wait for a body that never
 * comes (epoll sends a file's head with MSG_MORE, for sendfile to follow;
 * the kernel would hold a lone head for 200 ms). */
static void empty_part(uint16_t port) {
    t_case = "empty file body";
    static client c;
    client_connect(&c, port);
    for (int i = 0; i < 3; i++) {
        uint64_t t0 = now_ms();
        SEND(&c, "GET /empty HTTP/1.1\r\nHost: x\r\n\r\n");
        uint64_t cl = 99;
        CHECK_EQ_INT(read_head(&c, &cl), 200);
        CHECK_EQ_INT(cl, 0);
        CHECK(now_ms() - t0 < 100, "the head of an empty file body took %llu ms", (unsigned long long)(now_ms() - t0));
    }
    client_close(&c);
}

/* A client whose receive buffer is small: the server meets a full socket soon. */
static void connect_small_window(client *c, uint16_t port) {
    c->len = 0;
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    CHECK(connect(c->fd, (struct sockaddr *)&a, sizeof a) == 0, "connect");
}

static void slow_reader(uint16_t port) {
    t_case = "slow reader";
    static client c;
    connect_small_window(&c, port);
    SEND(&c, "GET /file HTTP/1.1\r\nHost: x\r\n\r\n");
    usleep(200 * 1000); /* the server meets a full socket and waits (under write_timeout_ms) */
    uint64_t cl;
    int bad;
    CHECK_EQ_INT(read_head(&c, &cl), 200);
    CHECK_EQ_INT(read_body(&c, cl, 0, &bad), FILE_SIZE);
    CHECK(!bad, "the bytes differ after the stall");
    client_close(&c);
}

static void never_reads(uint16_t port) {
    t_case = "never reads";
    static client c;
    connect_small_window(&c, port);
    SEND(&c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    usleep(1500 * 1000); /* past write_timeout_ms (400) with no progress */
    uint64_t cl, got = 0;
    CHECK_EQ_INT(read_head(&c, &cl), 200);
    CHECK_EQ_INT(cl, BIG_SIZE);
    got = c.len;
    c.len = 0;
    int n;
    while ((n = client_fill(&c, 3000)) > 0) {
        got += c.len;
        c.len = 0;
    }
    CHECK(n == 0 && got < BIG_SIZE, "the stalled send ends in a close (got %llu of %u bytes)",
          (unsigned long long)got, BIG_SIZE);
    client_close(&c);
}

static void shrunk(uint16_t port) {
    t_case = "shorter than promised";
    static client c;
    client_connect(&c, port);
    SEND(&c, "GET /shrunk HTTP/1.1\r\nHost: x\r\n\r\n");
    uint64_t cl;
    int bad;
    CHECK_EQ_INT(read_head(&c, &cl), 200);
    CHECK_EQ_INT(read_body(&c, cl, 0, &bad), FILE_SIZE); /* what there is, then the close */
    CHECK(client_wait_eof(&c, 3000), "the connection closes");
    client_close(&c);
}

static void run_backend(const char *backend) {
    (void)backend;
    int fds_before = open_fds();
    chopin_config cfg = fixture_config(app);
    cfg.write_timeout_ms = 400;
    chopin_server *s = fixture_start(&cfg);
    CHECK(s != NULL, "start");
    if (!s) return;
    uint16_t port = chopin_server_port(s);
    whole_file(port);
    part_and_head(port);
    deferred_file(port);
    empty_part(port);
    slow_reader(port);
    never_reads(port);
    shrunk(port);
    fixture_stop(s);
    t_case = "descriptors";
    CHECK_EQ_INT(open_fds(), fds_before);
}

/* Run in a child with an alarm: an open that blocks ends in SIGALRM, not a hung test. */
static void fifo_opens_without_blocking(void) {
    t_case = "a FIFO under the directory opens at once";
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/chopin-test-fifo.%d", (int)getpid());
    mkdir(dir, 0700);
    char fifo[96];
    snprintf(fifo, sizeof fifo, "%s/pipe", dir);
    CHECK(mkfifo(fifo, 0600) == 0, "mkfifo");
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    pid_t child = fork();
    if (child == 0) {
        alarm(2);
        int fd = chopin_open_beneath(dirfd, "pipe");
        struct stat st;
        _exit(fd >= 0 && fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode) ? 0 : 1);
    }
    int status = 0;
    waitpid(child, &status, 0);
    CHECK(WIFEXITED(status), "the open returned (no SIGALRM)");
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a descriptor whose fstat says FIFO");
    close(dirfd);
    unlink(fifo);
    rmdir(dir);
}

int main(void) {
    fifo_opens_without_blocking();
    snprintf(path, sizeof path, "/tmp/chopin-test-file.%d", (int)getpid());
    snprintf(big_path, sizeof big_path, "/tmp/chopin-test-big.%d", (int)getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    static unsigned char block[65536];
    for (uint64_t off = 0; off < FILE_SIZE; off += sizeof block) {
        for (size_t i = 0; i < sizeof block; i++)
            block[i] = pattern(off + i);
        if (write(fd, block, sizeof block) != (ssize_t)sizeof block) return 2;
    }
    close(fd);
    fd = open(big_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (ftruncate(fd, BIG_SIZE) < 0) return 2;
    close(fd);
    fixture_each_backend(run_backend);
    unlink(path);
    unlink(big_path);
    return test_finish("test_files");
}
