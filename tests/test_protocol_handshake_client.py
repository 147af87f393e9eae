"""The client's opening handshake (RFC 6455 §4.1, §3; gorilla/websocket Dialer checks)."""

from __future__ import annotations

import base64

import pytest
from protocol_helpers import each_mode, feed

from fastws.client import ClientConnection
from fastws.events import Binary, Closed, Response, Text
from fastws.exceptions import InvalidHandshake, InvalidHTTP, InvalidURI
from fastws.protocol import State
from fastws.server import ServerConnection
from fastws.urls import parse_uri


def request_of(client: ClientConnection) -> tuple[str, list[tuple[str, str]]]:
    head = client.data_to_send().decode("latin-1")
    assert head.endswith("\r\n\r\n")
    lines = head[:-4].split("\r\n")
    return lines[0], [tuple(line.split(": ", 1)) for line in lines[1:]]  # type: ignore[misc]


def headers_named(headers, name):
    return [v for n, v in headers if n.lower() == name.lower()]


def respond(
    client: ClientConnection,
    extra: str = "",
    *,
    status_line: str = "HTTP/1.1 101 Switching Protocols",
    upgrade: str | None = "websocket",
    connection: str | None = "Upgrade",
    accept: str | None = None,
    tail: bytes = b"",
    mode: str = "whole",
) -> None:
    """Feed the client a handcrafted response to its request."""
    lines = [status_line]
    if upgrade is not None:
        lines.append(f"Upgrade: {upgrade}")
    if connection is not None:
        lines.append(f"Connection: {connection}")
    if accept is None:
        accept = client._k.accept.accept_key(client.key)
    if accept:
        lines.append(f"Sec-WebSocket-Accept: {accept}")
    head = "\r\n".join(lines) + "\r\nX-Marker: 1\r\n" + extra + "\r\n"
    feed(client, head.encode("latin-1") + tail, mode)


def failed(client: ClientConnection) -> InvalidHandshake:
    """The handshake failed: CLOSED, nothing sent, one Closed event with the error."""
    assert client.state is State.CLOSED
    assert client.data_to_send() == b""
    (event,) = client.events()
    assert isinstance(event, Closed) and event.code == 1006
    assert isinstance(event.error, InvalidHandshake)
    assert event.error is client.error
    assert event.reason == str(event.error)
    return event.error


# -- the request ---------------------------------------------------------------


def test_4_1_request(kernels):
    """§4.1: GET with the resource, Host, Upgrade, Connection, a fresh key, version 13."""
    client = ClientConnection("ws://example.com/chat?room=1&x=%20", _kernels=kernels)
    line, headers = request_of(client)
    assert line == "GET /chat?room=1&x=%20 HTTP/1.1"
    assert headers == [
        ("Host", "example.com"),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", client.key),
        ("Sec-WebSocket-Version", "13"),
    ]
    assert kernels.accept.is_valid_key(client.key)
    assert len(base64.b64decode(client.key)) == 16
    assert client.state is State.CONNECTING
    assert (client.uri.host, client.uri.port, client.uri.secure) == ("example.com", 80, False)


def test_4_1_fresh_key_per_connection(kernels):
    keys = {ClientConnection("ws://h/", _kernels=kernels).key for _ in range(50)}
    assert len(keys) == 50


