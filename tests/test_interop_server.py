"""Interop: clients of websockets, aiohttp, websocket-client and picows against
the fastws server.

The fastws server (127.0.0.1, TCP or TLS with a trustme certificate,
compression on or off) echoes and obeys ``serverping`` (ping the client,
answer ``pong-ok`` once the pong came) and ``close:CODE:REASON``. Each
client exchanges text, binary, a fragmented message (not aiohttp: its client
cannot send fragments), a 16 MiB message, a ping of its own and the
server's, negotiates a subprotocol, then closes with a code; a second
connection is closed by the server with a code. Every case runs on both
backends. websocket-client and picows have no compression: off only.
"""

from __future__ import annotations

import asyncio
import os
import struct
from typing import Any

import pytest
from asyncio_helpers import TLS, _no_proxy_environment, port_of, run, tls_fixture  # noqa: F401

from fastws.asyncio import serve
from fastws.exceptions import ConnectionClosed

pytestmark = pytest.mark.network

BIG = os.urandom(1024) * (16 * 1024)  # 16 MiB, compressible with a 32 KiB window
LIMIT = 32 << 20


class Record:
    """What the fastws server saw."""

    def __init__(self) -> None:
        self.subprotocols: list[str | None] = []
        self.extensions: list[list[Any]] = []
        self.closes: list[tuple[int | None, str | None]] = []


def make_handler(record: Record):  # type: ignore[no-untyped-def]
    async def handler(ws):  # type: ignore[no-untyped-def]
        record.subprotocols.append(ws.subprotocol)
        record.extensions.append(ws.extensions)
        try:
            async for message in ws:
                if message == "serverping":
                    await ws.ping(b"srv")
                    await ws.send("pong-ok")
                elif isinstance(message, str) and message.startswith("close:"):
                    _, code, reason = message.split(":", 2)
                    await ws.close(int(code), reason)
                else:
                    await ws.send(message)
        except ConnectionClosed:
            pass
        record.closes.append((ws.close_code, ws.close_reason))

    return handler


# ---------------------------------------------------------------- the clients


async def websockets_client(uri: str, compression: bool, context: Any) -> None:
    from websockets.asyncio.client import connect as ws_connect
    from websockets.exceptions import ConnectionClosedError

    options: dict[str, Any] = dict(
        subprotocols=["chat.v2", "chat"],
        compression="deflate" if compression else None,
        max_size=LIMIT,
        ping_interval=None,
        ssl=context,
    )
    async with ws_connect(uri, **options) as ws:
        assert ws.subprotocol == "chat"
        extensions = ws.response.headers.get("Sec-WebSocket-Extensions")
        assert (extensions is not None) == compression
        await ws.send("h\u00e9llo")
        assert await ws.recv() == "h\u00e9llo"
        await ws.send(b"\x00\xff" * 500)
        assert await ws.recv() == b"\x00\xff" * 500
        await ws.send(["frag", "ment", "\u00e9d"])
        assert await ws.recv() == "fragment\u00e9d"
        await ws.send(BIG)
        assert await ws.recv() == BIG
        assert await (await ws.ping(b"cli")) >= 0
        await ws.send("serverping")
        assert await ws.recv() == "pong-ok"
        await ws.close(4000, "client bye")
        assert ws.close_code == 4000
    async with ws_connect(uri, **options) as ws:
        await ws.send("close:4001:server bye")
        with pytest.raises(ConnectionClosedError) as info:
            await ws.recv()
        assert info.value.rcvd is not None
        assert (info.value.rcvd.code, info.value.rcvd.reason) == (4001, "server bye")


