/* SHA-1 (FIPS 180-4) for the WebSocket accept key (RFC 6455 section 4.2.2).
 *
 * Layout:
 *   sha1_blocks_scalar  portable C, fully unrolled (FIPS 180-4 section 6.1.2)
 *   sha1_blocks_shani   x86 SHA extensions (sha1rnds4 / sha1nexte /
 *                       sha1msg1 / sha1msg2), compiled with a target
 *                       attribute and only called when CPUID says the CPU
 *                       has them
 *   fastws_sha1_concat  hashes a || b for any lengths: a short message
 *                       (the accept key case) is padded in one stack buffer
 *                       and hashed with a single call; longer ones stream
 *                       through 64-byte blocks.
 */
#include "accept_sha1.h"

#include <string.h>

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define FASTWS_SHA1_X86 1
#include <cpuid.h>
#include <immintrin.h>
#else
#define FASTWS_SHA1_X86 0
#endif

typedef void (*sha1_blocks_fn)(uint32_t state[5], const unsigned char *p, size_t nblocks);

static const uint32_t SHA1_INIT[5] = {
    0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u,
};

/* ------------------------------------------------------------------ */
/* Portable scalar block function                                       */
/* ------------------------------------------------------------------ */

#define ROL32(x, n) (((x) << (n)) | ((x) >> (32 - (n))))

static inline uint32_t load_be32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) |
           (uint32_t)p[3];
}

static inline void store_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* The logical functions of FIPS 180-4 section 4.1.1 (Ch, Parity, Maj). */
#define F_CH(b, c, d) ((((c) ^ (d)) & (b)) ^ (d))
#define F_PAR(b, c, d) ((b) ^ (c) ^ (d))
#define F_MAJ(b, c, d) (((b) & (c)) | (((b) | (c)) & (d)))

/* Message schedule word t (section 6.1.2 step 1) kept in a 16-word ring. */
#define W_SCHED(t)                                                                  \
    ((t) < 16 ? w[(t)&15]                                                          \
              : (w[(t)&15] = ROL32(w[((t)-3) & 15] ^ w[((t)-8) & 15] ^              \
                                       w[((t)-14) & 15] ^ w[(t)&15],                \
                                   1)))

/* One round: T = ROTL5(a) + f(b,c,d) + e + K + W; then the variables rotate,
 * which the callers do by renaming (e becomes the new a). */
#define SHA1_ROUND(F, K, a, b, c, d, e, t)                                          \
    do {                                                                           \
        e += ROL32(a, 5) + F(b, c, d) + (K) + W_SCHED(t);                           \
        b = ROL32(b, 30);                                                          \
    } while (0)

#define SHA1_FIVE(F, K, t)                                                          \
    SHA1_ROUND(F, K, a, b, c, d, e, (t));                                          \
    SHA1_ROUND(F, K, e, a, b, c, d, (t) + 1);                                      \
    SHA1_ROUND(F, K, d, e, a, b, c, (t) + 2);                                      \
    SHA1_ROUND(F, K, c, d, e, a, b, (t) + 3);                                      \
    SHA1_ROUND(F, K, b, c, d, e, a, (t) + 4)

static void sha1_blocks_scalar(uint32_t state[5], const unsigned char *p, size_t nblocks)
{
    uint32_t w[16];
    uint32_t a, b, c, d, e;
    int i;

    while (nblocks--) {
        for (i = 0; i < 16; i++)
            w[i] = load_be32(p + 4 * i);
        a = state[0];
        b = state[1];
        c = state[2];
        d = state[3];
        e = state[4];

        SHA1_FIVE(F_CH, 0x5A827999u, 0);
        SHA1_FIVE(F_CH, 0x5A827999u, 5);
        SHA1_FIVE(F_CH, 0x5A827999u, 10);
        SHA1_FIVE(F_CH, 0x5A827999u, 15);
        SHA1_FIVE(F_PAR, 0x6ED9EBA1u, 20);
        SHA1_FIVE(F_PAR, 0x6ED9EBA1u, 25);
        SHA1_FIVE(F_PAR, 0x6ED9EBA1u, 30);
        SHA1_FIVE(F_PAR, 0x6ED9EBA1u, 35);
        SHA1_FIVE(F_MAJ, 0x8F1BBCDCu, 40);
        SHA1_FIVE(F_MAJ, 0x8F1BBCDCu, 45);
        SHA1_FIVE(F_MAJ, 0x8F1BBCDCu, 50);
        SHA1_FIVE(F_MAJ, 0x8F1BBCDCu, 55);
        SHA1_FIVE(F_PAR, 0xCA62C1D6u, 60);
        SHA1_FIVE(F_PAR, 0xCA62C1D6u, 65);
        SHA1_FIVE(F_PAR, 0xCA62C1D6u, 70);
        SHA1_FIVE(F_PAR, 0xCA62C1D6u, 75);

        state[0] += a;
        state[1] += b;
        state[2] += c;
        state[3] += d;
        state[4] += e;
        p += 64;
    }
}

