/* scan.h - the request head's character classes and the scans over them:
 * each scan returns the first byte in [p, end) outside its class (or end).
 * The SIMD and scalar versions must return the same byte for every input;
 * the parser tests and fuzz/fuzz_parser.c run both to hold them to it. */
#ifndef CHOPIN_SCAN_H
#define CHOPIN_SCAN_H

#include <stddef.h>

/* One byte per character: a table is cheaper than a chain of comparisons. */
enum {
    CHOPIN_C_TCHAR = 1,  /* token characters: methods, header names */
    CHOPIN_C_VCHAR = 2,  /* visible ASCII */
    CHOPIN_C_FIELD = 4,  /* field-value bytes: HTAB, SP, VCHAR, obs-text */
    CHOPIN_C_HOST = 8,   /* what a Host value or authority may hold */
    CHOPIN_C_TARGET = 16 /* a request-target byte: VCHAR except '#' (fragments are never sent) */
};
extern const unsigned char chopin__char_class[256];

const char *chopin__scan_tchar(const char *p, const char *end);
const char *chopin__scan_target(const char *p, const char *end);
const char *chopin__scan_field(const char *p, const char *end);

/* 1 where a SIMD path exists and the CPU has it; tests and the differential
 * fuzzer set it to 0 to run the scalar path on the same input. */
extern int chopin__scan_simd;
int chopin__scan_simd_available(void);

#endif
