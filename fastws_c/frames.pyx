# cython: annotation_typing=False
"""WebSocket frames (RFC 6455 section 5.2), compiled.

The compiled twin of :mod:`fastws.frames` (see that module for the contract):
same names, signatures, results and exception messages.  ``FrameHeader`` is
the very class defined there.

This is the receive hot path.  :class:`FrameParser` scans the caller's
buffer in place with a cursor over ``const unsigned char*``; each payload
becomes one ``bytes`` object allocated at its final size and filled in one
pass, unmasking straight from the input (RFC 6455 5.3) with the SIMD kernel
of :mod:`fastws_c.mask` (``mask_simd.c``, compiled in).  Only an incomplete
tail is kept between calls: up to 13 bytes of a header, or the payload of the
current frame, filled (and unmasked with the right key phase) as the chunks
arrive.  That buffer is preallocated at the frame's exact size up to 16 MiB,
so such a frame arriving in many small chunks costs one copy; a longer frame
starts with 16 MiB (or what is at hand) and grows geometrically with the
bytes actually received, so a header alone never makes the parser allocate
more than that of what the peer merely announces.  Copies of 1 MiB or more
run with the GIL released.

Private test hooks: ``_xor_for_test(...)``, ``_prealloc_max([n])``.
"""

cimport cython
from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport (
    PyBytes_AS_STRING,
    PyBytes_CheckExact,
    PyBytes_FromStringAndSize,
    PyBytes_GET_SIZE,
)
from cpython.long cimport PyLong_AsLongAndOverflow, PyLong_CheckExact
from cpython.number cimport PyNumber_Index
from cpython.object cimport PyObject
from libc.stdint cimport uint32_t, uint64_t
from libc.string cimport memcpy, memset

import inspect as _inspect

from fastws.exceptions import ProtocolError
from fastws.frames import FrameHeader


cdef extern from "Python.h":
    Py_ssize_t PyNumber_AsSsize_t(object o, PyObject *exc) except? -1
    Py_ssize_t PY_SSIZE_T_MAX


# The masking kernel of fastws_c.mask (RFC 6455 5.3: scalar / SSE2 / AVX2 /
# AVX-512, chosen for this CPU at import) is compiled into this extension as
# well: mask_simd.c goes into this module's C file, so the extension needs no
# other module at run time and keeps its own dispatch state (the _use() hook of
# fastws_c.mask does not affect it).  Naming the .c file here also makes it a
# build dependency of this extension.
cdef extern from "mask_simd.c":
    pass


cdef extern from "mask_simd.h" nogil:
    void fastws_mask(const unsigned char *src, unsigned char *dst, size_t n, uint32_t key)
    uint32_t fastws_mask_rotate(uint32_t key, size_t phase)
    void fastws_mask_init()
    const char *fastws_mask_selected()
    int fastws_mask_use(const char *name)


fastws_mask_init()


__all__ = [
    "OP_CONT",
    "OP_TEXT",
    "OP_BINARY",
    "OP_CLOSE",
    "OP_PING",
    "OP_PONG",
    "FrameHeader",
    "Frame",
    "FrameParser",
    "parse_header",
    "build_frame",
]

OP_CONT = 0
OP_TEXT = 1
OP_BINARY = 2
OP_CLOSE = 8
OP_PING = 9
OP_PONG = 10

# Copies at least this large run with the GIL released.
cdef enum:
    NOGIL_MIN = 1 << 20
    REPR_PAYLOAD = 64

# The most a pending payload buffer is allocated ahead of the data (a frame up
# to this size gets its exact final size at once); see _prealloc_max().
cdef Py_ssize_t _PREALLOC_MAX = 16 << 20

cdef str _MSB_MESSAGE = "64-bit payload length has its most significant bit set"
cdef object _MAX_LIMIT = (1 << 63) - 1


# ---------------------------------------------------------------- helpers


cdef int _get_buffer(object obj, Py_buffer *view, str what) except -1:
    """PyBUF_SIMPLE view of ``obj``, or the contract's TypeError."""
    try:
        PyObject_GetBuffer(obj, view, PyBUF_SIMPLE)
    except (TypeError, BufferError):
        raise TypeError(f"{what} must be a contiguous bytes-like object") from None
    return 0


