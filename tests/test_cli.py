"""The ``fastws`` command line, driven as a user drives it.

Every test runs ``python -m fastws ...`` in a subprocess on the backend of
the ``use_backend`` fixture (``FASTWS_NO_EXTENSIONS=1`` for ``python``), the
servers it talks to run either as ``fastws serve`` subprocesses or in-process
on a loop in a thread (on the same backend). Pipe mode, ``-1``, ``-v`` (the
heads exactly as sent and received), the exit codes, ``serve`` and the
interactive mode under a pseudo-terminal. Everything on 127.0.0.1, every
wait bounded.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest

import fastws
from fastws.asyncio import Reject, connect, serve
from fastws.exceptions import ConnectionClosed

RFC_KEY = "dGhlIHNhbXBsZSBub25jZQ=="
RFC_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
ROOT = str(Path(fastws.__file__).resolve().parent.parent)
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "ws_proxy", "wss_proxy", "no_proxy")
TIMEOUT = 30  # seconds, for any one subprocess

pytestmark = pytest.mark.network


# ------------------------------------------------------------------ helpers


def cli_env(backend: str, **extra: str) -> dict[str, str]:
    """The environment of a ``fastws`` subprocess on ``backend``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k.lower() not in PROXY_VARIABLES and k != "FASTWS_NO_EXTENSIONS"
    }
    if backend == "python":
        env["FASTWS_NO_EXTENSIONS"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p)
    env["PYTHONIOENCODING"] = "utf-8"
    env.update(extra)
    return env


