/* scan.h - the request head's character classes and the scans over them:
 * each scan returns the first byte in [p, end) outside its class (or end).
 * The SIMD and scalar versions must return the same byte for every input;
 * the parser tests and fuzz/fuzz_parser.c run both to hold them to it. */
#ifndef CHOPIN_SCAN_H
#define CHOPIN_SCAN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

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

/* Whether all n bytes at p are field-value bytes (a response header's value
 * must be: a CR or LF would split the response). Eight bytes at a time, with
 * no read outside [p, p + n): values are short and live in the caller's
 * memory, so a 16-byte scan would mostly fall to its scalar tail. A word is
 * clean when no byte is below 0x20 and none is DEL; a word that is not
 * (HTAB is allowed) is decided byte by byte. */
static inline int chopin__word_field_clean(const char *p) {
    uint64_t x, ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    memcpy(&x, p, 8);
    uint64_t del = x ^ (0x7f * ones);
    /* a byte below 0x20, or a zero byte in del (DEL in x); bytes >= 0x80 set neither */
    return (((x - 0x20 * ones) & ~x) | ((del - ones) & ~del)) & highs ? 0 : 1;
}
static inline int chopin__all_field(const char *p, size_t n) {
    if (n >= 8) {
        size_t i = 0;
        for (; i + 8 < n; i += 8)
            if (!chopin__word_field_clean(p + i)) goto bytes;
        if (chopin__word_field_clean(p + n - 8)) return 1; /* the last 8, overlapping */
    }
bytes:
    for (size_t i = 0; i < n; i++)
        if (!(chopin__char_class[(unsigned char)p[i]] & CHOPIN_C_FIELD)) return 0;
    return 1;
}

/* 1 where a SIMD path exists and the CPU has it; tests and the differential
 * fuzzer set it to 0 to run the scalar path on the same input. */
extern int chopin__scan_simd;
int chopin__scan_simd_available(void);

#endif
