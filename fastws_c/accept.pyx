# cython: annotation_typing=False
"""The opening-handshake keys of RFC 6455, compiled twin of ``fastws.accept``.

* :func:`accept_key` -- ``Sec-WebSocket-Accept`` for a ``Sec-WebSocket-Key``:
  base64(SHA-1(key + GUID)) (RFC 6455 section 4.2.2, step 5.4; section 1.3).
* :func:`generate_key` -- a fresh ``Sec-WebSocket-Key``: base64 of a 16-byte
  random nonce (RFC 6455 section 4.1, client requirement 7).
* :func:`is_valid_key` -- whether a ``Sec-WebSocket-Key`` is the canonical
  base64 of exactly 16 bytes (RFC 6455 section 4.2.1, item 5).

SHA-1 and base64 are implemented in C (``accept_sha1.c``, ``accept_base64.c``);
no OpenSSL is linked. On x86 CPUs with the SHA extensions the SHA-1 block
function uses them; the choice is made once at import. The nonce comes from
the kernel CSPRNG (``getrandom(2)`` on Linux, ``os.urandom`` elsewhere or when
that system call is unavailable).

Private test hooks: ``_implementations()``, ``_use(name)``, ``_selected()``,
``_sha1(data)`` and ``_use_getrandom(enabled)``.
"""

from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_CheckBuffer, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_CheckExact, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.unicode cimport PyUnicode_Check, PyUnicode_DATA, PyUnicode_New
from libc.string cimport memcpy

from os import urandom as _urandom

__all__ = ["GUID", "accept_key", "generate_key", "is_valid_key"]


cdef extern from "accept_sha1.h" nogil:
    void fastws_sha1_init()
    int fastws_sha1_impl_count()
    const char *fastws_sha1_impl_name(int index)
    int fastws_sha1_use(const char *name)
    const char *fastws_sha1_selected()
    void fastws_sha1_concat(const unsigned char *a, size_t alen,
                            const unsigned char *b, size_t blen,
                            unsigned char *out)


cdef extern from "accept_base64.h" nogil:
    void fastws_b64_encode(const unsigned char *inp, size_t length, unsigned char *out)
    int fastws_b64_is_key(const unsigned char *p, size_t length)


cdef extern from *:
    """
    #if defined(__linux__)
    #include <errno.h>
    #include <sys/syscall.h>
    #include <unistd.h>
    #endif

    /* 16 bytes from the kernel CSPRNG via getrandom(2) (flags 0: blocks only
     * until the pool is first initialised, like os.urandom). 0 on success,
     * -1 when unavailable or interrupted: the caller then uses os.urandom,
     * which also deals with signals. */
    static int fastws_getrandom16(unsigned char *out)
    {
    #if defined(__linux__) && defined(SYS_getrandom)
        size_t got = 0;
        while (got < 16) {
            long r = syscall(SYS_getrandom, out + got, 16 - got, 0);
            if (r <= 0)
                return -1;
            got += (size_t)r;
        }
        return 0;
    #else
        (void)out;
        return -1;
    #endif
    }

    /* 1 when str s is ASCII (*data, *len set), 0 when not, -1 on error. */
    static int fastws_str_ascii(PyObject *s, const unsigned char **data, Py_ssize_t *len)
    {
    #if PY_VERSION_HEX < 0x030C0000
        if (PyUnicode_READY(s) < 0)
            return -1;
    #endif
        if (!PyUnicode_IS_ASCII(s))
            return 0;
        *data = (const unsigned char *)PyUnicode_1BYTE_DATA(s);
        *len = PyUnicode_GET_LENGTH(s);
        return 1;
    }
    """
    int fastws_getrandom16(unsigned char *out) nogil
    int fastws_str_ascii(object s, const unsigned char **data, Py_ssize_t *length) except -1


GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

cdef const unsigned char *_GUID_C = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
cdef size_t _GUID_LEN = 36
# hash keys at least this long without the GIL
cdef Py_ssize_t _NOGIL_MIN = 65536
cdef bint _getrandom_enabled = True

fastws_sha1_init()


cdef bytes _fallback_bytes(object key):
    """The raw bytes of a buffer that refuses a simple (C-contiguous) view."""
    try:
        view = memoryview(key)
    except TypeError:
        raise TypeError("key must be str or bytes-like") from None
    return view.tobytes()


cdef object _accept(const unsigned char *p, Py_ssize_t n):
    """base64(SHA-1(p[0:n] + GUID)) as a new 28-character ASCII str."""
    cdef unsigned char digest[20]
    if n >= _NOGIL_MIN:
        with nogil:
            fastws_sha1_concat(p, <size_t>n, _GUID_C, _GUID_LEN, digest)
    else:
        fastws_sha1_concat(p, <size_t>n, _GUID_C, _GUID_LEN, digest)
    result = PyUnicode_New(28, 127)
    fastws_b64_encode(digest, 20, <unsigned char *>PyUnicode_DATA(result))
    return result


