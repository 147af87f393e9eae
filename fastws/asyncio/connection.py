"""The asyncio connection shared by clients and servers.

:class:`Connection` puts a sans-IO :class:`fastws.protocol.Connection` on an
asyncio transport. It is an :class:`asyncio.BufferedProtocol`:

Receiving
    The transport reads straight into one receive buffer (256 KiB) shared by
    every connection of the thread: ``get_buffer`` hands out a memoryview of
    it and ``buffer_updated(n)`` feeds ``view[:n]`` to
    ``protocol.receive_data`` synchronously. Both kernels copy what they keep
    (a frame's payload, a partial header, the handshake head), so nothing
    refers to the buffer once ``buffer_updated`` returns and the next read of
    any connection may reuse it. (asyncio, uvloop and the asyncio TLS layer
    all call ``get_buffer``, read, then ``buffer_updated`` without yielding.)
    Whole messages go to a deque; ``recv`` awaits a future only when the
    deque is empty. No task per message, no task per connection for
    keepalive (``loop.call_later``).

Sending
    ``send`` frames the message with the sans-IO core and writes it at once.
    Everything the core queues while processing one read (pongs, the close
    echo) is written with a single ``transport.write``. A server's large
    ``bytes``/``str`` message (64 KiB or more, uncompressed) is not copied
    into its frame: header and payload go to ``transport.writelines``
    (``data_to_send_list``), which uvloop (and asyncio from Python 3.12)
    sends without joining them.

Flow control (both directions)
    Reading pauses when ``max_queue`` messages wait to be received and resumes
    when ``recv`` drained the queue to the low-water mark. ``send`` awaits
    only when the transport's write buffer is over ``write_limit``
    (``pause_writing``/``resume_writing``).

Closing (RFC 6455 §7)
    ``close`` sends a close frame and waits for the transport to end, at most
    ``close_timeout`` seconds, then aborts it. A server closes the TCP
    connection once both close frames were exchanged (§7.1.1); a client waits
    for the server to do so. ``recv``, ``send`` and ``ping`` on a closed
    connection raise :class:`~fastws.exceptions.ConnectionClosedOK` after a
    normal closure (1000, 1001 or no code, both ways) and
    :class:`~fastws.exceptions.ConnectionClosedError` otherwise.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import threading
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping
from typing import Any, Callable, Union, cast

from fastws.events import Binary, Close, Closed, Event, Ping, Pong, Request, Response, Text
from fastws.exceptions import (
    ConcurrencyError,
    ConnectionClosed,
    ConnectionClosedError,
    ConnectionClosedOK,
    InvalidHandshake,
    InvalidState,
    ProtocolError,
)
from fastws.protocol import Connection as SansIOConnection
from fastws.protocol import State

from .listener import Listener

__all__ = ["Connection", "Data", "DataLike", "Trace", "RECV_BUFFER_SIZE"]

#: A received message: ``str`` for text, ``bytes`` for binary (RFC 6455 §5.6).
Data = Union[str, bytes]
#: What ``send`` accepts as one message or fragment.
DataLike = Union[str, bytes, bytearray, memoryview]
#: ``trace(kind, data)``: see :func:`fastws.asyncio.connect` (``trace``).
Trace = Callable[[str, bytes], None]

#: size of the per-thread receive buffer every connection reads into (bytes)
RECV_BUFFER_SIZE = 256 * 1024
# RFC 6455 §7.4.1: normal closure, going away, no status code.
_OK_CODES = frozenset({1000, 1001, 1005})

_OPEN = State.OPEN
_CLOSING = State.CLOSING
_CLOSED = State.CLOSED


# asyncio's default ``WriteTransport.writelines`` joins the buffers (a copy of
# a large payload); transports that send them as they are override it (uvloop,
# the TLS transport, the socket transport from Python 3.12).
_JOINING_WRITELINES = asyncio.WriteTransport.writelines
# On such a transport with an empty write buffer each ``write`` is a send(2):
# below this total size one joined write (a copy) is cheaper than two sends.
_JOIN_MAX = 512 * 1024


def _writelines(transport: asyncio.WriteTransport, out: list[bytes]) -> None:
    """Write a frame header and its large payload (``data_to_send_list``)
    without copying the payload when that pays: ``writelines`` when the
    transport keeps the buffers apart; else one ``write`` each (appended to
    the write buffer, or one send(2) each when it is empty), or one joined
    ``write`` when the buffer is empty and the total is under ``_JOIN_MAX``."""
    if type(transport).writelines is not _JOINING_WRITELINES:
        transport.writelines(out)
    elif transport.get_write_buffer_size() == 0 and sum(map(len, out)) < _JOIN_MAX:
        transport.write(b"".join(out))
    else:
        for data in out:
            transport.write(data)
_CONNECTING = State.CONNECTING
# send_nowait during a read's dispatch leaves small frames for the one write
# that ends the dispatch; a message this large is written at once (with what
# is pending before it), so big frames are never joined into a bigger copy.
_COALESCE_MAX = 16 * 1024

_local = threading.local()


def _recv_buffer() -> memoryview:
    """The receive buffer of this thread (one per thread: reads release the GIL)."""
    view: memoryview | None = getattr(_local, "view", None)
    if view is None:
        view = _local.view = memoryview(bytearray(RECV_BUFFER_SIZE))
    return view


#: use fastws_c.dispatch for listener connections on the C backend (tests
#: switch it off to compare with the reference path)
COMPILED_READER = True


def _compiled_reader(conn: Connection) -> Callable[[int], None] | None:
    """The compiled read path for ``conn`` (a listener connection that just
    opened), when it applies: C backend, no compression, whole messages."""
    core = conn.protocol
    if not COMPILED_READER or core._k.name != "c" or core._deflate is not None or core.streaming:
        return None
    try:
        from fastws_c.dispatch import ListenerReader
    except ImportError:  # an older build without it: the reference path
        return None
    reader = ListenerReader(conn, conn._listener, conn._view)
    # ws.send_nowait, as the listener sees it: the compiled one (it falls back
    # to Connection.send_nowait for everything but small str/bytes messages)
    conn.send_nowait = reader.send_nowait  # type: ignore[method-assign]
    return reader


def _limits(
    value: int | tuple[int | None, int | None] | None, name: str
) -> tuple[int | None, int | None]:
    """``high`` or ``(high, low)`` -> ``(high, low)``; low defaults to high // 4."""
    if value is None:
        return None, None
    if isinstance(value, tuple):
        high, low = value
    else:
        high, low = value, None
    if high is not None and (type(high) is not int or high < 1):
        raise ValueError(f"{name} must be a positive int or None")
    if low is None and high is not None:
        low = high // 4
    if low is not None and (type(low) is not int or low < 0 or (high is not None and low > high)):
        raise ValueError(f"{name}: the low-water mark must be an int between 0 and high")
    return high, low


