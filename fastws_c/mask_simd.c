/*
 * fastws_c/mask_simd.c -- WebSocket masking (RFC 6455 section 5.3) with
 * runtime CPU dispatch.
 *
 * RFC 6455 5.3: octet i of the transformed data is octet i of the original
 * data XOR octet (i MOD 4) of the masking key.  Every variant below computes
 * exactly that for a key already rotated to the caller's starting phase.
 *
 * Variants: a portable scalar one (64-bit words through memcpy, so any
 * alignment is fine and no strict-aliasing games are played), and on x86
 * with GCC/Clang SSE2, AVX2 and AVX-512 (F) ones compiled with
 * __attribute__((target(...))) and selected once with __builtin_cpu_supports
 * (which also checks that the OS saves the wide registers).  Other compilers
 * and architectures get the scalar variant only.
 *
 * Invariants every variant keeps, for any n >= 0 and any alignment:
 *  - it reads only [src, src + n) and writes only [dst, dst + n);
 *  - src == dst (in place) works.  Short inputs (and the whole scalar
 *    variant) use non-overlapping pieces only.  Long inputs align the
 *    main loop with the "preloaded head/tail" trick: the first and last
 *    vector of the buffer are loaded and XORed before the main loop writes
 *    anything, and stored after it; where they overlap the main loop they
 *    store the very bytes the loop stored, so no byte is ever XORed twice
 *    and none is read after being written.
 *
 * Alignment: SSE2 and AVX-512 align the destination of the main loop.  AVX2
 * (the default) aligns the source instead, except with streaming stores
 * (which need an aligned destination); in place both are the same.  Measured
 * on the reference AMD EPYC (Zen 4) with the frame parser, which unmasks
 * from wherever a payload starts in the received buffer into a new bytes
 * object: with the destination aligned, half of the 32-byte loads of a
 * misaligned source straddle two cache lines, and 100 x 64 KiB / 24 x
 * 256 KiB frames parsed ~3% slower than with the source aligned (which
 * matched the 16-byte unaligned loop fastws_c.frames used to have).  For
 * two bytes objects (fastws_c.mask) the choice measured the same.
 *
 * The default is AVX2 even where AVX-512 exists (see PREFERENCE below).
 *
 * Built twice: fastws_c.mask links this file (setup.py's NAME_*.c rule) and
 * fastws_c.frames includes it into its generated C file (cdef extern from
 * "mask_simd.c"), so both extensions stay self-contained and a parallel build
 * never shares one object file between them.  Hence the #undefs at the end.
 *
 * Non-temporal stores: when src != dst and n is at least
 * fastws_mask_nt_min (3/8 of the last-level cache, so that source plus
 * destination exceed ~3/4 of it -- the same rule glibc's memcpy follows),
 * the vector variants write the destination with streaming stores.  Measured
 * on an AMD EPYC with 32 MiB L3: 16 MiB new-bytes masking 720 -> 600 us,
 * while at 4-8 MiB streaming is 20-70% slower, hence the threshold.  Never
 * used in place: there the lines are in cache already.
 */
#include "mask_simd.h"

#include <string.h>

/* FASTWS_MASK_PORTABLE=1 builds the scalar variant only (what non-x86 and
 * non-GCC/Clang builds get anyway). */
#if !defined(FASTWS_MASK_PORTABLE) && (defined(__x86_64__) || defined(__i386__)) && \
    (defined(__GNUC__) || defined(__clang__))
#define FASTWS_X86 1
#include <cpuid.h>
#include <immintrin.h>
#define FASTWS_TARGET(t) __attribute__((target(t)))
/* AVX-512 only on 64-bit x86 (32-bit builds stop at AVX2). */
#if defined(__x86_64__)
#define FASTWS_AVX512 1
#endif
#endif

#define rotate_key fastws_mask_rotate
#define key64 fastws_mask_key64
#define mask_small fastws_mask_small

/* Streaming stores from this many bytes on (src != dst only); set by
 * fastws_mask_init, overridable with fastws_mask_set_nt_min. */
static size_t nt_min = (size_t)12 << 20;

