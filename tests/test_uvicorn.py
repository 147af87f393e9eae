"""fastws.uvicorn.FastWSProtocol under a real uvicorn process.

Each server is ``python -m uvicorn APP --ws fastws.uvicorn:FastWSProtocol
--fd N`` on a listening socket this test bound on 127.0.0.1 port 0 and
handed over (no port race). Two applications with the same routes: a plain
ASGI app (uvicorn's asyncio loop and h11) and a Starlette app (uvloop and
httptools), so both of uvicorn's HTTP protocols and both loops hand
connections over to the class. Clients: fastws and websockets, in this
process. Every test runs for both backends: the ``python`` id starts uvicorn
with ``FASTWS_NO_EXTENSIONS=1`` (and the in-process fastws client on the
pure kernels, through ``use_backend``).

What is checked: the scope, accept with a subprotocol and extra headers,
text and binary echo (with and without permessage-deflate), refusal with
403 and the denial-response extension (status, headers, body), close codes
and reasons both ways (the application's ``websocket.disconnect`` is
reported back by a later connection), an application error before and after
accept (500 / 1011), an oversize message (``--ws-max-size`` -> 1009 both
ways), keepalive pings and their timeout (1011), and shutdown (SIGINT ->
1012, as uvicorn's own implementations).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("uvicorn")
pytest.importorskip("starlette")
pytest.importorskip("websockets")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_SIZE = 65536
TIMEOUT = 10.0

pytestmark = pytest.mark.network

APP_SOURCE = '''
import asyncio
import json

LAST = []  # (path, code, reason) of every disconnect seen by /record


def _subprotocol(offered):
    for name in ("chat.v2", "chat.v1"):
        if name in offered:
            return name
    return None


async def plain(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    assert scope["type"] == "websocket"
    path = scope["path"]
    message = await receive()
    assert message == {"type": "websocket.connect"}, message
    if path == "/reject":
        await send({"type": "websocket.close"})
        return
    if path == "/deny":
        await send({"type": "websocket.http.response.start", "status": 401,
                    "headers": [(b"content-type", b"text/plain"), (b"x-reason", b"token")]})
        await send({"type": "websocket.http.response.body", "body": b"no ", "more_body": True})
        await send({"type": "websocket.http.response.body", "body": b"token"})
        return
    if path == "/error-before":
        raise RuntimeError("boom before accept")
    accept = {"type": "websocket.accept", "headers": [(b"x-app", b"plain")]}
    if path == "/subprotocol":
        accept["subprotocol"] = _subprotocol(scope["subprotocols"])
    await send(accept)
    if path == "/info":
        await send({"type": "websocket.send", "text": json.dumps({
            "path": scope["path"], "query": scope["query_string"].decode(),
            "raw_path": scope["raw_path"].decode(), "scheme": scope["scheme"],
            "spec": scope["asgi"]["spec_version"],
            "subprotocols": scope["subprotocols"],
            "headers": [[k.decode(), v.decode()] for k, v in scope["headers"]],
            "ext": sorted(scope.get("extensions", {})),
            "backend": __import__("fastws").backend,
            "protocol": type(send.__self__).__module__ + "." + type(send.__self__).__name__,
        })})
        return
    if path == "/last":
        await send({"type": "websocket.send", "text": json.dumps(LAST)})
        await send({"type": "websocket.close", "code": 1000})
        return
    if path == "/error-after":
        raise RuntimeError("boom after accept")
    if path == "/close":
        await receive()
        await send({"type": "websocket.close", "code": 4001, "reason": "bye"})
        message = await receive()
        LAST.append([path, message["type"], message.get("code")])
        return
    while True:  # /echo, /subprotocol, /record
        message = await receive()
        if message["type"] == "websocket.disconnect":
            if path == "/record":
                LAST.append([path, message["code"], message.get("reason", "")])
            return
        if message.get("bytes") is not None:
            await send({"type": "websocket.send", "bytes": message["bytes"]})
        else:
            await send({"type": "websocket.send", "text": message["text"]})


def _starlette():
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    async def echo(ws: WebSocket):
        sub = _subprotocol(ws.scope["subprotocols"]) if ws.url.path == "/subprotocol" else None
        await ws.accept(subprotocol=sub, headers=[(b"x-app", b"starlette")])
        try:
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    raise WebSocketDisconnect(message["code"], message.get("reason"))
                if message.get("bytes") is not None:
                    await ws.send_bytes(message["bytes"])
                else:
                    await ws.send_text(message["text"])
        except WebSocketDisconnect as exc:
            if ws.url.path == "/record":
                LAST.append([ws.url.path, exc.code, exc.reason or ""])

    async def info(ws: WebSocket):
        await ws.accept(headers=[(b"x-app", b"starlette")])
        scope = ws.scope
        await ws.send_json({
            "path": scope["path"], "query": scope["query_string"].decode(),
            "raw_path": scope["raw_path"].decode(), "scheme": scope["scheme"],
            "spec": scope["asgi"]["spec_version"],
            "subprotocols": scope["subprotocols"],
            "headers": [[k.decode(), v.decode()] for k, v in scope["headers"]],
            "ext": sorted(scope.get("extensions", {})),
            "backend": __import__("fastws").backend,
        })

    async def last(ws: WebSocket):
        await ws.accept()
        await ws.send_text(json.dumps(LAST))
        await ws.close(1000)

    async def reject(ws: WebSocket):
        await ws.close()

    async def deny(ws: WebSocket):
        response = PlainTextResponse("no token", status_code=401, headers={"x-reason": "token"})
        await ws.send_denial_response(response)

    async def close(ws: WebSocket):
        await ws.accept()
        await ws.receive_text()
        await ws.close(4001, "bye")
        message = await ws.receive()
        LAST.append([ws.url.path, message["type"], message.get("code")])

    async def error_before(ws: WebSocket):
        raise RuntimeError("boom before accept")

    async def error_after(ws: WebSocket):
        await ws.accept()
        raise RuntimeError("boom after accept")

    return Starlette(routes=[
        WebSocketRoute("/echo", echo), WebSocketRoute("/subprotocol", echo),
        WebSocketRoute("/record", echo), WebSocketRoute("/info", info),
        WebSocketRoute("/last", last), WebSocketRoute("/reject", reject),
        WebSocketRoute("/deny", deny), WebSocketRoute("/close", close),
        WebSocketRoute("/error-before", error_before),
        WebSocketRoute("/error-after", error_after),
    ])


starlette = _starlette()
'''

# app id -> (attribute, uvicorn options): both HTTP protocols, both loops.
APPS = {
    "plain": ("plain", ["--loop", "asyncio", "--http", "h11"]),
    "starlette": ("starlette", ["--loop", "uvloop", "--http", "httptools"]),
}
CLIENTS = ["fastws", "websockets"]


class Uvicorn:
    """A uvicorn process serving ``app`` with FastWSProtocol on a socket we bound."""

    def __init__(self, app_dir: str, app: str, backend: str, extra: list[str]) -> None:
        attribute, options = APPS[app]
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        env = dict(os.environ)
        env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        if backend == "python":
            env["FASTWS_NO_EXTENSIONS"] = "1"
        else:
            env.pop("FASTWS_NO_EXTENSIONS", None)
        self.log_path = os.path.join(app_dir, f"uvicorn-{app}-{backend}-{id(self)}.log")
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        fd = self.sock.fileno()
        self.proc = subprocess.Popen(
            [
                sys.executable, "-m", "uvicorn", f"uvicorn_test_app:{attribute}",
                "--app-dir", app_dir, "--fd", str(fd),
                "--ws", "fastws.uvicorn:FastWSProtocol",
                "--ws-max-size", str(MAX_SIZE), "--log-level", "info", *options, *extra,
            ],
            stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=ROOT, pass_fds=[fd],
        )
        self._wait_running()

    def _wait_running(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"uvicorn exited: {self.output()}")
            if "Uvicorn running" in self.output():
                return
            time.sleep(0.05)
        raise RuntimeError(f"uvicorn did not start: {self.output()}")

    def output(self) -> str:
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.sock.close()
        self.log.close()


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("uvicorn_app")
    (path / "uvicorn_test_app.py").write_text(textwrap.dedent(APP_SOURCE))
    return str(path)


_servers: dict[tuple[str, str], Uvicorn] = {}


@pytest.fixture(scope="module")
def servers(app_dir: str) -> Iterator[dict[tuple[str, str], Uvicorn]]:
    """Shared servers, started on first use, one per (app, backend)."""
    yield _servers
    for server in _servers.values():
        server.stop()
    _servers.clear()


@pytest.fixture(params=list(APPS))
def app(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=CLIENTS)
def client(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def server(servers: dict[tuple[str, str], Uvicorn], app_dir: str, app: str,
           use_backend: str) -> Uvicorn:
    key = (app, use_backend)
    if key not in servers:
        servers[key] = Uvicorn(app_dir, app, use_backend, [])
    return servers[key]


def run(coroutine: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine, TIMEOUT))


# ---------------------------------------------------------------- clients


class Closed(Exception):
    """How a client saw the connection end: the close frame received."""

    def __init__(self, code: int | None, reason: str | None) -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason


class Refused(Exception):
    """The handshake was answered with an HTTP status other than 101."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        super().__init__(status)
        self.status = status
        self.headers = headers
        self.body = body


