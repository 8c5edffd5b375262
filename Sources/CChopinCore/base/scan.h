/* scan.h - the request head's character classes and the scans over them:
 * each scan returns the first byte in [p, end) outside its class (or end).
 * The SIMD and scalar versions must return the same byte for every input;
 * the parser tests and fuzz/fuzz_parser.c run both to hold them to it.
 *
 * The parser calls a scan for every token of every request, mostly over a
 * few bytes: the scans it uses are inline here, so a short run costs its
 * bytes and not a call. The request-target and field-value classes are
 * decided 16 bytes at a time with compares that x86-64 (SSE2) and arm64
 * (NEON) always have; the token class needs a table lookup per byte
 * (SSSE3's pshufb, picked at run time), which stays out of line in scan.c
 * for names longer than 16 bytes. */
#ifndef CHOPIN_SCAN_H
#define CHOPIN_SCAN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__)
#include <emmintrin.h>
#define CHOPIN_SCAN_SSE2 1
#elif defined(__aarch64__)
#include <arm_neon.h>
#define CHOPIN_SCAN_NEON 1
#endif

/* One byte per character: a table is cheaper than a chain of comparisons. */
enum {
    CHOPIN_C_TCHAR = 1,  /* token characters: methods, header names */
    CHOPIN_C_VCHAR = 2,  /* visible ASCII */
    CHOPIN_C_FIELD = 4,  /* field-value bytes: HTAB, SP, VCHAR, obs-text */
    CHOPIN_C_HOST = 8,   /* what a Host value or authority may hold */
    CHOPIN_C_TARGET = 16 /* a request-target byte: VCHAR except '#' (fragments are never sent) */
};
extern const unsigned char chopin__char_class[256];

/* 1 where a SIMD path exists and the CPU has it; tests and the differential
 * fuzzer set it to 0 to run the scalar path on the same input. */
extern int chopin__scan_simd;
int chopin__scan_simd_available(void);

/* The out-of-line scans, SIMD or scalar by chopin__scan_simd. */
const char *chopin__scan_tchar(const char *p, const char *end);
const char *chopin__scan_target(const char *p, const char *end);
const char *chopin__scan_field(const char *p, const char *end);

static inline const char *chopin__scan_scalar(const char *p, const char *end, unsigned char cls) {
    while (p < end && (chopin__char_class[(unsigned char)*p] & cls))
        p++;
    return p;
}

/* A mask of the bytes among the 16 at p that are outside the class; the
 * first of them is at (ctz(mask) >> CHOPIN_SCAN_SHIFT). */
#if defined(CHOPIN_SCAN_SSE2)
#define CHOPIN_SCAN_SHIFT 0
static inline uint64_t chopin__outside_target16(const char *p) {
    __m128i v = _mm_loadu_si128((const __m128i *)p);
    /* Signed, bytes >= 0x80 are negative: "> 0x20" keeps 0x21-0x7f. */
    __m128i visible = _mm_cmpgt_epi8(v, _mm_set1_epi8(0x20));
    __m128i excluded = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f)), _mm_cmpeq_epi8(v, _mm_set1_epi8('#')));
    return (uint64_t)((unsigned)_mm_movemask_epi8(_mm_andnot_si128(excluded, visible)) ^ 0xffffu);
}
static inline uint64_t chopin__outside_field16(const char *p) {
    __m128i v = _mm_loadu_si128((const __m128i *)p);
    __m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v); /* v <= 0x1f, unsigned */
    __m128i bad = _mm_or_si128(_mm_andnot_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\t')), ctl),
                               _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f)));
    return (uint64_t)(unsigned)_mm_movemask_epi8(bad);
}
#elif defined(CHOPIN_SCAN_NEON)
#define CHOPIN_SCAN_SHIFT 2
/* The comparison narrowed to 4 bits a byte. */
static inline uint64_t chopin__neon_mask(uint8x16_t m) {
    return vget_lane_u64(vreinterpret_u64_u8(vshrn_n_u16(vreinterpretq_u16_u8(m), 4)), 0);
}
static inline uint64_t chopin__outside_target16(const char *p) {
    uint8x16_t v = vld1q_u8((const uint8_t *)p);
    uint8x16_t visible = vcgtq_s8(vreinterpretq_s8_u8(v), vdupq_n_s8(0x20));
    uint8x16_t excluded = vorrq_u8(vceqq_u8(v, vdupq_n_u8(0x7f)), vceqq_u8(v, vdupq_n_u8('#')));
    return chopin__neon_mask(vmvnq_u8(vbicq_u8(visible, excluded)));
}
static inline uint64_t chopin__outside_field16(const char *p) {
    uint8x16_t v = vld1q_u8((const uint8_t *)p);
    uint8x16_t ctl = vandq_u8(vcltq_u8(v, vdupq_n_u8(0x20)), vmvnq_u8(vceqq_u8(v, vdupq_n_u8('\t'))));
    return chopin__neon_mask(vorrq_u8(ctl, vceqq_u8(v, vdupq_n_u8(0x7f))));
}
#endif

