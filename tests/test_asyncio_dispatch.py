"""The compiled read path of listener connections (``fastws_c.dispatch``)
against the reference path (``Connection._received``), on the same bytes.

A listener connection on the C backend reads whole, simple frames in C and
hands everything else to the sans-IO core (see fastws_c/dispatch.pyx). These
tests feed identical byte streams -- valid and invalid frames of every kind,
split into reads at random points -- to two connections, one with the
compiled reader and one without, and require the same messages delivered to
the listener in the same order, the same bytes written, the same close
handshake and the same error. In-memory transports: no network.

The helpers (``Transport``, ``Recorder``, ``open_connection``, ``feed``,
``outcome``) are also what the fuzz target tests/fuzz/fuzz_dispatch.py runs.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest
from conftest import BACKEND_IDS  # noqa: E402
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

if "c" not in BACKEND_IDS:  # in every other run a missing fastws_c.dispatch is an error
    pytest.skip("pure-only run (FASTWS_NO_EXTENSIONS=1): no compiled read path by design",
                allow_module_level=True)

import fastws.asyncio.connection as connection_module  # noqa: E402
from fastws import _backend  # noqa: E402
from fastws.asyncio import Listener  # noqa: E402
from fastws.asyncio.connection import Connection  # noqa: E402
from fastws.client import ClientConnection as SansIOClient  # noqa: E402
from fastws.exceptions import ConnectionClosed  # noqa: E402
from fastws.server import ServerConnection as SansIOServer  # noqa: E402

C = _backend.load("c")


class Transport(asyncio.Transport):
    """Records what is written and whether the connection was ended."""

    def __init__(self) -> None:
        super().__init__()
        self.data = bytearray()
        self.ended: str | None = None

    def write(self, data: Any) -> None:
        self.data += data

    def writelines(self, items: Any) -> None:
        for item in items:
            self.data += item

    def close(self) -> None:
        self.ended = self.ended or "close"

    def abort(self) -> None:
        self.ended = self.ended or "abort"

    def is_closing(self) -> bool:
        return self.ended is not None

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default

    def set_write_buffer_limits(self, high: Any = None, low: Any = None) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


class Recorder(Listener):
    """Echoes, and on cue closes or raises, recording every message."""

    def __init__(self) -> None:
        self.got: list[Any] = []

    def on_message(self, ws: Any, message: Any) -> None:
        self.got.append(message)
        if message in ("close!", b"close!"):
            ws.close_nowait(4000, "asked")
        elif message in ("raise!", b"raise!"):
            raise RuntimeError("listener bug")
        else:
            try:
                ws.send_nowait(message)
                # what the compiled send_nowait leaves to the reference one
                if message == b"\x00\x01\xff":
                    ws.send_nowait(bytearray(message))
                    ws.send_nowait(memoryview(message))
                    ws.send_nowait(message, text=False)
                elif message == "h\u00e9llo":
                    ws.send_nowait(message.encode(), text=True)
                    ws.send_nowait(message, text=False)
            except ConnectionClosed:
                self.got.append("<refused>")


def open_connection(role: str, compiled: bool, max_size: int | None,
                    listener: Recorder | None = None) -> tuple[Connection, Recorder]:
    """An OPEN asyncio connection of ``role`` with a Recorder listener (a new
    one unless ``listener`` is given: a subclass, say)."""
    connection_module.COMPILED_READER = compiled
    listener = Recorder() if listener is None else listener
    if role == "server":
        core: Any = SansIOServer(compression=None, max_message_size=max_size, _kernels=C)
        peer: Any = SansIOClient("ws://x/", compression=None, _kernels=C)
    else:
        core = SansIOClient("ws://x/", compression=None, max_message_size=max_size, _kernels=C)
        peer = SansIOServer(compression=None, _kernels=C)
    ws = Connection(core, ping_interval=None, close_timeout=None)
    ws._on_handshake = lambda event: ws._handshake_done()  # type: ignore[method-assign]
    ws._listener = listener
    ws.connection_made(Transport())
    if role == "server":
        feed(ws, [peer.data_to_send()])
    else:
        peer.receive_data(ws.transport.data)  # type: ignore[attr-defined]
        feed(ws, [peer.data_to_send()])
    assert ws.state.name == "OPEN"
    assert (ws._reader is not None) is compiled
    ws.transport.data.clear()  # type: ignore[attr-defined]
    return ws, listener


def feed(ws: Connection, reads: list[bytes]) -> None:
    """Each item is one read: copied into the receive buffer, then buffer_updated."""
    for chunk in reads:
        pos = 0
        while True:  # a read never exceeds the buffer
            piece = chunk[pos : pos + len(ws._view)]
            view = ws.get_buffer(-1)
            view[: len(piece)] = piece
            ws.buffer_updated(len(piece))
            pos += len(piece)
            if pos >= len(chunk):
                break


def outcome(ws: Connection, listener: Recorder) -> tuple[Any, ...]:
    """Everything observable. What was written is compared frame by frame:
    a client masks with random keys, so its bytes differ run to run."""
    core = ws.protocol
    parser = C.frames.FrameParser(mask_expected=core.is_client, max_frame_size=1 << 40)
    written = [(f.opcode, f.fin, f.rsv, f.payload)
               for f in parser.feed(bytes(ws.transport.data))]  # type: ignore[attr-defined]
    assert parser.idle  # whole frames only
    return (
        listener.got,
        written,
        ws.transport.ended,  # type: ignore[attr-defined]
        core.state,
        core.close_sent,
        core.close_received,
        repr(core.error),
    )


def frame(role: str, opcode: int, payload: bytes, fin: bool = True, rsv: int = 0,
          wrong_mask: bool = False) -> bytes:
    """A frame as the peer of ``role`` sends it (a client's peer does not mask)."""
    masked = (role == "server") != wrong_mask
    return bytes(C.frames.build_frame(opcode, payload, fin, rsv, os.urandom(4) if masked else None))


def raw(role: str, first: int, payload: bytes) -> bytes:
    """A frame with an arbitrary first byte (reserved opcodes, RSV bits)."""
    if role == "server":
        key = os.urandom(4)
        body = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        return bytes([first, 0x80 | len(payload)]) + key + body
    return bytes([first, len(payload)]) + payload


# a menu of frames; each returns the bytes for a role
MENU = {
    "text": lambda r: frame(r, 1, "h\u00e9llo".encode()),
    "text-empty": lambda r: frame(r, 1, b""),
    "binary": lambda r: frame(r, 2, b"\x00\x01\xff"),
    "binary-125": lambda r: frame(r, 2, bytes(range(125))),
    "binary-126": lambda r: frame(r, 2, bytes(126)),
    "binary-70000": lambda r: frame(r, 2, os.urandom(70000)),
    "text-3000": lambda r: frame(r, 1, ("\u20ac" * 1000).encode()),
    "bad-utf8": lambda r: frame(r, 1, b"ok\xc3\x28"),
    "truncated-utf8": lambda r: frame(r, 1, b"\xe2\x82"),
    # invalid UTF-8 whose masked form is valid ASCII: a reader that unmasked it
    # in place and did not restore it would hand the core valid text
    "bad-utf8-ascii-on-wire": lambda r: (
        bytes(C.frames.build_frame(1, b"\xc3\x28\xc3\x28", True, 0, b"\xc0\x00\xc0\x00"))
        if r == "server" else frame(r, 1, b"\xc3\x28\xc3\x28")
    ),
    "frag-text": lambda r: frame(r, 1, b"fr", fin=False) + frame(r, 0, b"ag", fin=True),
    "frag-open": lambda r: frame(r, 2, b"never finished", fin=False),
    "continuation": lambda r: frame(r, 0, b"orphan"),
    "ping": lambda r: frame(r, 9, b"ping"),
    "pong": lambda r: frame(r, 10, b"pong"),
    "close": lambda r: frame(r, 8, C.close.build_close(1000, "bye")),
    "close-bad": lambda r: frame(r, 8, b"\x03\xe8\xff"),
    "rsv1": lambda r: frame(r, 2, b"x", rsv=4),
    "opcode-3": lambda r: raw(r, 0x83, b"x"),
    "wrong-mask": lambda r: frame(r, 2, b"x", wrong_mask=True),
    "too-big": lambda r: frame(r, 2, bytes(5000)),  # over max_size 4000 (and 10)
    "ask-close": lambda r: frame(r, 1, b"close!"),
    "ask-raise": lambda r: frame(r, 2, b"raise!"),
}


def both(role: str, reads: list[bytes], max_size: int) -> tuple[Any, Any]:
    async def main() -> tuple[Any, Any]:
        results = []
        for compiled in (True, False):
            ws, listener = open_connection(role, compiled, max_size)
            feed(ws, reads)
            results.append(outcome(ws, listener))
        return results[0], results[1]

    try:
        return asyncio.run(main())
    finally:
        connection_module.COMPILED_READER = True


@pytest.fixture(autouse=True)
def _restore_switch() -> Any:
    yield
    connection_module.COMPILED_READER = True


@pytest.mark.parametrize("role", ["server", "client"])
@pytest.mark.parametrize("name", sorted(MENU))
def test_each_frame_kind_after_messages(role: str, name: str) -> None:
    """Two messages, then the frame under test, then one more message: in one read."""
    stream = MENU["text"](role) + MENU["binary"](role) + MENU[name](role) + MENU["text"](role)
    compiled, reference = both(role, [stream], 4000)
    assert compiled == reference


@pytest.mark.parametrize("role", ["server", "client"])
def test_many_messages_in_one_read_are_delivered_in_order(role: str) -> None:
    stream = b"".join(frame(role, 1 + i % 2, str(i).encode()) for i in range(500))
    compiled, reference = both(role, [stream], 1 << 20)
    assert compiled == reference
    got = compiled[0]
    assert got == [str(i) if i % 2 == 0 else str(i).encode() for i in range(500)]


@pytest.mark.parametrize("role", ["server", "client"])
def test_every_split_of_a_stream(role: str) -> None:
    """Frames cut at every byte boundary: partial headers and payloads."""
    stream = (MENU["text"](role) + MENU["binary-126"](role) + MENU["ping"](role)
              + MENU["text-3000"](role))
    expected = None
    for cut in range(1, len(stream)):
        compiled, reference = both(role, [stream[:cut], stream[cut:]], 1 << 20)
        assert compiled == reference, cut
        expected = expected or compiled[0]
        assert compiled[0] == expected


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    role=st.sampled_from(["server", "client"]),
    names=st.lists(st.sampled_from(sorted(MENU)), min_size=1, max_size=12),
    cuts=st.lists(st.integers(min_value=0, max_value=200_000), max_size=6),
    max_size=st.sampled_from([10, 4000, 1 << 20]),
)
def test_random_streams_same_outcome(role: str, names: list[str], cuts: list[int],
                                     max_size: int) -> None:
    stream = b"".join(MENU[name](role) for name in names)
    points = sorted({c % (len(stream) + 1) for c in cuts})
    reads = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)]) if b > a]
    compiled, reference = both(role, reads, max_size)
    assert compiled == reference


def test_reader_applies_only_where_it_should() -> None:
    """Compression, the pure backend and streaming keep the reference path."""
    from fastws.deflate import DeflateOptions

    async def main() -> None:
        ws, _ = open_connection("server", True, 1 << 20)
        assert ws._reader is not None
        # compression negotiated: no compiled reader
        core = SansIOServer(compression=DeflateOptions(), _kernels=C)
        peer = SansIOClient("ws://x/", compression=DeflateOptions(), _kernels=C)
        ws2 = Connection(core, ping_interval=None)
        ws2._on_handshake = lambda event: ws2._handshake_done()  # type: ignore[method-assign]
        ws2._listener = Recorder()
        ws2.connection_made(Transport())
        feed(ws2, [peer.data_to_send()])
        assert ws2.state.name == "OPEN" and ws2._reader is None
        # the pure kernels: no compiled reader
        core3 = SansIOServer(compression=None, _kernels=_backend.load("python"))
        ws3 = Connection(core3, ping_interval=None)
        ws3._on_handshake = lambda event: ws3._handshake_done()  # type: ignore[method-assign]
        ws3._listener = Recorder()
        ws3.connection_made(Transport())
        feed(ws3, [SansIOClient("ws://x/", compression=None).data_to_send()])
        assert ws3.state.name == "OPEN" and ws3._reader is None

    asyncio.run(main())


def test_reader_checks_its_arguments() -> None:
    from fastws_c.dispatch import ListenerReader

    async def main() -> None:
        ws, listener = open_connection("server", True, 1 << 20)
        reader = ListenerReader(ws, listener, ws._view)
        with pytest.raises(ValueError):
            reader(len(ws._view) + 1)
        with pytest.raises(ValueError):
            reader(-1)
        with pytest.raises(BufferError):  # it unmasks in place: writable buffers only
            ListenerReader(ws, listener, b"read-only buffer")

    asyncio.run(main())


def test_buffer_updated_is_the_compiled_one_on_the_c_backend() -> None:
    """Every read goes through it: the C backend installs the compiled twin of
    ``Connection.buffer_updated`` (same three lines, no interpreter frame)."""
    import fastws_c.dispatch

    if _backend.backend == "c":
        assert Connection.buffer_updated is fastws_c.dispatch.buffer_updated
