"""The server's opening handshake (RFC 6455 §4.2; refusals per §4.2.1/§4.2.2)."""

from __future__ import annotations

import pytest
from protocol_helpers import each_mode, feed

from fastws.client import ClientConnection
from fastws.events import Closed, Request, Text
from fastws.exceptions import InvalidHandshake, InvalidHTTP, InvalidState
from fastws.protocol import State
from fastws.server import Reject, ServerConnection

KEY = "dGhlIHNhbXBsZSBub25jZQ=="
ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # RFC 6455 §1.3


def request(
    *extra: str,
    method: str = "GET",
    target: str = "/chat",
    version: str = "HTTP/1.1",
    drop: tuple[str, ...] = (),
    **replace: str,
) -> bytes:
    headers = {
        "Host": "server.example.com",
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": KEY,
        "Sec-WebSocket-Version": "13",
    }
    for name, value in replace.items():
        headers[name.replace("_", "-")] = value
    lines = [f"{method} {target} {version}"]
    lines += [f"{n}: {v}" for n, v in headers.items() if n not in drop]
    lines += list(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def response_of(server: ServerConnection) -> tuple[str, list[tuple[str, str]], bytes]:
    data = server.data_to_send()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    return lines[0], [tuple(line.split(": ", 1)) for line in lines[1:]], body  # type: ignore[misc]


def refused(
    server: ServerConnection, status: int
) -> tuple[list[tuple[str, str]], bytes, InvalidHandshake]:
    """A refusal: a real HTTP response with a short text body, then CLOSED."""
    line, headers, body = response_of(server)
    assert line.startswith(f"HTTP/1.1 {status} ")
    assert ("Content-Length", str(len(body))) in headers
    assert ("Connection", "close") in headers
    assert ("Content-Type", "text/plain; charset=utf-8") in headers
    assert body.startswith(b"Failed to open a WebSocket connection: ") and body.endswith(b"\n")
    assert server.state is State.CLOSED
    (event,) = server.events()
    assert isinstance(event, Closed) and event.code == 1006
    assert isinstance(event.error, InvalidHandshake) and event.error.status == status
    # Nothing is read any more.
    server.receive_data(b"GET / HTTP/1.1\r\n\r\n")
    assert server.data_to_send() == b"" and server.events() == []
    return headers, body, event.error


def accepted(server: ServerConnection) -> list[tuple[str, str]]:
    line, headers, body = response_of(server)
    assert line == "HTTP/1.1 101 Switching Protocols"
    assert body == b""
    assert server.state is State.OPEN
    return headers


@each_mode
def test_4_2_2_accept(kernels, mode):
    """§4.2.2: the 101 with Upgrade, Connection and the accept key of §1.3."""
    server = ServerConnection(_kernels=kernels)
    feed(server, request(), mode)
    assert accepted(server) == [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Accept", ACCEPT),
    ]
    (event,) = server.events()
    assert isinstance(event, Request)
    assert event.target == "/chat"
    assert event.header("host") == "server.example.com"
    assert event.subprotocols == [] and event.extensions == []
    assert server.request is event


@pytest.mark.parametrize(
    "variant",
    [
        {"Connection": "keep-alive, Upgrade"},  # Firefox
        {"Connection": "upgrade"},
        {"Upgrade": "WebSocket"},
        {"Upgrade": "websocket, foo"},
        {"version": "HTTP/1.2"},
        {"target": "/?a=b&c=%20"},
        {"target": "http://server.example.com/chat"},
    ],
)
def test_4_2_1_accepted_variants(kernels, variant):
    variant = dict(variant)
    kwargs = {k: variant.pop(k) for k in ("version", "target") if k in variant}
    server = ServerConnection(_kernels=kernels)
    server.receive_data(request(**kwargs, **variant))
    accepted(server)


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (request(method="POST"), 400),
        (request(method="HEAD"), 400),
        (request(version="HTTP/1.0"), 400),
        (request(drop=("Host",)), 400),
        (request("Host: other.example.com"), 400),
        (request(drop=("Upgrade",)), 400),
        (request(Upgrade="h2c"), 400),
        (request(drop=("Connection",)), 400),
        (request(Connection="keep-alive"), 400),
        (request(drop=("Sec-WebSocket-Key",)), 400),
        (request(Sec_WebSocket_Key="short=="), 400),
        (request(Sec_WebSocket_Key="dGhlIHNhbXBsZSBub25jZQ"), 400),
        (request(Sec_WebSocket_Key="dGhlIHNhbXBsZSBub25jZQ=x"), 400),
        (request(Sec_WebSocket_Key="dGhlIHNhbXBsZSBub25jZR=="), 400),
        (request(Sec_WebSocket_Key="dGhlIHNhbXBsZSBub25jZSBtb3Jl"), 400),
        (request("Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA=="), 400),
        (request("Sec-WebSocket-Protocol: bad token"), 400),
        (request("Sec-WebSocket-Extensions: permessage-deflate; ="), 400),
        (b"GET / HTTP/1.1\r\nHost example.com\r\n\r\n", 400),
        (b"GET / HTTP/1.1\nHost: example.com\n\n", 400),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400),
    ],
    ids=[
        "post",
        "head",
        "http-1.0",
        "no-host",
        "two-hosts",
        "no-upgrade",
        "upgrade-h2c",
        "no-connection",
        "connection-keep-alive",
        "no-key",
        "key-short",
        "key-unpadded",
        "key-bad-padding",
        "key-noncanonical",
        "key-too-long",
        "two-keys",
        "bad-protocol-header",
        "bad-extensions-header",
        "malformed-header",
        "bare-lf",
        "tls-hello",
    ],
)
@each_mode
def test_4_2_1_malformed_upgrades_are_400(kernels, mode, data, status):
    """§4.2.1: a request that is not a valid upgrade gets 400 Bad Request."""
    server = ServerConnection(_kernels=kernels)
    feed(server, data, mode)
    refused(server, status)


