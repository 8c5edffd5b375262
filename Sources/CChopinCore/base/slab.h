/* slab.h - connection slots by index.
 *
 * O(1) alloc and free from a free stack, and a generation per slot, bumped
 * on free, so a completion that names a slot and an older generation is
 * recognized as stale and ignored. Slots never used are handed out in
 * ascending order and cost no memory until then. */
#ifndef CHOPIN_BASE_SLAB_H
#define CHOPIN_BASE_SLAB_H

#include <stdint.h>

/* No slot, no index: a free list's end, a full slab. */
#ifndef CHOPIN_NIL
#define CHOPIN_NIL UINT32_MAX
#endif

typedef struct chopin_slab {
    uint32_t cap;
    uint32_t nfree;  /* free slots in all: on the stack, and never used yet */
    uint32_t fresh;  /* slots [fresh, cap) were never handed out */
    uint32_t nstack; /* freed slots on the stack */
    uint32_t *free;
    uint32_t *gen;
} chopin_slab;

int chopin__slab_init(chopin_slab *s, uint32_t cap);
void chopin__slab_destroy(chopin_slab *s);
/* Returns a slot index, or CHOPIN_NIL when full. */
uint32_t chopin__slab_alloc(chopin_slab *s);
void chopin__slab_free(chopin_slab *s, uint32_t idx);
static inline uint32_t chopin__slab_gen(const chopin_slab *s, uint32_t idx) { return s->gen[idx]; }
static inline uint32_t chopin__slab_used(const chopin_slab *s) { return s->cap - s->nfree; }

#endif
