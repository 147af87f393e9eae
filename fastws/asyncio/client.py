"""The asyncio client: :func:`connect` (RFC 6455 §4.1).

::

    async with fastws.connect("wss://example.com/chat") as ws:
        await ws.send("hello")
        print(await ws.recv())

What a caller can act on when opening fails (each message names the cause):

* DNS failure: :class:`socket.gaierror` ("cannot resolve host 'name': ...").
* Connection refused: :class:`ConnectionRefusedError` ("connection refused by
  host:port").
* Other network errors: the :class:`OSError` subclass of the ``errno``
  ("cannot connect to host:port: ...").
* TLS failure: :class:`ssl.SSLError` of the same class, e.g.
  :class:`ssl.SSLCertVerificationError` ("TLS handshake with host:port
  failed: certificate verify failed: ...").
* Handshake refused: :class:`~fastws.exceptions.InvalidHandshake` with
  ``status``, ``headers`` and ``body`` of the server's answer ("server
  rejected WebSocket connection: HTTP 403 Forbidden"); also for an invalid
  101, too many redirects, or the connection closed before the response.
* Proxy refused the tunnel: :class:`~fastws.exceptions.ProxyError` (an
  ``InvalidHandshake``: "proxy host:port refused to open a tunnel to ...:
  HTTP 407 ..."); proxy unreachable: the ``OSError`` as above ("... the
  proxy host:port").
* ``open_timeout`` expired: :class:`TimeoutError` ("timed out after 10 s
  connecting to host:port" / "... waiting for the handshake response of ...").
* Bad URL: :class:`~fastws.exceptions.InvalidURI`; bad proxy URL: ``ValueError``.

The re-raised network exceptions keep the class and ``errno`` of the
original, which is chained as ``__cause__``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import errno
import logging
import os
import re
import socket
import ssl as ssl_module
import sys
import urllib.parse
from collections.abc import Generator, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, Union, cast

from fastws import __version__, _backend
from fastws.client import ClientConnection as SansIOClientConnection
from fastws.deflate import DeflateOptions
from fastws.events import Event, Response
from fastws.exceptions import InvalidHandshake, InvalidHTTP, InvalidURI, ProxyError
from fastws.urls import WebSocketURI, parse_uri

from .connection import Connection, Trace
from .listener import Listener
from .network import network

if TYPE_CHECKING:  # imported when used: they cost ~20 ms at import time
    import email.message
    import http.cookiejar

__all__ = ["connect", "unix_connect", "ClientConnection", "USER_AGENT"]

#: the default ``User-Agent`` header
USER_AGENT = f"Python/{sys.version_info[0]}.{sys.version_info[1]} fastws/{__version__}"

HeadersLike = Union[Mapping[str, str], Iterable[tuple[str, str]]]
_REDIRECTS = frozenset({301, 302, 303, 307, 308})  # RFC 9110 §15.4
_MAX_PROXY_BODY = 65536
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 §5.6.2
_default_context: ssl_module.SSLContext | None = None


def _default_ssl_context() -> ssl_module.SSLContext:
    """A verifying client context (CA store, host name check), made once."""
    global _default_context
    if _default_context is None:
        _default_context = ssl_module.create_default_context()
    return _default_context


def _header_list(headers: HeadersLike | None) -> list[tuple[str, str]]:
    if headers is None:
        return []
    raw_items = getattr(headers, "raw_items", None)  # websockets.datastructures.Headers
    if callable(raw_items):
        return [(str(k), str(v)) for k, v in raw_items()]
    if isinstance(headers, Mapping):
        return [(str(k), str(v)) for k, v in headers.items()]
    return [(str(k), str(v)) for k, v in headers]


def _deflate_options(compression: str | DeflateOptions | None) -> DeflateOptions | None:
    if compression is None:
        return None
    if isinstance(compression, DeflateOptions):
        return compression
    if compression == "deflate":
        return DeflateOptions()
    raise ValueError(f"unsupported compression: {compression!r}")


def _size_limits(max_size: int | None | tuple[int | None, int | None]) -> tuple[int | None, Any]:
    """``max_size`` or ``(max_message_size, max_frame_size)``, as in websockets."""
    if isinstance(max_size, tuple):
        return max_size[0], max_size[1]
    return max_size, None


# ------------------------------------------------------------------ errors


def _target(host: str, port: int | None) -> str:
    host = f"[{host}]" if ":" in host else host
    return host if port is None else f"{host}:{port}"


def _tls_error(exc: ssl_module.SSLError, target: str) -> Exception:
    """A TLS failure of the same class, saying with whom and why."""
    verify = getattr(exc, "verify_message", None)
    detail = f"certificate verify failed: {verify}" if verify else (exc.reason or str(exc))
    message = f"TLS handshake with {target} failed: {detail}"
    try:
        new = type(exc)(exc.errno, message)
    except Exception:  # pragma: no cover - an exotic subclass
        return exc
    for name in ("reason", "library", "verify_code", "verify_message"):
        if hasattr(exc, name):
            with contextlib.suppress(AttributeError):
                setattr(new, name, getattr(exc, name))
    return new


def _connect_error(exc: Exception, host: str, port: int | None, what: str = "") -> Exception:
    """Re-create a network error of the same kind with a message naming the cause.

    ``socket.gaierror`` -> DNS, ``ConnectionRefusedError``, other ``OSError``
    (the class follows ``errno``; asyncio's "Multiple exceptions" error, when
    every address failed the same way, gets that errno back), ``ssl.SSLError``.
    """
    target = what + _target(host, port)
    if isinstance(exc, ssl_module.SSLError):
        return _tls_error(exc, target)
    if isinstance(exc, ssl_module.CertificateError):  # pragma: no cover - alias since 3.7
        return exc
    if isinstance(exc, socket.gaierror):
        return socket.gaierror(exc.errno, f"cannot resolve host {host!r}: {exc.strerror}")
    if isinstance(exc, UnicodeError):  # getaddrinfo's IDNA step: a label over 63 chars...
        return socket.gaierror(socket.EAI_NONAME, f"cannot resolve host {host!r}: {exc}")
    if isinstance(exc, OSError):
        code = exc.errno
        if code is None:
            codes = {int(n) for n in re.findall(r"\[Errno (\d+)\]", str(exc))}
            code = codes.pop() if len(codes) == 1 else None
        if code == errno.ECONNREFUSED:
            return ConnectionRefusedError(code, f"connection refused by {target}")
        if code is not None:
            return OSError(code, f"cannot connect to {target}: {os.strerror(code)}")
        return OSError(f"cannot connect to {target}: {exc}")
    return exc


# ------------------------------------------------------------------ proxies


class _Proxy(NamedTuple):
    secure: bool
    host: str
    port: int
    user: str | None
    password: str | None

    @property
    def name(self) -> str:
        return _target(self.host, self.port)


def _parse_proxy(url: str) -> _Proxy:
    """An ``http://`` or ``https://`` proxy URL (a bare ``host:port`` means http)."""
    split = urllib.parse.urlsplit(url if "://" in url else f"http://{url}")
    scheme = split.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"unsupported proxy {url!r}: only http:// and https:// proxies are")
    try:
        port = split.port
    except ValueError as exc:
        raise ValueError(f"invalid proxy {url!r}: {exc}") from None
    if not split.hostname:
        raise ValueError(f"invalid proxy {url!r}: no host")
    secure = scheme == "https"
    user = password = None
    if split.username is not None:
        user = urllib.parse.unquote(split.username)
        password = urllib.parse.unquote(split.password or "")
    return _Proxy(secure, split.hostname, port or (443 if secure else 80), user, password)


