"""Conformance, framing (Autobahn category 1, RFC 6455 §5.1-§5.3, §5.6).

Every test runs on both backends (``kernels``), both roles where it applies
(``role``) and three ways of feeding the input (``mode``).
"""

from __future__ import annotations

import pytest
from protocol_helpers import (
    OP_BINARY,
    OP_CLOSE,
    OP_PING,
    OP_TEXT,
    Endpoint,
    Pair,
    each_mode,
    each_role,
)

from fastws.events import Binary, Ping, Text
from fastws.protocol import State

LENGTHS = [0, 1, 125, 126, 127, 128, 65535, 65536]


@pytest.mark.parametrize("length", LENGTHS)
@each_role
@each_mode
def test_1_1_text_message_lengths(kernels, role, mode, length):
    """§5.2: 7-bit, 16-bit and 64-bit payload lengths (Autobahn 1.1.1-1.1.8)."""
    ep = Endpoint(kernels, role, mode)
    ep.send(ep.text("*" * length))
    assert ep.events() == [Text("*" * length)]
    assert ep.sent() == []
    assert ep.conn.state is State.OPEN


@pytest.mark.parametrize("length", LENGTHS)
@each_role
@each_mode
def test_1_2_binary_message_lengths(kernels, role, mode, length):
    """§5.2: the same lengths for binary messages (Autobahn 1.2.1-1.2.8)."""
    ep = Endpoint(kernels, role, mode)
    payload = bytes(range(256)) * (length // 256) + bytes(length % 256)
    ep.send(ep.binary(payload))
    events = ep.events()
    assert events == [Binary(payload)]
    assert type(events[0].data) is bytes


@each_role
@each_mode
def test_many_messages_in_one_chunk(kernels, role, mode):
    """§5.6: consecutive frames in one TCP segment are all delivered, in order."""
    ep = Endpoint(kernels, role, mode)
    frames = []
    expected = []
    for i in range(20):
        if i % 3:
            frames.append(ep.text(f"message {i} ✓"))
            expected.append(Text(f"message {i} ✓"))
        else:
            frames.append(ep.binary(bytes([i]) * i))
            expected.append(Binary(bytes([i]) * i))
    ep.send(*frames)
    assert ep.events() == expected


@each_mode
def test_5_1_server_fails_on_unmasked_frame(kernels, mode):
    """§5.1: a server MUST close the connection (1002) on an unmasked frame."""
    ep = Endpoint(kernels, "server", mode)
    ep.send(ep.text("first"), ep.unmasked_rule_breaker(OP_TEXT, b"x"))
    ep.expect_failure(1002, [Text("first")])


@each_mode
def test_5_1_client_fails_on_masked_frame(kernels, mode):
    """§5.1: a client MUST close the connection (1002) on a masked frame."""
    ep = Endpoint(kernels, "client", mode)
    ep.send(ep.text("first"), ep.unmasked_rule_breaker(OP_BINARY, b"x"))
    ep.expect_failure(1002, [Text("first")])


@pytest.mark.parametrize("opcode", [OP_PING, OP_CLOSE])
@each_role
@each_mode
def test_5_1_masking_rule_applies_to_control_frames(kernels, role, mode, opcode):
    """§5.1: the masking rule holds for control frames too."""
    ep = Endpoint(kernels, role, mode)
    ep.send(ep.unmasked_rule_breaker(opcode, b""))
    ep.expect_failure(1002)


@each_role
@each_mode
def test_5_2_64bit_length_with_msb_set(kernels, role, mode):
    """§5.2: "the most significant bit MUST be 0" in a 64-bit length: 1002."""
    ep = Endpoint(kernels, role, mode)
    mask_bit = 0x80 if role == "server" else 0
    header = bytes([0x82, mask_bit | 127]) + (1 << 63).to_bytes(8, "big")
    ep.send(ep.binary(b"ok"), header + (b"\0\0\0\0" if mask_bit else b""))
    ep.expect_failure(1002, [Binary(b"ok")])


def test_5_3_client_masks_every_frame_with_a_fresh_key(kernels):
    """§5.3: every client frame is masked; keys come from a strong source and
    are not reused (checked over 600 frames, more than one key batch)."""
    pair = Pair(kernels)
    client, server = pair.client, pair.server
    keys = set()
    for i in range(600):
        client.send_binary(b"x" * (i % 7))
        data = client.data_to_send()
        header = kernels.frames.parse_header(data)
        assert header.mask is not None
        keys.add(bytes(header.mask))
    assert len(keys) == 600
    client.send_ping(b"p")
    client.close()
    data = client.data_to_send()
    first = kernels.frames.parse_header(data)
    second = kernels.frames.parse_header(data, first.header_size + first.length)
    assert first.mask is not None and second.mask is not None
    # The server never masks (§5.1).
    server.send_text("hi")
    server.send_ping()
    server.close()
    data = server.data_to_send()
    offset = 0
    while offset < len(data):
        header = kernels.frames.parse_header(data, offset)
        assert header.mask is None
        offset += header.header_size + header.length


@each_role
def test_5_2_minimal_length_encoding_on_send(kernels, role):
    """§5.2: "the minimal number of bytes MUST be used to encode the length"."""
    pair = Pair(kernels)
    conn = pair.client if role == "client" else pair.server
    for length, size in [(125, 2), (126, 4), (65535, 4), (65536, 10)]:
        conn.send_binary(b"a" * length)
        header = kernels.frames.parse_header(conn.data_to_send())
        assert header.header_size == size + (4 if role == "client" else 0)
        assert header.length == length


@each_mode
def test_sent_messages_arrive(kernels, mode):
    """§5.6: text and binary messages of every length class cross a live pair."""
    pair = Pair(kernels, mode)
    sizes = [0, 1, 125, 126, 65535, 65536, 70000]
    for size in sizes:
        pair.client.send_text("é" * (size // 2))
        pair.server.send_binary(b"\x00\xff" * (size // 2))
    pair.flush()
    assert pair.server.events() == [Text("é" * (size // 2)) for size in sizes]
    assert pair.client.events() == [Binary(b"\x00\xff" * (size // 2)) for size in sizes]


@each_role
def test_empty_chunks_are_harmless(kernels, role):
    """Feeding b"" anywhere changes nothing."""
    ep = Endpoint(kernels, role, "whole")
    data = ep.text("hello") + ep.frame(OP_PING, b"x")
    for i in range(len(data)):
        ep.conn.receive_data(b"")
        ep.conn.receive_data(data[i : i + 1])
    assert ep.events() == [Text("hello"), Ping(b"x")]


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
@each_role
def test_input_buffer_types(kernels, role, kind):
    """receive_data accepts bytes, bytearray and memoryview chunks."""
    ep = Endpoint(kernels, role, "whole")
    ep.conn.receive_data(kind(ep.text("a") + ep.binary(b"b")))
    assert ep.events() == [Text("a"), Binary(b"b")]


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
@each_role
def test_send_binary_buffer_types(kernels, role, kind):
    """send_binary/send_text accept any contiguous bytes-like object."""
    pair = Pair(kernels)
    sender, receiver = (
        (pair.client, pair.server) if role == "client" else (pair.server, pair.client)
    )
    sender.send_binary(kind(b"\x01\x02\x03"))
    sender.send_text(kind("héllo".encode()))
    sender.send_binary(memoryview(bytearray(b"0123456789"))[3:7])
    pair.flush()
    assert receiver.events() == [Binary(b"\x01\x02\x03"), Text("héllo"), Binary(b"3456")]
