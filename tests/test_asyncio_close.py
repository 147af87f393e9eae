"""fastws.asyncio: the closing handshake, handler failures, server shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest
from asyncio_helpers import LOOPS, _no_proxy_environment, port_of, run  # noqa: F401

from fastws.asyncio import connect, serve
from fastws.exceptions import ConnectionClosed, ConnectionClosedError, ConnectionClosedOK
from fastws.protocol import State

pytestmark = pytest.mark.network


def url(server) -> str:  # type: ignore[no-untyped-def]
    return f"ws://127.0.0.1:{port_of(server)}/"


@pytest.mark.parametrize("loop", LOOPS)
def test_client_closes_with_a_code(use_backend: str, loop: str) -> None:
    seen: list[ConnectionClosed] = []

    async def handler(ws):  # type: ignore[no-untyped-def]
        try:
            await ws.recv()
        except ConnectionClosed as exc:
            seen.append(exc)
            assert ws.close_code == 4001 and ws.close_reason == "bye"

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0) as server:
            ws = await connect(url(server))
            await ws.close(4001, "bye")
            assert ws.state is State.CLOSED
            assert ws.close_code == 4001  # the server echoes the code (RFC 6455 §5.5.1)
            with pytest.raises(ConnectionClosedError) as info:
                await ws.recv()
            assert info.value.sent is not None and info.value.sent.reason == "bye"
            assert info.value.rcvd_then_sent is False
            await ws.close()  # idempotent
            await ws.wait_closed()
        assert len(seen) == 1 and isinstance(seen[0], ConnectionClosedError)
        assert seen[0].rcvd is not None
        assert (seen[0].rcvd.code, seen[0].rcvd.reason) == (4001, "bye")
        assert seen[0].rcvd_then_sent is True

    run(main, loop=loop)


def test_server_closes_with_a_code(use_backend: str) -> None:
    async def handler(ws):  # type: ignore[no-untyped-def]
        await ws.close(1001, "going")

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0) as server, connect(url(server)) as ws:
            with pytest.raises(ConnectionClosedOK) as info:
                await ws.recv()
            assert info.value.rcvd is not None
            assert (info.value.rcvd.code, info.value.rcvd.reason) == (1001, "going")
            assert (ws.close_code, ws.close_reason) == (1001, "going")

    run(main)


def test_close_arguments_are_checked(use_backend: str) -> None:
    async def handler(ws):  # type: ignore[no-untyped-def]
        await ws.wait_closed()

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0) as server, connect(url(server)) as ws:
            with pytest.raises(ValueError):
                await ws.close(1005)  # not allowed on the wire (RFC 6455 §7.4.1)
            with pytest.raises(ValueError):
                await ws.close(1000, "x" * 124)
            assert ws.state is State.OPEN

    run(main)


def test_handler_exception_closes_1011_and_is_logged(
    use_backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def handler(ws):  # type: ignore[no-untyped-def]
        message = await ws.recv()
        if message == "boom":
            raise RuntimeError("handler bug")
        await ws.send("fine")

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0) as server:
            async with connect(url(server)) as ws:
                await ws.send("boom")
                with pytest.raises(ConnectionClosedError) as info:
                    await ws.recv()
                assert info.value.rcvd is not None and info.value.rcvd.code == 1011
            # the server still serves
            async with connect(url(server)) as ws:
                await ws.send("hello")
                assert await ws.recv() == "fine"

    with caplog.at_level(logging.ERROR, logger="fastws.server"):
        run(main)
    records = [r for r in caplog.records if r.name == "fastws.server"]
    assert records and "connection handler failed" in records[0].getMessage()
    assert records[0].exc_info is not None and "handler bug" in str(records[0].exc_info[1])


@pytest.mark.parametrize("loop", LOOPS)
def test_graceful_shutdown_closes_with_1001(use_backend: str, loop: str) -> None:
    async def handler(ws):  # type: ignore[no-untyped-def]
        async for message in ws:
            await ws.send(message)

    async def main() -> None:
        server = await serve(handler, "127.0.0.1", 0)
        port = port_of(server)
        clients = [await connect(f"ws://127.0.0.1:{port}/") for _ in range(3)]
        for ws in clients:
            await ws.send("ping")
            assert await ws.recv() == "ping"
        assert len(server.connections) == 3
        server.close()
        await server.wait_closed()
        for ws in clients:
            with pytest.raises(ConnectionClosedOK) as info:
                await ws.recv()
            assert info.value.rcvd is not None and info.value.rcvd.code == 1001
        assert not server.connections and not server.is_serving()
        with pytest.raises(OSError):
            await connect(f"ws://127.0.0.1:{port}/", open_timeout=2)

    run(main, loop=loop)


def test_shutdown_aborts_unresponsive_peers_and_cancels_handlers(use_backend: str) -> None:
    cancelled: list[bool] = []

    async def handler(ws):  # type: ignore[no-untyped-def]
        try:
            await asyncio.sleep(30)  # ignores the shutdown
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    async def main() -> None:
        server = await serve(handler, "127.0.0.1", 0, close_timeout=0.2)
        ws = await connect(url(server))
        ws.transport.pause_reading()  # never answers the close frame
        loop = asyncio.get_running_loop()
        start = loop.time()
        server.close()
        await server.wait_closed()
        assert loop.time() - start < 2
        assert cancelled == [True]
        ws.transport.resume_reading()
        with pytest.raises(ConnectionClosed):
            await ws.recv()

    run(main)


def test_serve_forever_cancelled_shuts_down(use_backend: str) -> None:
    async def handler(ws):  # type: ignore[no-untyped-def]
        await ws.wait_closed()

    async def main() -> None:
        server = await serve(handler, "127.0.0.1", 0)
        task = asyncio.ensure_future(server.serve_forever())
        ws = await connect(url(server))
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        with pytest.raises(ConnectionClosedOK):
            await ws.recv()
        assert ws.close_code == 1001

    run(main)


def test_close_without_echo_times_out(use_backend: str) -> None:
    async def handler(ws):  # type: ignore[no-untyped-def]
        ws.transport.pause_reading()  # never reads our close frame
        await asyncio.sleep(2)

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0, close_timeout=0.1) as server:
            ws = await connect(url(server), close_timeout=0.2)
            loop = asyncio.get_running_loop()
            start = loop.time()
            await ws.close()
            assert 0.15 < loop.time() - start < 1.5
            assert ws.state is State.CLOSED and ws.close_code == 1006
            with pytest.raises(ConnectionClosedError) as info:
                await ws.recv()
            assert info.value.rcvd is None and info.value.sent is not None

    run(main)


def test_peer_vanishing_is_1006(use_backend: str) -> None:
    async def handler(ws):  # type: ignore[no-untyped-def]
        ws.transport.abort()
        await ws.wait_closed()

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0) as server, connect(url(server)) as ws:
            with pytest.raises(ConnectionClosedError) as info:
                await ws.recv()
            assert info.value.rcvd is None and info.value.sent is None
            assert info.value.code == 1006 and ws.close_code == 1006

    run(main)


def test_close_during_fragmented_send_is_1011(use_backend: str) -> None:
    async def handler(ws):  # type: ignore[no-untyped-def]
        with contextlib.suppress(ConnectionClosed):
            await ws.recv()

    async def main() -> None:
        release = asyncio.Event()

        async def fragments():  # type: ignore[no-untyped-def]
            yield "first"
            await release.wait()
            yield "second"

        async with serve(handler, "127.0.0.1", 0) as server:
            ws = await connect(url(server))
            sending = asyncio.ensure_future(ws.send(fragments()))
            await asyncio.sleep(0.05)
            await ws.close()
            assert ws.protocol.close_sent == (1011, "close during fragmented message")
            release.set()
            with pytest.raises(ConnectionClosed):
                await sending

    run(main)
