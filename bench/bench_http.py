"""Benchmarks of the HTTP/1.1 head kernel (RFC 9112, RFC 9110 §5.6).

Cases (columns of the ``http`` table):

* ``upgrade request 489 B/12 headers`` -- a Chrome-like WebSocket upgrade
  request head parsed into method, target, version and a list of 12
  ``(name, value)`` pairs. Peers, each doing the equivalent work from scratch
  per call: ``httptools`` (a new ``HttpRequestParser`` whose ``on_url`` /
  ``on_header`` callbacks collect the target and a header list, fed the whole
  head; an upgrade request ends with ``HttpParserUpgrade``), ``h11`` (a new
  ``h11.Connection(h11.SERVER)``, ``receive_data`` + ``next_event``),
  ``aiohttp`` (a new ``aiohttp.http_parser.HttpRequestParser``, the C parser
  when compiled, ``feed_data``) and the reference ``naive split`` (split on
  CRLF, ``partition(b":")``, strip, decode -- no validation at all).
* ``101 response`` -- the server's handshake answer with 4 headers.
  ``httptools`` / ``aiohttp`` use their response parsers; h11 cannot parse a
  response without first sending a request on the same connection, so it has
  no cell here.
* ``has_token`` -- ``Connection: keep-alive, Upgrade`` contains ``upgrade``
  (Firefox's value). References: ``websockets`` (its server's check:
  ``any(v.lower() == "upgrade" for v in parse_connection(value))``),
  ``aiohttp`` (its server's check: ``"upgrade" in value.lower()``, a
  substring test) and ``naive split`` (split on commas, strip, lower).
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable

import pytest
from conftest import peer

REQUEST = (
    b"GET /socket HTTP/1.1\r\n"
    b"Host: server.example.com\r\n"
    b"Connection: Upgrade\r\n"
    b"Pragma: no-cache\r\n"
    b"Cache-Control: no-cache\r\n"
    b"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"
    b" Chrome/124.0.0.0 Safari/537.36\r\n"
    b"Upgrade: websocket\r\n"
    b"Origin: https://example.com\r\n"
    b"Sec-WebSocket-Version: 13\r\n"
    b"Accept-Encoding: gzip, deflate, br\r\n"
    b"Accept-Language: en-US,en;q=0.9\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    b"\r\n"
)
RESPONSE = (
    b"HTTP/1.1 101 Switching Protocols\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
    b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=15\r\n"
    b"\r\n"
)
CONNECTION = "keep-alive, Upgrade"
assert len(REQUEST) == 489 and REQUEST.count(b"\r\n") == 14

CASE_REQUEST = "upgrade request 489 B/12 headers"
CASE_RESPONSE = "101 response"
CASE_TOKEN = "has_token"


def _fastws(impl: str) -> Any:
    if impl == "fastws[c]":
        return peer("fastws_c.http")  # reported as missing when not compiled
    import fastws.http

    return fastws.http


class _Collector:
    """httptools callbacks: the target / status and the header list."""

    __slots__ = ("headers", "url", "status")

    def __init__(self) -> None:
        self.headers: list[tuple[bytes, bytes]] = []
        self.url = b""
        self.status = b""

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_status(self, status: bytes) -> None:
        self.status += status

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))


def _httptools(response: bool) -> Callable[[bytes], Any]:
    httptools = peer("httptools")
    parser_class = httptools.HttpResponseParser if response else httptools.HttpRequestParser
    upgrade = httptools.HttpParserUpgrade

    def parse(data: bytes) -> Any:
        collector = _Collector()
        parser = parser_class(collector)
        try:  # noqa: SIM105 - contextlib.suppress would add to the measured time
            parser.feed_data(data)
        except upgrade:
            pass
        return collector.headers

    return parse


def _h11() -> Callable[[bytes], Any]:
    h11 = peer("h11")
    server = h11.SERVER

    def parse(data: bytes) -> Any:
        conn = h11.Connection(server)
        conn.receive_data(data)
        return conn.next_event().headers

    return parse


class _Protocol:
    """aiohttp's parsers want a protocol; an upgrade GET without body never uses it."""


