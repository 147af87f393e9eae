"""Conformance, permessage-deflate (Autobahn categories 12/13, RFC 7692).

The negotiation details live in fastws/deflate.py (tests/test_deflate*.py);
here: what the connections do with it -- offer and acceptance in the
handshake, RSV1 on the first frame only, control frames never compressed,
fragmented compressed messages, the size limit after decompression
(decompression bombs), corrupt data, and 1010 when a client requires it.
"""

from __future__ import annotations

import functools
import zlib

import pytest
from protocol_helpers import (
    OP_BINARY,
    OP_CONT,
    OP_PING,
    OP_TEXT,
    Endpoint,
    Pair,
    each_mode,
    each_role,
    feed,
    handshake,
)

from fastws.client import ClientConnection
from fastws.deflate import DeflateOptions
from fastws.events import Binary, Closed, Ping, Text
from fastws.exceptions import InvalidHandshake, ProtocolError
from fastws.protocol import State
from fastws.server import ServerConnection

ON = {"compression": DeflateOptions()}


def deflate_raw(data: bytes, bits: int = 15) -> bytes:
    """RFC 7692 §7.2.1 by hand: raw DEFLATE, sync flush, tail removed."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, -bits)
    out = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(b"\x00\x00\xff\xff")
    return out[:-4]


@functools.cache
def bomb() -> bytes:
    """50 MB of zeros compressed to ~50 KB."""
    return deflate_raw(b"\x00" * 50_000_000)


def compressed_endpoint(kernels, role, mode, **options):
    options = {**ON, **options}
    ep = Endpoint(kernels, role, mode, peer_options=ON, **options)
    assert ep.conn.deflate is not None
    return ep


def test_negotiation_in_the_handshake(kernels):
    """§5.1: the client offers, the server accepts; both sides get a codec."""
    client = ClientConnection("ws://example.com/", _kernels=kernels, **ON)
    request = client.data_to_send()
    assert (
        b"\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" in request
    )
    server = ServerConnection(_kernels=kernels, **ON)
    server.receive_data(request)
    response = server.data_to_send()
    assert b"\r\nSec-WebSocket-Extensions: permessage-deflate" in response
    client.receive_data(response)
    assert client.deflate is not None and server.deflate is not None
    assert client.events()[0].extensions == [("permessage-deflate", [])]


def test_no_offer_no_extension(kernels):
    """Without compression options neither side offers or accepts (§5.1)."""
    pair = Pair(kernels, client_options=ON)  # server has no compression
    assert pair.client.deflate is None and pair.server.deflate is None
    pair = Pair(kernels, server_options=ON)  # client offers nothing
    assert pair.client.deflate is None and pair.server.deflate is None


@pytest.mark.parametrize(
    "options",
    [
        DeflateOptions(),
        DeflateOptions(server_no_context_takeover=True),
        DeflateOptions(client_no_context_takeover=True),
        DeflateOptions(server_max_window_bits=9, client_max_window_bits=9),
        DeflateOptions(server_max_window_bits=8, client_max_window_bits=8),
        DeflateOptions(
            server_no_context_takeover=True,
            client_no_context_takeover=True,
            server_max_window_bits=12,
            client_max_window_bits=10,
            min_size=0,
        ),
    ],
    ids=["default", "server-nct", "client-nct", "bits-9", "bits-8", "all"],
)
@each_mode
def test_12_round_trip_with_parameters(kernels, mode, options):
    """§7.1, §7.2 (Autobahn 12.x/13.x): messages of many sizes in both
    directions with each parameter, both sides configured alike."""
    pair = Pair(
        kernels,
        mode,
        client_options={"compression": options},
        server_options={"compression": options},
    )
    assert pair.client.deflate is not None
    messages = [b"", b"a", b"hello " * 20, bytes(range(256)) * 40, b"\x00" * 70000]
    for data in messages * 2:
        pair.client.send_binary(data)
        pair.server.send_text(data.decode("latin-1"))
    pair.flush()
    assert pair.server.events() == [Binary(m) for m in messages * 2]
    assert pair.client.events() == [Text(m.decode("latin-1")) for m in messages * 2]


@each_role
def test_rsv1_on_compressed_messages_only(kernels, role):
    """§6: RSV1 marks a compressed message; short messages (min_size) and
    control frames go uncompressed (§6.1: control frames never are)."""
    pair = Pair(kernels, client_options=ON, server_options=ON)
    conn = pair.client if role == "client" else pair.server
    parser = kernels.frames.FrameParser(mask_expected=role == "client", allowed_rsv=7)
    conn.send_text("x" * 1000)
    conn.send_binary(b"tiny")
    conn.send_ping(b"p" * 125)
    conn.close(1000, "r" * 100)
    frames = parser.feed(conn.data_to_send())
    assert [(f.opcode, f.rsv) for f in frames] == [
        (OP_TEXT, 4),
        (OP_BINARY, 0),
        (OP_PING, 0),
        (8, 0),
    ]
    assert len(frames[0].payload) < 100  # it was compressed
    assert frames[1].payload == b"tiny"


@each_role
def test_fragmented_sending_is_uncompressed(kernels, role):
    """§6: compression is per message; messages sent fragment by fragment go
    uncompressed, so RSV1 is never set on a frame of theirs."""
    pair = Pair(kernels, client_options=ON, server_options=ON)
    conn, other = (pair.client, pair.server) if role == "client" else (pair.server, pair.client)
    parser = kernels.frames.FrameParser(mask_expected=role == "client", allowed_rsv=7)
    conn.send_text("a" * 500, fin=False)
    conn.send_text("b" * 500)
    data = conn.data_to_send()
    assert [(f.opcode, f.rsv) for f in parser.feed(data)] == [(OP_TEXT, 0), (OP_CONT, 0)]
    other.receive_data(data)
    assert other.events() == [Text("a" * 500 + "b" * 500)]


@pytest.mark.parametrize("pieces", [1, 2, 3, 17])
@each_role
@each_mode
def test_fragmented_compressed_message(kernels, role, mode, pieces):
    """§6.1/§7.2.2: a compressed message may be fragmented after compression;
    RSV1 is on the first frame only; pings may come in between."""
    ep = compressed_endpoint(kernels, role, mode)
    text = "Hello, permessage-deflate! " * 50
    payload = deflate_raw(text.encode())
    size = -(-len(payload) // pieces)
    chunks = [payload[i : i + size] for i in range(0, len(payload), size)]
    frames = [ep.frame(OP_TEXT, chunks[0], fin=len(chunks) == 1, rsv=4)]
    for i, chunk in enumerate(chunks[1:], 2):
        frames.append(ep.frame(OP_PING, b"between"))
        frames.append(ep.frame(OP_CONT, chunk, fin=i == len(chunks)))
    ep.send(*frames)
    events = ep.events()
    assert events[-1] == Text(text)
    assert events[:-1] == [Ping(b"between")] * (len(chunks) - 1)


@each_role
@each_mode
def test_compressed_streaming(kernels, role, mode):
    """Streaming mode decompresses frame by frame; the pieces add up."""
    ep = compressed_endpoint(kernels, role, mode, streaming=True)
    text = "☃ snowman " * 300
    payload = deflate_raw(text.encode())
    half = len(payload) // 2
    ep.send(ep.frame(OP_TEXT, payload[:half], fin=False, rsv=4), ep.frame(OP_CONT, payload[half:]))
    events = ep.events()
    assert all(isinstance(e, Text) for e in events)
    assert [e.fin for e in events] == [False] * (len(events) - 1) + [True]
    assert "".join(e.data for e in events) == text


@each_role
@each_mode
def test_empty_compressed_message(kernels, role, mode):
    """§7.2.3.6: an empty message compressed is the single byte 0x00; an empty
    payload with RSV1 is an empty message too."""
    ep = compressed_endpoint(kernels, role, mode)
    ep.send(ep.frame(OP_TEXT, b"\x00", rsv=4), ep.frame(OP_BINARY, b"", rsv=4))
    assert ep.events() == [Text(""), Binary(b"")]


@each_role
@each_mode
def test_uncompressed_message_on_a_compressed_connection(kernels, role, mode):
    """§6: a message without RSV1 is not compressed, even when negotiated."""
    ep = compressed_endpoint(kernels, role, mode)
    ep.send(ep.text("plain"), ep.frame(OP_TEXT, deflate_raw(b"squeezed"), rsv=4), ep.text("plain"))
    assert ep.events() == [Text("plain"), Text("squeezed"), Text("plain")]


@each_role
@each_mode
def test_context_takeover_across_messages(kernels, role, mode):
    """§7.2.3.2: with context takeover, a message may refer to the previous one."""
    ep = compressed_endpoint(kernels, role, mode)
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    frames = []
    for _ in range(3):
        data = compressor.compress(b"the same sentence again and again") + compressor.flush(
            zlib.Z_SYNC_FLUSH
        )
        frames.append(ep.frame(OP_TEXT, data[:-4], rsv=4))
    ep.send(*frames)
    assert ep.events() == [Text("the same sentence again and again")] * 3


@pytest.mark.parametrize("streaming", [False, True])
@each_role
@each_mode
def test_decompression_bomb_is_1009(kernels, role, mode, streaming):
    """A small frame that inflates past max_message_size is closed with 1009,
    without inflating it all (RFC 7692 §8.1 and the issue's bomb rule)."""
    ep = compressed_endpoint(kernels, role, mode, max_message_size=100_000, streaming=streaming)
    assert len(bomb()) < 60_000
    ep.send(ep.binary(b"ok"), ep.frame(OP_BINARY, bomb(), rsv=4))
    ep.expect_failure(1009, [Binary(b"ok")])


@each_role
@each_mode
def test_decompressed_size_across_fragments(kernels, role, mode):
    ep = compressed_endpoint(kernels, role, mode, max_message_size=1000)
    payload = deflate_raw(b"y" * 1001)
    ep.send(ep.frame(OP_BINARY, payload[:5], fin=False, rsv=4), ep.frame(OP_CONT, payload[5:]))
    ep.expect_failure(1009)


@each_role
@each_mode
def test_corrupt_compressed_data(kernels, role, mode):
    """Data that does not inflate fails the connection (1007)."""
    ep = compressed_endpoint(kernels, role, mode)
    ep.send(ep.text("before"), ep.frame(OP_BINARY, b"\xff\xff\xff\xff\xff", rsv=4))
    ep.expect_failure(1007, [Text("before")])


@each_role
@each_mode
def test_compressed_text_with_invalid_utf8(kernels, role, mode):
    """§8.1 applies to the decompressed text: 1007."""
    ep = compressed_endpoint(kernels, role, mode)
    ep.send(ep.frame(OP_TEXT, deflate_raw(b"abc\xed\xa0\x80def"), rsv=4))
    ep.expect_failure(1007)


@each_role
@each_mode
def test_compressed_fragmented_text_fails_fast(kernels, role, mode):
    """§8.1: invalid UTF-8 in the first decompressed fragment fails before the end."""
    ep = compressed_endpoint(kernels, role, mode)
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    first = compressor.compress(b"\xff" + b"a" * 100) + compressor.flush(zlib.Z_SYNC_FLUSH)
    ep.send(ep.frame(OP_TEXT, first, fin=False, rsv=4))
    ep.expect_failure(1007)


@each_mode
def test_client_requires_compression_1010(kernels, mode):
    """RFC 6455 §7.4.1 (1010): a client that needs the extension closes when the
    server did not accept it; no Response event is reported."""
    client = ClientConnection("ws://example.com/", require_compression=True, _kernels=kernels, **ON)
    server = ServerConnection(_kernels=kernels)
    feed(server, client.data_to_send(), mode)
    feed(client, server.data_to_send(), mode)
    assert client.state is State.CLOSING
    assert client.events() == []
    assert isinstance(client.error, ProtocolError) and client.error.code == 1010
    feed(server, client.data_to_send(), mode)
    server.events()
    assert server.close_received == (1010, "the server did not accept permessage-deflate")
    assert server.state is State.CLOSED
    feed(client, server.data_to_send(), mode)
    client.receive_eof()
    assert client.events() == [Closed(1010, str(client.error), client.error)]


def test_client_requires_compression_and_gets_it(kernels):
    client = ClientConnection("ws://example.com/", require_compression=True, _kernels=kernels, **ON)
    server = ServerConnection(_kernels=kernels, **ON)
    handshake(client, server)
    assert client.state is State.OPEN and client.deflate is not None
    with pytest.raises(ValueError):
        ClientConnection("ws://example.com/", require_compression=True, _kernels=kernels)


def _client_with_response(kernels, extensions: str):
    client = ClientConnection("ws://example.com/", _kernels=kernels, **ON)
    request = client.data_to_send()
    key = request.split(b"Sec-WebSocket-Key: ")[1].split(b"\r\n")[0].decode()
    accept = kernels.accept.accept_key(key)
    client.receive_data(
        (
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept}\r\n{extensions}\r\n"
        ).encode()
    )
    return client


