"""Differential fuzz target: ``dispatch`` -- the compiled read path of listener
connections (``fastws_c.dispatch.ListenerReader`` and its ``send_nowait``)
against the reference path (``Connection._received``, ``Connection.send_nowait``).

Not a kernel: there is no pure twin.  Each input is run through two OPEN
asyncio connections on the C kernels, one with the compiled reader
(``fastws.asyncio.connection.COMPILED_READER``) and one without, both with an
echoing ``Recorder`` listener (tests/test_asyncio_dispatch.py: its helpers
``open_connection``, ``feed`` and ``outcome`` are used as they are), on
in-memory transports.  Required: identical outcomes -- the messages the
listener got, the frames written (parsed: opcode, FIN, RSV, payload), how
the transport ended, state, ``close_sent``, ``close_received``,
``repr(error)`` -- and, on each side, that the data frames written are
exactly the messages the listener sent (the echoes, built in C by the
compiled ``send_nowait`` for small ``str``/``bytes``).  ``buffer_updated``
must never raise.

Coverage guidance comes from the pure code atheris instruments: the sans-IO
core (fastws.protocol, fastws.server, fastws.client) and the asyncio
connection, which the compiled reader hands everything but simple frames to.
What only the C reader decides (how many frames of a read it takes and why it
stops) is invisible to it, so hints (``_harness.make_hint``) report a Python
prediction of that per read: role, whether the reader can take the read at
all, the stop reason, the frames taken, their largest size class.

Input layout (see ``_harness.Reader``; missing bytes read as zero):

* byte 0 -- bit 0 role (0 server: the peer masks; 1 client); bit 1
  structured mode (below); bit 2 ``eof_received()`` after the reads; bit 3
  then ``connection_lost(None)``; bits 4-7 ``max_size`` (``max_message_size``
  of the connection): an index into ``MAX_SIZES`` (None, 0, 1, 2, 5, 6, ...).
* byte 1 -- bits 0-3 drop this many bytes from the end of the stream (a
  frame cut short); bits 4-7 unused.
* a count byte and that many u16 cut positions (``_harness.read_cuts``):
  where the stream is split into reads.
* a count byte (mod 9) and that many replies, 2 bytes each: byte A bits 0-3
  the index (from 0) of the message after which the listener sends it from
  ``on_message`` (15: after the reads, outside any dispatch), bits 4-7 the
  kind (``_reply``: str, non-ASCII str, bytes, bytearray, memoryview,
  str subclass, ``text=`` overrides, a non-byte memoryview, an int);
  byte B bits 0-3 the size (``REPLY_SIZES``: 0, 1, 125, 126, 127, 16383,
  16384, 16385, 65536, ...; UTF-8 bytes of a ``str``), bit 4 the size counts
  characters (non-ASCII str), bits 5-7 vary the content.
* the rest -- the byte stream (raw mode), or frame specs (structured mode),
  each:

  - a byte S: bits 0-2 payload kind (``_payload``: bytes tiled from a seed,
    ASCII text, non-ASCII UTF-8 text, UTF-8 cut short, UTF-8 with an invalid
    sequence, the listener's cues ``close!``/``raise!``, a close payload
    (code and reason), zeros); bit 3 masked the wrong way for the role;
    bits 4-5 length encoding (minimal, 16-bit, 64-bit, 64-bit with the
    most significant bit set); bit 6 no frame but raw bytes (a count byte
    and that many bytes, copied as they are); bit 7 a count byte follows,
    the frame is repeated ``1 + count % 64`` times.
  - a byte ``FIN<<7 | RSV<<4 | opcode``.
  - a byte len7: 0..125 the length; 126: a u16 length follows; 127: a
    byte follows, an index into ``BIG_LENGTHS`` (65535, 65536, 1 MiB, ...).
  - the payload kind's own bytes (a seed: count byte mod 32 and the bytes;
    or a parameter byte), then the 4-byte key when the frame is masked.

  The stream stops growing at 2 MiB.
"""

from __future__ import annotations