cdef bytes _bytes_of(object obj, str what):
    """The content of a C-contiguous bytes-like ``obj`` as ``bytes``."""
    cdef Py_buffer view
    if PyBytes_CheckExact(obj):
        return <bytes>obj
    _get_buffer(obj, &view, what)
    try:
        return PyBytes_FromStringAndSize(<char *>view.buf, view.len)
    finally:
        PyBuffer_Release(&view)


cdef long _int_in(object value, str what, long high) except -1:
    """``value`` (any ``__index__``) as a C long in ``0..high`` or ValueError."""
    cdef int overflow = 0
    cdef long number
    if not PyLong_CheckExact(value):
        value = PyNumber_Index(value)
    number = PyLong_AsLongAndOverflow(value, &overflow)
    if overflow or number < 0 or number > high:
        raise ValueError(f"{what} must be between 0 and {high}")
    return number


cdef inline Py_ssize_t _header_size(unsigned int second) noexcept nogil:
    """Header size implied by the second header byte (RFC 6455 5.2)."""
    cdef unsigned int length = second & 0x7F
    cdef Py_ssize_t size = 2 if length < 126 else (4 if length == 126 else 10)
    return size + 4 if second & 0x80 else size


cdef inline uint64_t _be64(const unsigned char *p) noexcept nogil:
    return ((<uint64_t>p[0] << 56) | (<uint64_t>p[1] << 48) | (<uint64_t>p[2] << 40)
            | (<uint64_t>p[3] << 32) | (<uint64_t>p[4] << 24) | (<uint64_t>p[5] << 16)
            | (<uint64_t>p[6] << 8) | <uint64_t>p[7])


cdef inline void _xor_copy(unsigned char *dst, const unsigned char *src, Py_ssize_t n,
                           const unsigned char *key, size_t phase) noexcept:
    """Copy ``n`` bytes, unmasking when ``key`` is not NULL (``dst[i] = src[i] ^
    key[(phase + i) % 4]``); ``dst`` and ``src`` are the same or disjoint.  The
    GIL is released when big."""
    cdef uint32_t k
    if key == NULL:
        if n >= NOGIL_MIN:
            with nogil:
                memcpy(dst, src, <size_t>n)
        else:
            memcpy(dst, src, <size_t>n)
        return
    memcpy(&k, key, 4)
    k = fastws_mask_rotate(k, phase)
    if n >= NOGIL_MIN:
        with nogil:
            fastws_mask(src, dst, <size_t>n, k)
    else:
        fastws_mask(src, dst, <size_t>n, k)


cdef object _decode(const unsigned char *h, Py_ssize_t avail):
    """Decode the header at ``h`` (``avail`` readable bytes); None if incomplete."""
    cdef unsigned int first, second
    cdef uint64_t length
    cdef Py_ssize_t size
    if avail < 2:
        return None
    first = h[0]
    second = h[1]
    size = _header_size(second)
    if avail < size:
        return None
    length = second & 0x7F
    if length == 126:
        length = (<uint64_t>h[2] << 8) | h[3]
    elif length == 127:
        length = _be64(h + 2)
        if length >> 63:
            raise ProtocolError(_MSB_MESSAGE, 1002)
    mask = PyBytes_FromStringAndSize(<const char *>h + size - 4, 4) if second & 0x80 else None
    return FrameHeader(
        (first & 0x80) != 0, (first >> 4) & 7, first & 0x0F, mask, length, size
    )


# ---------------------------------------------------------------- API


def parse_header(data: Buffer, offset: int = 0) -> FrameHeader | None:
    """Decode the frame header that starts at ``data[offset]`` (RFC 6455 5.2).

    Returns ``None`` when fewer than the header's own size (2 to 14 bytes) are
    available from ``offset`` on.  A 64-bit length with its most significant
    bit set raises ``ProtocolError("64-bit payload length has its most
    significant bit set", 1002)``; nothing else is validated here.
    ``TypeError("data must be a contiguous bytes-like object")``,
    ``ValueError("offset is outside the buffer")``.
    """
    cdef Py_buffer view
    cdef Py_ssize_t start
    if PyBytes_CheckExact(data):
        start = PyNumber_AsSsize_t(offset, NULL)
        if start < 0 or start > PyBytes_GET_SIZE(data):
            raise ValueError("offset is outside the buffer")
        return _decode(<const unsigned char *>PyBytes_AS_STRING(data) + start,
                       PyBytes_GET_SIZE(data) - start)
    _get_buffer(data, &view, "data")
    try:
        start = PyNumber_AsSsize_t(offset, NULL)
        if start < 0 or start > view.len:
            raise ValueError("offset is outside the buffer")
        return _decode(<const unsigned char *>view.buf + start, view.len - start)
    finally:
        PyBuffer_Release(&view)


