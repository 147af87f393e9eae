"""The events a connection reports (RFC 6455).

A :class:`~fastws.protocol.Connection` turns the bytes it receives into these
small slotted objects; ``conn.events()`` hands them over in order.

* :class:`Request`  -- server: the client's opening handshake, validated (§4.2.1);
  with ``report_refused=True`` also a well-formed request the server refuses,
  its ``refusal`` set.
* :class:`Response` -- client: the server accepted the handshake with 101 (§4.1).
* :class:`Text`, :class:`Binary` -- a data message (§5.6). Whole messages by
  default (``fin`` is always True); with ``streaming=True`` one event per
  received frame, ``fin`` True on the last one.
* :class:`Ping`, :class:`Pong` -- control frames (§5.5.2, §5.5.3). A ping is
  answered automatically; the event is informational.
* :class:`Close` -- the peer's close frame (§5.5.1); the echo is automatic.
* :class:`Closed` -- the last event: the connection is over (§7.1.4).

Every event compares equal by value and has a readable ``repr``. They also
support structural pattern matching (``case Text(data): ...``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Optional, Union

if TYPE_CHECKING:
    from fastws.server import Reject

__all__ = [
    "Event",
    "Request",
    "Response",
    "Text",
    "Binary",
    "Ping",
    "Pong",
    "Close",
    "Closed",
]

Headers = list[tuple[str, str]]
ExtensionList = list[tuple[str, list[tuple[str, Optional[str]]]]]


class _Event:
    """Slotted value object: equality and repr from ``__slots__``."""

    __slots__: ClassVar[tuple[str, ...]] = ()
    __match_args__: ClassVar[tuple[str, ...]] = ()

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self.__slots__)

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__slots__)
        return f"{type(self).__name__}({fields})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), tuple(getattr(self, n) for n in self.__slots__))


def _header(headers: Headers, name: str) -> str | None:
    lname = name.lower()
    values = [v for k, v in headers if k.lower() == lname]
    return ", ".join(values) if values else None


class Request(_Event):
    """Server side: the client's opening handshake request (RFC 6455 §4.2.1).

    ``target`` is the request target (path and query), ``headers`` every header
    in order with its original case, ``subprotocols`` the offered
    ``Sec-WebSocket-Protocol`` values in order, ``extensions`` the parsed
    ``Sec-WebSocket-Extensions`` offers ``[(name, [(param, value|None), ...]), ...]``.

    ``refusal`` is None for a valid upgrade request. A
    :class:`~fastws.server.ServerConnection` made with ``report_refused=True``
    also reports a well-formed HTTP request that is no valid upgrade (a plain
    ``GET`` such as a health check, a refused ``Origin``, another WebSocket
    version): ``refusal`` is then the :class:`~fastws.server.Reject` the server
    sends unless the application answers otherwise (400, 403 or 426 with a
    text body saying why), and ``subprotocols``/``extensions`` are empty.

    (A client connection's ``request`` is a ``Request`` too: what it sent.)
    """

    __slots__ = ("target", "headers", "subprotocols", "extensions", "refusal")
    __match_args__ = ("target", "headers")

    def __init__(
        self,
        target: str,
        headers: Headers,
        subprotocols: list[str] | None = None,
        extensions: ExtensionList | None = None,
        refusal: Reject | None = None,
    ) -> None:
        self.target = target
        self.headers = headers
        self.subprotocols = [] if subprotocols is None else subprotocols
        self.extensions = [] if extensions is None else extensions
        self.refusal = refusal

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (case-insensitive; repeats joined by ", ")."""
        return _header(self.headers, name)

    def __repr__(self) -> str:
        # ``refusal`` is shown only when set: the common case reads as before.
        names = self.__slots__ if self.refusal is not None else self.__slots__[:-1]
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in names)
        return f"{type(self).__name__}({fields})"


class Response(_Event):
    """Client side: the server accepted the handshake (RFC 6455 §4.1, status 101).

    ``subprotocol`` is the one the server selected (or None); ``extensions``
    the accepted extensions as parsed from ``Sec-WebSocket-Extensions``.
    (A server connection's ``response`` is a ``Response`` too: the 101 it
    sent, every header in order.)
    """

    __slots__ = ("status", "headers", "subprotocol", "extensions")
    __match_args__ = ("status", "headers")

    def __init__(
        self,
        status: int,
        headers: Headers,
        subprotocol: str | None = None,
        extensions: ExtensionList | None = None,
    ) -> None:
        self.status = status
        self.headers = headers
        self.subprotocol = subprotocol
        self.extensions = [] if extensions is None else extensions

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (case-insensitive; repeats joined by ", ")."""
        return _header(self.headers, name)


class Text(_Event):
    """A text message (RFC 6455 §5.6), decoded and validated as UTF-8 (§8.1).

    ``fin`` is True for a whole message; in streaming mode each frame gives one
    event and ``fin`` marks the last fragment. A code point split across frames
    is delivered with the fragment that completes it.
    """

    __slots__ = ("data", "fin")
    __match_args__ = ("data", "fin")

    def __init__(self, data: str, fin: bool = True) -> None:
        self.data = data
        self.fin = fin


class Binary(_Event):
    """A binary message (RFC 6455 §5.6); ``fin`` as for :class:`Text`."""

    __slots__ = ("data", "fin")
    __match_args__ = ("data", "fin")

    def __init__(self, data: bytes, fin: bool = True) -> None:
        self.data = data
        self.fin = fin


class Ping(_Event):
    """A ping from the peer (RFC 6455 §5.5.2); the pong is already queued."""

    __slots__ = ("data",)
    __match_args__ = ("data",)

    def __init__(self, data: bytes = b"") -> None:
        self.data = data


class Pong(_Event):
    """A pong from the peer (RFC 6455 §5.5.3), solicited or not."""

    __slots__ = ("data",)
    __match_args__ = ("data",)

    def __init__(self, data: bytes = b"") -> None:
        self.data = data


class Close(_Event):
    """The peer's close frame (RFC 6455 §5.5.1): code (1005 when the frame had
    none) and reason. The echo (same code) has already been queued."""

    __slots__ = ("code", "reason")
    __match_args__ = ("code", "reason")

    def __init__(self, code: int, reason: str = "") -> None:
        self.code = code
        self.reason = reason


class Closed(_Event):
    """The connection is over; always the last event (RFC 6455 §7.1.4, §7.1.5).

    ``code``/``reason``: when the connection failed because of ``error`` (a
    protocol violation by the peer, or a failed handshake) they describe the
    failure (the close code sent, or 1006 for a failed handshake, and the
    error's message); otherwise the peer's close frame (1005 if it had no
    code); 1006 when the transport ended without a close frame (§7.1.5).
    ``error`` is the exception that failed the connection, or None for a clean
    or abrupt end.
    """

    __slots__ = ("code", "reason", "error")
    __match_args__ = ("code", "reason", "error")

    def __init__(self, code: int, reason: str = "", error: Exception | None = None) -> None:
        self.code = code
        self.reason = reason
        self.error = error

    def __eq__(self, other: object) -> bool:
        if type(other) is not Closed:
            return NotImplemented
        return (
            self.code == other.code
            and self.reason == other.reason
            and type(self.error) is type(other.error)
            and str(self.error) == str(other.error)
        )


Event = Union[Request, Response, Text, Binary, Ping, Pong, Close, Closed]
