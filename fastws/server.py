"""The server side: validating the opening handshake and answering it (RFC 6455 §4.2).

:class:`ServerConnection` reads the client's request head and checks, in this
order (§4.2.1), answering a failed check with a real HTTP response carrying a
short text body, after which the connection is CLOSED (the I/O layer writes
``data_to_send()`` and closes the transport):

==========================================================  ======
malformed head (``InvalidHTTP``)                            400
head or header count over ``max_head_size``/``max_headers`` 431
method other than ``GET``                                   400
HTTP version below 1.1                                      400
not exactly one ``Host`` header                             400
``Upgrade`` without the ``websocket`` token                 400
``Connection`` without the ``upgrade`` token                400
``Sec-WebSocket-Version`` not ``13``                        426 + ``Sec-WebSocket-Version: 13``
``Sec-WebSocket-Key`` not exactly one base64 16-byte key    400
malformed ``Sec-WebSocket-Protocol``/``-Extensions``        400
``Origin`` refused by the ``origins`` policy                403
an exception in an application callback                     500
==========================================================  ======

A valid request is reported as a :class:`~fastws.events.Request` event.
With ``auto_accept=True`` (default) the ``process_request`` callback may then
return a :class:`Reject` (any status, headers and body: authentication,
health checks...), otherwise the 101 is sent at once. With
``auto_accept=False`` the connection waits in CONNECTING for the application
to call :meth:`ServerConnection.accept` or :meth:`ServerConnection.reject`
(an I/O layer with asynchronous hooks uses this).

Plain HTTP (``report_refused=True``): a request that passed the HTTP checks
(the first two rows) but fails one of the WebSocket checks (400, 403, 426:
a plain ``GET`` for a health check, a refused ``Origin``...) is reported as
a ``Request`` event too, its ``refusal`` the :class:`Reject` that would have
been sent, and the connection waits in CONNECTING as for a valid request --
the ``process_request`` hook of the websockets library runs before the
handshake is validated, and this lets an I/O layer do the same. The
application answers with :meth:`ServerConnection.reject` (anything), or
:meth:`ServerConnection.refuse` sends ``refusal`` and ends the connection
exactly as without the option (``conn.error``, the ``Closed`` event).
:meth:`~ServerConnection.accept` raises :class:`InvalidState` for such a
request. With ``auto_accept=True``, ``process_request`` sees it and returning
None sends the refusal. A 500 (an ``origins`` callable that raised) is never
held. Without the option (default) nothing changes: the refusal goes out
at once.

After the handshake, ``conn.request`` is the Request, ``conn.response`` the
101 sent (a :class:`~fastws.events.Response`: every header, the subprotocol,
the accepted extensions), ``conn.raw_request``/``conn.raw_response`` the
request head received and the response head sent (101 or refusal), byte for
byte.

The 101 response (§4.2.2) carries ``Sec-WebSocket-Accept``, the selected
subprotocol (the first of ``subprotocols`` the client offered, or what
``select_subprotocol`` returns) and the accepted permessage-deflate
parameters (RFC 7692 §5.1), plus ``extra_headers``.
"""

from __future__ import annotations

import contextlib
import http as _http
from collections.abc import Sequence
from typing import Any, Callable, Optional, Union

from fastws import _backend
from fastws.deflate import EXTENSION_NAME, DeflateOptions, server_accept
from fastws.events import Closed, ExtensionList, Request, Response
from fastws.exceptions import InvalidHandshake, InvalidHTTP, InvalidState
from fastws.protocol import (
    DEFAULT_MAX_HEAD_SIZE,
    DEFAULT_MAX_HEADERS,
    DEFAULT_MAX_MESSAGE_SIZE,
    BytesLike,
    Connection,
    State,
    _head_for_diagnostics,
    check_header,
)

__all__ = ["ServerConnection", "Reject"]

Headers = Sequence[tuple[str, str]]
OriginPolicy = Union[Sequence[Optional[str]], Callable[[Optional[str]], bool], None]


class Reject:
    """How ``process_request`` refuses a handshake: any status, headers, body.

    ``body`` may be ``str`` (sent as UTF-8; ``Content-Type: text/plain;
    charset=utf-8`` is added unless given) or bytes. ``Content-Length`` and
    ``Connection: close`` are always added.
    """

    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int, headers: Headers = (), body: Union[str, bytes] = b"") -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def __repr__(self) -> str:
        return f"Reject(status={self.status!r}, headers={self.headers!r}, body={self.body!r})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not Reject:
            return NotImplemented
        return (
            self.status == other.status
            and list(self.headers) == list(other.headers)
            and self.body == other.body
        )

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        return (Reject, (self.status, self.headers, self.body))