def build_frame(
    opcode: int,
    payload: Buffer,
    fin: bool = True,
    rsv: int = 0,
    mask: Buffer | None = None,
) -> bytes:
    """Encode one frame (RFC 6455 5.2) and return its bytes.

    Minimal length encoding; with a 4-byte ``mask`` the MASK bit is set, the
    key written and the payload masked (RFC 6455 5.3).  Permissive on purpose.
    Raises, in this order: ``ValueError("opcode must be between 0 and 15")``,
    ``ValueError("rsv must be between 0 and 7")``, ``TypeError("payload must
    be a contiguous bytes-like object")``, ``TypeError("mask must be a
    contiguous bytes-like object")``, ``ValueError("mask must be exactly 4
    bytes")``.  One allocation of the exact output size; the payload is
    copied (or masked) straight into it.
    """
    cdef long op = _int_in(opcode, "opcode", 15)
    cdef long bits = _int_in(rsv, "rsv", 7)
    cdef Py_buffer pview
    cdef Py_buffer mview
    cdef bint have_pview = False
    cdef const unsigned char *src
    cdef Py_ssize_t n, size
    cdef unsigned char key[4]
    cdef bint masked = mask is not None
    cdef unsigned char *out
    cdef unsigned int first
    cdef bytes result
    memset(key, 0, 4)  # only read when masked; GCC cannot tell
    if PyBytes_CheckExact(payload):
        src = <const unsigned char *>PyBytes_AS_STRING(payload)
        n = PyBytes_GET_SIZE(payload)
    else:
        _get_buffer(payload, &pview, "payload")
        have_pview = True
        src = <const unsigned char *>pview.buf
        n = pview.len
    try:
        if masked:
            if PyBytes_CheckExact(mask) and PyBytes_GET_SIZE(mask) == 4:
                memcpy(key, PyBytes_AS_STRING(mask), 4)
            else:
                _get_buffer(mask, &mview, "mask")
                try:
                    if mview.len != 4:
                        raise ValueError("mask must be exactly 4 bytes")
                    memcpy(key, mview.buf, 4)
                finally:
                    PyBuffer_Release(&mview)
        first = (bits << 4) | op
        if fin:
            first |= 0x80
        size = 2 if n < 126 else (4 if n < 65536 else 10)
        if masked:
            size += 4
        if n > PY_SSIZE_T_MAX - size:
            raise MemoryError()
        result = PyBytes_FromStringAndSize(NULL, size + n)
        out = <unsigned char *>PyBytes_AS_STRING(result)
        out[0] = <unsigned char>first
        if n < 126:
            out[1] = <unsigned char>n
        elif n < 65536:
            out[1] = 126
            out[2] = <unsigned char>(n >> 8)
            out[3] = <unsigned char>n
        else:
            out[1] = 127
            out[2] = <unsigned char>(<uint64_t>n >> 56)
            out[3] = <unsigned char>(<uint64_t>n >> 48)
            out[4] = <unsigned char>(<uint64_t>n >> 40)
            out[5] = <unsigned char>(<uint64_t>n >> 32)
            out[6] = <unsigned char>(<uint64_t>n >> 24)
            out[7] = <unsigned char>(<uint64_t>n >> 16)
            out[8] = <unsigned char>(<uint64_t>n >> 8)
            out[9] = <unsigned char>n
        if masked:
            out[1] |= 0x80
            memcpy(out + size - 4, key, 4)
            _xor_copy(out + size, src, n, key, 0)
        else:
            _xor_copy(out + size, src, n, NULL, 0)
        return result
    finally:
        if have_pview:
            PyBuffer_Release(&pview)


def _frame_signature(opcode: int, payload: bytes, fin: bool = True, rsv: int = 0) -> None:
    """Signature holder for ``Frame`` (a cdef class has none of its own)."""


def _parser_signature(
    *, mask_expected: bool, max_frame_size: int = 1 << 20, allowed_rsv: int = 0
) -> None:
    """Signature holder for ``FrameParser``."""


