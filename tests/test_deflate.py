"""Tests of fastws.deflate: RFC 7692 permessage-deflate negotiation and codec.

The module is pure Python over the stdlib zlib and serves both backends, so
these tests take no ``backend`` fixture (the protocol-level compression tests
run on both backends elsewhere). Compressed output is checked with decoders
independent of the codec under test: plain ``zlib.decompressobj`` and a
"strict" inflater that produces one byte per call, so every back-reference
must be served from a window of exactly the agreed size.
"""

from __future__ import annotations

import itertools
import os
import random
import sys
import tracemalloc
import zlib
from typing import Any, Optional, Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastws.deflate import (
    EXTENSION_NAME,
    DeflateOptions,
    PerMessageDeflate,
    client_accept,
    client_offer,
    server_accept,
)
from fastws.exceptions import ProtocolError

TAIL = b"\x00\x00\xff\xff"
HELLO = bytes.fromhex("f248cdc9c90700")  # RFC 7692 §7.2.3.1
HELLO_AGAIN = bytes.fromhex("f200110000")  # RFC 7692 §7.2.3.2, second message
Params = list[tuple[str, Optional[str]]]

SNCT = "server_no_context_takeover"
CNCT = "client_no_context_takeover"
SMWB = "server_max_window_bits"
CMWB = "client_max_window_bits"


