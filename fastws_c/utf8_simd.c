/*
 * UTF-8 validation kernels (RFC 3629 section 4; RFC 6455 sections 5.6, 8.1).
 *
 * Valid UTF-8 is exactly the byte sequences of RFC 3629 section 4:
 *
 *     UTF8-1 = 00-7F
 *     UTF8-2 = C2-DF UTF8-tail
 *     UTF8-3 = E0 A0-BF UTF8-tail / E1-EC 2( UTF8-tail ) /
 *              ED 80-9F UTF8-tail / EE-EF 2( UTF8-tail )
 *     UTF8-4 = F0 90-BF 2( UTF8-tail ) / F1-F3 3( UTF8-tail ) /
 *              F4 80-8F 2( UTF8-tail )
 *     UTF8-tail = 80-BF
 *
 * so C0, C1 and F5..FF never occur, E0 80..9F / F0 80..8F would be overlong,
 * ED A0..BF would encode a surrogate (U+D800..DFFF) and F4 90..BF a value
 * above U+10FFFF.
 *
 * Implementations (all give the same answer for every input):
 *
 * - "scalar": a table-driven DFA of the grammar above (one load and one
 *   shift per byte, no branch), with an ASCII fast path that tests two
 *   8-byte words at a time. Always available, and the only one off x86.
 * - "ssse3", "avx2", "avx512": the "lookup" algorithm of Keiser and Lemire
 *   ("Validating UTF-8 in less than one instruction per byte", 2021),
 *   written here from its description. For every byte the high nibble of
 *   the previous byte, the low nibble of the previous byte and the high
 *   nibble of the byte itself index three 16-entry tables (PSHUFB); each
 *   table entry is a set of error classes, and the AND of the three sets is
 *   the set of errors the byte pair commits. That finds every error that
 *   two adjacent bytes reveal. The remaining rule -- the third and fourth
 *   bytes of a 3/4-byte sequence must be continuation bytes, and nowhere
 *   else may two continuation bytes follow each other -- is checked by
 *   comparing "is a continuation after a continuation" (TWO_CONTS) with
 *   "two/three bytes back is a 3/4-byte lead". Blocks that are pure ASCII
 *   skip all of that. A sequence truncated at the end of the input is found
 *   by the "incomplete" check of the block that ends the input (last byte
 *   >= C0, second to last >= E0 or third to last >= F0), or, where the final
 *   block is padded with zero bytes, as a lead followed by ASCII.
 *
 * The x86 variants are compiled with __attribute__((target(...))) so the
 * file needs no -m flags; the choice is made at run time with
 * __builtin_cpu_supports (which also checks that the OS saves the vector
 * registers). Loads never leave [p, p + n) (see the notes on the final,
 * partial block below).
 */
#include "utf8_simd.h"

#include <stdint.h>
#include <string.h>

/* -DFASTWS_UTF8_NO_SIMD builds the scalar validator only (as on non-x86). */
#if !defined(FASTWS_UTF8_NO_SIMD) && (defined(__x86_64__) || defined(__i386__)) && \
    (defined(__GNUC__) || defined(__clang__))
#define FASTWS_UTF8_X86 1
#include <immintrin.h>
#else
#define FASTWS_UTF8_X86 0
#endif

/* ------------------------------------------------------------------------ */
/* Byte classes shared by every implementation                               */
/* ------------------------------------------------------------------------ */

int fastws_utf8_sequence_length(unsigned char b)
{
    if (b < 0x80) return 1;
    if (b < 0xC2) return 0; /* continuation byte, or C0/C1 (always overlong) */
    if (b < 0xE0) return 2;
    if (b < 0xF0) return 3;
    if (b < 0xF5) return 4;
    return 0;               /* F5..FF would encode more than U+10FFFF */
}

/* The range RFC 3629 allows for the second byte after `lead`. */
static inline void second_byte_range(unsigned char lead, unsigned char *lo, unsigned char *hi)
{
    *lo = 0x80;
    *hi = 0xBF;
    switch (lead) {
    case 0xE0: *lo = 0xA0; break; /* below A0: overlong 3-byte form   */
    case 0xED: *hi = 0x9F; break; /* A0..BF: surrogates D800..DFFF    */
    case 0xF0: *lo = 0x90; break; /* below 90: overlong 4-byte form   */
    case 0xF4: *hi = 0x8F; break; /* 90..BF: above U+10FFFF           */
    default: break;
    }
}

