/*
 * fastws_c/mask_simd.h -- the WebSocket masking kernel (RFC 6455 section 5.3).
 *
 * fastws_mask(src, dst, n, key) writes dst[i] = src[i] ^ key_bytes[i % 4] for
 * 0 <= i < n, where key_bytes are the 4 bytes of `key` in memory order (load
 * the masking key with memcpy, rotate it with fastws_mask_rotate for a
 * starting phase).  src and dst may be identical (in place) or disjoint; any
 * alignment and any length (including 0) is fine, and no byte outside
 * [src, src + n) / [dst, dst + n) is ever read or written.
 *
 * The variant (portable scalar, SSE2, AVX2, AVX-512) is chosen once by
 * fastws_mask_init() from the running CPU; fastws_mask_use() forces one
 * (for tests and benchmarks).  Inputs under 16 bytes are XORed inline by
 * fastws_mask() itself (fastws_mask_small), without the indirect call.
 * None of these functions touch Python objects, so fastws_mask may run
 * without the GIL.
 *
 * mask_simd.c is compiled into every extension that masks (fastws_c.mask
 * links it; fastws_c.frames includes it in its own C file), so each has its
 * own copy and its own dispatch state.  The non-static names below are
 * hidden (GCC/Clang) so that the copies never bind to one another, whatever
 * dlopen flags the interpreter uses.
 */
#ifndef FASTWS_MASK_SIMD_H
#define FASTWS_MASK_SIMD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#if (defined(__GNUC__) || defined(__clang__)) && !defined(_WIN32) && !defined(__CYGWIN__)
#define FASTWS_MASK_API __attribute__((visibility("hidden")))
#else
#define FASTWS_MASK_API
#endif

typedef void (*fastws_mask_fn)(const unsigned char *src, unsigned char *dst,
                               size_t n, uint32_t key);

/* The selected variant; set by fastws_mask_init / fastws_mask_use. */
extern FASTWS_MASK_API fastws_mask_fn fastws_mask_impl;

/* The key as it applies from key byte `phase` on (phase taken mod 4): bytes
 * key[phase], key[phase + 1], ... in memory order. */
static inline uint32_t fastws_mask_rotate(uint32_t key, size_t phase)
{
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* memory byte i is bits 8i..8i+7: starting at byte `phase` is a right
     * rotation by 8 * phase bits */
    unsigned s = (unsigned)(phase & 3) * 8u;
    return (key >> s) | (key << ((32u - s) & 31u));
#elif defined(__BYTE_ORDER__) && defined(__ORDER_BIG_ENDIAN__) && \
    __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    unsigned s = (unsigned)(phase & 3) * 8u;
    return (key << s) | (key >> ((32u - s) & 31u));
#else
    unsigned char b[4], r[4];
    size_t i;
    memcpy(b, &key, 4);
    for (i = 0; i < 4; i++)
        r[i] = b[(i + phase) & 3];
    memcpy(&key, r, 4);
    return key;
#endif
}

/* Two copies of the key side by side; the same in memory order on any
 * endianness because both halves are equal. */
static inline uint64_t fastws_mask_key64(uint32_t key)
{
    return ((uint64_t)key << 32) | (uint64_t)key;
}

/* n < 16, shared by every variant: 8-, 4-, 2- and 1-byte pieces after one
 * another, as the bits of n say.  The pieces do not overlap, so src == dst is
 * fine, and when a buffer is masked again (as benchmarks do) every load
 * matches an earlier store exactly, which keeps store-to-load forwarding
 * working.  The key phase is 0 at src (callers pass pieces starting at a
 * multiple of 4). */
static inline void fastws_mask_small(const unsigned char *src, unsigned char *dst,
                                     size_t n, uint32_t key)
{
    size_t i = 0;
    if (n & 8) {
        uint64_t a;
        memcpy(&a, src, 8);
        a ^= fastws_mask_key64(key);
        memcpy(dst, &a, 8);
        i = 8;
    }
    if (n & 4) {
        uint32_t a;
        memcpy(&a, src + i, 4);
        a ^= key;
        memcpy(dst + i, &a, 4);
        i += 4;
    }
    if (n & 2) {
        uint16_t a, k;
        memcpy(&a, src + i, 2);
        memcpy(&k, &key, 2); /* key bytes 0 and 1 */
        a ^= k;
        memcpy(dst + i, &a, 2);
        i += 2;
    }
    if (n & 1) {
        unsigned char kb[4];
        memcpy(kb, &key, 4);
        dst[i] = (unsigned char)(src[i] ^ kb[i & 3]);
    }
}

/* XOR n bytes of src with the repeating key into dst (see above).  Inputs
 * under 16 bytes are done inline; longer ones by the selected variant. */
static inline void fastws_mask(const unsigned char *src, unsigned char *dst,
                               size_t n, uint32_t key)
{
    if (n < 16)
        fastws_mask_small(src, dst, n, key);
    else
        fastws_mask_impl(src, dst, n, key);
}

/* Selects the preferred variant this CPU (and OS) supports (AVX2, else
 * AVX-512, else SSE2, else scalar) and the streaming-store threshold.
 * Idempotent. */
FASTWS_MASK_API void fastws_mask_init(void);

/* Names of the variants this CPU supports, widest last; returns how many
 * (at most `max`) were stored in names[].  "scalar" is always first. */
FASTWS_MASK_API int fastws_mask_implementations(const char **names, int max);

/* Name of the selected variant. */
FASTWS_MASK_API const char *fastws_mask_selected(void);

/* Forces the variant `name`; 0 on success, -1 if unknown or unsupported. */
FASTWS_MASK_API int fastws_mask_use(const char *name);

/* From how many bytes on the vector variants write a distinct destination
 * with non-temporal (streaming) stores; set by fastws_mask_init from the
 * last-level cache size.  The setter is for tests and benchmarks. */
FASTWS_MASK_API size_t fastws_mask_nt_min(void);
FASTWS_MASK_API void fastws_mask_set_nt_min(size_t n);

#ifdef __cplusplus
}
#endif

#endif /* FASTWS_MASK_SIMD_H */
