"""What the opening handshake exposes beyond pass/fail (RFC 6455 §4.1, §4.2).

* ``report_refused``: a well-formed HTTP request that is no valid upgrade
  (a health check, a refused Origin, another version) reaches the
  application as a ``Request`` with ``refusal`` set, before any answer;
* ``raw_request`` / ``raw_response``: the heads byte for byte, both roles;
* ``request`` / ``response``: the parsed handshake on both roles (the 101 a
  server sent, the request a client sent);
* ``backend``: the kernels a connection runs on.
"""

from __future__ import annotations

import pickle

import pytest
from protocol_helpers import each_mode, feed, handshake

from fastws.client import ClientConnection
from fastws.deflate import DeflateOptions
from fastws.events import Closed, Pong, Request, Response, Text
from fastws.exceptions import InvalidHandshake, InvalidState
from fastws.protocol import State
from fastws.server import Reject, ServerConnection

KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def upgrade(*extra: str, method: str = "GET", target: str = "/chat", **replace: str) -> bytes:
    """A request head: a valid upgrade unless ``replace``/``method`` break it."""
    headers = {
        "Host": "server.example.com",
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": KEY,
        "Sec-WebSocket-Version": "13",
    }
    for name, value in replace.items():
        headers[name.replace("_", "-")] = value
    lines = [f"{method} {target} HTTP/1.1"]
    lines += [f"{n}: {v}" for n, v in headers.items() if v]
    lines += list(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


PLAIN = b"GET /health HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n"

# Well-formed requests the server refuses, with the status of the refusal.
REFUSED = [
    pytest.param(PLAIN, 400, (), id="plain-get"),
    pytest.param(upgrade(method="POST"), 400, (), id="post"),
    pytest.param(upgrade(Connection="keep-alive"), 400, (), id="no-upgrade-token"),
    pytest.param(upgrade(Sec_WebSocket_Key="short=="), 400, (), id="bad-key"),
    pytest.param(upgrade(Sec_WebSocket_Version="8"), 426, (), id="version-8"),
    pytest.param(
        upgrade("Origin: https://evil.example"), 403, ["https://good.example"], id="bad-origin"
    ),
]


def split_response(data: bytes) -> tuple[bytes, bytes]:
    end = data.index(b"\r\n\r\n") + 4
    return data[:end], data[end:]


# -- report_refused -------------------------------------------------------------


@pytest.mark.parametrize(("data", "status", "origins"), REFUSED)
@each_mode
def test_refused_request_is_reported_and_refuse_matches_the_default(
    kernels, mode, data, status, origins
):
    """With report_refused the application sees the request before any answer;
    refuse() then does exactly what the server does at once without the option."""
    origins = origins or None
    default = ServerConnection(origins=origins, _kernels=kernels)
    feed(default, data, mode)
    expected_bytes = default.data_to_send()
    (expected_closed,) = default.events()
    assert default.state is State.CLOSED and expected_bytes.startswith(
        f"HTTP/1.1 {status} ".encode()
    )

    server = ServerConnection(
        origins=origins, auto_accept=False, report_refused=True, _kernels=kernels
    )
    feed(server, data, mode)
    (event,) = server.events()
    assert isinstance(event, Request) and server.request is event
    assert server.state is State.CONNECTING and server.data_to_send() == b""
    assert server.raw_request == data and server.raw_response == b""
    assert event.target == data.split(b" ")[1].decode()
    assert event.subprotocols == [] and event.extensions == []
    refusal = event.refusal
    assert isinstance(refusal, Reject) and refusal.status == status
    assert isinstance(refusal.body, str)
    assert refusal.body.startswith("Failed to open a WebSocket connection: ")
    if status == 426:
        assert ("Sec-WebSocket-Version", "13") in refusal.headers
    with pytest.raises(InvalidState):
        server.accept()
    assert server.state is State.CONNECTING

    server.refuse()
    assert server.data_to_send() == expected_bytes
    assert server.raw_response == split_response(expected_bytes)[0]
    assert server.state is State.CLOSED
    (closed,) = server.events()
    assert closed == expected_closed
    assert isinstance(closed.error, InvalidHandshake) and closed.error.status == status
    assert server.error is closed.error
    with pytest.raises(InvalidState):
        server.refuse()

    # The same refusal through reject(): the same bytes, but the application's choice.
    other = ServerConnection(
        origins=origins, auto_accept=False, report_refused=True, _kernels=kernels
    )
    other.receive_data(data)
    (event,) = other.events()
    assert event.refusal == refusal
    other.reject(refusal.status, refusal.headers, refusal.body)
    assert other.data_to_send() == expected_bytes
    assert other.events() == [Closed(1006, f"handshake rejected with HTTP {status}")]
    assert other.error is None


def test_refused_request_answered_as_plain_http(kernels):
    """A health check answered by the application: any status, headers, body."""
    server = ServerConnection(
        auto_accept=False,
        report_refused=True,
        extra_headers=[("Server", "t")],
        _kernels=kernels,
    )
    server.receive_data(PLAIN)
    (event,) = server.events()
    assert event.header("Accept") == "*/*" and event.refusal is not None
    server.reject(200, [("Content-Type", "application/json")], b"{}")
    head, body = split_response(server.data_to_send())
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and body == b"{}"
    assert b"\r\nServer: t\r\n" in head and server.raw_response == head
    assert server.events() == [Closed(1006, "handshake rejected with HTTP 200")]
    assert server.response is None


def test_valid_request_with_report_refused_is_unchanged(kernels):
    server = ServerConnection(auto_accept=False, report_refused=True, _kernels=kernels)
    client = ClientConnection("ws://h/", _kernels=kernels)
    server.receive_data(client.data_to_send())
    (event,) = server.events()
    assert event.refusal is None
    with pytest.raises(InvalidState):
        server.refuse()
    server.accept()
    assert server.state is State.OPEN
    client.receive_data(server.data_to_send())
    assert client.state is State.OPEN


@pytest.mark.parametrize(
    ("answer", "status"),
    [(None, 400), (Reject(200, (), "OK\n"), 200), (KeyError("bug"), 500)],
    ids=["none-refuses", "reject", "raises"],
)
def test_process_request_sees_refused_requests(kernels, answer, status):
    """auto_accept with report_refused: process_request sees the plain request;
    None lets the refusal go out, a Reject answers, an exception is a 500."""
    seen = []

    def process(request):
        seen.append(request)
        if isinstance(answer, Exception):
            raise answer
        return answer

    server = ServerConnection(process_request=process, report_refused=True, _kernels=kernels)
    server.receive_data(PLAIN)
    assert [r.target for r in seen] == ["/health"] and seen[0].refusal.status == 400
    assert server.data_to_send().startswith(f"HTTP/1.1 {status} ".encode())
    assert server.state is State.CLOSED
    request, closed = server.events()
    assert request is seen[0] and isinstance(closed, Closed)
    if status == 400:
        assert isinstance(closed.error, InvalidHandshake) and closed.error.status == 400
    elif status == 500:
        assert isinstance(closed.error.__cause__, KeyError)
    else:
        assert closed.error is None

    # Without a hook the refused request is still reported, then refused.
    server = ServerConnection(report_refused=True, _kernels=kernels)
    server.receive_data(PLAIN)
    assert server.data_to_send().startswith(b"HTTP/1.1 400 ")
    assert [type(e) for e in server.events()] == [Request, Closed]


@pytest.mark.parametrize(
    ("data", "status", "origins"),
    [
        (b"garbage\r\n\r\n", 400, None),
        (b"GET / HTTP/1.1\r\nX: " + b"y" * 2000 + b"\r\n\r\n", 431, None),
        (upgrade("Origin: https://x"), 500, "raises"),
    ],
    ids=["malformed", "too-big", "origins-raised"],
)
def test_report_refused_does_not_hold_broken_heads_or_internal_errors(
    kernels, data, status, origins
):
    def policy(origin):
        raise RuntimeError("boom")

    server = ServerConnection(
        auto_accept=False,
        report_refused=True,
        origins=policy if origins else None,
        max_head_size=1024,
        _kernels=kernels,
    )
    server.receive_data(data)
    assert server.data_to_send().startswith(f"HTTP/1.1 {status} ".encode())
    (event,) = server.events()
    assert isinstance(event, Closed) and event.error.status == status
    assert server.request is None


def test_refused_request_waiting_keeps_limits_and_sees_eof(kernels):
    """A reported request waits like a valid one: bounded buffering, EOF ends it."""
    server = ServerConnection(
        auto_accept=False, report_refused=True, max_message_size=100, _kernels=kernels
    )
    server.receive_data(b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
    (event,) = server.events()
    assert event.refusal.status == 400 and server.state is State.CONNECTING
    assert server.raw_request.endswith(b"Content-Length: 5\r\n\r\n")
    server.receive_data(b"x" * 20000)
    assert server.data_to_send().startswith(b"HTTP/1.1 400 ")
    assert server.state is State.CLOSED

    server = ServerConnection(auto_accept=False, report_refused=True, _kernels=kernels)
    server.receive_data(PLAIN)
    server.events()
    server.receive_eof()
    (closed,) = server.events()
    assert isinstance(closed.error, InvalidHandshake) and server.state is State.CLOSED
    assert server.data_to_send() == b""
    with pytest.raises(InvalidState):
        server.refuse()


def test_refuse_needs_a_refused_request(kernels):
    server = ServerConnection(auto_accept=False, _kernels=kernels)
    with pytest.raises(InvalidState):
        server.refuse()  # nothing received yet
    server.receive_data(PLAIN)  # refused at once: report_refused is off
    assert [type(e) for e in server.events()] == [Closed]
    with pytest.raises(InvalidState):
        server.refuse()


def test_request_with_refusal_is_a_value():
    refusal = Reject(426, [("Sec-WebSocket-Version", "13")], "no")
    event = Request("/", [("Host", "x")], refusal=refusal)
    assert pickle.loads(pickle.dumps(event)) == event
    same = Reject(426, (("Sec-WebSocket-Version", "13"),), "no")
    assert event == Request("/", [("Host", "x")], [], [], same)
    assert event != Request("/", [("Host", "x")])
    assert event != Request("/", [("Host", "x")], refusal=Reject(400, [], "no"))
    assert "refusal=Reject(status=426" in repr(event)
    assert repr(Request("/", [])) == (
        "Request(target='/', headers=[], subprotocols=[], extensions=[])"
    )
    assert Reject(400) == Reject(400, [], b"") and Reject(400) != Reject(401)
    assert pickle.loads(pickle.dumps(refusal)) == refusal
    with pytest.raises(TypeError):
        hash(refusal)


# -- raw heads --------------------------------------------------------------------


@each_mode
def test_raw_heads_on_both_roles(kernels, mode):
    """Client: the request bytes sent, the response head received; server: the
    request head received, the response head sent -- with frames right behind
    each head in the same chunk, which are not part of it."""
    client = ClientConnection("ws://example.com/a?b=c", subprotocols=["chat"], _kernels=kernels)
    server = ServerConnection(subprotocols=["chat"], _kernels=kernels)
    assert server.raw_request == server.raw_response == b""
    assert client.raw_response == b""
    sent = client.data_to_send()
    assert client.raw_request == sent
    assert sent.startswith(b"GET /a?b=c HTTP/1.1\r\n") and sent.endswith(b"\r\n\r\n")
    early = kernels.frames.build_frame(9, b"ping", mask=b"abcd")
    feed(server, sent + early, mode)
    assert server.raw_request == sent
    answer = server.data_to_send()
    head = server.raw_response
    assert head.startswith(b"HTTP/1.1 101 Switching Protocols\r\n") and head.endswith(b"\r\n\r\n")
    assert answer.startswith(head) and len(answer) > len(head)  # the pong follows the 101
    feed(client, answer, mode)
    assert client.raw_response == head
    assert [type(e) for e in client.events()] == [Response, Pong]
    assert client.state is State.OPEN and server.state is State.OPEN


@each_mode
def test_raw_response_of_a_refusal_is_the_head(kernels, mode):
    client = ClientConnection("ws://h/", origin="https://evil", _kernels=kernels)
    server = ServerConnection(origins=["https://good"], _kernels=kernels)
    server.receive_data(client.data_to_send())
    answer = server.data_to_send()
    head, body = split_response(answer)
    assert server.raw_request == client.raw_request
    assert server.raw_response == head and body.startswith(b"Failed to open")
    feed(client, answer, mode)
    (closed,) = client.events()
    assert closed.error.status == 403 and closed.error.body == body
    assert client.raw_response == head


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"garbage\r\n\r\nmore bytes", b"garbage\r\n\r\n"),
        (b"HTTP/1.1 abc\r\nX: y\r\n\r\n\x81\x00", b"HTTP/1.1 abc\r\nX: y\r\n\r\n"),
    ],
)
def test_raw_heads_of_malformed_heads(kernels, data, expected):
    """A head that is not valid HTTP is kept for diagnostics, through the blank line."""
    server = ServerConnection(_kernels=kernels)
    server.receive_data(data)
    assert server.state is State.CLOSED and server.raw_request == expected
    assert server.raw_response.startswith(b"HTTP/1.1 400 ")
    client = ClientConnection("ws://h/", _kernels=kernels)
    client.receive_data(data)
    assert client.state is State.CLOSED and client.raw_response == expected