class Client:
    """The same small API over the fastws and websockets clients."""

    def __init__(self, kind: str, ws: Any) -> None:
        self.kind = kind
        self.ws = ws

    @classmethod
    async def open(cls, kind: str, url: str, **options: Any) -> Client:
        compression = options.pop("compression", "deflate")
        try:
            if kind == "fastws":
                from fastws.asyncio import connect as fconnect
                from fastws.exceptions import InvalidHandshake

                try:
                    ws = await fconnect(url, proxy=None, compression=compression,
                                        max_size=None, **options)
                except InvalidHandshake as exc:
                    if exc.status is None:
                        raise
                    headers = {k.lower(): v for k, v in exc.headers or []}
                    raise Refused(exc.status, headers, bytes(exc.body or b"")) from exc
            else:
                from websockets.asyncio.client import connect as wconnect
                from websockets.exceptions import InvalidStatus

                try:
                    ws = await wconnect(url, proxy=None, compression=compression,
                                        max_size=None, **options)
                except InvalidStatus as exc:
                    response = exc.response
                    headers = {k.lower(): v for k, v in response.headers.raw_items()}
                    raise Refused(response.status_code, headers, response.body or b"") from exc
        except Refused:
            raise
        return cls(kind, ws)

    @property
    def subprotocol(self) -> str | None:
        return self.ws.subprotocol  # type: ignore[no-any-return]

    def header(self, name: str) -> str | None:
        if self.kind == "fastws":
            return self.ws.response.header(name)  # type: ignore[no-any-return]
        return self.ws.response.headers.get(name)  # type: ignore[no-any-return]

    async def send(self, data: Any) -> None:
        await self.ws.send(data)

    async def recv(self) -> Any:
        try:
            return await self.ws.recv()
        except Exception as exc:
            raise self._closed(exc) from exc

    def _closed(self, exc: Exception) -> Exception:
        if self.kind == "fastws":
            from fastws.exceptions import ConnectionClosed as FClosed

            if isinstance(exc, FClosed):
                rcvd = exc.rcvd
                return Closed(rcvd.code if rcvd else None, rcvd.reason if rcvd else None)
        else:
            from websockets.exceptions import ConnectionClosed as WClosed

            if isinstance(exc, WClosed):
                rcvd = exc.rcvd
                return Closed(rcvd.code if rcvd else None, rcvd.reason if rcvd else None)
        return exc

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self.ws.close(code, reason)

    async def wait_closed(self) -> Closed:
        """Read until the server closes; the close frame received."""
        while True:
            try:
                await self.ws.recv()
            except Exception as exc:
                closed = self._closed(exc)
                if isinstance(closed, Closed):
                    return closed
                raise


