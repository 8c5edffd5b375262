/* file_send.c - a file body for a backend that cannot send from a file:
 * the next part is read into the connection's tx buffer and leaves as any
 * other response bytes. (epoll sends straight from the page cache with
 * sendfile, backend_epoll.c.) One part at a time, so a large file costs a
 * connection one part of memory, never the file's size. */
#include "internal.h"

#include <errno.h>
#include <unistd.h>

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
