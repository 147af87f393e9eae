/* HTTP/1.1 head scanner for fastws_c.http -- see http_scan.h.
 *
 * Two passes over the head, both bounded by the buffer length:
 *   1. framing (RFC 9112 §2.2): walk the CR/LF bytes up to the first
 *      CRLF CRLF inside the max_size window; any bare LF or CR not followed
 *      by LF is reported first, whatever else is wrong with the head;
 *   2. the start line, then each header line, in order (RFC 9112 §3-§5).
 * Every line of a framed head ends with CRLF, and the last one's CR is at
 * index `t` (the terminator), so the scanning loops of pass 2 always stop at
 * a CR no later than `t` (CR is in none of the accepted character classes).
 */
#include "http_scan.h"

#include <stdint.h>
#include <string.h>

#if defined(__SSE2__) || defined(_M_X64) || (defined(_M_IX86_FP) && _M_IX86_FP >= 2)
#include <emmintrin.h>
#define FWS_SSE2 1
#endif

#if defined(__GNUC__) || defined(__clang__)
#define FWS_LIKELY(x) __builtin_expect(!!(x), 1)
#define FWS_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define FWS_CTZ(x) __builtin_ctz(x)
#elif defined(_MSC_VER)
#include <intrin.h>
#define FWS_LIKELY(x) (x)
#define FWS_UNLIKELY(x) (x)
static inline int FWS_CTZ(unsigned int x) {
    unsigned long i;
    _BitScanForward(&i, x);
    return (int)i;
}
#else
#define FWS_LIKELY(x) (x)
#define FWS_UNLIKELY(x) (x)
static inline int FWS_CTZ(unsigned int x) {
    int i = 0;
    while (!(x & 1u)) { x >>= 1; i++; }
    return i;
}
#endif

/* ------------------------------------------------------------------------
 * Character classes */

/* tchar (RFC 9110 §5.6.2): "!#$%&'*+-.^_`|~" DIGIT ALPHA */
static const unsigned char TCHAR[256] = {
    /* 0x00 */ 0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,
    /* 0x10 */ 0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,
    /* 0x20 */ 0,1,0,1,1,1,1,1, 0,0,1,1,0,1,1,0,   /* ! # $ % & ' * + - . */
    /* 0x30 */ 1,1,1,1,1,1,1,1, 1,1,0,0,0,0,0,0,   /* 0-9 */
    /* 0x40 */ 0,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,   /* A-O */
    /* 0x50 */ 1,1,1,1,1,1,1,1, 1,1,1,0,0,0,1,1,   /* P-Z ^ _ */
    /* 0x60 */ 1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,   /* ` a-o */
    /* 0x70 */ 1,1,1,1,1,1,1,1, 1,1,1,0,1,0,1,0,   /* p-z | ~ */
    /* 0x80-0xFF: 0 */
};

/* field-vchar / SP / HTAB (RFC 9110 §5.5): HTAB, 0x20-0x7E, obs-text 0x80-0xFF */
static const unsigned char VALUE_OK[256] = {
    /* 0x00 */ 0,0,0,0,0,0,0,0, 0,1,0,0,0,0,0,0,
    /* 0x10 */ 0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,
    /* 0x20 */ 1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,
    /* 0x30 */ 1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,
    /* 0x40 */ 1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,
    /* 0x50 */ 1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,
    /* 0x60 */ 1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,
    /* 0x70 */ 1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,0,
    /* 0x80 */ 1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,
    /* 0x90 */ 1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,
    /* 0xA0 */ 1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,
    /* 0xB0 */ 1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,
    /* 0xC0 */ 1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,
    /* 0xD0 */ 1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,
    /* 0xE0 */ 1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,
    /* 0xF0 */ 1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,
};

#define IS_OWS(c) ((c) == ' ' || (c) == '\t')
#define IS_DIGIT(c) ((unsigned)((c) - '0') < 10u)
#define IS_VISIBLE(c) ((unsigned)((c) - 0x21) < 0x5Eu) /* 0x21-0x7E */

