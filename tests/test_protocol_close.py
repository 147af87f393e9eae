"""Conformance, close handling (Autobahn category 7, RFC 6455 §5.5.1, §7)."""

from __future__ import annotations

import pytest
from protocol_helpers import (
    OP_CLOSE,
    OP_CONT,
    OP_PING,
    Endpoint,
    Pair,
    each_mode,
    each_role,
    make_pair,
)

from fastws.client import ClientConnection
from fastws.events import Binary, Close, Closed, Text
from fastws.exceptions import InvalidState
from fastws.protocol import State

VALID_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014]
VALID_CODES += [3000, 3999, 4000, 4999]
INVALID_CODES = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]


@each_role
@each_mode
def test_7_1_1_message_then_close(kernels, role, mode):
    """§5.5.1: a close after a message: the message, then the echo."""
    ep = Endpoint(kernels, role, mode)
    ep.send(ep.text("Hello World!"), ep.close_frame(1000))
    ep.expect_clean_close(1000, "", [Text("Hello World!")])


@pytest.mark.parametrize(
    "after",
    ["7.1.2-close", "7.1.3-ping", "7.1.4-text", "7.1.5-continuation"],
)
@each_role
@each_mode
def test_7_1_nothing_counts_after_a_close(kernels, role, mode, after):
    """§5.5.1: "after sending a Close frame, the endpoint MUST NOT send any more
    data frames"; what the peer sends after its close is ignored (no second
    echo, no pong, no message)."""
    ep = Endpoint(kernels, role, mode)
    frames = [ep.close_frame(1000)]
    if after.endswith("close"):
        frames.append(ep.close_frame(1001))
    elif after.endswith("ping"):
        frames.append(ep.frame(OP_PING, b"ping"))
    elif after.endswith("text"):
        frames.append(ep.text("text"))
    else:
        frames.insert(0, ep.text("fragment1", fin=False))
        frames.append(ep.frame(OP_CONT, b"fragment2"))
    ep.send(*frames)
    ep.expect_clean_close(1000)


@each_role
@each_mode
def test_7_1_6_large_message_then_close(kernels, role, mode):
    """§5.5.1: the close is processed after the (large) message before it."""
    ep = Endpoint(kernels, role, mode)
    ep.send(ep.binary(b"BAsd7&jh23" * 26_000), ep.close_frame(1000))
    ep.expect_clean_close(1000, "", [Binary(b"BAsd7&jh23" * 26_000)])


@each_role
@each_mode
def test_7_3_1_close_without_payload(kernels, role, mode):
    """§5.5.1/§7.4.1: no status code = 1005; the echo carries none either."""
    ep = Endpoint(kernels, role, mode)
    ep.send(ep.frame(OP_CLOSE, b""))
    events = ep.events()
    frames = ep.sent()
    assert [(f.opcode, f.payload) for f in frames] == [(OP_CLOSE, b"")]
    assert events[0] == Close(1005, "")
    if role == "client":
        ep.conn.receive_eof()
        events += ep.events()
    assert events == [Close(1005, ""), Closed(1005, "")]


@each_role
@each_mode
def test_7_3_2_close_with_one_byte_payload(kernels, role, mode):
    """§5.5.1: a body must start with a 2-byte code: 1 byte is a 1002."""
    ep = Endpoint(kernels, role, mode)
    ep.send(ep.frame(OP_CLOSE, b"\x03"))
    ep.expect_failure(1002)


@pytest.mark.parametrize(
    "reason",
    ["", "Hello World!", "*" * 123, "é" * 61 + "x"],
    ids=["7.3.3-code-only", "7.3.4-reason", "7.3.5-123-bytes", "123-bytes-utf8"],
)
@each_role
@each_mode
def test_7_3_close_with_reason(kernels, role, mode, reason):
    """§5.5.1: code and UTF-8 reason are reported; the echo repeats the code."""
    ep = Endpoint(kernels, role, mode)
    ep.send(ep.close_frame(1000, reason))
    ep.expect_clean_close(1000, reason)


@each_role
@each_mode
def test_7_3_6_close_with_124_byte_reason(kernels, role, mode):
    """§5.5: 2 + 124 bytes exceed the 125-byte limit of a control frame: 1002."""
    ep = Endpoint(kernels, role, mode)
    ep.send(ep.frame(OP_CLOSE, b"\x03\xe8" + b"*" * 124))
    ep.expect_failure(1002)


@each_role
@each_mode
def test_7_5_1_close_reason_invalid_utf8(kernels, role, mode):
    """§5.5.1: the reason is UTF-8; invalid data is a 1007 (§7.4.1)."""
    ep = Endpoint(kernels, role, mode)
    ep.send(
        ep.frame(
            OP_CLOSE, b"\x03\xe8" + b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"
        )
    )
    ep.expect_failure(1007)


@pytest.mark.parametrize("code", VALID_CODES)
@each_role
@each_mode
def test_7_7_valid_close_codes_are_echoed(kernels, role, mode, code):
    """§7.4.1/§7.4.2: defined and registrable codes are accepted and echoed."""
    ep = Endpoint(kernels, role, mode)
    ep.send(ep.close_frame(code, "reason"))
    ep.expect_clean_close(code, "reason")


@pytest.mark.parametrize("code", INVALID_CODES)
@each_role
@each_mode
def test_7_9_invalid_close_codes(kernels, role, mode, code):
    """§7.4: codes that must not appear on the wire (1004-1006, 1015, 0-999,
    unassigned 1016-2999, 5000+) fail the connection with 1002 (7.9, 7.13)."""
    ep = Endpoint(kernels, role, mode)
    ep.send(ep.frame(OP_CLOSE, code.to_bytes(2, "big") + b"reason"))
    ep.expect_failure(1002)