def _environment_proxy(uri: WebSocketURI) -> str | None:
    """The proxy for ``uri`` from the environment (``wss_proxy``/``https_proxy``/
    ``all_proxy`` for wss, ``ws_proxy``/``http_proxy``/``all_proxy`` for ws),
    None when ``no_proxy`` matches (``urllib.request`` rules)."""
    import urllib.request

    proxies = urllib.request.getproxies()
    if uri.secure:
        url = proxies.get("wss") or proxies.get("https") or proxies.get("all")
    else:
        url = proxies.get("ws") or proxies.get("http") or proxies.get("all")
    if not url:
        return None
    if urllib.request.proxy_bypass(f"{uri.host}:{uri.port}") or urllib.request.proxy_bypass(
        uri.host
    ):
        return None
    return url


class _Tunnel(asyncio.Protocol):
    """Opens a tunnel with ``CONNECT host:port`` (RFC 9110 §9.3.6)."""

    def __init__(self, request: bytes, proxy: str, target: str, trace: Trace | None) -> None:
        self.request = request
        self.proxy = proxy
        self.target = target
        self.trace = trace
        self.parse_response = _backend.KERNELS.http.parse_response
        self.result: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self.buffer = bytearray()
        self.response: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)
        if self.trace is not None:
            self.trace("proxy-request", self.request)
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.result.done():
            self._check(eof=False)

    def eof_received(self) -> None:
        if not self.result.done():
            self._check(eof=True)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.result.done():
            self._fail(f"proxy {self.proxy} closed the connection before opening the tunnel")

    def _fail(self, message: str, *args: Any) -> None:
        self.result.set_exception(ProxyError(message, *args))
        self.result.exception()

    def _check(self, eof: bool) -> None:
        if self.response is None:
            try:
                parsed = self.parse_response(self.buffer, 16384, 128)
            except InvalidHTTP as exc:
                self._fail(f"invalid HTTP response from proxy {self.proxy}: {exc}")
                return
            if parsed is None:
                if eof:
                    self._fail(f"proxy {self.proxy} closed the connection before answering")
                return
            self.response, consumed = parsed
            if self.trace is not None:
                self.trace("proxy-response", bytes(self.buffer[:consumed]))
            del self.buffer[:consumed]
        response = self.response
        status = response.status
        if 200 <= status < 300:
            self.result.set_result(bytes(self.buffer))
            return
        length = None
        for name, value in response.headers:
            if name.lower() == "content-length":
                try:
                    length = int(value)
                except ValueError:
                    length = None
        if eof or length is None or len(self.buffer) >= min(length, _MAX_PROXY_BODY):
            body = bytes(self.buffer[: length if length is not None else _MAX_PROXY_BODY])
            reason = f" {response.reason}" if response.reason else ""
            self._fail(
                f"proxy {self.proxy} refused to open a tunnel to {self.target}: "
                f"HTTP {status}{reason}",
                status,
                response.headers,
                body,
            )