def fastws_cli(
    backend: str,
    *args: str,
    input: bytes = b"",
    env: dict[str, str] | None = None,
    timeout: float = TIMEOUT,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``python -m fastws ARGS`` with ``input`` on stdin (a pipe)."""
    return subprocess.run(
        [sys.executable, "-m", "fastws", *args],
        input=input,
        capture_output=True,
        env=cli_env(backend) if env is None else env,
        timeout=timeout,
    )


def out(result: subprocess.CompletedProcess[bytes]) -> str:
    return result.stdout.decode()


def err(result: subprocess.CompletedProcess[bytes]) -> str:
    return result.stderr.decode()


def accept_of(key: str) -> str:
    """RFC 6455 §4.2.2, computed independently of fastws."""
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def free_port() -> int:
    """A port nobody listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ThreadLoop:
    """An event loop in a thread for in-process servers (the test thread is
    free to run the CLI subprocess meanwhile)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Any, timeout: float = 10) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.run(cancel_all())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class InProcessServer:
    """A fastws server on a ThreadLoop that records what it saw."""

    def __init__(self, tl: ThreadLoop, handler: Callable[..., Any], **kwargs: Any) -> None:
        self.tl = tl
        self.raw_requests: list[bytes] = []
        self.raw_responses: list[bytes] = []
        self.connections: list[Any] = []
        self.received: list[Any] = []
        self.close_codes: list[int | None] = []
        self.stopped = False

        def trace(ws: Any, kind: str, data: bytes) -> None:
            (self.raw_requests if kind == "request" else self.raw_responses).append(data)

        async def wrapped(ws: Any) -> None:
            self.connections.append(ws)
            try:
                await handler(self, ws)
            finally:
                await ws.wait_closed()
                self.close_codes.append(ws.close_code)

        async def start() -> Any:
            return await serve(wrapped, "127.0.0.1", 0, trace=trace, **kwargs)

        self.server = tl.run(start())
        self.port = int(self.server.sockets[0].getsockname()[1])
        self.url = f"ws://127.0.0.1:{self.port}/"

    def stop(self) -> None:
        """Shut the server down (1001 to open connections); idempotent."""

        async def stop() -> None:
            self.server.close()
            await self.server.wait_closed()

        if not self.stopped:
            self.stopped = True
            self.tl.run(stop(), timeout=20)

    def wait_close_codes(self, count: int, timeout: float = 10) -> list[int | None]:
        """The close codes once ``count`` handlers have ended (they end in the
        server's thread, possibly just after the client process exited)."""
        deadline = time.monotonic() + timeout
        while len(self.close_codes) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.close_codes


async def echo_handler(server: InProcessServer, ws: Any) -> None:
    async for message in ws:
        server.received.append(message)
        await ws.send(message)


def echo_then_close(count: int) -> Callable[..., Any]:
    """A handler echoing ``count`` messages, then closing with 1000: a pipe-mode
    client ends there instead of waiting out ``--wait``."""

    async def handler(server: InProcessServer, ws: Any) -> None:
        for _ in range(count):
            message = await ws.recv()
            server.received.append(message)
            await ws.send(message)
        await ws.close(1000)

    return handler


@pytest.fixture
def thread_loop() -> Iterator[ThreadLoop]:
    tl = ThreadLoop()
    yield tl
    tl.close()


@pytest.fixture
def in_process(
    thread_loop: ThreadLoop, use_backend: str
) -> Iterator[Callable[..., InProcessServer]]:
    """Starts in-process servers (on the test's backend); stops them at the end."""
    servers: list[InProcessServer] = []

    def start(handler: Callable[..., Any] = echo_handler, **kwargs: Any) -> InProcessServer:
        server = InProcessServer(thread_loop, handler, **kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


class ServeProcess:
    """``fastws serve ... --port 0`` in a subprocess."""

    def __init__(self, backend: str, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fastws", "serve", "--port", "0", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=cli_env(backend),
        )
        assert self.proc.stdout is not None
        line = _readline_within(self.proc.stdout.fileno(), 15)
        match = re.fullmatch(r"listening on (wss?)://127\.0\.0\.1:(\d+)/\n", line)
        assert match is not None, (line, self.stop_output())
        self.scheme = match.group(1)
        self.port = int(match.group(2))
        self.url = f"{self.scheme}://127.0.0.1:{self.port}/"

    def stop(self, sig: int | None = signal.SIGINT) -> tuple[int, str, str]:
        """Signal the server (``None``: it was signalled already); its exit
        status, stdout and stderr once it has ended."""
        if sig is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
        stdout, stderr = self.proc.communicate(timeout=20)
        return self.proc.returncode, stdout.decode(), stderr.decode()

    def stop_output(self) -> str:
        self.proc.kill()
        stdout, stderr = self.proc.communicate(timeout=10)
        return (stdout + stderr).decode()


def _readline_within(fd: int, timeout: float) -> str:
    """One line from a pipe, without blocking longer than ``timeout``."""
    data = b""
    deadline = time.monotonic() + timeout
    while not data.endswith(b"\n"):
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            raise TimeoutError(f"no line within {timeout} s (got {data!r})")
        chunk = os.read(fd, 1)
        if not chunk:
            break
        data += chunk
    return data.decode()


@pytest.fixture
def serve_process(use_backend: str) -> Iterator[Callable[..., ServeProcess]]:
    """Starts ``fastws serve`` subprocesses on the test's backend; each must
    stop cleanly (exit 0) on SIGINT at the end of the test."""
    started: list[ServeProcess] = []

    def start(*args: str) -> ServeProcess:
        server = ServeProcess(use_backend, *args)
        started.append(server)
        return server

    yield start
    for server in started:
        if server.proc.returncode is None:
            status, _, stderr = server.stop()
            assert status == 0, stderr


# ------------------------------------------------------ small commands


def test_backend_and_version(use_backend: str) -> None:
    result = fastws_cli(use_backend, "backend")
    assert (result.returncode, out(result)) == (0, f"{use_backend}\n")
    result = fastws_cli(use_backend, "--version")
    assert result.returncode == 0
    assert out(result).startswith(f"fastws {fastws.__version__} (backend: {use_backend}, ")


def test_accept_rfc_example(use_backend: str) -> None:
    result = fastws_cli(use_backend, "accept", RFC_KEY)
    assert (result.returncode, out(result), err(result)) == (0, RFC_ACCEPT + "\n", "")


def test_accept_invalid_key(use_backend: str) -> None:
    result = fastws_cli(use_backend, "accept", "short")
    assert result.returncode == 0
    assert out(result) == accept_of("short") + "\n"
    assert "not a valid Sec-WebSocket-Key" in err(result)
    result = fastws_cli(use_backend, "accept", "clé")
    assert result.returncode == 2
    assert "invalid key: key must be ASCII" in err(result)
    assert fastws_cli(use_backend, "accept").returncode == 2


def test_key(use_backend: str) -> None:
    keys = set()
    for _ in range(2):
        result = fastws_cli(use_backend, "key")
        assert result.returncode == 0
        key = out(result).strip()
        assert re.fullmatch(r"[A-Za-z0-9+/]{22}==", key), key
        assert len(base64.b64decode(key)) == 16
        accept = fastws_cli(use_backend, "accept", key)
        assert (accept.returncode, out(accept), err(accept)) == (0, accept_of(key) + "\n", "")
        keys.add(key)
    assert len(keys) == 2


def test_help_documents_commands_and_exit_codes(use_backend: str) -> None:
    result = fastws_cli(use_backend, "--help")
    assert result.returncode == 0
    text = out(result)
    for needle in (
        "fastws serve",
        "fastws accept KEY",
        "fastws key",
        "--one-message",
        "--wait",
        "--insecure",
        "--cacert",
        "--no-proxy",
        "--no-compress",
        "--ping-interval",
        "--max-size",
        "--binary",
        "--base64",
        "exit status",
    ):
        assert needle in text, needle
    for code in (0, 1, 2, 3, 4, 5, 6, 7, 130):
        assert re.search(rf"^  {code}\s+\S", text, re.M), code
    result = fastws_cli(use_backend, "serve", "--help")
    assert result.returncode == 0
    assert "--broadcast" in out(result)
    result = fastws_cli(use_backend)
    assert result.returncode == 2
    assert "URL" in err(result)


# -------------------------------------------------------- client: pipe mode


def test_pipe_mode_echo(use_backend: str, serve_process: Callable[..., ServeProcess]) -> None:
    server = serve_process("--echo")
    lines = "hello\nwörld ☃\n\nlast line without newline"
    result = fastws_cli(use_backend, "--wait", "1", server.url, input=lines.encode())
    assert result.returncode == 0, err(result)
    assert out(result) == "< hello\n< wörld ☃\n< \n< last line without newline\n"
    assert err(result) == ""  # a normal closure is not reported without -v


def test_pipe_mode_crlf_lines(use_backend: str, in_process: Callable[..., InProcessServer]) -> None:
    server = in_process()
    result = fastws_cli(use_backend, "--wait", "1", server.url, input=b"a\r\nb\r\n")
    assert result.returncode == 0, err(result)
    assert server.received == ["a", "b"]
    assert server.wait_close_codes(1) == [1000]


def test_pipe_mode_verbose_shows_exact_heads(
    use_backend: str, in_process: Callable[..., InProcessServer]
) -> None:
    server = in_process()
    url = server.url + "chat?room=1"
    result = fastws_cli(use_backend, "-v", "--wait", "1", url, input=b"hello\n")
    assert result.returncode == 0, err(result)
    assert out(result) == "< hello\n"
    lines = err(result).splitlines()
    # The request, line by line, exactly as the server received it.
    [raw_request] = server.raw_requests
    expected = [f"> {line}".rstrip() for line in raw_request.decode().split("\r\n")[:-1]]
    start = lines.index("> GET /chat?room=1 HTTP/1.1")
    assert lines[start : start + len(expected)] == expected
    assert "> Upgrade: websocket" in expected
    assert f"> Host: 127.0.0.1:{server.port}" in expected
    assert "> Sec-WebSocket-Version: 13" in expected
    # The response, exactly as the server sent it.
    [raw_response] = server.raw_responses
    expected = [f"< {line}".rstrip() for line in raw_response.decode().split("\r\n")[:-1]]
    start = lines.index("< HTTP/1.1 101 Switching Protocols")
    assert lines[start : start + len(expected)] == expected
    key = next(
        line[len("> Sec-WebSocket-Key: ") :]
        for line in lines
        if line.startswith("> Sec-WebSocket-Key: ")
    )
    assert f"< Sec-WebSocket-Accept: {accept_of(key)}" in lines
    # Information lines, the message sent, the closure.
    assert f"* fastws {fastws.__version__}, backend {use_backend}" in lines
    assert any(line.startswith("* extensions: permessage-deflate") for line in lines)
    assert "> hello" in lines
    assert lines[-1] == "* connection closed: 1000 (normal closure)"


def test_binary_and_base64(use_backend: str, in_process: Callable[..., InProcessServer]) -> None:
    server = in_process(echo_then_close(1))
    result = fastws_cli(use_backend, "--binary", "--wait", "10", server.url, input=b"abc\n")
    assert result.returncode == 0, err(result)
    assert out(result) == "< [binary 3 bytes] 616263\n"
    server = in_process(echo_then_close(2))
    result = fastws_cli(
        use_backend, "--binary", "--base64", "--wait", "10", server.url, input=b"abc\n\xff\n"
    )
    assert result.returncode == 0, err(result)
    assert out(result) == "< [binary 3 bytes] YWJj\n< [binary 1 bytes] /w==\n"
    assert server.received == [b"abc", b"\xff"]


def test_stdin_not_utf8(use_backend: str, in_process: Callable[..., InProcessServer]) -> None:
    server = in_process()
    result = fastws_cli(use_backend, server.url, input=b"ok\n\xff\xfe\n")
    assert result.returncode == 1
    assert "not valid UTF-8" in err(result) and "--binary" in err(result)
    assert server.received == ["ok"]


def test_wait_ends_when_the_server_closes(
    use_backend: str, in_process: Callable[..., InProcessServer]
) -> None:
    async def bye(server: InProcessServer, ws: Any) -> None:
        server.received.append(await ws.recv())
        await ws.send("bye")
        await ws.close(1000, "done")

    server = in_process(bye)
    result = fastws_cli(use_backend, "--wait", "60", server.url, input=b"hi\n", timeout=20)
    assert result.returncode == 0, err(result)
    assert out(result) == "< bye\n"
    assert server.received == ["hi"]


def test_wait_prints_late_replies(
    use_backend: str, in_process: Callable[..., InProcessServer]
) -> None:
    async def late(server: InProcessServer, ws: Any) -> None:
        message = await ws.recv()
        await asyncio.sleep(0.3)  # the client has seen the end of stdin by now
        with contextlib.suppress(ConnectionClosed):
            await ws.send(f"late {message}")
            await ws.close(1000, "bye")

    # Replies keep being printed after the end of stdin, for up to --wait s.
    server = in_process(late)
    result = fastws_cli(use_backend, "--wait", "10", server.url, input=b"x\n")
    assert result.returncode == 0, err(result)
    assert out(result) == "< late x\n"
    # --wait 0: the client closes at once (1000) and the late reply is lost.
    server = in_process(late)
    result = fastws_cli(use_backend, "--wait", "0", server.url, input=b"y\n")
    assert (result.returncode, out(result)) == (0, "")
    assert server.wait_close_codes(1) == [1000]


# -------------------------------------------------------------- client: -1


def test_one_message(use_backend: str, in_process: Callable[..., InProcessServer]) -> None:
    server = in_process()
    result = fastws_cli(use_backend, "-1", server.url, input=b"line 1\nline 2\n")
    assert result.returncode == 0, err(result)
    assert server.received == ["line 1\nline 2"]  # one message, final newline removed
    assert out(result) == "line 1\nline 2\n"  # the reply, bare
    assert err(result) == ""
    assert server.wait_close_codes(1) == [1000]


def test_one_message_binary(use_backend: str, in_process: Callable[..., InProcessServer]) -> None:
    server = in_process()
    data = bytes(range(256)) + b"\n"
    result = fastws_cli(use_backend, "-1", "--binary", server.url, input=data)
    assert result.returncode == 0, err(result)
    assert server.received == [data]  # exactly stdin
    assert out(result) == data.hex() + "\n"
    result = fastws_cli(
        use_backend, "--one-message", "--binary", "--base64", server.url, input=b"\x00\x01\xff"
    )
    assert (result.returncode, out(result)) == (0, "AAH/\n")


def test_one_message_no_reply(use_backend: str, in_process: Callable[..., InProcessServer]) -> None:
    async def mute(server: InProcessServer, ws: Any) -> None:
        async for message in ws:
            server.received.append(message)

    server = in_process(mute)
    result = fastws_cli(use_backend, "-1", "--timeout", "0.5", server.url, input=b"anyone?")
    assert result.returncode == 6
    assert "no reply within 0.5 s" in err(result)

    async def hang_up(server: InProcessServer, ws: Any) -> None:
        await ws.recv()
        await ws.close(1000)

    server = in_process(hang_up)
    result = fastws_cli(use_backend, "-1", server.url, input=b"hello")
    assert result.returncode == 7
    assert "closed before the reply: 1000 (normal closure)" in err(result)


# ------------------------------------------------- client: options on the wire


def test_headers_subprotocols_origin(
    use_backend: str, in_process: Callable[..., InProcessServer]
) -> None:
    server = in_process(echo_then_close(1), subprotocols=["superchat", "chat"])
    result = fastws_cli(
        use_backend,
        "-v",
        "-H",
        "X-Token: abc 123",
        "-H",
        "X-Two:2",
        "-s",
        "chat",
        "-s",
        "superchat",
        "-o",
        "http://example.test",
        "--wait",
        "10",
        server.url,
        input=b"hi\n",
    )
    assert result.returncode == 0, err(result)
    request = server.connections[0].request
    assert request.header("X-Token") == "abc 123"
    assert request.header("X-Two") == "2"
    assert request.header("Origin") == "http://example.test"
    assert request.subprotocols == ["chat", "superchat"]
    assert server.connections[0].subprotocol == "superchat"
    assert "* subprotocol: superchat" in err(result).splitlines()
    assert "> X-Token: abc 123" in err(result).splitlines()


def test_no_compress(use_backend: str, in_process: Callable[..., InProcessServer]) -> None:
    server = in_process(echo_then_close(1))
    result = fastws_cli(
        use_backend, "-v", "--no-compress", "--wait", "10", server.url, input=b"hi\n"
    )
    assert result.returncode == 0, err(result)
    assert b"Sec-WebSocket-Extensions" not in server.raw_requests[0]
    assert "* extensions: none" in err(result).splitlines()
    assert server.connections[0].extensions == []


def test_max_size(use_backend: str, in_process: Callable[..., InProcessServer]) -> None:
    async def big(server: InProcessServer, ws: Any) -> None:
        await ws.recv()
        await ws.send("x" * 2048)
        await ws.close(1000)

    server = in_process(big)
    result = fastws_cli(use_backend, "--max-size", "1k", "--wait", "5", server.url, input=b"go\n")
    assert result.returncode == 7, err(result)
    assert "connection failed: sent 1009 (message too big)" in err(result)
    result = fastws_cli(use_backend, "--max-size", "2k", "--wait", "10", server.url, input=b"go\n")
    assert result.returncode == 0, err(result)
    assert out(result) == "< " + "x" * 2048 + "\n"


def test_abnormal_closure_exit_code(
    use_backend: str, in_process: Callable[..., InProcessServer]
) -> None:
    async def fail(server: InProcessServer, ws: Any) -> None:
        await ws.recv()
        await ws.close(1011, "boom")

    server = in_process(fail)
    result = fastws_cli(use_backend, "--wait", "5", server.url, input=b"hi\n")
    assert result.returncode == 7
    assert err(result) == (
        "fastws: connection closed by the server: 1011 (internal error), reason 'boom'\n"
    )


def test_connection_lost_exit_code(use_backend: str, thread_loop: ThreadLoop) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        key = re.search(rb"Sec-WebSocket-Key: (\S+)", head)
        assert key is not None
        writer.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: "
            + accept_of(key.group(1).decode()).encode()
            + b"\r\n\r\n"
        )
        await writer.drain()
        writer.close()  # no close frame: 1006

    server = thread_loop.run(asyncio.start_server(handle, "127.0.0.1", 0))
    port = server.sockets[0].getsockname()[1]
    result = fastws_cli(use_backend, "--wait", "5", f"ws://127.0.0.1:{port}/", input=b"")
    assert result.returncode == 7
    assert "1006 (abnormal closure: no close frame received)" in err(result)
    thread_loop.loop.call_soon_threadsafe(server.close)


# -------------------------------------------------- client: failures to open


def test_connection_refused(use_backend: str) -> None:
    port = free_port()
    result = fastws_cli(use_backend, f"ws://127.0.0.1:{port}/")
    assert result.returncode == 3
    assert err(result) == f"fastws: connection refused by 127.0.0.1:{port}\n"
    assert out(result) == ""


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1/", "ws://", "ws://127.0.0.1:99999/", "ws://127.0.0.1/#frag", "nonsense"],
)
def test_bad_url(use_backend: str, url: str) -> None:
    result = fastws_cli(use_backend, url)
    assert result.returncode == 2
    assert err(result).startswith("fastws: invalid URL: ")


def test_bad_options(use_backend: str) -> None:
    for args in (
        ["-H", "no colon"],
        ["--wait", "-1"],
        ["--max-size", "lots"],
        ["--cacert", "/nonexistent/ca.pem"],
        ["-H", "Sec-WebSocket-Key: x"],
    ):
        result = fastws_cli(use_backend, *args, "wss://127.0.0.1:1/")
        assert result.returncode == 2, (args, err(result))


def test_handshake_refused(use_backend: str, thread_loop: ThreadLoop) -> None:
    body = b"Forbidden: no entry for you. " + b"x" * 300

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body) + body
        )
        await writer.drain()
        writer.close()

    server = thread_loop.run(asyncio.start_server(handle, "127.0.0.1", 0))
    port = server.sockets[0].getsockname()[1]
    result = fastws_cli(use_backend, f"ws://127.0.0.1:{port}/")
    assert result.returncode == 5
    lines = err(result).splitlines()
    assert lines[0] == f"fastws: handshake refused by 127.0.0.1:{port}: HTTP/1.1 403 Forbidden"
    assert lines[1] == body[:200].decode() + f"[... {len(body) - 200} more bytes]"
    result = fastws_cli(use_backend, "-v", f"ws://127.0.0.1:{port}/")
    assert result.returncode == 5
    lines = err(result).splitlines()
    assert "< HTTP/1.1 403 Forbidden" in lines
    assert f"< Content-Length: {len(body)}" in lines
    thread_loop.loop.call_soon_threadsafe(server.close)