/* ------------------------------------------------------------------ */
/* x86 SHA extensions                                                   */
/* ------------------------------------------------------------------ */

#if FASTWS_SHA1_X86

/* The state lives in two registers: abcd with A in the highest lane and e
 * with E in the highest lane. Message words are loaded big-endian with W0 in
 * the highest lane too (one 16-byte reversal does both).
 *
 * Rounds go four at a time: sha1rnds4(abcd, wk, f) where the highest lane of
 * wk carries E + W and f selects the function/constant (0..3, one per 20
 * rounds). For every group after the first, sha1nexte(previous abcd, W)
 * derives that E (ROTL30 of the A four rounds earlier) and adds it to W.
 *
 * Schedule: with M_k = W[4k .. 4k+3],
 *   M_k = sha1msg2(sha1msg1(M_{k-4}, M_{k-3}) ^ M_{k-2}, M_{k-1})   (k >= 4)
 * kept in four rotating registers. */

#define SHANI_ATTR __attribute__((target("sha,sse4.1,ssse3")))

#define SHANI_NEXT(m_k4, m_k3, m_k2, m_k1)                                          \
    m_k4 = _mm_sha1msg2_epu32(                                                     \
        _mm_xor_si128(_mm_sha1msg1_epu32(m_k4, m_k3), m_k2), m_k1)

#define SHANI_GROUP(func, msg)                                                      \
    do {                                                                           \
        __m128i wk_ = _mm_sha1nexte_epu32(prev, msg);                              \
        prev = abcd;                                                               \
        abcd = _mm_sha1rnds4_epu32(abcd, wk_, func);                               \
    } while (0)

SHANI_ATTR
static void sha1_blocks_shani(uint32_t state[5], const unsigned char *p, size_t nblocks)
{
    const __m128i bswap = _mm_set_epi64x(0x0001020304050607LL, 0x08090a0b0c0d0e0fLL);
    __m128i abcd, e, abcd_save, e_save, prev;
    __m128i m0, m1, m2, m3;

    abcd = _mm_loadu_si128((const __m128i *)(const void *)state);
    abcd = _mm_shuffle_epi32(abcd, 0x1B);
    e = _mm_set_epi32((int)state[4], 0, 0, 0);

    while (nblocks--) {
        abcd_save = abcd;
        e_save = e;

        m0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 0)), bswap);
        m1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 16)), bswap);
        m2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 32)), bswap);
        m3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 48)), bswap);

        /* rounds 0-3: E is known, add it directly */
        prev = abcd;
        abcd = _mm_sha1rnds4_epu32(abcd, _mm_add_epi32(e, m0), 0);
        SHANI_GROUP(0, m1);                                    /* 4-7 */
        SHANI_GROUP(0, m2);                                    /* 8-11 */
        SHANI_GROUP(0, m3);                                    /* 12-15 */
        SHANI_NEXT(m0, m1, m2, m3); SHANI_GROUP(0, m0);        /* 16-19 */
        SHANI_NEXT(m1, m2, m3, m0); SHANI_GROUP(1, m1);        /* 20-23 */
        SHANI_NEXT(m2, m3, m0, m1); SHANI_GROUP(1, m2);        /* 24-27 */
        SHANI_NEXT(m3, m0, m1, m2); SHANI_GROUP(1, m3);        /* 28-31 */
        SHANI_NEXT(m0, m1, m2, m3); SHANI_GROUP(1, m0);        /* 32-35 */
        SHANI_NEXT(m1, m2, m3, m0); SHANI_GROUP(1, m1);        /* 36-39 */
        SHANI_NEXT(m2, m3, m0, m1); SHANI_GROUP(2, m2);        /* 40-43 */
        SHANI_NEXT(m3, m0, m1, m2); SHANI_GROUP(2, m3);        /* 44-47 */
        SHANI_NEXT(m0, m1, m2, m3); SHANI_GROUP(2, m0);        /* 48-51 */
        SHANI_NEXT(m1, m2, m3, m0); SHANI_GROUP(2, m1);        /* 52-55 */
        SHANI_NEXT(m2, m3, m0, m1); SHANI_GROUP(2, m2);        /* 56-59 */
        SHANI_NEXT(m3, m0, m1, m2); SHANI_GROUP(3, m3);        /* 60-63 */
        SHANI_NEXT(m0, m1, m2, m3); SHANI_GROUP(3, m0);        /* 64-67 */
        SHANI_NEXT(m1, m2, m3, m0); SHANI_GROUP(3, m1);        /* 68-71 */
        SHANI_NEXT(m2, m3, m0, m1); SHANI_GROUP(3, m2);        /* 72-75 */
        SHANI_NEXT(m3, m0, m1, m2); SHANI_GROUP(3, m3);        /* 76-79 */

        /* E after round 79 is ROTL30 of the A that entered round 76. */
        e = _mm_sha1nexte_epu32(prev, e_save);
        abcd = _mm_add_epi32(abcd, abcd_save);
        p += 64;
    }

    abcd = _mm_shuffle_epi32(abcd, 0x1B);
    _mm_storeu_si128((__m128i *)(void *)state, abcd);
    state[4] = (uint32_t)_mm_extract_epi32(e, 3);
}

