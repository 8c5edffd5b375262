/* slab.c - connection slots with O(1) alloc/free and generation counters. */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>

int chopin__slab_init(chopin_slab *s, uint32_t cap) {
    s->cap = cap;
    s->free = malloc(sizeof *s->free * cap);
    s->gen = calloc(cap, sizeof *s->gen);
    if (!s->free || !s->gen) {
        chopin__slab_destroy(s);
        return -ENOMEM;
    }
    /* Lowest index on top, so a quiet server reuses the same few slots. */
    for (uint32_t i = 0; i < cap; i++)
        s->free[i] = cap - 1 - i;
    s->nfree = cap;
    return 0;
}

void chopin__slab_destroy(chopin_slab *s) {
    free(s->free);
    free(s->gen);
    s->free = s->gen = NULL;
    s->cap = s->nfree = 0;
}

uint32_t chopin__slab_alloc(chopin_slab *s) {
    if (s->nfree == 0) return CHOPIN_NIL;
    return s->free[--s->nfree];
}

void chopin__slab_free(chopin_slab *s, uint32_t idx) {
    /* 24 bits of generation travel in io_uring's user_data: wrap there. */
    s->gen[idx] = (s->gen[idx] + 1) & 0xffffffu;
    s->free[s->nfree++] = idx;
}