def rng_bytes(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


def text_like(seed: int, size: int) -> bytes:
    """Compressible data with repeats at many distances (some beyond 256 and 512)."""
    r = random.Random(seed)
    words = [r.randbytes(r.randint(2, 9)) for _ in range(60)]
    out = bytearray()
    while len(out) < size:
        if r.random() < 0.1 and len(out) > 40:
            start = r.randrange(max(0, len(out) - 4000), len(out) - 20)
            out += out[start : start + r.randint(3, 40)]
        else:
            out += r.choice(words)
    return bytes(out[:size])


def zlib_decode_stream(payloads: list[bytes], bits: int = 15) -> list[bytes]:
    """Independent decoder: one inflater over the messages, tail appended to each."""
    d = zlib.decompressobj(-bits)
    return [d.decompress(p + TAIL) for p in payloads]


def strict_decode_stream(payloads: list[bytes], bits: int) -> list[bytes]:
    """Like zlib_decode_stream but one output byte per call: a distance beyond
    the ``1 << bits`` window cannot be served from the current output buffer
    and fails with "invalid distance too far back"."""
    d = zlib.decompressobj(-bits)
    out = []
    for p in payloads:
        buf, msg = p + TAIL, bytearray()
        while buf:
            msg += d.decompress(buf, 1)
            buf = d.unconsumed_tail
        out.append(bytes(msg))
    return out


def pair(
    client_options: DeflateOptions | None = None, server_options: DeflateOptions | None = None
) -> tuple[PerMessageDeflate, PerMessageDeflate, Params]:
    """Negotiates client <-> server end to end: (client codec, server codec, response)."""
    copt = client_options or DeflateOptions()
    accepted = server_accept(server_options or DeflateOptions(), [client_offer(copt)])
    assert accepted is not None
    response, server = accepted
    return client_accept(copt, response), server, response


def receive(
    codec: PerMessageDeflate,
    fragments: Sequence[bytes | bytearray | memoryview],
    max_size: int = 1 << 30,
) -> bytes:
    out = [codec.decompress(f, i == len(fragments) - 1, max_size) for i, f in enumerate(fragments)]
    return b"".join(out)


# --------------------------------------------------------------------------
# RFC 7692 §7.2.3 examples


def test_rfc_7_2_3_1_single_block_hello() -> None:
    assert receive(PerMessageDeflate(is_client=True), [HELLO]) == b"Hello"


def test_rfc_7_2_3_1_fragmented_hello() -> None:
    codec = PerMessageDeflate(is_client=True)
    assert codec.decompress(bytes.fromhex("f248cd"), False, 100) == b"He"
    assert codec.decompress(bytes.fromhex("c9c90700"), True, 100) == b"llo"


def test_rfc_7_2_3_1_our_compressor_output() -> None:
    codec = PerMessageDeflate(is_client=False)
    payload = codec.compress(b"Hello")
    assert payload == HELLO
    assert zlib_decode_stream([payload]) == [b"Hello"]


def test_rfc_7_2_3_2_sharing_lz77_window_decode() -> None:
    codec = PerMessageDeflate(is_client=True)
    assert receive(codec, [HELLO]) == b"Hello"
    assert receive(codec, [HELLO_AGAIN]) == b"Hello"


def test_rfc_7_2_3_2_sharing_lz77_window_encode() -> None:
    codec = PerMessageDeflate(is_client=False)
    first, second = codec.compress(b"Hello"), codec.compress(b"Hello")
    assert (first, second) == (HELLO, HELLO_AGAIN)
    assert zlib_decode_stream([first, second]) == [b"Hello", b"Hello"]


def test_rfc_7_2_3_2_no_context_takeover_repeats_the_block() -> None:
    codec = PerMessageDeflate(is_client=False, server_no_context_takeover=True)
    assert codec.compress(b"Hello") == HELLO
    assert codec.compress(b"Hello") == HELLO


def test_rfc_7_2_3_3_stored_block() -> None:
    payload = bytes.fromhex("000500faff48656c6c6f00")
    assert receive(PerMessageDeflate(is_client=True), [payload]) == b"Hello"


def test_rfc_7_2_3_4_bfinal_block() -> None:
    codec = PerMessageDeflate(is_client=True)
    assert receive(codec, [bytes.fromhex("f348cdc9c9070000")]) == b"Hello"
    # the stream ended with BFINAL; the next message starts a new one
    assert receive(codec, [bytes.fromhex("f348cdc9c9070000")]) == b"Hello"
    assert receive(codec, [HELLO]) == b"Hello"
    assert receive(codec, [HELLO_AGAIN]) == b"Hello"


def test_rfc_7_2_3_5_two_blocks() -> None:
    payload = bytes.fromhex("f24805000000ffffcac9c90700")
    assert receive(PerMessageDeflate(is_client=True), [payload]) == b"Hello"


def test_rfc_7_2_3_6_empty_message() -> None:
    codec = PerMessageDeflate(is_client=False)
    assert codec.compress(b"") == b"\x00"
    assert receive(PerMessageDeflate(is_client=True), [b"\x00"]) == b""
    assert zlib_decode_stream([b"\x00"]) == [b""]


# --------------------------------------------------------------------------
# BFINAL variants (RFC 7692 §7.2.1 allows BFINAL=1 blocks)


def test_bfinal_block_without_trailing_header_byte() -> None:
    codec = PerMessageDeflate(is_client=True)
    bfinal = bytes.fromhex("f348cdc9c90700")
    assert receive(codec, [bfinal]) == b"Hello"
    assert receive(codec, [bfinal]) == b"Hello"
    assert receive(codec, [HELLO]) == b"Hello"


def test_bfinal_split_across_fragments_and_twice_in_one_message() -> None:
    codec = PerMessageDeflate(is_client=True)
    bfinal = bytes.fromhex("f348cdc9c90700")
    assert receive(codec, [bfinal[:3], bfinal[3:], b""]) == b"Hello"
    assert receive(codec, [bfinal + bfinal + b"\x00"]) == b"HelloHello"
    assert receive(codec, [bfinal + bfinal[:2], bfinal[2:]]) == b"HelloHello"


def test_bfinal_then_large_final_fragment_path() -> None:
    data = text_like(7, 20000)
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    finished = c.compress(data) + c.flush(zlib.Z_FINISH)  # ends with a BFINAL block
    codec = PerMessageDeflate(is_client=True)
    assert len(finished) > 4096  # not joined with the tail
    assert receive(codec, [finished]) == data
    assert receive(codec, [HELLO]) == b"Hello"


def test_bfinal_history_is_not_carried_over() -> None:
    # Documented limitation: a reference back across a BFINAL block fails
    # cleanly with 1007 instead of producing wrong data.
    codec = PerMessageDeflate(is_client=True)
    assert receive(codec, [bytes.fromhex("f348cdc9c90700")]) == b"Hello"
    with pytest.raises(ProtocolError) as info:
        receive(codec, [HELLO_AGAIN])
    assert info.value.code == 1007
    assert str(info.value) == "invalid compressed data: invalid distance too far back"


# --------------------------------------------------------------------------
# empty messages and fragments


def test_compress_empty_in_every_state() -> None:
    for nct in (False, True):
        codec = PerMessageDeflate(is_client=True, client_no_context_takeover=nct)
        payloads = [codec.compress(m) for m in (b"", b"abcabc", b"", b"abcabc", b"")]
        assert payloads[0] == payloads[2] == payloads[4] == b"\x00"
        assert zlib_decode_stream(payloads) == [b"", b"abcabc", b"", b"abcabc", b""]
        assert receive(PerMessageDeflate(is_client=False), [payloads[0]]) == b""


def test_decompress_empty_payload_keeps_the_window() -> None:
    codec = PerMessageDeflate(is_client=True)
    assert receive(codec, [HELLO]) == b"Hello"
    assert receive(codec, [b""]) == b""
    assert receive(codec, [b"", b"", b""]) == b""
    assert receive(codec, [HELLO_AGAIN]) == b"Hello"


def test_decompress_with_empty_fragments_between() -> None:
    codec = PerMessageDeflate(is_client=True)
    assert receive(codec, [b"", HELLO[:2], b"", HELLO[2:], b""]) == b"Hello"
    assert receive(codec, [b"", HELLO_AGAIN, b""]) == b"Hello"


def test_buffer_types() -> None:
    server = PerMessageDeflate(is_client=False)
    client = PerMessageDeflate(is_client=True)
    data = text_like(3, 3000)
    for message in (data, bytearray(data), memoryview(data)):
        payload = server.compress(message)
        padded = bytearray(b"x" + payload)
        fragments: list[bytes | bytearray | memoryview] = [
            memoryview(padded)[1:100],
            bytearray(payload[99:]),
            b"",
        ]
        assert receive(client, fragments) == data
    big = text_like(4, 200000)
    payload = server.compress(memoryview(big))
    assert len(payload) > 4096
    assert receive(client, [memoryview(payload)]) == big
    assert receive(client, [bytearray(server.compress(big))]) == big


# --------------------------------------------------------------------------
# context takeover (RFC 7692 §7.1.1, §7.2.1, §7.2.2)


@pytest.mark.parametrize("is_client", [False, True])
def test_context_takeover_second_message_smaller(is_client: bool) -> None:
    codec = PerMessageDeflate(is_client=is_client)
    message = text_like(11, 2000)
    first, second = codec.compress(message), codec.compress(message)
    assert len(second) < len(first) // 4
    assert zlib_decode_stream([first, second]) == [message, message]
    peer = PerMessageDeflate(is_client=not is_client)
    assert receive(peer, [first]) == message
    assert receive(peer, [second]) == message


@pytest.mark.parametrize("is_client", [False, True])
def test_no_context_takeover_identical_messages(is_client: bool) -> None:
    # Our side's no_context_takeover resets our compressor; the peer's flag
    # does not matter for compression.
    if is_client:
        codec = PerMessageDeflate(is_client=True, client_no_context_takeover=True)
        unaffected = PerMessageDeflate(is_client=True, server_no_context_takeover=True)
    else:
        codec = PerMessageDeflate(is_client=False, server_no_context_takeover=True)
        unaffected = PerMessageDeflate(is_client=False, client_no_context_takeover=True)
    message = text_like(12, 2000)
    payloads = [codec.compress(message) for _ in range(3)]
    assert payloads[0] == payloads[1] == payloads[2]
    for p in payloads:  # each decodes alone, with an empty window
        assert zlib_decode_stream([p]) == [message]
    first, second = unaffected.compress(message), unaffected.compress(message)
    assert len(second) < len(first) // 4


def test_remote_no_context_takeover_resets_decompressor() -> None:
    # server_no_context_takeover agreed: the client must decode each message
    # with an empty window, so a reference to the previous one is invalid.
    codec = PerMessageDeflate(is_client=True, server_no_context_takeover=True)
    assert receive(codec, [HELLO]) == b"Hello"
    with pytest.raises(ProtocolError) as info:
        receive(codec, [HELLO_AGAIN])
    assert info.value.code == 1007
    # our own flag does not reset the decompressor
    codec = PerMessageDeflate(is_client=True, client_no_context_takeover=True)
    assert receive(codec, [HELLO]) == b"Hello"
    assert receive(codec, [HELLO_AGAIN]) == b"Hello"
    codec = PerMessageDeflate(is_client=False, client_no_context_takeover=True)
    assert receive(codec, [HELLO]) == b"Hello"
    with pytest.raises(ProtocolError):
        receive(codec, [HELLO_AGAIN])


# --------------------------------------------------------------------------
# corrupt data, max_size


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\xff", "invalid block type"),
        (bytes.fromhex("000500fafe48656c6c6f00"), "invalid stored block lengths"),
        (bytes.fromhex("06"), "invalid block type"),
        (bytes.fromhex("f248cdc9c907000000"), None),
    ],
)
def test_corrupt_data_1007(payload: bytes, reason: str | None) -> None:
    with pytest.raises(ProtocolError) as info:
        receive(PerMessageDeflate(is_client=True), [payload])
    assert info.value.code == 1007
    assert str(info.value).startswith("invalid compressed data: ")
    assert "Error -3" not in str(info.value)
    if reason is not None:
        assert str(info.value) == f"invalid compressed data: {reason}"


