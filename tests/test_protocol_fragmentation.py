"""Conformance, fragmentation (Autobahn category 5, RFC 6455 §5.4, §5.5)."""

from __future__ import annotations

import pytest
from protocol_helpers import (
    OP_BINARY,
    OP_CONT,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    Endpoint,
    Pair,
    each_mode,
    each_role,
)

from fastws.events import Binary, Close, Ping, Text
from fastws.exceptions import InvalidState
from fastws.protocol import State


@pytest.mark.parametrize("opcode", [OP_PING, OP_PONG], ids=["5.1-ping", "5.2-pong"])
@each_role
@each_mode
def test_5_1_fragmented_control_frame_fails(kernels, role, mode, opcode):
    """§5.5: "Control frames MUST NOT be fragmented": 1002."""
    ep = Endpoint(kernels, role, mode)
    ep.send(ep.frame(opcode, b"fragment1", fin=False), ep.frame(OP_CONT, b"fragment2"))
    ep.expect_failure(1002)


@each_role
@each_mode
def test_5_3_text_in_two_fragments(kernels, role, mode):
    """§5.4: a message in two frames is delivered whole (Autobahn 5.3-5.5)."""
    ep = Endpoint(kernels, role, mode)
    ep.send(ep.text("fragment1", fin=False), ep.frame(OP_CONT, b"fragment2"))
    assert ep.events() == [Text("fragment1fragment2")]
    assert ep.sent() == []


@each_role
@each_mode
def test_5_6_ping_between_fragments(kernels, role, mode):
    """§5.4: "Control frames MAY be injected in the middle of a fragmented
    message"; the pong goes out at once (Autobahn 5.6-5.8)."""
    ep = Endpoint(kernels, role, mode)
    ep.send(ep.text("fragment1", fin=False), ep.frame(OP_PING, b"ping payload"))
    assert ep.events() == [Ping(b"ping payload")]
    assert [(f.opcode, f.payload) for f in ep.sent()] == [(OP_PONG, b"ping payload")]
    ep.send(ep.frame(OP_CONT, b"fragment2"))
    assert ep.events() == [Text("fragment1fragment2")]


@pytest.mark.parametrize("fin", [True, False], ids=["5.9-fin", "5.10-nofin"])
@each_role
@each_mode
def test_5_9_continuation_without_a_message(kernels, role, mode, fin):
    """§5.4: a continuation frame with nothing to continue: 1002; the message
    after it is not delivered (§7.1.7)."""
    ep = Endpoint(kernels, role, mode)
    ep.send(ep.frame(OP_CONT, b"non-continuation payload", fin=fin), ep.text("Hello, world!"))
    ep.expect_failure(1002)


@each_role
@each_mode
def test_5_15_continuation_after_a_finished_message(kernels, role, mode):
    """§5.4: once FIN ended a message, a continuation is out of place (Autobahn 5.15)."""
    ep = Endpoint(kernels, role, mode)
    ep.send(
        ep.text("fragment1", fin=False),
        ep.frame(OP_CONT, b"fragment2"),
        ep.frame(OP_CONT, b"fragment3", fin=False),
        ep.text("fragment4"),
    )
    ep.expect_failure(1002, [Text("fragment1fragment2")])


@pytest.mark.parametrize("second", [OP_TEXT, OP_BINARY])
@pytest.mark.parametrize("second_fin", [True, False])
@each_role
@each_mode
def test_5_18_new_data_frame_inside_a_fragmented_message(kernels, role, mode, second, second_fin):
    """§5.4: fragments of one message are not interleaved with another: 1002."""
    ep = Endpoint(kernels, role, mode)
    ep.send(ep.text("fragment1", fin=False), ep.frame(second, b"fragment2", fin=second_fin))
    ep.expect_failure(1002)


@each_role
@each_mode
def test_5_19_pings_between_many_fragments(kernels, role, mode):
    """§5.4: five fragments with two pings in between (Autobahn 5.19/5.20)."""
    ep = Endpoint(kernels, role, mode)
    ep.send(
        ep.text("fragment1", fin=False),
        ep.frame(OP_CONT, b"fragment2", fin=False),
        ep.frame(OP_PING, b"pongme 1!"),
        ep.frame(OP_CONT, b"fragment3", fin=False),
        ep.frame(OP_PING, b"pongme 2!"),
        ep.frame(OP_CONT, b"fragment4", fin=False),
        ep.frame(OP_CONT, b"fragment5"),
    )
    assert ep.events() == [
        Ping(b"pongme 1!"),
        Ping(b"pongme 2!"),
        Text("fragment1fragment2fragment3fragment4fragment5"),
    ]
    assert [f.payload for f in ep.sent()] == [b"pongme 1!", b"pongme 2!"]


@each_role
@each_mode
def test_fragmented_binary_with_empty_fragments(kernels, role, mode):
    """§5.4: fragments may be empty, even the first and the last."""
    ep = Endpoint(kernels, role, mode)
    ep.send(
        ep.binary(b"", fin=False),
        ep.frame(OP_CONT, b"\x00\x01", fin=False),
        ep.frame(OP_CONT, b"", fin=False),
        ep.frame(OP_CONT, b"\x02"),
        ep.binary(b"", fin=False),
        ep.frame(OP_CONT, b""),
    )
    assert ep.events() == [Binary(b"\x00\x01\x02"), Binary(b"")]