@pytest.mark.parametrize(
    ("url", "host", "target", "port", "secure"),
    [
        ("ws://example.com", "example.com", "/", 80, False),
        ("ws://example.com:80/", "example.com", "/", 80, False),
        ("ws://example.com:8080/a/b", "example.com:8080", "/a/b", 8080, False),
        ("wss://example.com/", "example.com", "/", 443, True),
        ("wss://example.com:443/", "example.com", "/", 443, True),
        ("wss://example.com:80/", "example.com:80", "/", 80, True),
        ("WS://Example.COM/Path", "example.com", "/Path", 80, False),
        ("ws://[::1]/", "[::1]", "/", 80, False),
        ("ws://[2001:db8::1]:9000/x", "[2001:db8::1]:9000", "/x", 9000, False),
        ("ws://127.0.0.1:1/?q", "127.0.0.1:1", "/?q", 1, False),
        ("ws://example.com?only=query", "example.com", "/?only=query", 80, False),
        ("ws://bücher.example/ü", "xn--bcher-kva.example", "/%C3%BC", 80, False),
    ],
)
def test_3_uri_to_host_and_target(kernels, url, host, target, port, secure):
    """§3, §4.1: Host has the port only when not the default; IPv6 in brackets."""
    client = ClientConnection(url, _kernels=kernels)
    line, headers = request_of(client)
    assert line == f"GET {target} HTTP/1.1"
    assert headers_named(headers, "Host") == [host]
    assert client.uri.port == port and client.uri.secure is secure


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/",
        "https://example.com/",
        "ftp://example.com/",
        "example.com",
        "ws:///path",
        "ws://",
        "ws://example.com/#fragment",
        "ws://example.com:99999/",
        "ws://example.com:port/",
        "ws://exa mple.com/",
        "ws://example.com/\r\nX: injected",
        "ws://example.com:0/",
    ],
)
def test_3_invalid_uris(kernels, url):
    """§3: only ws:// and wss:// URIs with a host, no fragment."""
    with pytest.raises(InvalidURI):
        ClientConnection(url, _kernels=kernels)
    with pytest.raises(ValueError):  # InvalidURI is a ValueError too
        parse_uri(url)


def test_credentials_become_basic_auth(kernels):
    client = ClientConnection("ws://us%3Aer:p%40ss@example.com/", _kernels=kernels)
    _, headers = request_of(client)
    assert headers_named(headers, "Authorization") == [
        "Basic " + base64.b64encode(b"us:er:p@ss").decode()
    ]
    assert headers_named(headers, "Host") == ["example.com"]
    client = ClientConnection("ws://user@example.com/", _kernels=kernels)
    _, headers = request_of(client)
    assert headers_named(headers, "Authorization") == [
        "Basic " + base64.b64encode(b"user:").decode()
    ]


def test_origin_subprotocols_extensions_and_extra_headers(kernels):
    from fastws.deflate import DeflateOptions

    client = ClientConnection(
        "ws://example.com/",
        origin="https://example.com",
        subprotocols=["v2.chat", "v1.chat"],
        compression=DeflateOptions(),
        extra_headers=[("X-Token", "a"), ("X-Token", "b"), ("User-Agent", "fastws-test")],
        _kernels=kernels,
    )
    _, headers = request_of(client)
    assert headers_named(headers, "Origin") == ["https://example.com"]
    assert headers_named(headers, "Sec-WebSocket-Protocol") == ["v2.chat, v1.chat"]
    assert headers_named(headers, "Sec-WebSocket-Extensions") == [
        "permessage-deflate; client_max_window_bits"
    ]
    assert headers_named(headers, "X-Token") == ["a", "b"]
    assert headers_named(headers, "User-Agent") == ["fastws-test"]
    assert client.request_headers == headers


def test_extra_headers_may_replace_host_origin_authorization(kernels):
    client = ClientConnection(
        "ws://u:p@example.com/",
        origin="https://a",
        extra_headers=[
            ("Host", "proxy.example"),
            ("Origin", "https://b"),
            ("Authorization", "Bearer t"),
        ],
        _kernels=kernels,
    )
    _, headers = request_of(client)
    assert headers_named(headers, "Host") == ["proxy.example"]
    assert headers_named(headers, "Origin") == ["https://b"]
    assert headers_named(headers, "Authorization") == ["Bearer t"]


@pytest.mark.parametrize(
    "header",
    [
        ("Sec-WebSocket-Key", "x"),
        ("upgrade", "h2c"),
        ("Connection", "close"),
        ("Sec-WebSocket-Version", "8"),
        ("Sec-WebSocket-Protocol", "x"),
        ("Sec-WebSocket-Extensions", "x"),
        ("X-Bad", "a\r\nInjected: 1"),
        ("Bad Name", "x"),
        ("", "x"),
    ],
)
def test_bad_extra_headers(kernels, header):
    with pytest.raises(ValueError):
        ClientConnection("ws://example.com/", extra_headers=[header], _kernels=kernels)