# ------------------------------------------------------------------ cookies


class _CookieResponse:
    """What ``CookieJar.extract_cookies`` needs of a response: ``info()``."""

    def __init__(self, headers: Sequence[tuple[str, str]]) -> None:
        import email.message

        self._message = email.message.Message()
        for name, value in headers:
            self._message[name] = value

    def info(self) -> email.message.Message:
        return self._message


def _http_url(url: str) -> str:
    """ws -> http, wss -> https: cookies and redirects speak HTTP (RFC 6455 §3)."""
    scheme, rest = url.split(":", 1)
    return {"ws": "http", "wss": "https"}.get(scheme.lower(), scheme) + ":" + rest


# --------------------------------------------------------------- connection


class ClientConnection(Connection):
    """The client side of a WebSocket connection (see :class:`Connection`).

    ``request`` is the handshake request sent (:class:`fastws.events.Request`
    with the target and every header), ``response`` the server's 101
    (:class:`fastws.events.Response`); ``raw_request``/``raw_response`` are
    the heads exactly as sent and received.
    """

    protocol: SansIOClientConnection

    def _sent_handshake(self, data: bytes) -> None:
        if self._trace is not None:
            self._trace("request", self.protocol.raw_request)

    def _on_handshake(self, event: Event) -> None:
        assert isinstance(event, Response)
        if self._trace is not None:
            self._trace("response", self.protocol.raw_response)
        self._handshake_done()

    def _handshake_failed(self, exc: BaseException | None) -> None:
        raw = self.protocol.raw_response
        if raw and self._trace is not None:
            self._trace("response", raw)
        super()._handshake_failed(exc)