@cython.freelist(256)
cdef class Frame:
    """One received frame: ``opcode``, unmasked ``payload``, ``fin``, ``rsv``.

    Immutable and hashable; equal to another :class:`Frame` with the same
    four fields.  ``rsv`` is RSV1..RSV3 as 0..7 (RSV1 = 4, RFC 6455 5.2).
    """

    cdef readonly int opcode
    cdef readonly bytes payload
    cdef readonly bint fin
    cdef readonly int rsv

    __signature__ = _inspect.signature(_frame_signature)
    __match_args__ = ("opcode", "payload", "fin", "rsv")

    def __init__(self, opcode, payload, fin=True, rsv=0):
        cdef long op = _int_in(opcode, "opcode", 15)
        cdef bytes data = _bytes_of(payload, "payload")
        cdef bint flag = fin
        cdef long bits = _int_in(rsv, "rsv", 7)
        self.opcode = op
        self.payload = data
        self.fin = flag
        self.rsv = bits

    def __setattr__(self, name, value):
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name):
        raise AttributeError(f"cannot delete field {name!r}")

    def __eq__(self, other):
        if not isinstance(other, Frame):
            return NotImplemented
        cdef Frame o = <Frame>other
        return (
            self.opcode == o.opcode
            and self.fin == o.fin
            and self.rsv == o.rsv
            and self.payload == o.payload
        )

    def __ne__(self, other):
        if not isinstance(other, Frame):
            return NotImplemented
        return not self == other

    def __hash__(self):
        return hash((self.opcode, self.payload, self.fin, self.rsv))

    def __repr__(self):
        payload = self.payload
        if len(payload) > REPR_PAYLOAD:
            shown = f"{payload[:REPR_PAYLOAD]!r}...({len(payload)} bytes)"
        else:
            shown = repr(payload)
        return f"Frame(opcode={self.opcode}, payload={shown}, fin={self.fin}, rsv={self.rsv})"

    def __reduce__(self):
        return (Frame, (self.opcode, self.payload, self.fin, self.rsv))


cdef inline Frame _new_frame(int opcode, bytes payload, bint fin, int rsv):
    """A Frame from validated fields, without going through ``__init__``."""
    cdef Frame frame = Frame.__new__(Frame)
    frame.opcode = opcode
    frame.payload = payload
    frame.fin = fin
    frame.rsv = rsv
    return frame


