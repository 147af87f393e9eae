"""fastws.asyncio.connect: errors a caller can act on, redirects, cookies."""

from __future__ import annotations

import asyncio
import http.cookiejar
import socket
import ssl

import pytest
from asyncio_helpers import LOOPS, TLS, _no_proxy_environment, port_of, run, tls_fixture  # noqa: F401

from fastws.asyncio import Reject, connect, serve
from fastws.exceptions import InvalidHandshake

pytestmark = pytest.mark.network


async def echo(ws):  # type: ignore[no-untyped-def]
    async for message in ws:
        await ws.send(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("loop", LOOPS)
def test_connection_refused(use_backend: str, loop: str) -> None:
    port = free_port()

    async def main() -> None:
        with pytest.raises(ConnectionRefusedError) as info:
            await connect(f"ws://127.0.0.1:{port}/")
        assert str(info.value).endswith(f"connection refused by 127.0.0.1:{port}")
        assert isinstance(info.value.__cause__, OSError)
        with pytest.raises(ConnectionRefusedError) as info:
            await connect(f"ws://localhost:{port}/")  # maybe several addresses
        assert f"connection refused by localhost:{port}" in str(info.value)

    run(main, loop=loop)


def test_dns_failure(use_backend: str) -> None:
    async def main() -> None:
        with pytest.raises(socket.gaierror) as info:
            await connect("ws://does-not-exist.invalid/", open_timeout=8)
        assert "cannot resolve host 'does-not-exist.invalid'" in str(info.value)
        long_label = "x" * 64 + ".invalid"  # refused by the resolver itself
        with pytest.raises(socket.gaierror) as info:
            await connect(f"ws://{long_label}/")
        assert f"cannot resolve host {long_label!r}" in str(info.value)

    run(main)


@pytest.mark.parametrize("loop", LOOPS)
def test_open_timeout(use_backend: str, loop: str) -> None:
    async def silent(reader, writer):  # type: ignore[no-untyped-def]
        await reader.read()  # accepts, never answers
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = port_of(server)
        loop_ = asyncio.get_running_loop()
        start = loop_.time()
        with pytest.raises(TimeoutError) as info:
            await connect(f"ws://127.0.0.1:{port}/", open_timeout=0.2)
        assert 0.15 < loop_.time() - start < 2
        assert str(info.value) == (
            f"timed out after 0.2 s waiting for the handshake response of 127.0.0.1:{port}"
        )
        # the task can still be cancelled and time out normally afterwards
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.sleep(1), 0.01)
        server.close()
        await server.wait_closed()

    run(main, loop=loop)