/* Index of the first CR or LF in p[i:limit], or limit. */
static inline Py_ssize_t next_cr_or_lf(const unsigned char *p, Py_ssize_t i, Py_ssize_t limit) {
#ifdef FWS_SSE2
    const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');
    while (limit - i >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(p + i));
        unsigned m = (unsigned)_mm_movemask_epi8(
            _mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf)));
        if (m) return i + FWS_CTZ(m);
        i += 16;
    }
#endif
    while (i < limit && p[i] != '\r' && p[i] != '\n') i++;
    return i;
}

/* Index of the first byte of p[i:n] outside VALUE_OK (a CTL other than HTAB,
 * or DEL), or n; *high |= 1 when a byte >= 0x80 precedes it. */
static inline Py_ssize_t scan_value(const unsigned char *p, Py_ssize_t i, Py_ssize_t n, int *high) {
    unsigned acc = 0;
#ifdef FWS_SSE2
    const __m128i c1f = _mm_set1_epi8(0x1F), del = _mm_set1_epi8(0x7F), tab = _mm_set1_epi8('\t');
    unsigned hm = 0;
    while (n - i >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(p + i));
        __m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(v, c1f), v); /* v <= 0x1F */
        __m128i bad = _mm_andnot_si128(_mm_cmpeq_epi8(v, tab),
                                       _mm_or_si128(ctl, _mm_cmpeq_epi8(v, del)));
        unsigned mb = (unsigned)_mm_movemask_epi8(bad);
        unsigned mh = (unsigned)_mm_movemask_epi8(v);
        if (mb) {
            unsigned pos = (unsigned)FWS_CTZ(mb);
            hm |= mh & ((1u << pos) - 1u);
            *high |= hm != 0;
            return i + pos;
        }
        hm |= mh;
        i += 16;
    }
    *high |= hm != 0;
#endif
    while (i < n && VALUE_OK[p[i]]) {
        acc |= p[i];
        i++;
    }
    *high |= (acc & 0x80) != 0;
    return i;
}

static inline int is_version(const unsigned char *v) {
    return v[0] == 'H' && v[1] == 'T' && v[2] == 'T' && v[3] == 'P' && v[4] == '/' &&
           IS_DIGIT(v[5]) && v[6] == '.' && IS_DIGIT(v[7]);
}

/* ------------------------------------------------------------------------
 * Pass 1: framing. Returns the index of the first CRLF CRLF that ends within
 * p[start:limit], or -1 (then *err is 0, or the framing error). A CR in the
 * last position of the window may still be followed by LF: not an error. */
static Py_ssize_t find_head(const unsigned char *p, Py_ssize_t start, Py_ssize_t limit, int *err) {
    Py_ssize_t i = start;
    for (;;) {
        Py_ssize_t j = next_cr_or_lf(p, i, limit);
        if (j >= limit) return -1;
        if (p[j] == '\n') {
            *err = FWS_E_BARE_LF;
            return -1;
        }
        if (j + 1 >= limit) return -1;
        if (p[j + 1] != '\n') {
            *err = FWS_E_LONE_CR;
            return -1;
        }
        if (j + 3 < limit && p[j + 2] == '\r' && p[j + 3] == '\n') return j;
        i = j + 2;
    }
}

/* The CR ending the line that starts at ls (exists: the head is framed). */
static inline Py_ssize_t line_end(const unsigned char *p, Py_ssize_t ls, Py_ssize_t t) {
    const unsigned char *cr = memchr(p + ls, '\r', (size_t)(t + 1 - ls));
    return cr ? (Py_ssize_t)(cr - p) : t;
}

/* ------------------------------------------------------------------------
 * Pass 2: lines. Each returns the index after the line's CRLF, or an error
 * code (< 0). */

