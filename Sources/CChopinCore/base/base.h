/* base.h - the ground floor, for the floors above it: byte buffers, the
 * connection slab, the timer wheel, the log, the byte scans and TLS over
 * memory. Nothing
 * here knows HTTP, a connection or a thread; the files of base/ include
 * the one header each of them needs, never this one. */
#ifndef CHOPIN_BASE_H
#define CHOPIN_BASE_H

#ifndef _GNU_SOURCE
#error "CChopinCore is built with _GNU_SOURCE (Makefile and Package.swift define it)"
#endif

/* The size of a cache line: per-worker blocks are aligned to it. */
#define CHOPIN_CACHELINE 64

#include "buf.h"
#include "logging.h"
#include "scan.h"
#include "slab.h"
#include "timer.h"
#include "tls.h"

#endif
