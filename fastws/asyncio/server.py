"""The asyncio server: :func:`serve` and :func:`unix_serve` (RFC 6455 §4.2).

::

    async def echo(ws):
        async for message in ws:
            await ws.send(message)

    async with fastws.serve(echo, "127.0.0.1", 8765) as server:
        await server.serve_forever()

Each accepted TCP connection gets a :class:`ServerConnection` (an
``asyncio.BufferedProtocol``, see :mod:`fastws.asyncio.connection`). The
request is parsed and validated by the sans-IO core (see
:mod:`fastws.server`): a malformed or oversized head gets 400/431 at once.
``process_request``, when given, then sees every well-formed request -- a
valid upgrade or not (plain HTTP such as a health check: the core's
``report_refused``, ``request.refusal`` set) -- and may answer it; otherwise
the core's refusal goes out (400/403/426 with a short text body), or the 101
is sent and ``handler(ws)`` runs in its own task. When the handler returns the
connection is closed with 1000; when it raises, the error is logged on the
``fastws.server`` logger and the connection closed with 1011 (internal
error) -- the server keeps serving.

Shutdown (``close()``, the end of ``async with``, a cancelled
``serve_forever``): stop accepting, close every open connection with 1001
(going away), wait up to ``close_timeout`` for them to end (then abort
them), wait up to ``close_timeout`` more for the handlers, cancel those
still running.

Operator tip (glibc): a server echoing multi-MB messages benefits from
``MALLOC_MMAP_THRESHOLD_=67108864 MALLOC_TRIM_THRESHOLD_=268435456`` in its
environment: each large buffer then comes from the heap instead of a fresh
``mmap`` whose pages fault in again. Measured on our 2-core VM with 2 MiB
messages, 8 in flight: ~280 -> ~7 page faults per message, CPU per message
-30 %.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import re
import sys
from collections.abc import Awaitable, Generator, Sequence
from typing import Any, Callable, Optional, Union

from fastws import __version__
from fastws.deflate import DeflateOptions
from fastws.events import Event, Request
from fastws.exceptions import ConnectionClosed
from fastws.protocol import State
from fastws.server import Reject
from fastws.server import ServerConnection as SansIOServerConnection

from .connection import Connection
from .listener import Listener
from .network import network

__all__ = [
    "serve", "unix_serve", "listen", "unix_listen", "Server", "ServerConnection", "Reject", "SERVER"
]

#: the default ``Server`` header
SERVER = f"Python/{sys.version_info[0]}.{sys.version_info[1]} fastws/{__version__}"

Handler = Callable[["ServerConnection"], Awaitable[None]]
ProcessResult = Union[Reject, tuple[Any, ...], None]
ProcessRequest = Callable[
    ["ServerConnection", Request], Union[ProcessResult, Awaitable[ProcessResult]]
]
SelectSubprotocol = Callable[["ServerConnection", Sequence[str]], Optional[str]]
ServerTrace = Callable[["ServerConnection", str, bytes], None]
Origins = Union[Sequence[Union[str, "re.Pattern[str]", None]], Callable[[Optional[str]], bool]]

_OPEN = State.OPEN
_CONNECTING = State.CONNECTING


def _server_deflate(compression: str | DeflateOptions | None) -> DeflateOptions | None:
    if compression is None:
        return None
    if isinstance(compression, DeflateOptions):
        return compression
    if compression == "deflate":
        # Our compressor with a 4 KiB window: ~38 KiB instead of ~150 KiB per
        # connection (fastws.deflate.DeflateOptions); RFC 7692 §7.1.2.1 lets the
        # server announce it unasked. Clients keep their window (a limit would
        # decline the offers of clients that cannot be limited).
        return DeflateOptions(server_max_window_bits=12)
    raise ValueError(f"unsupported compression: {compression!r}")


def _origin_policy(origins: Origins | None) -> Any:
    """Strings match exactly, compiled patterns fully, None allows no Origin."""
    if origins is None or callable(origins):
        return origins
    if isinstance(origins, str):
        raise TypeError("origins must be a sequence or a callable, not a str")
    allowed = list(origins)
    if not any(isinstance(item, re.Pattern) for item in allowed):
        return allowed

    def check(origin: str | None) -> bool:
        for item in allowed:
            if isinstance(item, re.Pattern):
                if origin is not None and item.fullmatch(origin):
                    return True
            elif item == origin:
                return True
        return False

    return check


def _as_reject(answer: Any) -> Reject | None:
    if answer is None or isinstance(answer, Reject):
        return answer
    if isinstance(answer, tuple) and 1 <= len(answer) <= 3:
        return Reject(*answer)
    raise TypeError(f"process_request must return a Reject, a tuple or None, not {answer!r}")


class ServerConnection(Connection):
    """The server side of a WebSocket connection (see :class:`Connection`).

    ``request`` is the client's handshake (:class:`fastws.events.Request`:
    ``target``, ``headers``, ``header(name)``; in ``process_request``, its
    ``refusal`` is set for a request that is no valid upgrade), ``response``
    the 101 sent (:class:`fastws.events.Response`: every header);
    ``raw_request``/``raw_response`` are the heads as received and sent.
    ``server`` is the :class:`Server`.
    """

    protocol: SansIOServerConnection

    def __init__(self, protocol: SansIOServerConnection, server: Server, **kwargs: Any) -> None:
        super().__init__(protocol, **kwargs)
        self.server = server
        self._open_handle: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None

    def respond(self, status: int, text: str) -> Reject:
        """A plain-text answer for ``process_request`` (as in websockets)."""
        return Reject(status, (), text)

    # --------------------------------------------------------------- hooks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        server = self.server
        server._connections.add(self)
        if server._open_timeout is not None:
            self._open_handle = self.loop.call_later(server._open_timeout, self._open_timed_out)

    def _open_timed_out(self) -> None:
        self._open_handle = None
        if self.protocol.state is _CONNECTING and not self._transport_closing:
            self.logger.debug("%s: opening handshake timed out", self)
            self._transport_closing = True
            self.transport.abort()

    def _cancel_open_timer(self) -> None:
        if self._open_handle is not None:
            self._open_handle.cancel()
            self._open_handle = None

    def _on_handshake(self, event: Event) -> None:
        """The request: a valid upgrade, or -- only when there is a
        ``process_request`` (the core's ``report_refused``) -- a plain HTTP
        request the core would refuse, ``event.refusal`` set."""
        assert isinstance(event, Request)
        if self._trace is not None:
            self._trace("request", self.protocol.raw_request)
        if self.server._process_request is None:
            self._answer(None)
            if self.protocol.state is _OPEN and self.server._listener_factory is None:
                self._start(self._handle())
        else:
            self._start(self._process_then_handle())

    def _handshake_failed(self, exc: BaseException | None) -> None:
        protocol = self.protocol
        # A refusal queued by the core itself (400, 403, 426, 431...), or
        # nothing (EOF, timeout, an answer already written by _answer).
        data = protocol.data_to_send()
        error = protocol.error
        if error is not None:
            self.logger.debug("%s: handshake failed: %s", self, error)
        if protocol.request is None and protocol.raw_request and self._trace is not None:
            self._trace("request", protocol.raw_request)  # refused without a Request event
        super()._handshake_failed(exc)
        self._cancel_open_timer()
        self._write_answer(data)

    def _write_answer(self, data: bytes) -> None:
        """Write a refusal (the whole response: head and body)."""
        if data:
            if self._trace is not None:
                self._trace("response", data)
            if not self._transport_closing:
                self.transport.write(data)

    def _handshake_done(self) -> None:
        self._cancel_open_timer()
        super()._handshake_done()

    def _connection_ended(self) -> None:
        self._cancel_open_timer()
        self.server._connections.discard(self)

    # ----------------------------------------------------------- handshake

    def _answer(self, answer: Reject | None) -> None:
        """Write the answer to the request: ``answer``, else the 101 for a
        valid upgrade or the core's refusal (``request.refusal``) for another
        request."""
        protocol = self.protocol
        try:
            if answer is not None:
                protocol.reject(answer.status, answer.headers, answer.body)
            elif protocol.request is not None and protocol.request.refusal is not None:
                protocol.refuse()
            else:
                protocol.accept()
        except Exception:
            self.logger.error("opening handshake failed", exc_info=True)
            if protocol.state is _CONNECTING:
                protocol.reject(500, (), "Failed to open a WebSocket connection: internal error.\n")
        data = protocol.data_to_send()
        if protocol.state is _OPEN:
            if self._trace is not None:
                self._trace("response", protocol.raw_response)
            if data and not self._transport_closing:
                self.transport.write(data)
            self._handshake_done()
        else:
            self._write_answer(data)

    def _start(self, coroutine: Any) -> None:
        task: asyncio.Task[None] = self.loop.create_task(coroutine)
        self._task = task
        tasks = self.server._tasks
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def _process_then_handle(self) -> None:
        """``process_request`` may be a coroutine: the handshake ends in this task."""
        server = self.server
        assert server._process_request is not None and self.request is not None
        try:
            answer = server._process_request(self, self.request)
            if inspect.isawaitable(answer):
                answer = await answer
            reject = _as_reject(answer)
        except Exception:
            self.logger.error("process_request failed", exc_info=True)
            reject = Reject(500, (), "Failed to open a WebSocket connection: internal error.\n")
        if self.protocol.state is not _CONNECTING:
            return  # the connection ended meanwhile (open_timeout, EOF)
        self._answer(reject)
        events = self.protocol.events()
        if events:
            self._process(events)
        self._flush()
        if self.protocol.state is _OPEN:
            if server._listener_factory is None:
                await self._handle()
        else:
            self._check_state()

    async def _handle(self) -> None:
        """Run the handler; close with 1000 after it, 1011 if it raised."""
        code = 1000
        try:
            await self.server._handler(self)
        except ConnectionClosed as exc:
            self.logger.debug("%s: handler stopped: %s", self, exc)
        except Exception:
            self.logger.error("connection handler failed", exc_info=True)
            code = 1011
        except asyncio.CancelledError:
            if not self._transport_closing:
                self._transport_closing = True
                self.transport.abort()
            raise
        await self.close(code)

    def _shutdown(self) -> None:
        """Server shutdown: close with 1001 (going away), abort a pending handshake."""
        state = self.protocol.state
        if state is _OPEN:
            self._sent_close = True
            self.protocol.close(1001, "")
            self._flush()
            self._check_state()
        elif state is _CONNECTING and not self._transport_closing:
            self._transport_closing = True
            self.transport.abort()


class Server:
    """A running WebSocket server, returned by :func:`serve` (mirrors
    :class:`asyncio.Server`). ``await serve(...)`` starts it; ``async with
    serve(...) as server:`` starts it and shuts it down at the end."""

    def __init__(
        self,
        handler: Handler,
        *,
        create: Callable[[Callable[[], ServerConnection]], Awaitable[asyncio.AbstractServer]],
        make_protocol: Callable[[Server], ServerConnection],
        process_request: ProcessRequest | None,
        extra_headers: list[tuple[str, str]],
        open_timeout: float | None,
        close_timeout: float | None,
        logger: logging.Logger | logging.LoggerAdapter[Any],
        listener_factory: Callable[[], Listener] | None = None,
    ) -> None:
        self._handler = handler
        self._listener_factory = listener_factory
        self._create = create
        self._make_protocol = make_protocol
        self._process_request = process_request
        self._extra_headers = extra_headers
        self._open_timeout = open_timeout
        self._close_timeout = close_timeout
        self.logger = logger
        self._server: asyncio.AbstractServer | None = None
        self._connections: set[ServerConnection] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing: asyncio.Task[None] | None = None
        self._closed: asyncio.Event | None = None

    # ----------------------------------------------------------- starting

    async def _start(self) -> Server:
        if self._server is None:
            self._closed = asyncio.Event()
            self._server = await self._create(functools.partial(self._make_protocol, self))
            for sock in self._server.sockets if hasattr(self._server, "sockets") else ():
                self.logger.info("server listening on %s", sock.getsockname())
        return self

    def __await__(self) -> Generator[Any, None, Server]:
        return self._start().__await__()

    async def __aenter__(self) -> Server:
        return await self._start()

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.close()
        await self.wait_closed()

    # ------------------------------------------------------------- asyncio.Server API

    @property
    def sockets(self) -> tuple[Any, ...]:
        """The listening sockets (as :attr:`asyncio.Server.sockets`)."""
        if self._server is None:
            return ()
        return tuple(getattr(self._server, "sockets", ()))

    @property
    def connections(self) -> set[ServerConnection]:
        """The connections not yet closed (handshake in progress included)."""
        return set(self._connections)

    def get_loop(self) -> asyncio.AbstractEventLoop:
        assert self._server is not None
        return self._server.get_loop()

    def is_serving(self) -> bool:
        return self._server is not None and self._server.is_serving()

    async def start_serving(self) -> None:
        """Start accepting (after ``serve(..., start_serving=False)``)."""
        await self._start()
        assert self._server is not None
        await self._server.start_serving()

    async def serve_forever(self) -> None:
        """Accept connections until cancelled (then shut down gracefully) or closed."""
        await self.start_serving()
        assert self._closed is not None
        try:
            await self._closed.wait()
        finally:
            self.close()
            await self.wait_closed()

    def close(self, close_connections: bool = True) -> None:
        """Start the shutdown (see the module docstring); ``close_connections=False``
        leaves open connections alone and waits for their handlers to end."""
        if self._closing is None and self._server is not None:
            self._closing = self._server.get_loop().create_task(self._close(close_connections))

    async def wait_closed(self) -> None:
        """Wait until the server is closed and every handler has ended."""
        if self._closed is not None:
            await self._closed.wait()

    async def _close(self, close_connections: bool) -> None:
        assert self._server is not None and self._closed is not None
        self._server.close()
        timeout = self._close_timeout
        if close_connections:
            connections = list(self._connections)
            for ws in connections:
                ws._shutdown()
            waiters = [ws._lost for ws in connections if not ws._lost.done()]
            if waiters:
                await asyncio.wait(waiters)  # each bounded by its close_timeout
        tasks = list(self._tasks)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout if close_connections else None)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        await self._server.wait_closed()
        self._closed.set()


def serve(
    handler: Handler,
    host: str | Sequence[str] | None = None,
    port: int | None = None,
    *,
    origins: Origins | None = None,
    subprotocols: Sequence[str] | None = None,
    select_subprotocol: SelectSubprotocol | None = None,
    compression: str | DeflateOptions | None = "deflate",
    process_request: ProcessRequest | None = None,
    server_header: str | None = SERVER,
    open_timeout: float | None = 10,
    ping_interval: float | None = 20,
    ping_timeout: float | None = 20,
    close_timeout: float | None = 10,
    max_size: int | None | tuple[int | None, int | None] = 2**20,
    max_queue: int | None | tuple[int | None, int | None] = 16,
    write_limit: int | tuple[int, int | None] = 2**15,
    max_head_size: int = 16384,
    max_headers: int = 128,
    logger: logging.Logger | logging.LoggerAdapter[Any] | None = None,
    trace: ServerTrace | None = None,
    **kwargs: Any,
) -> Server:
    """Serve WebSocket connections on ``host``/``port`` with ``handler(ws)``.

    Names and defaults follow ``websockets.asyncio.server.serve``:

    * ``origins``: allowed ``Origin`` values (strings, compiled patterns
      matched in full, None for "no Origin"), or ``f(origin) -> bool``;
      others get 403.
    * ``subprotocols`` in order of preference, or ``select_subprotocol(ws,
      offered) -> str | None``.
    * ``compression``: ``"deflate"`` (default; our compressor window 12
      bits), None, or a :class:`fastws.deflate.DeflateOptions`.
    * ``process_request(ws, request)``, a function or a coroutine, sees
      every request whose HTTP head is valid: a valid upgrade before the 101
      is sent, any other request (no ``Upgrade``: a health check; a refused
      ``Origin``; a wrong version) before the refusal. Return None to go on
      (101, or the refusal), or a :class:`~fastws.server.Reject`
      (``ws.respond(status, text)`` makes one; a ``(status, headers,
      body)`` tuple works too) to answer with that HTTP response and close:
      authentication, health checks, redirects.
    * ``server_header`` (None: no ``Server`` header).
    * ``open_timeout`` (10 s for TLS and the handshake; the connection is
      aborted), ``ping_interval``/``ping_timeout`` (20 s keepalive),
      ``close_timeout`` (10 s).
    * ``max_size`` (1 MiB, or ``(message, frame)``), ``max_queue`` (16),
      ``write_limit`` (32 KiB), ``max_head_size``/``max_headers`` (16 KiB,
      128: request heads over them get 431).
    * ``logger`` (``fastws.server``); ``trace(ws, kind, data)`` receives the
      request head as received (``"request"``) and the response as sent
      (``"response"``) of every handshake, including refused ones.
    * ``ssl`` (an :class:`ssl.SSLContext`), ``reuse_port``, ``backlog``,
      ``sock``, ``start_serving`` ... go to :meth:`asyncio.loop.create_server`
      (``unix=True, path=...``: :meth:`~asyncio.loop.create_unix_server`).
    * ``use_aiofastnet=True``: compiled transports from aiofastnet (an
      optional dependency; see :mod:`fastws.asyncio.network`).
    """
    if isinstance(subprotocols, str):
        raise TypeError("subprotocols must be a sequence of str, not a str")
    deflate = _server_deflate(compression)
    policy = _origin_policy(origins)
    if isinstance(max_size, tuple):
        max_message, max_frame = max_size
    else:
        max_message, max_frame = max_size, None
    extra_headers = [] if server_header is None else [("Server", server_header)]
    if logger is None:
        logger = logging.getLogger("fastws.server")
    options: dict[str, Any] = dict(
        ping_interval=ping_interval,
        ping_timeout=ping_timeout,
        close_timeout=close_timeout,
        max_queue=max_queue,
        write_limit=write_limit,
        logger=logger,
    )
    offered = list(subprotocols or ())
    unix = bool(kwargs.pop("unix", False))
    path = kwargs.pop("path", None)
    listener_factory = kwargs.pop("_listener_factory", None)
    use_aiofastnet = bool(kwargs.pop("use_aiofastnet", False))
    if kwargs.get("ssl") is not None:
        kwargs.setdefault("ssl_handshake_timeout", open_timeout)

    def make_protocol(server: Server) -> ServerConnection:
        ws: ServerConnection
        select = None
        if select_subprotocol is not None:
            user_select = select_subprotocol

            def select(request: Request) -> str | None:
                return user_select(ws, request.subprotocols)

        protocol = SansIOServerConnection(
            subprotocols=offered,
            select_subprotocol=select,
            origins=policy,
            auto_accept=False,
            # process_request sees plain requests too (health checks...), as in
            # websockets, where it runs before the handshake is validated.
            report_refused=process_request is not None,
            extra_headers=extra_headers,
            compression=deflate,
            max_message_size=max_message,
            max_frame_size=max_frame,
            max_head_size=max_head_size,
            max_headers=max_headers,
        )
        ws = ServerConnection(protocol, server, **options)
        ws._listener_factory = server._listener_factory
        if trace is not None:
            ws._trace = functools.partial(trace, ws)
        return ws

    async def create(
        factory: Callable[[], ServerConnection],
    ) -> asyncio.AbstractServer:
        loop = network(use_aiofastnet)
        server: asyncio.AbstractServer
        if unix:
            server = await loop.create_unix_server(factory, path, **kwargs)
        else:
            server = await loop.create_server(factory, host, port, **kwargs)
        return server

    return Server(
        handler,
        create=create,
        make_protocol=make_protocol,
        process_request=process_request,
        extra_headers=extra_headers,
        open_timeout=open_timeout,
        close_timeout=close_timeout,
        logger=logger,
        listener_factory=listener_factory,
    )


def listen(
    listener_factory: Callable[[], Listener],
    host: str | Sequence[str] | None = None,
    port: int | None = None,
    **kwargs: Any,
) -> Server:
    """Serve WebSocket connections with callbacks instead of a handler coroutine.

    ``listener_factory()`` (a :class:`~fastws.asyncio.Listener` subclass, or
    any callable returning a listener) is called for every connection once
    its opening handshake completed; the listener's ``on_message(ws,
    message)`` then receives each message synchronously and answers with
    ``ws.send_nowait``. No task per connection, no wake-up per message: the
    fastest way to serve with fastws (see :mod:`fastws.asyncio.listener`).
    Every option of :func:`serve` applies (``max_queue`` does not: nothing
    is queued). Returns the same :class:`Server`.
    """
    return serve(_no_handler, host, port, _listener_factory=listener_factory, **kwargs)


async def _no_handler(ws: ServerConnection) -> None:  # pragma: no cover - never called
    raise AssertionError("a listener server runs no handler")


def unix_listen(
    listener_factory: Callable[[], Listener], path: str | None = None, **kwargs: Any
) -> Server:
    """:func:`listen` on the Unix socket ``path`` (same options)."""
    return listen(listener_factory, unix=True, path=path, **kwargs)


def unix_serve(handler: Handler, path: str | None = None, **kwargs: Any) -> Server:
    """:func:`serve` on the Unix socket ``path`` (same options)."""
    return serve(handler, unix=True, path=path, **kwargs)