# imported before the instrumented block: atheris instruments every module
# first imported inside it, and coverage should come from fastws, not these
import asyncio  # noqa: I001
import atexit
import base64  # noqa: F401
import binascii  # noqa: F401
import collections  # noqa: F401
import email.utils  # noqa: F401
import hashlib  # noqa: F401
import http.cookiejar  # noqa: F401
import ipaddress  # noqa: F401
import logging
import os
import random  # noqa: F401
import secrets  # noqa: F401
import socket  # noqa: F401
import ssl  # noqa: F401
import struct  # noqa: F401
import sys
import threading  # noqa: F401
import urllib.parse  # noqa: F401
import urllib.request  # noqa: F401
import uuid  # noqa: F401
import zlib  # noqa: F401
from typing import Any

import _harness as h

h.setup_path()

with h.instrumented():
    import fastws.asyncio  # noqa: F401
    import fastws.asyncio.connection  # noqa: F401
    import fastws.client  # noqa: F401
    import fastws.protocol  # noqa: F401
    import fastws.server  # noqa: F401
    from fastws.exceptions import ConnectionClosed

# the helpers of tests/test_asyncio_dispatch.py (not instrumented: test code)
TESTS = os.path.join(h.ROOT, "tests")
if TESTS not in sys.path:
    sys.path.append(TESTS)

import test_asyncio_dispatch as t  # noqa: E402

import fastws_c.close as c_close  # noqa: E402
import fastws_c.dispatch as c_dispatch  # noqa: E402
import fastws_c.frames as c_frames  # noqa: E402
import fastws_c.mask as c_mask  # noqa: E402
import fastws_c.utf8 as c_utf8  # noqa: E402

h.check_compiled(c_dispatch, c_frames, c_mask, c_utf8, c_close)

# the connections' logs (a listener that raises logs its traceback): silenced
QUIET = logging.getLogger("fastws.fuzz-dispatch")
QUIET.setLevel(logging.CRITICAL + 1)
QUIET.propagate = False

MAX_SIZES = (None, 0, 1, 2, 5, 6, 10, 125, 126, 127, 4000, 16384, 65535, 65536, 1 << 20, 70000)
BIG_LENGTHS = (
    65535,
    65536,
    65537,
    16383,
    16384,
    16385,
    126,
    127,
    4000,
    70000,
    1 << 20,
    (1 << 20) + 1,
    125,
    0,
    1,
    131071,
)
REPLY_SIZES = (
    0, 1, 2, 125, 126, 127, 1000, 16383, 16384, 16385, 8191, 8192, 65535, 65536, 65537, 5
)
AFTER_READS = 15  # a reply "after message 15": sent after the reads, outside a dispatch
STREAM_MAX = 2 << 20
CLOSE_CODES = (1000, 1001, 1005, 1006, 1011, 3000, 4999, 999, 5000, 1015, 2999, 1002, 1007, 1009,
               1004, 4000)
BAD_UTF8 = (b"\x80", b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc3\x28",
            b"\xe2\x28\xa1", b"\xf8")


class _Str(str):
    """A str subclass: the compiled send_nowait leaves it to the reference one."""


# ---------------------------------------------------------------- payloads

_ASCII = b"abcdefghijklmnopqrstuvwxyz 0123456789 ABCDEFGHIJKLMNOPQRSTUVWXYZ."
_UNIT = "a\u00e9\u20ac\U0001d11e"  # 1 + 2 + 3 + 4 UTF-8 bytes