# -- our side closes ---------------------------------------------------------


@pytest.mark.parametrize("initiator", ["client", "server"])
@each_mode
def test_closing_handshake_both_ways(kernels, mode, initiator):
    """§7.1.2-§7.1.4: the initiator's close is echoed with the same code; the
    server becomes CLOSED after both closes (it closes TCP first, §7.1.1); the
    client stays CLOSING until the transport ends."""
    pair = Pair(kernels, mode)
    client, server = pair.client, pair.server
    first = client if initiator == "client" else server
    first.close(4001, "done")
    assert first.state is State.CLOSING
    assert first.close_expected()
    pair.flush()
    assert server.state is State.CLOSED
    assert client.state is State.CLOSING and client.close_expected()
    client.receive_eof()
    assert client.state is State.CLOSED
    if initiator == "client":
        assert server.events() == [Close(4001, "done"), Closed(4001, "done")]
        assert client.events() == [Close(4001, ""), Closed(4001, "")]
        assert client.close_sent == server.close_received == (4001, "done")
        assert server.close_sent == client.close_received == (4001, "")
    else:
        assert client.events() == [Close(4001, "done"), Closed(4001, "done")]
        assert server.events() == [Close(4001, ""), Closed(4001, "")]
        assert server.close_sent == client.close_received == (4001, "done")
        assert client.close_sent == server.close_received == (4001, "")


@each_mode
def test_close_events_exactly(kernels, mode):
    pair = Pair(kernels, mode)
    pair.client.close(1000, "bye")
    pair.flush()
    assert pair.server.events() == [Close(1000, "bye"), Closed(1000, "bye")]
    assert pair.client.events() == [Close(1000, "")]
    pair.client.receive_eof()
    assert pair.client.events() == [Closed(1000, "")]


@each_role
def test_close_without_code(kernels, role):
    """close(None) sends an empty close frame; the peer sees 1005 (§7.1.5)."""
    pair = Pair(kernels)
    conn, other = (pair.client, pair.server) if role == "client" else (pair.server, pair.client)
    conn.close(None)
    pair.flush()
    assert other.events()[0] == Close(1005, "")
    assert conn.close_sent == (1005, "")


@each_role
def test_close_arguments_are_checked(kernels, role):
    """§7.4: close() refuses codes not allowed on the wire and long reasons."""
    pair = Pair(kernels)
    conn = pair.client if role == "client" else pair.server
    for code in (1005, 1006, 1015, 999, 5000):
        with pytest.raises(ValueError):
            conn.close(code)
    with pytest.raises(ValueError):
        conn.close(1000, "x" * 124)
    assert conn.state is State.OPEN
    assert conn.data_to_send() == b""


@each_role
def test_close_is_idempotent_and_blocks_sending(kernels, role):
    """§5.5.1: after our close no data or control frame is sent; close() again
    does nothing."""
    pair = Pair(kernels)
    conn = pair.client if role == "client" else pair.server
    conn.close()
    data = conn.data_to_send()
    conn.close(1001)
    assert conn.data_to_send() == b""
    for send in (lambda: conn.send_text("x"), lambda: conn.send_binary(b"x"), conn.send_ping):
        with pytest.raises(InvalidState):
            send()
    assert data


@each_role
@each_mode
def test_messages_received_while_closing_are_delivered(kernels, role, mode):
    """§7.1.2: after we sent our close, the peer's messages sent before its
    echo still arrive."""
    ep = Endpoint(kernels, role, mode)
    ep.conn.close(1000)
    assert ep.sent_close() == (1000, "")
    ep.send(ep.text("late"), ep.binary(b"later"), ep.close_frame(1000))
    events = ep.events()
    assert events[:3] == [Text("late"), Binary(b"later"), Close(1000, "")]
    assert ep.sent() == []  # no second close


@pytest.mark.parametrize("when", ["open", "closing", "fragment"])
@each_role
@each_mode
def test_abrupt_eof_is_1006(kernels, role, mode, when):
    """§7.1.5: a connection that ends without a close frame is 1006; nothing is
    invented on the wire."""
    ep = Endpoint(kernels, role, mode)
    if when == "closing":
        ep.conn.close(1000)
        ep.sent()
    elif when == "fragment":
        ep.send(ep.text("partial", fin=False), ep.binary(b"\x00\x01\x02")[:3])
    ep.conn.receive_eof()
    assert ep.events() == [Closed(1006, "")]
    assert ep.conn.state is State.CLOSED
    assert ep.conn.data_to_send() == b""
    assert ep.conn.error is None
    ep.conn.receive_eof()
    ep.conn.receive_data(ep.text("after"))
    assert ep.events() == []


def test_close_before_open_is_refused(kernels):
    client = ClientConnection("ws://example.com", _kernels=kernels)
    with pytest.raises(InvalidState):
        client.close()
    with pytest.raises(InvalidState):
        client.send_text("too early")


def test_state_sequence(kernels):
    """The four states of §4/§7 in order, on both sides."""
    client, server = make_pair(kernels)
    assert client.state is server.state is State.OPEN
    client.close()
    assert client.state is State.CLOSING
    server.receive_data(client.data_to_send())
    assert server.state is State.CLOSED
    client.receive_data(server.data_to_send())
    assert client.state is State.CLOSING
    client.receive_eof()
    assert client.state is State.CLOSED
    assert [s.name for s in State] == ["CONNECTING", "OPEN", "CLOSING", "CLOSED"]
