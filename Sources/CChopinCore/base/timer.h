/* timer.h - one hashed timer wheel per worker, one timer per connection slot.
 *
 * Arming is lazy: moving a deadline later only stores it, and the entry is
 * moved when its old slot comes round. Expiry visits only the slots whose
 * time has come, so it costs O(expired + moved), never a scan of all
 * connections. */
#ifndef CHOPIN_BASE_TIMER_H
#define CHOPIN_BASE_TIMER_H

#include <stdint.h>

#ifndef CHOPIN_NIL
#define CHOPIN_NIL UINT32_MAX /* no node: a list's end */
#endif

typedef struct chopin_timer_node {
    uint64_t deadline; /* ms; 0 = disarmed */
    uint64_t tick;     /* tick of the slot it is linked in */
    uint32_t prev, next;
    uint8_t linked;
} chopin_timer_node;

typedef void (*chopin_timer_cb)(void *ctx, uint32_t idx);

typedef struct chopin_wheel {
    chopin_timer_node *nodes;
    uint32_t *slots; /* list heads */
    uint32_t nslots; /* power of two */
    uint32_t tick_ms;
    uint64_t cur_tick; /* every tick <= cur_tick has been processed */
    uint32_t count;    /* linked nodes */
} chopin_wheel;

int chopin__wheel_init(chopin_wheel *w, uint32_t nodes, uint32_t nslots, uint32_t tick_ms, uint64_t now_ms);
void chopin__wheel_destroy(chopin_wheel *w);
void chopin__wheel_set(chopin_wheel *w, uint32_t idx, uint64_t deadline_ms);
void chopin__wheel_cancel(chopin_wheel *w, uint32_t idx);
/* Processes every tick up to now_ms, calling cb for each node whose deadline
 * has passed (the node is disarmed before the call). Returns how many expired. */
uint32_t chopin__wheel_advance(chopin_wheel *w, uint64_t now_ms, chopin_timer_cb cb, void *ctx);
/* Whether a tick has passed since the last advance: a busy loop turns many
 * times a tick, and asking costs less than the call. */
static inline int chopin__wheel_due(const chopin_wheel *w, uint64_t now_ms) { return now_ms / w->tick_ms > w->cur_tick; }
/* Milliseconds until the next tick worth waking for; -1 when nothing is armed. */
int chopin__wheel_timeout(const chopin_wheel *w, uint64_t now_ms);

#endif
