"""Callbacks instead of coroutines: :class:`Listener`.

The await-based API (``async for message in ws: await ws.send(...)``) wakes
a task for every message: the message is queued, a future is resolved, and
the handler resumes on the next turn of the event loop. That turn (one more
``epoll_wait`` and a task step) is most of what a small message costs. A
:class:`Listener` receives each message in a plain method call, straight
from the read that completed it, and answers with the non-blocking
``ws.send_nowait``; everything sent while one read is being dispatched is
written with a single ``transport.write``. This is the model of picows'
``WSListener`` (and of ``asyncio.Protocol`` itself)::

    from fastws.asyncio import Listener, listen

    class Echo(Listener):
        def on_message(self, ws, message):
            ws.send_nowait(message)

    async def main():
        async with listen(Echo, "127.0.0.1", 8765) as server:
            await server.serve_forever()

A client takes a listener too: ``await connect(uri, listener=Echo())``.

Rules of the callbacks:

* They run in the event loop's thread, inside the transport's callbacks:
  they must not block. Start a task (``asyncio.create_task``) for anything
  that awaits.
* An exception escaping a callback is logged and closes the connection with
  1011 (internal error), as an exception escaping a handler does.
* Messages arrive whole (fragments reassembled), text as ``str``, binary
  as ``bytes``, in order. Pings are answered by the library; pongs settle
  ``ws.ping()`` futures.
* ``recv`` and ``async for`` are not available on a connection that has a
  listener (:class:`~fastws.exceptions.InvalidState`).
* Flow control: :meth:`on_write_paused` / :meth:`on_write_resumed` tell
  when the write buffer crosses ``write_limit``; ``ws.pause_reading()`` /
  ``ws.resume_reading()`` stop and restart reading from the peer (a proxy
  pauses one side while the other cannot keep up). ``send_nowait`` never
  waits: what it cannot write at once is buffered by the transport.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    from .connection import Connection

__all__ = ["Listener"]


class Listener:
    """The callbacks of one connection; subclass it and override what you need.

    A server calls its listener factory (often the subclass itself) once per
    connection, after the opening handshake; a client uses the instance
    given to ``connect``. Every method receives the connection (``ws``):
    :class:`~fastws.asyncio.ServerConnection` or
    :class:`~fastws.asyncio.ClientConnection`.
    """

    def on_open(self, ws: Connection) -> None:
        """The opening handshake completed: the connection is OPEN.

        ``ws.request``, ``ws.response``, ``ws.subprotocol`` are set; messages
        sent with ``ws.send_nowait`` here go out right after the 101."""

    def on_message(self, ws: Connection, message: Union[str, bytes]) -> None:
        """A whole message: ``str`` for text, ``bytes`` for binary (RFC 6455 §5.6)."""

    def on_close(self, ws: Connection) -> None:
        """The connection is CLOSED and its transport ended (called once).

        ``ws.close_code`` and ``ws.close_reason`` tell how: the peer's close
        frame, or 1006 when the connection ended without one. Not called
        when the opening handshake failed."""

    def on_write_paused(self, ws: Connection) -> None:
        """The transport's write buffer went over ``write_limit``."""

    def on_write_resumed(self, ws: Connection) -> None:
        """The write buffer drained to the low-water mark of ``write_limit``."""
