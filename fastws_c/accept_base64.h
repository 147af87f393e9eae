/* Base64 (RFC 4648 section 4) for the WebSocket handshake keys
 * (RFC 6455 sections 4.1 and 4.2.2). */
#ifndef FASTWS_ACCEPT_BASE64_H
#define FASTWS_ACCEPT_BASE64_H

#include <stddef.h>

/* Writes the padded base64 of in[0..len) to out, which must hold
 * 4 * ((len + 2) / 3) bytes (no terminating NUL). */
void fastws_b64_encode(const unsigned char *in, size_t len, unsigned char *out);

/* 1 iff p[0..len) is the canonical base64 of exactly 16 bytes: 24 bytes,
 * 22 from A-Za-z0-9+/ with the last of them carrying no bits in its low
 * four (padding) bits, then "==". 0 otherwise. */
int fastws_b64_is_key(const unsigned char *p, size_t len);

#endif