def test_handshake_refused_by_fastws_server(
    use_backend: str, in_process: Callable[..., InProcessServer]
) -> None:
    server = in_process(origins=["http://good.test"])
    result = fastws_cli(use_backend, "-o", "http://evil.test", server.url)
    assert result.returncode == 5
    lines = err(result).splitlines()
    assert lines[0].endswith(": HTTP/1.1 403 Forbidden")
    assert len(lines) == 2 and lines[1]  # the server's short explanation


def test_timeout(use_backend: str) -> None:
    with socket.socket() as sock:  # accepts (backlog), never answers
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = fastws_cli(use_backend, "--timeout", "0.5", f"ws://127.0.0.1:{port}/")
    assert result.returncode == 6
    assert err(result).startswith("fastws: timeout: timed out after 0.5 s")


def test_tls(use_backend: str, serve_process: Callable[..., ServeProcess], tmp_path: Path) -> None:
    import trustme  # a test dependency, as for the asyncio TLS tests

    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    ca_file, cert_file = tmp_path / "ca.pem", tmp_path / "cert.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_file))
    server = serve_process("--certfile", str(cert_file))
    assert server.url.startswith("wss://")
    # Not trusted: certificate verification fails.
    result = fastws_cli(use_backend, server.url, input=b"x\n")
    assert result.returncode == 4
    assert "certificate verify failed" in err(result)
    # --cacert: verified.
    result = fastws_cli(
        use_backend, "-v", "--cacert", str(ca_file), "-1", server.url, input=b"secure\n"
    )
    assert result.returncode == 0, err(result)
    assert out(result) == "secure\n"
    assert any(line.startswith("* TLS: TLSv1.") for line in err(result).splitlines())
    # -k: not verified.
    result = fastws_cli(use_backend, "-k", "-1", server.url, input=b"unverified\n")
    assert (result.returncode, out(result)) == (0, "unverified\n")
    # wss:// to a plain-text server.
    plain = serve_process()
    result = fastws_cli(use_backend, "wss" + plain.url[2:])
    assert result.returncode == 4
    assert "TLS" in err(result)