/* request-line = method SP request-target SP HTTP-version (RFC 9112 §3),
 * checked as: exactly two SP, method a token, target visible ASCII
 * (RFC 9112 §3.2 forms all use VCHAR only), version HTTP/DIGIT.DIGIT. */
static Py_ssize_t request_line_slow(const unsigned char *p, Py_ssize_t ls, Py_ssize_t t, fws_head *h) {
    Py_ssize_t le = line_end(p, ls, t), i, sp1 = -1, sp2 = -1, spaces = 0;
    for (i = ls; i < le; i++) {
        if (p[i] == ' ') {
            if (spaces == 0) sp1 = i; else if (spaces == 1) sp2 = i;
            spaces++;
        }
    }
    if (spaces != 2) return FWS_E_REQUEST_LINE;
    if (sp1 == ls) return FWS_E_METHOD;
    for (i = ls; i < sp1; i++)
        if (!TCHAR[p[i]]) return FWS_E_METHOD;
    if (sp2 == sp1 + 1) return FWS_E_TARGET;
    for (i = sp1 + 1; i < sp2; i++)
        if (!IS_VISIBLE(p[i])) return FWS_E_TARGET;
    if (le - (sp2 + 1) != 8 || !is_version(p + sp2 + 1)) return FWS_E_VERSION;
    h->a = ls; h->a_len = sp1 - ls;
    h->b = sp1 + 1; h->b_len = sp2 - sp1 - 1;
    h->c = sp2 + 1; h->c_len = 8;
    return le + 2;
}

static inline Py_ssize_t request_line(const unsigned char *p, Py_ssize_t ls, Py_ssize_t t, fws_head *h) {
    Py_ssize_t i = ls, ts;
    while (TCHAR[p[i]]) i++;
    if (FWS_LIKELY(p[i] == ' ' && i > ls)) {
        ts = i + 1;
        i = ts;
        while (IS_VISIBLE(p[i])) i++;
        if (FWS_LIKELY(p[i] == ' ' && i > ts && i + 9 <= t && p[i + 9] == '\r' &&
                       is_version(p + i + 1))) {
            h->a = ls; h->a_len = ts - 1 - ls;
            h->b = ts; h->b_len = i - ts;
            h->c = i + 1; h->c_len = 8;
            return i + 11;
        }
    }
    return request_line_slow(p, ls, t, h);
}

/* status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 §4);
 * the SP before an empty reason may be missing. */
static Py_ssize_t status_line(const unsigned char *p, Py_ssize_t n, Py_ssize_t ls, Py_ssize_t t, fws_head *h) {
    Py_ssize_t le = line_end(p, ls, t), len = le - ls, s;
    int high = 0;
    if (len < 12 || p[ls + 8] != ' ' || (len > 12 && p[ls + 12] != ' ')) return FWS_E_STATUS_LINE;
    if (!is_version(p + ls)) return FWS_E_VERSION;
    if (!IS_DIGIT(p[ls + 9]) || !IS_DIGIT(p[ls + 10]) || !IS_DIGIT(p[ls + 11])) return FWS_E_STATUS_CODE;
    h->a = ls; h->a_len = 8;
    h->b = ls + 9; h->b_len = 3;
    if (len == 12) {
        h->c = le; h->c_len = 0; h->c_high = 0;
        return le + 2;
    }
    s = scan_value(p, ls + 13, n, &high);
    if (s != le) return FWS_E_REASON;
    h->c = ls + 13; h->c_len = le - ls - 13; h->c_high = high;
    return le + 2;
}