def test_corrupt_data_in_non_final_fragment() -> None:
    codec = PerMessageDeflate(is_client=True)
    with pytest.raises(ProtocolError) as info:
        codec.decompress(b"\xff\xff\xff", False, 100)
    assert info.value.code == 1007


def test_reference_before_start_of_stream_is_1007() -> None:
    # a message whose first match refers to nothing (fresh decompressor)
    with pytest.raises(ProtocolError) as info:
        receive(PerMessageDeflate(is_client=True), [HELLO_AGAIN])
    assert (info.value.code, str(info.value)) == (
        1007,
        "invalid compressed data: invalid distance too far back",
    )


@pytest.mark.parametrize(
    "data",
    [text_like(21, 10000), rng_bytes(22, 10000), bytes(1 << 20)],
    ids=["text", "random", "zeros-1MiB"],
)
def test_max_size_exactly_reached_passes_one_more_fails(data: bytes) -> None:
    payload = PerMessageDeflate(is_client=False).compress(data)
    size = len(data)
    assert receive(PerMessageDeflate(is_client=True), [payload], size) == data
    with pytest.raises(ProtocolError) as info:
        receive(PerMessageDeflate(is_client=True), [payload], size - 1)
    assert info.value.code == 1009
    assert str(info.value) == f"message exceeds {size - 1} bytes after decompression"