# ------------------------------------------------------------ client: proxy


class ConnectProxy:
    """A minimal HTTP CONNECT proxy (RFC 9110 §9.3.6) on a ThreadLoop."""

    def __init__(self, tl: ThreadLoop) -> None:
        self.requests: list[bytes] = []
        self.server = tl.run(asyncio.start_server(self.handle, "127.0.0.1", 0))
        self.port = int(self.server.sockets[0].getsockname()[1])

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        self.requests.append(head)
        match = re.match(rb"CONNECT 127\.0\.0\.1:(\d+) HTTP/1\.1\r\n", head)
        if match is None:
            writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", int(match.group(1)))
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


def test_proxy(
    use_backend: str, in_process: Callable[..., InProcessServer], thread_loop: ThreadLoop
) -> None:
    server = in_process(echo_then_close(1))
    proxy = ConnectProxy(thread_loop)
    proxy_url = f"http://127.0.0.1:{proxy.port}"
    result = fastws_cli(
        use_backend, "-v", "--proxy", proxy_url, "-1", server.url, input=b"via proxy\n"
    )
    assert result.returncode == 0, err(result)
    assert out(result) == "via proxy\n"
    lines = err(result).splitlines()
    assert f"> CONNECT 127.0.0.1:{server.port} HTTP/1.1" in lines
    assert "< HTTP/1.1 200 Connection established" in lines
    assert len(proxy.requests) == 1
    # From the environment; --no-proxy goes direct.
    env = cli_env(use_backend, http_proxy=proxy_url)
    result = fastws_cli(use_backend, "-1", server.url, input=b"env\n", env=env)
    assert (result.returncode, out(result)) == (0, "env\n")
    assert len(proxy.requests) == 2
    result = fastws_cli(use_backend, "--no-proxy", "-1", server.url, input=b"direct\n", env=env)
    assert (result.returncode, out(result)) == (0, "direct\n")
    assert len(proxy.requests) == 2
    # A proxy that refuses the tunnel; a proxy nobody runs.
    result = fastws_cli(use_backend, "--proxy", proxy_url, "ws://localhost:1/")
    assert result.returncode == 5
    assert "HTTP 403" in err(result)
    result = fastws_cli(use_backend, "--proxy", f"http://127.0.0.1:{free_port()}", server.url)
    assert result.returncode == 3
    assert "the proxy" in err(result)
    thread_loop.loop.call_soon_threadsafe(proxy.server.close)


