"""fastws.asyncio.connect through an HTTP CONNECT proxy running in the test."""

from __future__ import annotations

import asyncio
import base64
import socket
import ssl

import pytest
from asyncio_helpers import LOOPS, TLS, _no_proxy_environment, port_of, run, tls_fixture  # noqa: F401

from fastws.asyncio import connect, serve
from fastws.exceptions import ProxyError

pytestmark = pytest.mark.network


async def echo(ws):  # type: ignore[no-untyped-def]
    async for message in ws:
        await ws.send(message)


class ConnectProxy:
    """A minimal CONNECT proxy (RFC 9110 §9.3.6) on 127.0.0.1, optionally
    requiring Basic credentials (407 otherwise), optionally over TLS."""

    def __init__(self, credentials: str | None = None) -> None:
        self.credentials = credentials
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.server: asyncio.AbstractServer | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self, ssl_context: ssl.SSLContext | None = None) -> int:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0, ssl=ssl_context)
        return port_of(self.server)

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.writers):
            writer.close()  # ends the pipes
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=5)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        self.writers.add(writer)
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            request_line, *lines = head.split("\r\n")
            headers = {}
            for line in lines:
                if line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            method, target, _ = request_line.split(" ")
            self.requests.append((target, headers))
            if method != "CONNECT":
                writer.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                return
            if self.credentials is not None:
                expected = "Basic " + base64.b64encode(self.credentials.encode()).decode()
                if headers.get("proxy-authorization") != expected:
                    writer.write(
                        b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                        b'Proxy-Authenticate: Basic realm="test"\r\n'
                        b"Content-Length: 12\r\n\r\nwho are you?"
                    )
                    return
            host, _, port = target.rpartition(":")
            try:
                up_reader, up_writer = await asyncio.open_connection(host.strip("[]"), int(port))
            except OSError:
                writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                return
            self.writers.add(up_writer)
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")

            async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
                try:
                    while data := await src.read(65536):
                        dst.write(data)
                        await dst.drain()
                except OSError:
                    pass
                finally:
                    dst.close()

            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        finally:
            writer.close()
            self.writers.discard(writer)
            self.tasks.discard(task)


@pytest.mark.parametrize("loop", LOOPS)
def test_proxy_without_credentials(use_backend: str, loop: str) -> None:
    async def main() -> None:
        proxy = ConnectProxy()
        proxy_port = await proxy.start()
        traces: list[str] = []
        async with serve(echo, "127.0.0.1", 0) as server:
            port = port_of(server)
            async with connect(
                f"ws://127.0.0.1:{port}/",
                proxy=f"http://127.0.0.1:{proxy_port}",
                trace=lambda kind, data: traces.append(kind),
            ) as ws:
                await ws.send("through the tunnel")
                assert await ws.recv() == "through the tunnel"
                big = b"z" * (1 << 20)
                await ws.send(big)
                assert await ws.recv() == big
        assert [target for target, _ in proxy.requests] == [f"127.0.0.1:{port}"]
        assert proxy.requests[0][1]["host"] == f"127.0.0.1:{port}"
        assert "proxy-authorization" not in proxy.requests[0][1]
        assert traces == ["proxy-request", "proxy-response", "request", "response"]
        await proxy.stop()

    run(main, loop=loop)


def test_proxy_with_credentials(use_backend: str) -> None:
    async def main() -> None:
        proxy = ConnectProxy(credentials="us@er:p:ss")
        proxy_port = await proxy.start()
        async with serve(echo, "127.0.0.1", 0) as server:
            uri = f"ws://127.0.0.1:{port_of(server)}/"
            good = f"http://us%40er:p%3Ass@127.0.0.1:{proxy_port}"
            async with connect(uri, proxy=good) as ws:
                await ws.send("authenticated")
                assert await ws.recv() == "authenticated"
            for bad in (f"http://127.0.0.1:{proxy_port}", f"http://us%40er:wrong@127.0.0.1:{proxy_port}"):
                with pytest.raises(ProxyError) as info:
                    await connect(uri, proxy=bad)
                exc = info.value
                assert exc.status == 407 and exc.body == b"who are you?"
                assert ("Proxy-Authenticate", 'Basic realm="test"') in exc.headers
                assert f"proxy 127.0.0.1:{proxy_port} refused to open a tunnel" in str(exc)
                assert "407 Proxy Authentication Required" in str(exc)
        await proxy.stop()

    run(main)