int fastws_utf8_partial_ok(const unsigned char *s, size_t k)
{
    size_t len, i;
    unsigned char lo, hi;
    if (k == 0) return 0;
    len = (size_t)fastws_utf8_sequence_length(s[0]);
    if (len == 0 || k > len) return 0;
    if (k >= 2) {
        second_byte_range(s[0], &lo, &hi);
        if (s[1] < lo || s[1] > hi) return 0;
        for (i = 2; i < k; i++) {
            if ((s[i] & 0xC0) != 0x80) return 0;
        }
    }
    return 1;
}

/* ------------------------------------------------------------------------ */
/* Portable scalar validator: a shift-based DFA                              */
/* ------------------------------------------------------------------------ */

/*
 * The states of the RFC 3629 grammar, each named by a bit offset (a multiple
 * of 6) into a 64-bit row. DFA_ROW[b] holds, at bits [s, s + 6) for every
 * state s, the state that byte b leads to from s. One step is then
 * `state = DFA_ROW[b] >> (state & 63)` -- a load that does not depend on the
 * state and one shift, with no branch per byte. Every transition the grammar
 * does not list leads to S_ERROR (offset 0), which only leads to itself.
 */
#define S_ERROR 0
#define S_ACCEPT 6  /* at a character boundary                          */
#define S_TAIL1 12  /* one more 80..BF needed                           */
#define S_TAIL2 18  /* two more 80..BF needed                           */
#define S_E0 24     /* after E0: A0..BF, then one more                  */
#define S_ED 30     /* after ED: 80..9F, then one more (no surrogates)  */
#define S_TAIL3 36  /* after F1..F3: three more 80..BF                  */
#define S_F0 42     /* after F0: 90..BF, then two more                  */
#define S_F4 48     /* after F4: 80..8F, then two more (max U+10FFFF)    */

static uint64_t DFA_ROW[256];
static int dfa_ready = 0;

static void dfa_edge(int lo, int hi, int from, int to)
{
    int b;
    for (b = lo; b <= hi; b++) DFA_ROW[b] |= (uint64_t)to << from;
}

static void dfa_build(void)
{
    memset(DFA_ROW, 0, sizeof DFA_ROW);
    /* from a character boundary (RFC 3629 section 4, first byte) */
    dfa_edge(0x00, 0x7F, S_ACCEPT, S_ACCEPT);
    dfa_edge(0xC2, 0xDF, S_ACCEPT, S_TAIL1);
    dfa_edge(0xE0, 0xE0, S_ACCEPT, S_E0);
    dfa_edge(0xE1, 0xEC, S_ACCEPT, S_TAIL2);
    dfa_edge(0xED, 0xED, S_ACCEPT, S_ED);
    dfa_edge(0xEE, 0xEF, S_ACCEPT, S_TAIL2);
    dfa_edge(0xF0, 0xF0, S_ACCEPT, S_F0);
    dfa_edge(0xF1, 0xF3, S_ACCEPT, S_TAIL3);
    dfa_edge(0xF4, 0xF4, S_ACCEPT, S_F4);
    /* continuation bytes */
    dfa_edge(0x80, 0xBF, S_TAIL1, S_ACCEPT);
    dfa_edge(0x80, 0xBF, S_TAIL2, S_TAIL1);
    dfa_edge(0xA0, 0xBF, S_E0, S_TAIL1);
    dfa_edge(0x80, 0x9F, S_ED, S_TAIL1);
    dfa_edge(0x80, 0xBF, S_TAIL3, S_TAIL2);
    dfa_edge(0x90, 0xBF, S_F0, S_TAIL2);
    dfa_edge(0x80, 0x8F, S_F4, S_TAIL2);
    dfa_ready = 1;
}

#define DFA_STEP(state, byte) ((state) = DFA_ROW[(byte)] >> ((state) & 63))
#define HIGH_BITS UINT64_C(0x8080808080808080)

int fastws_utf8_validate_scalar(const unsigned char *p, size_t n)
{
    const unsigned char *end = p + n;
    uint64_t state = S_ACCEPT, w0, w1;
    int j;

    if (!dfa_ready) dfa_build();
    while ((size_t)(end - p) >= 16) {
        if ((state & 63) == S_ACCEPT) {
            /* ASCII fast path, 16 bytes (two 8-byte words) per test. */
            memcpy(&w0, p, 8);
            memcpy(&w1, p + 8, 8);
            if (((w0 | w1) & HIGH_BITS) == 0) {
                p += 16;
                continue;
            }
        }
        for (j = 0; j < 16; j++) DFA_STEP(state, p[j]);
        p += 16;
        if ((state & 63) == S_ERROR) return 0;
    }
    while (p < end) {
        DFA_STEP(state, *p);
        p++;
    }
    return (state & 63) == S_ACCEPT;
}