def accept_key(key: str | Buffer) -> str:
    """The ``Sec-WebSocket-Accept`` value for a ``Sec-WebSocket-Key``.

    RFC 6455 section 4.2.2 (server step 5.4, and section 1.3): base64 of the
    SHA-1 digest of the key concatenated with :data:`GUID`. Works for a key of
    any length; the key is used as received, without validation.

    ``key`` is a ``str`` (must be ASCII, else ``ValueError("key must be ASCII")``)
    or a bytes-like object; anything else raises
    ``TypeError("key must be str or bytes-like")``.
    """
    cdef const unsigned char *p
    cdef Py_ssize_t n
    cdef Py_buffer view
    if PyUnicode_Check(key):
        if not fastws_str_ascii(key, &p, &n):
            raise ValueError("key must be ASCII")
        return _accept(p, n)
    if PyBytes_CheckExact(key):
        return _accept(<const unsigned char *>PyBytes_AS_STRING(key), PyBytes_GET_SIZE(key))
    if not PyObject_CheckBuffer(key):
        raise TypeError("key must be str or bytes-like")
    try:
        PyObject_GetBuffer(key, &view, PyBUF_SIMPLE)
    except Exception:
        data = _fallback_bytes(key)
        return _accept(<const unsigned char *>PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))
    try:
        return _accept(<const unsigned char *>view.buf, view.len)
    finally:
        PyBuffer_Release(&view)


def generate_key() -> str:
    """A fresh ``Sec-WebSocket-Key`` for a client handshake.

    RFC 6455 section 4.1 (client requirement 7): the base64 of a 16-byte
    nonce selected randomly for each connection. The bytes come from the
    kernel CSPRNG (``getrandom(2)``, or ``os.urandom`` where that is
    unavailable); the result is always 24 characters ending in ``==``.
    """
    cdef unsigned char nonce[16]
    cdef bytes data
    if not _getrandom_enabled or fastws_getrandom16(nonce) != 0:
        data = _urandom(16)
        memcpy(nonce, PyBytes_AS_STRING(data), 16)
    result = PyUnicode_New(24, 127)
    fastws_b64_encode(nonce, 16, <unsigned char *>PyUnicode_DATA(result))
    return result


def is_valid_key(key: str | Buffer) -> bool:
    """Whether ``key`` is an acceptable ``Sec-WebSocket-Key`` value.

    RFC 6455 section 4.2.1 (item 5) and section 4.1: the value must be a
    base64-encoded 16-byte nonce. True iff ``key`` is exactly 24 characters:
    22 from ``A-Za-z0-9+/`` whose last one has its 4 padding bits zero
    (canonical encoding, RFC 4648 section 3.5), then ``==``. A non-ASCII
    ``str`` is simply not valid; a type other than ``str`` or bytes-like
    raises ``TypeError("key must be str or bytes-like")``.
    """
    cdef const unsigned char *p
    cdef Py_ssize_t n
    cdef Py_buffer view
    if PyUnicode_Check(key):
        if not fastws_str_ascii(key, &p, &n):
            return False
        return fastws_b64_is_key(p, <size_t>n) != 0
    if PyBytes_CheckExact(key):
        return fastws_b64_is_key(<const unsigned char *>PyBytes_AS_STRING(key),
                                 <size_t>PyBytes_GET_SIZE(key)) != 0
    if not PyObject_CheckBuffer(key):
        raise TypeError("key must be str or bytes-like")
    try:
        PyObject_GetBuffer(key, &view, PyBUF_SIMPLE)
    except Exception:
        data = _fallback_bytes(key)
        return fastws_b64_is_key(<const unsigned char *>PyBytes_AS_STRING(data),
                                 <size_t>PyBytes_GET_SIZE(data)) != 0
    try:
        return fastws_b64_is_key(<const unsigned char *>view.buf, <size_t>view.len) != 0
    finally:
        PyBuffer_Release(&view)


# ---------------------------------------------------------------------------
# private test hooks


def _implementations():
    """Names of the SHA-1 block functions usable on this CPU, slowest first."""
    return [fastws_sha1_impl_name(i).decode("ascii") for i in range(fastws_sha1_impl_count())]


def _use(name):
    """Selects a SHA-1 variant by name (one of :func:`_implementations`)."""
    if not isinstance(name, str) or "\0" in name or fastws_sha1_use(name.encode("ascii", "replace")) != 0:
        raise ValueError(f"unknown or unavailable SHA-1 implementation: {name!r}")


def _selected():
    """The name of the SHA-1 variant in use."""
    return fastws_sha1_selected().decode("ascii")


def _sha1(data):
    """The raw SHA-1 digest of a bytes-like object, via the selected variant."""
    cdef Py_buffer view
    cdef unsigned char digest[20]
    PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    try:
        fastws_sha1_concat(<const unsigned char *>view.buf, <size_t>view.len, NULL, 0, digest)
    finally:
        PyBuffer_Release(&view)
    return PyBytes_FromStringAndSize(<char *>digest, 20)


def _use_getrandom(enabled):
    """Turns the getrandom(2) fast path of :func:`generate_key` on or off
    (off: every nonce comes from ``os.urandom``). Returns the previous setting."""
    global _getrandom_enabled
    previous = _getrandom_enabled
    _getrandom_enabled = bool(enabled)
    return previous
