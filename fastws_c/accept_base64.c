/* Base64 (RFC 4648 section 4) for the WebSocket handshake keys
 * (RFC 6455 sections 4.1 and 4.2.2): encoding the 20-byte SHA-1 digest and
 * the 16-byte nonce, and recognising a canonical 16-byte key. */
#include "accept_base64.h"

#include <stdint.h>

static const unsigned char B64_ALPHABET[64] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* value of a base64 character, or 0xFF for anything else (RFC 4648 table 1) */
static const unsigned char B64_VALUE[256] = {
#define X 0xFF
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  /* 0x00 */
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  /* 0x10 */
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  62, X,  X,  X,  63, /* 0x20 */
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, X,  X,  X,  X,  X,  X,  /* 0x30 */
    X,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, /* 0x40 */
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, X,  X,  X,  X,  X,  /* 0x50 */
    X,  26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, /* 0x60 */
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, X,  X,  X,  X,  X,  /* 0x70 */
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  /* 0x80 */
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
#undef X
};

void fastws_b64_encode(const unsigned char *in, size_t len, unsigned char *out)
{
    while (len >= 3) {
        uint32_t v = ((uint32_t)in[0] << 16) | ((uint32_t)in[1] << 8) | in[2];
        out[0] = B64_ALPHABET[v >> 18];
        out[1] = B64_ALPHABET[(v >> 12) & 63];
        out[2] = B64_ALPHABET[(v >> 6) & 63];
        out[3] = B64_ALPHABET[v & 63];
        in += 3;
        len -= 3;
        out += 4;
    }
    if (len == 1) {
        out[0] = B64_ALPHABET[in[0] >> 2];
        out[1] = B64_ALPHABET[(in[0] & 3) << 4];
        out[2] = '=';
        out[3] = '=';
    } else if (len == 2) {
        uint32_t v = ((uint32_t)in[0] << 8) | in[1];
        out[0] = B64_ALPHABET[v >> 10];
        out[1] = B64_ALPHABET[(v >> 4) & 63];
        out[2] = B64_ALPHABET[(v << 2) & 63];
        out[3] = '=';
    }
}

int fastws_b64_is_key(const unsigned char *p, size_t len)
{
    unsigned int bad, last;
    int i;

    if (len != 24 || p[22] != '=' || p[23] != '=')
        return 0;
    /* the 22nd character holds 2 data bits and 4 padding bits that must be
     * zero for the canonical encoding (RFC 4648 section 3.5) */
    last = B64_VALUE[p[21]];
    bad = last;
    for (i = 0; i < 21; i++)
        bad |= B64_VALUE[p[i]];
    /* 0xFF (not base64) has the top bits set; every valid value is below 64 */
    return (bad & 0xC0) == 0 && (last & 0x0F) == 0;
}
