"""Large server messages queued beside their header, not copied into a frame.

A whole, uncompressed message a *server* sends whose payload is an exact
``bytes`` (a ``str`` given to ``send_text`` is encoded to one) of at least
64 KiB is queued as two buffers, the frame header and the payload itself;
``data_to_send()`` still returns the joined bytes and ``data_to_send_list()``
the buffers. The bytes on the wire must be exactly those of one frame built
by the kernel ``build_frame`` (RFC 6455 §5.2, minimal length encoding), and
fragments (§5.4), compressed messages (RFC 7692 §6), client frames (masked,
§5.3) and the state checks must behave as before. Every test runs on both
backends (``kernels``).
"""

from __future__ import annotations

import pytest
from protocol_helpers import OP_BINARY, OP_CONT, OP_PING, OP_TEXT, make_pair

from fastws.client import ClientConnection
from fastws.deflate import DeflateOptions
from fastws.events import Binary, Text
from fastws.exceptions import InvalidState
from fastws.protocol import _SPLIT_MIN, State, _unmasked_header
from fastws.server import ServerConnection

SIZES = [_SPLIT_MIN - 1, _SPLIT_MIN, _SPLIT_MIN + 1, 2 << 20]


def _payload(size: int) -> bytes:
    return bytes(range(256)) * (size // 256) + bytes(range(size % 256))


def _text(size: int) -> str:
    # Two-byte characters plus ASCII so the encoded size is exactly ``size``.
    return "\u00e9" * (size // 4) + "x" * (size - 2 * (size // 4))


def _server(kernels, **options):  # type: ignore[no-untyped-def]
    return make_pair(kernels, {"max_message_size": None}, max_message_size=None, **options)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("kind", ["text", "binary"])
@pytest.mark.parametrize("api", ["data_to_send", "data_to_send_list"])
def test_wire_bytes_match_one_frame(kernels, size, kind, api):
    """§5.2: the same bytes as one frame, whichever way they are taken."""
    client, server = _server(kernels)
    if kind == "text":
        message: str | bytes = _text(size)
        encoded = message.encode()  # type: ignore[union-attr]
        assert len(encoded) == size
        server.send_text(message)
        expected = kernels.frames.build_frame(OP_TEXT, encoded)
    else:
        message = _payload(size)
        server.send_binary(message)
        expected = kernels.frames.build_frame(OP_BINARY, message)
    if api == "data_to_send":
        wire = server.data_to_send()
        assert type(wire) is bytes
    else:
        out = server.data_to_send_list()
        assert all(type(item) is bytes for item in out)
        if size >= _SPLIT_MIN:
            assert len(out) == 2  # header, payload
            if kind == "binary":
                assert out[1] is message  # not copied
        else:
            assert len(out) == 1
        wire = b"".join(out)
    assert wire == expected
    assert server.data_to_send() == b"" and server.data_to_send_list() == []
    client.receive_data(wire)
    assert client.events() == [Text(message) if kind == "text" else Binary(message)]


@pytest.mark.parametrize("kind", ["text", "binary"])
def test_bytes_sent_as_text_take_the_split_path(kernels, kind):
    client, server = _server(kernels)
    data = b"a" * _SPLIT_MIN
    if kind == "text":
        server.send_text(data)
    else:
        server.send_binary(data)
    out = server.data_to_send_list()
    assert len(out) == 2 and out[1] is data
    opcode = OP_TEXT if kind == "text" else OP_BINARY
    assert b"".join(out) == kernels.frames.build_frame(opcode, data)


@pytest.mark.parametrize("kind", ["bytearray", "memoryview"])
def test_mutable_or_view_payloads_are_copied_into_the_frame(kernels, kind):
    """Only immutable exact ``bytes`` may be queued without a copy."""
    client, server = _server(kernels)
    raw = bytearray(_payload(_SPLIT_MIN + 3))
    data = raw if kind == "bytearray" else memoryview(raw)[1:]
    expected = kernels.frames.build_frame(OP_BINARY, bytes(data))
    server.send_binary(data)
    out = server.data_to_send_list()
    raw[5] ^= 0xFF  # changing the caller's buffer afterwards changes nothing
    assert out == [expected]


def test_bytes_subclass_is_copied(kernels):
    class B(bytes):
        pass

    client, server = _server(kernels)
    data = B(_payload(_SPLIT_MIN))
    server.send_binary(data)
    out = server.data_to_send_list()
    assert len(out) == 1 and out[0] == kernels.frames.build_frame(OP_BINARY, bytes(data))


@pytest.mark.parametrize("kind", ["text", "binary"])
def test_fragments_are_single_frames_as_before(kernels, kind):
    """§5.4: fin=False and the continuation frames are framed as before."""
    client, server = _server(kernels)
    part = _payload(_SPLIT_MIN + 1)
    send = server.send_text if kind == "text" else server.send_binary
    opcode = OP_TEXT if kind == "text" else OP_BINARY
    send(part, fin=False)
    assert server.data_to_send_list() == [kernels.frames.build_frame(opcode, part, False)]
    send(part, fin=False)
    assert server.data_to_send_list() == [kernels.frames.build_frame(OP_CONT, part, False)]
    send(part)  # the last fragment: one frame, no split
    out = server.data_to_send_list()
    assert out == [kernels.frames.build_frame(OP_CONT, part, True)]
    # The next whole message takes the split path again.
    send(part)
    out = server.data_to_send_list()
    assert len(out) == 2 and b"".join(out) == kernels.frames.build_frame(opcode, part)


def test_compressed_messages_are_one_frame(kernels):
    """RFC 7692 §6: a compressed message is one frame with RSV1, never split."""
    client = ClientConnection(
        "ws://example.com/", compression=DeflateOptions(), max_message_size=None, _kernels=kernels
    )
    server = ServerConnection(
        compression=DeflateOptions(), max_message_size=None, _kernels=kernels
    )
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    assert server.deflate is not None and client.deflate is not None
    server.events(), client.events()
    data = _payload(2 << 20)
    server.send_binary(data)
    out = server.data_to_send_list()
    assert len(out) == 1
    assert out[0][0] == 0x80 | 0x40 | OP_BINARY  # FIN, RSV1
    client.receive_data(out[0])
    assert client.events() == [Binary(data)]


@pytest.mark.parametrize("size", SIZES)
def test_client_frames_are_masked_as_before(kernels, size):
    """§5.3: a client masks every frame, so nothing is split."""
    client, server = _server(kernels)
    data = _payload(size)
    client.send_binary(data)
    client.send_text(data.decode("latin-1"))
    out = client.data_to_send_list()
    assert len(out) == 2 and all(item[1] & 0x80 for item in out)  # two masked frames
    server.receive_data(b"".join(out))
    assert server.events() == [Binary(data), Text(data.decode("latin-1"))]


def test_queue_order_with_control_frames(kernels):
    """Frames queued around a split message keep their order on the wire."""
    client, server = _server(kernels)
    data = _payload(_SPLIT_MIN)
    server.send_ping(b"p")
    server.send_binary(data)
    server.send_text("small")
    server.send_text(data.decode("latin-1"))
    out = server.data_to_send_list()
    assert len(out) == 6
    build = kernels.frames.build_frame
    assert b"".join(out) == (
        build(OP_PING, b"p")
        + build(OP_BINARY, data)
        + build(OP_TEXT, b"small")
        + build(OP_TEXT, data.decode("latin-1").encode())
    )


def test_state_checks_unchanged(kernels):
    client, server = _server(kernels)
    server.close()
    assert server.state is not State.OPEN
    server.data_to_send()
    data = _payload(_SPLIT_MIN)
    with pytest.raises(InvalidState, match="cannot send a message in state"):
        server.send_binary(data)
    with pytest.raises(InvalidState, match="cannot send a message in state"):
        server.send_text(data)
    assert server.data_to_send_list() == []
    pending = ServerConnection(_kernels=kernels)
    with pytest.raises(InvalidState, match="CONNECTING"):
        pending.send_binary(data)


@pytest.mark.parametrize("length", [126, 127, 1000, 65535, 65536, 65537, 1 << 32])
@pytest.mark.parametrize("opcode", [OP_TEXT, OP_BINARY])
def test_unmasked_header_minimal_length(kernels, opcode, length):
    """§5.2: 126 + 16-bit length below 65536, else 127 + 64-bit length."""
    header = _unmasked_header(opcode, length)
    if length < 65536:
        expected = kernels.frames.build_frame(opcode, bytes(length))[:4]
    else:
        expected = bytes([0x80 | opcode, 127]) + length.to_bytes(8, "big")
        if length < (1 << 24):
            assert kernels.frames.build_frame(opcode, bytes(length))[:10] == expected
    assert header == expected
