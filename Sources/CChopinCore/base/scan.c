/* scan.c - the character-class table, and the scans that are not inline
 * (scan.h): the token scan's SIMD path for runs longer than 16 bytes
 * (SSSE3 on x86-64, picked at run time; NEON on arm64, always there), and
 * the three scans as functions, for the tests and whoever needs a pointer.
 *
 * The token class has no simple shape (letters, digits and 15 of the 32
 * punctuation characters), so its SIMD path decides membership exactly with
 * a bitmap indexed by the low nibble, one bit per high nibble, built at
 * start-up from the same table the scalar path reads, so the two cannot
 * drift apart. */
#include "scan.h"

#if defined(__x86_64__)
#include <immintrin.h>
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

int chopin__scan_simd;

const char *chopin__scan_target(const char *p, const char *end) { return chopin__scan_target_inline(p, p, end); }
const char *chopin__scan_field(const char *p, const char *end) { return chopin__scan_field_inline(p, p, end); }

#if defined(CHOPIN_SCAN_SSE2) || defined(CHOPIN_SCAN_NEON)
/* Bit h of tchar_bits[lo] is set when byte (h << 4 | lo) is a token
 * character, for h < 8. Built once, before any worker starts. */
static uint8_t tchar_bits[16];
static const uint8_t high_bit[16] = {1, 2, 4, 8, 16, 32, 64, 128, 0, 0, 0, 0, 0, 0, 0, 0};

__attribute__((constructor)) static void scan_init(void) {
    for (unsigned c = 0; c < 128; c++)
        if (chopin__char_class[c] & CHOPIN_C_TCHAR) tchar_bits[c & 15] |= (uint8_t)(1u << (c >> 4));
    chopin__scan_simd = chopin__scan_simd_available();
}
#endif

#if defined(CHOPIN_SCAN_SSE2)
int chopin__scan_simd_available(void) { return __builtin_cpu_supports("ssse3"); }

/* Bytes >= 0x80 find no bit and count as outside, as they should. */
__attribute__((target("ssse3"))) static const char *scan_tchar_ssse3(const char *p, const char *end) {
    const __m128i table = _mm_loadu_si128((const __m128i *)tchar_bits);
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
    return chopin__scan_scalar(p, end, CHOPIN_C_TCHAR);
}

const char *chopin__scan_tchar(const char *p, const char *end) {
    return chopin__scan_simd ? scan_tchar_ssse3(p, end) : chopin__scan_scalar(p, end, CHOPIN_C_TCHAR);
}

#elif defined(CHOPIN_SCAN_NEON)
int chopin__scan_simd_available(void) { return 1; }

static const char *scan_tchar_neon(const char *p, const char *end) {
    const uint8x16_t table = vld1q_u8(tchar_bits), highs = vld1q_u8(high_bit), nib = vdupq_n_u8(0x0f);
    while (end - p >= 16) {
        uint8x16_t v = vld1q_u8((const uint8_t *)p);
        /* tbl gives 0 for an index >= 16, so bytes >= 0x80 (high nibble >= 8) find no bit */
        uint8x16_t in = vandq_u8(vqtbl1q_u8(table, vandq_u8(v, nib)), vqtbl1q_u8(highs, vshrq_n_u8(v, 4)));
        uint64_t out = chopin__neon_mask(vceqq_u8(in, vdupq_n_u8(0)));
        if (out) return p + (__builtin_ctzll(out) >> CHOPIN_SCAN_SHIFT);
        p += 16;
    }
    return chopin__scan_scalar(p, end, CHOPIN_C_TCHAR);
}

const char *chopin__scan_tchar(const char *p, const char *end) {
    return chopin__scan_simd ? scan_tchar_neon(p, end) : chopin__scan_scalar(p, end, CHOPIN_C_TCHAR);
}

#else
int chopin__scan_simd_available(void) { return 0; }
const char *chopin__scan_tchar(const char *p, const char *end) { return chopin__scan_scalar(p, end, CHOPIN_C_TCHAR); }
#endif
