"""Conformance, limits (Autobahn category 9 sizes; RFC 6455 §10.4, §7.4.1 code 1009).

``max_message_size`` (default 1 MiB, like the websockets library) bounds a
message after reassembly (and decompression); ``max_frame_size`` (default: the
same) bounds one frame and is enforced from its header, before the payload is
buffered. The opening handshake's head is bounded by ``max_head_size`` and
``max_headers`` (431 on a server).
"""

from __future__ import annotations

import pytest
from protocol_helpers import OP_CONT, Endpoint, Pair, each_mode, each_role, feed

from fastws.client import ClientConnection
from fastws.events import Binary, Closed, Text
from fastws.exceptions import InvalidHandshake
from fastws.protocol import DEFAULT_MAX_MESSAGE_SIZE, State
from fastws.server import ServerConnection

MiB = 1 << 20


@each_role
def test_default_limit_is_one_mebibyte(kernels, role):
    """The default accepts exactly 1 MiB and fails one byte more with 1009."""
    assert MiB == DEFAULT_MAX_MESSAGE_SIZE
    ep = Endpoint(kernels, role, "whole")
    assert ep.conn.max_message_size == ep.conn.max_frame_size == MiB
    ep.send(ep.binary(b"\x00" * MiB))
    assert ep.events() == [Binary(b"\x00" * MiB)]
    ep.send(ep.binary(b"\x00" * (MiB + 1)))
    ep.expect_failure(1009)


@pytest.mark.parametrize("streaming", [False, True])
@each_role
@each_mode
def test_message_limit_across_fragments(kernels, role, mode, streaming):
    """§10.4: the reassembled size counts; the failure comes with the fragment
    that crosses the limit, before the message ends."""
    ep = Endpoint(kernels, role, mode, max_message_size=100, streaming=streaming)
    ep.send(ep.binary(b"a" * 50, fin=False), ep.frame(OP_CONT, b"b" * 50))
    expected = (
        [Binary(b"a" * 50, False), Binary(b"b" * 50)]
        if streaming
        else [Binary(b"a" * 50 + b"b" * 50)]
    )
    assert ep.events() == expected
    ep.send(ep.binary(b"a" * 60, fin=False), ep.frame(OP_CONT, b"b" * 41, fin=False))
    ep.expect_failure(1009, [Binary(b"a" * 60, False)] if streaming else [])


@each_role
@each_mode
def test_text_limit_counts_utf8_bytes(kernels, role, mode):
    ep = Endpoint(kernels, role, mode, max_message_size=10)
    ep.send(ep.text("é" * 5))
    assert ep.events() == [Text("é" * 5)]
    ep.send(ep.text("é" * 5 + "x"))
    ep.expect_failure(1009)


@each_role
@each_mode
def test_frame_limit(kernels, role, mode):
    """A frame over max_frame_size is a 1009 even if the message limit allows it."""
    ep = Endpoint(kernels, role, mode, max_message_size=100, max_frame_size=10)
    frames = [ep.binary(b"0123456789", fin=False)]
    frames += [ep.frame(OP_CONT, b"0123456789", fin=i == 8) for i in range(9)]
    ep.send(*frames)
    assert ep.events() == [Binary(b"0123456789" * 10)]
    ep.send(ep.binary(b"x" * 11))
    ep.expect_failure(1009)


@each_role
@each_mode
def test_frame_limit_checked_from_the_header(kernels, role, mode):
    """A header announcing 1 TiB fails at once: no payload is awaited or buffered."""
    ep = Endpoint(kernels, role, mode)
    mask_bit = 0x80 if role == "server" else 0
    header = bytes([0x82, mask_bit | 127]) + (1 << 40).to_bytes(8, "big")
    ep.send(header + (b"\x01\x02\x03\x04" if mask_bit else b""))
    ep.expect_failure(1009)