@pytest.mark.parametrize("version", ["8", "12", "14", "13, 8", None])
@each_mode
def test_4_2_2_other_versions_get_426(kernels, mode, version):
    """§4.2.2: an unsupported version gets 426 and Sec-WebSocket-Version: 13."""
    server = ServerConnection(_kernels=kernels)
    if version is None:
        data = request(drop=("Sec-WebSocket-Version",))
    else:
        data = request(Sec_WebSocket_Version=version)
    feed(server, data, mode)
    headers, _, _ = refused(server, 426)
    assert ("Sec-WebSocket-Version", "13") in headers
    assert ("Upgrade", "websocket") in headers


def test_invalid_http_error_is_the_cause(kernels):
    server = ServerConnection(_kernels=kernels)
    server.receive_data(b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n")
    _, _, error = refused(server, 400)
    assert isinstance(error.__cause__, InvalidHTTP)


# -- Origin policy ------------------------------------------------------------


@pytest.mark.parametrize(
    ("origins", "origin", "ok"),
    [
        (None, "https://evil.example", True),
        (None, None, True),
        (["https://good.example"], "https://good.example", True),
        (["https://good.example"], "https://evil.example", False),
        (["https://good.example"], None, False),
        (["https://good.example", None], None, True),
        ((), "https://good.example", False),
        (
            lambda origin: origin is not None and origin.endswith(".good.example"),
            "https://a.good.example",
            True,
        ),
        (
            lambda origin: origin is not None and origin.endswith(".good.example"),
            "https://good.example.evil",
            False,
        ),
    ],
)
@each_mode
def test_origin_policy(kernels, mode, origins, origin, ok):
    """§4.2.1 item 7 / §10.2: the server may refuse an Origin with 403."""
    server = ServerConnection(origins=origins, _kernels=kernels)
    extra = () if origin is None else (f"Origin: {origin}",)
    feed(server, request(*extra), mode)
    if ok:
        accepted(server)
    else:
        _, body, error = refused(server, 403)
        assert b"origin" in body


def test_origin_callable_that_raises_is_500(kernels):
    def policy(origin):
        raise RuntimeError("boom")

    server = ServerConnection(origins=policy, _kernels=kernels)
    server.receive_data(request("Origin: https://x"))
    _, _, error = refused(server, 500)
    assert isinstance(error.__cause__, RuntimeError)


def test_origins_must_not_be_a_string(kernels):
    with pytest.raises(TypeError):
        ServerConnection(origins="https://good.example", _kernels=kernels)


# -- subprotocols -------------------------------------------------------------


@pytest.mark.parametrize(
    ("server_list", "offered", "chosen"),
    [
        (["chat", "superchat"], "superchat, chat", "chat"),
        (["superchat", "chat"], "chat, superchat", "superchat"),
        (["chat"], "other", None),
        ([], "chat", None),
        (["chat"], None, None),
    ],
)
def test_subprotocol_selection(kernels, server_list, offered, chosen):
    """§4.2.2 item 5.4 / §1.9: the first of the server's list that the client offered."""
    server = ServerConnection(subprotocols=server_list, _kernels=kernels)
    extra = () if offered is None else (f"Sec-WebSocket-Protocol: {offered}",)
    server.receive_data(request(*extra))
    headers = accepted(server)
    values = [v for n, v in headers if n == "Sec-WebSocket-Protocol"]
    assert values == ([] if chosen is None else [chosen])
    assert server.subprotocol == chosen


def test_subprotocols_over_repeated_headers(kernels):
    server = ServerConnection(subprotocols=["b"], _kernels=kernels)
    server.receive_data(request("Sec-WebSocket-Protocol: a", "Sec-WebSocket-Protocol: b"))
    accepted(server)
    assert server.subprotocol == "b"
    assert server.events()[0].subprotocols == ["a", "b"]


def test_select_subprotocol_callable(kernels):
    seen = []

    def select(req):
        seen.append(req.subprotocols)
        return req.subprotocols[-1]

    server = ServerConnection(select_subprotocol=select, _kernels=kernels)
    server.receive_data(request("Sec-WebSocket-Protocol: a, b, c"))
    accepted(server)
    assert server.subprotocol == "c" and seen == [["a", "b", "c"]]


def test_select_subprotocol_returning_an_unoffered_one_is_500(kernels):
    server = ServerConnection(select_subprotocol=lambda req: "zzz", _kernels=kernels)
    server.receive_data(request("Sec-WebSocket-Protocol: a"))
    line, _, _ = response_of(server)
    assert line.startswith("HTTP/1.1 500 ")
    assert server.state is State.CLOSED
    assert isinstance(server.events()[-1].error.__cause__, ValueError)


# -- application hooks ----------------------------------------------------------


@each_mode
def test_process_request_can_reject(kernels, mode):
    """The application inspects the request and answers with anything."""

    def process(req):
        if req.header("Authorization") != "Bearer good":
            return Reject(401, [("WWW-Authenticate", "Bearer")], "who are you?")
        return None

    server = ServerConnection(process_request=process, _kernels=kernels)
    feed(server, request(), mode)
    line, headers, body = response_of(server)
    assert line == "HTTP/1.1 401 Unauthorized"
    assert ("WWW-Authenticate", "Bearer") in headers and body == b"who are you?"
    assert ("Content-Length", "12") in headers and ("Connection", "close") in headers
    assert server.state is State.CLOSED
    request_event, closed = server.events()
    assert isinstance(request_event, Request)
    assert closed == Closed(1006, "handshake rejected with HTTP 401")

    server = ServerConnection(process_request=process, _kernels=kernels)
    feed(server, request("Authorization: Bearer good"), mode)
    accepted(server)


def test_process_request_health_check(kernels):
    server = ServerConnection(
        process_request=lambda req: (
            Reject(200, [("Content-Type", "application/json")], b"{}")
            if req.target == "/health"
            else None
        ),
        _kernels=kernels,
    )
    server.receive_data(request(target="/health"))
    line, headers, body = response_of(server)
    assert line == "HTTP/1.1 200 OK" and body == b"{}"
    assert [v for n, v in headers if n == "Content-Type"] == ["application/json"]


def test_process_request_raising_is_500(kernels):
    def process(req):
        raise KeyError("bug")

    server = ServerConnection(process_request=process, _kernels=kernels)
    server.receive_data(request())
    line, _, body = response_of(server)
    assert line.startswith("HTTP/1.1 500 ")
    assert server.state is State.CLOSED
    events = server.events()
    assert isinstance(events[-1].error.__cause__, KeyError)


@each_mode
def test_manual_accept(kernels, mode):
    """auto_accept=False: the Request event, then accept() when the application
    decides; frames sent early by the client are kept for after the 101."""
    server = ServerConnection(auto_accept=False, subprotocols=["x"], _kernels=kernels)
    client = ClientConnection("ws://h/", subprotocols=["y", "x"], _kernels=kernels)
    feed(server, client.data_to_send(), mode)
    (event,) = server.events()
    assert isinstance(event, Request) and server.state is State.CONNECTING
    assert server.data_to_send() == b""
    with pytest.raises(InvalidState):
        server.send_text("too early")
    early = kernels.frames.build_frame(1, b"early", mask=b"abcd")
    feed(server, early, mode)
    assert server.events() == []
    server.accept(subprotocol="y", extra_headers=[("X-Session", "42")])
    assert server.state is State.OPEN
    assert server.events() == [Text("early")]
    client.receive_data(server.data_to_send())
    response = client.events()[0]
    assert response.subprotocol == "y" and response.header("X-Session") == "42"
    with pytest.raises(InvalidState):
        server.accept()
    with pytest.raises(InvalidState):
        server.reject(400)


def test_manual_accept_default_selection_and_bad_subprotocol(kernels):
    server = ServerConnection(auto_accept=False, subprotocols=["x"], _kernels=kernels)
    server.receive_data(request("Sec-WebSocket-Protocol: y, x"))
    with pytest.raises(ValueError):
        server.accept(subprotocol="z")
    server.accept()
    assert server.subprotocol == "x"


def test_manual_reject(kernels):
    server = ServerConnection(auto_accept=False, _kernels=kernels)
    server.receive_data(request())
    server.events()
    with pytest.raises(ValueError):
        server.reject(101)
    with pytest.raises(ValueError):
        server.reject(600)
    with pytest.raises(ValueError):
        server.reject(403, [("X", "a\nb")])
    server.reject(403, body=b"\xffbinary")
    line, headers, body = response_of(server)
    assert line == "HTTP/1.1 403 Forbidden" and body == b"\xffbinary"
    assert not any(n == "Content-Type" for n, _ in headers)
    assert server.events() == [Closed(1006, "handshake rejected with HTTP 403")]
    assert server.error is None


def test_manual_mode_eof_before_answer(kernels):
    server = ServerConnection(auto_accept=False, _kernels=kernels)
    server.receive_data(request())
    server.events()
    server.receive_eof()
    (event,) = server.events()
    assert isinstance(event.error, InvalidHandshake)
    with pytest.raises(InvalidState):
        server.accept()


def test_extra_headers_on_every_response(kernels):
    server = ServerConnection(
        extra_headers=[("Server", "fastws"), ("X-A", "1"), ("X-A", "2")], _kernels=kernels
    )
    server.receive_data(request())
    headers = accepted(server)
    assert headers[-3:] == [("Server", "fastws"), ("X-A", "1"), ("X-A", "2")]
    server = ServerConnection(extra_headers=[("Server", "fastws")], _kernels=kernels)
    server.receive_data(request(method="PUT"))
    headers, _, _ = refused(server, 400)
    assert ("Server", "fastws") in headers
    with pytest.raises(ValueError):
        ServerConnection(extra_headers=[("X", "a\r\nb")], _kernels=kernels)


def test_eof_before_the_request(kernels):
    server = ServerConnection(_kernels=kernels)
    server.receive_data(b"GET / HTTP/1.1\r\nHost: x\r\n")
    server.receive_eof()
    (event,) = server.events()
    assert isinstance(event, Closed) and isinstance(event.error, InvalidHandshake)
    assert server.data_to_send() == b""
    assert server.state is State.CLOSED


@each_mode
def test_pipelined_frames_after_the_request(kernels, mode):
    """Frames right behind the request head (same chunk) are read after the 101."""
    server = ServerConnection(_kernels=kernels)
    data = request() + kernels.frames.build_frame(2, b"\x01\x02", mask=b"\x00\x01\x02\x03")
    feed(server, data, mode)
    events = server.events()
    assert isinstance(events[0], Request)
    assert [e.data for e in events[1:]] == [b"\x01\x02"]


def test_manual_mode_bounds_data_sent_before_the_answer(kernels):
    """A client that pipelines more than a head and a frame before the 101 is refused."""
    server = ServerConnection(auto_accept=False, max_message_size=1000, _kernels=kernels)
    server.receive_data(request())
    server.events()
    server.receive_data(b"\x82\xfe" + b"x" * 1000)
    assert server.state is State.CONNECTING
    server.receive_data(b"x" * 20000)
    refused(server, 400)