def test_handshake_refused_and_bad_responses(use_backend: str) -> None:
    answers = {
        b"/403": b"HTTP/1.1 403 Forbidden\r\nContent-Length: 6\r\nX-Why: test\r\n\r\nno way",
        b"/chunked": (
            b"HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        ),
        b"/eof": b"HTTP/1.1 503 Busy\r\n\r\nuntil eof",
        b"/garbage": b"SSH-2.0-OpenSSH\r\n\r\n",
        b"/101": b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
        b"/nothing": b"",
    }

    async def fake(reader, writer):  # type: ignore[no-untyped-def]
        head = await reader.readuntil(b"\r\n\r\n")
        writer.write(answers[head.split(b" ")[1]])
        await writer.drain()
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(fake, "127.0.0.1", 0)
        base = f"ws://127.0.0.1:{port_of(server)}"
        with pytest.raises(InvalidHandshake) as info:
            await connect(base + "/403")
        exc = info.value
        assert (exc.status, exc.body) == (403, b"no way")
        assert ("X-Why", "test") in exc.headers
        assert str(exc) == "server rejected WebSocket connection: HTTP 403 Forbidden"
        with pytest.raises(InvalidHandshake) as info:
            await connect(base + "/chunked")
        assert (info.value.status, info.value.body) == (500, b"abc")
        with pytest.raises(InvalidHandshake) as info:
            await connect(base + "/eof")
        assert (info.value.status, info.value.body) == (503, b"until eof")
        with pytest.raises(InvalidHandshake, match="invalid HTTP response"):
            await connect(base + "/garbage")
        with pytest.raises(InvalidHandshake, match="Connection"):
            await connect(base + "/101")
        with pytest.raises(InvalidHandshake, match="closed before"):
            await connect(base + "/nothing")
        server.close()
        await server.wait_closed()

    run(main)


def test_redirects(use_backend: str) -> None:
    hops: list[str] = []

    def process_request(ws, request):  # type: ignore[no-untyped-def]
        hops.append(request.target)
        port = ws.local_address[1]
        locations = {
            "/absolute": f"ws://127.0.0.1:{port}/final",
            "/relative": "/final?from=relative",
            "/http": f"http://127.0.0.1:{port}/final",
            "/twice": "/absolute",
            "/loop": "/loop",
        }
        if request.target in locations:
            return Reject(302, [("Location", locations[request.target])])
        if request.target == "/no-location":
            return Reject(301)
        return None

    async def handler(ws):  # type: ignore[no-untyped-def]
        await ws.send(ws.request.target)

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0, process_request=process_request) as server:
            base = f"ws://127.0.0.1:{port_of(server)}"
            for path, final in [
                ("/absolute", "/final"),
                ("/relative", "/final?from=relative"),
                ("/http", "/final"),
                ("/twice", "/final"),
            ]:
                async with connect(base + path) as ws:
                    assert await ws.recv() == final
            hops.clear()
            with pytest.raises(InvalidHandshake, match="too many redirects") as info:
                await connect(base + "/loop", max_redirects=3)
            assert hops == ["/loop"] * 4 and info.value.status == 302
            with pytest.raises(InvalidHandshake) as info:
                await connect(base + "/absolute", max_redirects=0)
            assert info.value.status == 302
            with pytest.raises(InvalidHandshake) as info:
                await connect(base + "/no-location")
            assert info.value.status == 301

    run(main)


def test_redirect_from_wss_to_ws_is_refused(use_backend: str, tls: TLS) -> None:
    def process_request(ws, request):  # type: ignore[no-untyped-def]
        return Reject(307, [("Location", "ws://127.0.0.1:1/")])

    async def main() -> None:
        context = tls.server_context()
        async with serve(echo, "127.0.0.1", 0, ssl=context, process_request=process_request) as s:
            with pytest.raises(InvalidHandshake, match="from wss to ws"):
                await connect(f"wss://localhost:{port_of(s)}/", ssl=tls.client_context())

    run(main)


def test_cookie_jar(use_backend: str) -> None:
    def process_request(ws, request):  # type: ignore[no-untyped-def]
        if request.target == "/login":
            return Reject(302, [("Location", "/app"), ("Set-Cookie", "session=abc123; Path=/")])
        if request.header("Cookie") != "session=abc123":
            return Reject(403, [], f"cookie: {request.header('Cookie')}")
        return None

    async def handler(ws):  # type: ignore[no-untyped-def]
        await ws.send("welcome")

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0, process_request=process_request) as server:
            base = f"ws://127.0.0.1:{port_of(server)}"
            jar = http.cookiejar.CookieJar()
            async with connect(base + "/login", cookies=jar) as ws:
                assert await ws.recv() == "welcome"
            assert [(c.name, c.value) for c in jar] == [("session", "abc123")]
            async with connect(base + "/app", cookies=jar) as ws:  # the jar is reused
                assert ws.request is not None and ws.request.header("Cookie") == "session=abc123"
            with pytest.raises(InvalidHandshake) as info:  # no jar: no cookie followed
                await connect(base + "/login")
            assert info.value.status == 403

    run(main)


def test_client_arguments_are_checked(use_backend: str) -> None:
    with pytest.raises(TypeError):
        connect("ws://h/", subprotocols="chat")
    with pytest.raises(ValueError):
        connect("ws://h/", subprotocols=["not a token"])
    with pytest.raises(ValueError, match="max_redirects"):
        connect("ws://h/", max_redirects=-1)
    with pytest.raises(ValueError, match="proxy"):
        connect("ws://h/", proxy="socks5://127.0.0.1:1080")
    with pytest.raises(ValueError, match="ssl"):
        connect("ws://h/", ssl=ssl.create_default_context())
