# cython: annotation_typing=False
"""UTF-8 validation for WebSocket text (RFC 3629 section 4; RFC 6455 sections 5.6, 8.1).

Compiled twin of :mod:`fastws.utf8`; see that module for the contract. The
scan itself is C (``utf8_simd.c``): a SIMD validator (AVX-512, AVX2 or SSSE3,
chosen once at import with ``__builtin_cpu_supports``) or the portable scalar
one. The GIL is released around scans of 64 KiB or more.

Private hooks for the tests: ``_implementations()`` lists the variants this
CPU can run (``"scalar"`` first, the widest last; that one is the default,
except ``"avx512"`` on CPUs without AVX512-VBMI2, where 512-bit code lowers
the clock, which default to ``"avx2"``), ``_use(name)`` selects one
for every later call (both ``validate`` and ``Utf8Validator``), ``_selected()``
names the current one.
"""

from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_CheckBuffer, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from libc.string cimport memcpy

import inspect as _inspect

__all__ = ["validate", "Utf8Validator"]


cdef extern from "utf8_simd.h":
    void fastws_utf8_init()
    int fastws_utf8_validate(const unsigned char *p, size_t n) nogil
    int fastws_utf8_check_prefix(const unsigned char *p, size_t n) nogil
    int fastws_utf8_sequence_length(unsigned char b) nogil
    int fastws_utf8_partial_ok(const unsigned char *s, size_t k) nogil
    int fastws_utf8_impl_count()
    const char *fastws_utf8_impl_name(int index)
    int fastws_utf8_use(const char *name)
    const char *fastws_utf8_selected()


fastws_utf8_init()

# Scans at least this long run without the GIL.
cdef enum:
    _NOGIL_MIN = 65536


cdef inline object _not_a_buffer(object data):
    return TypeError(f"a bytes-like object is required, not '{type(data).__name__}'")


cdef inline bint _scan(const unsigned char *p, Py_ssize_t n) noexcept:
    cdef int ok
    if n >= _NOGIL_MIN:
        with nogil:
            ok = fastws_utf8_validate(p, <size_t>n)
    else:
        ok = fastws_utf8_validate(p, <size_t>n)
    return ok != 0


def validate(data: Buffer) -> bool:
    """True iff the whole of ``data`` (a bytes-like object) is valid UTF-8.

    RFC 3629 section 4: no surrogates (U+D800..DFFF), no overlong forms,
    nothing above U+10FFFF, no stray continuation bytes, no sequence cut off
    at the end. A non-buffer raises ``TypeError``.
    """
    cdef Py_buffer view
    cdef bint ok
    if type(data) is bytes:
        return _scan(<const unsigned char *>PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))
    if not PyObject_CheckBuffer(data):
        raise _not_a_buffer(data)
    PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    try:
        ok = _scan(<const unsigned char *>view.buf, view.len)
    finally:
        PyBuffer_Release(&view)
    return ok


def _validator_signature() -> None:
    """The signature of ``Utf8Validator`` (for ``inspect.signature``)."""


cdef class Utf8Validator:
    """Incremental UTF-8 validator for fragmented text messages (RFC 6455 §5.6, §8.1).

    ``feed`` fails fast: it returns False as soon as the bytes fed so far
    cannot be completed into valid UTF-8, so an endpoint can fail the
    connection (close code 1007) without waiting for the rest of the
    message. A sequence split across chunks is carried over (at most three
    pending bytes). After a failure every further ``feed`` returns False
    (it does not raise) until ``finish`` or ``reset``.
    """

    __signature__ = _inspect.signature(_validator_signature)

    cdef unsigned char _pending[4]
    cdef int _npending
    cdef bint _failed

    def __init__(self) -> None:
        self._npending = 0
        self._failed = False

    cdef bint _feed(self, const unsigned char *p, Py_ssize_t n) noexcept:
        """Feeds p[0..n). Runs with the GIL held, except around the scan of a
        large remainder, which touches no state of this object."""
        cdef Py_ssize_t i = 0
        cdef int need, k, tail
        if self._npending:
            # Complete the carried-over sequence byte by byte (RFC 3629 §4).
            k = self._npending
            need = fastws_utf8_sequence_length(self._pending[0])
            while k < need and i < n:
                self._pending[k] = p[i]
                k += 1
                i += 1
                if not fastws_utf8_partial_ok(self._pending, <size_t>k):
                    self._failed = True
                    self._npending = 0
                    return False
            if k < need:
                self._npending = k
                return True
            self._npending = 0
        if n - i >= _NOGIL_MIN:
            with nogil:
                tail = fastws_utf8_check_prefix(p + i, <size_t>(n - i))
        else:
            tail = fastws_utf8_check_prefix(p + i, <size_t>(n - i))
        if tail < 0:
            self._failed = True
            return False
        memcpy(self._pending, p + n - tail, <size_t>tail)
        self._npending = tail
        return True

    def feed(self, data: Buffer) -> bool:
        """Adds the next chunk; False once the bytes so far cannot be completed into valid UTF-8.

        Stays False for every later chunk (no exception) until ``finish`` or
        ``reset``. A non-buffer raises ``TypeError``.
        """
        cdef Py_buffer view
        cdef bint ok
        if type(data) is bytes:
            if self._failed:
                return False
            return self._feed(
                <const unsigned char *>PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data)
            )
        if not PyObject_CheckBuffer(data):
            raise _not_a_buffer(data)
        PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
        try:
            if self._failed:
                return False
            ok = self._feed(<const unsigned char *>view.buf, view.len)
        finally:
            PyBuffer_Release(&view)
        return ok

    def finish(self) -> bool:
        """True iff everything fed was valid and no sequence is left incomplete; then resets."""
        cdef bint ok = not self._failed and self._npending == 0
        self._failed = False
        self._npending = 0
        return ok

    def reset(self) -> None:
        """Forgets everything fed so far (start of a new message)."""
        self._failed = False
        self._npending = 0


def _implementations():
    """Names of the variants this CPU can run: "scalar" first, the widest last."""
    return [fastws_utf8_impl_name(i).decode("ascii") for i in range(fastws_utf8_impl_count())]


def _use(name):
    """Selects the variant ``name`` for every later call; ValueError if unavailable."""
    if not isinstance(name, str):
        raise TypeError("name must be str")
    if fastws_utf8_use(name.encode("ascii")) != 0:
        raise ValueError(f"unknown or unsupported UTF-8 implementation {name!r}")


def _selected():
    """Name of the selected variant."""
    return fastws_utf8_selected().decode("ascii")