/* The name-side error of a header line whose name did not scan cleanly. */
static int field_name_error(const unsigned char *p, Py_ssize_t ls, Py_ssize_t t) {
    Py_ssize_t le = line_end(p, ls, t), i;
    const unsigned char *colon = memchr(p + ls, ':', (size_t)(le - ls));
    Py_ssize_t c;
    if (colon == NULL) return FWS_E_NO_COLON;
    c = (Py_ssize_t)(colon - p);
    if (c == ls) return FWS_E_EMPTY_NAME;
    if (IS_OWS(p[c - 1])) return FWS_E_WS_BEFORE_COLON;
    for (i = ls; i < c; i++)
        if (!TCHAR[p[i]]) return FWS_E_NAME;
    return FWS_E_NAME; /* unreachable: the fast scan would have accepted it */
}

/* field-line = field-name ":" OWS field-value OWS (RFC 9112 §5). */
static inline Py_ssize_t field_line(const unsigned char *p, Py_ssize_t n, Py_ssize_t ls, Py_ssize_t t, fws_field *f) {
    Py_ssize_t i = ls, vs, s, ve;
    int high = 0;
    if (FWS_UNLIKELY(IS_OWS(p[ls]))) return FWS_E_OBS_FOLD; /* RFC 9112 §5.2 */
    while (TCHAR[p[i]]) i++;
    if (FWS_UNLIKELY(p[i] != ':' || i == ls)) return field_name_error(p, ls, t);
    f->name = ls;
    f->name_len = i - ls;
    i++;
    while (IS_OWS(p[i])) i++;
    vs = i;
    s = scan_value(p, vs, n, &high);
    if (FWS_UNLIKELY(p[s] != '\r')) return FWS_E_VALUE; /* s < n: the line's CR stops it */
    ve = s;
    while (ve > vs && IS_OWS(p[ve - 1])) ve--;
    f->value = vs;
    f->value_len = ve - vs;
    f->value_high = high;
    return s + 2;
}

void fws_head_release(fws_head *h) {
    if (h->fields != h->inline_fields) PyMem_Free(h->fields);
    h->fields = h->inline_fields;
    h->capacity = FWS_INLINE_FIELDS;
    h->count = 0;
}

static int grow(fws_head *h) {
    Py_ssize_t cap = h->capacity * 2;
    fws_field *fields;
    if ((size_t)cap > PY_SSIZE_T_MAX / sizeof(fws_field)) return -1;
    if (h->fields == h->inline_fields) {
        fields = PyMem_Malloc((size_t)cap * sizeof(fws_field));
        if (fields) memcpy(fields, h->inline_fields, sizeof(h->inline_fields));
    } else {
        fields = PyMem_Realloc(h->fields, (size_t)cap * sizeof(fws_field));
    }
    if (fields == NULL) return -1;
    h->fields = fields;
    h->capacity = cap;
    return 0;
}

int fws_parse_head(const unsigned char *p, Py_ssize_t n, Py_ssize_t max_size,
                   Py_ssize_t max_headers, int is_request, fws_head *h) {
    Py_ssize_t limit = n < max_size ? n : max_size, start = 0, t, i;
    int err = 0;
    if (is_request)
        while (limit - start >= 2 && p[start] == '\r' && p[start + 1] == '\n') start += 2;
    t = find_head(p, start, limit, &err);
    if (err) return err;
    if (t < 0) return n >= max_size ? FWS_E_TOO_LARGE : FWS_NEED_MORE;
    h->consumed = t + 4;
    i = is_request ? request_line(p, start, t, h) : status_line(p, n, start, t, h);
    if (i < 0) return (int)i;
    while (i != t + 2) {
        if (h->count >= max_headers) return FWS_E_TOO_MANY;
        if (h->count == h->capacity && grow(h) < 0) return FWS_E_NOMEM;
        i = field_line(p, n, i, t, &h->fields[h->count]);
        if (i < 0) return (int)i;
        h->count++;
    }
    return FWS_OK;
}

/* ------------------------------------------------------------------------
 * Python objects */

static PyObject *S_GET, *S_HTTP11, *S_HTTP10;

typedef struct {
    const char *text;
    Py_ssize_t len;
    PyObject *str;
} cached_str;

