"""The sans-IO WebSocket connection shared by clients and servers.

No sockets, no event loop: bytes in, events out, bytes to send.

    conn.receive_data(chunk)         # bytes from the network (any chunking)
    conn.receive_eof()               # the peer closed the transport
    for event in conn.events(): ...  # Request/Response, Text, Binary, Ping, Pong, Close, Closed
    transport.write(conn.data_to_send())
    if conn.state is State.CLOSED: transport.close()

States (RFC 6455 §4, §7), every transition is in this module or the
handshake code of :mod:`fastws.client` / :mod:`fastws.server`::

    CONNECTING --handshake ok--> OPEN --close sent (ours or the echo)--> CLOSING --> CLOSED
         \\--handshake failed / refused----------------------------------------------^

* ``CLOSING`` means our close frame has been sent; nothing but reading is
  allowed. When both close frames have been exchanged (or the connection was
  failed) a *server* goes straight to ``CLOSED``: it closes the TCP
  connection first (§7.1.1). A *client* stays in ``CLOSING`` until
  :meth:`Connection.receive_eof`; :meth:`Connection.close_expected` tells the
  I/O layer to arm a timeout and close the transport itself when it expires.
* ``CLOSED``: the I/O layer writes what :meth:`Connection.data_to_send`
  returns and closes the transport. The last event is always
  :class:`~fastws.events.Closed`.

Receiving (§5, §6): frames come from the kernel ``FrameParser`` (masking
rule §5.1, reserved opcodes and bits §5.2, control frame rules §5.5, frame
size limit). This module adds fragmentation (§5.4), UTF-8 (§8.1), the
message size limit, control frames (§5.5) and permessage-deflate (RFC 7692).

Failing the connection (§7.1.7): a violation by the peer queues a close
frame with the matching code (1002 protocol error, 1007 invalid UTF-8, 1009
too big, 1010 missing extension, 1011 internal error), records the
:class:`~fastws.exceptions.ProtocolError` in ``conn.error``, moves to
``CLOSING`` (server: ``CLOSED``) and discards everything received after it.
Messages completed before the violation are delivered first. Nothing the peer
sends raises out of :meth:`Connection.receive_data`.

The handshake, once done, stays inspectable on both roles: ``conn.request``
(:class:`~fastws.events.Request`) and ``conn.response`` (the 101,
:class:`~fastws.events.Response`), ``conn.raw_request`` and
``conn.raw_response`` (the heads byte for byte, as curl -v shows them);
``conn.backend`` names the kernels in use (``"c"`` or ``"python"``).

Limits: ``max_message_size`` (default 1 MiB, like the ``websockets``
library; ``None`` = unlimited) bounds every message after decompression
(§10.4: 1009); ``max_frame_size`` (default: the same value) bounds a single
frame and is checked from its header before the payload is buffered.
"""

from __future__ import annotations

import enum
import os
import struct
from typing import Any, Union

from fastws import _backend
from fastws.deflate import DeflateOptions, PerMessageDeflate
from fastws.events import Binary, Close, Closed, Event, Ping, Pong, Request, Response, Text
from fastws.exceptions import InvalidState, ProtocolError

__all__ = [
    "State",
    "Connection",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "DEFAULT_MAX_HEAD_SIZE",
    "DEFAULT_MAX_HEADERS",
]

BytesLike = Union[bytes, bytearray, memoryview]

OP_CONT, OP_TEXT, OP_BINARY = 0, 1, 2
OP_CLOSE, OP_PING, OP_PONG = 8, 9, 10
RSV1 = 4

DEFAULT_MAX_MESSAGE_SIZE = 1 << 20
DEFAULT_MAX_HEAD_SIZE = 16384
DEFAULT_MAX_HEADERS = 128
_UNLIMITED = (1 << 63) - 1
_MASK_POOL = 1024  # bytes of os.urandom drawn at once: 256 masking keys
# A whole, uncompressed message a server sends whose payload is an exact
# ``bytes`` of at least this size is queued beside its frame header instead of
# being copied into one frame (the I/O layer writes both with writelines).
_SPLIT_MIN = 65536
_HEAD16 = struct.Struct("!BBH").pack
_HEAD64 = struct.Struct("!BBQ").pack