@pytest.mark.parametrize(
    "header",
    [
        "Sec-WebSocket-Extensions: x-unknown\r\n",
        "Sec-WebSocket-Extensions: permessage-deflate, permessage-deflate\r\n",
        "Sec-WebSocket-Extensions: permessage-deflate\r\n"
        "Sec-WebSocket-Extensions: permessage-deflate\r\n",
        "Sec-WebSocket-Extensions: permessage-deflate; foo=1\r\n",
        "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=16\r\n",
        "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits\r\n",
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n",
        "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover=1\r\n",
        "Sec-WebSocket-Extensions: permessage-deflate; "
        "server_no_context_takeover; server_no_context_takeover\r\n",
        "Sec-WebSocket-Extensions: permessage-deflate;;\r\n",
    ],
)
def test_client_rejects_bad_extension_responses(kernels, header):
    """RFC 6455 §4.1 step 5, RFC 7692 §7.1: an extension not offered, twice, or
    with parameters the offer does not allow fails the handshake."""
    client = _client_with_response(kernels, header)
    assert client.state is State.CLOSED
    (event,) = client.events()
    assert isinstance(event.error, InvalidHandshake)
    assert event.error.status == 101


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Sec-WebSocket-Extensions: permessage-deflate\r\n", (15, 15)),
        ("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10\r\n", (15, 10)),
        ("Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=9\r\n", (9, 15)),
    ],
)
def test_client_accepts_valid_extension_responses(kernels, header, expected):
    client = _client_with_response(kernels, header)
    assert client.state is State.OPEN
    deflate = client.deflate
    assert (deflate.server_max_window_bits, deflate.client_max_window_bits) == expected