async def last_disconnects(server: Uvicorn, client: str) -> list[list[Any]]:
    """What the app's /record and /close routes saw (a list of entries)."""
    ws = await Client.open(client, server.url("/last"))
    data = json.loads(await ws.recv())
    await ws.wait_closed()
    return data  # type: ignore[no-any-return]


async def wait_for_entry(server: Uvicorn, client: str, entry: list[Any]) -> None:
    """The app records a disconnect once its task saw it: poll /last briefly."""
    for _ in range(100):
        if entry in await last_disconnects(server, client):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{entry} not in {await last_disconnects(server, client)}")


# ------------------------------------------------------------------ tests


def test_backend_and_class_in_use(server: Uvicorn, client: str, use_backend: str) -> None:
    """The subprocess runs FastWSProtocol on the requested backend."""
    from fastws import _backend

    assert _backend.backend == use_backend

    async def main() -> None:
        ws = await Client.open(client, server.url("/echo"))
        await ws.send("hi")
        assert await ws.recv() == "hi"
        await ws.close()

    run(main())
    out = server.output()
    assert "[accepted]" in out
    assert "Traceback" not in out


def test_scope(server: Uvicorn, client: str, app: str, use_backend: str) -> None:
    async def main() -> dict[str, Any]:
        ws = await Client.open(client, server.url("/info?x=1&y=%20"), subprotocols=["a", "b"],
                               compression=None)
        assert ws.header("x-app") == app
        info = json.loads(await ws.recv())
        await ws.wait_closed()
        return info  # type: ignore[no-any-return]

    info = run(main())
    assert info["backend"] == use_backend  # FASTWS_NO_EXTENSIONS=1 for python
    if app == "plain":
        assert info["protocol"] == "fastws.uvicorn.FastWSProtocol"
    assert info["path"] == "/info"
    assert info["raw_path"] == "/info"
    assert info["query"] == "x=1&y=%20"
    assert info["scheme"] == "ws"
    assert info["spec"] == "2.4"
    assert info["subprotocols"] == ["a", "b"]
    assert "websocket.http.response" in info["ext"]
    headers = dict(info["headers"])
    assert headers["host"] == f"127.0.0.1:{server.port}"
    assert headers["upgrade"].lower() == "websocket"
    assert all(name == name.lower() for name, _ in info["headers"])