def test_max_size_counts_the_whole_message_across_fragments() -> None:
    data = text_like(23, 5000)
    payload = PerMessageDeflate(is_client=False).compress(data)
    for cut in (1, 7, len(payload) // 2, len(payload) - 1):
        fragments = [payload[:cut], payload[cut:]]
        assert receive(PerMessageDeflate(is_client=True), fragments, len(data)) == data
        with pytest.raises(ProtocolError) as info:
            receive(PerMessageDeflate(is_client=True), fragments, len(data) - 1)
        assert info.value.code == 1009


def test_max_size_resets_per_message_and_zero() -> None:
    codec = PerMessageDeflate(is_client=True)
    for _ in range(3):
        assert receive(codec, [HELLO], 5) == b"Hello"
    assert receive(codec, [b"\x00"], 0) == b""
    assert receive(codec, [b""], 0) == b""
    with pytest.raises(ProtocolError) as info:
        receive(codec, [HELLO], 0)
    assert str(info.value) == "message exceeds 0 bytes after decompression"


def test_max_size_huge_and_negative() -> None:
    codec = PerMessageDeflate(is_client=True)
    assert receive(codec, [HELLO], sys.maxsize) == b"Hello"
    with pytest.raises(ValueError, match="max_size"):
        codec.decompress(HELLO, True, -1)


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """100 MB of zeros, compressed in a streaming way (~100 KB)."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    zeros = bytes(1 << 20)
    parts = [c.compress(zeros) for _ in range(100)]
    parts.append(c.flush(zlib.Z_SYNC_FLUSH))
    data = b"".join(parts)
    assert data.endswith(TAIL)
    return data[:-4]


def _peak_while(func: object) -> int:
    assert callable(func)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        func()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def test_decompression_bomb_one_frame(bomb: bytes) -> None:
    assert len(bomb) < 200_000
    codec = PerMessageDeflate(is_client=False)
    raised: list[ProtocolError] = []

    def run() -> None:
        try:
            codec.decompress(bomb, True, 1 << 20)
        except ProtocolError as exc:
            raised.append(exc)

    peak = _peak_while(run)
    assert [(e.code, str(e)) for e in raised] == [
        (1009, "message exceeds 1048576 bytes after decompression")
    ]
    # 1 MiB of output plus zlib's buffers, not 100 MB
    assert peak < 4 << 20


def test_decompression_bomb_many_fragments(bomb: bytes) -> None:
    codec = PerMessageDeflate(is_client=False)
    fed: list[int] = []
    raised: list[ProtocolError] = []

    def run() -> None:
        try:
            for i in range(0, len(bomb), 16):
                fed.append(i)
                codec.decompress(bomb[i : i + 16], False, 1 << 20)
        except ProtocolError as exc:
            raised.append(exc)

    peak = _peak_while(run)
    assert [e.code for e in raised] == [1009]
    assert fed[-1] < len(bomb) // 10  # stopped early, at ~1 MiB of output
    assert peak < 4 << 20


def test_small_max_size_bomb_is_cheap(bomb: bytes) -> None:
    codec = PerMessageDeflate(is_client=False)
    raised: list[ProtocolError] = []

    def run() -> None:
        try:
            codec.decompress(bomb, True, 1000)
        except ProtocolError as exc:
            raised.append(exc)

    peak = _peak_while(run)
    assert [e.code for e in raised] == [1009]
    assert peak < 512 << 10


# --------------------------------------------------------------------------
# window sizes (RFC 7692 §7.1.2) and the 8-bit window


def test_strict_decoder_catches_a_too_far_reference() -> None:
    # negative control for the checks below: a 15-bit zlib stream with
    # distances > 256 is rejected by the strict 8-bit decoder
    data = text_like(31, 6000)
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    payload = (c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH))[:-4]
    assert strict_decode_stream([payload], 15) == [data]
    with pytest.raises(zlib.error, match="too far back"):
        strict_decode_stream([payload], 8)


@pytest.mark.parametrize("bits", range(8, 16))
@pytest.mark.parametrize("is_client", [False, True])
def test_compressor_honours_the_window(bits: int, is_client: bool) -> None:
    kwargs = {"client_max_window_bits" if is_client else "server_max_window_bits": bits}
    codec = PerMessageDeflate(is_client=is_client, **kwargs)  # type: ignore[arg-type]
    assert codec.local_max_window_bits == bits
    messages = [text_like(32, 6000), text_like(33, 3000), text_like(32, 6000)]
    payloads = [codec.compress(m) for m in messages]
    assert strict_decode_stream(payloads, bits) == messages
    assert sum(map(len, payloads)) < sum(map(len, messages))  # still compresses


def test_window_8_compresses_runs() -> None:
    codec = PerMessageDeflate(is_client=False, server_max_window_bits=8)
    data = b"a" * 5000 + b"b" * 5000
    payload = codec.compress(data)
    assert len(payload) < 100
    assert strict_decode_stream([payload], 8) == [data]


@pytest.mark.parametrize("bits", [8, 9])
def test_decompressor_window_is_the_agreed_one(bits: int) -> None:
    # A 10-bit zlib stream refers 300 bytes back into the previous message,
    # which a 9-bit window holds and an 8-bit one does not.
    block = random.Random(34).randbytes(300)
    c = zlib.compressobj(6, zlib.DEFLATED, -10)
    payloads = [(c.compress(block) + c.flush(zlib.Z_SYNC_FLUSH))[:-4] for _ in range(2)]
    codec = PerMessageDeflate(is_client=True, server_max_window_bits=bits)
    assert codec.remote_max_window_bits == bits
    assert receive(codec, [payloads[0]]) == block
    if bits == 9:
        assert receive(codec, [payloads[1]]) == block
    else:
        with pytest.raises(ProtocolError) as info:
            receive(codec, [payloads[1]])
        assert str(info.value) == "invalid compressed data: invalid distance too far back"


@pytest.mark.parametrize("bits", range(8, 16))
def test_decompressor_with_remote_window(bits: int) -> None:
    sender = PerMessageDeflate(is_client=False, server_max_window_bits=bits)
    receiver = PerMessageDeflate(is_client=True, server_max_window_bits=bits)
    for seed in range(3):
        data = text_like(40 + seed, 5000)
        assert receive(receiver, [sender.compress(data)]) == data


# --------------------------------------------------------------------------
# options and codec construction


def test_options_defaults() -> None:
    options = DeflateOptions()
    assert options == DeflateOptions(False, False, None, None, 1, 5, 64)
    assert EXTENSION_NAME == "permessage-deflate"
    with pytest.raises(AttributeError):
        options.min_size = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"server_no_context_takeover": 1}, TypeError),
        ({"client_no_context_takeover": None}, TypeError),
        ({"server_max_window_bits": 7}, ValueError),
        ({"server_max_window_bits": 16}, ValueError),
        ({"client_max_window_bits": 0}, ValueError),
        ({"client_max_window_bits": "10"}, TypeError),
        ({"client_max_window_bits": True}, TypeError),
        ({"server_max_window_bits": 10.0}, TypeError),
        ({"compress_level": -1}, ValueError),
        ({"compress_level": 10}, ValueError),
        ({"mem_level": 0}, ValueError),
        ({"mem_level": 10}, ValueError),
        ({"min_size": -1}, ValueError),
        ({"min_size": None}, TypeError),
    ],
)
def test_options_validation(kwargs: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        DeflateOptions(**kwargs)  # type: ignore[arg-type]
    # the codec checks the same way (its window bits are never None)
    with pytest.raises(error):
        PerMessageDeflate(is_client=True, **kwargs)  # type: ignore[arg-type]


def test_options_accept_every_valid_value() -> None:
    for bits in (None, *range(8, 16)):
        DeflateOptions(server_max_window_bits=bits, client_max_window_bits=bits)
    for level in range(10):
        DeflateOptions(compress_level=level, mem_level=max(level, 1), min_size=level)


def test_codec_requires_window_and_role() -> None:
    with pytest.raises(TypeError):
        PerMessageDeflate(is_client=True, server_max_window_bits=None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        PerMessageDeflate(is_client=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        PerMessageDeflate(True)  # type: ignore[call-arg]


def test_codec_attributes_local_and_remote() -> None:
    kwargs = {
        "server_no_context_takeover": True,
        "client_no_context_takeover": False,
        "server_max_window_bits": 10,
        "client_max_window_bits": 12,
    }
    client = PerMessageDeflate(is_client=True, **kwargs)  # type: ignore[arg-type]
    server = PerMessageDeflate(is_client=False, **kwargs)  # type: ignore[arg-type]
    for codec in (client, server):
        for name, value in kwargs.items():
            assert getattr(codec, name) == value
    assert (client.local_no_context_takeover, client.remote_no_context_takeover) == (False, True)
    assert (client.local_max_window_bits, client.remote_max_window_bits) == (12, 10)
    assert (server.local_no_context_takeover, server.remote_no_context_takeover) == (True, False)
    assert (server.local_max_window_bits, server.remote_max_window_bits) == (10, 12)
    assert "server_max_window_bits=10" in repr(client)
    codec = PerMessageDeflate(is_client=True, compress_level=3, mem_level=7, min_size=9)
    assert (codec.compress_level, codec.mem_level, codec.min_size) == (3, 7, 9)


# --------------------------------------------------------------------------
# negotiation: offers and responses


def test_client_offer() -> None:
    assert client_offer(DeflateOptions()) == [(CMWB, None)]
    assert client_offer(
        DeflateOptions(True, True, 10, 12, compress_level=9, mem_level=9, min_size=0)
    ) == [(SNCT, None), (CNCT, None), (SMWB, "10"), (CMWB, "12")]
    assert client_offer(DeflateOptions(server_max_window_bits=8)) == [(SMWB, "8"), (CMWB, None)]


@pytest.mark.parametrize(
    ("server_options", "offer", "response"),
    [
        (DeflateOptions(), [(CMWB, None)], []),
        (DeflateOptions(), [], []),
        (DeflateOptions(), [(CNCT, None)], [(CNCT, None)]),
        (DeflateOptions(), [(CMWB, "10")], [(CMWB, "10")]),
        (
            DeflateOptions(),
            [(SNCT, None), (SMWB, "10"), (CMWB, "9")],
            [(SNCT, None), (SMWB, "10"), (CMWB, "9")],
        ),
        (DeflateOptions(), [(SMWB, "8")], [(SMWB, "8")]),
        (DeflateOptions(server_no_context_takeover=True), [], [(SNCT, None)]),
        (DeflateOptions(client_no_context_takeover=True), [], [(CNCT, None)]),
        (DeflateOptions(server_max_window_bits=12), [], [(SMWB, "12")]),
        (DeflateOptions(server_max_window_bits=12), [(SMWB, "14")], [(SMWB, "12")]),
        (DeflateOptions(server_max_window_bits=12), [(SMWB, "9")], [(SMWB, "9")]),
        (DeflateOptions(client_max_window_bits=12), [(CMWB, None)], [(CMWB, "12")]),
        (DeflateOptions(client_max_window_bits=12), [(CMWB, "13")], [(CMWB, "12")]),
        (DeflateOptions(client_max_window_bits=12), [(CMWB, "8")], [(CMWB, "8")]),
        (DeflateOptions(client_max_window_bits=12), [], None),
        (DeflateOptions(client_max_window_bits=12), [(SNCT, None)], None),
        (
            DeflateOptions(server_max_window_bits=12, client_max_window_bits=12),
            [(CMWB, None)],
            [(SMWB, "12"), (CMWB, "12")],
        ),
        # RFC 6455 §9.1: a quoted value arrives unescaped and counts as its token
        (DeflateOptions(), [(SMWB, "10")], [(SMWB, "10")]),
    ],
)
def test_server_response_known_answers(
    server_options: DeflateOptions, offer: Params, response: Params | None
) -> None:
    accepted = server_accept(server_options, [offer])
    if response is None:
        assert accepted is None
        return
    assert accepted is not None
    assert accepted[0] == response
    codec = accepted[1]
    assert codec.is_client is False
    # the response is what the codec uses, and a client accepts it
    names = dict(response)
    assert codec.server_no_context_takeover == (SNCT in names)
    assert codec.client_no_context_takeover == (CNCT in names)
    assert codec.server_max_window_bits == int(names.get(SMWB) or 15)
    assert codec.client_max_window_bits == int(names.get(CMWB) or 15)


def test_server_picks_first_acceptable_offer() -> None:
    offers: list[Params] = [
        [("x-unknown", None)],
        [(SMWB, "09")],
        [(SMWB, "11"), (CNCT, None)],
        [(SMWB, "10")],
    ]
    accepted = server_accept(DeflateOptions(), offers)
    assert accepted is not None
    assert accepted[0] == [(CNCT, None), (SMWB, "11")]
    assert server_accept(DeflateOptions(), []) is None
    # a server that requires a client window limit skips offers without one
    accepted = server_accept(
        DeflateOptions(client_max_window_bits=10), [[(SNCT, None)], [(CMWB, None)]]
    )
    assert accepted is not None
    assert accepted[0] == [(CMWB, "10")]


BAD_VALUES: list[str | None] = [
    "7",
    "16",
    "0",
    "08",
    "09",
    "010",
    "015",
    "+9",
    "-9",
    " 9",
    "9 ",
    "9.0",
    "0x9",
    "\u0669",  # ARABIC-INDIC DIGIT NINE: str.isdigit() is true
    "\uff19",  # FULLWIDTH DIGIT NINE
    "",
    "abc",
    "1e1",
    "1_0",
    "10\x00",
]

BAD_PARAMS: list[Params] = [
    [("x-foo", None)],
    [("x-foo", "1")],
    [("Server_No_Context_Takeover", None)],
    [("server_max_window_bits ", "10")],
    [(SNCT, None), (SNCT, None)],
    [(CNCT, None), (CNCT, None)],
    [(SMWB, "10"), (SMWB, "10")],
    [(SMWB, "10"), (SMWB, "11")],
    [(CMWB, "10"), (CMWB, "10")],
    [(SNCT, None), (CNCT, None), (SNCT, None)],
    [(SNCT, "")],
    [(SNCT, "1")],
    [(CNCT, "true")],
    [(SMWB, None)],
    *[[(SMWB, v)] for v in BAD_VALUES],
    *[[(CMWB, v)] for v in BAD_VALUES],
]


@pytest.mark.parametrize("params", BAD_PARAMS)
def test_invalid_offer_is_declined(params: Params) -> None:
    assert server_accept(DeflateOptions(), [params]) is None
    accepted = server_accept(DeflateOptions(), [params, [(CNCT, None)]])
    assert accepted is not None and accepted[0] == [(CNCT, None)]


@pytest.mark.parametrize("params", [*BAD_PARAMS, [(CMWB, None)]])
def test_invalid_response_fails_1010(params: Params) -> None:
    with pytest.raises(ProtocolError) as info:
        client_accept(DeflateOptions(), params)
    assert info.value.code == 1010
    assert str(info.value).startswith("invalid permessage-deflate response: ")


def test_duplicate_message_text() -> None:
    with pytest.raises(ProtocolError) as info:
        client_accept(DeflateOptions(), [(SNCT, None), (SNCT, None)])
    assert str(info.value) == (
        "invalid permessage-deflate response: duplicate parameter 'server_no_context_takeover'"
    )
    with pytest.raises(ProtocolError) as info:
        client_accept(DeflateOptions(), [(SMWB, "08")])
    assert str(info.value) == (
        "invalid permessage-deflate response: invalid server_max_window_bits value '08' "
        "(must be 8 to 15)"
    )


def test_valueless_client_max_window_bits_only_in_offers() -> None:
    accepted = server_accept(DeflateOptions(), [[(CMWB, None)]])
    assert accepted is not None and accepted[0] == []
    with pytest.raises(ProtocolError) as info:
        client_accept(DeflateOptions(), [(CMWB, None)])
    assert str(info.value) == (
        "invalid permessage-deflate response: client_max_window_bits requires a value"
    )


def test_client_requires_confirmation_of_its_requests() -> None:
    snct = DeflateOptions(server_no_context_takeover=True)
    with pytest.raises(ProtocolError) as info:
        client_accept(snct, [])
    assert info.value.code == 1010
    assert "server_no_context_takeover" in str(info.value)
    assert client_accept(snct, [(SNCT, None)]).server_no_context_takeover is True

    smwb = DeflateOptions(server_max_window_bits=10)
    responses: list[Params] = [[], [(SMWB, "11")], [(SMWB, "15")], [(CNCT, None)]]
    for response in responses:
        with pytest.raises(ProtocolError) as info:
            client_accept(smwb, response)
        assert info.value.code == 1010
        assert "server_max_window_bits" in str(info.value)
    for value in ("8", "9", "10"):
        codec = client_accept(smwb, [(SMWB, value)])
        assert codec.server_max_window_bits == codec.remote_max_window_bits == int(value)


def test_client_accepts_server_initiated_parameters() -> None:
    codec = client_accept(DeflateOptions(), [(SNCT, None), (CNCT, None), (SMWB, "9"), (CMWB, "11")])
    assert codec.is_client is True
    assert (codec.local_no_context_takeover, codec.remote_no_context_takeover) == (True, True)
    assert (codec.local_max_window_bits, codec.remote_max_window_bits) == (11, 9)
    codec = client_accept(DeflateOptions(), [])
    assert (codec.local_max_window_bits, codec.remote_max_window_bits) == (15, 15)
    assert (codec.local_no_context_takeover, codec.remote_no_context_takeover) == (False, False)


def test_client_window_is_the_smaller_of_offer_and_response() -> None:
    options = DeflateOptions(client_max_window_bits=10)
    assert client_accept(options, [(CMWB, "12")]).client_max_window_bits == 10
    assert client_accept(options, [(CMWB, "9")]).client_max_window_bits == 9
    assert client_accept(options, []).client_max_window_bits == 10
    codec = client_accept(DeflateOptions(client_max_window_bits=8), [])
    assert codec.local_max_window_bits == 8
    payloads = [codec.compress(m) for m in (text_like(50, 4000), text_like(50, 4000))]
    assert strict_decode_stream(payloads, 8) == [text_like(50, 4000)] * 2


def test_client_no_context_takeover_from_options_or_response() -> None:
    assert client_accept(
        DeflateOptions(client_no_context_takeover=True), []
    ).local_no_context_takeover
    codec = client_accept(DeflateOptions(), [(CNCT, None)])
    assert codec.compress(b"Hello") == codec.compress(b"Hello") == HELLO


def test_codec_settings_come_from_options() -> None:
    options = DeflateOptions(compress_level=9, mem_level=8, min_size=0)
    client = client_accept(options, [])
    accepted = server_accept(options, [[]])
    assert accepted is not None
    for codec in (client, accepted[1]):
        assert (codec.compress_level, codec.mem_level, codec.min_size) == (9, 8, 0)


def test_server_response_with_window_8_is_honoured() -> None:
    accepted = server_accept(DeflateOptions(), [[(SMWB, "8"), (CMWB, "8")]])
    assert accepted is not None
    response, server = accepted
    assert response == [(SMWB, "8"), (CMWB, "8")]
    assert server.local_max_window_bits == server.remote_max_window_bits == 8
    messages = [text_like(51, 5000), text_like(51, 5000)]
    assert strict_decode_stream([server.compress(m) for m in messages], 8) == messages


# --------------------------------------------------------------------------
# the whole negotiation matrix, end to end

WINDOW_CHOICES_S = (None, 8, 10, 15)
WINDOW_CHOICES_C = (None, 8, 11, 15)
ALL_OPTIONS = [
    DeflateOptions(
        server_no_context_takeover=a,
        client_no_context_takeover=b,
        server_max_window_bits=c,
        client_max_window_bits=d,
    )
    for a, b, c, d in itertools.product(
        (False, True), (False, True), WINDOW_CHOICES_S, WINDOW_CHOICES_C
    )
]
MATRIX_MESSAGES = [text_like(60, 700), text_like(60, 700), text_like(61, 300), b""]


def _eff(bits: int | None) -> int:
    return 15 if bits is None else bits


def _agreed(codec: PerMessageDeflate) -> tuple[bool, bool, int, int]:
    return (
        codec.server_no_context_takeover,
        codec.client_no_context_takeover,
        codec.server_max_window_bits,
        codec.client_max_window_bits,
    )


def test_negotiation_matrix() -> None:
    """Every client configuration against every server configuration: the
    negotiation succeeds, both ends agree, every request is honoured and the
    tighter of two window limits wins; then messages cross both ways."""
    for copt in ALL_OPTIONS:
        offer = client_offer(copt)
        for sopt in ALL_OPTIONS:
            accepted = server_accept(sopt, [offer])
            assert accepted is not None, (copt, sopt)
            response, server = accepted
            client = client_accept(copt, response)
            expected = (
                copt.server_no_context_takeover or sopt.server_no_context_takeover,
                copt.client_no_context_takeover or sopt.client_no_context_takeover,
                min(_eff(copt.server_max_window_bits), _eff(sopt.server_max_window_bits)),
                min(_eff(copt.client_max_window_bits), _eff(sopt.client_max_window_bits)),
            )
            assert _agreed(server) == _agreed(client) == expected, (copt, sopt, response)
            names = [name for name, _ in response]
            assert len(names) == len(set(names))
            assert (SMWB in names) == (
                copt.server_max_window_bits is not None or sopt.server_max_window_bits is not None
            )
            assert (CMWB in names) == (
                copt.client_max_window_bits is not None or sopt.client_max_window_bits is not None
            )
            for sender, receiver in ((server, client), (client, server)):
                for message in MATRIX_MESSAGES:
                    assert receive(receiver, [sender.compress(message)]) == message


# --------------------------------------------------------------------------
# properties

options_strategy = st.builds(
    DeflateOptions,
    server_no_context_takeover=st.booleans(),
    client_no_context_takeover=st.booleans(),
    server_max_window_bits=st.none() | st.integers(8, 15),
    client_max_window_bits=st.none() | st.integers(8, 15),
    compress_level=st.integers(0, 9),
    mem_level=st.integers(1, 9),
)
payload_strategy = st.one_of(
    st.binary(max_size=3000),
    st.builds(text_like, st.integers(0, 1000), st.integers(0, 6000)),
    st.builds(lambda b, n: b * n, st.binary(min_size=1, max_size=40), st.integers(1, 300)),
    # incompressible and over the 4096-byte join limit of final fragments
    st.builds(rng_bytes, st.integers(0, 1000), st.integers(4000, 12000)),
)


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:])]


PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(
    data=payload_strategy,
    cuts=st.lists(st.integers(0, 10**6), max_size=8),
    level=st.integers(0, 9),
    bits=st.integers(9, 15),
)
def test_fragmented_decompression_equals_one_shot(
    data: bytes, cuts: list[int], level: int, bits: int
) -> None:
    # the payload comes from plain zlib, independent of the codec
    c = zlib.compressobj(level, zlib.DEFLATED, -bits)
    stream = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
    assert stream.endswith(TAIL)
    payload = stream[:-4]
    one_shot = PerMessageDeflate(is_client=True, server_max_window_bits=bits)
    fragmented = PerMessageDeflate(is_client=True, server_max_window_bits=bits)
    assert receive(one_shot, [payload]) == data
    assert receive(fragmented, split(payload, cuts)) == data
    # and the context carries on identically for a following message
    stream2 = c.compress(data[:100]) + c.flush(zlib.Z_SYNC_FLUSH)
    assert receive(one_shot, [stream2[:-4]]) == data[:100]
    assert receive(fragmented, split(stream2[:-4], cuts)) == data[:100]


@PROPERTY
@given(
    client_options=options_strategy,
    server_options=options_strategy,
    messages=st.lists(payload_strategy, min_size=1, max_size=4),
    cuts=st.lists(st.integers(0, 10**6), max_size=5),
)
def test_round_trip_every_parameter_set(
    client_options: DeflateOptions,
    server_options: DeflateOptions,
    messages: list[bytes],
    cuts: list[int],
) -> None:
    client, server, _ = pair(client_options, server_options)
    for sender, receiver in ((client, server), (server, client)):
        payloads = [sender.compress(m) for m in messages]
        # independent decoders: plain zlib, and strict at the agreed window
        assert zlib_decode_stream(payloads) == messages
        if sum(map(len, messages)) < 3000:
            assert strict_decode_stream(payloads, sender.local_max_window_bits) == messages
        if sender.local_no_context_takeover:
            for p, m in zip(payloads, messages):
                assert zlib_decode_stream([p]) == [m]
        for p, m in zip(payloads, messages):
            assert receive(receiver, split(p, cuts), len(m)) == m


@settings(max_examples=200, deadline=None)
@given(data=payload_strategy, extra=st.integers(1, 50))
def test_max_size_property(data: bytes, extra: int) -> None:
    payload = PerMessageDeflate(is_client=False).compress(data)
    assert receive(PerMessageDeflate(is_client=True), [payload], len(data)) == data
    if data:
        with pytest.raises(ProtocolError) as info:
            receive(PerMessageDeflate(is_client=True), [payload], max(len(data) - extra, 0))
        assert info.value.code == 1009


# --------------------------------------------------------------------------
# memory per connection (figures of the DeflateOptions docstring)


def _retained(func: object) -> int:
    assert callable(func)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        keep = func()
        used = tracemalloc.get_traced_memory()[0] - base
        del keep
        return used
    finally:
        tracemalloc.stop()


def test_codec_allocates_zlib_state_lazily() -> None:
    assert _retained(lambda: pair()[:2]) < 16 << 10


def test_compressor_memory_defaults_and_window_12() -> None:
    def default_compressor() -> PerMessageDeflate:
        codec = PerMessageDeflate(is_client=False)
        codec.compress(text_like(70, 50000))
        return codec

    def small_compressor() -> PerMessageDeflate:
        codec = PerMessageDeflate(is_client=False, server_max_window_bits=12)
        codec.compress(text_like(70, 50000))
        return codec

    default = _retained(default_compressor)
    assert 100 << 10 < default < 170 << 10  # ~150 KiB
    assert _retained(small_compressor) < 45 << 10  # ~38 KiB


def test_decompressor_released_without_peer_context_takeover() -> None:
    data = text_like(71, 50000)
    payload = PerMessageDeflate(is_client=False, server_no_context_takeover=True).compress(data)

    def receiver(nct: bool) -> PerMessageDeflate:
        codec = PerMessageDeflate(is_client=True, server_no_context_takeover=nct)
        assert receive(codec, [payload]) == data
        return codec

    assert _retained(lambda: receiver(True)) < 4 << 10
    assert 32 << 10 < _retained(lambda: receiver(False)) < 48 << 10  # ~39 KiB


# --------------------------------------------------------------------------
# interoperability with the websockets package (a peer implementation)


def _ws(module: str) -> Any:
    return pytest.importorskip(f"websockets.{module}")


def _ws_exchange(ours: PerMessageDeflate, theirs: Any) -> None:
    frame_cls, opcode = _ws("frames").Frame, _ws("frames").Opcode
    for message in (text_like(80, 3000), text_like(80, 3000), b"", rng_bytes(81, 500)):
        wire = ours.compress(message)
        decoded = theirs.decode(frame_cls(opcode.BINARY, wire, fin=True, rsv1=True), max_size=None)
        assert decoded.data == message
        encoded = theirs.encode(frame_cls(opcode.BINARY, message))
        assert encoded.rsv1
        assert receive(ours, [bytes(encoded.data)]) == message


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"server_no_context_takeover": True, "client_no_context_takeover": True},
        {"server_max_window_bits": 10, "client_max_window_bits": 11},
    ],
)
def test_interop_websockets_client_our_server(kwargs: dict[str, object]) -> None:
    factory = _ws("extensions.permessage_deflate").ClientPerMessageDeflateFactory(**kwargs)
    offer = [(name, value) for name, value in factory.get_request_params()]
    accepted = server_accept(DeflateOptions(server_max_window_bits=12), [offer])
    assert accepted is not None
    response, ours = accepted
    theirs = factory.process_response_params(response, [])
    _ws_exchange(ours, theirs)


@pytest.mark.parametrize(
    "options",
    [
        DeflateOptions(),
        DeflateOptions(server_no_context_takeover=True, client_no_context_takeover=True),
        DeflateOptions(server_max_window_bits=9, client_max_window_bits=10),
    ],
)
def test_interop_our_client_websockets_server(options: DeflateOptions) -> None:
    factory = _ws("extensions.permessage_deflate").ServerPerMessageDeflateFactory(
        server_max_window_bits=12, client_max_window_bits=12
    )
    response, theirs = factory.process_request_params(client_offer(options), [])
    ours = client_accept(options, [(name, value) for name, value in response])
    _ws_exchange(ours, theirs)


def test_os_urandom_round_trip_large() -> None:
    client, server, _ = pair()
    data = os.urandom(300_000)
    payload = server.compress(data)
    assert receive(client, [payload[:1000], payload[1000:]], len(data)) == data