/* ------------------------------------------------------------------------ */
/* SIMD "lookup" validators (x86)                                            */
/* ------------------------------------------------------------------------ */

#if FASTWS_UTF8_X86

/*
 * Error classes of a byte pair (prev, cur), one bit each, and the nibble
 * conditions that define them (prev_hi, prev_lo, cur_hi are nibbles):
 *
 *   bit 0 TOO_SHORT   prev_hi C..F (a lead), cur_hi 0..7 or C..F (not a continuation)
 *   bit 1 TOO_LONG    prev_hi 0..7 (ASCII), cur_hi 8..B (continuation)
 *   bit 2 OVERLONG_3  prev E0, cur_hi 8..9                    (E0 80..9F)
 *   bit 3 TOO_LARGE   prev_hi F, prev_lo 4..F, cur_hi 9..B     (F4..FF 90..BF)
 *   bit 4 SURROGATE   prev ED, cur_hi A..B                    (ED A0..BF)
 *   bit 5 OVERLONG_2  prev_hi C, prev_lo 0..1, cur_hi 8..B     (C0/C1 + continuation)
 *   bit 6 OVERLONG_4  prev F0, cur_hi 8                       (F0 80..8F)
 *         and TOO_LARGE_1000  prev_hi F, prev_lo 5..F, cur_hi 8   (F5..FF 80..8F)
 *         (one bit serves both: same prev_hi and cur_hi sets)
 *   bit 7 TWO_CONTS   prev_hi 8..B, cur_hi 8..B: not an error by itself; it
 *                     must be set exactly where a 3rd or 4th sequence byte is.
 *
 * TABLE_PREV_HI[h] holds the bits whose prev_hi set contains h, and so on;
 * the AND of the three lookups is the set of classes the pair belongs to.
 * The tables were derived from these rules and checked against all 65536
 * byte pairs; tests/test_utf8.py checks every pair through every variant.
 */
#define TOO_SHORT 0x01
#define TOO_LONG 0x02
#define OVERLONG_3 0x04
#define TOO_LARGE 0x08
#define SURROGATE 0x10
#define OVERLONG_2 0x20
#define OVERLONG_4 0x40
#define TOO_LARGE_1000 0x40
#define TWO_CONTS 0x80
#define ANY_PREV_LO (TOO_SHORT | TOO_LONG | TWO_CONTS)

static const unsigned char TABLE_PREV_HI[16] = {
    /* 0..7: ASCII */
    TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG,
    /* 8..B: continuation */
    TWO_CONTS, TWO_CONTS, TWO_CONTS, TWO_CONTS,
    /* C: 2-byte lead (C0/C1 overlong) */
    TOO_SHORT | OVERLONG_2,
    /* D: 2-byte lead */
    TOO_SHORT,
    /* E: 3-byte lead */
    TOO_SHORT | OVERLONG_3 | SURROGATE,
    /* F: 4-byte lead (F5..FF too large) */
    TOO_SHORT | TOO_LARGE | TOO_LARGE_1000 | OVERLONG_4,
};

static const unsigned char TABLE_PREV_LO[16] = {
    /* 0 */ ANY_PREV_LO | OVERLONG_2 | OVERLONG_3 | OVERLONG_4,
    /* 1 */ ANY_PREV_LO | OVERLONG_2,
    /* 2 */ ANY_PREV_LO,
    /* 3 */ ANY_PREV_LO,
    /* 4 */ ANY_PREV_LO | TOO_LARGE,
    /* 5 */ ANY_PREV_LO | TOO_LARGE | TOO_LARGE_1000,
    /* 6 */ ANY_PREV_LO | TOO_LARGE | TOO_LARGE_1000,
    /* 7 */ ANY_PREV_LO | TOO_LARGE | TOO_LARGE_1000,
    /* 8 */ ANY_PREV_LO | TOO_LARGE | TOO_LARGE_1000,
    /* 9 */ ANY_PREV_LO | TOO_LARGE | TOO_LARGE_1000,
    /* A */ ANY_PREV_LO | TOO_LARGE | TOO_LARGE_1000,
    /* B */ ANY_PREV_LO | TOO_LARGE | TOO_LARGE_1000,
    /* C */ ANY_PREV_LO | TOO_LARGE | TOO_LARGE_1000,
    /* D */ ANY_PREV_LO | TOO_LARGE | TOO_LARGE_1000 | SURROGATE,
    /* E */ ANY_PREV_LO | TOO_LARGE | TOO_LARGE_1000,
    /* F */ ANY_PREV_LO | TOO_LARGE | TOO_LARGE_1000,
};