/* Header names seen in WebSocket handshakes, in their usual spelling; a
 * name spelled exactly so is returned as one shared (interned) str. */
static cached_str NAMES[] = {
    {"Host", 4, NULL},
    {"Origin", 6, NULL},
    {"Pragma", 6, NULL},
    {"Cookie", 6, NULL},
    {"Server", 6, NULL},
    {"Accept", 6, NULL},
    {"Upgrade", 7, NULL},
    {"Connection", 10, NULL},
    {"User-Agent", 10, NULL},
    {"Cache-Control", 13, NULL},
    {"Authorization", 13, NULL},
    {"Accept-Encoding", 15, NULL},
    {"Accept-Language", 15, NULL},
    {"Sec-WebSocket-Key", 17, NULL},
    {"Sec-WebSocket-Accept", 20, NULL},
    {"Sec-WebSocket-Version", 21, NULL},
    {"Sec-WebSocket-Protocol", 22, NULL},
    {"Sec-WebSocket-Extensions", 24, NULL},
    {"Date", 4, NULL},
    {"Content-Length", 14, NULL},
    {"Content-Type", 12, NULL},
    {"host", 4, NULL},
    {"origin", 6, NULL},
    {"upgrade", 7, NULL},
    {"connection", 10, NULL},
    {"user-agent", 10, NULL},
    {"sec-websocket-key", 17, NULL},
    {"sec-websocket-accept", 20, NULL},
    {"sec-websocket-version", 21, NULL},
    {"sec-websocket-protocol", 22, NULL},
    {"sec-websocket-extensions", 24, NULL},
};
#define N_NAMES (sizeof(NAMES) / sizeof(NAMES[0]))

/* Common values: "websocket", "Upgrade", "13", ... */
static cached_str VALUES[] = {
    {"websocket", 9, NULL},
    {"Upgrade", 7, NULL},
    {"upgrade", 7, NULL},
    {"13", 2, NULL},
    {"no-cache", 8, NULL},
    {"keep-alive, Upgrade", 19, NULL},
    {"permessage-deflate; client_max_window_bits", 42, NULL},
    {"gzip, deflate, br", 17, NULL},
    {"Switching Protocols", 19, NULL},
};
#define N_VALUES (sizeof(VALUES) / sizeof(VALUES[0]))

/* Open-addressing hash of (length, first, middle, last byte) -> table index. */
#define HSLOTS 256
static inline unsigned slot_of(const unsigned char *s, Py_ssize_t len) {
    return ((unsigned)len * 31u + s[0] * 7u + s[len - 1] * 3u + s[len / 2]) & (HSLOTS - 1);
}
static signed char NAME_SLOT[HSLOTS], VALUE_SLOT[HSLOTS];

static int init_table(cached_str *table, size_t count, signed char *slots) {
    size_t k;
    memset(slots, -1, HSLOTS);
    for (k = 0; k < count; k++) {
        unsigned h = slot_of((const unsigned char *)table[k].text, table[k].len);
        table[k].str = PyUnicode_InternFromString(table[k].text);
        if (table[k].str == NULL) return -1;
        while (slots[h] >= 0) h = (h + 1) & (HSLOTS - 1);
        slots[h] = (signed char)k;
    }
    return 0;
}

int fws_http_init(void) {
    if (S_GET) return 0;
    S_GET = PyUnicode_InternFromString("GET");
    S_HTTP11 = PyUnicode_InternFromString("HTTP/1.1");
    S_HTTP10 = PyUnicode_InternFromString("HTTP/1.0");
    if (!S_GET || !S_HTTP11 || !S_HTTP10) return -1;
    if (init_table(NAMES, N_NAMES, NAME_SLOT) < 0) return -1;
    if (init_table(VALUES, N_VALUES, VALUE_SLOT) < 0) return -1;
    return 0;
}

