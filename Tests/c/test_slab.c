/* test_slab.c - connection slots: O(1) alloc/free, full, generations. */
#include "base/slab.h"
#include "test.h"

int main(void) {
    chopin_slab s;
    t_case = "init";
    CHECK_EQ_INT(chopin__slab_init(&s, 4), 0);
    CHECK_EQ_INT(chopin__slab_used(&s), 0);
    t_case = "fill";
    uint32_t got[4];
    for (int i = 0; i < 4; i++)
        got[i] = chopin__slab_alloc(&s);
    CHECK_EQ_INT(got[0], 0);
    CHECK(got[0] != got[1] && got[1] != got[2] && got[2] != got[3], "distinct slots");
    CHECK_EQ_INT(chopin__slab_alloc(&s), CHOPIN_NIL);
    CHECK_EQ_INT(chopin__slab_used(&s), 4);
    t_case = "free bumps the generation";
    uint32_t g = chopin__slab_gen(&s, got[2]);
    chopin__slab_free(&s, got[2]);
    CHECK_EQ_INT(chopin__slab_gen(&s, got[2]), g + 1);
    CHECK_EQ_INT(chopin__slab_alloc(&s), got[2]);
    t_case = "generation wraps at 24 bits";
    s.gen[got[1]] = 0xffffff;
    chopin__slab_free(&s, got[1]);
    CHECK_EQ_INT(chopin__slab_gen(&s, got[1]), 0);
    chopin__slab_destroy(&s);
    return test_finish("test_slab");
}