cdef class FrameParser:
    """Incremental frame parser for one direction of a connection.

    See :class:`fastws.frames.FrameParser` for the rules (RFC 6455 5.1, 5.2,
    5.5), their order and their messages.
    """

    cdef bint _mask_expected
    cdef unsigned int _mask_flag
    cdef unsigned int _rsv_forbidden
    cdef uint64_t _max_frame_size
    cdef object _error
    # An incomplete header.
    cdef unsigned char _head[14]
    cdef Py_ssize_t _head_len
    # The frame whose payload is being received (``_payload`` is not None):
    # the buffer of its payload (``_length`` bytes once complete, fewer while
    # it grows), how much of it is filled, and its fields.
    cdef bytes _payload
    cdef Py_ssize_t _filled
    cdef Py_ssize_t _length
    cdef int _opcode
    cdef int _rsv
    cdef bint _fin
    cdef bint _masked
    cdef unsigned char _key[4]

    __signature__ = _inspect.signature(_parser_signature)

    def __init__(self, *, mask_expected, max_frame_size=1 << 20, allowed_rsv=0):
        cdef bint expected = mask_expected
        number = max_frame_size if PyLong_CheckExact(max_frame_size) else PyNumber_Index(
            max_frame_size
        )
        if not 0 <= number <= _MAX_LIMIT:
            raise ValueError("max_frame_size must be between 0 and 2**63 - 1")
        cdef long allowed = _int_in(allowed_rsv, "allowed_rsv", 7)
        self._mask_expected = expected
        self._mask_flag = 1 if expected else 0
        self._max_frame_size = <uint64_t>number
        self._rsv_forbidden = 7 & ~(<unsigned int>allowed)
        self._error = None
        self._head_len = 0
        self._payload = None
        self._filled = 0

    @property
    def error(self):
        """The :class:`ProtocolError` that killed this parser, or ``None``."""
        return self._error

    @property
    def idle(self):
        """True between frames: nothing of a frame is buffered (the next byte
        fed starts a header) and no error killed the parser."""
        return self._head_len == 0 and self._payload is None and self._error is None

    def __reduce__(self):
        raise TypeError("cannot pickle 'FrameParser' object")

    @cython.final
    cdef int _check(self, unsigned int first, unsigned int second, uint64_t length) except -1:
        """1 (with ``_error`` set) if the header breaks a rule, else 0; documented order."""
        cdef unsigned int opcode = first & 0x0F
        cdef unsigned int bad
        if length >> 63:
            self._error = ProtocolError(_MSB_MESSAGE, 1002)
            return 1
        if 3 <= opcode <= 7 or opcode >= 11:
            self._error = ProtocolError(f"reserved opcode {opcode}", 1002)
            return 1
        bad = (first >> 4) & self._rsv_forbidden
        if bad:
            self._error = ProtocolError(f"reserved bits set: {bad:#x}", 1002)
            return 1
        if opcode >= 8:
            if not first & 0x80:
                self._error = ProtocolError("fragmented control frame", 1002)
                return 1
            if length > 125:
                self._error = ProtocolError(
                    f"control frame payload of {length} bytes exceeds 125", 1002
                )
                return 1
        if second & 0x80:
            if not self._mask_expected:
                self._error = ProtocolError("masked frame from server", 1002)
                return 1
        elif self._mask_expected:
            self._error = ProtocolError("unmasked frame from client", 1002)
            return 1
        if length > self._max_frame_size:
            self._error = ProtocolError(
                f"frame of {length} bytes exceeds the limit of {self._max_frame_size} bytes",
                1009,
            )
            return 1
        return 0

    @cython.final
    cdef inline Py_ssize_t _frame(self, const unsigned char *h, Py_ssize_t size,
                                  const unsigned char *p, Py_ssize_t avail,
                                  list frames) except -2:
        """Handle the complete header ``h`` (``size`` bytes) whose payload starts
        at ``p`` with ``avail`` bytes at hand.  Returns the payload bytes used,
        or -1 after a protocol error (``_error`` set)."""
        cdef unsigned int first = h[0]
        cdef unsigned int second = h[1]
        cdef uint64_t length = second & 0x7F
        cdef const unsigned char *key = NULL
        cdef bytes payload
        cdef Py_ssize_t capacity
        if length == 126:
            length = (<uint64_t>h[2] << 8) | h[3]
        elif length == 127:
            length = _be64(h + 2)
        if ((first & 0x0F) > 2 or ((first >> 4) & self._rsv_forbidden)
                or (second >> 7) != self._mask_flag or length > self._max_frame_size):
            # A control frame or a broken rule; _check tells which.
            if self._check(first, second, length):
                return -1
        if second & 0x80:
            key = h + size - 4
        # length <= max_frame_size < 2**63 from here on.
        if length <= <uint64_t>avail:
            payload = PyBytes_FromStringAndSize(NULL, <Py_ssize_t>length)
            _xor_copy(<unsigned char *>PyBytes_AS_STRING(payload), p, <Py_ssize_t>length, key, 0)
            frames.append(_new_frame(first & 0x0F, payload, first >> 7, (first >> 4) & 7))
            return <Py_ssize_t>length
        # Only part of the payload is here: keep it, wait for the rest.  The
        # buffer gets the announced size only up to _PREALLOC_MAX (avail < length).
        if length <= <uint64_t>_PREALLOC_MAX:
            capacity = <Py_ssize_t>length
        else:
            capacity = avail if avail > _PREALLOC_MAX else _PREALLOC_MAX
        payload = PyBytes_FromStringAndSize(NULL, capacity)
        _xor_copy(<unsigned char *>PyBytes_AS_STRING(payload), p, avail, key, 0)
        self._payload = payload
        self._filled = avail
        self._length = <Py_ssize_t>length
        self._opcode = first & 0x0F
        self._fin = first >> 7
        self._rsv = (first >> 4) & 7
        self._masked = key != NULL
        if key != NULL:
            memcpy(self._key, key, 4)
        return avail

    @cython.final
    cdef int _grow(self, Py_ssize_t need) except -1:
        """Enlarge the pending payload buffer to hold at least ``need`` bytes
        (``need <= _length``): doubled, capped at the frame's length.  On
        MemoryError the state is unchanged (nothing of the chunk consumed)."""
        cdef Py_ssize_t capacity = PyBytes_GET_SIZE(self._payload)
        cdef bytes bigger
        capacity = self._length if capacity > self._length // 2 else capacity * 2
        if capacity < need:
            capacity = need
        bigger = PyBytes_FromStringAndSize(NULL, capacity)
        _xor_copy(<unsigned char *>PyBytes_AS_STRING(bigger),
                  <const unsigned char *>PyBytes_AS_STRING(self._payload), self._filled, NULL, 0)
        self._payload = bigger
        return 0

    @cython.final
    cdef list _fail(self, list frames):
        """Drop the state; raise ``_error`` now unless frames await delivery."""
        self._payload = None
        self._head_len = 0
        if frames:
            return frames
        raise self._error

    @cython.final
    cdef list _feed(self, const unsigned char *p, Py_ssize_t n):
        cdef list frames = []
        cdef const unsigned char *end = p + n
        cdef Py_ssize_t size, used, take, total
        cdef bytes payload
        if self._payload is not None:
            # The rest of a payload that began in an earlier chunk.
            total = self._length
            take = total - self._filled
            if take > n:
                take = n
            if self._filled + take > PyBytes_GET_SIZE(self._payload):
                self._grow(self._filled + take)
            payload = self._payload
            _xor_copy(<unsigned char *>PyBytes_AS_STRING(payload) + self._filled, p, take,
                      self._key if self._masked else NULL, <size_t>self._filled & 3)
            self._filled += take
            p += take
            if self._filled < total:
                return frames
            self._payload = None
            frames.append(_new_frame(self._opcode, payload, self._fin, self._rsv))
        elif self._head_len:
            # Complete the pending header byte by byte (at most 13 copies).
            while True:
                size = 2 if self._head_len < 2 else _header_size(self._head[1])
                if self._head_len >= size:
                    break
                if p == end:
                    return frames
                take = size - self._head_len
                if take > end - p:
                    take = end - p
                memcpy(&self._head[self._head_len], p, <size_t>take)
                self._head_len += take
                p += take
            self._head_len = 0
            used = self._frame(self._head, size, p, end - p, frames)
            if used < 0:
                return self._fail(frames)
            p += used
        while end - p >= 2:
            size = _header_size(p[1])
            if end - p < size:
                break
            used = self._frame(p, size, p + size, end - p - size, frames)
            if used < 0:
                return self._fail(frames)
            p += size + used
        if p < end:
            memcpy(self._head, p, <size_t>(end - p))
            self._head_len = end - p
        return frames

    def feed(self, data: Buffer) -> list[Frame]:
        """Consume the next chunk of the stream; return the frames it completed.

        ``data`` is any C-contiguous bytes-like object.  Raises
        ``ProtocolError`` as described in :class:`fastws.frames.FrameParser`.
        """
        cdef Py_buffer view
        if self._error is not None:
            raise self._error.with_traceback(None)
        if PyBytes_CheckExact(data):
            return self._feed(<const unsigned char *>PyBytes_AS_STRING(data),
                              PyBytes_GET_SIZE(data))
        _get_buffer(data, &view, "data")
        try:
            return self._feed(<const unsigned char *>view.buf, view.len)
        finally:
            PyBuffer_Release(&view)


