"""fastws.asyncio callback API: :func:`listen`, ``connect(listener=...)``, :class:`Listener`.

fastws against fastws and against real websockets/picows peers on 127.0.0.1,
on both backends (``use_backend``) and both event loops where cheap.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from asyncio_helpers import LOOPS, _no_proxy_environment, port_of, run, tls_fixture  # noqa: F401

from fastws.asyncio import Listener, connect, listen, serve, unix_listen
from fastws.exceptions import ConnectionClosed, ConnectionClosedOK, InvalidHandshake, InvalidState

pytestmark = pytest.mark.network


def url(server: Any) -> str:
    return f"ws://127.0.0.1:{port_of(server)}/"


class Echo(Listener):
    def on_message(self, ws: Any, message: Any) -> None:
        ws.send_nowait(message)


class Recorder(Listener):
    """Records every callback in order; ``done`` resolves at on_close."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.messages: asyncio.Queue[Any] = asyncio.Queue()
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_open(self, ws: Any) -> None:
        self.calls.append(("open", ws.state.name))

    def on_message(self, ws: Any, message: Any) -> None:
        self.calls.append(("message", message))
        self.messages.put_nowait(message)

    def on_close(self, ws: Any) -> None:
        self.calls.append(("close", (ws.close_code, ws.close_reason)))
        self.done.set_result(None)


@pytest.mark.parametrize("loop", LOOPS)
def test_listener_server_echoes_in_order(use_backend: str, loop: str) -> None:
    async def main() -> None:
        async with (
            listen(Echo, "127.0.0.1", 0, compression=None) as server,
            connect(url(server), compression=None) as ws,
        ):
            sent = ["hello", b"\x00\xff" * 1000, "", b"", "h\u00e9llo \U0001f600",
                    b"x" * 200_000]
            for message in sent:
                await ws.send(message)
            assert [await ws.recv() for _ in sent] == sent
            # a fragmented message arrives whole
            await ws.send(["frag", "ment", "ed"])
            assert await ws.recv() == "fragmented"
            # 200 pipelined messages: every one echoed, in order
            for i in range(200):
                await ws.send(str(i))
            assert [await ws.recv() for _ in range(200)] == [str(i) for i in range(200)]

    run(main, loop=loop)


@pytest.mark.parametrize("compression", [None, "deflate"])
def test_listener_client_and_server(use_backend: str, compression: str | None) -> None:
    async def main() -> None:
        async with listen(Echo, "127.0.0.1", 0, compression=compression) as server:
            client = Recorder()
            ws = await connect(url(server), listener=client, compression=compression)
            assert client.calls == [("open", "OPEN")]
            assert ws.extensions == ([] if compression is None else ws.extensions)
            if compression:
                assert ws.extensions and ws.extensions[0][0] == "permessage-deflate"
            ws.send_nowait("text " * 100)
            ws.send_nowait(b"binary")
            ws.send_nowait(b"as text", text=True)
            ws.send_nowait("as binary", text=False)
            ws.send_nowait(bytearray(b"ba"))
            ws.send_nowait(memoryview(b"mv"))
            got = [await client.messages.get() for _ in range(6)]
            assert got == ["text " * 100, b"binary", "as text", b"as binary", b"ba", b"mv"]
            with pytest.raises(InvalidState):
                await ws.recv()
            ws.close_nowait(1000, "bye")
            await ws.wait_closed()
            await client.done
            # close_code/close_reason: the peer's close frame (the server echoes the code)
            assert client.calls[-1] == ("close", (1000, ""))
            assert ws.protocol.close_sent == (1000, "bye")
            with pytest.raises(ConnectionClosedOK):
                ws.send_nowait("too late")

    run(main)