@pytest.mark.parametrize("compression", ["deflate", None])
def test_echo(server: Uvicorn, client: str, compression: str | None) -> None:
    messages: list[Any] = ["hello", "é" * 1000, b"\x00\xff" * 3000, b"", "", "x" * 40000,
                           bytes(range(256)) * 100]

    async def main() -> None:
        ws = await Client.open(client, server.url("/echo"), compression=compression)
        extensions = ws.header("Sec-WebSocket-Extensions") or ""
        assert ("permessage-deflate" in extensions) == (compression is not None)
        for message in messages:
            await ws.send(message)
            assert await ws.recv() == message
        # Pipelined: many messages in flight, answered in order.
        for i in range(200):
            await ws.send(f"m{i}" if i % 2 else bytes([i]) * i)
        for i in range(200):
            assert await ws.recv() == (f"m{i}" if i % 2 else bytes([i]) * i)
        await ws.close()

    run(main())


def test_subprotocol(server: Uvicorn, client: str) -> None:
    async def main() -> None:
        ws = await Client.open(client, server.url("/subprotocol"),
                               subprotocols=["chat.v1", "chat.v2"])
        assert ws.subprotocol == "chat.v2"
        assert ws.header("Sec-WebSocket-Protocol") == "chat.v2"
        await ws.send("x")
        assert await ws.recv() == "x"
        await ws.close()
        ws = await Client.open(client, server.url("/subprotocol"), subprotocols=["chat.v1"])
        assert ws.subprotocol == "chat.v1"
        await ws.close()
        ws = await Client.open(client, server.url("/subprotocol"))
        assert ws.subprotocol is None
        assert ws.header("Sec-WebSocket-Protocol") is None
        await ws.close()

    run(main())


def test_reject_403(server: Uvicorn, client: str) -> None:
    async def main() -> None:
        with pytest.raises(Refused) as info:
            await Client.open(client, server.url("/reject"))
        assert info.value.status == 403

    run(main())


def test_denial_response(server: Uvicorn, client: str) -> None:
    async def main() -> None:
        with pytest.raises(Refused) as info:
            await Client.open(client, server.url("/deny"))
        assert info.value.status == 401
        assert info.value.headers.get("x-reason") == "token"
        assert info.value.headers.get("content-type", "").startswith("text/plain")
        assert info.value.headers.get("content-length") == "8"
        assert info.value.body == b"no token"

    run(main())


def test_server_closes_with_code(server: Uvicorn, client: str) -> None:
    """websocket.close(4001, "bye"): the client sees them; after the client's
    answer the application receives websocket.disconnect."""

    async def main() -> None:
        ws = await Client.open(client, server.url("/close"))
        await ws.send("please close")
        closed = await ws.wait_closed()
        assert (closed.code, closed.reason) == (4001, "bye")
        await wait_for_entry(server, client, ["/close", "websocket.disconnect", 4001])

    run(main())


