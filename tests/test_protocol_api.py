"""The sans-IO API itself: events, sending arguments, states, internal errors."""

from __future__ import annotations

import pickle

import pytest
from protocol_helpers import OP_TEXT, Endpoint, Pair, each_role, make_pair

from fastws import _backend
from fastws.client import ClientConnection
from fastws.events import Binary, Close, Closed, Ping, Pong, Request, Response, Text
from fastws.exceptions import FastWSError, InvalidState, ProtocolError
from fastws.protocol import State
from fastws.server import Reject, ServerConnection

EVENTS = [
    Request("/", [("Host", "x")], ["chat"], [("permessage-deflate", [])]),
    Response(101, [("Upgrade", "websocket")], "chat", []),
    Text("é"),
    Text("partial", False),
    Binary(b"\x00"),
    Ping(b"p"),
    Pong(),
    Close(1000, "bye"),
    Closed(1006, ""),
    Closed(1002, "bad", ProtocolError("bad", 1002)),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_events_are_values(event):
    """Events compare by value, have a readable repr, pickle, and are slotted."""
    assert event == pickle.loads(pickle.dumps(event))
    assert repr(event).startswith(type(event).__name__ + "(")
    assert not hasattr(event, "__dict__")
    assert event != object()
    with pytest.raises(TypeError):
        hash(event)


def test_event_details():
    assert Text("a") != Text("a", False)
    assert Text("a") != Binary(b"a")
    assert Text("a").fin is True
    assert Ping().data == b""
    assert Closed(1000) == Closed(1000, "")
    assert Closed(1002, "x", ProtocolError("x")) != Closed(1002, "x", None)
    request = EVENTS[0]
    assert request.header("HOST") == "x" and request.header("missing") is None
    assert Text.__match_args__ == ("data", "fin")  # case Text(data, fin): ...
    assert Close.__match_args__ == ("code", "reason")


def test_default_kernels_are_the_active_backend():
    client = ClientConnection("ws://h/")
    server = ServerConnection()
    assert client._k is server._k is _backend.KERNELS


def test_is_client_and_initial_state(kernels):
    client = ClientConnection("ws://h/", _kernels=kernels)
    server = ServerConnection(_kernels=kernels)
    assert client.is_client and not server.is_client
    assert client.state is server.state is State.CONNECTING
    assert server.data_to_send() == b"" and server.events() == []
    assert client.deflate is None and client.error is None and client.subprotocol is None
    assert not client.close_expected()


def test_events_returns_a_new_list_each_time(kernels):
    client, server = make_pair(kernels)
    client.send_text("a")
    server.receive_data(client.data_to_send())
    first = server.events()
    second = server.events()
    assert first == [Text("a")] and second == [] and first is not second


def test_data_to_send_joins_everything_queued(kernels):
    client, server = make_pair(kernels)
    server.send_text("a")
    server.send_binary(b"b")
    server.send_ping()
    data = server.data_to_send()
    assert server.data_to_send() == b""
    client.receive_data(data)
    assert client.events() == [Text("a"), Binary(b"b"), Ping(b"")]


@each_role
def test_send_argument_types(kernels, role):
    pair = Pair(kernels)
    conn = pair.client if role == "client" else pair.server
    with pytest.raises(TypeError):
        conn.send_binary("not bytes")
    with pytest.raises(TypeError):
        conn.send_binary(12)
    with pytest.raises(TypeError):
        conn.send_text(12)
    with pytest.raises(UnicodeEncodeError):
        conn.send_text("\ud800")
    assert conn.state is State.OPEN
    conn.send_binary(memoryview(b"abcdef")[::2].tobytes())
    pair.flush()


def test_sending_before_open_is_invalid_state(kernels):
    client = ClientConnection("ws://h/", _kernels=kernels)
    for call in (
        lambda: client.send_text("x"),
        lambda: client.send_binary(b"x"),
        client.send_ping,
        client.send_pong,
        client.close,
    ):
        with pytest.raises(InvalidState):
            call()
    assert issubclass(InvalidState, FastWSError) and issubclass(InvalidState, RuntimeError)


@each_role
def test_internal_error_fails_with_1011(kernels, role):
    """§7.4.1 (1011): an unexpected exception while processing a frame fails the
    connection with 1011 instead of escaping receive_data; its cause is kept."""
    ep = Endpoint(kernels, role, "whole", streaming=True)

    class Broken:
        def reset(self):
            pass

        def feed(self, data):
            raise RuntimeError("validator exploded")

    ep.conn._validator = Broken()
    ep.send(ep.text("ok"), ep.frame(OP_TEXT, b"frag", fin=False))
    error = ep.expect_failure(1011, [Text("ok")])
    assert isinstance(error.__cause__, RuntimeError)


def test_reject_repr_and_hook_that_answers_itself(kernels):
    assert repr(Reject(401, [], "x")) == "Reject(status=401, headers=[], body='x')"

    def hook(request):
        server.accept(subprotocol=None)
        return None

    server = ServerConnection(process_request=hook, _kernels=kernels)
    client = ClientConnection("ws://h/", _kernels=kernels)
    server.receive_data(client.data_to_send())
    assert server.state is State.OPEN
    client.receive_data(server.data_to_send())
    assert client.state is State.OPEN
