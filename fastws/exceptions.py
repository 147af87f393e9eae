"""Every exception fastws raises on purpose.

This module imports nothing from the package, so the compiled kernels in
``fastws_c`` can raise the very same classes as the pure-Python kernels.

* :class:`FastWSError` -- base class of all of them.
* :class:`InvalidHTTP` -- a malformed or oversized HTTP head (``status`` is the
  HTTP status a server answers with: 400, or 431 for a head over the limits).
* :class:`ProtocolError` -- the peer broke RFC 6455 / RFC 7692; ``code`` is the
  close code the connection is failed with (1002, 1007, 1009, ...).

Mistakes of the caller (an argument out of range, a wrong type) raise the
builtin ``ValueError`` / ``TypeError`` instead.
"""

from __future__ import annotations

__all__ = ["FastWSError", "InvalidHTTP", "ProtocolError"]


class FastWSError(Exception):
    """Base class of every exception fastws raises on purpose."""


class InvalidHTTP(FastWSError, ValueError):
    """An HTTP head could not be parsed, or exceeds a configured limit.

    ``status`` is the HTTP status a server should answer with: 400 for a
    malformed head, 431 when the head or its header count is over the limit.
    """

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (type(self), (str(self), self.status))


class ProtocolError(FastWSError):
    """The peer violated the WebSocket protocol.

    ``code`` is the close code to fail the connection with: 1002 protocol
    error, 1007 invalid payload data (UTF-8), 1009 message too big, ...
    """

    def __init__(self, message: str, code: int = 1002) -> None:
        super().__init__(message)
        self.code = code

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (type(self), (str(self), self.code))


# --- the protocol layer (fastws.protocol, fastws.client, fastws.server) ---

__all__ += ["InvalidHandshake", "InvalidURI", "InvalidState"]


class InvalidHandshake(FastWSError):
    """The opening handshake failed (RFC 6455 §4.1, §4.2).

    On a client: the server did not answer with an acceptable ``101``.
    ``status`` is the response status (``None`` when no valid HTTP response
    head arrived), ``headers`` its headers and ``body`` the body bytes that
    were available (complete when the response delimits it with
    Content-Length or chunked encoding, at most 64 KiB), so a caller can follow
    a redirect or show a 401.

    On a server: the client's request was refused; ``status`` is the status
    of the refusal that was sent (400, 403, 426, 431, 500), ``headers`` the
    request headers when they could be parsed.
    """

    def __init__(
        self,
        message: str,
        status: int | None = None,
        headers: list[tuple[str, str]] | None = None,
        body: bytes = b"",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.headers = [] if headers is None else headers
        self.body = body

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (type(self), (str(self), self.status, self.headers, self.body))


class InvalidURI(FastWSError, ValueError):
    """A URL that is not a valid ``ws://`` or ``wss://`` URI (RFC 6455 §3)."""


class InvalidState(FastWSError, RuntimeError):
    """The connection's state does not allow this operation (RFC 6455 §5.5.1,
    §7.1: e.g. sending a message after the close frame was sent, or before the
    handshake completed)."""


# --- the asyncio layer (fastws.asyncio) ---

__all__ += [
    "ConnectionClosed",
    "ConnectionClosedOK",
    "ConnectionClosedError",
    "ConcurrencyError",
    "ProxyError",
]

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing only: this module imports nothing from the package at run time
    from fastws.events import Close


class ConnectionClosed(FastWSError):
    """The WebSocket connection is closed (RFC 6455 §7.1.4), raised by
    ``recv``/``send``/``ping`` of a closed :mod:`fastws.asyncio` connection.

    ``rcvd`` is the peer's close frame (a :class:`fastws.events.Close` with
    ``code`` and ``reason``), ``sent`` ours; either is None when that frame
    was not exchanged. ``rcvd_then_sent`` says which came first when both
    were (None otherwise). ``code``/``reason`` are the peer's code and reason,
    1006 and "" when no close frame was received (§7.1.5). When the peer broke
    the protocol, ``__cause__`` is the :class:`ProtocolError`; when the
    transport failed, the ``OSError``.
    """

    def __init__(
        self,
        rcvd: Close | None,
        sent: Close | None,
        rcvd_then_sent: bool | None = None,
    ) -> None:
        super().__init__(rcvd, sent, rcvd_then_sent)
        self.rcvd = rcvd
        self.sent = sent
        self.rcvd_then_sent = rcvd_then_sent

    @staticmethod
    def _describe(frame: Close) -> str:
        reason = f" ({frame.reason})" if frame.reason else ""
        return f"close frame {frame.code}{reason}"

    def __str__(self) -> str:
        rcvd, sent = self.rcvd, self.sent
        if rcvd is None and sent is None:
            return "connection closed: no close frame received or sent"
        if rcvd is None:
            assert sent is not None
            return f"connection closed: sent {self._describe(sent)}; no close frame received"
        if sent is None:
            return f"connection closed: received {self._describe(rcvd)}; no close frame sent"
        if self.rcvd_then_sent:
            return (
                f"connection closed: received {self._describe(rcvd)}; "
                f"then sent {self._describe(sent)}"
            )
        return (
            f"connection closed: sent {self._describe(sent)}; "
            f"then received {self._describe(rcvd)}"
        )

    @property
    def code(self) -> int:
        """The close code received, 1006 when no close frame was received."""
        return 1006 if self.rcvd is None else self.rcvd.code

    @property
    def reason(self) -> str:
        """The close reason received ("" when no close frame was received)."""
        return "" if self.rcvd is None else self.rcvd.reason

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (type(self), (self.rcvd, self.sent, self.rcvd_then_sent))


class ConnectionClosedOK(ConnectionClosed):
    """The connection was closed properly: close frames with code 1000 (normal
    closure), 1001 (going away) or without a code were received and sent."""


class ConnectionClosedError(ConnectionClosed):
    """The connection was closed with an error: a close code other than 1000,
    1001 or none was received or sent, or the closing handshake did not
    complete (the transport was lost, RFC 6455 §7.1.5: code 1006)."""


class ConcurrencyError(FastWSError, RuntimeError):
    """Two coroutines used the connection in a way that cannot be interleaved:
    ``recv`` called while another ``recv`` is waiting, or ``ping`` with the
    payload of a ping that is still waiting for its pong."""


class ProxyError(InvalidHandshake):
    """The HTTP proxy refused or failed the ``CONNECT`` tunnel (RFC 9110 §9.3.6).

    ``status``, ``headers`` and ``body`` describe the proxy's answer (status
    None when it sent no valid HTTP response), e.g. 407 when the proxy wants
    credentials.
    """
