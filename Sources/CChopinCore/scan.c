/* scan.c - character-class scans for the request head parser, 16 bytes at a
 * time where the CPU can (SSSE3 on x86-64, picked at run time; NEON on
 * arm64, always there), one byte at a time otherwise and for the last
 * bytes before end, so nothing is ever read past end.
 *
 * The SIMD code decides membership exactly, not approximately: a class with
 * no bytes at or above 0x80 (token, target) is looked up as a bitmap
 * indexed by the low nibble, one bit per high nibble, built at start-up from
 * the same table the scalar path reads, so the two cannot drift apart; the
 * field class is two comparisons. */
#include "scan.h"

#include <stdint.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define SCAN_X86 1
#elif defined(__aarch64__)
#include <arm_neon.h>
#define SCAN_NEON 1
#endif

/* clang-format off */
#define T (CHOPIN_C_TCHAR | CHOPIN_C_VCHAR | CHOPIN_C_FIELD | CHOPIN_C_TARGET)
#define V (CHOPIN_C_VCHAR | CHOPIN_C_FIELD | CHOPIN_C_TARGET)
#define TH (T | CHOPIN_C_HOST)
#define VH (V | CHOPIN_C_HOST)
#define F CHOPIN_C_FIELD
const unsigned char chopin__char_class[256] = {
    /* 0x00-0x1f: controls; only HTAB may appear inside a field value */
    0, 0, 0, 0, 0, 0, 0, 0, 0, F, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /*  sp  !   "  #                                         $   %   &   '   (   )   *   +   ,   -   .   /  */
    F, TH, V, CHOPIN_C_TCHAR | CHOPIN_C_VCHAR | CHOPIN_C_FIELD, TH, TH, TH, TH, VH, VH, TH, TH, VH, TH, TH, V,
    /*  0-9                                      :   ;   <  =   >  ?  */
    TH, TH, TH, TH, TH, TH, TH, TH, TH, TH, VH, VH, V, VH, V, V,
    /*  @  A-O */
    V, TH, TH, TH, TH, TH, TH, TH, TH, TH, TH, TH, TH, TH, TH, TH,
    /*  P-Z                                          [   \  ]   ^  _ */
    TH, TH, TH, TH, TH, TH, TH, TH, TH, TH, TH, VH, V, VH, T, TH,
    /*  `  a-o */
    T, TH, TH, TH, TH, TH, TH, TH, TH, TH, TH, TH, TH, TH, TH, TH,
    /*  p-z                                          {  |  }  ~   del */
    TH, TH, TH, TH, TH, TH, TH, TH, TH, TH, TH, V, T, V, TH, 0,
    /* 0x80-0xff: obs-text, allowed in field values only */
#define O8 F, F, F, F, F, F, F, F
    O8, O8, O8, O8, O8, O8, O8, O8, O8, O8, O8, O8, O8, O8, O8, O8,
#undef O8
};
#undef T
#undef V
#undef TH
#undef VH
#undef F
/* clang-format on */

static const char *scalar(const char *p, const char *end, unsigned char cls) {
    while (p < end && (chopin__char_class[(unsigned char)*p] & cls))
        p++;
    return p;
}

int chopin__scan_simd;

#if defined(SCAN_X86) || defined(SCAN_NEON)
/* Per class: bit h of nibble_bits[lo] is set when byte (h << 4 | lo) is in
 * the class, for h < 8. Built once, before any worker starts. */
static uint8_t tchar_bits[16], target_bits[16];
static const uint8_t high_bit[16] = {1, 2, 4, 8, 16, 32, 64, 128, 0, 0, 0, 0, 0, 0, 0, 0};

__attribute__((constructor)) static void scan_init(void) {
    for (unsigned c = 0; c < 128; c++) {
        if (chopin__char_class[c] & CHOPIN_C_TCHAR) tchar_bits[c & 15] |= (uint8_t)(1u << (c >> 4));
        if (chopin__char_class[c] & CHOPIN_C_TARGET) target_bits[c & 15] |= (uint8_t)(1u << (c >> 4));
    }
    chopin__scan_simd = chopin__scan_simd_available();
}
#endif

#if defined(SCAN_X86)
int chopin__scan_simd_available(void) { return __builtin_cpu_supports("ssse3"); }

/* Bytes >= 0x80 find no bit and count as outside, as they should for the
 * token and target classes. */
__attribute__((target("ssse3"))) static const char *scan_bitmap_ssse3(const char *p, const char *end,
                                                                       const uint8_t *bits, unsigned char cls) {
    const __m128i table = _mm_loadu_si128((const __m128i *)bits);
    const __m128i highs = _mm_loadu_si128((const __m128i *)high_bit);
    const __m128i nib = _mm_set1_epi8(0x0f);
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)p);
        __m128i lo_bits = _mm_shuffle_epi8(table, _mm_and_si128(v, nib));
        /* high nibbles 8-15 (bytes >= 0x80) index zeros in high_bit */
        __m128i hi_bit = _mm_shuffle_epi8(highs, _mm_and_si128(_mm_srli_epi16(v, 4), nib));
        __m128i in = _mm_and_si128(lo_bits, hi_bit);
        unsigned out = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(in, _mm_setzero_si128()));
        if (out) return p + __builtin_ctz(out);
        p += 16;
    }
    return scalar(p, end, cls);
}