/* a == b for len bytes; short strings, so no libc call */
static inline int same_bytes(const unsigned char *a, const char *b, Py_ssize_t len) {
    uint64_t x, y;
    while (len >= 8) {
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        if (x != y) return 0;
        a += 8; b += 8; len -= 8;
    }
    while (len > 0) {
        if (*a != (unsigned char)*b) return 0;
        a++; b++; len--;
    }
    return 1;
}

static inline PyObject *cached(const cached_str *table, const signed char *slots,
                               const unsigned char *s, Py_ssize_t len) {
    unsigned h;
    int k;
    if (len == 0) return NULL;
    h = slot_of(s, len);
    while ((k = slots[h]) >= 0) {
        if (table[k].len == len && same_bytes(s, table[k].text, len)) {
            Py_INCREF(table[k].str);
            return table[k].str;
        }
        h = (h + 1) & (HSLOTS - 1);
    }
    return NULL;
}

/* str of latin-1 bytes; `high` must say exactly whether a byte is >= 0x80
 * (PyUnicode_New needs the true maximum character class). */
static inline PyObject *latin1(const unsigned char *s, Py_ssize_t len, int high) {
    PyObject *u = PyUnicode_New(len, high ? 255 : 127);
    if (u == NULL) return NULL;
    memcpy(PyUnicode_DATA(u), s, (size_t)len);
    return u;
}

static PyObject *build_headers(const unsigned char *p, const fws_head *h) {
    Py_ssize_t k;
    PyObject *list = PyList_New(h->count);
    if (list == NULL) return NULL;
    for (k = 0; k < h->count; k++) {
        const fws_field *f = &h->fields[k];
        PyObject *name, *value, *pair;
        name = cached(NAMES, NAME_SLOT, p + f->name, f->name_len);
        if (name == NULL) {
            name = latin1(p + f->name, f->name_len, 0);
            if (name == NULL) goto error;
        }
        value = f->value_high ? NULL : cached(VALUES, VALUE_SLOT, p + f->value, f->value_len);
        if (value == NULL) {
            value = latin1(p + f->value, f->value_len, f->value_high);
            if (value == NULL) {
                Py_DECREF(name);
                goto error;
            }
        }
        pair = PyTuple_New(2);
        if (pair == NULL) {
            Py_DECREF(name);
            Py_DECREF(value);
            goto error;
        }
        PyTuple_SET_ITEM(pair, 0, name);
        PyTuple_SET_ITEM(pair, 1, value);
        PyList_SET_ITEM(list, k, pair);
    }
    return list;
error:
    Py_DECREF(list);
    return NULL;
}

/* (cls(*items), consumed): the NamedTuple is made with tuple.__new__(cls, items),
 * the documented slot call, as the class's own __new__ would. Steals items. */
static PyObject *finish(PyObject *cls, PyObject *items, Py_ssize_t consumed) {
    PyObject *args, *obj, *size, *result;
    args = PyTuple_New(1);
    if (args == NULL) {
        Py_DECREF(items);
        return NULL;
    }
    PyTuple_SET_ITEM(args, 0, items);
    obj = PyTuple_Type.tp_new((PyTypeObject *)cls, args, NULL);
    Py_DECREF(args);
    if (obj == NULL) return NULL;
    size = PyLong_FromSsize_t(consumed);
    if (size == NULL) {
        Py_DECREF(obj);
        return NULL;
    }
    result = PyTuple_New(2);
    if (result == NULL) {
        Py_DECREF(obj);
        Py_DECREF(size);
        return NULL;
    }
    PyTuple_SET_ITEM(result, 0, obj);
    PyTuple_SET_ITEM(result, 1, size);
    return result;
}

