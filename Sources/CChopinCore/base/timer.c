/* timer.c - one hashed timer wheel per worker, one timer per connection.
 *
 * A connection's deadline moves on every request (idle timeout restarts),
 * so arming must be nearly free: pushing a deadline later only stores it,
 * and the node moves to its right slot when its current slot comes round.
 * Only a deadline moved earlier relinks at once. */
#include "timer.h"

#include <errno.h>
#include <stdlib.h>

static uint64_t tick_of(const chopin_wheel *w, uint64_t ms) { return (ms + w->tick_ms - 1) / w->tick_ms; }

int chopin__wheel_init(chopin_wheel *w, uint32_t nodes, uint32_t nslots, uint32_t tick_ms, uint64_t now_ms) {
    if (nslots == 0 || (nslots & (nslots - 1)) || tick_ms == 0) return -EINVAL;
    w->nodes = calloc(nodes, sizeof *w->nodes);
    w->slots = malloc(sizeof *w->slots * nslots);
    if (!w->nodes || !w->slots) {
        chopin__wheel_destroy(w);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < nslots; i++)
        w->slots[i] = CHOPIN_NIL;
    w->nslots = nslots;
    w->tick_ms = tick_ms;
    w->cur_tick = now_ms / tick_ms;
    w->count = 0;
    return 0;
}

void chopin__wheel_destroy(chopin_wheel *w) {
    free(w->nodes);
    free(w->slots);
    w->nodes = NULL;
    w->slots = NULL;
}

static void unlink_node(chopin_wheel *w, uint32_t idx) {
    chopin_timer_node *n = &w->nodes[idx];
    if (n->prev != CHOPIN_NIL)
        w->nodes[n->prev].next = n->next;
    else
        w->slots[n->tick & (w->nslots - 1)] = n->next;
    if (n->next != CHOPIN_NIL) w->nodes[n->next].prev = n->prev;
    n->linked = 0;
    w->count--;
}

static void link_node(chopin_wheel *w, uint32_t idx) {
    chopin_timer_node *n = &w->nodes[idx];
    uint64_t t = tick_of(w, n->deadline);
    /* Never into a tick already processed; never further than one turn. */
    if (t <= w->cur_tick) t = w->cur_tick + 1;
    if (t > w->cur_tick + w->nslots - 1) t = w->cur_tick + w->nslots - 1;
    uint32_t s = (uint32_t)(t & (w->nslots - 1));
    n->tick = t;
    n->prev = CHOPIN_NIL;
    n->next = w->slots[s];
    if (n->next != CHOPIN_NIL) w->nodes[n->next].prev = idx;
    w->slots[s] = idx;
    n->linked = 1;
    w->count++;
}

void chopin__wheel_set(chopin_wheel *w, uint32_t idx, uint64_t deadline_ms) {
    chopin_timer_node *n = &w->nodes[idx];
    if (deadline_ms == 0) deadline_ms = 1;
    n->deadline = deadline_ms;
    if (n->linked) {
        if (tick_of(w, deadline_ms) >= n->tick) return; /* later: moved when its slot comes */
        unlink_node(w, idx);
    }
    link_node(w, idx);
}

void chopin__wheel_cancel(chopin_wheel *w, uint32_t idx) {
    chopin_timer_node *n = &w->nodes[idx];
    n->deadline = 0;
    if (n->linked) unlink_node(w, idx);
}

uint32_t chopin__wheel_advance(chopin_wheel *w, uint64_t now_ms, chopin_timer_cb cb, void *ctx) {
    uint64_t target = now_ms / w->tick_ms;
    uint32_t expired = 0;
    /* After a long pause every slot is due at most once: cap the walk. */
    if (target > w->cur_tick + w->nslots) w->cur_tick = target - w->nslots;
    while (w->cur_tick < target) {
        uint64_t t = ++w->cur_tick;
        uint32_t s = (uint32_t)(t & (w->nslots - 1));
        uint32_t idx;
        while ((idx = w->slots[s]) != CHOPIN_NIL) {
            chopin_timer_node *n = &w->nodes[idx];
            unlink_node(w, idx);
            if (n->deadline > now_ms) {
                link_node(w, idx); /* lazily pushed later: now its real slot (never this one) */
                continue;
            }
            n->deadline = 0;
            expired++;
            cb(ctx, idx);
        }
    }
    return expired;
}

int chopin__wheel_timeout(const chopin_wheel *w, uint64_t now_ms) {
    if (w->count == 0) return -1;
    uint64_t next_ms = (w->cur_tick + 1) * w->tick_ms;
    return next_ms > now_ms ? (int)(next_ms - now_ms) : 0;
}