def _payload(data: DataLike | None) -> bytes | None:
    if data is None:
        return None
    if isinstance(data, str):
        return data.encode()
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise TypeError("data must be str or bytes-like")


class Connection(asyncio.BufferedProtocol):
    """A WebSocket connection on an asyncio transport (client or server).

    Not created directly: :func:`fastws.asyncio.connect` returns a
    :class:`~fastws.asyncio.ClientConnection` and :func:`fastws.asyncio.serve`
    hands a :class:`~fastws.asyncio.ServerConnection` to its handler.

    Attributes: ``id`` (a UUID), ``protocol`` (the sans-IO connection),
    ``request``/``response`` (the handshake, :class:`fastws.events.Request`
    and :class:`fastws.events.Response`), ``raw_request``/``raw_response``
    (the handshake heads exactly as sent or received), ``subprotocol``,
    ``extensions``, ``local_address``, ``remote_address``, ``latency`` (of
    the last ping answered, seconds), ``state``, ``close_code``,
    ``close_reason``, ``logger``.
    """

    def __init__(
        self,
        protocol: SansIOConnection,
        *,
        ping_interval: float | None = 20,
        ping_timeout: float | None = 20,
        close_timeout: float | None = 10,
        max_queue: int | tuple[int | None, int | None] | None = 16,
        write_limit: int | tuple[int, int | None] = 2**15,
        logger: logging.Logger | logging.LoggerAdapter[Any] | None = None,
        trace: Trace | None = None,
    ) -> None:
        for name, value in (
            ("ping_interval", ping_interval),
            ("ping_timeout", ping_timeout),
            ("close_timeout", close_timeout),
        ):
            if value is not None and not value >= 0:
                raise ValueError(f"{name} must be a non-negative number or None")
        self.protocol = protocol
        self.loop = asyncio.get_running_loop()
        self.logger: logging.Logger | logging.LoggerAdapter[Any] = (
            logging.getLogger("fastws") if logger is None else logger
        )
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.close_timeout = close_timeout
        high, low = _limits(max_queue, "max_queue")
        self._queue_high = high if high is not None else (1 << 62)
        self._queue_low = low if low is not None else 0
        if isinstance(write_limit, tuple):
            self._write_high, self._write_low = write_limit
        else:
            self._write_high, self._write_low = write_limit, None
        if type(self._write_high) is not int or self._write_high < 0:
            raise ValueError("write_limit must be a non-negative int")
        self._trace = trace
        self._view = _recv_buffer()

        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self._messages: collections.deque[Data] = collections.deque()
        self._recv_waiter: asyncio.Future[None] | None = None
        self._reading_paused = False
        self._write_paused = False
        self._drain_waiter: asyncio.Future[None] | None = None
        self._fragmenting: asyncio.Future[None] | None = None
        self._lost: asyncio.Future[None] = self.loop.create_future()
        self._lost_exc: BaseException | None = None
        self._opened: asyncio.Future[None] = self.loop.create_future()
        self._pings: dict[bytes, tuple[asyncio.Future[float], float, asyncio.TimerHandle | None]]
        self._pings = {}
        self._keepalive_handle: asyncio.TimerHandle | None = None
        self._close_handle: asyncio.TimerHandle | None = None
        self._transport_closing = False
        self._sent_close = False  # our layer sent a close frame (close(), keepalive)
        self._rcvd_then_sent: bool | None = None
        self._id: uuid.UUID | None = None
        # Callback mode (fastws.asyncio.listener): the listener, or what makes
        # it when the connection opens (a server's factory); while a read is
        # dispatched, send_nowait leaves the writing to _received (one write).
        self._listener: Listener | None = None
        self._listener_factory: Callable[[], Listener] | None = None
        self._dispatching = False
        # fastws_c.dispatch.ListenerReader: the compiled read path of a
        # listener connection on the C backend (None: _received does it all)
        self._reader: Callable[[int], None] | None = None

        #: latency of the last ping answered (seconds; 0 before the first)
        self.latency = 0.0
        self.local_address: Any = None
        self.remote_address: Any = None

    # ------------------------------------------------------------- attributes

    @property
    def id(self) -> uuid.UUID:
        """A unique identifier of the connection, for logs."""
        if self._id is None:
            self._id = uuid.uuid4()
        return self._id

    @property
    def state(self) -> State:
        """CONNECTING, OPEN, CLOSING or CLOSED (RFC 6455 §4, §7)."""
        return self.protocol.state

    @property
    def request(self) -> Request | None:
        """The handshake request (server: the client's; client: ours)."""
        return self.protocol.request

    @property
    def response(self) -> Response | None:
        """The 101 response (client: the server's; server: ours), None before."""
        return self.protocol.response

    @property
    def raw_request(self) -> bytes:
        """The request head exactly as sent (client) or received (server)."""
        return self.protocol.raw_request

    @property
    def raw_response(self) -> bytes:
        """The response head exactly as received (client) or sent (server)."""
        return self.protocol.raw_response

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol negotiated in the handshake (RFC 6455 §1.9), or None."""
        return self.protocol.subprotocol

    @property
    def extensions(self) -> list[tuple[str, list[tuple[str, str | None]]]]:
        """The extensions negotiated in the handshake, as in ``Sec-WebSocket-Extensions``."""
        return [] if self.response is None else self.response.extensions

    @property
    def close_code(self) -> int | None:
        """None until the connection is CLOSED; then the code of the peer's
        close frame (1005 if it had none), or 1006 when none was received."""
        if self.protocol.state is not _CLOSED:
            return None
        received = self.protocol.close_received
        return 1006 if received is None else received[0]

    @property
    def close_reason(self) -> str | None:
        """None until the connection is CLOSED; then the peer's close reason."""
        if self.protocol.state is not _CLOSED:
            return None
        received = self.protocol.close_received
        return "" if received is None else received[1]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.remote_address!r} {self.state.name}>"

    # ------------------------------------------------------ asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """The transport is ready: send what the core queued (the client's request)."""
        self.transport = transport = cast(asyncio.Transport, transport)
        transport.set_write_buffer_limits(self._write_high, self._write_low)
        self.local_address = transport.get_extra_info("sockname")
        self.remote_address = transport.get_extra_info("peername")
        data = self.protocol.data_to_send()
        if data:
            self._sent_handshake(data)
            transport.write(data)

    def get_buffer(self, sizehint: int) -> memoryview:
        """The shared receive buffer (see the module docstring)."""
        return self._view

    def buffer_updated(self, nbytes: int) -> None:
        """``nbytes`` arrived in the buffer: feed, dispatch, write once."""
        reader = self._reader
        if reader is not None:
            reader(nbytes)  # same result, whole frames handled in C
        else:
            self._received(self._view[:nbytes])

    def _write_list(self, out: list[bytes]) -> None:
        """Write several buffers queued by the core (see :func:`_writelines`)."""
        _writelines(self.transport, out)

    def _received(self, data: Union[bytes, memoryview]) -> None:
        # The per-message hot path: attributes of the core are read directly
        # (``_events``, ``_out``, ``_state``) rather than through its methods.
        protocol = self.protocol
        self._dispatching = True
        try:
            # with a listener, messages reach it during receive_data (_deliver)
            protocol.receive_data(data)
            events = protocol._events
            if events:
                protocol._events = []
                self._process(events)
        finally:
            self._dispatching = False
        out = protocol._out
        if out:
            protocol._out = []
            if len(out) == 1:
                self.transport.write(out[0])
            else:
                _writelines(self.transport, out)
        if protocol._state is not _OPEN:
            self._check_state()

    def eof_received(self) -> None:
        """The peer closed its side (RFC 6455 §7.1.5 when no close frame came)."""
        self._end()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        """The transport is closed: finish the connection and wake every waiter."""
        self._lost_exc = exc
        self._transport_closing = True
        for handle in (self._keepalive_handle, self._close_handle):
            if handle is not None:
                handle.cancel()
        self._keepalive_handle = self._close_handle = None
        if self.protocol.state is not _CLOSED:
            self.protocol.receive_eof()
            events = self.protocol.events()
            if events:
                self._process(events)
        self.protocol.data_to_send()  # nothing can be sent any more
        if not self._opened.done():
            self._handshake_failed(exc)
        if not self._lost.done():
            self._lost.set_result(None)
        self._wake_receiver()
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        self._write_paused = False
        if self._pings:
            closed = self._closed_error()
            for future, _, handle in self._pings.values():
                if handle is not None:
                    handle.cancel()
                if not future.done():
                    future.set_exception(closed)
                    future.exception()  # an ignored ping is not an unretrieved error
            self._pings.clear()
        self._connection_ended()
        listener = self._listener
        self.protocol.message_callback = None  # no reference cycle left behind
        self._reader = None
        self.__dict__.pop("send_nowait", None)  # the compiled one, if any
        if listener is not None and self._opened.done() and not self._opened.exception():
            self._listener = None  # on_close is called once
            try:
                listener.on_close(self)
            except Exception:
                self.logger.error("listener on_close failed", exc_info=True)

    def pause_writing(self) -> None:
        """The transport's write buffer is over ``write_limit``: ``send`` waits."""
        self._write_paused = True
        if self._listener is not None:
            self._call_listener("on_write_paused")

    def resume_writing(self) -> None:
        """The write buffer drained to the low-water mark: wake ``send``."""
        self._write_paused = False
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if self._listener is not None:
            self._call_listener("on_write_resumed")

    # ------------------------------------------------------- event dispatch

    def _process(self, events: list[Event]) -> None:
        """Dispatch the core's events; messages go to the queue, or to the listener."""
        messages = self._messages
        queued = False
        while events:
            handshake = False
            for event in events:
                kind = type(event)
                if kind is Text or kind is Binary:
                    if self._listener is None:
                        messages.append(event.data)  # type: ignore[union-attr]
                        queued = True
                    else:  # parsed before message_callback was set (see _handshake_done)
                        self._deliver(event.data)  # type: ignore[union-attr]
                elif kind is Pong:
                    self._on_pong(event.data)  # type: ignore[union-attr,arg-type]
                elif kind is Ping:
                    pass  # the core queued the pong (RFC 6455 §5.5.2)
                elif kind is Close:
                    self._rcvd_then_sent = not self._sent_close
                elif kind is Closed:
                    if not self._opened.done():
                        self._handshake_failed(None)
                else:
                    handshake = True
                    self._on_handshake(event)
            # accept() may have produced events of its own (frames after the head)
            events = self.protocol.events() if handshake else []
        if queued:
            self._wake_receiver()
            if len(messages) >= self._queue_high and not self._reading_paused:
                self._reading_paused = True
                if not self._transport_closing:
                    self.transport.pause_reading()

    def _wake_receiver(self) -> None:
        waiter = self._recv_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _check_state(self) -> None:
        """After I/O outside OPEN: close the transport when CLOSED, arm the close timer."""
        state = self.protocol.state
        if state is _CLOSED:
            if not self._transport_closing:
                self._transport_closing = True
                self.transport.close()
                self._arm_close_timer()
        elif state is _CLOSING:
            self._arm_close_timer()

    def _arm_close_timer(self) -> None:
        """RFC 6455 §7.1.1: do not wait forever for the peer to end the connection."""
        if self._close_handle is None and self.close_timeout is not None:
            self._close_handle = self.loop.call_later(self.close_timeout, self._close_timed_out)

    def _close_timed_out(self) -> None:
        self._close_handle = None
        if not self._lost.done():
            self.logger.debug("%s: closing timed out, aborting the connection", self)
            self._transport_closing = True
            self.transport.abort()

    def _end(self) -> None:
        """The transport ended (EOF, or we gave up): CLOSED."""
        protocol = self.protocol
        if protocol.state is not _CLOSED:
            protocol.receive_eof()
            events = protocol.events()
            if events:
                self._process(events)
        self._check_state()

    # ------------------------------------------------------------ handshake

    def _sent_handshake(self, data: bytes) -> None:
        """Hook: the first bytes written (the client's request)."""

    def _on_handshake(self, event: Event) -> None:  # pragma: no cover - overridden
        """Hook: a Request (server) or Response (client) event."""
        raise NotImplementedError

    def _handshake_failed(self, exc: BaseException | None) -> None:
        """The handshake failed or the transport ended before it completed."""
        error = self.protocol.error
        if not isinstance(error, InvalidHandshake):
            error = InvalidHandshake("connection closed before the handshake completed")
        if exc is not None and error.__cause__ is None:
            error.__cause__ = exc
        self._opened.set_exception(error)
        self._opened.exception()  # retrieved by the caller, if anyone waits

    def _handshake_done(self) -> None:
        """The connection is OPEN: start keepalive, wake the opener, open the listener."""
        if not self._opened.done():
            self._opened.set_result(None)
        if self.ping_interval is not None and self.ping_interval > 0:
            self._keepalive_handle = self.loop.call_later(self.ping_interval, self._keepalive)
        factory = self._listener_factory
        if factory is not None:
            self._listener_factory = None
            try:
                self._listener = factory()
            except Exception:
                self._listener_failed("the listener factory")
                return
        if self._listener is not None:
            # From now on the core hands each message straight to _deliver
            # (messages it parsed before are still events, dispatched first).
            self.protocol.message_callback = self._deliver
            self._reader = _compiled_reader(self)
            self._call_listener("on_open")

    # ------------------------------------------------------------- listener

    def _deliver(self, message: Data) -> None:
        """The core's ``message_callback`` in listener mode: ``on_message``."""
        listener = self._listener
        if listener is None:  # on_close was called: the connection is over
            return
        try:
            listener.on_message(self, message)
        except ConnectionClosed as exc:  # sent after the close: not a bug
            self.logger.debug("%s: listener stopped: %s", self, exc)
        except Exception:
            self._listener_failed("on_message")

    def _call_listener(self, name: str) -> None:
        """Call ``listener.name(self)``; an exception closes with 1011."""
        listener = self._listener
        if listener is None:
            return
        try:
            getattr(listener, name)(self)
        except ConnectionClosed as exc:
            self.logger.debug("%s: listener stopped: %s", self, exc)
        except Exception:
            self._listener_failed(name)

    def _listener_failed(self, where: str) -> None:
        """A callback raised: log it, close with 1011 (internal error)."""
        self.logger.error("listener %s failed", where, exc_info=True)
        if self.protocol.state is _OPEN:
            self.close_nowait(1011)

    def _connection_ended(self) -> None:
        """Hook: after ``connection_lost`` (the server forgets the connection)."""

    # ------------------------------------------------------------- receiving

    async def recv(self, decode: bool | None = None) -> Data:
        """The next message: ``str`` for text, ``bytes`` for binary (RFC 6455 §5.6).

        ``decode=False`` returns text as UTF-8 ``bytes``, ``decode=True``
        decodes binary messages as UTF-8. Fragmented messages are returned
        whole. Raises :class:`~fastws.exceptions.ConnectionClosedOK` or
        :class:`~fastws.exceptions.ConnectionClosedError` once the connection
        is closed and every message received before was returned, and
        :class:`~fastws.exceptions.ConcurrencyError` when another coroutine is
        already waiting in ``recv``. Cancelling ``recv`` loses nothing.
        """
        messages = self._messages
        if self._listener is not None:
            raise InvalidState("messages go to the listener of this connection")
        while not messages:
            if self._lost.done():
                raise self._closed_error()
            if self._recv_waiter is not None:
                raise ConcurrencyError("recv is already waiting in another coroutine")
            waiter = self._recv_waiter = self.loop.create_future()
            try:
                await waiter
            finally:
                self._recv_waiter = None
        message = messages.popleft()
        if self._reading_paused and len(messages) <= self._queue_low:
            self._reading_paused = False
            if not self._transport_closing:
                self.transport.resume_reading()
        if decode is None:
            return message
        if decode:
            return message if type(message) is str else message.decode()  # type: ignore[union-attr]
        return message.encode() if type(message) is str else message

    def __aiter__(self) -> AsyncIterator[Data]:
        """``async for message in ws``: until a normal closure; a closure with an
        error raises :class:`~fastws.exceptions.ConnectionClosedError`."""
        return self

    async def __anext__(self) -> Data:
        try:
            return await self.recv()
        except ConnectionClosedOK:
            raise StopAsyncIteration from None

    # --------------------------------------------------------------- sending

    async def send(
        self,
        message: DataLike | Iterable[DataLike] | AsyncIterable[DataLike],
        *,
        text: bool | None = None,
    ) -> None:
        """Send a message (RFC 6455 §5.6): ``str`` as text, bytes-like as binary.

        ``text=True`` sends bytes (UTF-8, not checked) as text, ``text=False``
        a ``str`` as binary. An iterable or async iterable of ``str`` (or of
        bytes-like) sends one fragmented message, one frame per item (§5.4);
        mixing types raises ``TypeError`` and closes the connection with 1011.
        Other sends wait until a fragmented message is complete. Waits only
        when the write buffer is over ``write_limit``. Raises
        :class:`~fastws.exceptions.ConnectionClosed` when the connection is
        closing or closed.
        """
        while self._fragmenting is not None:
            await asyncio.shield(self._fragmenting)
        protocol = self.protocol
        try:
            if not self._queue_message(message, text):
                if isinstance(message, Mapping):
                    raise TypeError("data must be str, bytes-like or an iterable, not a mapping")
                if isinstance(message, Iterable):
                    # (str and bytes-like were queued whole above)
                    await self._send_fragments(iter(cast(Iterable[DataLike], message)), None, text)
                    return
                if isinstance(message, AsyncIterable):
                    await self._send_fragments(None, message.__aiter__(), text)
                    return
                raise TypeError("data must be str, bytes-like, an iterable or an async iterable")
        except InvalidState:
            raise await self._wait_closed_error() from None
        out = protocol._out
        if out:
            protocol._out = []
            if len(out) == 1:
                self.transport.write(out[0])
            else:
                _writelines(self.transport, out)
        if self._write_paused:
            await self._drain()

    def _queue_message(self, message: object, text: bool | None) -> bool:
        """Frame one whole message into the core's output: ``str`` as text,
        bytes-like as binary, ``text`` overriding (see :meth:`send`). False
        (nothing queued) for any other type; InvalidState when not OPEN."""
        protocol = self.protocol
        if type(message) is str:
            if text is False:
                protocol.send_binary(message.encode())
            else:
                protocol.send_text(message)
        elif isinstance(message, (bytes, bytearray, memoryview)):
            if text:
                protocol.send_text(message)
            else:
                protocol.send_binary(message)
        elif isinstance(message, str):
            if text is False:
                protocol.send_binary(str(message).encode())
            else:
                protocol.send_text(str(message))
        else:
            return False
        return True

    def send_nowait(self, message: DataLike, *, text: bool | None = None) -> None:
        """Send a message now, without waiting (for :class:`~fastws.asyncio.Listener`
        callbacks, or any code that must not await).

        ``str`` goes as text, bytes-like as binary; ``text`` overrides as in
        :meth:`send` (no iterables: fragments need :meth:`send`). Never
        waits: over ``write_limit`` the transport buffers the rest (watch
        ``on_write_paused``). Called from a listener callback, a small frame
        (under 16 KiB) is written with everything else the same read
        produced, in one write; a larger one at once.
        Raises :class:`~fastws.exceptions.ConnectionClosed` when the
        connection is closing or closed, :class:`~fastws.exceptions.ConcurrencyError`
        while :meth:`send` is sending a fragmented message.
        """
        if self._fragmenting is not None:
            raise ConcurrencyError("a fragmented message is being sent")
        protocol = self.protocol
        try:
            queued = self._queue_message(message, text)
        except InvalidState:
            raise self._closed_error() from None
        if not queued:
            raise TypeError("data must be str or bytes-like")
        if not self._dispatching or len(message) >= _COALESCE_MAX:
            out = protocol._out
            if out:
                protocol._out = []
                if len(out) == 1:
                    self.transport.write(out[0])
                else:
                    _writelines(self.transport, out)

    async def _send_fragments(
        self,
        items: Iterator[DataLike] | None,
        aitems: AsyncIterator[DataLike] | None,
        text: bool | None,
    ) -> None:
        """One fragmented message (§5.4). A sync iterable is read one item
        ahead so the last item carries FIN; an async one sends each item as it
        comes and ends with an empty final frame."""
        protocol = self.protocol
        done = self._fragmenting = self.loop.create_future()
        kind: type | None = None
        started = False

        def put(item: object, fin: bool) -> None:
            nonlocal kind, started
            if isinstance(item, str):
                this: type = str
            elif isinstance(item, (bytes, bytearray, memoryview)):
                this = bytes
            else:
                raise TypeError("fragments must be str or bytes-like")
            if kind is None:
                kind = this
            elif this is not kind:
                raise TypeError("all fragments must be of the same type (str or bytes-like)")
            as_text = (this is str) if text is None else text
            payload: Any = item
            if as_text:
                protocol.send_text(payload, fin)
            else:
                protocol.send_binary(payload.encode() if this is str else payload, fin)
            started = True

        try:
            if items is not None:
                try:
                    previous = next(items)
                except StopIteration:
                    return
                for item in items:
                    put(previous, False)
                    await self._flush_and_drain()
                    previous = item
                put(previous, True)
            else:
                assert aitems is not None
                async for item in aitems:
                    put(item, False)
                    await self._flush_and_drain()
                if started:
                    assert kind is not None
                    if (kind is str) if text is None else text:
                        protocol.send_text("", True)
                    else:
                        protocol.send_binary(b"", True)
            await self._flush_and_drain()
        except BaseException:
            if started and protocol.state is _OPEN:
                # Half a message was sent: the connection cannot be used any more.
                self._sent_close = True
                protocol.close(1011, "error in fragmented message")
                self._flush()
                self._check_state()
            raise
        finally:
            self._fragmenting = None
            done.set_result(None)

    def _flush(self) -> None:
        out = self.protocol.data_to_send_list()
        if out and not self._transport_closing:
            if len(out) == 1:
                self.transport.write(out[0])
            else:
                _writelines(self.transport, out)

    async def _flush_and_drain(self) -> None:
        self._flush()
        if self._write_paused:
            await self._drain()

    async def _drain(self) -> None:
        """Wait until the write buffer is under the low-water mark (or the end)."""
        while self._write_paused and not self._lost.done():
            waiter = self._drain_waiter
            if waiter is None or waiter.done():
                waiter = self._drain_waiter = self.loop.create_future()
            await asyncio.shield(waiter)
        if self._lost.done():
            raise self._closed_error()

    # --------------------------------------------------------- control frames

    def ping(self, data: DataLike | None = None) -> asyncio.Future[float]:
        """Send a ping (RFC 6455 §5.5.2) now; ``await ws.ping()`` returns the
        latency in seconds when the matching pong arrives.

        ``data`` (at most 125 bytes; ``str`` is UTF-8 encoded) defaults to 4
        random bytes. A pong acknowledges every earlier ping too. Raises
        :class:`~fastws.exceptions.ConcurrencyError` when a ping with the same
        payload is pending and :class:`~fastws.exceptions.ConnectionClosed`
        when the connection is not open. (Unlike ``websockets``, ``ping`` is
        not a coroutine: it returns the future directly.)
        """
        payload = _payload(data)
        if payload is not None and payload in self._pings:
            raise ConcurrencyError("a ping with the same payload is waiting for its pong")
        if self.protocol.state is not _OPEN:
            raise self._closed_error()
        while payload is None or payload in self._pings:
            payload = os.urandom(4)
        self.protocol.send_ping(payload)
        self._flush()
        future: asyncio.Future[float] = self.loop.create_future()
        self._pings[payload] = (future, self.loop.time(), None)
        return future

    async def pong(self, data: DataLike = b"") -> None:
        """Send an unsolicited pong (RFC 6455 §5.5.3), a one-way heartbeat."""
        payload = _payload(data)
        try:
            self.protocol.send_pong(payload or b"")
        except InvalidState:
            raise await self._wait_closed_error() from None
        self._flush()

    def _on_pong(self, data: bytes) -> None:
        """A pong acknowledges its ping and every ping sent before it."""
        pings = self._pings
        if data not in pings:
            return  # unsolicited (§5.5.3)
        now = self.loop.time()
        for key in list(pings):
            future, sent_at, handle = pings.pop(key)
            if handle is not None:
                handle.cancel()
            if not future.done():
                future.set_result(now - sent_at)
            if key == data:
                self.latency = now - sent_at
                break

    def _keepalive(self) -> None:
        """Every ``ping_interval``: a ping; no pong in ``ping_timeout``: fail (1011)."""
        self._keepalive_handle = None
        if self.protocol.state is not _OPEN:
            return
        future = self.ping()
        if self.ping_timeout is not None:
            key = next(reversed(self._pings))
            handle = self.loop.call_later(self.ping_timeout, self._ping_timed_out)
            self._pings[key] = (future, self._pings[key][1], handle)
        assert self.ping_interval is not None
        self._keepalive_handle = self.loop.call_later(self.ping_interval, self._keepalive)

    def _ping_timed_out(self) -> None:
        if self.protocol.state is not _OPEN:
            return
        self.logger.debug("%s: keepalive ping timeout", self)
        self._sent_close = True
        self.protocol.close(1011, "keepalive ping timeout")
        self._flush()
        # The peer is unresponsive: do not wait for its close frame.
        if not self._transport_closing:
            self._transport_closing = True
            self.transport.close()
        self._arm_close_timer()

    # --------------------------------------------------------------- closing

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection (RFC 6455 §7.1.2) and wait until it is closed.

        Sends a close frame with ``code`` and ``reason`` (at most 123 UTF-8
        bytes; ``ValueError`` for a code not allowed on the wire, §7.4), then
        waits for the peer's close frame and the end of the transport, at
        most ``close_timeout`` seconds, after which the transport is aborted.
        Idempotent. Closing in the middle of a fragmented message sends 1011.
        """
        protocol = self.protocol
        if protocol.state is _OPEN:
            if self._fragmenting is not None:
                code, reason = 1011, "close during fragmented message"
            protocol.close(code, reason)
            self._sent_close = True
            self._flush()
            self._check_state()
        elif protocol.state is _CONNECTING and self.transport is not None:
            self._transport_closing = True
            self.transport.abort()
        elif protocol.state is _CLOSED:
            self._check_state()
        if self.transport is not None:
            await asyncio.shield(self._lost)

    def close_nowait(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake without waiting (see :meth:`close`).

        Sends the close frame now (the transport ends when the peer answers,
        or after ``close_timeout``); ``await ws.wait_closed()`` waits for the
        end. Idempotent; a no-op once closing."""
        protocol = self.protocol
        if protocol.state is _OPEN:
            if self._fragmenting is not None:
                code, reason = 1011, "close during fragmented message"
            protocol.close(code, reason)
            self._sent_close = True
            if not self._dispatching:
                self._flush()
            self._check_state()
        elif (protocol.state is _CONNECTING and self.transport is not None
              and not self._transport_closing):
            self._transport_closing = True
            self.transport.abort()

    def pause_reading(self) -> None:
        """Stop reading from the peer until :meth:`resume_reading` (flow
        control for listeners; the await API pauses by itself at ``max_queue``)."""
        if not self._reading_paused:
            self._reading_paused = True
            if not self._transport_closing and self.transport is not None:
                self.transport.pause_reading()

    def resume_reading(self) -> None:
        """Read from the peer again after :meth:`pause_reading`."""
        if self._reading_paused:
            self._reading_paused = False
            if not self._transport_closing and self.transport is not None:
                self.transport.resume_reading()

    async def wait_closed(self) -> None:
        """Wait until the connection is closed (the transport ended)."""
        await asyncio.shield(self._lost)

    async def __aenter__(self) -> Connection:
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        """Close with 1000, or 1011 (internal error) when the block raised."""
        await self.close(1000 if exc_type is None else 1011)

    def _closed_error(self) -> ConnectionClosed:
        """The ConnectionClosed exception describing how the connection ended."""
        protocol = self.protocol
        rcvd = None if protocol.close_received is None else Close(*protocol.close_received)
        sent = None if protocol.close_sent is None else Close(*protocol.close_sent)
        order = self._rcvd_then_sent if rcvd is not None and sent is not None else None
        ok = rcvd is not None and sent is not None and rcvd.code in _OK_CODES
        ok = ok and sent is not None and sent.code in _OK_CODES
        exc = (ConnectionClosedOK if ok else ConnectionClosedError)(rcvd, sent, order)
        cause = protocol.error
        if isinstance(cause, ProtocolError):
            exc.__cause__ = cause
        elif self._lost_exc is not None:
            exc.__cause__ = self._lost_exc
        return exc

    async def _wait_closed_error(self) -> ConnectionClosed:
        """Like websockets: wait for the transport to end, then describe it."""
        if self.protocol.state is not _CLOSED or not self._lost.done():
            self._check_state()
            await asyncio.shield(self._lost)
        return self._closed_error()



def _use_compiled_buffer_updated() -> None:
    """On the C backend, ``buffer_updated`` (called for every read) is
    ``fastws_c.dispatch.buffer_updated``: the same three lines as the method
    above, without an interpreter frame."""
    from fastws import _backend

    if _backend.backend != "c":
        return
    try:
        from fastws_c.dispatch import buffer_updated
    except ImportError:  # an older build without it
        return
    Connection.buffer_updated = buffer_updated  # type: ignore[method-assign]


_use_compiled_buffer_updated()