def test_server_picks_the_first_acceptable_offer(kernels):
    """RFC 7692 §5.1: invalid offers are declined, the next valid one accepted."""
    server = ServerConnection(_kernels=kernels, **ON)
    server.receive_data(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        b"Sec-WebSocket-Extensions: x-webkit-deflate-frame, "
        b"permessage-deflate; server_max_window_bits=99, "
        b"permessage-deflate; client_no_context_takeover\r\n\r\n"
    )
    response = server.data_to_send()
    assert (
        b"\r\nSec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n"
        in response
    )
    assert server.deflate is not None and server.deflate.client_no_context_takeover


def test_server_declines_all_bad_offers(kernels):
    server = ServerConnection(_kernels=kernels, **ON)
    server.receive_data(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        b"Sec-WebSocket-Extensions: permessage-deflate; foo\r\n\r\n"
    )
    response = server.data_to_send()
    assert response.startswith(b"HTTP/1.1 101 ")
    assert b"Sec-WebSocket-Extensions" not in response
    assert server.deflate is None


@each_role
@each_mode
def test_close_on_compressed_connection(kernels, role, mode):
    ep = compressed_endpoint(kernels, role, mode)
    ep.send(ep.frame(OP_TEXT, deflate_raw(b"bye soon"), rsv=4), ep.close_frame(1000, "done"))
    ep.expect_clean_close(1000, "done", [Text("bye soon")])