# ------------------------------------------------------------------- serve


def test_serve_echo_with_verbose_log_and_sigterm(
    use_backend: str, serve_process: Callable[..., ServeProcess]
) -> None:
    server = serve_process("-v", "--echo")
    codes: list[int | None] = []

    async def client() -> None:
        async with connect(server.url + "x?y=1", ping_interval=None, proxy=None) as ws:
            await ws.send("ping")
            assert await ws.recv() == "ping"
            await ws.send(b"\x00\x01")
            assert await ws.recv() == b"\x00\x01"
            server.proc.send_signal(signal.SIGTERM)  # going away: 1001
            with pytest.raises(ConnectionClosed):
                await ws.recv()
        codes.append(ws.close_code)

    asyncio.run(asyncio.wait_for(client(), 20))
    assert codes == [1001]
    status, stdout, stderr = server.stop(None)  # SIGTERM was enough
    assert status == 0, stderr
    lines = stderr.splitlines()
    assert "< GET /x?y=1 HTTP/1.1" in lines
    assert "< Upgrade: websocket" in lines
    assert "> HTTP/1.1 101 Switching Protocols" in lines
    assert any(line.startswith("> Sec-WebSocket-Accept: ") for line in lines)
    assert any(
        re.fullmatch(r"\* 127\.0\.0\.1:\d+ closed: 1001 \(going away\)", line) for line in lines
    ), lines


