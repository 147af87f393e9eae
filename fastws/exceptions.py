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
