/* buf.h - byte buffers from a per-worker pool of fixed-size blocks.
 *
 * A connection holds buffers only while it has bytes in flight: input that
 * is not a complete request yet, responses not yet sent. They come from a
 * per-worker pool of fixed-size blocks, so steady state allocates nothing;
 * only a buffer that outgrows a block is malloc'd. */
#ifndef CHOPIN_BASE_BUF_H
#define CHOPIN_BASE_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct chopin_bufpool {
    uint32_t block_size;
    uint32_t nfree;
    uint32_t max_free;
    void **free;
    uint64_t *held; /* bytes handed out, for the metrics (NULL: not counted) */
    /* Heap allocations made for buffers (NULL: not counted): a block when the
     * free list is empty (the pool growing to the worker's peak of bytes in
     * flight), a buffer that outgrows a block. Apart from these, serving a
     * request allocates nothing; the allocation check subtracts them. */
    uint64_t *heap_allocations;
} chopin_bufpool;

typedef struct chopin_buf {
    char *data;
    uint32_t len; /* bytes filled */
    uint32_t off; /* bytes already consumed (sent, for output) */
    uint32_t cap;
} chopin_buf;

int chopin__pool_init(chopin_bufpool *p, uint32_t block_size, uint32_t max_free);
void chopin__pool_destroy(chopin_bufpool *p);
/* Makes room for `need` bytes in total; pool may be NULL (plain malloc).
 * Every byte of the old capacity is kept, len or not (a response writes its
 * body past len). Returns 0 or -ENOMEM. The check is inline: a response reserves several
 * times and nearly always has the room already; growing is out of line. */
int chopin__buf_grow(chopin_buf *b, chopin_bufpool *pool, size_t need);
static inline int chopin__buf_reserve(chopin_buf *b, chopin_bufpool *pool, size_t need) {
    return need <= b->cap ? 0 : chopin__buf_grow(b, pool, need);
}
int chopin__buf_append(chopin_buf *b, chopin_bufpool *pool, const void *src, size_t n);
/* Drops the first n bytes. */
void chopin__buf_consume(chopin_buf *b, size_t n);
/* Gives the memory back (to the pool when it is a pool block). A block
 * that goes back on the pool's free list, nearly every release, is inline;
 * the rest is chopin__buf_free. */
void chopin__buf_free(chopin_buf *b, chopin_bufpool *pool);
static inline void chopin__buf_release(chopin_buf *b, chopin_bufpool *pool) {
    if (b->data && pool && b->cap == pool->block_size && pool->nfree < pool->max_free) {
        /* Only the owning worker writes held; metric readers load it relaxed. */
        if (pool->held) __atomic_store_n(pool->held, *pool->held - b->cap, __ATOMIC_RELAXED);
        pool->free[pool->nfree++] = b->data;
        b->data = NULL;
        b->len = b->off = b->cap = 0;
        return;
    }
    chopin__buf_free(b, pool);
}

#endif
