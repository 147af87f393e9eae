"""WebSocket frames (RFC 6455 section 5.2), pure Python.

The wire format of RFC 6455 5.2::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-------+-+-------------+-------------------------------+
    |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
    |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
    |N|V|V|V|       |S|             |   (if payload len==126/127)   |
    | |1|2|3|       |K|             |                               |
    +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
    |     Extended payload length continued, if payload len == 127  |
    + - - - - - - - - - - - - - - - +-------------------------------+
    |                               |Masking-key, if MASK set to 1  |
    +-------------------------------+-------------------------------+
    | Masking-key (continued)       |          Payload Data         |
    +-------------------------------- - - - - - - - - - - - - - - - +

* :func:`parse_header` decodes one header (no validation beyond the 64-bit
  length rule).
* :func:`build_frame` encodes one frame with the minimal length encoding and
  masks the payload when a key is given (RFC 6455 5.3).  It is permissive on
  purpose so that tests can build illegal frames.
* :class:`Frame` is one received (unmasked) frame.
* :class:`FrameParser` turns a byte stream cut into arbitrary chunks into
  frames and enforces the per-frame rules of RFC 6455 5.1, 5.2 and 5.5.
  Fragmentation sequencing (RFC 6455 5.4) and UTF-8 are the business of the
  layer above.

:mod:`fastws_c.frames` is the compiled twin: same names, signatures, results
and exception messages.
"""

from __future__ import annotations

from operator import index as _index
from typing import TYPE_CHECKING, Any, NamedTuple, NoReturn

from .exceptions import ProtocolError

if TYPE_CHECKING:
    from typing_extensions import Buffer

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

#: Opcodes of RFC 6455 5.2 (5.4 continuation, 5.6 data, 5.5 control frames).
OP_CONT = 0
OP_TEXT = 1
OP_BINARY = 2
OP_CLOSE = 8
OP_PING = 9
OP_PONG = 10

_MSB_MESSAGE = "64-bit payload length has its most significant bit set"
_MAX_LIMIT = (1 << 63) - 1
_REPR_PAYLOAD = 64


class FrameHeader(NamedTuple):
    """A decoded frame header (RFC 6455 5.2).

    ``rsv`` holds the three bits RSV1..RSV3 as 0..7 (RSV1 = 4), ``mask`` the
    4-byte masking key or ``None``, ``length`` the payload length and
    ``header_size`` the number of header bytes (2 to 14) before the payload.
    """

    fin: bool
    rsv: int
    opcode: int
    mask: bytes | None
    length: int
    header_size: int


# ---------------------------------------------------------------- helpers


def _bytes_of(obj: object, what: str) -> bytes:
    """The content of a C-contiguous bytes-like ``obj`` as ``bytes``."""
    if type(obj) is bytes:
        return obj
    try:
        view = memoryview(obj)  # type: ignore[arg-type]
    except (TypeError, BufferError):
        raise TypeError(f"{what} must be a contiguous bytes-like object") from None
    if not view.c_contiguous:
        raise TypeError(f"{what} must be a contiguous bytes-like object")
    return view.tobytes()


def _int_in(value: object, what: str, high: int) -> int:
    """``value`` as an int in ``0..high`` or ``ValueError``."""
    number = value if type(value) is int else _index(value)  # type: ignore[arg-type]
    if not 0 <= number <= high:
        raise ValueError(f"{what} must be between 0 and {high}")
    return number


def _xor(data: bytes | bytearray, key: bytes) -> bytes:
    """``data`` XOR the repeating 4-byte ``key`` (RFC 6455 5.3), via big ints."""
    n = len(data)
    if n == 0:
        return b""
    stream = key * (n >> 2) + key[: n & 3]
    value = int.from_bytes(data, "little") ^ int.from_bytes(stream, "little")
    return value.to_bytes(n, "little")


def _header_size(second_byte: int) -> int:
    """Header size implied by the second header byte (RFC 6455 5.2)."""
    length = second_byte & 0x7F
    size = 2 if length < 126 else (4 if length == 126 else 10)
    return size + 4 if second_byte & 0x80 else size