/* Below this many bytes the vector variants run unaligned, non-overlapping
 * vectors from the start and finish with fastws_mask_small: a few exact
 * pieces beat aligning the destination, and an in-place buffer masked again
 * keeps store-to-load forwarding.  From here on the destination is aligned
 * for the main loop (see the head/tail trick at the top). */
#define SHORT_MAX 256

/* ------------------------------------------------------------------------ */
/* scalar: 64-bit words, then the small pieces; nothing overlaps            */

static void mask_scalar(const unsigned char *src, unsigned char *dst, size_t n,
                        uint32_t key)
{
    uint64_t k = key64(key);
    size_t i = 0;

    for (; i + 32 <= n; i += 32) {
        uint64_t a, b, c, d;
        memcpy(&a, src + i, 8);
        memcpy(&b, src + i + 8, 8);
        memcpy(&c, src + i + 16, 8);
        memcpy(&d, src + i + 24, 8);
        a ^= k;
        b ^= k;
        c ^= k;
        d ^= k;
        memcpy(dst + i, &a, 8);
        memcpy(dst + i + 8, &b, 8);
        memcpy(dst + i + 16, &c, 8);
        memcpy(dst + i + 24, &d, 8);
    }
    for (; i + 8 <= n; i += 8) {
        uint64_t a;
        memcpy(&a, src + i, 8);
        a ^= k;
        memcpy(dst + i, &a, 8);
    }
    mask_small(src + i, dst + i, n - i, key);
}

#ifdef FASTWS_X86
/* ------------------------------------------------------------------------ */
/* SSE2: 16-byte vectors                                                    */

FASTWS_TARGET("sse2")
static void mask_sse2(const unsigned char *src, unsigned char *dst, size_t n,
                      uint32_t key)
{
    __m128i k, head, tail;
    size_t i;

    if (n < SHORT_MAX) {
        k = _mm_set1_epi32((int)key);
        for (i = 0; i + 16 <= n; i += 16) {
            __m128i a = _mm_loadu_si128((const __m128i *)(src + i));
            _mm_storeu_si128((__m128i *)(dst + i), _mm_xor_si128(a, k));
        }
        mask_small(src + i, dst + i, n - i, key);
        return;
    }
    head = _mm_xor_si128(_mm_loadu_si128((const __m128i *)src),
                         _mm_set1_epi32((int)key));
    tail = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(src + n - 16)),
                         _mm_set1_epi32((int)rotate_key(key, n - 16)));
    /* the main loop starts where dst is 16-byte aligned; head covers [0, i) */
    i = (size_t)(-(uintptr_t)dst) & 15;
    k = _mm_set1_epi32((int)rotate_key(key, i));
    if (n >= nt_min && src != dst) {
        for (; i + 64 <= n; i += 64) {
            __m128i a = _mm_loadu_si128((const __m128i *)(src + i));
            __m128i b = _mm_loadu_si128((const __m128i *)(src + i + 16));
            __m128i c = _mm_loadu_si128((const __m128i *)(src + i + 32));
            __m128i d = _mm_loadu_si128((const __m128i *)(src + i + 48));
            _mm_stream_si128((__m128i *)(dst + i), _mm_xor_si128(a, k));
            _mm_stream_si128((__m128i *)(dst + i + 16), _mm_xor_si128(b, k));
            _mm_stream_si128((__m128i *)(dst + i + 32), _mm_xor_si128(c, k));
            _mm_stream_si128((__m128i *)(dst + i + 48), _mm_xor_si128(d, k));
        }
        _mm_sfence();
    }
    for (; i + 64 <= n; i += 64) {
        __m128i a = _mm_loadu_si128((const __m128i *)(src + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(src + i + 16));
        __m128i c = _mm_loadu_si128((const __m128i *)(src + i + 32));
        __m128i d = _mm_loadu_si128((const __m128i *)(src + i + 48));
        _mm_store_si128((__m128i *)(dst + i), _mm_xor_si128(a, k));
        _mm_store_si128((__m128i *)(dst + i + 16), _mm_xor_si128(b, k));
        _mm_store_si128((__m128i *)(dst + i + 32), _mm_xor_si128(c, k));
        _mm_store_si128((__m128i *)(dst + i + 48), _mm_xor_si128(d, k));
    }
    for (; i + 16 <= n; i += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(src + i));
        _mm_store_si128((__m128i *)(dst + i), _mm_xor_si128(a, k));
    }
    _mm_storeu_si128((__m128i *)dst, head);
    _mm_storeu_si128((__m128i *)(dst + n - 16), tail);
}

