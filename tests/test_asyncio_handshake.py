"""fastws.asyncio: the opening handshake on both sides, TLS and Unix sockets."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import ssl
import tempfile

import pytest
from asyncio_helpers import LOOPS, TLS, _no_proxy_environment, port_of, run, tls_fixture  # noqa: F401

from fastws.asyncio import Reject, connect, serve, unix_connect, unix_serve
from fastws.deflate import DeflateOptions
from fastws.events import Request, Response
from fastws.exceptions import InvalidHandshake, InvalidURI

pytestmark = pytest.mark.network


async def echo(ws):  # type: ignore[no-untyped-def]
    async for message in ws:
        await ws.send(message)


def url(server, path: str = "/") -> str:  # type: ignore[no-untyped-def]
    return f"ws://127.0.0.1:{port_of(server)}{path}"


async def raw_http(port: int, request: bytes) -> bytes:
    """Send ``request`` on a plain TCP connection, return everything until EOF."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    data = await reader.read()
    writer.close()
    return data


def test_subprotocol_negotiation(use_backend: str) -> None:
    async def handler(ws):  # type: ignore[no-untyped-def]
        await ws.send(str(ws.subprotocol))

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0, subprotocols=["chat", "superchat"]) as server:
            async with connect(url(server), subprotocols=["superchat", "chat"]) as ws:
                assert ws.subprotocol == "chat"  # the server's preference
                assert await ws.recv() == "chat"
            async with connect(url(server), subprotocols=["other"]) as ws:
                assert ws.subprotocol is None and await ws.recv() == "None"
            async with connect(url(server)) as ws:
                assert ws.subprotocol is None

        def select(ws, offered):  # type: ignore[no-untyped-def]
            assert ws.request.target == "/path"
            return offered[-1]

        async with serve(handler, "127.0.0.1", 0, select_subprotocol=select) as server, connect(
            url(server, "/path"), subprotocols=["a", "b"]
        ) as ws:
            assert ws.subprotocol == "b" and await ws.recv() == "b"

    run(main)


def test_origins(use_backend: str) -> None:
    async def main() -> None:
        origins = ["https://ok.example", re.compile(r"https://[a-z]+\.trusted\.example"), None]
        async with serve(echo, "127.0.0.1", 0, origins=origins) as server:
            for origin in ("https://ok.example", "https://app.trusted.example", None):
                async with connect(url(server), origin=origin) as ws:
                    await ws.send("hi")
                    assert await ws.recv() == "hi"
            for origin in ("https://evil.example", "https://app.trusted.example.evil"):
                with pytest.raises(InvalidHandshake) as info:
                    await connect(url(server), origin=origin)
                assert info.value.status == 403
                assert b"is not allowed" in info.value.body

    run(main)