def test_proxy_from_environment_and_no_proxy(
    use_backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def main() -> None:
        proxy = ConnectProxy()
        proxy_port = await proxy.start()
        async with serve(echo, "127.0.0.1", 0) as server:
            uri = f"ws://127.0.0.1:{port_of(server)}/"
            monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{proxy_port}")
            async with connect(uri) as ws:
                await ws.send("env")
                assert await ws.recv() == "env"
            assert len(proxy.requests) == 1
            async with connect(uri, proxy=None):  # proxy=None ignores the environment
                pass
            monkeypatch.setenv("no_proxy", "localhost,127.0.0.1")
            async with connect(uri):
                pass
            assert len(proxy.requests) == 1
            monkeypatch.delenv("no_proxy")
            monkeypatch.delenv("http_proxy")
            monkeypatch.setenv("all_proxy", f"127.0.0.1:{proxy_port}")  # no scheme: http
            async with connect(uri):
                pass
            assert len(proxy.requests) == 2
        await proxy.stop()

    run(main)


@pytest.mark.parametrize("loop", LOOPS)
def test_wss_through_proxy(use_backend: str, loop: str, tls: TLS) -> None:
    async def main() -> None:
        proxy = ConnectProxy()
        proxy_port = await proxy.start()
        async with serve(echo, "127.0.0.1", 0, ssl=tls.server_context()) as server:
            uri = f"wss://localhost:{port_of(server)}/"
            async with connect(
                uri, proxy=f"http://127.0.0.1:{proxy_port}", ssl=tls.client_context()
            ) as ws:
                assert ws.transport.get_extra_info("ssl_object") is not None
                await ws.send("tls in a tunnel")
                assert await ws.recv() == "tls in a tunnel"
            # the certificate is checked through the tunnel too
            with pytest.raises(ssl.SSLCertVerificationError, match="TLS handshake with localhost"):
                await connect(uri, proxy=f"http://127.0.0.1:{proxy_port}")
        await proxy.stop()

    run(main, loop=loop)


@pytest.mark.parametrize("loop", LOOPS)
def test_https_proxy(use_backend: str, loop: str, tls: TLS) -> None:
    async def main() -> None:
        proxy = ConnectProxy(credentials="u:p")
        proxy_port = await proxy.start(tls.server_context())
        async with serve(echo, "127.0.0.1", 0) as server, connect(
            f"ws://127.0.0.1:{port_of(server)}/",
            proxy=f"https://u:p@localhost:{proxy_port}",
            proxy_ssl=tls.client_context(),
        ) as ws:
            await ws.send("via https proxy")
            assert await ws.recv() == "via https proxy"
        async with serve(echo, "127.0.0.1", 0, ssl=tls.server_context()) as server, connect(
            f"wss://localhost:{port_of(server)}/",
            proxy=f"https://u:p@localhost:{proxy_port}",
            proxy_ssl=tls.client_context(),
            ssl=tls.client_context(),
        ) as ws:  # TLS inside TLS
            await ws.send("tls in tls")
            assert await ws.recv() == "tls in tls"
        await proxy.stop()

    run(main, loop=loop)


def test_proxy_failures(use_backend: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]

    async def main() -> None:
        with pytest.raises(ConnectionRefusedError) as info:
            await connect("ws://127.0.0.1:1/", proxy=f"http://127.0.0.1:{closed_port}")
        assert f"connection refused by the proxy 127.0.0.1:{closed_port}" in str(info.value)
        proxy = ConnectProxy()
        proxy_port = await proxy.start()
        with pytest.raises(ProxyError) as perr:  # the proxy cannot reach the target
            await connect(f"ws://127.0.0.1:{closed_port}/", proxy=f"http://127.0.0.1:{proxy_port}")
        assert perr.value.status == 502
        await proxy.stop()

        async def mute(reader, writer):  # type: ignore[no-untyped-def]
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"not http at all\r\n\r\n")
            writer.close()

        server = await asyncio.start_server(mute, "127.0.0.1", 0)
        with pytest.raises(ProxyError, match="invalid HTTP response from proxy"):
            await connect("ws://127.0.0.1:1/", proxy=f"http://127.0.0.1:{port_of(server)}")
        server.close()

    run(main)
