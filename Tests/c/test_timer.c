/* test_timer.c - the timer wheel: expiry on time, lazy moves, cancels,
 * deadlines beyond one turn of the wheel, cost proportional to expiries. */
#include "base/timer.h"
#include "test.h"

static uint32_t fired[64];
static uint32_t nfired;
static void on_fire(void *ctx, uint32_t idx) {
    (void)ctx;
    fired[nfired++] = idx;
}

int main(void) {
    chopin_wheel w;
    t_case = "init";
    CHECK_EQ_INT(chopin__wheel_init(&w, 16, 8, 10, 1000), 0);
    CHECK_EQ_INT(chopin__wheel_timeout(&w, 1000), -1);

    t_case = "fires at its deadline, not before";
    chopin__wheel_set(&w, 3, 1055);
    CHECK(chopin__wheel_timeout(&w, 1000) >= 0 && chopin__wheel_timeout(&w, 1000) <= 10, "next tick soon");
    CHECK_EQ_INT(chopin__wheel_advance(&w, 1050, on_fire, NULL), 0);
    CHECK_EQ_INT(chopin__wheel_advance(&w, 1060, on_fire, NULL), 1);
    CHECK_EQ_INT(fired[0], 3);
    CHECK_EQ_INT(w.count, 0);

    t_case = "cancel";
    nfired = 0;
    chopin__wheel_set(&w, 4, 1080);
    chopin__wheel_cancel(&w, 4);
    CHECK_EQ_INT(chopin__wheel_advance(&w, 1200, on_fire, NULL), 0);

    t_case = "moved later: fires at the new deadline";
    chopin__wheel_set(&w, 5, 1230);
    chopin__wheel_set(&w, 5, 1290);
    CHECK_EQ_INT(chopin__wheel_advance(&w, 1250, on_fire, NULL), 0);
    CHECK_EQ_INT(chopin__wheel_advance(&w, 1300, on_fire, NULL), 1);

    t_case = "moved earlier: fires at the new deadline";
    nfired = 0;
    chopin__wheel_set(&w, 6, 1370);
    chopin__wheel_set(&w, 6, 1320);
    CHECK_EQ_INT(chopin__wheel_advance(&w, 1330, on_fire, NULL), 1);

    t_case = "beyond one turn (8 slots x 10 ms)";
    nfired = 0;
    chopin__wheel_set(&w, 7, 1330 + 500);
    CHECK_EQ_INT(chopin__wheel_advance(&w, 1330 + 400, on_fire, NULL), 0);
    CHECK_EQ_INT(chopin__wheel_advance(&w, 1330 + 510, on_fire, NULL), 1);

    t_case = "many at once, each once";
    nfired = 0;
    for (uint32_t i = 0; i < 16; i++)
        chopin__wheel_set(&w, i, 2000 + i);
    CHECK_EQ_INT(chopin__wheel_advance(&w, 2100, on_fire, NULL), 16);
    CHECK_EQ_INT(w.count, 0);

    t_case = "a long pause still fires everything";
    nfired = 0;
    chopin__wheel_set(&w, 1, 2200);
    CHECK_EQ_INT(chopin__wheel_advance(&w, 100000, on_fire, NULL), 1);
    chopin__wheel_destroy(&w);
    return test_finish("test_timer");
}