/* Field bytes: all but the controls other than HTAB, and DEL. SSE2 is part of x86-64. */
static const char *scan_field_sse2(const char *p, const char *end) {
    const __m128i ctl_max = _mm_set1_epi8(0x1f), tab = _mm_set1_epi8('\t'), del = _mm_set1_epi8(0x7f);
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)p);
        __m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(v, ctl_max), v); /* v <= 0x1f, unsigned */
        __m128i bad = _mm_or_si128(_mm_andnot_si128(_mm_cmpeq_epi8(v, tab), ctl), _mm_cmpeq_epi8(v, del));
        unsigned out = (unsigned)_mm_movemask_epi8(bad);
        if (out) return p + __builtin_ctz(out);
        p += 16;
    }
    return scalar(p, end, CHOPIN_C_FIELD);
}

const char *chopin__scan_tchar(const char *p, const char *end) {
    return chopin__scan_simd ? scan_bitmap_ssse3(p, end, tchar_bits, CHOPIN_C_TCHAR) : scalar(p, end, CHOPIN_C_TCHAR);
}
const char *chopin__scan_target(const char *p, const char *end) {
    return chopin__scan_simd ? scan_bitmap_ssse3(p, end, target_bits, CHOPIN_C_TARGET)
                             : scalar(p, end, CHOPIN_C_TARGET);
}
const char *chopin__scan_field(const char *p, const char *end) {
    return chopin__scan_simd ? scan_field_sse2(p, end) : scalar(p, end, CHOPIN_C_FIELD);
}

#elif defined(SCAN_NEON)
int chopin__scan_simd_available(void) { return 1; }

/* The lowest byte index whose mask byte is 0xff, from the 64-bit narrowing
 * of the comparison (4 bits a byte). */
static inline int first_set(uint8x16_t mask, unsigned *idx) {
    uint64_t bits = vget_lane_u64(vreinterpret_u64_u8(vshrn_n_u16(vreinterpretq_u16_u8(mask), 4)), 0);
    if (!bits) return 0;
    *idx = (unsigned)__builtin_ctzll(bits) >> 2;
    return 1;
}

static const char *scan_bitmap_neon(const char *p, const char *end, const uint8_t *bits, unsigned char cls) {
    const uint8x16_t table = vld1q_u8(bits), highs = vld1q_u8(high_bit), nib = vdupq_n_u8(0x0f);
    unsigned i;
    while (end - p >= 16) {
        uint8x16_t v = vld1q_u8((const uint8_t *)p);
        /* tbl gives 0 for an index >= 16, so bytes >= 0x80 (high nibble >= 8) find no bit */
        uint8x16_t in = vandq_u8(vqtbl1q_u8(table, vandq_u8(v, nib)), vqtbl1q_u8(highs, vshrq_n_u8(v, 4)));
        if (first_set(vceqq_u8(in, vdupq_n_u8(0)), &i)) return p + i;
        p += 16;
    }
    return scalar(p, end, cls);
}

static const char *scan_field_neon(const char *p, const char *end) {
    unsigned i;
    while (end - p >= 16) {
        uint8x16_t v = vld1q_u8((const uint8_t *)p);
        uint8x16_t ctl = vandq_u8(vcltq_u8(v, vdupq_n_u8(0x20)), vmvnq_u8(vceqq_u8(v, vdupq_n_u8('\t'))));
        if (first_set(vorrq_u8(ctl, vceqq_u8(v, vdupq_n_u8(0x7f))), &i)) return p + i;
        p += 16;
    }
    return scalar(p, end, CHOPIN_C_FIELD);
}

const char *chopin__scan_tchar(const char *p, const char *end) {
    return chopin__scan_simd ? scan_bitmap_neon(p, end, tchar_bits, CHOPIN_C_TCHAR) : scalar(p, end, CHOPIN_C_TCHAR);
}
const char *chopin__scan_target(const char *p, const char *end) {
    return chopin__scan_simd ? scan_bitmap_neon(p, end, target_bits, CHOPIN_C_TARGET)
                             : scalar(p, end, CHOPIN_C_TARGET);
}
const char *chopin__scan_field(const char *p, const char *end) {
    return chopin__scan_simd ? scan_field_neon(p, end) : scalar(p, end, CHOPIN_C_FIELD);
}

#else
int chopin__scan_simd_available(void) { return 0; }
const char *chopin__scan_tchar(const char *p, const char *end) { return scalar(p, end, CHOPIN_C_TCHAR); }
const char *chopin__scan_target(const char *p, const char *end) { return scalar(p, end, CHOPIN_C_TARGET); }
const char *chopin__scan_field(const char *p, const char *end) { return scalar(p, end, CHOPIN_C_FIELD); }
#endif