def _version_ok(version: str) -> bool:
    """HTTP/1.1 or later (§4.2.1 item 1)."""
    try:
        major, minor = version.partition("/")[2].split(".")
        return (int(major), int(minor)) >= (1, 1)
    except ValueError:
        return False


class ServerConnection(Connection):
    """A WebSocket server connection, sans I/O (RFC 6455 §4.2, §5, §7).

    Options (all keyword-only):

    * ``subprotocols`` -- the server's subprotocols in order of preference;
    * ``select_subprotocol`` -- ``f(request) -> str | None`` instead (it must
      return one the client offered);
    * ``origins`` -- None (no check), a sequence of allowed ``Origin`` values
      (include None to allow requests without Origin), or ``f(origin) -> bool``;
    * ``process_request`` -- ``f(request) -> Reject | None``, called for a valid
      request when ``auto_accept`` is on;
    * ``auto_accept`` -- send the 101 by itself (default) or wait for
      :meth:`accept` / :meth:`reject`;
    * ``report_refused`` -- report well-formed requests that are no valid
      upgrade as ``Request`` events with ``refusal`` set, and wait (see the
      module docstring), instead of refusing them at once (default);
    * ``extra_headers`` -- added to every response (101 and refusals);
    * ``compression`` -- a :class:`fastws.deflate.DeflateOptions` to accept
      permessage-deflate offers (RFC 7692), None (default) to ignore them;
    * ``max_message_size`` (1 MiB; None = unlimited), ``max_frame_size``
      (None = same), ``streaming``, ``max_head_size`` / ``max_headers`` (request
      head limits: 16 KiB, 128 headers; over them: 431).
    """

    __slots__ = (
        "_subprotocols",
        "_select_subprotocol",
        "_origins",
        "_process_request",
        "_auto_accept",
        "_report_refused",
        "_refused",
        "_extra_headers",
        "_key",
    )

    def __init__(
        self,
        *,
        subprotocols: Sequence[str] = (),
        select_subprotocol: Callable[[Request], str | None] | None = None,
        origins: OriginPolicy = None,
        process_request: Callable[[Request], Reject | None] | None = None,
        auto_accept: bool = True,
        report_refused: bool = False,
        extra_headers: Headers = (),
        compression: DeflateOptions | None = None,
        max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE,
        max_frame_size: int | None = None,
        streaming: bool = False,
        max_head_size: int = DEFAULT_MAX_HEAD_SIZE,
        max_headers: int = DEFAULT_MAX_HEADERS,
        _kernels: _backend.Kernels | None = None,
    ) -> None:
        super().__init__(
            client=False,
            max_message_size=max_message_size,
            max_frame_size=max_frame_size,
            streaming=streaming,
            compression=compression,
            max_head_size=max_head_size,
            max_headers=max_headers,
            _kernels=_kernels,
        )
        if isinstance(subprotocols, str):
            raise TypeError("subprotocols must be a sequence of str, not a str")
        self._subprotocols = list(subprotocols)
        self._select_subprotocol = select_subprotocol
        if isinstance(origins, str):
            raise TypeError("origins must be a sequence or a callable, not a str")
        self._origins = origins
        self._process_request = process_request
        self._auto_accept = bool(auto_accept)
        self._report_refused = bool(report_refused)
        # Why a reported request is refused (report_refused), for refuse().
        self._refused: InvalidHandshake | None = None
        for name, value in extra_headers:
            check_header(name, value)
        self._extra_headers = list(extra_headers)
        self._key = ""

    # ------------------------------------------------------------ the request

    def _receive_handshake(self, data: BytesLike) -> None:
        buf = self._hs_buf
        start = len(buf)
        buf += data
        if self.request is not None:
            # Waiting for accept()/reject(): keep the bytes for later, within
            # reason (one head and one frame's worth).
            if len(buf) > self._max_head + self._max_frame + 14:
                self._refuse(InvalidHandshake("too much data before the handshake completed", 400))
            return
        if buf.find(b"\n", max(start - 1, 0)) < 0 and len(buf) <= self._max_head:
            return  # no line ended: the head cannot be complete yet
        try:
            parsed = self._k.http.parse_request(buf, self._max_head, self._max_headers)
        except InvalidHTTP as exc:
            self.raw_request = _head_for_diagnostics(buf, self._max_head)
            self._refuse(InvalidHandshake(f"invalid HTTP request: {exc}", exc.status), exc)
            return
        if parsed is None:
            return
        head, consumed = parsed
        self.raw_request = bytes(buf[:consumed])
        del buf[:consumed]
        try:
            request = self._check_request(head)
        except InvalidHandshake as exc:
            if not self._report_refused or exc.status == 500:
                self._refuse(exc, exc.__cause__)
                return
            # A plain HTTP request (or a refused upgrade): the application
            # sees it first (report_refused).
            self._refused = exc
            request = Request(head.target, head.headers, refusal=self._refusal_for(exc))
        self.request = request
        self._events.append(request)
        if not self._auto_accept:
            return
        try:
            answer = None
            if self._process_request is not None:
                answer = self._process_request(request)
                if self._state is not State.CONNECTING:
                    return  # the callback answered itself (accept()/reject())
            if answer is not None:
                self.reject(answer.status, answer.headers, answer.body)
            elif self._refused is not None:
                self.refuse()
            else:
                self.accept()
        except Exception as exc:  # the application's bug: 500, never a crash
            if self._state is State.CONNECTING:
                self._refuse(InvalidHandshake(f"internal error: {exc!r}", 500, head.headers), exc)
            else:
                raise

    def _check_request(self, head: Any) -> Request:
        """RFC 6455 §4.2.1: raise InvalidHandshake(message, status) unless valid."""
        http = self._k.http
        headers = head.headers

        def refuse(message: str, status: int = 400) -> InvalidHandshake:
            return InvalidHandshake(message, status, headers)

        def values(name: str) -> list[str]:
            name = name.lower()
            return [v for n, v in headers if n.lower() == name]

        if head.method != "GET":
            raise refuse(f"method {head.method} is not GET")
        if not _version_ok(head.version):
            raise refuse(f"{head.version} is not HTTP/1.1 or later")
        if len(values("Host")) != 1:
            raise refuse("missing or repeated Host header")
        upgrade = http.get_header(headers, "Upgrade")
        if upgrade is None or not http.has_token(upgrade, "websocket"):
            raise refuse(f"invalid Upgrade header: {upgrade!r} (expected websocket)")
        connection = http.get_header(headers, "Connection")
        if connection is None or not http.has_token(connection, "upgrade"):
            raise refuse(f"invalid Connection header: {connection!r} (expected upgrade)")
        version = http.get_header(headers, "Sec-WebSocket-Version")
        if version != "13":
            raise refuse(f"unsupported Sec-WebSocket-Version: {version!r} (expected 13)", 426)
        keys = values("Sec-WebSocket-Key")
        if len(keys) != 1 or not self._k.accept.is_valid_key(keys[0]):
            raise refuse("missing, repeated or invalid Sec-WebSocket-Key header")
        self._key = keys[0]
        subprotocols: list[str] = []
        extensions: list[tuple[str, list[tuple[str, str | None]]]] = []
        try:
            protocol = http.get_header(headers, "Sec-WebSocket-Protocol")
            if protocol is not None:
                subprotocols = http.parse_tokens(protocol)
            extension = http.get_header(headers, "Sec-WebSocket-Extensions")
            if extension is not None:
                extensions = http.parse_extensions(extension)
        except InvalidHTTP as exc:
            error = refuse(f"invalid WebSocket header: {exc}")
            error.__cause__ = exc
            raise error from exc
        origins = self._origins
        if origins is not None:
            origin = http.get_header(headers, "Origin")
            try:
                allowed = origins(origin) if callable(origins) else origin in origins
            except Exception as exc:
                error = refuse(f"internal error: {exc!r}", 500)
                raise error from exc
            if not allowed:
                raise refuse(f"origin {origin!r} is not allowed", 403)
        return Request(head.target, headers, subprotocols, extensions)

    # ------------------------------------------------------------- responses

    def _send_response(
        self, status: int, headers: list[tuple[str, str]], body: bytes = b""
    ) -> None:
        """Queue a response; ``headers`` (a new list) gets ``extra_headers`` appended."""
        phrase = ""
        with contextlib.suppress(ValueError):
            phrase = _http.HTTPStatus(status).phrase
        headers += self._extra_headers
        lines = [f"HTTP/1.1 {status} {phrase}".rstrip()]
        lines += [f"{name}: {value}" for name, value in headers]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.raw_response = head
        self._out.append(head + body if body else head)

    def _send_refusal(self, status: int, headers: Headers, body: Union[str, bytes]) -> None:
        all_headers = list(headers)
        if isinstance(body, str):
            body = body.encode()
            if not any(n.lower() == "content-type" for n, _ in all_headers):
                all_headers.append(("Content-Type", "text/plain; charset=utf-8"))
        all_headers.append(("Content-Length", str(len(body))))
        all_headers.append(("Connection", "close"))
        self._send_response(status, all_headers, bytes(body))

    @staticmethod
    def _refusal_for(exc: InvalidHandshake) -> Reject:
        """The answer to an invalid request (§4.2.1: "an appropriate error code")."""
        status = exc.status or 400
        headers: list[tuple[str, str]] = []
        if status == 426:
            # §4.2.2 / RFC 9110 §15.5.22: say which version and protocol we speak.
            headers = [("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13")]
        return Reject(status, headers, f"Failed to open a WebSocket connection: {exc}.\n")

    def _refuse(self, exc: InvalidHandshake, cause: BaseException | None = None) -> None:
        """Answer an invalid request with its refusal and close."""
        exc.__cause__ = cause
        refusal = self._refusal_for(exc)
        self._send_refusal(refusal.status, refusal.headers, refusal.body)
        self._handshake_failed(exc)

    def _check_pending(self) -> Request:
        if self._state is not State.CONNECTING or self.request is None:
            raise InvalidState("no handshake request is waiting for an answer")
        return self.request

    def refuse(self) -> None:
        """Send the ``refusal`` of a reported request that is no valid upgrade
        (``report_refused=True``) and close, exactly as the server does at once
        without the option: ``conn.error`` is the
        :class:`~fastws.exceptions.InvalidHandshake` and the ``Closed`` event
        carries it. :class:`InvalidState` unless such a request is waiting."""
        self._check_pending()
        exc = self._refused
        if exc is None:
            raise InvalidState("the request is a valid upgrade: accept() or reject() it")
        self._refuse(exc, exc.__cause__)

    def accept(self, subprotocol: str | None = None, extra_headers: Headers = ()) -> None:
        """Send the 101 response (§4.2.2) and open the connection.

        ``subprotocol`` None selects as configured (``select_subprotocol`` or
        the ``subprotocols`` list); a name must be one the client offered
        (ValueError). ``extra_headers`` are added to this response.
        Called automatically unless ``auto_accept=False``. :class:`InvalidState`
        for a request that is no valid upgrade (``request.refusal`` is set).
        """
        request = self._check_pending()
        if self._refused is not None:
            raise InvalidState(
                "the request is not a valid WebSocket upgrade: refuse() or reject() it"
            )
        for name, value in extra_headers:
            check_header(name, value)
        if subprotocol is None:
            if self._select_subprotocol is not None:
                subprotocol = self._select_subprotocol(request)
            else:
                subprotocol = next(
                    (p for p in self._subprotocols if p in request.subprotocols), None
                )
        if subprotocol is not None and subprotocol not in request.subprotocols:
            raise ValueError(f"subprotocol {subprotocol!r} was not offered by the client")
        headers = [
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Accept", self._k.accept.accept_key(self._key)),
        ]
        if subprotocol is not None:
            headers.append(("Sec-WebSocket-Protocol", subprotocol))
        deflate = None
        extensions: ExtensionList = []
        if self._compression is not None:
            offers = [p for name, p in request.extensions if name.lower() == EXTENSION_NAME]
            accepted = server_accept(self._compression, offers) if offers else None
            if accepted is not None:
                params, deflate = accepted
                extensions = [(EXTENSION_NAME, params)]
                value = self._k.http.build_extensions(extensions)
                headers.append(("Sec-WebSocket-Extensions", value))
        headers += extra_headers
        self._send_response(101, headers)
        self.response = Response(101, headers, subprotocol, extensions)
        self.subprotocol = subprotocol
        rest = bytes(self._hs_buf)
        self._hs_buf = bytearray()
        self._open(deflate)
        if rest:
            self.receive_data(rest)

    def reject(self, status: int, headers: Headers = (), body: Union[str, bytes] = b"") -> None:
        """Refuse the handshake with any HTTP response (status 100-599 but 101)
        and close: the connection goes to CLOSED with a ``Closed(1006, ...)``
        event whose ``error`` is None (a refusal is the application's choice)."""
        self._check_pending()
        if type(status) is not int or not 100 <= status <= 599 or status == 101:
            raise ValueError("status must be an int from 100 to 599, not 101")
        for name, value in headers:
            check_header(name, value)
        self._send_refusal(status, headers, body)
        self._hs_buf = bytearray()
        self._state = State.CLOSED
        self._send_fast = False
        self._stop_reading()
        self._events.append(Closed(1006, f"handshake rejected with HTTP {status}"))

    def _handshake_eof(self) -> None:
        if not self.raw_request and self._hs_buf:
            self.raw_request = _head_for_diagnostics(self._hs_buf, self._max_head)
        self._handshake_failed(InvalidHandshake("connection closed before the handshake completed"))