def _decode(head: bytes) -> FrameHeader | None:
    """Decode the header at the start of ``head``; ``None`` if incomplete."""
    if len(head) < 2:
        return None
    first, second = head[0], head[1]
    size = _header_size(second)
    if len(head) < size:
        return None
    length = second & 0x7F
    if length == 126:
        length = (head[2] << 8) | head[3]
    elif length == 127:
        length = int.from_bytes(head[2:10], "big")
        if length >> 63:
            raise ProtocolError(_MSB_MESSAGE, 1002)
    mask = head[size - 4 : size] if second & 0x80 else None
    return FrameHeader(bool(first & 0x80), (first >> 4) & 7, first & 0x0F, mask, length, size)


# ---------------------------------------------------------------- API


def parse_header(data: Buffer, offset: int = 0) -> FrameHeader | None:
    """Decode the frame header that starts at ``data[offset]`` (RFC 6455 5.2).

    Returns ``None`` when fewer than the header's own size (2 to 14 bytes) are
    available from ``offset`` on.  The only rule checked is the one of the
    length field itself: a 64-bit length with its most significant bit set
    raises ``ProtocolError("64-bit payload length has its most significant
    bit set", 1002)``; roles, opcodes and sizes are :class:`FrameParser`'s.

    ``TypeError("data must be a contiguous bytes-like object")`` for a bad
    buffer, ``ValueError("offset is outside the buffer")`` unless
    ``0 <= offset <= len(data)``.
    """
    buf = _bytes_of(data, "data")
    start = offset if type(offset) is int else _index(offset)
    if not 0 <= start <= len(buf):
        raise ValueError("offset is outside the buffer")
    return _decode(buf[start : start + 14])


def build_frame(
    opcode: int,
    payload: Buffer,
    fin: bool = True,
    rsv: int = 0,
    mask: Buffer | None = None,
) -> bytes:
    """Encode one frame (RFC 6455 5.2) and return its bytes.

    The payload length uses the minimal encoding (7 bits up to 125, 16 bits up
    to 65535, 64 bits beyond).  With a 4-byte ``mask`` the MASK bit is set,
    the key is written and the payload is masked (RFC 6455 5.3).

    Deliberately permissive, so tests can build frames a peer must reject
    (reserved opcodes, fragmented or oversized control frames, RSV bits).
    Raises, in this order: ``ValueError("opcode must be between 0 and 15")``,
    ``ValueError("rsv must be between 0 and 7")``, ``TypeError("payload must
    be a contiguous bytes-like object")``, ``TypeError("mask must be a
    contiguous bytes-like object")``, ``ValueError("mask must be exactly 4
    bytes")``.
    """
    op = _int_in(opcode, "opcode", 15)
    bits = _int_in(rsv, "rsv", 7)
    data = _bytes_of(payload, "payload")
    key = None
    if mask is not None:
        key = _bytes_of(mask, "mask")
        if len(key) != 4:
            raise ValueError("mask must be exactly 4 bytes")
    first = (0x80 if fin else 0) | (bits << 4) | op
    masked = 0x80 if key is not None else 0
    n = len(data)
    if n < 126:
        head = bytes((first, masked | n))
    elif n < 65536:
        head = bytes((first, masked | 126, n >> 8, n & 0xFF))
    else:
        head = bytes((first, masked | 127)) + n.to_bytes(8, "big")
    if key is None:
        return head + data
    return head + key + _xor(data, key)


class Frame:
    """One received frame: ``opcode``, unmasked ``payload``, ``fin``, ``rsv``.

    Immutable and hashable; equal to another :class:`Frame` with the same
    four fields.  ``rsv`` is RSV1..RSV3 as 0..7 (RSV1 = 4, RFC 6455 5.2).
    The constructor checks ``opcode`` (0..15) and ``rsv`` (0..7) like
    :func:`build_frame` and copies any bytes-like ``payload`` into ``bytes``.
    """

    __slots__ = ("opcode", "payload", "fin", "rsv")
    __match_args__ = ("opcode", "payload", "fin", "rsv")

    opcode: int
    payload: bytes
    fin: bool
    rsv: int

    def __init__(self, opcode: int, payload: bytes, fin: bool = True, rsv: int = 0) -> None:
        op = _int_in(opcode, "opcode", 15)
        data = _bytes_of(payload, "payload")
        flag = bool(fin)
        bits = _int_in(rsv, "rsv", 7)
        _set_opcode(self, op)
        _set_payload(self, data)
        _set_fin(self, flag)
        _set_rsv(self, bits)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Frame):
            return NotImplemented
        return (
            self.opcode == other.opcode
            and self.fin == other.fin
            and self.rsv == other.rsv
            and self.payload == other.payload
        )

    def __ne__(self, other: object) -> bool:
        if not isinstance(other, Frame):
            return NotImplemented
        return not self == other

    def __hash__(self) -> int:
        return hash((self.opcode, self.payload, self.fin, self.rsv))

    def __repr__(self) -> str:
        payload = self.payload
        if len(payload) > _REPR_PAYLOAD:
            shown = f"{payload[:_REPR_PAYLOAD]!r}...({len(payload)} bytes)"
        else:
            shown = repr(payload)
        return f"Frame(opcode={self.opcode}, payload={shown}, fin={self.fin}, rsv={self.rsv})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Frame, (self.opcode, self.payload, self.fin, self.rsv))