async def aiohttp_client(uri: str, compression: bool, context: Any) -> None:
    import aiohttp

    options: dict[str, Any] = dict(
        protocols=("chat.v2", "chat"),
        compress=15 if compression else 0,
        max_msg_size=LIMIT,
        autoping=False,
    )
    if context is not None:
        options["ssl"] = context
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(uri, **options) as ws:
            assert ws.protocol == "chat"
            assert bool(ws.compress) == compression
            await ws.send_str("h\u00e9llo")
            assert (await ws.receive()).data == "h\u00e9llo"
            await ws.send_bytes(b"\x00\xff" * 500)
            assert (await ws.receive()).data == b"\x00\xff" * 500
            await ws.send_bytes(BIG)
            assert (await ws.receive()).data == BIG
            await ws.ping(b"cli")
            msg = await ws.receive()
            assert (msg.type, msg.data) == (aiohttp.WSMsgType.PONG, b"cli")
            await ws.send_str("serverping")
            msg = await ws.receive()
            assert (msg.type, msg.data) == (aiohttp.WSMsgType.PING, b"srv")
            await ws.pong(msg.data)
            assert (await ws.receive()).data == "pong-ok"
            await ws.close(code=4000, message=b"client bye")
            assert ws.close_code == 4000
        async with session.ws_connect(uri, **options) as ws:
            await ws.send_str("close:4001:server bye")
            msg = await ws.receive()
            assert msg.type == aiohttp.WSMsgType.CLOSE
            assert (msg.data, msg.extra) == (4001, "server bye")


def websocket_client_sync(uri: str, compression: bool, context: Any) -> None:
    import websocket
    from websocket import ABNF

    assert not compression
    options: dict[str, Any] = dict(subprotocols=["chat.v2", "chat"], timeout=10)
    if context is not None:
        options["sslopt"] = {"context": context}
    ws = websocket.create_connection(uri, **options)
    try:
        assert ws.getsubprotocol() == "chat"
        ws.send("h\u00e9llo")
        assert ws.recv() == "h\u00e9llo"
        ws.send_binary(b"\x00\xff" * 500)
        assert ws.recv() == b"\x00\xff" * 500
        ws.send_frame(ABNF.create_frame("frag", ABNF.OPCODE_TEXT, 0))
        ws.send_frame(ABNF.create_frame(b"ment", ABNF.OPCODE_CONT, 0))
        ws.send_frame(ABNF.create_frame("\u00e9d".encode(), ABNF.OPCODE_CONT, 1))
        assert ws.recv() == "fragment\u00e9d"
        ws.send_binary(BIG)
        assert ws.recv() == BIG
        ws.ping("cli")
        opcode, frame = ws.recv_data_frame(True)
        assert (opcode, frame.data) == (ABNF.OPCODE_PONG, b"cli")
        ws.send("serverping")
        assert ws.recv() == "pong-ok"  # the ping in between is answered by recv()
        ws.close(4000, "client bye")
        assert ws.close_frame is not None
        assert struct.unpack("!H", ws.close_frame.data[:2])[0] == 4000
    finally:
        ws.shutdown()
    ws = websocket.create_connection(uri, **options)
    try:
        ws.send("close:4001:server bye")
        opcode, frame = ws.recv_data_frame(True)
        assert opcode == ABNF.OPCODE_CLOSE
        assert struct.unpack("!H", frame.data[:2])[0] == 4001
        assert frame.data[2:] == b"server bye"
    finally:
        ws.shutdown()


async def websocket_client(uri: str, compression: bool, context: Any) -> None:
    await asyncio.get_running_loop().run_in_executor(
        None, websocket_client_sync, uri, compression, context
    )


