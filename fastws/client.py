"""The client side: the opening handshake from a URL (RFC 6455 §4.1).

:class:`ClientConnection` queues its upgrade request as soon as it is built
(``data_to_send()`` returns it), then validates the server's answer the way
gorilla/websocket's Dialer does:

* status ``101``; ``Upgrade`` is ``websocket`` (case-insensitive);
  ``Connection`` holds the ``upgrade`` token; exactly one
  ``Sec-WebSocket-Accept`` equal to the expected value (§4.1, steps 1-4);
* a ``Sec-WebSocket-Protocol`` only if we offered it, and at most one (§4.1 step 6);
* ``Sec-WebSocket-Extensions`` only with extensions we offered, each at most
  once, with parameters our offer allows (§4.1 step 5, RFC 7692 §5.2, §7.1).

Any other answer ends the connection (state CLOSED, nothing sent, the I/O
layer closes the transport) with an :class:`~fastws.exceptions.InvalidHandshake`
carrying the status, the headers and the body bytes that are available: a
body delimited by ``Content-Length`` or chunked encoding is awaited (up to
64 KiB), otherwise the body runs until EOF. No frame is parsed before the
handshake succeeded; bytes after the 101 head in the same chunk are the first
frames.

``conn.request`` is the request sent (a :class:`~fastws.events.Request`:
target, every header, the subprotocols and extension offers),
``conn.raw_request`` its exact bytes; ``conn.response`` the server's 101 (the
``Response`` event) and ``conn.raw_response`` the response head exactly as
received (for a refusal too) -- what ``curl -v`` shows.

With ``require_compression=True`` a server that does not accept
permessage-deflate gets a close frame 1010 (RFC 6455 §7.4.1) and the
connection fails with ``ProtocolError(..., 1010)`` (no ``Response`` event).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from fastws import _backend
from fastws.deflate import (
    EXTENSION_NAME,
    DeflateOptions,
    PerMessageDeflate,
    client_accept,
    client_offer,
)
from fastws.events import ExtensionList, Request, Response
from fastws.exceptions import InvalidHandshake, InvalidHTTP, ProtocolError
from fastws.protocol import (
    DEFAULT_MAX_HEAD_SIZE,
    DEFAULT_MAX_HEADERS,
    DEFAULT_MAX_MESSAGE_SIZE,
    BytesLike,
    Connection,
    _head_for_diagnostics,
    _is_token,
    check_header,
)
from fastws.urls import WebSocketURI, parse_uri

__all__ = ["ClientConnection"]

#: how much of a refusal's body is kept (bytes)
MAX_ERROR_BODY = 65536

# Headers the handshake sets itself; extra headers may not repeat them.
_RESERVED = frozenset(
    {
        "upgrade",
        "connection",
        "sec-websocket-key",
        "sec-websocket-version",
        "sec-websocket-protocol",
        "sec-websocket-extensions",
    }
)


def _dechunk(data: bytes) -> tuple[bytes, bool]:
    """Decode chunked transfer coding (RFC 9112 §7.1) as far as ``data`` goes.

    Returns (body so far, complete). Malformed input counts as complete: the
    body is only informational.
    """
    out: list[bytes] = []
    pos = 0
    while True:
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            return b"".join(out), False
        size_text = data[pos:eol].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            return b"".join(out), True
        if size <= 0:
            return b"".join(out), True
        start = eol + 2
        out.append(data[start : start + size])
        if len(data) < start + size + 2:
            return b"".join(out), False
        pos = start + size + 2


class ClientConnection(Connection):
    """A WebSocket client connection, sans I/O (RFC 6455 §4.1, §5, §7).

    ``url``: ``ws://`` or ``wss://`` (:class:`~fastws.exceptions.InvalidURI`
    otherwise); ``conn.uri`` tells the I/O layer where to connect and whether
    to use TLS. Options:

    * ``subprotocols`` -- offered in order in ``Sec-WebSocket-Protocol``;
    * ``origin`` -- the ``Origin`` header (none by default);
    * ``extra_headers`` -- more ``(name, value)`` pairs, repeats allowed;
      ``Host``, ``Origin`` and ``Authorization`` given here replace ours; the
      WebSocket headers themselves cannot be given (ValueError);
    * ``compression`` -- a :class:`fastws.deflate.DeflateOptions` to offer
      permessage-deflate (RFC 7692), None (default) for no offer;
    * ``require_compression`` -- fail with 1010 when the server declines it;
    * ``max_message_size`` (1 MiB; None = unlimited), ``max_frame_size``
      (None = same as ``max_message_size``), ``streaming`` (deliver each frame
      as an event), ``max_head_size`` / ``max_headers`` (limits of the
      response head: 16 KiB, 128).

    User credentials in the URL are sent as Basic authentication.
    """

    __slots__ = (
        "uri",
        "key",
        "request_headers",
        "_subprotocols",
        "_require_compression",
        "_accept",
        "_refusal",
    )

    def __init__(
        self,
        url: str,
        *,
        subprotocols: Sequence[str] = (),
        origin: str | None = None,
        extra_headers: Sequence[tuple[str, str]] = (),
        compression: DeflateOptions | None = None,
        require_compression: bool = False,
        max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE,
        max_frame_size: int | None = None,
        streaming: bool = False,
        max_head_size: int = DEFAULT_MAX_HEAD_SIZE,
        max_headers: int = DEFAULT_MAX_HEADERS,
        _kernels: _backend.Kernels | None = None,
    ) -> None:
        super().__init__(
            client=True,
            max_message_size=max_message_size,
            max_frame_size=max_frame_size,
            streaming=streaming,
            compression=compression,
            max_head_size=max_head_size,
            max_headers=max_headers,
            _kernels=_kernels,
        )
        if require_compression and compression is None:
            raise ValueError("require_compression needs compression options")
        if isinstance(subprotocols, str):
            raise TypeError("subprotocols must be a sequence of str, not a str")
        self._subprotocols = list(subprotocols)
        for protocol in self._subprotocols:
            if not isinstance(protocol, str) or not _is_token(protocol):
                raise ValueError(f"invalid subprotocol {protocol!r}")
        self._require_compression = bool(require_compression)
        #: the parsed URL: host, port, secure (TLS), resource, user, password
        self.uri: WebSocketURI = parse_uri(url)
        k = self._k
        #: the Sec-WebSocket-Key sent
        self.key: str = k.accept.generate_key()
        self._accept: str = k.accept.accept_key(self.key)
        # (status, headers, body framing, expected length) of a refusal whose
        # body is being read.
        self._refusal: tuple[Any, str, int] | None = None

        extra = []
        overrides = set()
        for name, value in extra_headers:
            check_header(name, value)
            lname = name.lower()
            if lname in _RESERVED:
                raise ValueError(f"header {name!r} is set by the handshake")
            if lname in ("host", "origin", "authorization"):
                overrides.add(lname)
            extra.append((name, value))
        uri = self.uri
        headers = []
        if "host" not in overrides:
            headers.append(("Host", uri.host_header))
        headers += [
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", self.key),
            ("Sec-WebSocket-Version", "13"),
        ]
        if origin is not None and "origin" not in overrides:
            check_header("Origin", origin)
            headers.append(("Origin", origin))
        if self._subprotocols:
            headers.append(("Sec-WebSocket-Protocol", ", ".join(self._subprotocols)))
        offers: ExtensionList = []
        if compression is not None:
            offers = [(EXTENSION_NAME, client_offer(compression))]
            headers.append(("Sec-WebSocket-Extensions", k.http.build_extensions(offers)))
        if uri.user is not None and "authorization" not in overrides:
            credentials = f"{uri.user}:{uri.password or ''}".encode()
            headers.append(("Authorization", "Basic " + base64.b64encode(credentials).decode()))
        headers += extra
        #: every header of the request, in order
        self.request_headers: list[tuple[str, str]] = headers
        self.request = Request(uri.resource, headers, list(self._subprotocols), offers)
        lines = [f"GET {uri.resource} HTTP/1.1"]
        lines += [f"{name}: {value}" for name, value in headers]
        self.raw_request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "strict")
        self._out.append(self.raw_request)

    # ---------------------------------------------------------------- handshake

    def _receive_handshake(self, data: BytesLike) -> None:
        buf = self._hs_buf
        start = len(buf)
        buf += data
        if self._refusal is not None:
            self._read_refusal_body(eof=False)
            return
        if buf.find(b"\n", max(start - 1, 0)) < 0 and len(buf) <= self._max_head:
            return  # no line ended: the head cannot be complete yet
        try:
            parsed = self._k.http.parse_response(buf, self._max_head, self._max_headers)
        except InvalidHTTP as exc:
            self.raw_response = _head_for_diagnostics(buf, self._max_head)
            failure = InvalidHandshake(f"invalid HTTP response: {exc}")
            failure.__cause__ = exc
            self._handshake_failed(failure)
            return
        if parsed is None:
            return
        response, consumed = parsed
        self.raw_response = bytes(buf[:consumed])
        del buf[:consumed]
        if response.status != 101:
            self._start_refusal(response)
            return
        try:
            subprotocol, deflate, extensions = self._check_response(response)
        except InvalidHandshake as exc:
            self._handshake_failed(exc)
            return
        self.subprotocol = subprotocol
        rest = bytes(buf)
        self._hs_buf = bytearray()
        self._open(deflate)
        if deflate is None and self._require_compression:
            # RFC 6455 §7.4.1, code 1010: the server did not negotiate the
            # extension we need. The connection is established, so it is failed
            # with a close frame.
            self._fail(ProtocolError("the server did not accept permessage-deflate", 1010))
            return
        self.response = Response(101, response.headers, self.subprotocol, extensions)
        self._events.append(self.response)
        if rest:
            self.receive_data(rest)

    def _check_response(
        self, response: Any
    ) -> tuple[str | None, PerMessageDeflate | None, ExtensionList]:
        """RFC 6455 §4.1 (the client's validation of the server's 101):
        the selected subprotocol, the permessage-deflate codec and the parsed
        ``Sec-WebSocket-Extensions``, or InvalidHandshake."""
        http = self._k.http
        headers = response.headers

        def fail(message: str, cause: Exception | None = None) -> InvalidHandshake:
            exc = InvalidHandshake(message, response.status, headers)
            exc.__cause__ = cause
            return exc

        upgrade = http.get_header(headers, "Upgrade")
        if upgrade is None or upgrade.strip().lower() != "websocket":
            raise fail(f"invalid Upgrade header: {upgrade!r}")
        connection = http.get_header(headers, "Connection")
        if connection is None or not http.has_token(connection, "upgrade"):
            raise fail(f"invalid Connection header: {connection!r}")
        accepts = [v for n, v in headers if n.lower() == "sec-websocket-accept"]
        if len(accepts) != 1 or accepts[0] != self._accept:
            raise fail("invalid Sec-WebSocket-Accept header")

        subprotocol = None
        protocol = http.get_header(headers, "Sec-WebSocket-Protocol")
        if protocol is not None:
            try:
                chosen = http.parse_tokens(protocol)
            except InvalidHTTP as exc:
                raise fail(f"invalid Sec-WebSocket-Protocol header: {exc}", exc) from None
            if len(chosen) > 1:
                raise fail("more than one subprotocol in Sec-WebSocket-Protocol")
            if chosen:
                if chosen[0] not in self._subprotocols:
                    raise fail(f"subprotocol {chosen[0]!r} was not offered")
                subprotocol = chosen[0]

        value = http.get_header(headers, "Sec-WebSocket-Extensions")
        if value is None:
            return subprotocol, None, []
        try:
            extensions = http.parse_extensions(value)
        except InvalidHTTP as exc:
            raise fail(f"invalid Sec-WebSocket-Extensions header: {exc}", exc) from None
        options = self._compression
        deflate = None
        for name, params in extensions:
            if options is None or name.lower() != EXTENSION_NAME:
                raise fail(f"extension {name!r} was not offered")
            if deflate is not None:
                raise fail(f"extension {name!r} accepted twice")
            try:
                deflate = client_accept(options, params)
            except ProtocolError as exc:
                raise fail(str(exc), exc) from None
        return subprotocol, deflate, extensions

    def _start_refusal(self, response: Any) -> None:
        """A status other than 101: collect the body the server sends, then fail."""
        http = self._k.http
        status = response.status
        headers = response.headers
        mode, length = "none", 0
        if not (100 <= status < 200 or status in (204, 304)):
            transfer = http.get_header(headers, "Transfer-Encoding")
            content_length = http.get_header(headers, "Content-Length")
            if transfer is not None and http.has_token(transfer, "chunked"):
                mode = "chunked"
            elif content_length is not None:
                try:
                    length = int(content_length.split(",")[0].strip())
                except ValueError:
                    length = -1
                mode = "length" if length >= 0 else "eof"
            else:
                mode = "eof"
        self._refusal = (response, mode, length)
        self._read_refusal_body(eof=False)

    def _read_refusal_body(self, *, eof: bool) -> None:
        assert self._refusal is not None
        response, mode, length = self._refusal
        data = bytes(self._hs_buf[:MAX_ERROR_BODY])
        full = len(self._hs_buf) >= MAX_ERROR_BODY
        if mode == "none":
            body, done = b"", True
        elif mode == "length":
            body = data[:length]
            done = len(body) >= min(length, MAX_ERROR_BODY)
        elif mode == "chunked":
            body, done = _dechunk(data)
        else:
            body, done = data, False
        if done or full or eof:
            status = response.status
            reason = f" {response.reason}" if response.reason else ""
            self._refusal = None
            self._handshake_failed(
                InvalidHandshake(
                    f"server rejected WebSocket connection: HTTP {status}{reason}",
                    status,
                    response.headers,
                    body,
                )
            )

    def _handshake_eof(self) -> None:
        if self._refusal is not None:
            self._read_refusal_body(eof=True)
        else:
            if self._hs_buf:
                self.raw_response = _head_for_diagnostics(self._hs_buf, self._max_head)
            self._handshake_failed(
                InvalidHandshake("connection closed before the handshake response")
            )