# The slot descriptors' setters: they bypass the immutable __setattr__.
_set_opcode: Any = Frame.__dict__["opcode"].__set__
_set_payload: Any = Frame.__dict__["payload"].__set__
_set_fin: Any = Frame.__dict__["fin"].__set__
_set_rsv: Any = Frame.__dict__["rsv"].__set__
_new_object: Any = object.__new__


def _frame(opcode: int, payload: bytes, fin: bool, rsv: int) -> Frame:
    """A :class:`Frame` from already validated fields (the parser's fast path)."""
    frame: Frame = _new_object(Frame)
    _set_opcode(frame, opcode)
    _set_payload(frame, payload)
    _set_fin(frame, fin)
    _set_rsv(frame, rsv)
    return frame


class FrameParser:
    """Incremental frame parser for one direction of a connection.

    ``feed(data)`` accepts the byte stream in chunks of any size (down to one
    byte) and returns the frames it completed, payloads unmasked.  Every
    complete header is checked, in this order (``ProtocolError``, code 1002
    unless said otherwise):

    1. a 64-bit length with its most significant bit set (RFC 6455 5.2):
       ``"64-bit payload length has its most significant bit set"``;
    2. a reserved opcode 3-7 or 11-15 (5.2): ``"reserved opcode N"``;
    3. an RSV bit outside ``allowed_rsv`` (5.2, extensions negotiate them):
       ``"reserved bits set: 0xN"`` (N = the offending bits, RSV1 = 0x4);
    4. a control frame (opcode >= 8) with FIN clear (5.5):
       ``"fragmented control frame"``;
    5. a control frame with a payload over 125 bytes (5.5):
       ``"control frame payload of N bytes exceeds 125"``;
    6. the mask bit (5.1, 5.3): ``"unmasked frame from client"`` when
       ``mask_expected`` (a server) or ``"masked frame from server"`` when not;
    7. a payload over ``max_frame_size``: code 1009,
       ``"frame of N bytes exceeds the limit of M bytes"`` -- raised from the
       header alone, before any of the payload is buffered.

    Frames completed earlier in the same chunk are returned first; the error
    is then raised by the next ``feed``.  From then on ``error`` holds it and
    every ``feed`` raises it again.  Fragment sequencing (5.4) and UTF-8 are
    not checked here.
    """

    __slots__ = (
        "_mask_expected",
        "_max_frame_size",
        "_rsv_forbidden",
        "_mask_flag",
        "_error",
        "_head",
        "_partial",
        "_remaining",
        "_current",
    )

    def __init__(
        self, *, mask_expected: bool, max_frame_size: int = 1 << 20, allowed_rsv: int = 0
    ) -> None:
        self._mask_expected = bool(mask_expected)
        number = max_frame_size if type(max_frame_size) is int else _index(max_frame_size)
        if not 0 <= number <= _MAX_LIMIT:
            raise ValueError("max_frame_size must be between 0 and 2**63 - 1")
        self._max_frame_size = number
        self._rsv_forbidden = 7 & ~_int_in(allowed_rsv, "allowed_rsv", 7)
        self._mask_flag = 1 if self._mask_expected else 0
        self._error: ProtocolError | None = None
        # Bytes of a header that is not complete yet.
        self._head = b""
        # The frame whose payload is being received: its raw bytes so far
        # (amortized linear appends), the number of payload bytes still
        # missing, and (opcode, fin, rsv, key).
        self._partial = bytearray()
        self._remaining = 0
        self._current: tuple[int, bool, int, bytes | None] | None = None

    @property
    def error(self) -> ProtocolError | None:
        """The :class:`ProtocolError` that killed this parser, or ``None``."""
        return self._error

    @property
    def idle(self) -> bool:
        """True between frames: nothing of a frame is buffered (the next byte
        fed starts a header) and no error killed the parser."""
        return not self._head and self._current is None and self._error is None

    def __reduce__(self) -> NoReturn:
        raise TypeError("cannot pickle 'FrameParser' object")

    def _check(self, first: int, second: int, length: int) -> ProtocolError | None:
        """The rule a complete header breaks, in the documented order."""
        opcode = first & 0x0F
        if opcode in (3, 4, 5, 6, 7, 11, 12, 13, 14, 15):
            return ProtocolError(f"reserved opcode {opcode}", 1002)
        bad = (first >> 4) & self._rsv_forbidden
        if bad:
            return ProtocolError(f"reserved bits set: {bad:#x}", 1002)
        if opcode >= 8:
            if not first & 0x80:
                return ProtocolError("fragmented control frame", 1002)
            if length > 125:
                return ProtocolError(f"control frame payload of {length} bytes exceeds 125", 1002)
        if second & 0x80:
            if not self._mask_expected:
                return ProtocolError("masked frame from server", 1002)
        elif self._mask_expected:
            return ProtocolError("unmasked frame from client", 1002)
        if length > self._max_frame_size:
            return ProtocolError(
                f"frame of {length} bytes exceeds the limit of {self._max_frame_size} bytes",
                1009,
            )
        return None

    def _fail(self, error: ProtocolError, frames: list[Frame]) -> list[Frame]:
        """Record ``error``; raise it now unless frames are waiting to be returned."""
        self._error = error
        self._head = b""
        self._partial = bytearray()
        self._current = None
        if frames:
            return frames
        raise error

    def feed(self, data: Buffer) -> list[Frame]:
        """Consume the next chunk of the stream; return the frames it completed.

        ``data`` is any C-contiguous bytes-like object (``TypeError("data must
        be a contiguous bytes-like object")`` otherwise).  Raises
        ``ProtocolError`` as described in the class docstring.
        """
        error = self._error
        if error is not None:
            raise error.with_traceback(None)
        buf = _bytes_of(data, "data")
        frames: list[Frame] = []
        pos = 0
        n = len(buf)
        current = self._current
        if current is not None:
            # The rest of a payload that began in an earlier chunk.
            remaining = self._remaining
            if n < remaining:
                self._partial += buf
                self._remaining = remaining - n
                return frames
            partial = self._partial
            partial += memoryview(buf)[:remaining]
            self._partial = bytearray()
            self._current = None
            opcode, fin, rsv, key = current
            payload = bytes(partial) if key is None else _xor(partial, key)
            frames.append(_frame(opcode, payload, fin, rsv))
            pos = remaining
        elif self._head:
            buf = self._head + buf
            n = len(buf)
            self._head = b""

        while n - pos >= 2:
            first = buf[pos]
            second = buf[pos + 1]
            length = second & 0x7F
            size = _header_size(second)
            if n - pos < size:
                break
            if length == 126:
                length = (buf[pos + 2] << 8) | buf[pos + 3]
            elif length == 127:
                length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                if length >> 63:
                    return self._fail(ProtocolError(_MSB_MESSAGE, 1002), frames)
            if (
                first & 0x0F > 2
                or (first >> 4) & self._rsv_forbidden
                or second >> 7 != self._mask_flag
                or length > self._max_frame_size
            ):
                # Slow path: a control frame or a broken rule; _check tells which.
                error = self._check(first, second, length)
                if error is not None:
                    return self._fail(error, frames)
            key = buf[pos + size - 4 : pos + size] if second & 0x80 else None
            pos += size
            end = pos + length
            if end > n:
                # Only part of the payload is here: keep it, wait for the rest.
                self._current = (first & 0x0F, first >= 0x80, (first >> 4) & 7, key)
                self._partial = bytearray(memoryview(buf)[pos:])
                self._remaining = end - n
                return frames
            payload = buf[pos:end]
            if key is not None:
                payload = _xor(payload, key)
            frames.append(_frame(first & 0x0F, payload, first >= 0x80, (first >> 4) & 7))
            pos = end
        if pos < n:
            self._head = buf[pos:]
        return frames
