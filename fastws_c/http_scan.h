/* HTTP/1.1 head scanner for fastws_c.http (RFC 9112 §2-§5, RFC 9110 §5.5-§5.6).
 *
 * fws_parse_head() validates a head and records where its pieces are; it
 * touches no Python object. fws_build_request()/fws_build_response() turn the
 * recorded spans into the Python result. The rules and the order in which
 * errors are reported are exactly those of fastws/http.py (see its module
 * docstring): both backends must raise the same error for the same bytes.
 */
#ifndef FASTWS_HTTP_SCAN_H
#define FASTWS_HTTP_SCAN_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* results of fws_parse_head: FWS_OK, FWS_NEED_MORE or one of the errors */
#define FWS_OK 1
#define FWS_NEED_MORE 0
#define FWS_E_TOO_LARGE (-1)
#define FWS_E_BARE_LF (-2)
#define FWS_E_LONE_CR (-3)
#define FWS_E_REQUEST_LINE (-4)
#define FWS_E_METHOD (-5)
#define FWS_E_TARGET (-6)
#define FWS_E_VERSION (-7)
#define FWS_E_STATUS_LINE (-8)
#define FWS_E_STATUS_CODE (-9)
#define FWS_E_REASON (-10)
#define FWS_E_OBS_FOLD (-11)
#define FWS_E_NO_COLON (-12)
#define FWS_E_EMPTY_NAME (-13)
#define FWS_E_WS_BEFORE_COLON (-14)
#define FWS_E_NAME (-15)
#define FWS_E_VALUE (-16)
#define FWS_E_TOO_MANY (-17)
#define FWS_E_NOMEM (-18)

#define FWS_INLINE_FIELDS 40

typedef struct {
    Py_ssize_t name, name_len;   /* offsets into the buffer */
    Py_ssize_t value, value_len; /* value without surrounding SP/HTAB */
    int value_high;              /* value has a byte >= 0x80 (obs-text) */
} fws_field;

typedef struct {
    /* request:  a = method,  b = target,             c = version
     * response: a = version, b = status (3 digits),  c = reason phrase */
    Py_ssize_t a, a_len, b, b_len, c, c_len;
    int c_high;
    Py_ssize_t consumed;  /* bytes of the head including the blank line */
    Py_ssize_t count;     /* number of header fields */
    Py_ssize_t capacity;
    fws_field *fields;    /* inline_fields or a PyMem_Malloc'ed array */
    fws_field inline_fields[FWS_INLINE_FIELDS];
} fws_head;

/* Initializes h; must be paired with fws_head_release(). */
static inline void fws_head_init(fws_head *h) {
    h->count = 0;
    h->capacity = FWS_INLINE_FIELDS;
    h->fields = h->inline_fields;
}

void fws_head_release(fws_head *h);

/* Scans p[0:n]. is_request selects request-line or status-line rules.
 * Returns FWS_OK (h filled), FWS_NEED_MORE, or an FWS_E_* code. No GIL needed
 * except that growing the field array uses PyMem_RawRealloc. */
int fws_parse_head(const unsigned char *p, Py_ssize_t n, Py_ssize_t max_size,
                   Py_ssize_t max_headers, int is_request, fws_head *h);

/* Python objects: new reference to (head, consumed), NULL with an exception. */
PyObject *fws_build_request(const unsigned char *p, const fws_head *h, PyObject *cls);
PyObject *fws_build_response(const unsigned char *p, const fws_head *h, PyObject *cls);

/* Creates the cached str objects; 0 on success, -1 with an exception. */
int fws_http_init(void);

/* has_token on two exact str objects: 1 / 0 (-1 with an exception). */
int fws_has_token(PyObject *value, PyObject *token);

/* get_header on an exact list and an exact str. Returns a new reference
 * (Py_None when absent) or NULL with an exception. Returns NotImplemented when
 * the list holds something other than exact 2-tuples with exact str names:
 * the caller then runs the generic code (which gives the same answer should
 * NotImplemented really be the header's value). */
PyObject *fws_get_header(PyObject *headers, PyObject *name);

#endif
