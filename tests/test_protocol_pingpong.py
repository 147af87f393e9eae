"""Conformance, ping and pong (Autobahn category 2, RFC 6455 §5.5.2, §5.5.3)."""

from __future__ import annotations

import pytest
from protocol_helpers import OP_PING, OP_PONG, Endpoint, Pair, each_mode, each_role

from fastws.events import Ping, Pong, Text
from fastws.exceptions import InvalidState
from fastws.protocol import State


@pytest.mark.parametrize(
    "payload",
    [b"", b"Hello, world!", bytes([0x00, 0xFF, 0xFE, 0xFD, 0xFC, 0xFB, 0x00, 0xFF]), b"\xfe" * 125],
    ids=["2.1-empty", "2.2-text", "2.3-binary", "2.4-125-bytes"],
)
@each_role
@each_mode
def test_2_ping_is_answered_with_the_same_payload(kernels, role, mode, payload):
    """§5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame
    in response ... [with] identical Application data"; the ping is reported."""
    ep = Endpoint(kernels, role, mode)
    ep.send(ep.frame(OP_PING, payload))
    assert ep.events() == [Ping(payload)]
    sent = ep.sent()
    assert [(f.opcode, f.payload, f.fin) for f in sent] == [(OP_PONG, payload, True)]


@each_role
@each_mode
def test_2_5_ping_with_126_bytes_fails(kernels, role, mode):
    """§5.5: control frames have a payload of at most 125 bytes: 1002."""
    ep = Endpoint(kernels, role, mode)
    ep.send(ep.frame(OP_PING, b"\xfe" * 126))
    ep.expect_failure(1002)


@pytest.mark.parametrize("payload", [b"", b"unsolicited pong payload"], ids=["2.7", "2.8"])
@each_role
@each_mode
def test_2_7_unsolicited_pong_is_accepted(kernels, role, mode, payload):
    """§5.5.3: "A Pong frame MAY be sent unsolicited ... A response is not expected."""
    ep = Endpoint(kernels, role, mode)
    ep.send(ep.frame(OP_PONG, payload))
    assert ep.events() == [Pong(payload)]
    assert ep.sent() == []
    assert ep.conn.state is State.OPEN


@each_role
@each_mode
def test_2_9_unsolicited_pong_then_ping(kernels, role, mode):
    """§5.5.3: an unsolicited pong does not disturb the answer to a later ping."""
    ep = Endpoint(kernels, role, mode)
    ep.send(ep.frame(OP_PONG, b"unsolicited"), ep.frame(OP_PING, b"ping"))
    assert ep.events() == [Pong(b"unsolicited"), Ping(b"ping")]
    assert [(f.opcode, f.payload) for f in ep.sent()] == [(OP_PONG, b"ping")]


@each_role
@each_mode
def test_2_10_ten_pings_ten_pongs_in_order(kernels, role, mode):
    """§5.5.2: every ping is answered, in order (Autobahn 2.10/2.11)."""
    ep = Endpoint(kernels, role, mode)
    ep.send(*(ep.frame(OP_PING, f"payload-{i}".encode()) for i in range(10)))
    assert ep.events() == [Ping(f"payload-{i}".encode()) for i in range(10)]
    assert [f.payload for f in ep.sent()] == [f"payload-{i}".encode() for i in range(10)]


@each_role
@each_mode
def test_ping_after_our_close_is_not_answered(kernels, role, mode):
    """§5.5.1: after sending a close frame we send nothing more; a ping that
    crosses our close is reported but not answered."""
    ep = Endpoint(kernels, role, mode)
    ep.conn.close(1000)
    assert ep.sent_close() == (1000, "")
    ep.send(ep.frame(OP_PING, b"late"))
    assert ep.events() == [Ping(b"late")]
    assert ep.sent() == []


@each_mode
def test_ping_pong_between_two_connections(kernels, mode):
    """A ping from either side comes back as a pong with the same payload."""
    pair = Pair(kernels, mode)
    pair.client.send_ping(b"from client")
    pair.client.send_pong(b"heartbeat")
    pair.server.send_ping("from server")
    pair.flush()
    assert pair.server.events() == [Ping(b"from client"), Pong(b"heartbeat"), Pong(b"from server")]
    assert pair.client.events() == [Ping(b"from server"), Pong(b"from client")]


@each_role
def test_send_ping_limits_and_states(kernels, role):
    """§5.5: at most 125 bytes (ValueError); nothing after our close (InvalidState)."""
    pair = Pair(kernels)
    conn = pair.client if role == "client" else pair.server
    conn.send_ping(b"x" * 125)
    conn.send_pong(bytearray(b"y" * 125))
    with pytest.raises(ValueError):
        conn.send_ping(b"x" * 126)
    with pytest.raises(ValueError):
        conn.send_pong("é" * 63)
    conn.close()
    with pytest.raises(InvalidState):
        conn.send_ping()
    with pytest.raises(InvalidState):
        conn.send_pong()
    pair.flush()
    other = pair.server if role == "client" else pair.client
    assert other.events()[:2] == [Ping(b"x" * 125), Pong(b"y" * 125)]


@each_role
@each_mode
def test_ping_interleaved_with_messages(kernels, role, mode):
    """Control frames and data frames keep their relative order."""
    ep = Endpoint(kernels, role, mode)
    ep.send(ep.text("a"), ep.frame(OP_PING, b"1"), ep.text("b"), ep.frame(OP_PONG, b"2"))
    assert ep.events() == [Text("a"), Ping(b"1"), Text("b"), Pong(b"2")]