#define CONT_CLASSES (TOO_LONG | OVERLONG_2 | TWO_CONTS)
static const unsigned char TABLE_CUR_HI[16] = {
    /* 0..7: ASCII after a lead */
    TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT,
    /* 8: 80..8F */ CONT_CLASSES | OVERLONG_3 | OVERLONG_4 | TOO_LARGE_1000,
    /* 9: 90..9F */ CONT_CLASSES | OVERLONG_3 | TOO_LARGE,
    /* A: A0..AF */ CONT_CLASSES | SURROGATE | TOO_LARGE,
    /* B: B0..BF */ CONT_CLASSES | SURROGATE | TOO_LARGE,
    /* C..F: a lead after a lead */
    TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT,
};

/* Saturating-subtract thresholds for the last three bytes of a block: a
 * nonzero result means the block ends inside a sequence (last byte >= C0,
 * second to last >= E0, third to last >= F0). */
static const unsigned char INCOMPLETE_MAX[64] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xEF, 0xDF, 0xBF,
};

/* Bytes >= E0 (3/4-byte leads) minus 0x60 have bit 7 set, others do not;
 * bytes >= F0 (4-byte leads) minus 0x70 likewise. */
#define THIRD_BYTE_SUB 0x60
#define FOURTH_BYTE_SUB 0x70

#define EARLY_EXIT_MASK 1023 /* look at the error vector every 1 KiB */

/* Byte j of the 64 bytes at OVERLAP_MASK + 64 - done is 0xFF iff j >= done:
 * it keeps the error bits of the bytes of a re-read final block that were
 * not checked before. */
static const unsigned char OVERLAP_MASK[128] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
};

/*
 * The SSSE3 and AVX2 variants walk the input in 64-byte blocks. The last,
 * partial block is handled without reading past the end of the buffer:
 *
 * - input of 64 bytes or more: the final block is the *last 64 bytes* of the
 *   input. Its first `done` bytes were checked already; their error bits are
 *   masked off (re-checking them would be harmless when their context is
 *   known, but for inputs under 64 + vector bytes the bytes before the block
 *   are not loaded, and a zero context could raise false errors at its first
 *   three positions -- the mask covers them, as done > 3 there). Bytes from
 *   `done` on see their real three predecessors.
 * - shorter input: it is copied into a zero-filled 64-byte buffer; the zero
 *   bytes are ASCII, so a sequence cut off by the end of the input is an
 *   error (TOO_SHORT) like any lead followed by ASCII.
 */

/* ---------------- SSSE3: 16-byte vectors ---------------- */

#define TARGET_SSSE3 __attribute__((target("ssse3")))

struct ssse3_consts {
    __m128i t_prev_hi, t_prev_lo, t_cur_hi, nibble, sub3, sub4, bit7, incomplete_max;
};

TARGET_SSSE3 static inline __m128i
ssse3_block(const struct ssse3_consts *k, __m128i in, __m128i prev_in)
{
    __m128i prev1 = _mm_alignr_epi8(in, prev_in, 15);
    __m128i prev2 = _mm_alignr_epi8(in, prev_in, 14);
    __m128i prev3 = _mm_alignr_epi8(in, prev_in, 13);
    __m128i a = _mm_shuffle_epi8(k->t_prev_hi, _mm_and_si128(_mm_srli_epi16(prev1, 4), k->nibble));
    __m128i b = _mm_shuffle_epi8(k->t_prev_lo, _mm_and_si128(prev1, k->nibble));
    __m128i c = _mm_shuffle_epi8(k->t_cur_hi, _mm_and_si128(_mm_srli_epi16(in, 4), k->nibble));
    __m128i pair = _mm_and_si128(_mm_and_si128(a, b), c);
    __m128i must = _mm_or_si128(_mm_subs_epu8(prev2, k->sub3), _mm_subs_epu8(prev3, k->sub4));
    return _mm_xor_si128(_mm_and_si128(must, k->bit7), pair);
}

TARGET_SSSE3 static inline int ssse3_is_zero(__m128i v)
{
    return _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_setzero_si128())) == 0xFFFF;
}