@each_role
@each_mode
def test_many_fragments(kernels, role, mode):
    """§5.4: a message of 200 fragments."""
    ep = Endpoint(kernels, role, mode)
    frames = [ep.binary(b"\x00", fin=False)]
    frames += [ep.frame(OP_CONT, bytes([i]), fin=False) for i in range(1, 199)]
    frames.append(ep.frame(OP_CONT, b"\xc7"))
    ep.send(*frames)
    assert ep.events() == [Binary(bytes(range(200)))]


@each_role
@each_mode
def test_close_in_the_middle_of_a_fragmented_message(kernels, role, mode):
    """§5.4/§5.5.1: a close between fragments is a clean close; the unfinished
    message is dropped."""
    ep = Endpoint(kernels, role, mode)
    ep.send(ep.text("unfinished", fin=False), ep.close_frame(1000, "bye"))
    ep.expect_clean_close(1000, "bye")


@each_role
@each_mode
def test_streaming_mode_delivers_each_fragment(kernels, role, mode):
    """Streaming: one event per frame, ``fin`` marks the last; a code point
    split across frames is delivered with the frame that completes it."""
    ep = Endpoint(kernels, role, mode, streaming=True)
    snowman = "☃".encode()  # 3 bytes
    ep.send(
        ep.text(b"ab" + snowman[:1], fin=False),
        ep.frame(OP_PING, b"p"),
        ep.frame(OP_CONT, snowman[1:2], fin=False),
        ep.frame(OP_CONT, snowman[2:] + b"cd", fin=False),
        ep.frame(OP_CONT, b"", fin=True),
        ep.text("whole"),
        ep.binary(b"\x01", fin=False),
        ep.frame(OP_CONT, b"\x02"),
    )
    assert ep.events() == [
        Text("ab", fin=False),
        Ping(b"p"),
        Text("", fin=False),
        Text("☃cd", fin=False),
        Text("", fin=True),
        Text("whole"),
        Binary(b"\x01", fin=False),
        Binary(b"\x02", fin=True),
    ]


@each_role
@each_mode
def test_streaming_mode_incomplete_code_point_at_the_end(kernels, role, mode):
    """§8.1: a text message ending inside a code point is invalid (1007), in
    streaming mode too."""
    ep = Endpoint(kernels, role, mode, streaming=True)
    ep.send(ep.text(b"ok\xe2\x98", fin=False), ep.frame(OP_CONT, b""))
    ep.expect_failure(1007, [Text("ok", fin=False)])


@each_mode
def test_sending_fragments(kernels, mode):
    """§5.4: send_text/send_binary with fin=False start a fragmented message;
    the frames are TEXT/BINARY then CONTINUATION, FIN on the last; control
    frames may be sent in between."""
    pair = Pair(kernels, mode)
    client = pair.client
    client.send_text("Hel", fin=False)
    client.send_ping(b"in between")
    client.send_text("lo ", fin=False)
    client.send_text("wörld")
    client.send_binary(b"\x00", fin=False)
    client.send_binary(b"\x01")
    data = client.data_to_send()
    parser = kernels.frames.FrameParser(mask_expected=True)
    frames = [(f.opcode, f.fin, f.payload) for f in parser.feed(data)]
    assert frames == [
        (OP_TEXT, False, b"Hel"),
        (OP_PING, True, b"in between"),
        (OP_CONT, False, b"lo "),
        (OP_CONT, True, "wörld".encode()),
        (OP_BINARY, False, b"\x00"),
        (OP_CONT, True, b"\x01"),
    ]
    pair.server.receive_data(data)
    assert pair.server.events() == [Ping(b"in between"), Text("Hello wörld"), Binary(b"\x00\x01")]


@each_role
def test_sending_fragments_misuse(kernels, role):
    """A fragmented message must be finished before another data message."""
    pair = Pair(kernels)
    conn = pair.client if role == "client" else pair.server
    conn.send_text("a", fin=False)
    with pytest.raises(InvalidState):
        conn.send_binary(b"b")
    conn.send_text("b")
    conn.send_binary(b"c", fin=False)
    with pytest.raises(InvalidState):
        conn.send_text("d")
    conn.send_binary(b"d")
    pair.flush()
    other = pair.server if role == "client" else pair.client
    assert other.events() == [Text("ab"), Binary(b"cd")]


@each_role
def test_close_while_sending_fragments(kernels, role):
    """Closing in the middle of our fragmented message is allowed (§5.5.1)."""
    pair = Pair(kernels)
    conn = pair.client if role == "client" else pair.server
    other = pair.server if role == "client" else pair.client
    conn.send_text("partial", fin=False)
    conn.close(1001, "going away")
    pair.flush()
    assert other.events()[0] == Close(1001, "going away")
    assert conn.state in (State.CLOSING, State.CLOSED)