def test_listener_server_lifecycle_and_close_codes(use_backend: str) -> None:
    async def main() -> None:
        made: list[Recorder] = []

        def factory() -> Recorder:
            made.append(Recorder())
            return made[-1]

        async with listen(factory, "127.0.0.1", 0) as server:
            # the client closes with a code and a reason: the listener sees them
            ws = await connect(url(server))
            await ws.send("one")
            await ws.close(4001, "client says bye")
            assert len(made) == 1
            await asyncio.wait_for(made[0].done, 5)
            assert made[0].calls == [("open", "OPEN"), ("message", "one"),
                                     ("close", (4001, "client says bye"))]
            # an abrupt end: 1006
            ws = await connect(url(server))
            await ws.send(b"two")
            await asyncio.sleep(0.05)
            ws.transport.abort()
            await asyncio.wait_for(made[1].done, 5)
            assert made[1].calls[-1] == ("close", (1006, ""))
        # no task per connection, nothing left behind
        assert not server._tasks

    run(main)


def test_listener_server_closes_from_callback(use_backend: str) -> None:
    class Closer(Listener):
        def on_message(self, ws: Any, message: Any) -> None:
            ws.send_nowait(message)
            ws.close_nowait(4000, "enough")
            ws.close_nowait(4002, "ignored: already closing")

    async def main() -> None:
        async with listen(Closer, "127.0.0.1", 0) as server, connect(url(server)) as ws:
            await ws.send("last")
            assert await ws.recv() == "last"  # written before the close frame
            with pytest.raises(ConnectionClosedError_or_OK):
                await ws.recv()
            await ws.wait_closed()
            assert ws.close_code == 4000 and ws.close_reason == "enough"

    run(main)


ConnectionClosedError_or_OK = ConnectionClosed


def test_listener_exception_closes_with_1011(use_backend: str,
                                              caplog: pytest.LogCaptureFixture) -> None:
    class Broken(Listener):
        def on_message(self, ws: Any, message: Any) -> None:
            if message == "boom":
                raise ValueError("listener bug")
            ws.send_nowait(message)

    async def main() -> None:
        async with listen(Broken, "127.0.0.1", 0) as server, connect(url(server)) as ws:
            await ws.send("fine")
            assert await ws.recv() == "fine"
            await ws.send("boom")
            await ws.wait_closed()
            assert ws.close_code == 1011
            # the server goes on serving
            async with connect(url(server)) as ws:
                await ws.send("again")
                assert await ws.recv() == "again"

    with caplog.at_level(logging.ERROR, logger="fastws.server"):
        run(main)
    assert any("listener on_message failed" in r.getMessage() and r.exc_info
               for r in caplog.records)