TARGET_SSSE3 static int validate_ssse3(const unsigned char *p, size_t n)
{
    struct ssse3_consts k;
    __m128i err = _mm_setzero_si128(), prev = _mm_setzero_si128();
    __m128i prev_incomplete = _mm_setzero_si128();
    __m128i v0, v1, v2, v3;
    unsigned char last[64];
    const unsigned char *src;
    size_t i = 0, done;

    k.t_prev_hi = _mm_loadu_si128((const __m128i *)TABLE_PREV_HI);
    k.t_prev_lo = _mm_loadu_si128((const __m128i *)TABLE_PREV_LO);
    k.t_cur_hi = _mm_loadu_si128((const __m128i *)TABLE_CUR_HI);
    k.nibble = _mm_set1_epi8(0x0F);
    k.sub3 = _mm_set1_epi8(THIRD_BYTE_SUB);
    k.sub4 = _mm_set1_epi8(FOURTH_BYTE_SUB);
    k.bit7 = _mm_set1_epi8((char)0x80);
    k.incomplete_max = _mm_loadu_si128((const __m128i *)(INCOMPLETE_MAX + 48));

    while (n - i >= 64) {
        v0 = _mm_loadu_si128((const __m128i *)(p + i));
        v1 = _mm_loadu_si128((const __m128i *)(p + i + 16));
        v2 = _mm_loadu_si128((const __m128i *)(p + i + 32));
        v3 = _mm_loadu_si128((const __m128i *)(p + i + 48));
        if (_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(v0, v1), _mm_or_si128(v2, v3))) == 0) {
            err = _mm_or_si128(err, prev_incomplete);
            prev_incomplete = _mm_setzero_si128();
        } else {
            err = _mm_or_si128(err, ssse3_block(&k, v0, prev));
            err = _mm_or_si128(err, ssse3_block(&k, v1, v0));
            err = _mm_or_si128(err, ssse3_block(&k, v2, v1));
            err = _mm_or_si128(err, ssse3_block(&k, v3, v2));
            prev_incomplete = _mm_subs_epu8(v3, k.incomplete_max);
        }
        prev = v3;
        i += 64;
        if ((i & EARLY_EXIT_MASK) == 0 && !ssse3_is_zero(err)) return 0;
    }
    if (i < n) {
        if (n >= 64) {
            src = p + n - 64;
            done = 64 - (n - i);
            prev = n >= 64 + 16 ? _mm_loadu_si128((const __m128i *)(src - 16)) : _mm_setzero_si128();
        } else {
            memset(last, 0, sizeof last);
            memcpy(last, p, n);
            src = last;
            done = 0;
        }
        v0 = _mm_loadu_si128((const __m128i *)src);
        v1 = _mm_loadu_si128((const __m128i *)(src + 16));
        v2 = _mm_loadu_si128((const __m128i *)(src + 32));
        v3 = _mm_loadu_si128((const __m128i *)(src + 48));
        if (_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(v0, v1), _mm_or_si128(v2, v3))) == 0) {
            err = _mm_or_si128(err, prev_incomplete);
            prev_incomplete = _mm_setzero_si128();
        } else {
            const unsigned char *mask = OVERLAP_MASK + 64 - done;
            err = _mm_or_si128(err, _mm_and_si128(ssse3_block(&k, v0, prev),
                                                  _mm_loadu_si128((const __m128i *)mask)));
            err = _mm_or_si128(err, _mm_and_si128(ssse3_block(&k, v1, v0),
                                                  _mm_loadu_si128((const __m128i *)(mask + 16))));
            err = _mm_or_si128(err, _mm_and_si128(ssse3_block(&k, v2, v1),
                                                  _mm_loadu_si128((const __m128i *)(mask + 32))));
            err = _mm_or_si128(err, _mm_and_si128(ssse3_block(&k, v3, v2),
                                                  _mm_loadu_si128((const __m128i *)(mask + 48))));
            prev_incomplete = _mm_subs_epu8(v3, k.incomplete_max);
        }
    }
    return ssse3_is_zero(_mm_or_si128(err, prev_incomplete));
}

/* ---------------- AVX2: 32-byte vectors ---------------- */

#define TARGET_AVX2 __attribute__((target("avx2")))

struct avx2_consts {
    __m256i t_prev_hi, t_prev_lo, t_cur_hi, nibble, sub3, sub4, bit7, incomplete_max;
};