@each_role
def test_unlimited(kernels, role):
    """None lifts the limits."""
    ep = Endpoint(kernels, role, "whole", max_message_size=None)
    assert ep.conn.max_frame_size is None
    ep.send(ep.binary(b"z" * (3 * MiB)))
    assert ep.events() == [Binary(b"z" * (3 * MiB))]


@each_role
@each_mode
def test_unlimited_messages_limited_frames(kernels, role, mode):
    ep = Endpoint(kernels, role, mode, max_message_size=None, max_frame_size=4)
    ep.send(ep.binary(b"abcd", fin=False), ep.frame(OP_CONT, b"efgh"))
    assert ep.events() == [Binary(b"abcdefgh")]
    ep.send(ep.binary(b"abcde"))
    ep.expect_failure(1009)


@pytest.mark.parametrize("cls", [ClientConnection, ServerConnection])
def test_limit_arguments_are_checked(kernels, cls):
    args = ("ws://x/",) if cls is ClientConnection else ()
    for bad in ({"max_message_size": -1}, {"max_frame_size": -5}, {"max_message_size": 1.5}):
        with pytest.raises(ValueError):
            cls(*args, _kernels=kernels, **bad)
    for bad in ({"max_head_size": 0}, {"max_headers": 0}):
        with pytest.raises(ValueError):
            cls(*args, _kernels=kernels, **bad)


# -- handshake heads --------------------------------------------------------

REQUEST = (
    b"GET / HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
)


@pytest.mark.parametrize("what", ["size", "count", "unterminated"])
@each_mode
def test_server_head_limits_answer_431(kernels, mode, what):
    """RFC 6585 §5: a request head over the limits gets 431, then CLOSED."""
    server = ServerConnection(max_head_size=1024, max_headers=10, _kernels=kernels)
    if what == "size":
        data = REQUEST + b"X-Big: " + b"a" * 1024 + b"\r\n\r\n"
    elif what == "count":
        data = REQUEST + b"".join(b"X-%d: 1\r\n" % i for i in range(10)) + b"\r\n"
    else:
        data = REQUEST + b"X-Big: " + b"a" * 2000
    feed(server, data, mode)
    assert server.data_to_send().startswith(b"HTTP/1.1 431 ")
    assert server.state is State.CLOSED
    (event,) = server.events()
    assert isinstance(event, Closed) and isinstance(event.error, InvalidHandshake)
    assert event.error.status == 431


@each_mode
def test_server_head_within_limits(kernels, mode):
    server = ServerConnection(max_head_size=1024, max_headers=20, _kernels=kernels)
    feed(server, REQUEST + b"".join(b"X-%d: 1\r\n" % i for i in range(10)) + b"\r\n", mode)
    assert server.state is State.OPEN
    assert server.data_to_send().startswith(b"HTTP/1.1 101 ")


@each_mode
def test_client_response_head_limit(kernels, mode):
    client = ClientConnection("ws://example.com/", max_head_size=512, _kernels=kernels)
    client.data_to_send()
    feed(client, b"HTTP/1.1 101 Switching Protocols\r\nX: " + b"a" * 600 + b"\r\n\r\n", mode)
    assert client.state is State.CLOSED
    (event,) = client.events()
    assert isinstance(event.error, InvalidHandshake)
    assert event.code == 1006
    assert client.data_to_send() == b""


@each_mode
def test_pair_respects_limits_both_ways(kernels, mode):
    pair = Pair(
        kernels,
        mode,
        client_options={"max_message_size": 1000},
        server_options={"max_message_size": 2000},
    )
    pair.client.send_binary(b"c" * 2000)
    pair.server.send_binary(b"s" * 1000)
    pair.flush()
    assert pair.server.events() == [Binary(b"c" * 2000)]
    assert pair.client.events() == [Binary(b"s" * 1000)]
    pair.server.send_binary(b"s" * 1001)
    pair.flush()
    assert pair.client.error is not None and pair.client.error.code == 1009
    assert pair.server.close_received is not None and pair.server.close_received[0] == 1009