@pytest.mark.parametrize(("code", "reason"), [(1000, ""), (4002, "client says bye"), (1001, "x")])
def test_client_closes_with_code(server: Uvicorn, client: str, code: int, reason: str) -> None:
    """The application receives websocket.disconnect with the client's code and reason."""

    async def main() -> None:
        ws = await Client.open(client, server.url("/record"))
        await ws.send("x")
        assert await ws.recv() == "x"
        await ws.close(code, reason)
        await wait_for_entry(server, client, ["/record", code, reason])

    run(main())


def test_abrupt_disconnect(server: Uvicorn, client: str) -> None:
    """The TCP connection drops without a close frame: websocket.disconnect 1006."""

    async def main() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (f"GET /record HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nUpgrade: websocket\r\n"
             f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
             "Sec-WebSocket-Version: 13\r\n\r\n").encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101")
        writer.transport.abort()
        await wait_for_entry(server, client, ["/record", 1006, ""])

    run(main())


def test_oversize_message(server: Uvicorn, client: str) -> None:
    """A message over --ws-max-size fails the connection with 1009 (RFC 6455
    §7.4.1) and the application receives websocket.disconnect 1009."""

    async def main() -> None:
        ws = await Client.open(client, server.url("/record"), compression=None)
        await ws.send(b"y" * MAX_SIZE)  # exactly the limit: fine
        assert len(await ws.recv()) == MAX_SIZE
        await ws.send(b"z" * (MAX_SIZE + 1))
        closed = await ws.wait_closed()
        assert closed.code == 1009
        entries = await _entries_with_code(server, client, 1009)
        assert entries and entries[-1][0] == "/record"

    run(main())


async def _entries_with_code(server: Uvicorn, client: str, code: int) -> list[list[Any]]:
    for _ in range(100):
        entries = [e for e in await last_disconnects(server, client) if e[1] == code]
        if entries:
            return entries
        await asyncio.sleep(0.02)
    return []


def test_application_error_before_accept(server: Uvicorn, client: str) -> None:
    async def main() -> None:
        with pytest.raises(Refused) as info:
            await Client.open(client, server.url("/error-before"))
        assert info.value.status == 500

    run(main())
    assert "boom before accept" in server.output()


def test_application_error_after_accept(server: Uvicorn, client: str) -> None:
    """An exception after accept closes with 1011 (internal error)."""

    async def main() -> None:
        ws = await Client.open(client, server.url("/error-after"))
        closed = await ws.wait_closed()
        assert closed.code == 1011

    run(main())
    assert "boom after accept" in server.output()


def test_invalid_handshake_rejected(server: Uvicorn) -> None:
    """A request uvicorn hands over but RFC 6455 §4.2.1 refuses (bad key): 400."""

    async def main() -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(
            (f"GET /echo HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Key: not-a-key\r\n"
             "Sec-WebSocket-Version: 13\r\n\r\n").encode()
        )
        data = await reader.read()
        writer.close()
        return data

    data = run(main())
    assert data.startswith(b"HTTP/1.1 400")


# ------------------------------------------------- dedicated server processes