def test_raw_heads_too_big_or_cut_by_eof(kernels):
    big = b"GET / HTTP/1.1\r\nX: " + b"y" * 5000
    server = ServerConnection(max_head_size=1024, _kernels=kernels)
    server.receive_data(big)
    assert server.raw_request == big[:1024]
    assert server.raw_response.startswith(b"HTTP/1.1 431 ")
    client = ClientConnection("ws://h/", max_head_size=1024, _kernels=kernels)
    client.receive_data(b"HTTP/1.1 101 OK\r\nX: " + b"y" * 5000)
    assert client.raw_response == (b"HTTP/1.1 101 OK\r\nX: " + b"y" * 5000)[:1024]

    server = ServerConnection(_kernels=kernels)
    server.receive_data(b"GET / HTTP/1.1\r\nHo")
    server.receive_eof()
    assert server.raw_request == b"GET / HTTP/1.1\r\nHo" and server.raw_response == b""
    client = ClientConnection("ws://h/", _kernels=kernels)
    client.receive_data(b"HTTP/1.1 101 Swi")
    client.receive_eof()
    assert client.raw_response == b"HTTP/1.1 101 Swi"
    client = ClientConnection("ws://h/", _kernels=kernels)
    client.receive_eof()
    assert client.raw_response == b""