def _aiohttp(response: bool) -> Callable[[bytes], Any]:
    http_parser = peer("aiohttp.http_parser")
    parser_class = http_parser.HttpResponseParser if response else http_parser.HttpRequestParser
    loop = asyncio.new_event_loop()
    protocol = _Protocol()

    def parse(data: bytes) -> Any:
        messages, _upgraded, _tail = parser_class(protocol, loop, 1 << 16).feed_data(data)
        return messages[0][0].headers

    return parse


def _naive_request(data: bytes) -> Any:
    lines = data[: data.index(b"\r\n\r\n")].split(b"\r\n")
    method, target, version = lines[0].split(b" ")
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers.append((name.decode("latin-1"), value.strip(b" \t").decode("latin-1")))
    return method.decode("ascii"), target.decode("ascii"), version.decode("ascii"), headers


def _naive_response(data: bytes) -> Any:
    lines = data[: data.index(b"\r\n\r\n")].split(b"\r\n")
    version, status, reason = lines[0].split(b" ", 2)
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers.append((name.decode("latin-1"), value.strip(b" \t").decode("latin-1")))
    return version.decode("ascii"), int(status), reason.decode("latin-1"), headers


def _naive_has_token(value: str, token: str) -> bool:
    return token in [item.strip(" \t").lower() for item in value.split(",")]


def _websockets_has_token(value: str, token: str) -> bool:
    parse_connection = peer("websockets.headers").parse_connection
    return any(v.lower() == token for v in parse_connection(value))


def _aiohttp_has_token(value: str, token: str) -> bool:
    return token in value.lower()


def _target(case: str, impl: str) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    """The function and arguments measured for one (case, impl) cell."""
    if impl in ("fastws[c]", "fastws[python]"):
        module = _fastws(impl)
        if case == CASE_REQUEST:
            return module.parse_request, (REQUEST,)
        if case == CASE_RESPONSE:
            return module.parse_response, (RESPONSE,)
        return module.has_token, (CONNECTION, "upgrade")
    if case == CASE_TOKEN:
        funcs = {
            "websockets": _websockets_has_token,
            "aiohttp": _aiohttp_has_token,
            "naive split": _naive_has_token,
        }
        if impl == "websockets":
            peer("websockets.headers")
        return funcs[impl], (CONNECTION, "upgrade")
    data = REQUEST if case == CASE_REQUEST else RESPONSE
    response = case == CASE_RESPONSE
    if impl == "httptools":
        return _httptools(response), (data,)
    if impl == "h11":
        return _h11(), (data,)
    if impl == "aiohttp":
        return _aiohttp(response), (data,)
    if impl == "naive split":
        return (_naive_response if response else _naive_request), (data,)
    raise AssertionError(f"no benchmark for {case} / {impl}")


CELLS = [
    (CASE_REQUEST, "fastws[c]"),
    (CASE_REQUEST, "fastws[python]"),
    (CASE_REQUEST, "httptools"),
    (CASE_REQUEST, "h11"),
    (CASE_REQUEST, "aiohttp"),
    (CASE_REQUEST, "naive split"),
    (CASE_RESPONSE, "fastws[c]"),
    (CASE_RESPONSE, "fastws[python]"),
    (CASE_RESPONSE, "httptools"),
    (CASE_RESPONSE, "aiohttp"),
    (CASE_RESPONSE, "naive split"),
    (CASE_TOKEN, "fastws[c]"),
    (CASE_TOKEN, "fastws[python]"),
    (CASE_TOKEN, "websockets"),
    (CASE_TOKEN, "aiohttp"),
    (CASE_TOKEN, "naive split"),
]


@pytest.mark.parametrize(("case", "impl"), CELLS)
def test_http(measure: Any, case: str, impl: str) -> None:
    func, args = _target(case, impl)
    result = measure("http", case, impl, func, *args)
    if case == CASE_TOKEN:
        assert result is True
    elif impl.startswith("fastws"):
        head, consumed = result
        assert consumed == len(args[0])
        assert len(head.headers) == (12 if case == CASE_REQUEST else 4)
    elif impl == "naive split":
        assert len(result[3]) == (12 if case == CASE_REQUEST else 4)
    else:
        assert len(result) == (12 if case == CASE_REQUEST else 4)