def test_keepalive_ping_and_timeout(app_dir: str, use_backend: str) -> None:
    """--ws-ping-interval: the server pings; a client that never answers is
    closed with 1011 after --ws-ping-timeout."""
    server = Uvicorn(app_dir, "plain", use_backend,
                     ["--ws-ping-interval", "0.2", "--ws-ping-timeout", "0.3"])
    try:

        async def main() -> tuple[int, int]:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            key = base64.b64encode(os.urandom(16)).decode()
            writer.write(
                (f"GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                 f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                 "Sec-WebSocket-Version: 13\r\n\r\n").encode()
            )
            await reader.readuntil(b"\r\n\r\n")
            ping = await reader.readexactly(2)
            assert ping[0] == 0x89  # FIN + ping (RFC 6455 §5.5.2), unmasked
            await reader.readexactly(ping[1] & 0x7F)
            close = await reader.readexactly(2)
            assert close[0] == 0x88
            payload = await reader.readexactly(close[1] & 0x7F)
            writer.close()
            return ping[0], int.from_bytes(payload[:2], "big")

        _, code = run(main())
        assert code == 1011
    finally:
        server.stop()


def test_tls(app_dir: str, app: str, use_backend: str, tmp_path: Any) -> None:
    """Over TLS uvicorn hands an SSL transport to the class: scheme ``wss``, echo."""
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.private_key_pem.write_to_path(str(key_path))
    cert.cert_chain_pems[0].write_to_path(str(cert_path))
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    ca.configure_trust(context)
    server = Uvicorn(app_dir, app, use_backend,
                     ["--ssl-certfile", str(cert_path), "--ssl-keyfile", str(key_path)])
    try:

        async def main() -> None:
            url = f"wss://127.0.0.1:{server.port}"
            for kind in CLIENTS:
                ws = await Client.open(kind, url + "/info", ssl=context)
                assert json.loads(await ws.recv())["scheme"] == "wss"
                await ws.wait_closed()
                ws = await Client.open(kind, url + "/echo", ssl=context)
                for message in ("tls", b"\x01" * 60000):
                    await ws.send(message)
                    assert await ws.recv() == message
                await ws.close()

        run(main())
    finally:
        server.stop()


def test_shutdown_closes_with_1012(app_dir: str, app: str, use_backend: str) -> None:
    """SIGINT: uvicorn shuts down; every open connection receives a close
    frame with 1012 (service restart), like uvicorn's own implementations."""
    server = Uvicorn(app_dir, app, use_backend, [])
    try:

        async def main() -> list[int | None]:
            clients = [await Client.open(kind, server.url("/echo")) for kind in CLIENTS]
            for ws in clients:
                await ws.send("before")
                assert await ws.recv() == "before"
            server.proc.send_signal(signal.SIGINT)
            closed = [await ws.wait_closed() for ws in clients]
            return [c.code for c in closed]

        assert run(main()) == [1012, 1012]
        assert server.proc.wait(10) == 0
    finally:
        server.stop()


# ------------------------------------------------------------- in process


class _FakeTransport(asyncio.Transport):
    """Records writes and read pausing (what uvicorn's transports do)."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.paused = False
        self.pauses = 0
        self.closed = False

    def write(self, data: Any) -> None:
        self.written += data

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}.get(
            name, default
        )

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        self.paused = True
        self.pauses += 1

    def resume_reading(self) -> None:
        self.paused = False


def test_flow_control_ws_max_queue(use_backend: str) -> None:
    """Reading pauses once ``ws_max_queue`` messages wait for the application
    and resumes when it has read them down to a quarter; nothing is lost."""
    from uvicorn.config import Config
    from uvicorn.server import ServerState

    from fastws.frames import build_frame
    from fastws.uvicorn import FastWSProtocol

    async def main() -> None:
        release = asyncio.Event()
        received: list[Any] = []

        async def app(scope: Any, receive: Any, send: Any) -> None:
            await receive()
            await send({"type": "websocket.accept"})
            await release.wait()
            while True:
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    return
                received.append(message["bytes"])

        config = Config(app, ws_max_queue=8, ws_per_message_deflate=False, lifespan="off",
                        ws_ping_interval=None)
        config.load()
        state = ServerState()
        protocol = FastWSProtocol(config=config, server_state=state, app_state={})
        transport = _FakeTransport()
        protocol.connection_made(transport)
        key = base64.b64encode(os.urandom(16)).decode()
        protocol.data_received(
            (f"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()
        )
        for _ in range(20):
            await asyncio.sleep(0)
        assert transport.written.startswith(b"HTTP/1.1 101")
        for i in range(20):
            protocol.data_received(build_frame(2, bytes([i]) * 10, True, 0, b"abcd"))
            assert transport.paused == (i >= 7)
        release.set()
        for _ in range(100):
            await asyncio.sleep(0)
        assert not transport.paused
        assert transport.pauses == 1
        assert received == [bytes([i]) * 10 for i in range(20)]
        protocol.data_received(build_frame(8, b"\x03\xe8", True, 0, b"abcd"))
        for _ in range(20):
            await asyncio.sleep(0)
        assert transport.closed
        protocol.connection_lost(None)
        await asyncio.wait_for(asyncio.gather(*list(state.tasks)), TIMEOUT)
        assert not state.tasks and not state.connections

    run(main())
