"""A real browser against the fastws server: headless Chromium.

The fastws server (in-process, on the backend of ``use_backend``) also
answers plain HTTP through its ``process_request`` hook: ``GET /`` is
``tests/browser/page.html``. Chromium loads it with ``--dump-dom``; the
page's script opens a WebSocket back to ``/ws`` offering a subprotocol and
(as every browser does) permessage-deflate, receives a greeting, has text
(empty, non-ASCII, 280 KB compressible) and binary (256 bytes, empty, 64 KiB
random, 200 KB of zeros) messages echoed, is closed by the server with 4001,
then reports with ``GET /result?...`` and writes ``RESULT ...`` into the
page. An image on the page is held by the server until that report, so the
load event, hence ``--dump-dom``, comes after the exchange.

The server checks its side: the negotiated subprotocol and extension, each
message received, the close code, and that compression was really used in
both directions (bytes on the wire far below the payload bytes).

The test fails when Chromium cannot be found or started; set
``FASTWS_SKIP_BROWSER=1`` to skip it explicitly (``FASTWS_CHROMIUM`` names
the binary). Bounded by ``TIME_LIMIT``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import tempfile
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from fastws.asyncio import Reject, serve

PAGE = Path(__file__).parent / "browser" / "page.html"
TIME_LIMIT = 30.0  # seconds for the whole test
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-proxy-server",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
)

pytestmark = pytest.mark.network


def find_chromium() -> str:
    """The Chromium binary, or the test fails (skips only if told to)."""
    if os.environ.get("FASTWS_SKIP_BROWSER", "") not in ("", "0"):
        pytest.skip("FASTWS_SKIP_BROWSER is set")
    explicit = os.environ.get("FASTWS_CHROMIUM")
    if explicit:
        return explicit
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    tried = ", ".join(BROWSERS)
    pytest.fail(
        f"headless Chromium not found (tried {tried}): install the Debian package chromium, "
        "set FASTWS_CHROMIUM, or set FASTWS_SKIP_BROWSER=1 to skip"
    )


class BrowserSession:
    """The server's side of the exchange."""

    GREETING = "hello browser \u2603"

    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.result: asyncio.Future[str] = loop.create_future()
        self.received: list[str | bytes] = []
        self.connections: list[Any] = []
        self.close_codes: list[int | None] = []
        self.bytes_in = 0
        self.bytes_out = 0
        self.payload_in = 0
        self.payload_out = 0
        self.requests: list[str] = []

    def process_request(self, ws: Any, request: Any) -> Any:
        self.requests.append(request.target)
        path, _, query = request.target.partition("?")
        if path == "/ws":
            return None  # the WebSocket: go on with the 101
        if path == "/":
            return Reject(200, [("Content-Type", "text/html; charset=utf-8")], PAGE.read_bytes())
        if path == "/result":
            if not self.result.done():
                self.result.set_result(urllib.parse.unquote(query))
            return Reject(204)
        if path == "/done.gif":
            return self.hold()
        return Reject(404, [], "not found\n")

    async def hold(self) -> Reject:
        """Answers once the page has reported (its load event waits for this)."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.result), TIME_LIMIT)
        return Reject(204)

    async def handler(self, ws: Any) -> None:
        self.connections.append(ws)
        # Count the bytes on the wire (compressed frames) in both directions.
        received, write = ws.buffer_updated, ws.transport.write

        def counting_buffer_updated(nbytes: int) -> None:
            self.bytes_in += nbytes
            received(nbytes)

        def counting_write(data: Any) -> None:
            self.bytes_out += len(data)
            write(data)

        ws.buffer_updated = counting_buffer_updated
        ws.transport.write = counting_write
        try:
            await ws.send(self.GREETING)
            async for message in ws:
                self.received.append(message)
                size = len(message.encode() if isinstance(message, str) else message)
                self.payload_in += size
                if message == "close please":
                    await ws.close(4001, "bye")
                    break
                self.payload_out += size
                await ws.send(message)
        finally:
            await ws.wait_closed()
            self.close_codes.append(ws.close_code)


def test_chromium_exchanges_messages_with_compression(use_backend: str) -> None:
    chromium = find_chromium()

    async def main() -> None:
        session = BrowserSession()
        profile = tempfile.mkdtemp(prefix="fastws-chromium-")
        process = None
        try:
            async with serve(
                session.handler,
                "127.0.0.1",
                0,
                process_request=session.process_request,
                subprotocols=["fastws-test"],
                compression="deflate",
                max_size=2**20,
            ) as server:
                port = server.sockets[0].getsockname()[1]
                try:
                    process = await asyncio.create_subprocess_exec(
                        chromium,
                        *CHROMIUM_FLAGS,
                        f"--user-data-dir={profile}",
                        "--dump-dom",
                        f"http://127.0.0.1:{port}/",
                        stdin=asyncio.subprocess.DEVNULL,
                        stdout=asyncio.subprocess.PIPE,
                        stderr=asyncio.subprocess.PIPE,
                        start_new_session=True,
                    )
                except OSError as exc:
                    pytest.fail(f"cannot start {chromium}: {exc}")
                stdout, stderr = await process.communicate()
                dom = stdout.decode("utf-8", "replace")
                assert process.returncode == 0, stderr.decode("utf-8", "replace")[-3000:]
                assert session.result.done(), (dom, stderr.decode("utf-8", "replace")[-3000:])
                result = session.result.result()
                assert result.startswith("ok "), (result, dom)
                assert '<pre id="result">RESULT ok ' in dom, dom
                check_server_side(session, result)
        finally:
            if process is not None and process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                await process.wait()
            shutil.rmtree(profile, ignore_errors=True)

    asyncio.run(asyncio.wait_for(main(), TIME_LIMIT))


def check_server_side(session: BrowserSession, result: str) -> None:
    assert "Chrome/" in result  # the user agent the page reported
    assert session.requests[:1] == ["/"]
    assert "/ws?from=chromium" in session.requests
    [ws] = session.connections
    offer = ws.request.header("Sec-WebSocket-Extensions")
    assert offer is not None and offer.startswith("permessage-deflate"), offer
    assert ws.extensions and ws.extensions[0][0] == "permessage-deflate", ws.extensions
    assert ws.subprotocol == "fastws-test"
    assert session.received == [
        "hello",
        "",
        "\u00fcn\u00efcode \u2603 \U0001f389",
        "fastws " * 40000,
        bytes(range(256)),
        b"",
        session.received[6],  # 64 KiB of random bytes, compared by the page
        bytes(200000),
        "close please",
    ]
    assert isinstance(session.received[6], bytes) and len(session.received[6]) == 65536
    assert session.close_codes == [4001]
    # Compression in both directions: the compressible messages dominate the
    # payload, so the bytes on the wire are far fewer (the 64 KiB of random
    # bytes cannot shrink, hence the margin).
    assert session.payload_in > 540_000 and session.payload_out > 540_000
    # The counting works: 64 KiB of random bytes cannot be compressed.
    assert session.bytes_in > 65536 and session.bytes_out > 65536
    assert session.bytes_in < session.payload_in // 4, (session.bytes_in, session.payload_in)
    assert session.bytes_out < session.payload_out // 4, (session.bytes_out, session.payload_out)