TARGET_AVX2 static inline __m256i
avx2_block(const struct avx2_consts *k, __m256i in, __m256i prev_in)
{
    /* [high half of prev_in, low half of in]: the 16 bytes before each lane */
    __m256i before = _mm256_permute2x128_si256(prev_in, in, 0x21);
    __m256i prev1 = _mm256_alignr_epi8(in, before, 15);
    __m256i prev2 = _mm256_alignr_epi8(in, before, 14);
    __m256i prev3 = _mm256_alignr_epi8(in, before, 13);
    __m256i a = _mm256_shuffle_epi8(k->t_prev_hi,
                                    _mm256_and_si256(_mm256_srli_epi16(prev1, 4), k->nibble));
    __m256i b = _mm256_shuffle_epi8(k->t_prev_lo, _mm256_and_si256(prev1, k->nibble));
    __m256i c = _mm256_shuffle_epi8(k->t_cur_hi,
                                    _mm256_and_si256(_mm256_srli_epi16(in, 4), k->nibble));
    __m256i pair = _mm256_and_si256(_mm256_and_si256(a, b), c);
    __m256i must = _mm256_or_si256(_mm256_subs_epu8(prev2, k->sub3),
                                   _mm256_subs_epu8(prev3, k->sub4));
    return _mm256_xor_si256(_mm256_and_si256(must, k->bit7), pair);
}

TARGET_AVX2 static int validate_avx2(const unsigned char *p, size_t n)
{
    struct avx2_consts k;
    __m256i err = _mm256_setzero_si256(), prev = _mm256_setzero_si256();
    __m256i prev_incomplete = _mm256_setzero_si256();
    __m256i v0, v1;
    unsigned char last[64];
    const unsigned char *src;
    size_t i = 0, done;

    k.t_prev_hi = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)TABLE_PREV_HI));
    k.t_prev_lo = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)TABLE_PREV_LO));
    k.t_cur_hi = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)TABLE_CUR_HI));
    k.nibble = _mm256_set1_epi8(0x0F);
    k.sub3 = _mm256_set1_epi8(THIRD_BYTE_SUB);
    k.sub4 = _mm256_set1_epi8(FOURTH_BYTE_SUB);
    k.bit7 = _mm256_set1_epi8((char)0x80);
    k.incomplete_max = _mm256_loadu_si256((const __m256i *)(INCOMPLETE_MAX + 32));

    while (n - i >= 64) {
        src = p + i;
        if (n - i >= 128) {
            /* Pure ASCII runs: 128 bytes per iteration with a single test. */
            __m256i w = _mm256_or_si256(
                _mm256_or_si256(_mm256_loadu_si256((const __m256i *)src),
                                _mm256_loadu_si256((const __m256i *)(src + 32))),
                _mm256_or_si256(_mm256_loadu_si256((const __m256i *)(src + 64)),
                                _mm256_loadu_si256((const __m256i *)(src + 96))));
            if (_mm256_movemask_epi8(w) == 0) {
                err = _mm256_or_si256(err, prev_incomplete);
                prev_incomplete = _mm256_setzero_si256();
                prev = _mm256_loadu_si256((const __m256i *)(src + 96));
                i += 128;
                if ((i & EARLY_EXIT_MASK) == 0 && !_mm256_testz_si256(err, err)) return 0;
                continue;
            }
        }
        v0 = _mm256_loadu_si256((const __m256i *)src);
        v1 = _mm256_loadu_si256((const __m256i *)(src + 32));
        if (_mm256_movemask_epi8(_mm256_or_si256(v0, v1)) == 0) {
            err = _mm256_or_si256(err, prev_incomplete);
            prev_incomplete = _mm256_setzero_si256();
        } else {
            err = _mm256_or_si256(err, avx2_block(&k, v0, prev));
            err = _mm256_or_si256(err, avx2_block(&k, v1, v0));
            prev_incomplete = _mm256_subs_epu8(v1, k.incomplete_max);
        }
        prev = v1;
        i += 64;
        if ((i & EARLY_EXIT_MASK) == 0 && !_mm256_testz_si256(err, err)) return 0;
    }
    if (i < n) {
        if (n >= 64) {
            src = p + n - 64;
            done = 64 - (n - i);
            prev = n >= 64 + 32 ? _mm256_loadu_si256((const __m256i *)(src - 32))
                                : _mm256_setzero_si256();
        } else {
            memset(last, 0, sizeof last);
            memcpy(last, p, n);
            src = last;
            done = 0;
        }
        v0 = _mm256_loadu_si256((const __m256i *)src);
        v1 = _mm256_loadu_si256((const __m256i *)(src + 32));
        if (_mm256_movemask_epi8(_mm256_or_si256(v0, v1)) == 0) {
            err = _mm256_or_si256(err, prev_incomplete);
            prev_incomplete = _mm256_setzero_si256();
        } else {
            const unsigned char *mask = OVERLAP_MASK + 64 - done;
            err = _mm256_or_si256(err, _mm256_and_si256(avx2_block(&k, v0, prev),
                                                        _mm256_loadu_si256((const __m256i *)mask)));
            err = _mm256_or_si256(err,
                                  _mm256_and_si256(avx2_block(&k, v1, v0),
                                                   _mm256_loadu_si256((const __m256i *)(mask + 32))));
            prev_incomplete = _mm256_subs_epu8(v1, k.incomplete_max);
        }
    }
    err = _mm256_or_si256(err, prev_incomplete);
    return _mm256_testz_si256(err, err);
}