# RFC 9110 §5.6.2 token characters.
_TCHAR = frozenset("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def _unmasked_header(opcode: int, length: int) -> bytes:
    """The header of an unmasked final frame without RSV bits, for a payload
    of ``length`` bytes (``length`` > 125): RFC 6455 §5.2 minimal length
    encoding, 126 + 16-bit length below 65536, else 127 + 64-bit length."""
    if length < 65536:
        return _HEAD16(0x80 | opcode, 126, length)
    return _HEAD64(0x80 | opcode, 127, length)


def _is_token(value: str) -> bool:
    return bool(value) and all(c in _TCHAR for c in value)


def check_header(name: str, value: str) -> None:
    """ValueError unless ``name`` is a token and ``value`` has no CR, LF or NUL."""
    if not isinstance(name, str) or not _is_token(name):
        raise ValueError(f"invalid header name {name!r}")
    if not isinstance(value, str) or any(c in value for c in "\r\n\x00"):
        raise ValueError(f"invalid value for header {name!r}")


class State(enum.Enum):
    """Connection states (RFC 6455 §4.1 "CONNECTING", §7 "CLOSING", "CLOSED")."""

    CONNECTING = 0
    OPEN = 1
    CLOSING = 2
    CLOSED = 3


_CONNECTING = State.CONNECTING
_OPEN = State.OPEN
_CLOSING = State.CLOSING
_CLOSED = State.CLOSED


def _limit(value: int | None, name: str) -> int:
    if value is None:
        return _UNLIMITED
    if type(value) is not int or value < 0:  # bool is refused too
        raise ValueError(f"{name} must be a non-negative int or None")
    return min(value, _UNLIMITED)


def _truncate_reason(reason: str) -> str:
    """Cut a reason to the 123 UTF-8 bytes a close frame can carry (§5.5.1)."""
    raw = reason.encode("utf-8", "replace")
    if len(raw) <= 123:
        return reason
    return raw[:123].decode("utf-8", "ignore")


def _head_for_diagnostics(buf: bytearray, limit: int) -> bytes:
    """What a peer sent that is not a complete, valid HTTP head: through the
    first blank line, at most ``limit`` bytes (for ``raw_request``/``raw_response``)."""
    end = buf.find(b"\r\n\r\n", 0, limit)
    return bytes(buf[: end + 4] if end >= 0 else buf[:limit])


def _incomplete_tail(data: bytes) -> int:
    """Length of an incomplete UTF-8 sequence at the end of valid ``data`` (0..3)."""
    n = len(data)
    for i in range(1, min(3, n) + 1):
        byte = data[n - i]
        if byte & 0xC0 == 0x80:
            continue  # continuation byte: look further back for the lead
        if byte < 0x80:
            return 0
        need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
        return i if need > i else 0
    return 0


class Connection:
    """What clients and servers share: framing, messages, control frames, close.

    Not instantiated directly: use :class:`fastws.ClientConnection` or
    :class:`fastws.ServerConnection`.
    """

    __slots__ = (
        "_k",
        "_client",
        "_state",
        "_events",
        "_out",
        "_parser",
        "_feed",
        "_build_frame",
        "_parse_close",
        "_build_close",
        "_is_valid_close_code",
        "_max_message",
        "_max_frame",
        "_max_head",
        "_max_headers",
        "_compression",
        "_deflate",
        "_deflate_min",
        "_frag_op",
        "_frag_compressed",
        "_frag_size",
        "_parts",
        "_text_tail",
        "_validator",
        "_send_frag",
        "_send_fast",
        "_mask_pool",
        "_mask_pos",
        "_hs_buf",
        "streaming",
        "message_callback",
        "max_message_size",
        "max_frame_size",
        "close_sent",
        "close_received",
        "error",
        "subprotocol",
        "request",
        "response",
        "raw_request",
        "raw_response",
    )

    def __init__(
        self,
        *,
        client: bool,
        max_message_size: int | None,
        max_frame_size: int | None,
        streaming: bool,
        compression: DeflateOptions | None,
        max_head_size: int,
        max_headers: int,
        _kernels: _backend.Kernels | None,
    ) -> None:
        k = _backend.KERNELS if _kernels is None else _kernels
        self._k = k
        self._client = client
        self._max_message = _limit(max_message_size, "max_message_size")
        self._max_frame = (
            self._max_message
            if max_frame_size is None
            else _limit(max_frame_size, "max_frame_size")
        )
        #: the configured limits (None: unlimited); read-only by convention
        self.max_message_size = max_message_size
        self.max_frame_size = max_message_size if max_frame_size is None else max_frame_size
        if type(max_head_size) is not int or max_head_size <= 0:
            raise ValueError("max_head_size must be a positive int")
        if type(max_headers) is not int or max_headers <= 0:
            raise ValueError("max_headers must be a positive int")
        self._max_head = max_head_size
        self._max_headers = max_headers
        #: deliver each frame of a data message as its own event (``fin`` marks the last)
        self.streaming = bool(streaming)
        #: None, or ``f(message)``: each whole message (``str`` or ``bytes``) is
        #: passed to it as soon as it is complete, during ``receive_data``,
        #: instead of becoming a Text/Binary event (other events are
        #: unchanged). It must not raise (an exception fails the connection
        #: with 1011); it may send. Ignored in ``streaming`` mode.
        self.message_callback: Any = None
        if compression is not None and not isinstance(compression, DeflateOptions):
            raise TypeError("compression must be a fastws.deflate.DeflateOptions or None")
        self._compression = compression
        self._deflate: PerMessageDeflate | None = None
        self._deflate_min = 0 if compression is None else compression.min_size

        self._build_frame = k.frames.build_frame
        self._parse_close = k.close.parse_close
        self._build_close = k.close.build_close
        self._is_valid_close_code = k.close.is_valid_close_code
        self._validator: Any = None  # a kernel Utf8Validator, made on first use

        self._state = _CONNECTING
        self._events: list[Event] = []
        self._out: list[bytes] = []
        self._parser: Any = None  # the kernel FrameParser while frames are read
        self._feed: Any = None  # its bound feed method (None: not reading frames)
        self._hs_buf = bytearray()

        # The data message being received: its opcode (0 = none), RSV1, size so
        # far, the fragments (whole-message mode) and an incomplete UTF-8
        # sequence carried to the next fragment (streaming mode).
        self._frag_op = 0
        self._frag_compressed = False
        self._frag_size = 0
        self._parts: list[bytes] = []
        self._text_tail = b""
        # Opcode of the fragmented message we are sending (0 = none), and
        # whether a whole message may take the fast path of send_text/
        # send_binary: True iff OPEN, no fragmented message, no compression.
        self._send_frag = 0
        self._send_fast = False
        self._mask_pool = b""
        self._mask_pos = _MASK_POOL

        #: (code, reason) of the close frame we sent / received, None before
        self.close_sent: tuple[int, str] | None = None
        self.close_received: tuple[int, str] | None = None
        #: the exception that failed the connection, None while all is well
        self.error: Exception | None = None
        #: the negotiated subprotocol (None: none)
        self.subprotocol: str | None = None
        #: the opening handshake request: server, the client's (set when it is
        #: reported as a Request event); client, ours (set at once)
        self.request: Request | None = None
        #: the 101 response (§4.2.2): client, the server's (also reported as a
        #: Response event); server, ours (set by accept()); None otherwise
        self.response: Response | None = None
        #: the request head, through its blank line, exactly as sent (client)
        #: or received (server); ``b""`` until then. When the peer's head is
        #: not valid HTTP (or the transport ended first), what it sent, for
        #: diagnostics (through the first blank line, at most max_head_size).
        self.raw_request = b""
        #: the response head, through its blank line, exactly as received
        #: (client: the 101 or a refusal; the body is not included) or sent
        #: (server: the 101 or a refusal); ``b""`` until then, and as
        #: ``raw_request`` when the peer's head is not valid HTTP.
        self.raw_response = b""

    # ------------------------------------------------------------------ state

    @property
    def state(self) -> State:
        """CONNECTING, OPEN, CLOSING or CLOSED (see the module docstring)."""
        return self._state

    @property
    def backend(self) -> str:
        """The kernels this connection runs on: ``"c"`` (``fastws_c``) or ``"python"``."""
        return self._k.name

    @property
    def is_client(self) -> bool:
        """True for a client connection (it masks what it sends, §5.3)."""
        return self._client

    @property
    def deflate(self) -> PerMessageDeflate | None:
        """The negotiated permessage-deflate codec (RFC 7692), or None."""
        return self._deflate

    def close_expected(self) -> bool:
        """True once our close frame is sent and the transport should end soon
        (state CLOSING): the I/O layer arms a timeout and, when it expires,
        closes the transport and calls :meth:`receive_eof` (§7.1.1)."""
        return self._state is _CLOSING

    # ----------------------------------------------------------------- output

    def events(self) -> list[Event]:
        """The events produced since the last call, in order (a new list each time)."""
        events = self._events
        self._events = []
        return events

    def data_to_send(self) -> bytes:
        """The bytes queued for the peer since the last call (``b""`` if none)."""
        out = self._out
        if not out:
            return b""
        self._out = []
        return out[0] if len(out) == 1 else b"".join(out)

    def data_to_send_list(self) -> list[bytes]:
        """The same bytes as :meth:`data_to_send`, as a list of buffers (``[]``
        if none): a large payload is its own item, not copied, so the I/O
        layer can pass the list to ``transport.writelines``. The list is the
        caller's."""
        out = self._out
        self._out = []
        return out

    # ---------------------------------------------------------------- sending

    def _send_frame(self, opcode: int, payload: BytesLike, fin: bool = True, rsv: int = 0) -> None:
        """Frame and queue; a client masks with a fresh random key (§5.3)."""
        if self._client:
            pos = self._mask_pos
            if pos >= _MASK_POOL:
                self._mask_pool = os.urandom(_MASK_POOL)
                pos = 0
            self._mask_pos = pos + 4
            mask = self._mask_pool[pos : pos + 4]
            self._out.append(self._build_frame(opcode, payload, fin, rsv, mask))
        else:
            self._out.append(self._build_frame(opcode, payload, fin, rsv))

    def _send_data(self, opcode: int, payload: BytesLike, fin: bool) -> None:
        """Every data frame but the fast path of send_text/send_binary."""
        if self._state is not _OPEN:
            raise InvalidState(f"cannot send a message in state {self._state.name}")
        frag = self._send_frag
        rsv = 0
        if frag:
            if frag != opcode:
                kind = "text" if frag == OP_TEXT else "binary"
                raise InvalidState(f"a fragmented {kind} message is being sent; finish it first")
            opcode = OP_CONT
        elif fin and self._deflate is not None and len(payload) >= self._deflate_min:
            # RFC 7692 §6: compress the whole message, RSV1 on its (only) frame.
            # Messages sent fragment by fragment go uncompressed (RSV1 clear),
            # which §6 allows per message.
            payload = self._deflate.compress(payload)
            rsv = RSV1
        if fin:
            self._send_frag = 0
            self._send_fast = self._deflate is None
        elif not frag:
            self._send_frag = opcode
            self._send_fast = False
        self._send_frame(opcode, payload, fin, rsv)

    def send_text(self, data: Union[str, BytesLike], fin: bool = True) -> None:
        """Send a text message (§5.6), or a fragment of one (§5.4).

        ``fin=False`` starts (or continues) a fragmented message: the next
        :meth:`send_text` calls add fragments until one with ``fin=True``.
        Control frames may be sent in between; other data messages may not.
        ``data`` is a ``str``, or bytes the caller guarantees are UTF-8 (not
        checked). :class:`InvalidState` unless the state is OPEN.
        """
        if type(data) is str:
            payload: BytesLike = data.encode()
        elif isinstance(data, (bytes, bytearray)):
            payload = data
        elif isinstance(data, str):
            payload = str(data).encode()
        else:
            payload = memoryview(data).cast("B")
        if fin and self._send_fast:
            # Fast path (OPEN, no fragmented message, no compression): one
            # frame; the same as _send_data + _send_frame.
            if self._client:
                pos = self._mask_pos
                if pos >= _MASK_POOL:
                    self._mask_pool = os.urandom(_MASK_POOL)
                    pos = 0
                self._mask_pos = pos + 4
                self._out.append(
                    self._build_frame(OP_TEXT, payload, True, 0, self._mask_pool[pos : pos + 4])
                )
            elif type(payload) is bytes and len(payload) >= _SPLIT_MIN:
                # Immutable and large: header and payload as two buffers (no copy).
                out = self._out
                out.append(_unmasked_header(OP_TEXT, len(payload)))
                out.append(payload)
            else:
                self._out.append(self._build_frame(OP_TEXT, payload))
            return
        self._send_data(OP_TEXT, payload, fin)

    def send_binary(self, data: BytesLike, fin: bool = True) -> None:
        """Send a binary message (§5.6) or a fragment of one (``fin`` as for
        :meth:`send_text`). ``data`` is any contiguous bytes-like object."""
        if type(data) is not bytes and not isinstance(data, (bytes, bytearray)):
            if isinstance(data, str):
                raise TypeError("send_binary needs bytes-like data, not str")
            data = memoryview(data).cast("B")
        if fin and self._send_fast:
            if self._client:  # the fast path of send_text
                pos = self._mask_pos
                if pos >= _MASK_POOL:
                    self._mask_pool = os.urandom(_MASK_POOL)
                    pos = 0
                self._mask_pos = pos + 4
                self._out.append(
                    self._build_frame(OP_BINARY, data, True, 0, self._mask_pool[pos : pos + 4])
                )
            elif type(data) is bytes and len(data) >= _SPLIT_MIN:
                out = self._out  # as in send_text: header and payload, no copy
                out.append(_unmasked_header(OP_BINARY, len(data)))
                out.append(data)
            else:
                self._out.append(self._build_frame(OP_BINARY, data))
            return
        self._send_data(OP_BINARY, data, fin)

    def _control_payload(self, data: Union[str, BytesLike]) -> bytes:
        if self._state is not _OPEN:
            raise InvalidState(f"cannot send a control frame in state {self._state.name}")
        payload = data.encode() if isinstance(data, str) else bytes(data)
        if len(payload) > 125:
            raise ValueError("control frame payload must be at most 125 bytes")
        return payload

    def send_ping(self, data: Union[str, BytesLike] = b"") -> None:
        """Send a ping (§5.5.2); payload at most 125 bytes (ValueError otherwise)."""
        self._send_frame(OP_PING, self._control_payload(data))

    def send_pong(self, data: Union[str, BytesLike] = b"") -> None:
        """Send an unsolicited pong (§5.5.3, a heartbeat); at most 125 bytes.
        Pings from the peer are answered automatically."""
        self._send_frame(OP_PONG, self._control_payload(data))

    def close(self, code: int | None = 1000, reason: str = "") -> None:
        """Start the closing handshake (§5.5.1, §7.1.2): send a close frame.

        ``code=None`` sends a close frame without a status code (the peer sees
        1005). ``ValueError`` for a code not allowed on the wire (§7.4) or a
        reason over 123 UTF-8 bytes. Does nothing in CLOSING or CLOSED (the
        close frame was already sent); :class:`InvalidState` in CONNECTING.
        """
        state = self._state
        if state is _CONNECTING:
            raise InvalidState("cannot close before the handshake completed")
        if state is not _OPEN:
            return
        self._queue_close(code, reason)
        self._state = _CLOSING
        self._send_fast = False

    def _queue_close(self, code: int | None, reason: str) -> None:
        payload = self._build_close(code, reason)
        self._send_frame(OP_CLOSE, payload)
        self.close_sent = (1005 if code is None else code, reason)

    # -------------------------------------------------------------- receiving

    def receive_data(self, data: BytesLike) -> None:
        """Feed bytes received from the peer, in chunks of any size.

        Never raises because of what the peer sent: violations fail the
        connection (see the module docstring). Data arriving after the
        connection stopped reading (close received, failure, CLOSED) is ignored.
        """
        feed = self._feed
        if feed is None:
            if self._state is _CONNECTING:
                self._receive_handshake(data)
            return
        try:
            frames = feed(data)
        except ProtocolError as exc:
            self._fail(exc)
            return
        events = self._events
        max_message = self._max_message
        deliver = None if self.streaming else self.message_callback
        # Without permessage-deflate the parser lets no RSV bit through, so
        # the fast path need not look at it.
        plain = self._deflate is None
        try:
            for frame in frames:
                op = frame.opcode
                # Fast path: a whole, uncompressed text or binary message.
                if (
                    (op == 1 or op == 2)
                    and frame.fin
                    and not self._frag_op
                    and (plain or not frame.rsv)
                ):
                    payload = frame.payload
                    if len(payload) > max_message:
                        self._fail_too_big()
                        break
                    if op == 1:
                        try:
                            text = payload.decode()
                        except UnicodeDecodeError:
                            self._fail(ProtocolError("invalid UTF-8 in text message", 1007))
                            break
                        if deliver is None:
                            events.append(Text(text, True))
                        else:
                            deliver(text)
                    elif deliver is None:
                        events.append(Binary(payload, True))
                    else:
                        deliver(payload)
                elif not self._on_frame(frame):
                    break
        except Exception as exc:  # a bug, not the peer: fail with 1011 (§7.4.1)
            # The details stay here (__cause__), not in the close frame.
            error = ProtocolError("internal error while processing a frame", 1011)
            error.__cause__ = exc
            self._fail(error)
            return
        if self._feed is feed and self._parser.error is not None:
            self._fail(self._parser.error)

    def receive_eof(self) -> None:
        """The peer closed the transport (or the I/O layer gave up waiting).

        Ends the connection: CLOSED, with a :class:`Closed` event whose code is
        1006 when no close frame was received (§7.1.5). Nothing is sent.
        """
        state = self._state
        if state is _CLOSED:
            return
        if state is _CONNECTING:
            self._handshake_eof()
            return
        self._finish()

    def _on_frame(self, frame: Any) -> bool:
        """Every frame but a whole uncompressed message; False: stop reading."""
        op = frame.opcode
        if op >= 8:
            return self._on_control(op, frame.payload, frame.rsv)
        first = op != OP_CONT
        if first:
            if self._frag_op:
                return self._fail(ProtocolError("new data frame inside a fragmented message", 1002))
            self._frag_op = op
            self._frag_compressed = bool(frame.rsv)  # only RSV1 can get here (RFC 7692 §6)
            self._frag_size = 0
        else:
            if not self._frag_op:
                return self._fail(
                    ProtocolError("continuation frame without a message to continue", 1002)
                )
            if frame.rsv:
                return self._fail(ProtocolError("RSV1 set on a continuation frame", 1002))
        return self._on_fragment(frame.payload, frame.fin, first)

    def _on_fragment(self, payload: bytes, fin: bool, first: bool) -> bool:
        """One frame of a data message (§5.4): decompress, limit, validate, deliver."""
        if self._frag_compressed:
            deflate = self._deflate
            assert deflate is not None
            try:
                payload = deflate.decompress(payload, fin, self._max_message)
            except ProtocolError as exc:
                return self._fail(exc)
        size = self._frag_size + len(payload)
        if size > self._max_message:
            return self._fail_too_big()
        self._frag_size = size
        text = self._frag_op == OP_TEXT
        if first and fin:
            # A whole message in one frame (compressed): one decode, no validator.
            self._frag_op = 0
            if text:
                try:
                    self._message(payload.decode(), True)
                except UnicodeDecodeError:
                    return self._fail(ProtocolError("invalid UTF-8 in text message", 1007))
            else:
                self._message(payload, False)
            return True
        if text:
            # §8.1 and §5.6: fail as soon as the bytes cannot be valid UTF-8.
            validator = self._validator
            if validator is None:
                validator = self._validator = self._k.utf8.Utf8Validator()
            if not validator.feed(payload) or (fin and not validator.finish()):
                return self._fail(ProtocolError("invalid UTF-8 in text message", 1007))
        if self.streaming:
            if text:
                data = self._text_tail + payload if self._text_tail else payload
                cut = 0 if fin else _incomplete_tail(data)
                if cut:
                    self._text_tail = data[-cut:]
                    data = data[:-cut]
                else:
                    self._text_tail = b""
                self._events.append(Text(data.decode(), fin))
            else:
                self._events.append(Binary(payload, fin))
        else:
            self._parts.append(payload)
            if fin:
                message = b"".join(self._parts)
                self._parts = []
                if text:
                    self._message(message.decode(), True)
                else:
                    self._message(message, False)
        if fin:
            self._frag_op = 0
        return True

    def _message(self, data: Union[str, bytes], text: bool) -> None:
        """A whole message: to ``message_callback``, or an event."""
        deliver = self.message_callback
        if deliver is not None:
            deliver(data)
        elif text:
            self._events.append(Text(data))  # type: ignore[arg-type]
        else:
            self._events.append(Binary(data))  # type: ignore[arg-type]

    def _on_control(self, op: int, payload: bytes, rsv: int) -> bool:
        """Ping, pong and close frames (§5.5); the parser checked FIN and length."""
        if rsv:
            return self._fail(ProtocolError("RSV1 set on a control frame", 1002))
        if op == OP_PING:
            self._events.append(Ping(payload))
            if self._state is _OPEN:  # §5.5.2: answer with the same payload
                self._send_frame(OP_PONG, payload)
            return True
        if op == OP_PONG:
            self._events.append(Pong(payload))  # §5.5.3: unsolicited pongs are fine
            return True
        try:
            code, reason = self._parse_close(payload)  # 1002 / 1007 (§5.5.1, §7.4)
        except ProtocolError as exc:
            return self._fail(exc)
        self.close_received = (code, reason)
        self._events.append(Close(code, reason))
        self._stop_reading()  # §5.5.1: nothing the peer sends after a close counts
        if self._state is _OPEN:
            # §5.5.1: echo the status code received (none if there was none).
            self._queue_close(None if code == 1005 else code, "")
            self._state = _CLOSING
            self._send_fast = False
        if not self._client:
            self._finish()  # §7.1.1: the server closes the TCP connection first
        return False

    # ---------------------------------------------------------------- failing

    def _stop_reading(self) -> None:
        self._parser = self._feed = None
        self._frag_op = 0
        self._parts = []
        self._text_tail = b""
        if self._validator is not None:
            self._validator.reset()

    def _fail_too_big(self) -> bool:
        limit = self._max_message
        return self._fail(ProtocolError(f"message exceeds {limit} bytes", 1009))

    def _fail(self, exc: ProtocolError) -> bool:
        """_Fail the WebSocket Connection_ (§7.1.7); returns False (stop reading)."""
        if self.error is None:
            self.error = exc
        self._stop_reading()
        if self._state is _OPEN:
            code = exc.code if self._is_valid_close_code(exc.code) else 1002
            self._queue_close(code, _truncate_reason(str(exc)))
            self._state = _CLOSING
            self._send_fast = False
        if not self._client:
            self._finish()
        return False

    def _finish(self) -> None:
        """Move to CLOSED and report :class:`Closed` (§7.1.4, §7.1.5)."""
        if self._state is _CLOSED:
            return
        self._state = _CLOSED
        self._send_fast = False
        self._stop_reading()
        error = self.error
        if isinstance(error, ProtocolError):
            code, reason = error.code, str(error)
        elif error is not None:
            code, reason = 1006, str(error)
        elif self.close_received is not None:
            code, reason = self.close_received
        else:
            code, reason = 1006, ""
        self._events.append(Closed(code, reason, error))

    # ------------------------------------------------------- opening handshake

    def _open(self, deflate: PerMessageDeflate | None) -> None:
        """The handshake succeeded: read frames from now on (§4.1, §4.2.2)."""
        self._deflate = deflate
        self._parser = self._k.frames.FrameParser(
            mask_expected=not self._client,
            max_frame_size=self._max_frame,
            allowed_rsv=RSV1 if deflate is not None else 0,
        )
        self._feed = self._parser.feed
        self._state = _OPEN
        self._send_fast = deflate is None and not self._send_frag

    def _handshake_failed(self, exc: Exception) -> None:
        """The opening handshake failed: CLOSED at once, nothing more is read."""
        if self.error is None:
            self.error = exc
        self._hs_buf = bytearray()
        self._finish()

    def _receive_handshake(self, data: BytesLike) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _handshake_eof(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError
