"""In-process echo: what one message costs a server's WebSocket layer, without a socket.

Each round copies one masked client frame into the protocol's receive buffer
(``get_buffer`` / ``buffer_updated``, as asyncio and uvloop do after a
``recv``), the server echoes the message, and its frame is handed to the
transport's ``write`` (a list append). The kernel's share of a real round
trip (``recv``, ``send``, ``epoll_wait``: 20-30 µs on our VM, see
``bench/e2e``) is left out, so this table shows exactly the part a library
controls.

Cases (``kernel="echo"``): a 32-byte binary message, a 1 KiB text message.

Rows:

* ``fastws[c]`` -- a ``fastws.asyncio.Listener`` echoing with
  ``ws.send_nowait``, C backend: the compiled read path
  (``fastws_c.dispatch``) and compiled ``send_nowait``.
* ``fastws[c] reference path`` -- the same connection with the compiled
  path switched off: sans-IO core (``receive_data`` with
  ``message_callback``), Python ``send_nowait``, C kernels.
* ``fastws[python]`` -- the pure backend.
* ``picows`` -- its ``WSProtocol`` with a ``WSListener`` whose
  ``on_ws_frame`` echoes with ``transport.send`` (picows' callback API,
  payload as a zero-copy view; it does not check that text is UTF-8 nor
  make a ``str`` of it, which fastws does: RFC 6455 §8.1).
* ``websockets`` -- its sans-I/O ``ServerProtocol``: ``receive_data``,
  ``events_received``, ``send_binary``/``send_text``, ``data_to_send``.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any, Callable

import pytest
from bench_frames import _FakeTransport, _picows_feed
from conftest import peer

KEY = b"\x37\xfa\x21\x3d"
# 1 KiB of text with two-byte characters (what a decoder and validator feel)
TEXT_1K = ("\u00e9t\u00e9 " * 170 + "abcd").encode()
assert len(TEXT_1K) == 1024
CASES = {"32 B binary": (2, os.urandom(32)), "1 KiB text": (1, TEXT_1K)}
IMPLS = ["fastws[c]", "fastws[c] reference path", "fastws[python]", "picows", "websockets"]


def client_frame(opcode: int, payload: bytes) -> bytes:
    from fastws.frames import build_frame

    return bytes(build_frame(opcode, payload, True, 0, KEY))


class _Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written: list[Any] = []
        self.write = self.written.append  # type: ignore[method-assign]

    def writelines(self, items: Any) -> None:
        self.written.extend(items)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default

    def set_write_buffer_limits(self, high: Any = None, low: Any = None) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0

    def is_closing(self) -> bool:
        return False


def fastws_echo(backend: str, compiled: bool, wire: bytes, loop: asyncio.AbstractEventLoop
                ) -> Callable[[], None]:
    """A listener server connection, OPEN, fed ``wire`` once per call."""
    import fastws.asyncio.connection as connection
    from fastws import _backend
    from fastws.asyncio import Listener
    from fastws.client import ClientConnection
    from fastws.server import ServerConnection

    kernels = _backend.load(backend)

    class Echo(Listener):
        def on_message(self, ws: Any, message: Any) -> None:
            ws.send_nowait(message)

    async def make() -> Any:
        connection.COMPILED_READER = compiled
        try:
            core = ServerConnection(compression=None, _kernels=kernels)
            ws = connection.Connection(core, ping_interval=None)
            ws._on_handshake = lambda event: ws._handshake_done()  # type: ignore[method-assign]
            ws._listener = Echo()
            ws.connection_made(_Transport())
            ws._received(ClientConnection("ws://x/", compression=None).data_to_send())
        finally:
            connection.COMPILED_READER = True
        assert ws.state.name == "OPEN" and (ws._reader is not None) == compiled
        return ws

    ws = loop.run_until_complete(make())
    written = ws.transport.written
    n = len(wire)

    def once() -> None:
        ws.get_buffer(-1)[:n] = wire
        ws.buffer_updated(n)
        if len(written) > 1000:
            written.clear()

    once()
    assert written, "no echo"
    return once


def picows_echo(wire: bytes, loop: asyncio.AbstractEventLoop) -> Callable[[], None]:
    picows = peer("picows")
    impl = peer("picows.picows")
    logger = logging.getLogger("bench.picows")
    logger.setLevel(logging.WARNING)

    class Echo(picows.WSListener):  # type: ignore[misc]
        def on_ws_frame(self, transport: Any, frame: Any) -> None:
            transport.send(frame.msg_type, frame.get_payload_as_memoryview(), frame.fin)

    async def make() -> Any:
        return impl.WSProtocol(
            "127.0.0.1:1", "/", False, lambda request: Echo(), logger, True, None,
            False, 10.0, 10.0, picows.WSAutoPingStrategy.PING_WHEN_IDLE, False,
            1 << 20, None, 4 << 20,
        )  # fmt: skip

    proto = loop.run_until_complete(make())
    transport = _FakeTransport()
    proto.connection_made(transport)
    _picows_feed(
        proto,
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    if proto.listener is None:
        pytest.skip("picows handshake over the fake transport failed")
    written = transport.written
    n = len(wire)

    def once() -> None:
        proto.get_buffer(-1)[:n] = wire
        proto.buffer_updated(n)
        if len(written) > 1000:
            written.clear()

    before = len(written)
    once()
    if len(written) <= before:
        pytest.skip("picows did not echo over the fake transport")
    return once


def websockets_echo(wire: bytes) -> Callable[[], None]:
    peer("websockets")
    from websockets.frames import Opcode
    from websockets.protocol import OPEN
    from websockets.server import ServerProtocol

    from fastws.client import ClientConnection

    protocol = ServerProtocol(max_size=None)
    protocol.receive_data(ClientConnection("ws://x/", compression=None).data_to_send())
    request = protocol.events_received()[0]
    protocol.send_response(protocol.accept(request))
    protocol.data_to_send()
    assert protocol.state is OPEN
    sent: list[bytes] = []

    def once() -> None:
        protocol.receive_data(wire)
        for frame in protocol.events_received():
            if frame.opcode is Opcode.BINARY:
                protocol.send_binary(frame.data)
            elif frame.opcode is Opcode.TEXT:
                protocol.send_text(frame.data)
        sent.extend(protocol.data_to_send())
        if len(sent) > 1000:
            sent.clear()

    once()
    assert sent, "no echo"
    return once


@pytest.fixture(scope="module")
def loop() -> Any:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("impl", IMPLS)
def test_echo(measure: Any, loop: Any, impl: str, case: str) -> None:
    opcode, payload = CASES[case]
    wire = client_frame(opcode, payload)
    if impl == "fastws[c]":
        func = fastws_echo("c", True, wire, loop)
    elif impl == "fastws[c] reference path":
        func = fastws_echo("c", False, wire, loop)
    elif impl == "fastws[python]":
        func = fastws_echo("python", False, wire, loop)
    elif impl == "picows":
        func = picows_echo(wire, loop)
    else:
        func = websockets_echo(wire)
    measure("echo", case, impl, func)
