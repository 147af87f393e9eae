# cython: annotation_typing=False
"""Close frame payloads (RFC 6455 sections 5.5.1 and 7.4), compiled.

The compiled twin of :mod:`fastws.close` (see that module for the contract):
same names, signatures, results and exception messages.  ``CloseCode`` is
the very enum defined there.  The reason is decoded with CPython's strict
UTF-8 decoder, which rejects overlong forms, surrogates and code points
above U+10FFFF (RFC 3629, RFC 6455 8.1).
"""

from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport (
    PyBytes_AS_STRING,
    PyBytes_CheckExact,
    PyBytes_FromStringAndSize,
    PyBytes_GET_SIZE,
)
from cpython.long cimport PyLong_AsLongAndOverflow, PyLong_CheckExact
from cpython.number cimport PyNumber_Index
from libc.string cimport memcpy
from cpython.unicode cimport PyUnicode_AsUTF8String, PyUnicode_Check, PyUnicode_DecodeUTF8

from fastws.close import CloseCode
from fastws.exceptions import ProtocolError

__all__ = ["CloseCode", "is_valid_close_code", "parse_close", "build_close"]

cdef enum:
    MAX_REASON = 123


cdef inline bint _valid(long code) noexcept:
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999


cdef long _code_of(object code) except? -2:
    """``code`` (any ``__index__``) as a C long; -1 when it does not fit (invalid)."""
    cdef int overflow = 0
    cdef long number
    if not PyLong_CheckExact(code):
        code = PyNumber_Index(code)
    number = PyLong_AsLongAndOverflow(code, &overflow)
    return -1 if overflow else number


def is_valid_close_code(code: int) -> bool:
    """True iff ``code`` may be sent in a Close frame (RFC 6455 7.4).

    Valid: 1000-1003, 1007-1014, 3000-4999.
    """
    return _valid(_code_of(code))


cdef tuple _parse(const unsigned char *p, Py_ssize_t n):
    cdef long code
    if n == 0:
        return (1005, "")
    if n == 1:
        raise ProtocolError("close frame payload of 1 byte", 1002)
    code = (<long>p[0] << 8) | p[1]
    if not _valid(code):
        raise ProtocolError(f"invalid close code {code}", 1002)
    try:
        reason = PyUnicode_DecodeUTF8(<const char *>p + 2, n - 2, NULL)
    except UnicodeDecodeError:
        raise ProtocolError("close reason is not valid UTF-8", 1007) from None
    return (code, reason)


def parse_close(payload: Buffer) -> tuple[int, str]:
    """Decode a Close frame payload into ``(code, reason)`` (RFC 6455 5.5.1).

    ``b""`` gives ``(1005, "")``; ``ProtocolError`` 1002 for a 1-byte payload
    or an invalid code, 1007 for a reason that is not valid UTF-8.
    """
    cdef Py_buffer view
    if PyBytes_CheckExact(payload):
        return _parse(<const unsigned char *>PyBytes_AS_STRING(payload),
                      PyBytes_GET_SIZE(payload))
    try:
        PyObject_GetBuffer(payload, &view, PyBUF_SIMPLE)
    except (TypeError, BufferError):
        raise TypeError("payload must be a contiguous bytes-like object") from None
    try:
        return _parse(<const unsigned char *>view.buf, view.len)
    finally:
        PyBuffer_Release(&view)


def build_close(code: int | None = None, reason: str = "") -> bytes:
    """Encode a Close frame payload (RFC 6455 5.5.1).

    ``code=None`` gives ``b""`` (then ``reason`` must be empty); ``ValueError``
    for a code that may not be sent or a reason over 123 UTF-8 bytes.
    """
    cdef long number
    cdef bytes data
    cdef bytes out
    cdef char *dst
    cdef Py_ssize_t n
    if not PyUnicode_Check(reason):
        raise TypeError("reason must be str")
    if code is None:
        if reason:
            raise ValueError("a close reason requires a close code")
        return b""
    number = _code_of(code)
    if not _valid(number):
        raise ValueError(f"close code {PyNumber_Index(code)} cannot be sent")
    data = PyUnicode_AsUTF8String(reason)
    n = PyBytes_GET_SIZE(data)
    if n > MAX_REASON:
        raise ValueError(f"close reason of {n} bytes exceeds {MAX_REASON} bytes")
    out = PyBytes_FromStringAndSize(NULL, n + 2)
    dst = PyBytes_AS_STRING(out)
    dst[0] = <char>(number >> 8)
    dst[1] = <char>(number & 0xFF)
    if n:
        memcpy(dst + 2, PyBytes_AS_STRING(data), <size_t>n)
    return out