PyObject *fws_build_request(const unsigned char *p, const fws_head *h, PyObject *cls) {
    PyObject *method, *target, *version, *headers, *items;
    if (h->a_len == 3 && memcmp(p + h->a, "GET", 3) == 0) {
        method = S_GET;
        Py_INCREF(method);
    } else {
        method = latin1(p + h->a, h->a_len, 0);
        if (method == NULL) return NULL;
    }
    target = latin1(p + h->b, h->b_len, 0);
    if (target == NULL) {
        Py_DECREF(method);
        return NULL;
    }
    if (memcmp(p + h->c, "HTTP/1.1", 8) == 0) {
        version = S_HTTP11;
        Py_INCREF(version);
    } else if (memcmp(p + h->c, "HTTP/1.0", 8) == 0) {
        version = S_HTTP10;
        Py_INCREF(version);
    } else {
        version = latin1(p + h->c, 8, 0);
    }
    headers = version ? build_headers(p, h) : NULL;
    items = headers ? PyTuple_New(4) : NULL;
    if (items == NULL) {
        Py_DECREF(method);
        Py_DECREF(target);
        Py_XDECREF(version);
        Py_XDECREF(headers);
        return NULL;
    }
    PyTuple_SET_ITEM(items, 0, method);
    PyTuple_SET_ITEM(items, 1, target);
    PyTuple_SET_ITEM(items, 2, version);
    PyTuple_SET_ITEM(items, 3, headers);
    return finish(cls, items, h->consumed);
}

PyObject *fws_build_response(const unsigned char *p, const fws_head *h, PyObject *cls) {
    PyObject *version, *status, *reason = NULL, *headers = NULL, *items = NULL;
    const unsigned char *d = p + h->b;
    if (memcmp(p + h->a, "HTTP/1.1", 8) == 0) {
        version = S_HTTP11;
        Py_INCREF(version);
    } else {
        version = latin1(p + h->a, 8, 0);
        if (version == NULL) return NULL;
    }
    status = PyLong_FromLong((d[0] - '0') * 100 + (d[1] - '0') * 10 + (d[2] - '0'));
    if (status) {
        reason = h->c_high ? NULL : cached(VALUES, VALUE_SLOT, p + h->c, h->c_len);
        if (reason == NULL) reason = latin1(p + h->c, h->c_len, h->c_high);
    }
    if (reason) headers = build_headers(p, h);
    if (headers) items = PyTuple_New(4);
    if (items == NULL) {
        Py_DECREF(version);
        Py_XDECREF(status);
        Py_XDECREF(reason);
        Py_XDECREF(headers);
        return NULL;
    }
    PyTuple_SET_ITEM(items, 0, version);
    PyTuple_SET_ITEM(items, 1, status);
    PyTuple_SET_ITEM(items, 2, reason);
    PyTuple_SET_ITEM(items, 3, headers);
    return finish(cls, items, h->consumed);
}

/* ------------------------------------------------------------------------
 * Helpers on str (ASCII-only case folding, RFC 9110 §5.1 / §5.6.2) */

#define FOLD(c) ((c) >= 'A' && (c) <= 'Z' ? (c) + 32 : (c))

int fws_has_token(PyObject *value, PyObject *token) {
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(value) < 0 || PyUnicode_READY(token) < 0) return -1;
#endif
    Py_ssize_t n = PyUnicode_GET_LENGTH(value), tl = PyUnicode_GET_LENGTH(token), i = 0;
    int vk = PyUnicode_KIND(value), tk = PyUnicode_KIND(token);
    const void *vd = PyUnicode_DATA(value), *td = PyUnicode_DATA(token);
    if (tl == 0) return 0;
    while (i <= n) {
        Py_ssize_t s = i, e, k;
        /* element [s, e) ends at the next comma or the end */
        while (i < n && PyUnicode_READ(vk, vd, i) != ',') i++;
        e = i;
        i++; /* past the comma */
        while (s < e && IS_OWS(PyUnicode_READ(vk, vd, s))) s++;
        while (e > s && IS_OWS(PyUnicode_READ(vk, vd, e - 1))) e--;
        if (e - s != tl) continue;
        for (k = 0; k < tl; k++) {
            Py_UCS4 a = PyUnicode_READ(vk, vd, s + k), b = PyUnicode_READ(tk, td, k);
            if (FOLD(a) != FOLD(b)) break;
        }
        if (k == tl) return 1;
    }
    return 0;
}

