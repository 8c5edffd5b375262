/* file_send.c - the next part of a file body, either way a backend sends
 * it: straight from the page cache with sendfile (both backends do; the
 * backend waits for the socket's room itself), or read into the
 * connection's tx buffer to leave as any other response bytes (a backend
 * without send_file). One part at a time, so a large file costs a
 * connection one part of memory, never the file's size. */
#include "conn.h"

#include <errno.h>
#include <sys/sendfile.h>
#include <unistd.h>

/* A file body's share of one loop turn: a fast reader of a large file does
 * not keep the worker from its other connections. */
#define FILE_TURN_BYTES (1u << 20)

long chopin__file_sendfile_part(chopin_conn *c) {
    off_t off = (off_t)c->file_off;
    uint64_t left = c->file_left < FILE_TURN_BYTES ? c->file_left : FILE_TURN_BYTES;
    uint64_t done = 0;
    while (done < left) {
        ssize_t n = sendfile(c->fd, c->file_fd, &off, (size_t)(left - done));
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN) return -errno;
            break;
        }
        if (n == 0) return -EIO; /* the file shrank under us */
        done += (uint64_t)n;
    }
    return (long)done;
}

/* 64 KB: big enough that a 1 MB file is 16 sends, small enough to stay a
 * heap block that malloc recycles rather than maps. */
#define FILE_PART (64u << 10)

long chopin__file_read_part(chopin_worker *w, chopin_conn *c) {
    size_t want = c->file_left < FILE_PART ? (size_t)c->file_left : FILE_PART;
    if (chopin__buf_reserve(&c->tx, &w->pool, want) < 0) return -ENOMEM;
    ssize_t n;
    do
        n = pread(c->file_fd, c->tx.data, want, (off_t)c->file_off);
    while (n < 0 && errno == EINTR);
    if (n < 0) return -errno;
    c->tx.len = (uint32_t)n;
    c->tx.off = 0;
    return (long)n;
}

void chopin__file_done(chopin_conn *c) {
    if (!(c->flags & CF_FILE)) return;
    close(c->file_fd);
    c->file_fd = -1;
    c->flags &= (uint16_t)~CF_FILE;
}