def test_listener_open_failure_and_factory_failure(use_backend: str,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    class SendsOnOpen(Listener):
        def on_open(self, ws: Any) -> None:
            ws.send_nowait("welcome")
            ws.send_nowait(ws.request.target)

    def bad_factory() -> Listener:
        raise RuntimeError("no listener for you")

    async def main() -> None:
        async with (
            listen(SendsOnOpen, "127.0.0.1", 0) as server,
            connect(url(server) + "room?x=1") as ws,
        ):
            assert await ws.recv() == "welcome"
            assert await ws.recv() == "/room?x=1"
        async with listen(bad_factory, "127.0.0.1", 0) as server, connect(url(server)) as ws:
            await ws.wait_closed()
            assert ws.close_code == 1011

    with caplog.at_level(logging.ERROR, logger="fastws.server"):
        run(main)
    assert any("the listener factory" in r.getMessage() for r in caplog.records)


def test_listener_with_process_request(use_backend: str) -> None:
    async def process_request(ws: Any, request: Any) -> Any:
        await asyncio.sleep(0)  # a coroutine: the handshake ends in a task
        if request.target == "/deny":
            return ws.respond(403, "no\n")
        return None

    async def main() -> None:
        async with (
            listen(Echo, "127.0.0.1", 0, process_request=process_request) as server,
            connect(url(server) + "ok") as ws,
        ):
            await ws.send("through process_request")
            assert await ws.recv() == "through process_request"
            with pytest.raises(InvalidHandshake) as info:
                await connect(url(server) + "deny")
            assert info.value.status == 403

    run(main)


def test_listener_flow_control(use_backend: str) -> None:
    """The listener hears pause/resume of writing and can pause reading."""

    class Pump(Listener):
        def __init__(self) -> None:
            self.events: list[str] = []

        def on_message(self, ws: Any, message: Any) -> None:
            # answer one request with 16 MiB, more than the socket buffers hold
            for _ in range(256):
                ws.send_nowait(b"\x00" * 65536)

        def on_write_paused(self, ws: Any) -> None:
            self.events.append("paused")
            ws.pause_reading()

        def on_write_resumed(self, ws: Any) -> None:
            self.events.append("resumed")
            ws.resume_reading()

    pumps: list[Pump] = []

    def factory() -> Pump:
        pumps.append(Pump())
        return pumps[-1]

    async def main() -> None:
        async with (
            listen(factory, "127.0.0.1", 0, compression=None) as server,
            connect(url(server), compression=None, max_queue=1) as ws,
        ):
            await ws.send("go")
            await asyncio.sleep(0.2)  # the client stops reading: the server's buffer fills
            assert pumps[0].events == ["paused"]
            total = 0
            while total < 256 * 65536:
                total += len(await ws.recv())
            assert total == 256 * 65536
        assert pumps[0].events[:2] == ["paused", "resumed"]

    run(main)


def test_unix_listen(use_backend: str, tmp_path: Any) -> None:
    from fastws.asyncio import unix_connect

    path = str(tmp_path / "ws.sock")

    async def main() -> None:
        async with unix_listen(Echo, path), unix_connect(path) as ws:
            await ws.send("over a unix socket")
            assert await ws.recv() == "over a unix socket"

    run(main)


def test_listener_server_with_websockets_client(use_backend: str) -> None:
    from websockets.asyncio.client import connect as ws_connect

    async def main() -> None:
        async with (
            listen(Echo, "127.0.0.1", 0) as server,
            ws_connect(url(server), max_size=None) as ws,
        ):
            for message in ("text", b"bytes", "\u00e9" * 70000):
                await ws.send(message)
                assert await ws.recv() == message

    run(main)


def test_listener_client_with_picows_server(use_backend: str) -> None:
    from picows import WSListener, WSMsgType, ws_create_server

    class PicowsEcho(WSListener):  # type: ignore[misc]
        def on_ws_frame(self, transport: Any, frame: Any) -> None:
            if frame.msg_type == WSMsgType.CLOSE:
                transport.send_close(frame.get_close_code(), frame.get_close_message())
                transport.disconnect()
            else:
                transport.send(frame.msg_type, frame.get_payload_as_bytes(), frame.fin)

    async def main() -> None:
        server = await ws_create_server(lambda request: PicowsEcho(), "127.0.0.1", 0)
        try:
            client = Recorder()
            ws = await connect(url(server), listener=client, compression=None)
            for i in range(50):
                ws.send_nowait(f"m{i}")
            assert [await client.messages.get() for _ in range(50)] == [f"m{i}" for i in range(50)]
            ws.close_nowait()
            await asyncio.wait_for(client.done, 5)
            assert client.calls[-1] == ("close", (1000, ""))
        finally:
            server.close()
            await server.wait_closed()

    run(main)


def test_serve_without_listener_unchanged(use_backend: str) -> None:
    """serve() still runs the handler coroutine; send_nowait works there too."""

    async def handler(ws: Any) -> None:
        async for message in ws:
            ws.send_nowait(message)

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0) as server, connect(url(server)) as ws:
            await ws.send("x")
            assert await ws.recv() == "x"
            with pytest.raises(TypeError):
                ws.send_nowait(["fragments need send()"])  # type: ignore[arg-type]

    run(main)