class connect:
    """Open a WebSocket connection to ``uri`` (``ws://`` or ``wss://``).

    ``await connect(uri)`` returns a :class:`ClientConnection`;
    ``async with connect(uri) as ws:`` closes it at the end of the block.
    Names and defaults follow ``websockets.asyncio.client.connect``.

    WebSocket
        ``origin`` (the ``Origin`` header), ``subprotocols`` (offered in
        order), ``compression``: ``"deflate"`` (default: offer
        permessage-deflate, RFC 7692), ``None`` (no compression) or a
        :class:`fastws.deflate.DeflateOptions` for its parameters.
    HTTP
        ``additional_headers`` (a mapping or ``(name, value)`` pairs),
        ``user_agent_header`` (None: no ``User-Agent``), ``cookies`` (an
        :class:`http.cookiejar.CookieJar`: matching cookies are sent and
        ``Set-Cookie`` of every response is stored), ``max_redirects`` (10:
        3xx answers with ``Location`` are followed, ``http``/``https``
        locations mapped to ``ws``/``wss``; never from wss to ws; more than
        that many raise :class:`~fastws.exceptions.InvalidHandshake`).
    Proxy
        ``proxy=True`` (default) takes an HTTP(S) proxy from the environment
        (``https_proxy``/``wss_proxy`` for wss, ``http_proxy``/``ws_proxy``
        for ws, ``all_proxy``, honouring ``no_proxy``); a URL
        (``http://user:pass@host:port`` or ``https://...``) uses that proxy;
        ``None`` connects directly. The tunnel is opened with ``CONNECT``;
        credentials in the URL are sent as ``Proxy-Authorization: Basic``.
        ``proxy_ssl``/``proxy_server_hostname`` configure TLS to an https proxy.
    TLS
        ``ssl``: an :class:`ssl.SSLContext` (wss:// uses a verifying default
        context), ``server_hostname`` overrides the name checked.
    Timeouts
        ``open_timeout`` (10 s: DNS, TCP, proxy, TLS and the handshake, all
        redirects included; :class:`TimeoutError`), ``ping_interval`` /
        ``ping_timeout`` (20 s: keepalive; a ping unanswered for
        ``ping_timeout`` closes with 1011; None disables), ``close_timeout``
        (10 s).
    Limits
        ``max_size`` (1 MiB per message, None: unlimited; or
        ``(max_message_size, max_frame_size)``), ``max_queue`` (16 messages
        received but not read before reading pauses; or ``(high, low)``;
        None: no limit), ``write_limit`` (32 KiB in the write buffer before
        ``send`` waits; or ``(high, low)``), ``max_head_size`` (16 KiB
        response head).
    Logging and tracing
        ``logger`` (default ``logging.getLogger("fastws.client")``);
        ``trace(kind, data)`` is called with the bytes of every HTTP head
        exactly as written or read: ``"proxy-request"``,
        ``"proxy-response"``, ``"request"``, ``"response"`` (once per
        redirect hop) -- what ``curl -v`` shows.
    Callbacks
        ``listener``: a :class:`~fastws.asyncio.Listener` that receives
        ``on_open``, every message (``on_message``) and ``on_close``
        instead of ``recv`` (see :mod:`fastws.asyncio.listener`).
    Transports
        ``use_aiofastnet=True``: compiled transports from aiofastnet
        (optional dependency; see :mod:`fastws.asyncio.network`).

    ``unix=True, path=...`` connects to a Unix socket; other keyword
    arguments go to :meth:`asyncio.loop.create_connection` (``local_addr``,
    ``family``, ``sock``...). See the module docstring for the exceptions.
    """

    def __init__(
        self,
        uri: str,
        *,
        origin: str | None = None,
        subprotocols: Sequence[str] | None = None,
        compression: str | DeflateOptions | None = "deflate",
        additional_headers: HeadersLike | None = None,
        user_agent_header: str | None = USER_AGENT,
        cookies: http.cookiejar.CookieJar | None = None,
        max_redirects: int = 10,
        proxy: str | Literal[True] | None = True,
        proxy_ssl: ssl_module.SSLContext | None = None,
        proxy_server_hostname: str | None = None,
        ssl: ssl_module.SSLContext | bool | None = None,
        server_hostname: str | None = None,
        open_timeout: float | None = 10,
        ping_interval: float | None = 20,
        ping_timeout: float | None = 20,
        close_timeout: float | None = 10,
        max_size: int | None | tuple[int | None, int | None] = 2**20,
        max_queue: int | None | tuple[int | None, int | None] = 16,
        write_limit: int | tuple[int, int | None] = 2**15,
        max_head_size: int = 16384,
        logger: logging.Logger | logging.LoggerAdapter[Any] | None = None,
        trace: Trace | None = None,
        listener: Listener | None = None,
        use_aiofastnet: bool = False,
        **kwargs: Any,
    ) -> None:
        self.uri = uri
        self._listener = listener
        self._use_aiofastnet = use_aiofastnet
        ws_uri = parse_uri(uri)
        if not ws_uri.secure and ssl not in (None, False):
            raise ValueError("ssl argument is incompatible with a ws:// URI")
        if isinstance(subprotocols, str):
            raise TypeError("subprotocols must be a sequence of str, not a str")
        for protocol in subprotocols or ():
            if not isinstance(protocol, str) or not _TOKEN.fullmatch(protocol):
                raise ValueError(f"invalid subprotocol {protocol!r}")
        if type(max_redirects) is not int or max_redirects < 0:
            raise ValueError("max_redirects must be a non-negative int")
        self._unix = bool(kwargs.pop("unix", False))
        self._path = kwargs.pop("path", None)
        if proxy is not True and proxy is not None:
            _parse_proxy(proxy)  # ValueError now rather than later
        self._origin = origin
        self._subprotocols = list(subprotocols or ())
        self._compression = _deflate_options(compression)
        headers = _header_list(additional_headers)
        if user_agent_header is not None and not any(
            name.lower() == "user-agent" for name, _ in headers
        ):
            headers.append(("User-Agent", user_agent_header))
        self._headers = headers
        self._user_agent = user_agent_header
        self._cookies = cookies
        self._max_redirects = max_redirects
        self._proxy = proxy
        self._proxy_ssl = proxy_ssl
        self._proxy_server_hostname = proxy_server_hostname
        self._ssl = ssl
        self._server_hostname = server_hostname
        self._open_timeout = open_timeout
        self._max_message, self._max_frame = _size_limits(max_size)
        self._max_head_size = max_head_size
        self._connection_options: dict[str, Any] = dict(
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            close_timeout=close_timeout,
            max_queue=max_queue,
            write_limit=write_limit,
            logger=logging.getLogger("fastws.client") if logger is None else logger,
            trace=trace,
        )
        self._trace = trace
        self._kwargs = kwargs
        self._stage = "opening the connection"
        self.connection: ClientConnection | None = None

    # -------------------------------------------------------------- protocol

    def __await__(self) -> Generator[Any, None, ClientConnection]:
        return self._create().__await__()

    async def __aenter__(self) -> ClientConnection:
        self.connection = await self._create()
        return self.connection

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self.connection is not None:
            await self.connection.close()

    # -------------------------------------------------------------- opening

    async def _create(self) -> ClientConnection:
        timeout = self._open_timeout
        if timeout is None:
            return await self._follow()
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        expired = False

        def expire() -> None:
            nonlocal expired
            expired = True
            task.cancel()

        handle = loop.call_later(timeout, expire)
        try:
            return await self._follow()
        except asyncio.CancelledError:
            if not expired:
                raise
            uncancel = getattr(task, "uncancel", None)
            if uncancel is not None:
                uncancel()
            raise TimeoutError(f"timed out after {timeout:g} s {self._stage}") from None
        finally:
            handle.cancel()

    async def _follow(self) -> ClientConnection:
        """Connect, following up to ``max_redirects`` redirects (RFC 9110 §15.4)."""
        url = self.uri
        secure = parse_uri(url).secure
        redirects = 0
        while True:
            try:
                return await self._connect_once(url)
            except InvalidHandshake as exc:
                if isinstance(exc, ProxyError) or exc.status not in _REDIRECTS:
                    raise
                location = next((v for n, v in exc.headers if n.lower() == "location"), None)
                if location is None:
                    raise
                if redirects >= self._max_redirects:
                    raise InvalidHandshake(
                        f"too many redirects: more than {self._max_redirects} "
                        f"(the last to {location!r})",
                        exc.status,
                        exc.headers,
                        exc.body,
                    ) from exc
                redirects += 1
                new_url = _http_url(urllib.parse.urljoin(_http_url(url), location))
                scheme, rest = new_url.split(":", 1)
                scheme = {"http": "ws", "https": "wss"}.get(scheme.lower(), scheme)
                new_url = f"{scheme}:{rest}"
                try:
                    new_uri = parse_uri(new_url)
                except InvalidURI as error:
                    raise InvalidHandshake(
                        f"cannot follow the redirect to {location!r}: {error}",
                        exc.status,
                        exc.headers,
                        exc.body,
                    ) from error
                if secure and not new_uri.secure:
                    raise InvalidHandshake(
                        f"refusing to follow a redirect from wss to ws: {location!r}",
                        exc.status,
                        exc.headers,
                        exc.body,
                    ) from exc
                secure = new_uri.secure
                url = new_url

    async def _connect_once(self, url: str) -> ClientConnection:
        headers = self._headers
        request = None
        if self._cookies is not None:
            import urllib.request

            request = urllib.request.Request(_http_url(url))
            self._cookies.add_cookie_header(request)
            cookie = request.get_header("Cookie")
            if cookie:
                headers = headers + [("Cookie", cookie)]
        protocol = SansIOClientConnection(
            url,
            subprotocols=self._subprotocols,
            origin=self._origin,
            extra_headers=headers,
            compression=self._compression,
            max_message_size=self._max_message,
            max_frame_size=self._max_frame,
            max_head_size=self._max_head_size,
        )
        uri = protocol.uri
        ws = ClientConnection(protocol, **self._connection_options)
        ws._listener = self._listener
        try:
            await self._open_transport(ws, uri)
            self._stage = f"waiting for the handshake response of {_target(uri.host, uri.port)}"
            try:
                await ws._opened
            except InvalidHandshake as exc:
                if request is not None and self._cookies is not None:
                    self._cookies.extract_cookies(_CookieResponse(exc.headers), request)  # type: ignore[arg-type]
                raise
            if request is not None and self._cookies is not None and ws.response is not None:
                self._cookies.extract_cookies(_CookieResponse(ws.response.headers), request)  # type: ignore[arg-type]
        except BaseException:
            if ws.transport is not None:
                ws.transport.abort()
            raise
        return ws

    def _ssl_context(self, uri: WebSocketURI) -> ssl_module.SSLContext | None:
        if not uri.secure:
            return None
        if isinstance(self._ssl, ssl_module.SSLContext):
            return self._ssl
        return _default_ssl_context()

    async def _open_transport(self, ws: ClientConnection, uri: WebSocketURI) -> None:
        loop = network(self._use_aiofastnet)
        context = self._ssl_context(uri)
        hostname = None
        if context is not None:
            hostname = self._server_hostname or uri.host
        if self._unix:
            self._stage = f"connecting to the Unix socket {self._path!r}"
            try:
                await loop.create_unix_connection(
                    lambda: ws, self._path, ssl=context, server_hostname=hostname, **self._kwargs
                )
            except Exception as exc:
                raise _connect_error(exc, str(self._path), None, "Unix socket ") from exc
            return
        proxy = _environment_proxy(uri) if self._proxy is True else self._proxy
        if proxy is not None and "sock" not in self._kwargs:
            await self._tunnel(ws, uri, _parse_proxy(proxy), context, hostname)
            return
        self._stage = f"connecting to {_target(uri.host, uri.port)}"
        kwargs = dict(self._kwargs)
        if "sock" not in kwargs:
            kwargs["host"], kwargs["port"] = uri.host, uri.port
        try:
            await loop.create_connection(
                lambda: ws, ssl=context, server_hostname=hostname, **kwargs
            )
        except Exception as exc:
            raise _connect_error(exc, uri.host, uri.port) from exc

    async def _tunnel(
        self,
        ws: ClientConnection,
        uri: WebSocketURI,
        proxy: _Proxy,
        context: ssl_module.SSLContext | None,
        hostname: str | None,
    ) -> None:
        """Connect through an HTTP proxy with CONNECT, then TLS to the server if wss."""
        loop = network(self._use_aiofastnet)
        target = _target(uri.host, uri.port)
        lines = [f"CONNECT {target} HTTP/1.1", f"Host: {target}"]
        if self._user_agent is not None:
            lines.append(f"User-Agent: {self._user_agent}")
        if proxy.user is not None:
            credentials = f"{proxy.user}:{proxy.password or ''}".encode()
            lines.append(f"Proxy-Authorization: Basic {base64.b64encode(credentials).decode()}")
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        tunnel = _Tunnel(request, proxy.name, target, self._trace)
        proxy_context = None
        proxy_hostname = None
        if proxy.secure:
            proxy_context = self._proxy_ssl or _default_ssl_context()
            proxy_hostname = self._proxy_server_hostname or proxy.host
        self._stage = f"connecting to the proxy {proxy.name}"
        try:
            transport, _ = await loop.create_connection(
                lambda: tunnel,
                proxy.host,
                proxy.port,
                ssl=proxy_context,
                server_hostname=proxy_hostname,
                **self._kwargs,
            )
        except Exception as exc:
            raise _connect_error(exc, proxy.host, proxy.port, "the proxy ") from exc
        try:
            self._stage = f"waiting for the proxy {proxy.name} to open a tunnel to {target}"
            rest = await tunnel.result
            if context is not None:
                self._stage = f"in the TLS handshake with {target} through the proxy"
                try:
                    tls = await loop.start_tls(
                        transport, ws, context, server_hostname=hostname
                    )
                except Exception as exc:
                    raise _connect_error(exc, uri.host, uri.port) from exc
                assert tls is not None
                ws.connection_made(tls)
            else:
                transport.set_protocol(ws)
                ws.connection_made(transport)
                if rest:
                    ws._received(rest)
        except BaseException:
            transport.abort()
            raise


def unix_connect(
    path: str | None = None, uri: str | None = None, **kwargs: Any
) -> connect:
    """:func:`connect` over the Unix socket ``path``; ``uri`` (default
    ``ws://localhost/``, ``wss://`` with ``ssl``) gives the Host and target."""
    if uri is None:
        uri = "ws://localhost/" if kwargs.get("ssl") in (None, False) else "wss://localhost/"
    return connect(uri, unix=True, path=path, **kwargs)
