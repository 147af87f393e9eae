"""fastws as uvicorn's WebSocket implementation (ASGI WebSocket spec 2.4).

::

    uvicorn app:app --ws fastws.uvicorn:FastWSProtocol

uvicorn imports whatever ``module:attr`` is given to ``--ws`` (or passed as
``uvicorn.run(app, ws=FastWSProtocol)``). Its HTTP protocol (h11 or
httptools) parses the request; when it is a WebSocket upgrade it builds this
protocol with ``(config, server_state, app_state)``, calls
``connection_made(transport)``, feeds the request head to
``data_received`` and hands the transport over (``transport.set_protocol``).

The WebSocket protocol itself is fastws' sans-IO
:class:`fastws.server.ServerConnection` (RFC 6455 handshake validation,
framing, UTF-8, close handshake, permessage-deflate RFC 7692); this module
only maps it to ASGI:

* the valid upgrade request becomes the ``websocket`` scope and a
  ``websocket.connect`` event, and the application runs in a task
  registered in ``server_state.tasks``;
* ``websocket.accept`` (``subprotocol``, ``headers``) sends the 101;
  ``websocket.close`` before it answers 403; ``websocket.http.response.start``
  / ``.body`` (the denial-response extension) send any HTTP response;
* messages become ``websocket.receive`` (``text`` or ``bytes``);
  ``websocket.send`` sends one message; ``websocket.close`` (``code``,
  ``reason``) starts the closing handshake (RFC 6455 §7.1.2) and the
  transport is closed when the client answers, or after 10 s;
* the end of the connection is ``websocket.disconnect`` with the close code
  (the client's close frame, 1009 for an oversize message, 1006 when the TCP
  connection ended without a close frame, 1012 at server shutdown).

uvicorn's settings: ``ws_max_size`` (largest message, larger ones fail the
connection with 1009, RFC 6455 §7.4.1), ``ws_max_queue`` (messages received
but not yet read by the application before reading from the socket pauses),
``ws_ping_interval`` / ``ws_ping_timeout`` (keepalive pings; no pong in
time closes with 1011), ``ws_per_message_deflate`` (accept permessage-deflate
offers; our compressor uses a 4 KiB window, like uvicorn's websockets
implementation). On shutdown (``server.shutdown()``) open connections are
closed with 1012 (service restart, RFC 6455 §7.4.1 as registered by IANA),
as uvicorn's own implementations do.

Speed: the class is an :class:`asyncio.BufferedProtocol` once uvicorn hands
the transport over (the transport reads into one 256 KiB buffer shared by
the connections of the thread; the sans-IO core copies only what it keeps,
so a large message is copied once); a received message is appended to a
deque and ``receive()`` returns it without suspending when one is waiting;
``send()`` frames and writes at once; reading pauses only when
``ws_max_queue`` messages wait (uvicorn's implementations pause and resume
reading around every message).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
from typing import Any, Literal, cast
from urllib.parse import unquote

from uvicorn.config import Config
from uvicorn.logging import TRACE_LOG_LEVEL
from uvicorn.protocols.utils import (
    ClientDisconnected,
    get_client_addr,
    get_local_addr,
    get_path_with_query_string,
    get_remote_addr,
    is_ssl,
)
from uvicorn.server import ServerState

from fastws.asyncio.connection import _recv_buffer, _writelines
from fastws.deflate import DeflateOptions
from fastws.events import Binary, Close, Closed, Pong, Request, Text
from fastws.exceptions import InvalidState
from fastws.protocol import State
from fastws.server import ServerConnection

__all__ = ["FastWSProtocol"]

_OPEN = State.OPEN
_CLOSED = State.CLOSED
_CONNECTING = State.CONNECTING
_RECEIVE = "websocket.receive"
_SEND = "websocket.send"
# Headers of a denial response that the sans-IO core writes itself.
_FRAMING_HEADERS = frozenset({"content-length", "connection", "transfer-encoding"})
# The request head was already parsed by uvicorn's HTTP layer: only
# pathological heads could exceed these.
_MAX_HEAD_SIZE = 1 << 20
_MAX_HEADERS = 1024


def _message(kind: str) -> str:
    return (
        "Expected ASGI message 'websocket.accept', 'websocket.close' "
        f"or 'websocket.http.response.start' but got '{kind}'."
    )




class FastWSProtocol(asyncio.BufferedProtocol):
    """uvicorn WebSocket protocol backed by :class:`fastws.server.ServerConnection`.

    Constructed by uvicorn's HTTP protocol on an upgrade request, exactly
    like uvicorn's ``WebSocketsSansIOProtocol`` and ``WSProtocol``.
    """

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        if not config.loaded:
            config.load()  # pragma: no cover - uvicorn loads it first
        self.config = config
        self.app = config.loaded_app
        self.loop = _loop or asyncio.get_event_loop()
        self.logger = logging.getLogger("uvicorn.error")
        self.root_path = config.root_path
        self.asgi_version = config.asgi_version
        self.app_state = app_state

        # Shared server state
        self.connections = server_state.connections
        self.tasks = server_state.tasks
        self.default_headers = server_state.default_headers

        # Connection state
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.server: tuple[str, int | None] | None = None
        self.client: tuple[str, int] | None = None
        self.scheme: Literal["wss", "ws"] = "ws"
        self.scope: dict[str, Any] = {}

        compression = (
            DeflateOptions(server_max_window_bits=12) if config.ws_per_message_deflate else None
        )
        self.conn = ServerConnection(
            auto_accept=False,
            compression=compression,
            max_message_size=config.ws_max_size,
            extra_headers=[
                (name.decode("latin-1"), value.decode("latin-1"))
                for name, value in self.default_headers
            ],
            max_head_size=_MAX_HEAD_SIZE,
            max_headers=_MAX_HEADERS,
        )

        # The transport reads into the shared buffer (BufferedProtocol).
        self._buffer = _recv_buffer()

        # ASGI state
        self._queue: collections.deque[dict[str, Any]] = collections.deque()
        self._waiter: asyncio.Future[None] | None = None
        self._accepted = False  # the 101 was sent
        self._responded = False  # an HTTP response (refusal) was sent instead
        self._close_sent = False  # the application sent websocket.close
        self._disconnect_queued = False
        self._disconnected = False  # the transport is gone
        self._initial_response: tuple[int, list[tuple[str, str]], bytes] | None = None
        self._close_timer: asyncio.TimerHandle | None = None
        self.close_timeout = 10.0

        # Flow control
        max_queue = config.ws_max_queue
        self._queue_high = max_queue if max_queue and max_queue > 0 else 1 << 62
        self._queue_low = self._queue_high // 4
        self._read_paused = False
        self._write_paused = False
        self._drain_waiter: asyncio.Future[None] | None = None

        # Keepalive
        self.ping_interval = config.ws_ping_interval
        self.ping_timeout = config.ws_ping_timeout
        self._ping_timer: asyncio.TimerHandle | None = None
        self._pong_timer: asyncio.TimerHandle | None = None
        self._ping_payload: bytes | None = None
        self._ping_sent_at = 0.0
        self.last_ping_rtt = 0.0

    def _prefix(self) -> str:
        client = self.client
        return f"{client[0]}:{client[1]} - " if client else ""

    # ------------------------------------------------------ asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)
        self.connections.add(self)  # type: ignore[arg-type]
        self.transport = transport
        self.server = get_local_addr(transport)
        self.client = get_remote_addr(transport)
        self.scheme = "wss" if is_ssl(transport) else "ws"
        if self.logger.level <= TRACE_LOG_LEVEL:
            prefix = self._prefix()
            self.logger.log(TRACE_LOG_LEVEL, "%sWebSocket connection made", prefix)

    def data_received(self, data: bytes | memoryview) -> None:
        conn = self.conn
        conn.receive_data(data)
        # hot path: the core's event and output lists, read directly
        events = conn._events
        if events:
            conn._events = []
            self._handle_events(events)
        out = conn._out
        if out:
            conn._out = []
            if len(out) == 1:
                self.transport.write(out[0])
            else:
                _writelines(self.transport, out)
        if conn.state is _CLOSED:
            self._transport_close()

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._buffer

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(self._buffer[:nbytes])

    def eof_received(self) -> bool | None:
        return None  # connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self._disconnected = True
        self._stop_keepalive()
        if self._close_timer is not None:
            self._close_timer.cancel()
            self._close_timer = None
        self.connections.discard(self)
        conn = self.conn
        if conn.state is not _CLOSED:
            conn.receive_eof()
        events = conn.events()
        if events:
            self._handle_events(events)
        conn.data_to_send()
        if not self._disconnect_queued:
            self._disconnect(1006 if not self._accepted else 1005, "")
        self._wake()
        # asyncio never resumes writing on a transport lost while paused.
        self._write_paused = False
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if self.logger.level <= TRACE_LOG_LEVEL:
            prefix = self._prefix()
            self.logger.log(TRACE_LOG_LEVEL, "%sWebSocket connection lost", prefix)
        if exc is None:
            self.transport.close()

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def shutdown(self) -> None:
        """uvicorn is shutting down: close open connections with 1012."""
        self._stop_keepalive()
        if self._close_sent or self._responded:
            if self._close_timer is not None:
                self._close_timer.cancel()
                self._close_timer = None
            self._transport_close()
            return
        conn = self.conn
        if conn.state is _OPEN:
            self._disconnect(1012, "")
            conn.close(1012)
            self._close_sent = True
            self._write(conn.data_to_send())
        elif conn.state is _CONNECTING:
            self._send_500_response()
        self._transport_close()

    # ---------------------------------------------------------------- events

    def _handle_events(self, events: list[Any]) -> None:
        queue = self._queue
        for event in events:
            kind = type(event)
            if kind is Binary:
                if not self._close_sent:
                    queue.append({"type": _RECEIVE, "bytes": event.data})
            elif kind is Text:
                if not self._close_sent:
                    queue.append({"type": _RECEIVE, "text": event.data})
            elif kind is Request:
                self._handle_connect(event)
            elif kind is Pong:
                self._handle_pong(event.data)
            elif kind is Close:
                if not self._disconnect_queued:
                    self._disconnect(event.code, event.reason)
            elif kind is Closed and not self._disconnect_queued:
                code = event.code if self._accepted else 1006
                self._disconnect(code, event.reason if event.error is not None else "")
        if queue:
            waiter = self._waiter
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
            if len(queue) >= self._queue_high and not self._read_paused and not self._disconnected:
                self._read_paused = True
                self.transport.pause_reading()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and self._queue and not waiter.done():
            waiter.set_result(None)

    def _disconnect(self, code: int, reason: str) -> None:
        self._disconnect_queued = True
        self._queue.append({"type": "websocket.disconnect", "code": code, "reason": reason})

    def _handle_connect(self, request: Request) -> None:
        raw_path, _, query_string = request.target.partition("?")
        root_path = self.root_path
        self.scope = {
            "type": "websocket",
            "asgi": {"version": self.asgi_version, "spec_version": "2.4"},
            "http_version": "1.1",
            "scheme": self.scheme,
            "server": self.server,
            "client": self.client,
            "root_path": root_path,
            "path": root_path + unquote(raw_path),
            "raw_path": root_path.encode("ascii") + raw_path.encode("ascii"),
            "query_string": query_string.encode("ascii"),
            "headers": [
                (name.lower().encode("latin-1"), value.encode("latin-1"))
                for name, value in request.headers
            ],
            "subprotocols": request.subprotocols,
            "state": self.app_state.copy(),
            "extensions": {"websocket.http.response": {}},
        }
        self._queue.append({"type": "websocket.connect"})
        task = self.loop.create_task(self.run_asgi())
        task.add_done_callback(self.tasks.discard)
        self.tasks.add(task)

    def _handle_pong(self, data: bytes) -> None:
        if self._ping_payload is None or data != self._ping_payload:
            return  # unsolicited or stale (RFC 6455 §5.5.3)
        self.last_ping_rtt = self.loop.time() - self._ping_sent_at
        self._ping_payload = None
        if self._pong_timer is not None:
            self._pong_timer.cancel()
            self._pong_timer = None
            self._schedule_ping()

    # ------------------------------------------------------------- keepalive

    def _start_keepalive(self) -> None:
        if self.ping_interval is not None and self.ping_interval > 0:
            self._schedule_ping()

    def _stop_keepalive(self) -> None:
        for timer in (self._ping_timer, self._pong_timer):
            if timer is not None:
                timer.cancel()
        self._ping_timer = self._pong_timer = None
        self._ping_payload = None

    def _schedule_ping(self) -> None:
        assert self.ping_interval is not None
        delay = max(0.0, self.ping_interval - self.last_ping_rtt)
        self._ping_timer = self.loop.call_later(delay, self._send_keepalive_ping)

    def _send_keepalive_ping(self) -> None:
        self._ping_timer = None
        conn = self.conn
        if conn.state is not _OPEN or self._close_sent or self.transport.is_closing():
            return
        self._ping_payload = os.urandom(4)
        self._ping_sent_at = self.loop.time()
        conn.send_ping(self._ping_payload)
        self._write(conn.data_to_send())
        if self.ping_timeout is not None:
            self._pong_timer = self.loop.call_later(self.ping_timeout, self._keepalive_timeout)
        else:
            self._schedule_ping()

    def _keepalive_timeout(self) -> None:
        self._pong_timer = None
        self._ping_payload = None
        conn = self.conn
        if conn.state is not _OPEN or self._close_sent or self.transport.is_closing():
            return
        if self.logger.level <= TRACE_LOG_LEVEL:
            prefix = self._prefix()
            self.logger.log(TRACE_LOG_LEVEL, "%sWebSocket keepalive ping timeout", prefix)
        self._disconnect(1011, "keepalive ping timeout")
        self._wake()
        conn.close(1011, "keepalive ping timeout")
        self._close_sent = True
        self._write(conn.data_to_send())
        self._transport_close()

    # ------------------------------------------------------------- transport

    def _write(self, data: bytes) -> None:
        if data and not self.transport.is_closing():
            self.transport.write(data)

    def _transport_close(self) -> None:
        if self._close_timer is not None:
            self._close_timer.cancel()
            self._close_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def _arm_close_timer(self) -> None:
        if self._read_paused:
            self._read_paused = False
            self.transport.resume_reading()
        if self._close_timer is None:
            self._close_timer = self.loop.call_later(self.close_timeout, self._transport_close)

    def _send_500_response(self) -> None:
        if self._accepted or self._responded or self.conn.state is not _CONNECTING:
            return
        if self.conn.request is None:
            return  # the core already answered an invalid request
        self._responded = True
        self.conn.reject(500, (), "Internal Server Error")
        self._write(self.conn.data_to_send())

    # ------------------------------------------------------------------ ASGI

    async def run_asgi(self) -> None:
        """Run the application; close the connection when it returns."""
        try:
            result = await self.app(self.scope, self.receive, self.send)
        except ClientDisconnected:
            pass
        except BaseException:
            self.logger.exception("Exception in ASGI application\n")
            if self._accepted:
                self._app_finished(1011)
            else:
                self._send_500_response()
                self._transport_close()
            return
        else:
            if not self._accepted and not self._responded:
                self.logger.error("ASGI callable returned without completing handshake.")
                self._send_500_response()
            elif result is not None:
                self.logger.error("ASGI callable should return None, but returned '%s'.", result)
        self._app_finished(1000)

    def _app_finished(self, code: int) -> None:
        """Close what the application left open: 1000 after a normal return,
        1011 (internal error, RFC 6455 §7.4.1) after an exception."""
        conn = self.conn
        if conn.state is _OPEN and not self._close_sent:
            self._close_sent = True
            conn.close(code)
            self._write(conn.data_to_send())
            self._arm_close_timer()
        elif conn.state is _CLOSED or not self._accepted:
            self._transport_close()

    async def receive(self) -> dict[str, Any]:
        """The next ASGI event: connect, receive, disconnect."""
        queue = self._queue
        while not queue:
            if self._disconnected:
                # Asked again after the disconnect: say it again rather than hang.
                return {"type": "websocket.disconnect", "code": 1006, "reason": ""}
            waiter = self._waiter
            if waiter is None or waiter.done():
                waiter = self._waiter = self.loop.create_future()
            await waiter
        message = queue.popleft()
        if self._read_paused and len(queue) <= self._queue_low:
            self._read_paused = False
            if not self.transport.is_closing():
                self.transport.resume_reading()
        return message

    async def send(self, message: dict[str, Any]) -> None:
        """Handle an ASGI event from the application."""
        if self._write_paused:
            await self._drain()
        if self._disconnected:
            raise ClientDisconnected()
        kind = message["type"]
        if self._accepted:
            if self._close_sent:
                raise RuntimeError(
                    f"Unexpected ASGI message '{kind}', after sending 'websocket.close'."
                )
            conn = self.conn
            if kind == _SEND:
                try:
                    data = message.get("bytes")
                    if data is not None:
                        conn.send_binary(data)
                    else:
                        text = message.get("text")
                        if text is None:
                            return
                        conn.send_text(text)
                except InvalidState:
                    raise ClientDisconnected() from None
                out = conn._out
                conn._out = []
                if len(out) == 1:
                    self.transport.write(out[0])
                else:
                    _writelines(self.transport, out)  # a large payload: header, payload
                return
            if kind != "websocket.close":
                raise RuntimeError(
                    "Expected ASGI message 'websocket.send' or 'websocket.close', "
                    f"but got '{kind}'."
                )
            reason = message.get("reason") or ""
            code = message.get("code", 1000)
            try:
                conn.close(code, reason)
            except InvalidState:
                raise ClientDisconnected() from None
            self._close_sent = True
            if not self._disconnect_queued:
                self._disconnect(code, reason)
            self._write(conn.data_to_send())
            if conn.state is _CLOSED:
                self._transport_close()
            else:
                self._arm_close_timer()
            return
        if self._initial_response is not None:
            self._response_body(message)
            return
        if self._responded:
            raise RuntimeError(
                f"Unexpected ASGI message '{kind}', after sending 'websocket.close'."
            )
        if kind == "websocket.accept":
            self._accept(message)
        elif kind == "websocket.close":
            self._log_status(403)
            self._refuse(403, [], b"")
        elif kind == "websocket.http.response.start":
            status = message["status"]
            if not isinstance(status, int) or not 100 <= status < 600 or status == 101:
                raise RuntimeError(f"Invalid HTTP status code '{status}' in response.")
            self._log_status(status)
            headers = [
                (bytes(name).decode("latin-1"), bytes(value).decode("latin-1"))
                for name, value in message.get("headers", [])
            ]
            self._initial_response = (status, headers, b"")
        else:
            raise RuntimeError(_message(kind))

    async def _drain(self) -> None:
        while self._write_paused and not self._disconnected:
            waiter = self._drain_waiter
            if waiter is None or waiter.done():
                waiter = self._drain_waiter = self.loop.create_future()
            await waiter

    def _log_status(self, status: int | None) -> None:
        self.logger.info(
            '%s - "WebSocket %s" %s',
            get_client_addr(self.scope),  # type: ignore[arg-type]
            get_path_with_query_string(self.scope),  # type: ignore[arg-type]
            "[accepted]" if status is None else status,
        )

    def _accept(self, message: dict[str, Any]) -> None:
        conn = self.conn
        if conn.state is not _CONNECTING or self.transport.is_closing():
            raise ClientDisconnected()
        self._log_status(None)
        headers = [
            (bytes(name).decode("latin-1"), bytes(value).decode("latin-1"))
            for name, value in message.get("headers", [])
        ]
        subprotocol = message.get("subprotocol") or None
        conn.accept(subprotocol, headers)
        self._accepted = True
        events = conn.events()  # frames that came with the request, if any
        if events:
            self._handle_events(events)
        self._write(conn.data_to_send())
        if conn.state is _CLOSED:
            self._transport_close()
        else:
            self._start_keepalive()

    def _refuse(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        """Answer the upgrade request with an HTTP response and close."""
        conn = self.conn
        if conn.state is not _CONNECTING:
            raise ClientDisconnected()
        self._responded = True
        headers = [(n, v) for n, v in headers if n.lower() not in _FRAMING_HEADERS]
        conn.reject(status, headers, body)
        conn.events()
        if not self._disconnect_queued:
            self._disconnect(1006, "")
            self._wake()
        self._write(conn.data_to_send())
        self._transport_close()

    def _response_body(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind != "websocket.http.response.body":
            raise RuntimeError(
                f"Expected ASGI message 'websocket.http.response.body' but got '{kind}'."
            )
        assert self._initial_response is not None
        status, headers, body = self._initial_response
        body += bytes(message.get("body", b""))
        if message.get("more_body", False):
            self._initial_response = (status, headers, body)
            return
        self._initial_response = None
        self._refuse(status, headers, body)
