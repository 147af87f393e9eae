"""fastws.asyncio: messages, ping/pong, keepalive, limits and flow control.

fastws client against fastws server on 127.0.0.1, on both backends
(``use_backend``) and, where cheap, on both event loops.
"""

from __future__ import annotations

import asyncio

import pytest
from asyncio_helpers import LOOPS, _no_proxy_environment, port_of, run  # noqa: F401

from fastws.asyncio import connect, serve
from fastws.exceptions import ConcurrencyError, ConnectionClosedError, ConnectionClosedOK

pytestmark = pytest.mark.network


async def echo(ws):  # type: ignore[no-untyped-def]
    async for message in ws:
        await ws.send(message)


def url(server) -> str:  # type: ignore[no-untyped-def]
    return f"ws://127.0.0.1:{port_of(server)}/"


@pytest.mark.parametrize("loop", LOOPS)
def test_echo_text_binary_fragments(use_backend: str, loop: str) -> None:
    async def agen():  # type: ignore[no-untyped-def]
        for part in (b"ab", b"", b"cd"):
            await asyncio.sleep(0)
            yield part

    async def main() -> None:
        async with serve(echo, "127.0.0.1", 0) as server, connect(url(server)) as ws:
            for message in ("hello", "", "h\u00e9llo \U0001f600", b"", b"\x00\xff" * 1000):
                await ws.send(message)
                assert await ws.recv() == message
            await ws.send(["a", "\u00e9", "", "z"])  # one fragmented text message
            assert await ws.recv() == "a\u00e9z"
            await ws.send([b"1", bytearray(b"2"), memoryview(b"3")])
            assert await ws.recv() == b"123"
            await ws.send(agen())
            assert await ws.recv() == b"abcd"
            await ws.send(iter(()))  # an empty iterable sends nothing
            await ws.send(b"after")
            assert await ws.recv() == b"after"
            # text= and decode= as in websockets
            await ws.send(b"bytes as text", text=True)
            assert await ws.recv() == "bytes as text"
            await ws.send("str as binary", text=False)
            assert await ws.recv() == b"str as binary"
            await ws.send("x")
            assert await ws.recv(decode=False) == b"x"
            await ws.send(b"y")
            assert await ws.recv(decode=True) == "y"

    run(main, loop=loop)


@pytest.mark.parametrize("compression", ["deflate", None])
def test_large_messages(use_backend: str, compression: str | None) -> None:
    big = bytes(range(256)) * (4 * 4096)  # 4 MiB
    text = "\u00e9t\u00e9 " * (1 << 19)  # 3 MiB of UTF-8

    async def main() -> None:
        async with serve(
            echo, "127.0.0.1", 0, max_size=None, compression=compression
        ) as server, connect(url(server), max_size=8 << 20, compression=compression) as ws:
            assert bool(ws.extensions) == (compression is not None)
            await ws.send(big)
            assert await ws.recv() == big
            await ws.send(text)
            assert await ws.recv() == text
            await ws.send([big[:1000], big[1000:]])
            assert await ws.recv() == big

    run(main, timeout=30)


def test_send_type_errors_fail_the_fragmented_message(use_backend: str) -> None:
    async def main() -> None:
        async with serve(echo, "127.0.0.1", 0) as server, connect(url(server)) as ws:
            with pytest.raises(TypeError, match="mapping"):
                await ws.send({"a": 1})  # type: ignore[arg-type]
            with pytest.raises(TypeError):
                await ws.send(12)  # type: ignore[arg-type]
            with pytest.raises(TypeError, match="same type"):
                await ws.send(["text", b"bytes"])
            # half a message went out: the connection is closed with 1011
            with pytest.raises(ConnectionClosedError) as info:
                await ws.recv()
            assert info.value.sent is not None and info.value.sent.code == 1011
            assert info.value.sent.reason == "error in fragmented message"

    run(main)


@pytest.mark.parametrize("loop", LOOPS)
def test_async_for_ends_on_normal_closure(use_backend: str, loop: str) -> None:
    async def handler(ws):  # type: ignore[no-untyped-def]
        for i in range(5):
            await ws.send(str(i))
        # returning closes with 1000

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0) as server, connect(url(server)) as ws:
            received = [message async for message in ws]
            assert received == ["0", "1", "2", "3", "4"]
            assert ws.close_code == 1000 and ws.close_reason == ""
            with pytest.raises(ConnectionClosedOK) as info:
                await ws.recv()
            exc = info.value
            assert exc.rcvd is not None and exc.rcvd.code == 1000
            assert exc.sent is not None and exc.sent.code == 1000
            assert exc.rcvd_then_sent is True
            assert exc.code == 1000
            with pytest.raises(ConnectionClosedOK):
                await ws.send("too late")
            with pytest.raises(ConnectionClosedOK):
                ws.ping()

    run(main, loop=loop)


def test_recv_is_cancel_safe_and_exclusive(use_backend: str) -> None:
    async def handler(ws):  # type: ignore[no-untyped-def]
        await ws.recv()
        await ws.send("late")
        await ws.recv()

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0) as server, connect(url(server)) as ws:
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(ws.recv(), 0.05)
            waiting = asyncio.ensure_future(ws.recv())
            await asyncio.sleep(0.01)
            with pytest.raises(ConcurrencyError):
                await ws.recv()
            await ws.send("go")
            assert await waiting == "late"
            await ws.send("done")

    run(main)