/* Request-target bytes, 16 at a time. lo <= p is the lowest address the
 * scan may read: fewer than 16 bytes before end are scanned as the last 16
 * before end, reaching back over bytes already known (never before lo), so
 * the short tail of a head costs one step too; only a buffer shorter than
 * 16 goes byte by byte. Nothing at or past end is read. */
static inline const char *chopin__scan_target_inline(const char *lo, const char *p, const char *end) {
#if defined(CHOPIN_SCAN_SSE2) || defined(CHOPIN_SCAN_NEON)
    if (chopin__scan_simd) {
        for (; end - p >= 16; p += 16) {
            uint64_t out = chopin__outside_target16(p);
            if (out) return p + (__builtin_ctzll(out) >> CHOPIN_SCAN_SHIFT);
        }
        if (p < end && end - lo >= 16) {
            uint64_t out = chopin__outside_target16(end - 16) >> ((16 - (end - p)) << CHOPIN_SCAN_SHIFT);
            return out ? p + (__builtin_ctzll(out) >> CHOPIN_SCAN_SHIFT) : end;
        }
    }
#else
    (void)lo;
#endif
    return chopin__scan_scalar(p, end, CHOPIN_C_TARGET);
}

/* Field-value bytes, the same way. */
static inline const char *chopin__scan_field_inline(const char *lo, const char *p, const char *end) {
#if defined(CHOPIN_SCAN_SSE2) || defined(CHOPIN_SCAN_NEON)
    if (chopin__scan_simd) {
        for (; end - p >= 16; p += 16) {
            uint64_t out = chopin__outside_field16(p);
            if (out) return p + (__builtin_ctzll(out) >> CHOPIN_SCAN_SHIFT);
        }
        if (p < end && end - lo >= 16) {
            uint64_t out = chopin__outside_field16(end - 16) >> ((16 - (end - p)) << CHOPIN_SCAN_SHIFT);
            return out ? p + (__builtin_ctzll(out) >> CHOPIN_SCAN_SHIFT) : end;
        }
    }
#else
    (void)lo;
#endif
    return chopin__scan_scalar(p, end, CHOPIN_C_FIELD);
}

/* The first byte c among the n at p, or NULL. Every 16 bytes from p up to
 * limit (>= p + n) may be read: a request-target, followed in its head by
 * at least " HTTP/1.1\r\n", is searched in one step when it is short. */
