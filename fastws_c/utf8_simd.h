/*
 * UTF-8 validation kernels for fastws_c.utf8 (RFC 3629 section 4; RFC 6455
 * sections 5.6 and 8.1).
 *
 * A portable scalar validator is always built. On x86 with GCC or Clang,
 * SSSE3, AVX2 and AVX-512BW variants of the Keiser-Lemire "lookup" validator
 * are built too and the best one the CPU supports is chosen once by
 * fastws_utf8_init(). Every function is pure C: no Python object is touched,
 * so the callers may release the GIL around them.
 */
#ifndef FASTWS_UTF8_SIMD_H
#define FASTWS_UTF8_SIMD_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Picks the fastest implementation the CPU supports. Idempotent. */
void fastws_utf8_init(void);

/* 1 if p[0..n) is entirely valid UTF-8 (RFC 3629: no surrogates, no
 * overlong forms, nothing above U+10FFFF, no stray continuation bytes, no
 * sequence truncated at the end), else 0. Uses the selected implementation. */
int fastws_utf8_validate(const unsigned char *p, size_t n);

/* Checks p[0..n) as a *prefix* of a UTF-8 stream: returns -1 when no bytes
 * appended later can make it valid, else the number (0..3) of trailing bytes
 * that form an incomplete, still completable sequence. */
int fastws_utf8_check_prefix(const unsigned char *p, size_t n);

/* Length of the sequence the byte b starts: 1 (ASCII), 2, 3 or 4; 0 for a
 * byte that cannot start a sequence (80..C1, F5..FF). */
int fastws_utf8_sequence_length(unsigned char b);

/* 1 if s[0..k) (1 <= k <= 4) is a prefix (proper or complete) of the
 * encoding of one Unicode scalar value, else 0. */
int fastws_utf8_partial_ok(const unsigned char *s, size_t k);

/* The scalar validator, whatever implementation is selected. */
int fastws_utf8_validate_scalar(const unsigned char *p, size_t n);

/* Implementations available on this CPU, widest last: "scalar" is always
 * index 0. The default is the last one, except "avx512" on CPUs without
 * AVX512-VBMI2 (where 512-bit code lowers the clock), which default to "avx2". */
int fastws_utf8_impl_count(void);
const char *fastws_utf8_impl_name(int index);

/* Selects the implementation called `name`; 0 on success, -1 if it is
 * unknown or not supported by this CPU. */
int fastws_utf8_use(const char *name);

/* Name of the selected implementation. */
const char *fastws_utf8_selected(void);

#ifdef __cplusplus
}
#endif

#endif /* FASTWS_UTF8_SIMD_H */