/* ---------------- AVX-512 (F + BW): 64-byte vectors ---------------- */

/* Blocks of 128 bytes (two vectors). The final partial block is read with
 * byte-masked loads, which do not access the masked-off bytes at all (no
 * fault, no read past the end); masked-off bytes read as zero, i.e. ASCII,
 * with the same effect as the zero padding of the other variants. */

#define TARGET_AVX512 __attribute__((target("avx512f,avx512bw")))

struct avx512_consts {
    __m512i t_prev_hi, t_prev_lo, t_cur_hi, nibble, sub3, sub4, bit7, incomplete_max;
};

TARGET_AVX512 static inline __m512i
avx512_block(const struct avx512_consts *k, __m512i in, __m512i prev_in)
{
    /* lanes [prev_in lane 3, in lane 0, in lane 1, in lane 2] */
    __m512i before = _mm512_alignr_epi64(in, prev_in, 6);
    __m512i prev1 = _mm512_alignr_epi8(in, before, 15);
    __m512i prev2 = _mm512_alignr_epi8(in, before, 14);
    __m512i prev3 = _mm512_alignr_epi8(in, before, 13);
    __m512i a = _mm512_shuffle_epi8(k->t_prev_hi,
                                    _mm512_and_si512(_mm512_srli_epi16(prev1, 4), k->nibble));
    __m512i b = _mm512_shuffle_epi8(k->t_prev_lo, _mm512_and_si512(prev1, k->nibble));
    __m512i c = _mm512_shuffle_epi8(k->t_cur_hi,
                                    _mm512_and_si512(_mm512_srli_epi16(in, 4), k->nibble));
    __m512i pair = _mm512_and_si512(_mm512_and_si512(a, b), c);
    __m512i must = _mm512_or_si512(_mm512_subs_epu8(prev2, k->sub3),
                                   _mm512_subs_epu8(prev3, k->sub4));
    return _mm512_xor_si512(_mm512_and_si512(must, k->bit7), pair);
}

TARGET_AVX512 static inline void
avx512_step(const struct avx512_consts *k, __m512i v0, __m512i v1, __m512i *prev,
            __m512i *prev_incomplete, __m512i *err)
{
    if (_mm512_movepi8_mask(_mm512_or_si512(v0, v1)) == 0) {
        *err = _mm512_or_si512(*err, *prev_incomplete);
        *prev_incomplete = _mm512_setzero_si512();
    } else {
        *err = _mm512_or_si512(*err, avx512_block(k, v0, *prev));
        *err = _mm512_or_si512(*err, avx512_block(k, v1, v0));
        *prev_incomplete = _mm512_subs_epu8(v1, k->incomplete_max);
    }
    *prev = v1;
}

TARGET_AVX512 static int validate_avx512(const unsigned char *p, size_t n)
{
    struct avx512_consts k;
    __m512i err = _mm512_setzero_si512(), prev = _mm512_setzero_si512();
    __m512i prev_incomplete = _mm512_setzero_si512();
    size_t i = 0, rest;
    __mmask64 m0, m1;

    k.t_prev_hi = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)TABLE_PREV_HI));
    k.t_prev_lo = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)TABLE_PREV_LO));
    k.t_cur_hi = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)TABLE_CUR_HI));
    k.nibble = _mm512_set1_epi8(0x0F);
    k.sub3 = _mm512_set1_epi8(THIRD_BYTE_SUB);
    k.sub4 = _mm512_set1_epi8(FOURTH_BYTE_SUB);
    k.bit7 = _mm512_set1_epi8((char)0x80);
    k.incomplete_max = _mm512_loadu_si512((const void *)INCOMPLETE_MAX);

    while (n - i >= 128) {
        avx512_step(&k, _mm512_loadu_si512((const void *)(p + i)),
                    _mm512_loadu_si512((const void *)(p + i + 64)), &prev, &prev_incomplete, &err);
        i += 128;
        if ((i & EARLY_EXIT_MASK) == 0 && _mm512_test_epi8_mask(err, err) != 0) return 0;
    }
    rest = n - i; /* 0..127 */
    if (rest) {
        m0 = rest >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << rest) - 1);
        m1 = rest > 64 ? (((__mmask64)1 << (rest - 64)) - 1) : 0; /* only used if rest > 64 */
        avx512_step(&k, _mm512_maskz_loadu_epi8(m0, (const void *)(p + i)),
                    rest > 64 ? _mm512_maskz_loadu_epi8(m1, (const void *)(p + i + 64))
                              : _mm512_setzero_si512(),
                    &prev, &prev_incomplete, &err);
    }
    err = _mm512_or_si512(err, prev_incomplete);
    return _mm512_test_epi8_mask(err, err) == 0;
}

