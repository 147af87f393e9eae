"""UTF-8 validation for WebSocket text (RFC 3629 section 4; RFC 6455 sections 5.6, 8.1).

RFC 6455 §5.6 requires the payload of a text message to be valid UTF-8 and
§8.1 requires an endpoint that receives invalid UTF-8 to fail the connection
(close code 1007). Valid means exactly the grammar of RFC 3629 §4: no
surrogates (U+D800..DFFF), no overlong forms, nothing above U+10FFFF, no stray
continuation bytes and no sequence cut off at the end of the message.

* :func:`validate` checks a whole message at once.
* :class:`Utf8Validator` checks a fragmented message chunk by chunk and fails
  fast: ``feed`` returns False at the first byte after which no continuation
  could make the message valid (e.g. ``b"\\xf4\\x90"`` can never start a valid
  sequence), as the Autobahn test suite (cases 6.x) expects.

Both accept any bytes-like object (``bytes``, ``bytearray``, ``memoryview``,
...): its raw bytes are what a C-contiguous buffer export gives. Anything else
raises ``TypeError("a bytes-like object is required, not '<type>'")``; a
buffer that cannot be exported contiguously raises what the exporter raises
(``BufferError`` for a non-contiguous memoryview), exactly as in the compiled
twin :mod:`fastws_c.utf8`.
"""

from __future__ import annotations

from codecs import utf_8_decode as _utf_8_decode
from contextlib import suppress as _suppress
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing_extensions import Buffer

__all__ = ["validate", "Utf8Validator"]

# Length of the sequence each byte starts (RFC 3629 §4): 1 for ASCII, 2..4 for
# a lead byte, 0 for bytes that cannot start one (80..BF continuation bytes,
# C0/C1 which would only make overlong forms, F5..FF which would exceed U+10FFFF).
_SEQUENCE_LENGTH = bytes(
    1 if b < 0x80 else 0 if b < 0xC2 else 2 if b < 0xE0 else 3 if b < 0xF0 else 4 if b < 0xF5 else 0
    for b in range(256)
)

# The second byte after these leads has a narrower range than 80..BF (RFC 3629 §4):
# E0 A0..BF (no overlongs), ED 80..9F (no surrogates), F0 90..BF (no overlongs),
# F4 80..8F (nothing above U+10FFFF).
_SECOND_BYTE_RANGE = {
    0xE0: (0xA0, 0xBF),
    0xED: (0x80, 0x9F),
    0xF0: (0x90, 0xBF),
    0xF4: (0x80, 0x8F),
}


def _type_error(data: object) -> TypeError:
    return TypeError(f"a bytes-like object is required, not '{type(data).__name__}'")


def _partial_ok(seq: bytes) -> bool:
    """True iff ``seq`` (1..4 bytes) starts the encoding of one scalar value (RFC 3629 §4)."""
    length = _SEQUENCE_LENGTH[seq[0]]
    if length == 0 or len(seq) > length:
        return False
    if len(seq) >= 2:
        low, high = _SECOND_BYTE_RANGE.get(seq[0], (0x80, 0xBF))
        if not low <= seq[1] <= high:
            return False
        for byte in seq[2:]:
            if byte & 0xC0 != 0x80:
                return False
    return True


def _as_view(data: object) -> memoryview:
    """The bytes of ``data`` as a flat unsigned-byte view, as the C twin sees them.

    The C twin uses ``PyObject_GetBuffer(data, PyBUF_SIMPLE)``: its errors for
    buffers that cannot be exported that way are reproduced by asking
    ``codecs.utf_8_decode`` (which makes the same request) to read the object.
    """
    try:
        view = memoryview(data)  # type: ignore[arg-type]
    except TypeError:
        raise _type_error(data) from None
    if not view.c_contiguous:
        with _suppress(UnicodeDecodeError):
            _utf_8_decode(data, "strict", False)  # type: ignore[arg-type]  # raises here
        view = memoryview(view.tobytes())
    if view.ndim != 1 or view.format != "B":
        view = view.cast("B")
    return view


def validate(data: Buffer) -> bool:
    """True iff the whole of ``data`` (a bytes-like object) is valid UTF-8.

    RFC 3629 §4: no surrogates (U+D800..DFFF), no overlong forms, nothing
    above U+10FFFF, no stray continuation bytes, no sequence cut off at the
    end. CPython's strict UTF-8 decoder implements exactly that grammar.
    A non-buffer raises ``TypeError``.
    """
    try:
        if type(data) is bytes:
            data.decode("utf-8")  # the fastest call for the common type
        else:
            _utf_8_decode(data, "strict", True)  # buffer errors as PyBUF_SIMPLE gives them
    except UnicodeDecodeError:
        return False
    except TypeError:
        try:
            memoryview(data)
        except TypeError:
            raise _type_error(data) from None
        raise
    return True


class Utf8Validator:
    """Incremental UTF-8 validator for fragmented text messages (RFC 6455 §5.6, §8.1).

    ``feed`` fails fast: it returns False as soon as the bytes fed so far
    cannot be completed into valid UTF-8, so an endpoint can fail the
    connection (close code 1007) without waiting for the rest of the
    message. A sequence split across chunks is carried over (at most three
    pending bytes). After a failure every further ``feed`` returns False
    (it does not raise) until ``finish`` or ``reset``.
    """

    __slots__ = ("_pending", "_failed")

    def __init__(self) -> None:
        self._pending = b""  # incomplete sequence carried over, 0..3 bytes
        self._failed = False

    def feed(self, data: Buffer) -> bool:
        """Adds the next chunk; False once the bytes so far cannot be completed into valid UTF-8.

        Stays False for every later chunk (no exception) until ``finish`` or
        ``reset``. A non-buffer raises ``TypeError``.
        """
        view: bytes | memoryview = data if type(data) is bytes else _as_view(data)
        if self._failed:
            return False
        pending = self._pending
        if pending:
            # Complete the carried-over sequence first (RFC 3629 §4).
            length = _SEQUENCE_LENGTH[pending[0]]
            missing = length - len(pending)
            pending += bytes(view[:missing])
            if not _partial_ok(pending):
                return self._fail()
            if len(pending) < length:  # the chunk ended before the sequence did
                self._pending = pending
                return True
            self._pending = b""
            view = memoryview(view)[missing:]
        # The strict decoder stops at the first sequence that is invalid or
        # cut off by the end of the chunk; ``start`` is where that sequence
        # begins and everything before it is valid. The stream can still be
        # completed iff the rest is a proper prefix of one sequence (at most
        # 3 bytes, checked precisely here: the decoder itself may report
        # ED A0, a surrogate, as merely "unexpected end of data").
        try:
            if type(view) is bytes:
                view.decode("utf-8")
            else:
                _utf_8_decode(view, "strict", True)
        except UnicodeDecodeError as exc:
            tail = bytes(view[exc.start :])
            if len(tail) >= _SEQUENCE_LENGTH[tail[0]] or not _partial_ok(tail):
                return self._fail()
            self._pending = tail
        return True

    def _fail(self) -> bool:
        self._failed = True
        self._pending = b""
        return False

    def finish(self) -> bool:
        """True iff everything fed was valid and no sequence is left incomplete; then resets."""
        ok = not self._failed and not self._pending
        self._failed = False
        self._pending = b""
        return ok

    def reset(self) -> None:
        """Forgets everything fed so far (start of a new message)."""
        self._failed = False
        self._pending = b""