@pytest.mark.parametrize("loop", LOOPS)
def test_ping_pong_and_latency(use_backend: str, loop: str) -> None:
    async def main() -> None:
        async with serve(echo, "127.0.0.1", 0) as server, connect(url(server)) as ws:
            latency = await ws.ping()
            assert 0 <= latency < 5 and ws.latency == latency
            assert await ws.ping("payload") >= 0
            first = ws.ping(b"1")
            second = ws.ping(b"2")
            with pytest.raises(ConcurrencyError):
                ws.ping(b"2")
            assert await second >= 0 and first.done()  # a pong acknowledges earlier pings
            await ws.pong(b"unsolicited")
            with pytest.raises(ValueError):
                ws.ping(b"x" * 126)
            await ws.send("still fine")
            assert await ws.recv() == "still fine"

    run(main, loop=loop)


def test_server_ping_is_answered(use_backend: str) -> None:
    async def handler(ws):  # type: ignore[no-untyped-def]
        latency = await ws.ping()
        await ws.send(f"latency {latency >= 0}")

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0) as server, connect(url(server)) as ws:
            assert await ws.recv() == "latency True"

    run(main)


def test_keepalive_pings(use_backend: str) -> None:
    async def handler(ws):  # type: ignore[no-untyped-def]
        await ws.wait_closed()

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0, ping_interval=None) as server, connect(
            url(server), ping_interval=0.02, ping_timeout=1
        ) as ws:
            for _ in range(200):
                if ws.latency > 0:
                    break
                await asyncio.sleep(0.01)
            assert ws.latency > 0
            assert not ws._pings or len(ws._pings) < 5  # answered pings are forgotten

    run(main)


def test_keepalive_timeout_closes_with_1011(use_backend: str) -> None:
    async def handler(ws):  # type: ignore[no-untyped-def]
        ws.transport.pause_reading()  # never reads the pings
        await asyncio.sleep(3)

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0, close_timeout=0.2) as server:
            ws = await connect(url(server), ping_interval=0.05, ping_timeout=0.1)
            with pytest.raises(ConnectionClosedError) as info:
                await ws.recv()
            assert info.value.sent is not None
            sent = info.value.sent
            assert (sent.code, sent.reason) == (1011, "keepalive ping timeout")
            assert info.value.rcvd is None
            assert ws.close_code == 1006

    run(main)


def test_max_size_exceeded_closes_with_1009(use_backend: str) -> None:
    got: list[BaseException] = []

    async def handler(ws):  # type: ignore[no-untyped-def]
        try:
            await ws.recv()
        except ConnectionClosedError as exc:
            got.append(exc)

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0, max_size=1000) as server, connect(
            url(server)
        ) as ws:
            await ws.send(b"x" * 1001)
            with pytest.raises(ConnectionClosedError) as info:
                await ws.recv()
            assert info.value.rcvd is not None and info.value.rcvd.code == 1009
        assert got and got[0].sent.code == 1009  # type: ignore[attr-defined]
        assert "1000" in str(got[0].__cause__)

    run(main)


@pytest.mark.parametrize("loop", LOOPS)
def test_incoming_queue_pauses_reading(use_backend: str, loop: str) -> None:
    async def handler(ws):  # type: ignore[no-untyped-def]
        for i in range(100):
            await ws.send(str(i))
        await ws.recv()

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0) as server, connect(
            url(server), max_queue=4
        ) as ws:
            for _ in range(100):
                if ws._reading_paused:
                    break
                await asyncio.sleep(0.01)
            assert ws._reading_paused
            assert 4 <= len(ws._messages) < 100
            assert [await ws.recv() for _ in range(100)] == [str(i) for i in range(100)]
            assert not ws._reading_paused
            await ws.send("done")

    run(main, loop=loop)


@pytest.mark.parametrize("loop", LOOPS)
def test_send_waits_when_the_write_buffer_is_full(use_backend: str, loop: str) -> None:
    resume: list[asyncio.Event] = []

    async def handler(ws):  # type: ignore[no-untyped-def]
        ws.transport.pause_reading()
        await resume[0].wait()
        ws.transport.resume_reading()
        count = 0
        async for message in ws:
            if message == "end":
                await ws.send(f"got {count}")
            count += 1

    async def main() -> None:
        resume.append(asyncio.Event())
        async with serve(handler, "127.0.0.1", 0, max_size=None) as server, connect(
            url(server), write_limit=1 << 16, compression=None
        ) as ws:
            chunk = b"x" * (1 << 20)
            blocked_at = None
            for i in range(100):
                send = asyncio.ensure_future(ws.send(chunk))
                done, _ = await asyncio.wait([send], timeout=0.2)
                if not done:
                    blocked_at = i
                    break
            assert blocked_at is not None, "send never waited for the write buffer"
            assert ws._write_paused
            resume[0].set()
            await send
            assert not ws._write_paused
            await ws.send("end")
            assert await ws.recv() == f"got {blocked_at + 1}"

    run(main, loop=loop, timeout=30)