/* ------------------------------------------------------------------------ */
/* AVX2: 32-byte vectors                                                    */

FASTWS_TARGET("avx2")
static void mask_avx2(const unsigned char *src, unsigned char *dst, size_t n,
                      uint32_t key)
{
    __m256i k, head, tail;
    size_t i;

    if (n < SHORT_MAX) {
        k = _mm256_set1_epi32((int)key);
        for (i = 0; i + 32 <= n; i += 32) {
            __m256i a = _mm256_loadu_si256((const __m256i *)(src + i));
            _mm256_storeu_si256((__m256i *)(dst + i), _mm256_xor_si256(a, k));
        }
        if ((n - i) & 16) {
            __m128i a = _mm_loadu_si128((const __m128i *)(src + i));
            _mm_storeu_si128((__m128i *)(dst + i),
                             _mm_xor_si128(a, _mm256_castsi256_si128(k)));
            i += 16;
        }
        mask_small(src + i, dst + i, n - i, key);
        return;
    }
    head = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)src),
                            _mm256_set1_epi32((int)key));
    tail = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(src + n - 32)),
                            _mm256_set1_epi32((int)rotate_key(key, n - 32)));
    if (n >= nt_min && src != dst) {
        /* streaming stores need dst 32-byte aligned; head covers [0, i) */
        i = (size_t)(-(uintptr_t)dst) & 31;
        k = _mm256_set1_epi32((int)rotate_key(key, i));
        for (; i + 128 <= n; i += 128) {
            __m256i a = _mm256_loadu_si256((const __m256i *)(src + i));
            __m256i b = _mm256_loadu_si256((const __m256i *)(src + i + 32));
            __m256i c = _mm256_loadu_si256((const __m256i *)(src + i + 64));
            __m256i d = _mm256_loadu_si256((const __m256i *)(src + i + 96));
            _mm256_stream_si256((__m256i *)(dst + i), _mm256_xor_si256(a, k));
            _mm256_stream_si256((__m256i *)(dst + i + 32), _mm256_xor_si256(b, k));
            _mm256_stream_si256((__m256i *)(dst + i + 64), _mm256_xor_si256(c, k));
            _mm256_stream_si256((__m256i *)(dst + i + 96), _mm256_xor_si256(d, k));
        }
        _mm_sfence();
    } else {
        /* otherwise the main loop starts where src is 32-byte aligned (see
         * "Alignment" at the top); head covers [0, i) */
        i = (size_t)(-(uintptr_t)src) & 31;
        k = _mm256_set1_epi32((int)rotate_key(key, i));
    }
    for (; i + 128 <= n; i += 128) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(src + i));
        __m256i b = _mm256_loadu_si256((const __m256i *)(src + i + 32));
        __m256i c = _mm256_loadu_si256((const __m256i *)(src + i + 64));
        __m256i d = _mm256_loadu_si256((const __m256i *)(src + i + 96));
        _mm256_storeu_si256((__m256i *)(dst + i), _mm256_xor_si256(a, k));
        _mm256_storeu_si256((__m256i *)(dst + i + 32), _mm256_xor_si256(b, k));
        _mm256_storeu_si256((__m256i *)(dst + i + 64), _mm256_xor_si256(c, k));
        _mm256_storeu_si256((__m256i *)(dst + i + 96), _mm256_xor_si256(d, k));
    }
    for (; i + 32 <= n; i += 32) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(src + i));
        _mm256_storeu_si256((__m256i *)(dst + i), _mm256_xor_si256(a, k));
    }
    _mm256_storeu_si256((__m256i *)dst, head);
    _mm256_storeu_si256((__m256i *)(dst + n - 32), tail);
}