async def picows_client(uri: str, compression: bool, context: Any) -> None:
    from picows import WSCloseCode, WSListener, WSMsgType, ws_connect

    assert not compression
    queue: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()

    class Listener(WSListener):  # type: ignore[misc]
        def __init__(self) -> None:
            self.parts: list[bytes] = []
            self.kind: Any = None

        def on_ws_frame(self, transport, frame):  # type: ignore[no-untyped-def]
            kind = frame.msg_type
            if kind == WSMsgType.PONG:
                queue.put_nowait(("pong", frame.get_payload_as_bytes()))
            elif kind == WSMsgType.CLOSE:
                code = int(frame.get_close_code())
                queue.put_nowait(("close", code, frame.get_close_reason() or ""))
                transport.disconnect()
            elif kind in (WSMsgType.TEXT, WSMsgType.BINARY, WSMsgType.CONTINUATION):
                if kind != WSMsgType.CONTINUATION:
                    self.kind = kind
                self.parts.append(frame.get_payload_as_bytes())
                if frame.fin:
                    queue.put_nowait((self.kind, b"".join(self.parts)))
                    self.parts = []

    options: dict[str, Any] = dict(
        max_frame_size=LIMIT,
        extra_headers={"Sec-WebSocket-Protocol": "chat.v2, chat"},
        ssl_context=context,
    )
    transport, _ = await ws_connect(Listener, uri, **options)
    assert transport.response.headers["Sec-WebSocket-Protocol"] == "chat"
    transport.send(WSMsgType.TEXT, "h\u00e9llo".encode())
    assert await queue.get() == (WSMsgType.TEXT, "h\u00e9llo".encode())
    transport.send(WSMsgType.BINARY, b"\x00\xff" * 500)
    assert await queue.get() == (WSMsgType.BINARY, b"\x00\xff" * 500)
    transport.send(WSMsgType.TEXT, b"frag", fin=False)
    transport.send(WSMsgType.CONTINUATION, b"ment", fin=True)
    assert await queue.get() == (WSMsgType.TEXT, b"fragment")
    transport.send(WSMsgType.BINARY, BIG)
    assert await queue.get() == (WSMsgType.BINARY, BIG)
    transport.send_ping(b"cli")
    assert await queue.get() == ("pong", b"cli")
    transport.send(WSMsgType.TEXT, b"serverping")  # picows answers pings itself
    assert await queue.get() == (WSMsgType.TEXT, b"pong-ok")
    transport.send_close(WSCloseCode(4000), b"client bye")
    assert await queue.get() == ("close", 4000, "")
    await transport.wait_disconnected()
    transport, _ = await ws_connect(Listener, uri, **options)
    transport.send(WSMsgType.TEXT, b"close:4001:server bye")
    assert await queue.get() == ("close", 4001, "server bye")
    await transport.wait_disconnected()


CLIENTS = {
    "websockets": websockets_client,
    "aiohttp": aiohttp_client,
    "websocket-client": websocket_client,
    "picows": picows_client,
}
CASES = [
    (client, compression, transport)
    for client in CLIENTS
    for compression in ((True, False) if client in ("websockets", "aiohttp") else (False,))
    for transport in ("tcp", "tls")
]


@pytest.mark.parametrize(
    "client_name, compression, transport",
    CASES,
    ids=[f"{p}-{'deflate' if c else 'plain'}-{t}" for p, c, t in CASES],
)
def test_client_against_fastws_server(  # type: ignore[no-untyped-def]
    use_backend: str, client_name: str, compression: bool, transport: str, tls: TLS
) -> None:
    record = Record()
    secure = transport == "tls"

    async def main() -> None:
        async with serve(
            make_handler(record),
            "127.0.0.1",
            0,
            subprotocols=["chat"],
            compression="deflate" if compression else None,
            max_size=LIMIT,
            ssl=tls.server_context() if secure else None,
        ) as server:
            uri = f"{'wss' if secure else 'ws'}://127.0.0.1:{port_of(server)}/"
            await CLIENTS[client_name](uri, compression, tls.client_context() if secure else None)
            for _ in range(100):  # the handlers may end after the client returned
                if len(record.closes) == 2:
                    break
                await asyncio.sleep(0.01)
        assert record.subprotocols == ["chat", "chat"]
        assert all(bool(extensions) == compression for extensions in record.extensions)
        assert record.closes[0] == (4000, "client bye")
        assert record.closes[1][0] is not None

    run(main, timeout=30)
