"""Helpers for the asyncio and interop tests (no pytest-asyncio: ``run``).

Every network test binds or connects 127.0.0.1 only, on port 0, and runs
its coroutine under a timeout so that a hang fails the test instead of the
suite.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Iterator
from typing import Any, Callable

import pytest

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop is part of the test extra
    uvloop = None

#: the event loops every cheap test runs on
LOOPS = ["asyncio", "uvloop"]

PROXY_VARIABLES = (
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "ws_proxy",
    "wss_proxy",
    "no_proxy",
)


def run(
    coroutine_function: Callable[[], Awaitable[Any]], *, loop: str = "asyncio", timeout: float = 10
) -> Any:
    """Run ``coroutine_function()`` on a fresh loop of kind ``loop``, at most ``timeout`` s."""

    async def main() -> Any:
        return await asyncio.wait_for(coroutine_function(), timeout)

    if loop == "uvloop":
        if uvloop is None:  # pragma: no cover
            raise RuntimeError("uvloop is not installed")
        event_loop = uvloop.new_event_loop()
    else:
        event_loop = asyncio.new_event_loop()
    try:
        return event_loop.run_until_complete(main())
    finally:
        try:
            event_loop.run_until_complete(event_loop.shutdown_asyncgens())
        finally:
            event_loop.close()


@pytest.fixture(autouse=True)
def _no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests connect directly unless they set a proxy themselves."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    yield


def port_of(server: Any) -> int:
    """The TCP port of a fastws Server or an asyncio.Server."""
    return int(server.sockets[0].getsockname()[1])


class TLS:
    """A trustme CA and a certificate for localhost / 127.0.0.1."""

    def __init__(self) -> None:
        import trustme

        self.ca = trustme.CA()
        self.cert = self.ca.issue_cert("localhost", "127.0.0.1")

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.cert.configure_cert(context)
        return context

    def client_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        self.ca.configure_trust(context)
        return context


@pytest.fixture(scope="session", name="tls")
def tls_fixture() -> TLS:
    """The test CA and certificate (import ``tls_fixture``, request ``tls``)."""
    return TLS()

