/* CMallocCounter - counts heap allocations made by Chopin's worker threads
 * (threads named "chopin-w*") while counting is on. Linked into the Swift
 * test executable, its malloc family takes the place of libc's for the whole
 * process and forwards to glibc's own entry points. The benchmark preloads
 * the same file (bench/run.sh), driven by SIGUSR1/SIGUSR2. */
#ifndef CMALLOC_COUNTER_H
#define CMALLOC_COUNTER_H
#include <stdint.h>
void malloc_counter_start(void);
/* Stops counting and returns the allocations seen since the start. */
uint64_t malloc_counter_stop(void);
#endif