def test_serve_broadcast(use_backend: str, serve_process: Callable[..., ServeProcess]) -> None:
    server = serve_process("--broadcast")

    async def clients() -> None:
        async with connect(server.url, proxy=None) as a, connect(server.url, proxy=None) as b:
            await asyncio.sleep(0.1)  # both registered
            await a.send("to everyone")
            assert await a.recv() == "to everyone"
            assert await b.recv() == "to everyone"
            await b.send(b"bytes too")
            assert await a.recv() == b"bytes too"
            assert await b.recv() == b"bytes too"

    asyncio.run(asyncio.wait_for(clients(), 20))


def test_serve_subprotocol_and_no_compress(
    use_backend: str, serve_process: Callable[..., ServeProcess]
) -> None:
    server = serve_process("-s", "chat", "--no-compress")

    async def client() -> None:
        async with connect(server.url, subprotocols=["other", "chat"], proxy=None) as ws:
            assert ws.subprotocol == "chat"
            assert ws.extensions == []

    asyncio.run(asyncio.wait_for(client(), 20))


def test_serve_cannot_listen(use_backend: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = fastws_cli(use_backend, "serve", "--port", str(port))
    assert result.returncode == 3
    assert err(result).startswith(f"fastws: cannot listen on 127.0.0.1:{port}: ")
    assert fastws_cli(use_backend, "serve", "--port", "70000").returncode == 2


def test_cli_client_against_cli_server(
    use_backend: str, serve_process: Callable[..., ServeProcess]
) -> None:
    server = serve_process()
    result = fastws_cli(use_backend, "-1", server.url, input="ünïcode ✓\n".encode())
    assert (result.returncode, out(result)) == (0, "ünïcode ✓\n")


# ------------------------------------------------------- interactive (pty)


class Terminal:
    """``python -m fastws ARGS`` with a pseudo-terminal as its controlling
    terminal, stdin, stdout and stderr."""

    def __init__(self, backend: str, *args: str) -> None:
        import fcntl
        import termios

        master, slave = os.openpty()
        self.initial_mode = termios.tcgetattr(slave)

        def controlling_terminal() -> None:  # in the child, after setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fastws", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=cli_env(backend, TERM="xterm", COLUMNS="200"),
            start_new_session=True,
            preexec_fn=controlling_terminal,
        )
        self.slave = slave
        self.master = master
        self.output = b""  # everything read
        self.pending = b""  # read but not yet matched by expect

    def expect(self, pattern: bytes, timeout: float = 15) -> bytes:
        """Read until ``pattern``; what came before it and the pattern."""
        deadline = time.monotonic() + timeout
        while pattern not in self.pending:
            ready, _, _ = select.select([self.master], [], [], max(0, deadline - time.monotonic()))
            if not ready:
                raise AssertionError(f"{pattern!r} not seen; output so far: {self.output!r}")
            try:
                data = os.read(self.master, 4096)
            except OSError:  # EIO: the child is gone
                data = b""
            if not data:
                raise AssertionError(f"{pattern!r} not seen before EOF: {self.output!r}")
            self.output += data
            self.pending += data
        end = self.pending.index(pattern) + len(pattern)
        matched, self.pending = self.pending[:end], self.pending[end:]
        return matched

    def type(self, data: bytes) -> None:
        os.write(self.master, data)

    def wait(self, timeout: float = 15) -> int:
        status = self.proc.wait(timeout)
        # Drain what is left, for the assertions and the terminal mode check.
        while True:
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if not ready:
                break
            try:
                data = os.read(self.master, 4096)
            except OSError:
                break
            if not data:
                break
            self.output += data
            self.pending += data
        return status

    def mode_restored(self) -> bool:
        import termios

        return bool(termios.tcgetattr(self.slave) == self.initial_mode)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture
def terminal(use_backend: str) -> Iterator[Callable[..., Terminal]]:
    if sys.platform == "win32":  # pragma: no cover
        pytest.skip("no pseudo-terminals on Windows")
    opened: list[Terminal] = []

    def open_terminal(*args: str) -> Terminal:
        term = Terminal(use_backend, *args)
        opened.append(term)
        return term

    yield open_terminal
    for term in opened:
        term.close()


def test_interactive_echo_ping_and_ctrl_d(
    use_backend: str,
    in_process: Callable[..., InProcessServer],
    terminal: Callable[..., Terminal],
) -> None:
    server = in_process()
    term = terminal(server.url)
    term.expect(b"Ctrl-D to close")
    term.expect(b"> ")
    term.type(b"hello there\r")
    term.expect(b"< hello there")
    term.type(b"/ping\r")
    term.expect(b"* pong after ")
    term.type(b"//slash\r")
    term.expect(b"< /slash")
    term.type(b"\x04")  # Ctrl-D on an empty line: EOF
    term.expect(b"* connection closed: 1000 (normal closure)")
    assert term.wait() == 0
    assert server.received == ["hello there", "/slash"]
    assert server.wait_close_codes(1) == [1000]
    assert term.mode_restored()


def test_interactive_receives_while_typing(
    use_backend: str,
    in_process: Callable[..., InProcessServer],
    terminal: Callable[..., Terminal],
    thread_loop: ThreadLoop,
) -> None:
    server = in_process()
    term = terminal(server.url)
    term.expect(b"> ")
    term.type(b"half a li")
    term.expect(b"half a li")  # the terminal echoes what is typed
    deadline = time.monotonic() + 10
    while not server.connections and time.monotonic() < deadline:
        time.sleep(0.01)
    thread_loop.run(server.connections[0].send("pushed \x1b[31mred"))
    thread_loop.run(server.connections[0].send(b"\x01\x02"))
    # The prompt line is cleared, the message printed (escape sequences
    # made harmless), the prompt and the typed text redrawn.
    term.expect(b"\r\x1b[K< pushed \\x1b[31mred")
    term.expect(b"> half a li")
    term.expect(b"< [binary 2 bytes] 0102")
    term.expect(b"> half a li")
    term.type(b"ne\r")
    term.expect(b"< half a line")
    term.type(b"/close 4000 bye now\r")
    term.expect(b"* connection closed: 4000\r\n")  # the close echo has no reason
    assert term.wait() == 7  # 4000 is not a normal closure
    assert server.received == ["half a line"]
    assert server.wait_close_codes(1) == [4000]