def test_bad_options(kernels):
    with pytest.raises(ValueError):
        ClientConnection("ws://h/", subprotocols=["bad protocol"], _kernels=kernels)
    with pytest.raises(TypeError):
        ClientConnection("ws://h/", subprotocols="chat", _kernels=kernels)
    with pytest.raises(ValueError):
        ClientConnection("ws://h/", origin="a\r\nb", _kernels=kernels)
    with pytest.raises(TypeError):
        ClientConnection("ws://h/", compression=True, _kernels=kernels)


# -- the response ------------------------------------------------------------


@each_mode
def test_4_1_valid_response(kernels, mode):
    """§4.1: a valid 101 opens the connection and reports a Response event."""
    client = ClientConnection("ws://example.com/", subprotocols=["chat"], _kernels=kernels)
    client.data_to_send()
    respond(client, "Sec-WebSocket-Protocol: chat\r\nX-Extra: 1\r\n", mode=mode)
    assert client.state is State.OPEN
    (event,) = client.events()
    assert isinstance(event, Response)
    assert event.status == 101 and event.subprotocol == "chat" and client.subprotocol == "chat"
    assert event.header("x-extra") == "1"
    assert client.response is event


@each_mode
def test_4_1_frames_in_the_same_chunk_as_the_response(kernels, mode):
    """Bytes after the head are the first frames, not lost (any chunking)."""
    client = ClientConnection("ws://example.com/", _kernels=kernels)
    client.data_to_send()
    frames = kernels.frames.build_frame(1, b"first") + kernels.frames.build_frame(2, b"second")
    respond(client, tail=frames, mode=mode)
    events = client.events()
    assert [type(e) for e in events] == [Response, Text, Binary]
    assert events[1:] == [Text("first"), Binary(b"second")]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"upgrade": "WebSocket"},
        {"upgrade": "WEBSOCKET"},
        {"connection": "upgrade"},
        {"connection": "keep-alive, Upgrade"},
    ],
)
def test_4_1_case_insensitive_values(kernels, kwargs):
    client = ClientConnection("ws://example.com/", _kernels=kernels)
    client.data_to_send()
    respond(client, **kwargs)
    assert client.state is State.OPEN