# ------------------------------------------------------------ use_aiofastnet


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("secure", [False, True], ids=["tcp", "tls"])
def test_aiofastnet_transports(use_backend: str, loop: str, secure: bool, tls: Any) -> None:
    """Server (listen and serve) and client on aiofastnet's transports, with
    every kind of message, a large one, compression and the close handshake."""
    pytest.importorskip("aiofastnet")  # part of the test extra: never skipped in CI

    async def handler(ws: Any) -> None:
        async for message in ws:
            await ws.send(message)

    async def main() -> None:
        server_ssl = tls.server_context() if secure else None
        client_ssl = tls.client_context() if secure else None
        scheme = "wss" if secure else "ws"
        for start in (
            lambda: listen(Echo, "127.0.0.1", 0, ssl=server_ssl, use_aiofastnet=True,
                           max_size=None),
            lambda: serve(handler, "127.0.0.1", 0, ssl=server_ssl, use_aiofastnet=True,
                          max_size=None),
        ):
            async with start() as server:
                uri = f"{scheme}://127.0.0.1:{port_of(server)}/"
                async with connect(uri, ssl=client_ssl, use_aiofastnet=True,
                                   max_size=None) as ws:
                    assert type(ws.transport).__module__.startswith("aiofastnet")
                    big = bytes(range(256)) * 8192  # 2 MiB
                    for message in ("text", b"bin", "\u00e9" * 1000, big, ""):
                        await ws.send(message)
                        assert await ws.recv() == message
                    await ws.send(["frag", "ments"])
                    assert await ws.recv() == "fragments"
                    assert await ws.ping() >= 0
                    await ws.close(4000, "done")
                assert ws.close_code == 4000
                assert ws.protocol.close_sent == (4000, "done")

    run(main, loop=loop, timeout=20)


def test_aiofastnet_missing_is_a_clear_error(use_backend: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "aiofastnet", None)  # "not installed"

    async def main() -> None:
        with pytest.raises(ImportError, match=r"pip install 'fastws\[aiofastnet\]'"):
            await listen(Echo, "127.0.0.1", 0, use_aiofastnet=True)
        with pytest.raises(ImportError, match="aiofastnet"):
            await connect("ws://127.0.0.1:9/", use_aiofastnet=True)

    run(main)


def test_send_after_close_in_a_callback_is_not_an_error(
    use_backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A listener that closes, then gets (and answers) the rest of the same
    read: send_nowait raises ConnectionClosed, which is not logged as a bug."""
    seen: list[Any] = []

    class CloseOnFirst(Listener):
        def on_message(self, ws: Any, message: Any) -> None:
            seen.append(message)
            if len(seen) == 1:
                ws.close_nowait(4003, "first only")
            else:
                ws.send_nowait(message)  # raises ConnectionClosed: the close is sent

    async def main() -> None:
        async with listen(CloseOnFirst, "127.0.0.1", 0) as server:
            ws = await connect(url(server))
            ws.send_nowait("a")
            ws.send_nowait("b")  # very likely in the same read as "a"
            await ws.wait_closed()
            assert ws.close_code == 4003

    with caplog.at_level(logging.DEBUG, logger="fastws.server"):
        run(main)
    assert seen == ["a", "b"]  # "b" was delivered, and answering it raised
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_frames_in_the_same_read_as_the_request_reach_the_listener(use_backend: str) -> None:
    """A client that writes its upgrade request and its first messages at once:
    the messages parsed with the request reach the listener, in order."""
    from fastws._backend import KERNELS
    from fastws.client import ClientConnection as SansIOClient

    async def main() -> None:
        async with listen(Echo, "127.0.0.1", 0, compression=None) as server:
            client = SansIOClient(url(server), compression=None)
            request = client.data_to_send()
            frames = b"".join(
                bytes(KERNELS.frames.build_frame(op, data, True, 0, b"\x01\x02\x03\x04"))
                for op, data in ((1, b"first"), (2, b"second"), (1, b"third"))
            )
            reader, writer = await asyncio.open_connection("127.0.0.1", port_of(server))
            writer.write(request + frames)  # one write, very likely one read
            got: list[Any] = []
            while len(got) < 3:
                chunk = await reader.read(65536)
                assert chunk, "connection closed early"
                client.receive_data(chunk)
                got += [e.data for e in client.events() if hasattr(e, "data")]
            assert got == ["first", b"second", "third"]
            writer.close()

    run(main)