#ifdef FASTWS_AVX512
/* ------------------------------------------------------------------------ */
/* AVX-512 (F): 64-byte vectors, same scheme as AVX2.  No byte-masked        */
/* loads/stores for head and tail: they are slow on AMD Zen 4 and defeat     */
/* store-to-load forwarding.  Under 512 bytes the AVX2 code is as fast.      */

FASTWS_TARGET("avx512f")
static void mask_avx512(const unsigned char *src, unsigned char *dst, size_t n,
                        uint32_t key)
{
    __m512i k, head, tail;
    size_t i;

    if (n < 2 * SHORT_MAX) {
        mask_avx2(src, dst, n, key);
        return;
    }
    head = _mm512_xor_si512(_mm512_loadu_si512((const void *)src),
                            _mm512_set1_epi32((int)key));
    tail = _mm512_xor_si512(_mm512_loadu_si512((const void *)(src + n - 64)),
                            _mm512_set1_epi32((int)rotate_key(key, n - 64)));
    /* the main loop starts where dst is 64-byte aligned; head covers [0, i) */
    i = (size_t)(-(uintptr_t)dst) & 63;
    k = _mm512_set1_epi32((int)rotate_key(key, i));
    if (n >= nt_min && src != dst) {
        for (; i + 256 <= n; i += 256) {
            __m512i a = _mm512_loadu_si512((const void *)(src + i));
            __m512i b = _mm512_loadu_si512((const void *)(src + i + 64));
            __m512i c = _mm512_loadu_si512((const void *)(src + i + 128));
            __m512i d = _mm512_loadu_si512((const void *)(src + i + 192));
            _mm512_stream_si512((void *)(dst + i), _mm512_xor_si512(a, k));
            _mm512_stream_si512((void *)(dst + i + 64), _mm512_xor_si512(b, k));
            _mm512_stream_si512((void *)(dst + i + 128), _mm512_xor_si512(c, k));
            _mm512_stream_si512((void *)(dst + i + 192), _mm512_xor_si512(d, k));
        }
        _mm_sfence();
    }
    for (; i + 256 <= n; i += 256) {
        __m512i a = _mm512_loadu_si512((const void *)(src + i));
        __m512i b = _mm512_loadu_si512((const void *)(src + i + 64));
        __m512i c = _mm512_loadu_si512((const void *)(src + i + 128));
        __m512i d = _mm512_loadu_si512((const void *)(src + i + 192));
        _mm512_store_si512((void *)(dst + i), _mm512_xor_si512(a, k));
        _mm512_store_si512((void *)(dst + i + 64), _mm512_xor_si512(b, k));
        _mm512_store_si512((void *)(dst + i + 128), _mm512_xor_si512(c, k));
        _mm512_store_si512((void *)(dst + i + 192), _mm512_xor_si512(d, k));
    }
    for (; i + 64 <= n; i += 64) {
        __m512i a = _mm512_loadu_si512((const void *)(src + i));
        _mm512_store_si512((void *)(dst + i), _mm512_xor_si512(a, k));
    }
    _mm512_storeu_si512((void *)dst, head);
    _mm512_storeu_si512((void *)(dst + n - 64), tail);
}
#endif /* FASTWS_AVX512 */
#endif /* FASTWS_X86 */

/* ------------------------------------------------------------------------ */
/* dispatch                                                                 */

typedef struct {
    const char *name;
    fastws_mask_fn fn;
} variant;

/* narrowest first; "scalar" is always available */
static const variant VARIANTS[] = {
    {"scalar", mask_scalar},
#ifdef FASTWS_X86
    {"sse2", mask_sse2},
    {"avx2", mask_avx2},
#ifdef FASTWS_AVX512
    {"avx512", mask_avx512},
#endif
#endif
};
#define N_VARIANTS ((int)(sizeof(VARIANTS) / sizeof(VARIANTS[0])))

fastws_mask_fn fastws_mask_impl = mask_scalar;
static const char *selected_name = "scalar";