@pytest.mark.parametrize("loop", LOOPS)
def test_process_request(use_backend: str, loop: str) -> None:
    async def process_request(ws, request):  # type: ignore[no-untyped-def]
        assert isinstance(request, Request)
        if request.target == "/health":
            return ws.respond(200, "OK\n")
        if request.target == "/private" and request.header("Authorization") != "Bearer t":
            await asyncio.sleep(0)  # a coroutine works too
            return Reject(401, [("WWW-Authenticate", "Bearer")], b"who are you?")
        if request.target == "/tuple":
            return (418, [], "teapot")
        if request.target == "/broken":
            raise RuntimeError("bug in process_request")
        return None

    async def main() -> None:
        async with serve(echo, "127.0.0.1", 0, process_request=process_request) as server:
            port = port_of(server)
            # a plain HTTP health check, not an upgrade
            answer = await raw_http(port, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
            assert b"Content-Length: 3\r\n" in answer and answer.endswith(b"\r\n\r\nOK\n")
            # a plain request process_request does not answer gets the 400
            answer = await raw_http(port, b"GET /other HTTP/1.1\r\nHost: x\r\n\r\n")
            assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")
            # the same hook on WebSocket requests
            with pytest.raises(InvalidHandshake) as info:
                await connect(url(server, "/private"))
            exc = info.value
            assert exc.status == 401 and exc.body == b"who are you?"
            assert ("WWW-Authenticate", "Bearer") in exc.headers
            assert "401" in str(exc)
            headers = {"Authorization": "Bearer t"}
            async with connect(url(server, "/private"), additional_headers=headers) as ws:
                await ws.send("in")
                assert await ws.recv() == "in"
            with pytest.raises(InvalidHandshake) as info:
                await connect(url(server, "/tuple"))
            assert info.value.status == 418 and info.value.body == b"teapot"
            with pytest.raises(InvalidHandshake) as info:
                await connect(url(server, "/broken"))
            assert info.value.status == 500
            with pytest.raises(InvalidHandshake) as info:  # an upgrade to /health: the 200
                await connect(url(server, "/health"))
            assert info.value.status == 200 and info.value.body == b"OK\n"

    run(main, loop=loop)


def test_invalid_requests_get_http_errors(use_backend: str) -> None:
    async def main() -> None:
        async with serve(echo, "127.0.0.1", 0, max_head_size=1024) as server:
            port = port_of(server)
            answer = await raw_http(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert answer.startswith(b"HTTP/1.1 400 ")
            assert b"Upgrade" in answer  # the body says what is wrong
            answer = await raw_http(port, b"garbage\r\n\r\n")
            assert answer.startswith(b"HTTP/1.1 400 ")
            big = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 2000 + b"\r\n\r\n"
            answer = await raw_http(port, big)
            assert answer.startswith(b"HTTP/1.1 431 ")
            request = (
                b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n"
            )
            answer = await raw_http(port, request)
            assert answer.startswith(b"HTTP/1.1 426 ") and b"Sec-WebSocket-Version: 13" in answer

    run(main)


def test_server_open_timeout(use_backend: str) -> None:
    async def main() -> None:
        async with serve(echo, "127.0.0.1", 0, open_timeout=0.1) as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", port_of(server))
            writer.write(b"GET / HTTP/1.1\r\n")  # and nothing more
            loop = asyncio.get_running_loop()
            start = loop.time()
            with contextlib.suppress(ConnectionResetError):
                assert await reader.read() == b""
            assert loop.time() - start < 2
            writer.close()
            assert not server.connections

    run(main)


def test_handshake_attributes_and_trace(use_backend: str) -> None:
    server_traces: list[tuple[str, bytes]] = []
    client_traces: list[tuple[str, bytes]] = []
    seen: dict[str, object] = {}

    async def handler(ws):  # type: ignore[no-untyped-def]
        seen["request"] = ws.request
        seen["response"] = ws.response
        seen["raw"] = (ws.raw_request, ws.raw_response)
        seen["addresses"] = (ws.local_address, ws.remote_address)
        seen["backend"] = ws.protocol.backend
        await ws.send("hi")
        await ws.wait_closed()

    async def main() -> None:
        async with serve(
            handler,
            "127.0.0.1",
            0,
            server_header="test-server",
            trace=lambda ws, kind, data: server_traces.append((kind, data)),
        ) as server, connect(
            url(server, "/a?b=c"),
            additional_headers=[("X-Test", "1")],
            user_agent_header="test-agent",
            trace=lambda kind, data: client_traces.append((kind, data)),
        ) as ws:
            assert await ws.recv() == "hi"
            assert isinstance(ws.response, Response) and ws.response.status == 101
            assert ws.response.header("Server") == "test-server"
            assert ws.request is not None and ws.request.target == "/a?b=c"
            assert ws.request.header("User-Agent") == "test-agent"
            assert ws.raw_request.startswith(b"GET /a?b=c HTTP/1.1\r\n")
            assert ws.raw_request.endswith(b"\r\n\r\n")
            assert ws.raw_response.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
            assert ws.raw_response.endswith(b"\r\n\r\n")
            assert ws.extensions == [("permessage-deflate", [("server_max_window_bits", "12")])]
            assert ws.remote_address[1] == port_of(server)
            assert isinstance(ws.id.hex, str) and ws.id != ws.id.__class__(int=0)
            server_side = seen["request"]
            assert isinstance(server_side, Request)
            assert server_side.header("X-Test") == "1"
            assert seen["raw"] == (ws.raw_request, ws.raw_response)
            assert seen["addresses"] == (ws.remote_address, ws.local_address)
            server_response = seen["response"]
            assert isinstance(server_response, Response)
            assert server_response.extensions == ws.extensions
        assert client_traces == [("request", ws.raw_request), ("response", ws.raw_response)]
        assert server_traces == [("request", ws.raw_request), ("response", ws.raw_response)]

    run(main)


def test_compression_negotiation(use_backend: str) -> None:
    async def handler(ws):  # type: ignore[no-untyped-def]
        await ws.send(repr(ws.extensions))
        async for message in ws:
            await ws.send(message)

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0) as server:
            async with connect(url(server), compression=None) as ws:
                assert ws.extensions == [] and await ws.recv() == "[]"
                assert "Sec-WebSocket-Extensions" not in ws.raw_request.decode()
            options = DeflateOptions(client_max_window_bits=10, client_no_context_takeover=True)
            async with connect(url(server), compression=options) as ws:
                assert dict(ws.extensions[0][1]) == {
                    "server_max_window_bits": "12",
                    "client_max_window_bits": "10",
                    "client_no_context_takeover": None,
                }
                await ws.recv()
                text = "compress me " * 1000
                await ws.send(text)
                assert await ws.recv() == text
        async with serve(handler, "127.0.0.1", 0, compression=None) as server, connect(
            url(server)
        ) as ws:
            assert ws.extensions == [] and await ws.recv() == "[]"
        with pytest.raises(ValueError):
            serve(handler, "127.0.0.1", 0, compression="zstd")
        with pytest.raises(ValueError):
            connect("ws://127.0.0.1:1/", compression="zstd")

    run(main)


def test_unix_socket(use_backend: str) -> None:
    async def main() -> None:
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "ws.sock")
            async with unix_serve(echo, path) as server:
                assert server.sockets
                async with unix_connect(path) as ws:
                    await ws.send("over unix")
                    assert await ws.recv() == "over unix"

    run(main)