def _tile(seed: bytes, n: int) -> bytes:
    seed = seed or b"\x00"
    return (seed * (n // len(seed) + 1))[:n]


def _ascii(n: int, shift: int = 0) -> bytes:
    return _tile(_ASCII[shift % len(_ASCII) :] + _ASCII[: shift % len(_ASCII)], n)


def _text(n: int, shift: int = 0) -> str:
    """A non-ASCII str of exactly ``n`` UTF-8 bytes."""
    unit = _UNIT[shift % 4 :] + _UNIT[: shift % 4]
    return unit * (n // 10) + "z" * (n % 10)


def _chars(n: int, shift: int = 0) -> str:
    """A non-ASCII str of exactly ``n`` characters."""
    unit = _UNIT[shift % 4 :] + _UNIT[: shift % 4]
    return (unit * (n // 4 + 1))[:n]


def _utf8(n: int, shift: int = 0) -> bytes:
    return _text(n, shift).encode()


def _payload(reader: h.Reader, kind: int, length: int) -> bytes:
    """The payload of a structured frame (``kind``: bits 0-2 of its spec)."""
    if kind == 0:  # tiled from a seed
        return _tile(reader.take(reader.byte() % 32), length)
    if kind == 1:
        return _ascii(length, reader.byte())
    if kind == 2:
        return _utf8(length, reader.byte())
    if kind == 3:  # valid UTF-8, then a sequence cut short at the end
        cut = 1 + reader.byte() % 3
        tail = "\U0001d11e".encode()[:cut]
        return (_utf8(max(length - cut, 0)) + tail)[:length]
    if kind == 4:  # an invalid sequence somewhere
        param = reader.byte()
        bad = BAD_UTF8[param & 7]
        body = _utf8(length, param)
        at = (param >> 3) * length // 32
        return (body[:at] + bad + body[at + len(bad) :])[:length]
    if kind == 5:  # the listener's cues (the length is theirs)
        return b"raise!" if length & 1 else b"close!"
    if kind == 6:  # a close payload: code, then a reason of the rest of the length
        param = reader.byte()
        code = CLOSE_CODES[param & 15].to_bytes(2, "big")
        reasons = (_ascii, _utf8, lambda n, s: _utf8(n, s)[:-1] + b"\xff" if n else b"",
                   lambda n, s: _utf8(n + 1, s)[:n])
        return (code + reasons[(param >> 4) & 3](max(length - 2, 0), param))[:length]
    return bytes(length)


def _header(first: int, masked: bool, length: int, encoding: int) -> bytes:
    mask_bit = 0x80 if masked else 0
    if encoding == 3:  # 64-bit length with its most significant bit set
        return bytes([first, mask_bit | 127]) + (length | 1 << 63).to_bytes(8, "big")
    if encoding == 2 or length >= 65536:
        return bytes([first, mask_bit | 127]) + length.to_bytes(8, "big")
    if encoding == 1 or length >= 126:
        return bytes([first, mask_bit | 126]) + length.to_bytes(2, "big")
    return bytes([first, mask_bit | length])


def _structured(reader: h.Reader, server: bool) -> bytes:
    stream = bytearray()
    while reader.pos < len(reader.data) and len(stream) < STREAM_MAX:
        spec = reader.byte()
        if spec & 0x40:  # raw bytes between frames
            stream += reader.take(reader.byte())
            continue
        repeat = 1 + reader.byte() % 64 if spec & 0x80 else 1
        first = reader.byte()
        length = reader.byte() & 0x7F
        if length == 126:
            length = reader.u16()
        elif length == 127:
            length = BIG_LENGTHS[reader.byte() % len(BIG_LENGTHS)]
        payload = _payload(reader, spec & 7, length)
        masked = server != bool(spec & 8)
        if masked:
            key = reader.take(4).ljust(4, b"\x00")
            body = c_mask.apply_mask(payload, key)
            frame = _header(first, True, len(payload), (spec >> 4) & 3) + key + body
        else:
            frame = _header(first, False, len(payload), (spec >> 4) & 3) + payload
        for _ in range(repeat):
            stream += frame
            if len(stream) >= STREAM_MAX:
                break
    return bytes(stream)


# ---------------------------------------------------------------- replies


def _reply(kind: int, size_byte: int) -> tuple[Any, bool | None]:
    """A message the listener sends, and the ``text=`` it sends it with."""
    size = REPLY_SIZES[size_byte & 15]
    chars = bool(size_byte & 16)
    shift = size_byte >> 5
    text_str = _chars(size, shift) if chars else _text(size, shift)
    ascii_str = _ascii(size, shift).decode()
    raw = _utf8(size, shift)
    kinds: tuple[tuple[Any, bool | None], ...] = (
        (ascii_str, None),
        (text_str, None),
        (raw, None),
        (bytearray(raw), None),
        (memoryview(raw), None),
        (_Str(text_str), None),
        (raw, True),  # bytes as text
        (text_str, False),  # str as binary
        (raw, False),
        (text_str, True),
        (memoryview(raw).cast("H") if size % 2 == 0 else bytearray(raw), None),
        (size, None),  # not a message: TypeError
        (ascii_str, None),
        (text_str, None),
        (raw, None),
        (_Str(ascii_str), True),
    )
    return kinds[kind % len(kinds)]


def _expected(message: Any, text: bool | None) -> tuple[int, bytes]:
    """The (opcode, payload) of the data frame ``send_nowait(message, text=text)`` sends."""
    if isinstance(message, str):
        return (2 if text is False else 1, str(message).encode())
    return (1 if text else 2, bytes(memoryview(message).cast("B")))


class _Sending:
    """What the listener calls ``ws``: the connection, recording what is sent."""

    def __init__(self, ws: Any, sent: list[Any]) -> None:
        self._ws = ws
        self._sent = sent

    def send_nowait(self, message: Any, *, text: bool | None = None) -> None:
        self._ws.send_nowait(message, text=text)  # the compiled one, if installed
        self._sent.append(_expected(message, text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ws, name)


class FuzzRecorder(t.Recorder):
    """The tests' Recorder (echo, cues), recording the frames it sends, and
    sending the input's replies after the messages they are attached to."""

    def __init__(self, replies: dict[int, list[tuple[Any, bool | None]]]) -> None:
        super().__init__()
        self.replies = replies
        self.sent: list[tuple[int, bytes]] = []
        self.count = 0

    def on_message(self, ws: Any, message: Any) -> None:
        index = self.count
        self.count += 1
        ws = _Sending(ws, self.sent)
        super().on_message(ws, message)
        for reply, text in self.replies.get(index, ()):
            try:
                ws.send_nowait(reply, text=text)
            except ConnectionClosed:
                self.got.append(("<refused reply>", index))


# ---------------------------------------------------------------- hints

# stop reasons of the compiled reader's loop, as predicted by _predict
_END, _SHORT, _CONTROL, _FRAGMENT, _RESERVED, _MASK, _LIMIT, _PARTIAL, _BAD_UTF8 = range(9)

# two hints, not one of all five digits: atheris takes time superlinear in a
# function's size to instrument it (2*2*9*4*14 leaves: 16 s, 80 s under ASan)
hint_stop = h.make_hint(2, 2, 9, 4)  # role, reader applies, stop reason, frames taken
hint_size = h.make_hint(2, 9, h.SIZE_CLASSES)  # role, stop reason, largest frame taken


def _predict(chunk: bytes, server: bool, limit: int) -> tuple[int, int, int]:
    """Where ListenerReader would stop in ``chunk``: (reason, frames taken,
    largest size class taken) -- a guess for the hint only (it does not know
    what the listener does)."""
    pos = taken = largest = 0
    while True:
        avail = len(chunk) - pos
        if avail == 0:
            return _END, taken, largest
        if avail < 2:
            return _SHORT, taken, largest
        b0, b1 = chunk[pos], chunk[pos + 1]
        op = b0 & 0x0F
        if b0 & 0x70 or op not in (0, 1, 2, 8, 9, 10):
            return _RESERVED, taken, largest
        if op >= 8:
            return _CONTROL, taken, largest
        if not b0 & 0x80 or op == 0:
            return _FRAGMENT, taken, largest
        if bool(b1 & 0x80) != server:
            return _MASK, taken, largest
        length = b1 & 0x7F
        hlen = 2
        if length == 126:
            if avail < 4:
                return _SHORT, taken, largest
            length, hlen = int.from_bytes(chunk[pos + 2 : pos + 4], "big"), 4
        elif length == 127:
            if avail < 10:
                return _SHORT, taken, largest
            length, hlen = int.from_bytes(chunk[pos + 2 : pos + 10], "big"), 10
        if server:
            hlen += 4
        if avail < hlen:
            return _SHORT, taken, largest
        if length > limit:
            return _LIMIT, taken, largest
        if length > avail - hlen:
            return _PARTIAL, taken, largest
        if op == 1:
            payload = chunk[pos + hlen : pos + hlen + length]
            if server:
                payload = c_mask.apply_mask(payload, chunk[pos + hlen - 4 : pos + hlen])
            if not c_utf8.validate(payload):
                return _BAD_UTF8, taken, largest
        pos += hlen + length
        taken += 1
        largest = max(largest, h.size_class(length))


def _hint(ws: Any, chunk: bytes) -> None:
    core = ws.protocol
    server = not core.is_client
    ready = (
        ws._reader is not None
        and core._state is fastws.protocol.State.OPEN
        and not core._frag_op
        and core._parser is not None
        and core._parser.idle
    )
    reason = taken = largest = 0
    if ready:
        window = chunk[: len(ws._view)]  # feed() cuts a longer read
        reason, taken, largest = _predict(window, server, min(core._max_frame, core._max_message))
    hint_stop(int(server), int(ready), reason, min(taken, 3))
    hint_size(int(server), reason, largest)


# ---------------------------------------------------------------- the run

_loop: asyncio.AbstractEventLoop | None = None


def _run(coro: Any) -> Any:
    """One event loop for the process (closed at exit), reused by every input."""
    global _loop
    if _loop is None:
        _loop = asyncio.new_event_loop()
        atexit.register(_loop.close)
    return _loop.run_until_complete(coro)


def _one(role: str, compiled: bool, max_size: int | None, reads: list[bytes],
         replies: dict[int, list[tuple[Any, bool | None]]], flags: int) -> tuple[Any, ...]:
    """Everything observable of one connection fed ``reads``, or how it raised."""

    async def main() -> tuple[Any, ...]:
        listener = FuzzRecorder(replies)
        ws, _ = t.open_connection(role, compiled, max_size, listener)
        ws.logger = QUIET
        for chunk in reads:
            if compiled:
                _hint(ws, chunk)
            t.feed(ws, [chunk])
        after = []
        for message, text in replies.get(AFTER_READS, ()):
            try:
                _Sending(ws, listener.sent).send_nowait(message, text=text)
                after.append("sent")
            except (ConnectionClosed, TypeError) as exc:
                after.append(repr(exc))
        if flags & 4:
            ws.eof_received()
            if flags & 8:
                ws.connection_lost(None)
        result = t.outcome(ws, listener)
        # the echo check: the data frames written are what the listener sent
        written = [(op, payload) for op, fin, rsv, payload in result[1] if op < 8]
        if written != listener.sent or any(
            not fin or rsv for op, fin, rsv, _ in result[1] if op < 8
        ):
            raise AssertionError(
                f"{'compiled' if compiled else 'reference'} path: the data frames written "
                f"are not the messages sent\n  written: {_short(result[1])}\n"
                f"  sent:    {_short(listener.sent)}"
            )
        return ("ok", *result, tuple(after))

    try:
        return _run(main())  # type: ignore[no-any-return]
    except AssertionError:
        raise
    except Exception as exc:  # noqa: BLE001 - buffer_updated must not raise: compared, then failed
        return ("raise", type(exc), str(exc))
    finally:
        t.connection_module.COMPILED_READER = True


def _short(value: Any, limit: int = 2000) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


FIELDS = ("status", "got", "written", "ended", "state", "close_sent", "close_received",
          "error", "sent after the reads")


def _diff(compiled: tuple[Any, ...], reference: tuple[Any, ...]) -> str:
    """The fields that differ; for lists, from the first item that does."""
    if compiled[0] != reference[0]:
        return f"  compiled:  {_short(compiled)}\n  reference: {_short(reference)}"
    lines = []
    for name, a, b in zip(FIELDS, compiled, reference):
        if a == b:
            continue
        if isinstance(a, list) and isinstance(b, list):
            first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
            lines.append(f"  {name}: {len(a)} vs {len(b)} items, first difference at {first}")
            a, b = a[first : first + 3], b[first : first + 3]
        lines.append(f"  {name}:\n    compiled:  {_short(a)}\n    reference: {_short(b)}")
    return "\n".join(lines)


def test_one_input(data: bytes) -> None:
    reader = h.Reader(data)
    flags = reader.byte()
    role = "client" if flags & 1 else "server"
    max_size = MAX_SIZES[flags >> 4]
    drop = reader.byte() & 15
    raw_cuts = h.read_cuts(reader)
    replies: dict[int, list[tuple[Any, bool | None]]] = {}
    for _ in range(reader.byte() % 9):
        a, b = reader.byte(), reader.byte()
        replies.setdefault(a & 15, []).append(_reply(a >> 4, b))
    stream = _structured(reader, role == "server") if flags & 2 else reader.rest()
    if drop:
        stream = stream[:-drop]
    reads = h.chunks(stream, h.cut_points(raw_cuts, len(stream)))

    compiled = _one(role, True, max_size, reads, replies, flags)
    reference = _one(role, False, max_size, reads, replies, flags)
    if compiled != reference:
        raise AssertionError(
            f"outcomes differ ({role}, max_size={max_size}, {len(reads)} reads)\n"
            + _diff(compiled, reference)
        )
    if compiled[0] != "ok":
        raise AssertionError(f"both paths raised: {compiled[1].__name__}: {compiled[2]}")


if __name__ == "__main__":
    h.run(test_one_input)