static inline const char *chopin__find_byte_inline(const char *p, size_t n, const char *limit, char c) {
#if defined(CHOPIN_SCAN_SSE2) || defined(CHOPIN_SCAN_NEON)
    if (chopin__scan_simd) {
        size_t i = 0;
        for (; i < n && limit - (p + i) >= 16; i += 16) {
#if defined(CHOPIN_SCAN_SSE2)
            __m128i v = _mm_loadu_si128((const __m128i *)(p + i));
            uint64_t hit = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(c)));
#else
            uint64_t hit = chopin__neon_mask(vceqq_u8(vld1q_u8((const uint8_t *)(p + i)), vdupq_n_u8((uint8_t)c)));
#endif
            if (hit) {
                size_t at = i + (__builtin_ctzll(hit) >> CHOPIN_SCAN_SHIFT);
                return at < n ? p + at : NULL;
            }
        }
        if (i >= n) return NULL;
        p += i;
        n -= i;
    }
#else
    (void)limit;
#endif
    return memchr(p, c, n);
}

/* Whether the n bytes at p are all Host bytes (CHOPIN_C_HOST). Nearly
 * every Host value is letters, digits, '.', '-' and ':', which 16 bytes at
 * a time are checked for at once; a step holding anything else (or too
 * close to limit, the end of what may be read) is decided byte by byte by
 * the table, so the answer is always the table's. */
static inline int chopin__all_host_inline(const char *p, size_t n, const char *limit) {
    size_t i = 0;
#if defined(CHOPIN_SCAN_SSE2) || defined(CHOPIN_SCAN_NEON)
    if (chopin__scan_simd) {
        for (; i < n && limit - (p + i) >= 16; i += 16) {
#if defined(CHOPIN_SCAN_SSE2)
            __m128i v = _mm_loadu_si128((const __m128i *)(p + i));
            __m128i folded = _mm_or_si128(v, _mm_set1_epi8(0x20)); /* A-Z to a-z; no other byte lands there */
            __m128i letter =
                _mm_and_si128(_mm_cmpgt_epi8(folded, _mm_set1_epi8(0x60)), _mm_cmpgt_epi8(_mm_set1_epi8(0x7b), folded));
            /* '-' '.' '/' 0-9 ':', then '/' taken out */
            __m128i other = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(0x2c)), _mm_cmpgt_epi8(_mm_set1_epi8(0x3b), v));
            other = _mm_andnot_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('/')), other);
            uint64_t rest = (unsigned)_mm_movemask_epi8(_mm_or_si128(letter, other)) ^ 0xffffu;
#else
            uint8x16_t v = vld1q_u8((const uint8_t *)(p + i));
            uint8x16_t folded = vorrq_u8(v, vdupq_n_u8(0x20));
            uint8x16_t letter = vandq_u8(vcgeq_u8(folded, vdupq_n_u8('a')), vcleq_u8(folded, vdupq_n_u8('z')));
            uint8x16_t other = vandq_u8(vcgeq_u8(v, vdupq_n_u8('-')), vcleq_u8(v, vdupq_n_u8(':')));
            other = vbicq_u8(other, vceqq_u8(v, vdupq_n_u8('/')));
            uint64_t rest = chopin__neon_mask(vmvnq_u8(vorrq_u8(letter, other)));
#endif
            size_t left = n - i;
            if (left < 16) rest &= (1ull << (left << CHOPIN_SCAN_SHIFT)) - 1;
            if (rest) break; /* something else here: the table decides from this step on */
        }
    }
#else
    (void)limit;
#endif
    for (; i < n; i++)
        if (!(chopin__char_class[(unsigned char)p[i]] & CHOPIN_C_HOST)) return 0;
    return 1;
}

/* Token bytes (methods, header names): runs are short, so the first 16
 * bytes go one by one, which costs less than a call and a vector set-up;
 * a longer run goes on in chopin__scan_tchar. */
static inline const char *chopin__scan_tchar_inline(const char *p, const char *end) {
    const char *stop = end - p > 16 ? p + 16 : end;
    while (p < stop && (chopin__char_class[(unsigned char)*p] & CHOPIN_C_TCHAR))
        p++;
    return p == stop && p < end ? chopin__scan_tchar(p, end) : p;
}

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

#endif