def test_interactive_ctrl_c_and_server_going_away(
    use_backend: str,
    in_process: Callable[..., InProcessServer],
    terminal: Callable[..., Terminal],
) -> None:
    server = in_process()
    term = terminal(server.url)
    term.expect(b"> ")
    term.type(b"unsent")
    term.expect(b"unsent")
    term.type(b"\x03")  # Ctrl-C: SIGINT, close with 1001
    term.expect(b"* connection closed: 1001 (going away)")
    assert term.wait() == 130
    assert server.wait_close_codes(1) == [1001]
    assert term.mode_restored()

    other = terminal(server.url)
    other.expect(b"> ")
    other.type(b"typing")
    other.expect(b"typing")
    server.stop()  # the server shuts down: 1001 to every connection
    other.expect(b"* connection closed by the server: 1001 (going away)")
    assert other.wait() == 0
    assert other.mode_restored()


def test_interactive_refused(use_backend: str, terminal: Callable[..., Terminal]) -> None:
    port = free_port()
    term = terminal(f"ws://127.0.0.1:{port}/")
    term.expect(b"connection refused")
    assert term.wait() == 3


def test_reply_on_a_pipe_is_not_escaped(
    use_backend: str, in_process: Callable[..., InProcessServer]
) -> None:
    server = in_process(echo_then_close(1))
    result = fastws_cli(use_backend, "--wait", "10", server.url, input=b"tab\there \x1b[0m\n")
    assert result.returncode == 0, err(result)
    assert out(result) == "< tab\there \x1b[0m\n"  # exactly what came, when not a terminal


def test_reject_answer_body_is_shown(
    use_backend: str, in_process: Callable[..., InProcessServer]
) -> None:
    def refuse(ws: Any, request: Any) -> Reject:
        return Reject(401, [("WWW-Authenticate", "Bearer")], "token required\n")

    server = in_process(process_request=refuse)
    result = fastws_cli(use_backend, server.url)
    assert result.returncode == 5
    assert err(result) == (
        f"fastws: handshake refused by 127.0.0.1:{server.port}: HTTP/1.1 401 Unauthorized\n"
        "token required\n"
    )