static int cpu_has_shani(void)
{
    unsigned int eax, ebx, ecx, edx;

    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx))
        return 0;
    if (!(ecx & (1u << 9)) || !(ecx & (1u << 19))) /* SSSE3, SSE4.1 */
        return 0;
    if (__get_cpuid_max(0, NULL) < 7)
        return 0;
    __cpuid_count(7, 0, eax, ebx, ecx, edx);
    return (ebx >> 29) & 1; /* SHA */
}

#endif /* FASTWS_SHA1_X86 */

/* ------------------------------------------------------------------ */
/* Dispatch                                                              */
/* ------------------------------------------------------------------ */

typedef struct {
    const char *name;
    sha1_blocks_fn fn;
} sha1_impl;

static sha1_impl impls[2];
static int impl_count = 0;
static sha1_blocks_fn sha1_blocks = sha1_blocks_scalar;
static const char *selected_name = "scalar";

void fastws_sha1_init(void)
{
    if (impl_count)
        return;
    impls[0].name = "scalar";
    impls[0].fn = sha1_blocks_scalar;
    impl_count = 1;
#if FASTWS_SHA1_X86
    if (cpu_has_shani()) {
        impls[1].name = "shani";
        impls[1].fn = sha1_blocks_shani;
        impl_count = 2;
    }
#endif
    /* the last one is the fastest */
    sha1_blocks = impls[impl_count - 1].fn;
    selected_name = impls[impl_count - 1].name;
}

int fastws_sha1_impl_count(void)
{
    fastws_sha1_init();
    return impl_count;
}

const char *fastws_sha1_impl_name(int index)
{
    fastws_sha1_init();
    if (index < 0 || index >= impl_count)
        return NULL;
    return impls[index].name;
}

int fastws_sha1_use(const char *name)
{
    int i;

    fastws_sha1_init();
    for (i = 0; i < impl_count; i++) {
        if (strcmp(impls[i].name, name) == 0) {
            sha1_blocks = impls[i].fn;
            selected_name = impls[i].name;
            return 0;
        }
    }
    return -1;
}

const char *fastws_sha1_selected(void)
{
    return selected_name;
}

/* ------------------------------------------------------------------ */
/* Hashing a || b                                                        */
/* ------------------------------------------------------------------ */

/* Feeds len bytes into the 64-byte block buffer buf holding *n bytes,
 * compressing full blocks (straight from p when the buffer is empty). */
static void sha1_absorb(sha1_blocks_fn fn, uint32_t h[5], unsigned char buf[64], size_t *n,
                        const unsigned char *p, size_t len)
{
    if (len == 0)
        return;
    if (*n) {
        size_t take = 64 - *n;
        if (take > len)
            take = len;
        memcpy(buf + *n, p, take);
        *n += take;
        p += take;
        len -= take;
        if (*n < 64)
            return; /* len is 0 here */
        fn(h, buf, 1);
        *n = 0;
    }
    if (len >= 64) {
        size_t nb = len / 64;
        fn(h, p, nb);
        p += nb * 64;
        len -= nb * 64;
    }
    if (len) {
        memcpy(buf, p, len);
        *n = len;
    }
}

void fastws_sha1_concat(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen,
                        unsigned char out[FASTWS_SHA1_DIGEST_SIZE])
{
    /* 128 bytes: two blocks, enough for any message of at most 119 bytes
     * plus the 0x80 marker and the 64-bit length (FIPS 180-4 section 5.1.1). */
    unsigned char buf[128];
    uint32_t h[5];
    uint64_t total = (uint64_t)alen + (uint64_t)blen;
    uint64_t bits = total << 3;
    sha1_blocks_fn fn = sha1_blocks;
    int i;

    memcpy(h, SHA1_INIT, sizeof(h));

    if (total <= 119) {
        size_t n = (size_t)total;
        size_t end = n + 9 <= 64 ? 64 : 128;
        if (alen)
            memcpy(buf, a, alen);
        if (blen)
            memcpy(buf + alen, b, blen);
        buf[n] = 0x80;
        memset(buf + n + 1, 0, end - 8 - (n + 1));
        store_be32(buf + end - 8, (uint32_t)(bits >> 32));
        store_be32(buf + end - 4, (uint32_t)bits);
        fn(h, buf, end / 64);
    } else {
        size_t n = 0;
        sha1_absorb(fn, h, buf, &n, a, alen);
        sha1_absorb(fn, h, buf, &n, b, blen);
        buf[n++] = 0x80;
        if (n > 56) {
            memset(buf + n, 0, 64 - n);
            fn(h, buf, 1);
            n = 0;
        }
        memset(buf + n, 0, 56 - n);
        store_be32(buf + 56, (uint32_t)(bits >> 32));
        store_be32(buf + 60, (uint32_t)bits);
        fn(h, buf, 1);
    }

    for (i = 0; i < 5; i++)
        store_be32(out + 4 * i, h[i]);
}