def _prealloc_max(n=None):
    """Test hook: the most a pending payload buffer is allocated ahead of the
    data (default 16 MiB); with ``n`` (>= 1), set it.  Returns the old value."""
    global _PREALLOC_MAX
    cdef Py_ssize_t old = _PREALLOC_MAX
    if n is not None:
        if n < 1:
            raise ValueError("n must be >= 1")
        _PREALLOC_MAX = n
    return old


def _xor_for_test(data, key, phase=0, scalar=False):
    """Test hook: the unmasking kernel on ``data`` (the variant selected for
    this CPU, or the portable scalar one if ``scalar``)."""
    cdef bytes src = _bytes_of(data, "data")
    cdef bytes k = _bytes_of(key, "mask")
    cdef bytes out
    cdef uint32_t word
    cdef const char *selected = fastws_mask_selected()
    if len(k) != 4:
        raise ValueError("mask must be exactly 4 bytes")
    out = PyBytes_FromStringAndSize(NULL, len(src))
    memcpy(&word, PyBytes_AS_STRING(k), 4)
    word = fastws_mask_rotate(word, <size_t>phase & 3)
    # A test hook, like fastws_c.mask._use: a parser in another thread that
    # masks meanwhile (without the GIL) may use either variant; both give the
    # same bytes.
    if scalar:
        fastws_mask_use(b"scalar")  # always available
    try:
        fastws_mask(<const unsigned char *>PyBytes_AS_STRING(src),
                    <unsigned char *>PyBytes_AS_STRING(out), <size_t>len(src), word)
    finally:
        fastws_mask_use(selected)
    return out