# -- request / response on both roles ------------------------------------------------


@each_mode
def test_server_response_is_the_101_sent(kernels, mode):
    """The server's Response: every header it sent, in order, the subprotocol and
    the accepted extension -- the same as what the client parsed."""
    server = ServerConnection(
        auto_accept=False,
        subprotocols=["b"],
        compression=DeflateOptions(server_max_window_bits=12),
        extra_headers=[("Server", "t")],
        _kernels=kernels,
    )
    client = ClientConnection(
        "ws://h/", subprotocols=["a", "b"], compression=DeflateOptions(), _kernels=kernels
    )
    feed(server, client.data_to_send(), mode)
    assert server.response is None
    server.accept(extra_headers=[("X-Session", "42")])
    response = server.response
    assert isinstance(response, Response) and response.status == 101
    assert response.subprotocol == "b" == server.subprotocol
    assert response.header("X-Session") == "42" and response.header("Server") == "t"
    assert [n for n, _ in response.headers][-2:] == ["X-Session", "Server"]
    parsed, _ = kernels.http.parse_response(server.raw_response)
    assert response.headers == parsed.headers
    value = kernels.http.get_header(parsed.headers, "Sec-WebSocket-Extensions")
    assert response.extensions == kernels.http.parse_extensions(value)
    assert response.extensions[0][0] == "permessage-deflate"
    feed(client, server.data_to_send(), mode)
    (event,) = client.events()
    assert event == response and client.response is event


