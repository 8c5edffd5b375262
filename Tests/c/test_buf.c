/* test_buf.c - the per-worker buffer pool: blocks are reused, and every
 * heap allocation it makes (the pool growing to its peak, a buffer
 * outgrowing a block) is counted, so the allocation check can tell them
 * from allocations made per request. */
#include "base/buf.h"
#include "test.h"

int main(void) {
    chopin_bufpool pool;
    uint64_t held = 0, heap = 0;
    CHECK_EQ_INT(chopin__pool_init(&pool, 1024, 8), 0);
    pool.held = &held;
    pool.heap_allocations = &heap;

    t_case = "three buffers at once grow the pool by three";
    chopin_buf b[3] = {{0}, {0}, {0}};
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(chopin__buf_append(&b[i], &pool, "abc", 3), 0);
    CHECK_EQ_INT(heap, 3);
    CHECK_EQ_INT(held, 3 * 1024);
    for (int i = 0; i < 3; i++)
        chopin__buf_free(&b[i], &pool);
    CHECK_EQ_INT(held, 0);

    t_case = "the same peak again takes nothing from the heap";
    for (int round = 0; round < 100; round++) {
        for (int i = 0; i < 3; i++)
            chopin__buf_append(&b[i], &pool, "abc", 3);
        for (int i = 0; i < 3; i++)
            chopin__buf_free(&b[i], &pool);
    }
    CHECK_EQ_INT(heap, 3);

    t_case = "a buffer that outgrows its block is counted";
    static char big[3000];
    CHECK_EQ_INT(chopin__buf_append(&b[0], &pool, "x", 1), 0);
    CHECK_EQ_INT(heap, 3);
    CHECK_EQ_INT(chopin__buf_append(&b[0], &pool, big, sizeof big), 0);
    CHECK_EQ_INT(heap, 4);
    CHECK_EQ_INT(chopin__buf_append(&b[0], &pool, big, sizeof big), 0); /* 6001 > 4096: realloc */
    CHECK_EQ_INT(heap, 5);
    chopin__buf_free(&b[0], &pool);
    CHECK_EQ_INT(held, 0);

    /* The response writer reserves room past len and fills it before it
     * says how much is body: a block outgrown then must keep those bytes
     * (it kept len only, and a JSON body over a block came out zeroed). */
    t_case = "outgrowing a block keeps the bytes past len";
    CHECK_EQ_INT(chopin__buf_append(&b[0], &pool, "head", 4), 0);
    CHECK_EQ_INT(chopin__buf_reserve(&b[0], &pool, 1000), 0);
    memset(b[0].data + 4, 'j', 996);
    CHECK_EQ_INT(chopin__buf_reserve(&b[0], &pool, 5000), 0);
    int kept = memcmp(b[0].data, "head", 4) == 0;
    for (int i = 4; i < 1000; i++) kept &= b[0].data[i] == 'j';
    CHECK(kept, "the reserved bytes were lost when the block was outgrown");
    chopin__buf_free(&b[0], &pool);

    chopin__pool_destroy(&pool);
    return test_finish("test_buf");
}