static inline int same_name(PyObject *a, PyObject *key, Py_ssize_t len, int kk, const void *kd) {
    Py_ssize_t k;
    int ak;
    const void *ad;
    if (PyUnicode_GET_LENGTH(a) != len) return 0;
    ak = PyUnicode_KIND(a);
    ad = PyUnicode_DATA(a);
    if (ak == PyUnicode_1BYTE_KIND && kk == PyUnicode_1BYTE_KIND) {
        const unsigned char *x = ad, *y = kd;
        for (k = 0; k < len; k++)
            if (FOLD(x[k]) != FOLD(y[k])) return 0;
        return 1;
    }
    for (k = 0; k < len; k++) {
        Py_UCS4 x = PyUnicode_READ(ak, ad, k), y = PyUnicode_READ(kk, kd, k);
        if (FOLD(x) != FOLD(y)) return 0;
    }
    return 1;
}

/* Borrowed references into `headers` are only used until the next call that
 * may allocate a GC-tracked object (PyList_New here): such an allocation can
 * run the cyclic GC, and with it finalizers and weakref callbacks, which can
 * mutate or clear the list and free its tuples.  So the list's size is read
 * again for every item, and a matching value is held by a strong reference
 * before anything is allocated.  Nothing else in the loop runs Python code.
 * (`headers` and `name` themselves are the caller's arguments: it keeps them
 * alive for the call, as for any C function taking borrowed arguments.) */
PyObject *fws_get_header(PyObject *headers, PyObject *name) {
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(name) < 0) return NULL;
#endif
    Py_ssize_t i, len = PyUnicode_GET_LENGTH(name);
    int kk = PyUnicode_KIND(name);
    const void *kd = PyUnicode_DATA(name);
    PyObject *first = NULL, *values = NULL, *sep, *joined;
    for (i = 0; i < PyList_GET_SIZE(headers); i++) {
        PyObject *pair = PyList_GET_ITEM(headers, i), *n, *value;
        int rc;
        if (!PyTuple_CheckExact(pair) || PyTuple_GET_SIZE(pair) != 2 ||
            !PyUnicode_CheckExact(PyTuple_GET_ITEM(pair, 0))) {
            Py_XDECREF(first);
            Py_XDECREF(values);
            Py_RETURN_NOTIMPLEMENTED;
        }
        n = PyTuple_GET_ITEM(pair, 0);
#if PY_VERSION_HEX < 0x030C0000
        if (PyUnicode_READY(n) < 0) goto error; /* PyObject_Malloc only: no GC */
#endif
        if (!same_name(n, name, len, kk, kd)) continue;
        value = PyTuple_GET_ITEM(pair, 1);
        Py_INCREF(value);
        if (first == NULL) {
            first = value;
            continue;
        }
        if (values == NULL) {
            values = PyList_New(1); /* may run the GC: pair may be gone after */
            if (values == NULL) {
                Py_DECREF(value);
                goto error;
            }
            Py_INCREF(first);
            PyList_SET_ITEM(values, 0, first);
        }
        rc = PyList_Append(values, value);
        Py_DECREF(value);
        if (rc < 0) goto error;
    }
    if (first == NULL) Py_RETURN_NONE;
    if (values == NULL) return first;
    Py_DECREF(first);
    sep = PyUnicode_FromStringAndSize(", ", 2);
    if (sep == NULL) {
        Py_DECREF(values);
        return NULL;
    }
    joined = PyUnicode_Join(sep, values);
    Py_DECREF(sep);
    Py_DECREF(values);
    return joined;
error:
    Py_XDECREF(first);
    Py_XDECREF(values);
    return NULL;
}
