"""Interop: the fastws client against the servers of websockets, aiohttp, picows.

Each case opens two connections to the peer on 127.0.0.1 (TCP or TLS with a
trustme certificate, compression on or off) and exchanges: text, binary, a
fragmented message, a 16 MiB message, a ping from us and one from the peer,
subprotocol negotiation, then a close with a code from each side. The peer
server echoes, and obeys two commands: ``serverping`` (ping the client,
answer ``pong-ok`` on the pong) and ``close:CODE:REASON``. Every case runs
on both backends. picows has no compression: off only.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from asyncio_helpers import TLS, _no_proxy_environment, run, tls_fixture  # noqa: F401

from fastws.asyncio import connect
from fastws.exceptions import ConnectionClosedError

pytestmark = pytest.mark.network

BIG = os.urandom(1024) * (16 * 1024)  # 16 MiB, compressible with a 32 KiB window
LIMIT = 32 << 20


class Peer:
    """What the peer server saw: subprotocols chosen, close frames received."""

    def __init__(self) -> None:
        self.subprotocols: list[str | None] = []
        self.closes: list[tuple[int, str]] = []


# ---------------------------------------------------------------- websockets


@asynccontextmanager
async def websockets_server(
    peer: Peer, compression: bool, ssl_context: Any
) -> AsyncIterator[int]:
    from websockets.asyncio.server import serve as ws_serve
    from websockets.exceptions import ConnectionClosed

    async def handler(ws):  # type: ignore[no-untyped-def]
        peer.subprotocols.append(ws.subprotocol)
        try:
            async for message in ws:
                if message == "serverping":
                    await (await ws.ping(b"srv"))
                    await ws.send("pong-ok")
                elif isinstance(message, str) and message.startswith("close:"):
                    _, code, reason = message.split(":", 2)
                    await ws.close(int(code), reason)
                    return
                else:
                    await ws.send(message)
        except ConnectionClosed:
            pass
        if ws.close_code is not None:
            peer.closes.append((ws.close_code, ws.close_reason or ""))

    async with ws_serve(
        handler,
        "127.0.0.1",
        0,
        subprotocols=["chat"],
        compression="deflate" if compression else None,
        max_size=LIMIT,
        ping_interval=None,
        ssl=ssl_context,
    ) as server:
        yield server.sockets[0].getsockname()[1]


# ------------------------------------------------------------------- aiohttp


@asynccontextmanager
async def aiohttp_server(peer: Peer, compression: bool, ssl_context: Any) -> AsyncIterator[int]:
    from aiohttp import WSMsgType, web

    async def handler(request):  # type: ignore[no-untyped-def]
        ws = web.WebSocketResponse(
            protocols=("chat",), compress=compression, max_msg_size=LIMIT, autoping=False
        )
        await ws.prepare(request)
        peer.subprotocols.append(ws.ws_protocol)
        while True:
            msg = await ws.receive()
            if msg.type == WSMsgType.TEXT:
                if msg.data == "serverping":
                    await ws.ping(b"srv")
                elif msg.data.startswith("close:"):
                    _, code, reason = msg.data.split(":", 2)
                    await ws.close(code=int(code), message=reason.encode())
                    break
                else:
                    await ws.send_str(msg.data)
            elif msg.type == WSMsgType.BINARY:
                await ws.send_bytes(msg.data)
            elif msg.type == WSMsgType.PING:
                await ws.pong(msg.data)
            elif msg.type == WSMsgType.PONG:
                await ws.send_str("pong-ok")
            elif msg.type == WSMsgType.CLOSE:
                peer.closes.append((msg.data, msg.extra or ""))
                await ws.close()
                break
            else:
                break
        return ws

    app = web.Application()
    app.router.add_get("/", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


# -------------------------------------------------------------------- picows


@asynccontextmanager
async def picows_server(peer: Peer, compression: bool, ssl_context: Any) -> AsyncIterator[int]:
    from picows import (
        WSCloseCode,
        WSListener,
        WSMsgType,
        WSUpgradeResponse,
        WSUpgradeResponseWithListener,
        ws_create_server,
    )

    assert not compression

    class Listener(WSListener):  # type: ignore[misc]
        def __init__(self) -> None:
            self.parts: list[bytes] = []
            self.kind: Any = None

        def on_ws_frame(self, transport, frame):  # type: ignore[no-untyped-def]
            kind = frame.msg_type
            if kind == WSMsgType.PONG:
                transport.send(WSMsgType.TEXT, b"pong-ok")
            elif kind == WSMsgType.CLOSE:
                peer.closes.append((int(frame.get_close_code()), frame.get_close_reason() or ""))
                transport.send_close(frame.get_close_code())
                transport.disconnect()
            elif kind in (WSMsgType.TEXT, WSMsgType.BINARY, WSMsgType.CONTINUATION):
                if kind != WSMsgType.CONTINUATION:
                    self.kind = kind
                self.parts.append(frame.get_payload_as_bytes())
                if frame.fin:
                    self.message(transport, self.kind, b"".join(self.parts))
                    self.parts = []

        def message(self, transport, kind, data):  # type: ignore[no-untyped-def]
            if kind == WSMsgType.TEXT and data == b"serverping":
                transport.send_ping(b"srv")
            elif kind == WSMsgType.TEXT and data.startswith(b"close:"):
                _, code, reason = data.split(b":", 2)
                transport.send_close(WSCloseCode(int(code)), reason)
                transport.disconnect()
            else:
                transport.send(kind, data)

    def factory(request):  # type: ignore[no-untyped-def]
        offered = request.headers.get("Sec-WebSocket-Protocol", "")
        chosen = "chat" if "chat" in [p.strip() for p in offered.split(",")] else None
        peer.subprotocols.append(chosen)
        headers = {"Sec-WebSocket-Protocol": chosen} if chosen else None
        return WSUpgradeResponseWithListener(
            WSUpgradeResponse.create_101_response(extra_headers=headers), Listener()
        )

    server = await ws_create_server(
        factory, "127.0.0.1", 0, ssl=ssl_context, max_frame_size=LIMIT
    )
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


SERVERS = {"websockets": websockets_server, "aiohttp": aiohttp_server, "picows": picows_server}
CASES = [
    (peer, compression, transport)
    for peer in SERVERS
    for compression in ((False,) if peer == "picows" else (True, False))
    for transport in ("tcp", "tls")
]


@pytest.mark.parametrize(
    "peer_name, compression, transport",
    CASES,
    ids=[f"{p}-{'deflate' if c else 'plain'}-{t}" for p, c, t in CASES],
)
def test_fastws_client_against(  # type: ignore[no-untyped-def]
    use_backend: str, peer_name: str, compression: bool, transport: str, tls: TLS
) -> None:
    peer = Peer()
    secure = transport == "tls"

    async def main() -> None:
        server_context = tls.server_context() if secure else None
        async with SERVERS[peer_name](peer, compression, server_context) as port:
            uri = f"{'wss' if secure else 'ws'}://127.0.0.1:{port}/"
            options: dict[str, Any] = dict(
                subprotocols=["chat.v2", "chat"],
                compression="deflate" if compression else None,
                max_size=LIMIT,
                ssl=tls.client_context() if secure else None,
            )
            async with connect(uri, **options) as ws:
                assert ws.subprotocol == "chat"
                assert bool(ws.extensions) == compression
                if compression:
                    assert ws.extensions[0][0] == "permessage-deflate"
                await ws.send("h\u00e9llo")
                assert await ws.recv() == "h\u00e9llo"
                await ws.send(b"\x00\x01\xfe\xff" * 100)
                assert await ws.recv() == b"\x00\x01\xfe\xff" * 100
                await ws.send(["frag", "ment", "\u00e9d"])
                assert await ws.recv() == "fragment\u00e9d"
                await ws.send([b"frag", b"ment"])
                assert await ws.recv() == b"fragment"
                await ws.send(BIG)
                assert await ws.recv() == BIG
                assert await ws.ping() >= 0
                await ws.send("serverping")
                assert await ws.recv() == "pong-ok"
                await ws.close(4000, "client bye")
            # aiohttp (autoclose) answers any close frame with 1000 instead of the echo
            assert ws.close_code == (1000 if peer_name == "aiohttp" else 4000)
            async with connect(uri, **options) as ws:
                await ws.send("close:4001:server bye")
                with pytest.raises(ConnectionClosedError) as info:
                    await ws.recv()
                assert info.value.rcvd is not None
                assert (info.value.rcvd.code, info.value.rcvd.reason) == (4001, "server bye")
                assert info.value.rcvd_then_sent is True
        for _ in range(100):  # the peer's handler may finish after our close returned
            if peer.closes:
                break
            await asyncio.sleep(0.01)
        assert peer.closes[0] == (4000, "client bye")
        assert peer.subprotocols[:2] == ["chat", "chat"]

    run(main, timeout=30)
