/* SHA-1 (FIPS 180-4) for the WebSocket accept key (RFC 6455 section 4.2.2).
 *
 * Two block functions: a portable scalar one and, on x86 CPUs with the SHA
 * extensions, one built on the SHA-NI instructions. fastws_sha1_init() picks
 * the fastest available one once (at module import); fastws_sha1_use() lets
 * the tests force either of them.
 *
 * SHA-1 is used here only because RFC 6455 requires it for the handshake;
 * it is not used for any security property.
 */
#ifndef FASTWS_ACCEPT_SHA1_H
#define FASTWS_ACCEPT_SHA1_H

#include <stddef.h>
#include <stdint.h>

#define FASTWS_SHA1_DIGEST_SIZE 20

/* Detects the CPU and selects the fastest variant. Idempotent. */
void fastws_sha1_init(void);

/* Number of variants compiled in and usable on this CPU, and their names
 * (index 0 is always "scalar"). */
int fastws_sha1_impl_count(void);
const char *fastws_sha1_impl_name(int index);

/* Selects a variant by name: 0 on success, -1 when it is unknown or not
 * available on this CPU. */
int fastws_sha1_use(const char *name);

/* Name of the variant in use. */
const char *fastws_sha1_selected(void);

/* out = SHA-1(a || b), for any lengths (either pointer may be NULL when its
 * length is 0). Never reads outside [a, a + alen) and [b, b + blen). */
void fastws_sha1_concat(const unsigned char *a, size_t alen,
                        const unsigned char *b, size_t blen,
                        unsigned char out[FASTWS_SHA1_DIGEST_SIZE]);

#endif