@pytest.mark.parametrize("loop", LOOPS)
def test_tls(use_backend: str, loop: str, tls: TLS) -> None:
    async def main() -> None:
        context = tls.server_context()
        async with serve(echo, "127.0.0.1", 0, ssl=context, max_size=None) as server:
            port = port_of(server)
            for host in ("localhost", "127.0.0.1"):
                wss = f"wss://{host}:{port}/"
                async with connect(wss, ssl=tls.client_context(), max_size=None) as ws:
                    assert ws.transport.get_extra_info("ssl_object") is not None
                    await ws.send("secret")
                    assert await ws.recv() == "secret"
                    big = os.urandom(3 << 20)
                    await ws.send(big)
                    assert await ws.recv() == big
            # the default context verifies: trustme's CA is unknown to it
            with pytest.raises(ssl.SSLCertVerificationError) as info:
                await connect(f"wss://localhost:{port}/")
            assert f"TLS handshake with localhost:{port} failed" in str(info.value)
            assert "certificate verify failed" in str(info.value)
            assert info.value.verify_code != 0
            # a name the certificate does not cover
            with pytest.raises(ssl.SSLCertVerificationError):
                await connect(
                    f"wss://localhost:{port}/",
                    ssl=tls.client_context(),
                    server_hostname="other.example",
                )
        with pytest.raises(ValueError, match="ssl"):
            connect("ws://localhost/", ssl=tls.client_context())

    run(main, loop=loop)


def test_invalid_uri(use_backend: str) -> None:
    for bad in ("http://example.com/", "ws://", "ws://host/#fragment", "wss://h:0/"):
        with pytest.raises(InvalidURI):
            connect(bad)


def test_reuse_port_and_start_serving(use_backend: str) -> None:
    async def main() -> None:
        first = await serve(echo, "127.0.0.1", 0, reuse_port=True)
        port = port_of(first)
        second = serve(echo, "127.0.0.1", port, reuse_port=True, start_serving=False)
        await second  # bound to the same port, not accepting yet
        assert port_of(second) == port and not second.is_serving()
        await second.start_serving()
        assert second.is_serving()
        for _ in range(4):
            async with connect(f"ws://127.0.0.1:{port}/") as ws:
                await ws.send("either")
                assert await ws.recv() == "either"
        for server in (first, second):
            server.close()
            await server.wait_closed()

    run(main)