@pytest.mark.parametrize(
    ("kwargs", "extra", "message"),
    [
        ({"upgrade": None}, "", "Upgrade"),
        ({"upgrade": "h2c"}, "", "Upgrade"),
        ({"upgrade": "websocket, h2c"}, "", "Upgrade"),
        ({"connection": None}, "", "Connection"),
        ({"connection": "keep-alive"}, "", "Connection"),
        ({"accept": "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="}, "", "Sec-WebSocket-Accept"),
        ({"accept": ""}, "", "Sec-WebSocket-Accept"),
        ({}, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n", "Sec-WebSocket-Accept"),
        ({}, "Sec-WebSocket-Protocol: chat\r\n", "subprotocol"),
        ({}, "Sec-WebSocket-Extensions: permessage-deflate\r\n", "not offered"),
        ({}, "Sec-WebSocket-Extensions: x-custom\r\n", "not offered"),
    ],
    ids=[
        "no-upgrade",
        "upgrade-h2c",
        "upgrade-list",
        "no-connection",
        "connection-keep-alive",
        "wrong-accept",
        "no-accept",
        "two-accepts",
        "protocol-not-offered",
        "extension-not-offered",
        "unknown-extension",
    ],
)
def test_4_1_invalid_101_responses(kernels, kwargs, extra, message):
    """§4.1 steps 2-6: any of these fails the handshake; no frame is parsed."""
    client = ClientConnection("ws://example.com/", _kernels=kernels)
    client.data_to_send()
    respond(client, extra, tail=kernels.frames.build_frame(1, b"never"), **kwargs)
    error = failed(client)
    assert error.status == 101
    assert message in str(error)
    assert ("X-Marker", "1") in error.headers


@pytest.mark.parametrize(
    "extra",
    [
        "Sec-WebSocket-Protocol: chat, superchat\r\n",
        "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: superchat\r\n",
        "Sec-WebSocket-Protocol: other\r\n",
        "Sec-WebSocket-Protocol: bad token\r\n",
    ],
)
def test_4_1_subprotocol_must_be_one_offered(kernels, extra):
    client = ClientConnection("ws://h/", subprotocols=["chat", "superchat"], _kernels=kernels)
    client.data_to_send()
    respond(client, extra)
    failed(client)


def test_4_1_no_subprotocol_selected_is_fine(kernels):
    client = ClientConnection("ws://h/", subprotocols=["chat"], _kernels=kernels)
    client.data_to_send()
    respond(client)
    assert client.state is State.OPEN and client.subprotocol is None


@pytest.mark.parametrize(
    ("response", "status", "body"),
    [
        (
            b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic\r\n"
            b"Content-Length: 12\r\n\r\nunauthorized",
            401,
            b"unauthorized",
        ),
        (b"HTTP/1.1 302 Found\r\nLocation: ws://elsewhere/\r\nContent-Length: 0\r\n\r\n", 302, b""),
        (
            b"HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n",
            403,
            b"hello world",
        ),
        (b"HTTP/1.1 204 No Content\r\n\r\n", 204, b""),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello, and more bytes", 200, b"hello"),
        (b"HTTP/1.1 100 Continue\r\n\r\n", 100, b""),
    ],
    ids=["401-length", "302-redirect", "403-chunked", "204-no-body", "200-extra-bytes", "100"],
)
@each_mode
def test_4_1_refusal_carries_status_headers_body(kernels, mode, response, status, body):
    """§4.1: any status but 101 fails; the exception carries status, headers and
    the body (awaited when delimited) so the caller can follow a redirect or
    show a 401."""
    client = ClientConnection("ws://example.com/", _kernels=kernels)
    client.data_to_send()
    feed(client, response, mode)
    error = failed(client)
    assert error.status == status
    assert error.body == body
    assert str(status) in str(error)
    if status == 302:
        assert ("Location", "ws://elsewhere/") in error.headers


@each_mode
def test_refusal_body_until_eof(kernels, mode):
    client = ClientConnection("ws://example.com/", _kernels=kernels)
    client.data_to_send()
    feed(client, b"HTTP/1.0 500 Internal Server Error\r\n\r\nsomething broke", mode)
    assert client.state is State.CONNECTING
    assert client.events() == []
    client.receive_eof()
    error = failed(client)
    assert (error.status, error.body) == (500, b"something broke")


def test_refusal_body_incomplete_at_eof(kernels):
    client = ClientConnection("ws://example.com/", _kernels=kernels)
    client.data_to_send()
    client.receive_data(b"HTTP/1.1 404 Not Found\r\nContent-Length: 100\r\n\r\npartial")
    assert client.state is State.CONNECTING
    client.receive_eof()
    assert failed(client).body == b"partial"


def test_refusal_body_is_capped(kernels):
    client = ClientConnection("ws://example.com/", _kernels=kernels)
    client.data_to_send()
    client.receive_data(b"HTTP/1.1 500 Oops\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 70000)
    assert len(failed(client).body) == 65536


@pytest.mark.parametrize(
    "response",
    [
        b"HTTP/1.1 101\r\nUpgrade websocket\r\n\r\n",
        b"NOT-HTTP 101 Switching\r\n\r\n",
        b"HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\n\n",
    ],
)
def test_malformed_response(kernels, response):
    client = ClientConnection("ws://example.com/", _kernels=kernels)
    client.data_to_send()
    client.receive_data(response)
    error = failed(client)
    assert error.status is None
    assert isinstance(error.__cause__, InvalidHTTP)


def test_eof_before_the_response(kernels):
    client = ClientConnection("ws://example.com/", _kernels=kernels)
    client.data_to_send()
    client.receive_data(b"HTTP/1.1 101 Switching")
    client.receive_eof()
    error = failed(client)
    assert error.status is None
    client.receive_eof()
    client.receive_data(b"more")
    assert client.events() == []


@each_mode
def test_full_handshake_against_the_server(kernels, mode):
    """Client and server agree under every feeding mode."""
    client = ClientConnection(
        "ws://example.com:8765/path", subprotocols=["b", "a"], _kernels=kernels
    )
    server = ServerConnection(subprotocols=["a", "b"], _kernels=kernels)
    feed(server, client.data_to_send(), mode)
    feed(client, server.data_to_send(), mode)
    assert client.state is server.state is State.OPEN
    assert client.subprotocol == server.subprotocol == "a"
