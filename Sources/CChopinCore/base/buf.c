/* buf.c - growable byte buffers backed by a per-worker pool of blocks.
 *
 * Memory follows bytes in flight, not connections: an idle keep-alive
 * connection holds no buffer at all, and the blocks it used go back to the
 * pool for the next busy one. */
#include "buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Responses and requests are limited well below this; uint32_t lengths. */
#define BUF_MAX ((size_t)UINT32_MAX - 4096)

int chopin__pool_init(chopin_bufpool *p, uint32_t block_size, uint32_t max_free) {
    p->block_size = block_size;
    p->nfree = 0;
    p->max_free = max_free;
    p->held = NULL;
    p->heap_allocations = NULL;
    p->free = calloc(max_free ? max_free : 1, sizeof *p->free);
    return p->free ? 0 : -ENOMEM;
}

void chopin__pool_destroy(chopin_bufpool *p) {
    for (uint32_t i = 0; i < p->nfree; i++)
        free(p->free[i]);
    free(p->free);
    p->free = NULL;
    p->nfree = 0;
}

/* Only the owning worker writes; metric readers load it relaxed. */
static void count_heap_allocation(chopin_bufpool *p) {
    if (p && p->heap_allocations)
        __atomic_store_n(p->heap_allocations, *p->heap_allocations + 1, __ATOMIC_RELAXED);
}

static void *pool_get(chopin_bufpool *p) {
    if (p->nfree) return p->free[--p->nfree];
    count_heap_allocation(p);
    return malloc(p->block_size);
}

static void pool_put(chopin_bufpool *p, void *block) {
    if (p->nfree < p->max_free)
        p->free[p->nfree++] = block;
    else
        free(block);
}

/* Only the owning worker writes; metric readers load it relaxed. */
static void account(chopin_bufpool *pool, int64_t delta) {
    if (pool && pool->held) __atomic_store_n(pool->held, *pool->held + (uint64_t)delta, __ATOMIC_RELAXED);
}

static int is_block(const chopin_buf *b, const chopin_bufpool *pool) { return pool && b->cap == pool->block_size; }

/* Kept out of line: inlined, its register saves would be the fast path's too. */
__attribute__((noinline)) static int grow(chopin_buf *b, chopin_bufpool *pool, size_t need);

int chopin__buf_grow(chopin_buf *b, chopin_bufpool *pool, size_t need) {
    if (!b->data && pool && need <= pool->block_size && pool->nfree) {
        /* A connection's first bytes of a request or response, nearly every
         * time: a block the pool holds, with none of grow's work. */
        b->data = pool->free[--pool->nfree];
        b->cap = pool->block_size;
        account(pool, b->cap);
        return 0;
    }
    return grow(b, pool, need);
}

__attribute__((noinline)) static int grow(chopin_buf *b, chopin_bufpool *pool, size_t need) {
    if (need <= b->cap) return 0;
    if (need > BUF_MAX) return -ENOMEM;
    if (!b->data && pool && need <= pool->block_size) {
        b->data = pool_get(pool);
        if (!b->data) return -ENOMEM;
        b->cap = pool->block_size;
        account(pool, b->cap);
        return 0;
    }
    size_t cap = b->cap ? (size_t)b->cap * 2 : 4096;
    if (pool && cap < pool->block_size * 2u) cap = pool->block_size * 2u;
    while (cap < need)
        cap *= 2;
    if (cap > BUF_MAX) cap = BUF_MAX;
    char *p;
    if (is_block(b, pool)) {
        /* outgrowing a pool block: move to the heap, give the block back.
         * All of it, not only len bytes: a response's body is written past
         * len (reserved room, see write.c), as realloc would keep it. */
        count_heap_allocation(pool);
        p = malloc(cap);
        if (!p) return -ENOMEM;
        memcpy(p, b->data, b->cap);
        pool_put(pool, b->data);
    } else {
        count_heap_allocation(pool);
        p = realloc(b->data, cap);
        if (!p) return -ENOMEM;
    }
    account(pool, (int64_t)cap - (int64_t)b->cap);
    b->data = p;
    b->cap = (uint32_t)cap;
    return 0;
}

int chopin__buf_append(chopin_buf *b, chopin_bufpool *pool, const void *src, size_t n) {
    if (chopin__buf_reserve(b, pool, (size_t)b->len + n) < 0) return -ENOMEM;
    memcpy(b->data + b->len, src, n);
    b->len += (uint32_t)n;
    return 0;
}

void chopin__buf_consume(chopin_buf *b, size_t n) {
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= (uint32_t)n;
}

void chopin__buf_free(chopin_buf *b, chopin_bufpool *pool) {
    if (b->data) {
        account(pool, -(int64_t)b->cap);
        if (is_block(b, pool))
            pool_put(pool, b->data);
        else
            free(b->data);
    }
    b->data = NULL;
    b->len = b->off = b->cap = 0;
}