def test_process_request_sees_the_refusal_of_plain_requests(use_backend: str) -> None:
    """The core reports a request that is no valid upgrade (``request.refusal``)
    to process_request before any answer; the trace shows the request head as
    received and the whole answer."""
    seen: list[tuple[str, int | None, bytes, str]] = []
    traces: list[tuple[str, bytes]] = []

    def process_request(ws, request):  # type: ignore[no-untyped-def]
        refusal = request.refusal
        status = None if refusal is None else refusal.status
        seen.append((request.target, status, ws.raw_request, ws.protocol.backend))
        if request.target == "/health":
            return ws.respond(200, "OK\n")
        return None

    async def main() -> None:
        async with serve(
            echo,
            "127.0.0.1",
            0,
            origins=["https://good.example"],
            process_request=process_request,
            trace=lambda ws, kind, data: traces.append((kind, data)),
        ) as server:
            port = port_of(server)
            plain = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
            answer = await raw_http(port, plain)
            assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and answer.endswith(b"\r\n\r\nOK\n")
            assert traces == [("request", plain), ("response", answer)]
            assert seen == [("/health", 400, plain, use_backend)]
            traces.clear()
            with pytest.raises(InvalidHandshake) as info:  # a refused Origin: 403 after the hook
                await connect(url(server, "/x"), origin="https://evil.example")
            assert info.value.status == 403 and b"is not allowed" in info.value.body
            assert seen[-1][:2] == ("/x", 403)
            assert [kind for kind, _ in traces] == ["request", "response"]
            assert traces[1][1].endswith(info.value.body)
            async with connect(url(server, "/ok"), origin="https://good.example") as ws:
                await ws.send("hi")
                assert await ws.recv() == "hi"
            assert seen[-1][:2] == ("/ok", None)

    run(main)


def test_refusals_are_traced_without_process_request(use_backend: str) -> None:
    """Without process_request the core refuses at once; the request head is
    traced all the same (as received), then the answer as sent."""
    traces: list[tuple[str, bytes]] = []

    async def main() -> None:
        async with serve(
            echo, "127.0.0.1", 0, trace=lambda ws, kind, data: traces.append((kind, data))
        ) as server:
            plain = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
            answer = await raw_http(port_of(server), plain)
            assert answer.startswith(b"HTTP/1.1 400 ")
            assert traces == [("request", plain), ("response", answer)]
            traces.clear()
            answer = await raw_http(port_of(server), b"garbage\r\n\r\n")
            assert traces == [("request", b"garbage\r\n\r\n"), ("response", answer)]

    run(main)


def test_open_timeout_while_process_request_holds_a_plain_request(use_backend: str) -> None:
    """A plain request waiting for process_request is under open_timeout too."""
    release = None

    async def process_request(ws, request):  # type: ignore[no-untyped-def]
        assert request.refusal is not None
        await release.wait()

    async def main() -> None:
        nonlocal release
        release = asyncio.Event()
        async with serve(
            echo, "127.0.0.1", 0, open_timeout=0.1, process_request=process_request
        ) as server:
            loop = asyncio.get_running_loop()
            start = loop.time()
            with contextlib.suppress(ConnectionResetError):
                answer = await raw_http(port_of(server), b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                assert answer == b""
            assert loop.time() - start < 2
            release.set()
            await asyncio.sleep(0)

    run(main)


def test_server_response_is_the_101_sent(use_backend: str) -> None:
    """The server's ``response`` holds every header it sent, as the client parsed them."""
    seen: dict[str, object] = {}

    async def handler(ws):  # type: ignore[no-untyped-def]
        seen["response"] = ws.response
        seen["raw"] = ws.raw_response
        await ws.wait_closed()

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0, subprotocols=["b"]) as server, connect(
            url(server), subprotocols=["a", "b"]
        ) as ws:
            while "response" not in seen:
                await asyncio.sleep(0.01)
            assert seen["response"] == ws.response
            assert seen["raw"] == ws.raw_response
            assert ws.response is not None and ws.response.subprotocol == "b"
            assert ws.request is not None and ws.request.subprotocols == ["a", "b"]

    run(main)