def test_server_response_without_extensions(kernels):
    client = ClientConnection("ws://h/", _kernels=kernels)
    server = ServerConnection(compression=DeflateOptions(), _kernels=kernels)
    handshake(client, server)
    assert server.response is not None and server.response.extensions == []
    assert server.response == client.response


def test_client_request_is_what_the_server_receives(kernels):
    """The client's Request (what it sent) equals the server's Request event."""
    client = ClientConnection(
        "ws://u:p@h:8080/x?y",
        subprotocols=["a", "b"],
        origin="https://o",
        extra_headers=[("X-A", "1")],
        compression=DeflateOptions(client_max_window_bits=10),
        _kernels=kernels,
    )
    request = client.request
    assert isinstance(request, Request) and request.target == "/x?y"
    assert request.headers == client.request_headers
    assert request.subprotocols == ["a", "b"]
    assert request.extensions == [
        ("permessage-deflate", [("client_max_window_bits", "10")])
    ]
    server = ServerConnection(_kernels=kernels)
    server.receive_data(client.data_to_send())
    (event,) = server.events()
    assert event == request and server.request is event
    assert ClientConnection("ws://h/", _kernels=kernels).request.extensions == []


# -- backend --------------------------------------------------------------------


def test_backend_names_the_kernels(kernels):
    client = ClientConnection("ws://h/", _kernels=kernels)
    server = ServerConnection(_kernels=kernels)
    assert client.backend == server.backend == kernels.name
    assert kernels.name in ("python", "c")
    with pytest.raises(AttributeError):
        client.backend = "python"  # type: ignore[misc]
    handshake(client, server)
    client.send_text("x")
    server.receive_data(client.data_to_send())
    assert server.events()[-1] == Text("x")