static int cpu_supports(const char *name)
{
    if (strcmp(name, "scalar") == 0)
        return 1;
#ifdef FASTWS_X86
    __builtin_cpu_init();
    if (strcmp(name, "sse2") == 0)
        return __builtin_cpu_supports("sse2") != 0;
    if (strcmp(name, "avx2") == 0)
        return __builtin_cpu_supports("avx2") != 0;
#ifdef FASTWS_AVX512
    if (strcmp(name, "avx512") == 0)
        return __builtin_cpu_supports("avx512f") != 0;
#endif
#endif
    return 0;
}

int fastws_mask_implementations(const char **names, int max)
{
    int i, count = 0;
    for (i = 0; i < N_VARIANTS && count < max; i++)
        if (cpu_supports(VARIANTS[i].name))
            names[count++] = VARIANTS[i].name;
    return count;
}

const char *fastws_mask_selected(void)
{
    return selected_name;
}

int fastws_mask_use(const char *name)
{
    int i;
    for (i = 0; i < N_VARIANTS; i++) {
        if (strcmp(VARIANTS[i].name, name) == 0) {
            if (!cpu_supports(name))
                return -1;
            fastws_mask_impl = VARIANTS[i].fn;
            selected_name = VARIANTS[i].name;
            return 0;
        }
    }
    return -1;
}

size_t fastws_mask_nt_min(void)
{
    return nt_min;
}

void fastws_mask_set_nt_min(size_t n)
{
    nt_min = n;
}

#ifdef FASTWS_X86
/* Size in bytes of one instance of the largest data/unified cache that the
 * deterministic cache parameters leaf `leaf` (4 on Intel, 0x8000001D on AMD)
 * describes, or 0.  This is the cache one core actually gets, unlike the
 * "L3 size" some C libraries report (the whole package's under some VMs). */
static size_t cache_size_from_leaf(unsigned leaf)
{
    unsigned a, b, c, d, sub, best_level = 0;
    size_t best = 0;
    if (__get_cpuid_max(leaf & 0x80000000u, NULL) < leaf)
        return 0;
    for (sub = 0; sub < 16; sub++) {
        unsigned type, level;
        size_t size;
        __cpuid_count(leaf, sub, a, b, c, d);
        type = a & 31u;
        if (type == 0)
            break;
        if (type != 1 && type != 3) /* data or unified */
            continue;
        level = (a >> 5) & 7u;
        size = (size_t)((b >> 22) + 1) * (((b >> 12) & 0x3ffu) + 1) * ((b & 0xfffu) + 1) *
               ((size_t)c + 1);
        if (level > best_level) {
            best_level = level;
            best = size;
        }
    }
    (void)d;
    return best;
}
#endif

/* 3/8 of the last-level cache (source plus destination over 3/4 of it), at
 * least 1 MiB, or 12 MiB (3/8 of a common 32 MiB L3) when the CPU does not
 * say. */
static size_t default_nt_min(void)
{
#ifdef FASTWS_X86
    size_t intel = cache_size_from_leaf(4), amd = cache_size_from_leaf(0x8000001Du);
    size_t llc = intel > amd ? intel : amd;
    if (llc / 8 * 3 >= ((size_t)1 << 20))
        return llc / 8 * 3;
    if (llc != 0)
        return (size_t)1 << 20; /* small caches: never under 1 MiB */
#endif
    return (size_t)12 << 20;
}

/* The default, first supported wins.  AVX-512 is not preferred: on the
 * reference AMD EPYC (Zen 4, 512-bit operations split into two 256-bit
 * halves) it measured no faster than AVX2 at any size and slower at
 * 200 B - 4 KiB, and on Intel server parts 512-bit code can lower the clock.
 * It stays available through fastws_mask_use("avx512"). */
static const char *const PREFERENCE[] = {"avx2", "avx512", "sse2", "scalar"};

void fastws_mask_init(void)
{
    size_t i;
    nt_min = default_nt_min();
    for (i = 0; i < sizeof(PREFERENCE) / sizeof(PREFERENCE[0]); i++)
        if (fastws_mask_use(PREFERENCE[i]) == 0)
            return;
}

/* this file may be included into another translation unit (see the top) */
#undef rotate_key
#undef key64
#undef mask_small
#undef SHORT_MAX
#undef N_VARIANTS