#endif /* FASTWS_UTF8_X86 */

/* ------------------------------------------------------------------------ */
/* Dispatch                                                                  */
/* ------------------------------------------------------------------------ */

typedef int (*validate_fn)(const unsigned char *, size_t);

struct impl {
    const char *name;
    validate_fn fn;
};

#define MAX_IMPLS 4
static struct impl available[MAX_IMPLS];
static int n_available = 0;
static validate_fn selected_fn = fastws_utf8_validate_scalar;
static const char *selected_name = "scalar";

void fastws_utf8_init(void)
{
    int default_index;
    if (n_available) return;
    if (!dfa_ready) dfa_build();
    available[n_available].name = "scalar";
    available[n_available++].fn = fastws_utf8_validate_scalar;
#if FASTWS_UTF8_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("ssse3")) {
        available[n_available].name = "ssse3";
        available[n_available++].fn = validate_ssse3;
    }
    if (__builtin_cpu_supports("avx2")) {
        available[n_available].name = "avx2";
        available[n_available++].fn = validate_avx2;
    }
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")) {
        available[n_available].name = "avx512";
        available[n_available++].fn = validate_avx512;
    }
#endif
    /* The default is the last (widest) variant -- except that 512-bit code
     * is left to CPUs that run it at full clock: those with AVX512-VBMI2
     * (Intel Ice Lake and later, AMD Zen 4 and later). On Skylake-SP class
     * CPUs, 512-bit instructions lower the clock of the core for everything
     * else, so AVX2 is the default there (AVX-512 stays selectable). */
    default_index = n_available - 1;
#if FASTWS_UTF8_X86
    if (strcmp(available[default_index].name, "avx512") == 0 &&
        !__builtin_cpu_supports("avx512vbmi2"))
        default_index--;
#endif
    selected_fn = available[default_index].fn;
    selected_name = available[default_index].name;
}

int fastws_utf8_impl_count(void)
{
    fastws_utf8_init();
    return n_available;
}

const char *fastws_utf8_impl_name(int index)
{
    fastws_utf8_init();
    if (index < 0 || index >= n_available) return NULL;
    return available[index].name;
}

int fastws_utf8_use(const char *name)
{
    int i;
    fastws_utf8_init();
    for (i = 0; i < n_available; i++) {
        if (strcmp(available[i].name, name) == 0) {
            selected_fn = available[i].fn;
            selected_name = available[i].name;
            return 0;
        }
    }
    return -1;
}

const char *fastws_utf8_selected(void)
{
    return selected_name;
}

int fastws_utf8_validate(const unsigned char *p, size_t n)
{
    return selected_fn(p, n);
}

int fastws_utf8_check_prefix(const unsigned char *p, size_t n)
{
    /* The only bytes that may still be waiting for their continuation are
     * the last three. Find the last byte among them that is not a
     * continuation byte: if it is a lead whose sequence is longer than what
     * follows it, everything before it must be complete valid UTF-8 and the
     * lead plus its followers a valid proper prefix of one sequence.
     * Otherwise the whole buffer must be complete valid UTF-8 (a lead that
     * sits further back, or an invalid lead, is judged by the validator). */
    size_t j = n, stop = n >= 3 ? n - 3 : 0, tail;
    int len;
    while (j > stop) {
        j--;
        if ((p[j] & 0xC0) != 0x80) {
            len = fastws_utf8_sequence_length(p[j]);
            tail = n - j;
            if (len > 1 && (size_t)len > tail) {
                if (!fastws_utf8_partial_ok(p + j, tail)) return -1;
                return selected_fn(p, j) ? (int)tail : -1;
            }
            break;
        }
    }
    return selected_fn(p, n) ? 0 : -1;
}
