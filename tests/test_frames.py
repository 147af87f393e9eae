"""The frame kernel (RFC 6455 section 5.2) on both backends.

* ``parse_header`` -- every length encoding and its boundaries (7/16/64 bit,
  RFC 6455 5.2), masked and unmasked, offsets, every incomplete prefix, the
  64-bit most-significant-bit rule.
* ``build_frame`` -- the RFC 6455 5.7 examples byte for byte, minimal length
  encoding at every boundary, masking (5.3), argument errors.
* ``Frame`` -- value semantics (equality, hash, repr, immutability, pickle).
* ``FrameParser`` -- any chunking gives the same frames; every rule of 5.1,
  5.2 and 5.5 with its exact message and close code, in the documented order;
  frames before a violation are delivered first; ``max_frame_size`` is
  enforced from the header alone; large payloads in many chunks.
* Hypothesis: random frame sequences (reserved opcodes, RSV bits, wrong
  masking, oversized control frames and frames) cut at random places are
  parsed as an independent model of the rules predicts, by both backends
  alike; random garbage gives identical results on both backends.

Oracles are independent of the code under test: frames are encoded by hand
(``encode`` below, which can also produce non-minimal and illegal length
fields) and unmasked by a byte loop / big-int XOR written here.
"""

from __future__ import annotations

import array
import copy
import importlib
import inspect
import os
import pickle
import random
from typing import Any, Iterator, Optional

import pytest
from conftest import BACKEND_IDS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastws.exceptions import ProtocolError
from fastws.frames import FrameHeader

SETTINGS = settings(
    max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
MSB_MESSAGE = "64-bit payload length has its most significant bit set"
KEY = b"\x37\xfa\x21\x3d"  # the masking key of RFC 6455 5.7

Outcome = tuple[list[tuple[int, bytes, bool, int]], Optional[tuple[str, str, int]]]


# --------------------------------------------------------------- oracles


def xor(data: bytes, key: bytes, phase: int = 0) -> bytes:
    """RFC 6455 5.3 by the book (a byte loop), for small inputs."""
    return bytes(b ^ key[(phase + i) % 4] for i, b in enumerate(data))


def xor_big(data: bytes, key: bytes) -> bytes:
    """RFC 6455 5.3 for large inputs (whole-buffer integer XOR)."""
    n = len(data)
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big")


def encode(
    opcode: int,
    payload: bytes,
    fin: bool = True,
    rsv: int = 0,
    key: bytes | None = None,
    length: int | None = None,
    width: int | None = None,
) -> bytes:
    """Encode a frame by hand (RFC 6455 5.2).

    ``length`` overrides the length field (the payload is still appended as
    given), ``width`` forces the 7/16/64-bit encoding even when not minimal.
    """
    n = len(payload) if length is None else length
    if width is None:
        width = 7 if n < 126 else (16 if n < 65536 else 64)
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    bit = 0x80 if key is not None else 0
    if width == 7:
        head = bytes([first, bit | n])
    elif width == 16:
        head = bytes([first, bit | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([first, bit | 127]) + n.to_bytes(8, "big")
    if key is None:
        return head + payload
    return head + key + xor_big(payload, key)


def as_tuple(frame: Any) -> tuple[int, bytes, bool, int]:
    return (frame.opcode, frame.payload, frame.fin, frame.rsv)


def error_tuple(exc: BaseException) -> tuple[str, str, int]:
    return (type(exc).__name__, str(exc), getattr(exc, "code", -1))


def run(parser: Any, chunks: list[bytes]) -> Outcome:
    """Feed ``chunks``; the frames delivered and the error (also a deferred one)."""
    frames: list[tuple[int, bytes, bool, int]] = []
    for chunk in chunks:
        try:
            frames.extend(as_tuple(f) for f in parser.feed(chunk))
        except ProtocolError as exc:
            assert parser.error is exc
            return frames, error_tuple(exc)
    if parser.error is not None:
        with pytest.raises(ProtocolError) as info:
            parser.feed(b"")
        assert info.value is parser.error
        return frames, error_tuple(info.value)
    return frames, None


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:])]


def buffer_forms(data: bytes) -> Iterator[Any]:
    """``data`` as every kind of bytes-like object, some at odd offsets."""
    yield data
    yield bytearray(data)
    yield memoryview(data)
    for offset in (1, 3, 7):
        backing = bytearray(b"\xaa" * offset + data + b"\x55" * 5)
        yield memoryview(backing)[offset : offset + len(data)]
    yield array.array("B", data)


# --------------------------------------------------------------- constants


def test_opcodes(backend: Any) -> None:
    f = backend.frames
    assert (f.OP_CONT, f.OP_TEXT, f.OP_BINARY) == (0, 1, 2)
    assert (f.OP_CLOSE, f.OP_PING, f.OP_PONG) == (8, 9, 10)


def test_frame_header_is_the_shared_namedtuple(backend: Any) -> None:
    assert backend.frames.FrameHeader is FrameHeader
    assert FrameHeader._fields == ("fin", "rsv", "opcode", "mask", "length", "header_size")


# --------------------------------------------------------------- parse_header

LENGTHS = [0, 1, 125, 126, 127, 65535, 65536, 2**32, 2**63 - 1]


@pytest.mark.parametrize("length", LENGTHS)
@pytest.mark.parametrize("key", [None, KEY])
def test_parse_header_lengths(backend: Any, length: int, key: bytes | None) -> None:
    head = encode(2, b"", key=key, length=length)
    width = 0 if length < 126 else (2 if length < 65536 else 8)
    size = 2 + width + (4 if key else 0)
    assert len(head) == size
    header = backend.frames.parse_header(head)
    assert header == FrameHeader(True, 0, 2, key, length, size)
    assert type(header) is FrameHeader
    assert type(header.fin) is bool
    # the payload that follows is not looked at
    assert backend.frames.parse_header(head + b"\xff" * 20) == header


@pytest.mark.parametrize("width", [16, 64])
def test_parse_header_accepts_non_minimal_lengths(backend: Any, width: int) -> None:
    head = encode(1, b"", length=5, width=width)
    assert backend.frames.parse_header(head) == FrameHeader(True, 0, 1, None, 5, len(head))


@pytest.mark.parametrize("first", [0x00, 0x0F, 0x80, 0x8F, 0x70, 0xF0, 0x41, 0xA9, 0xFF])
def test_parse_header_first_byte(backend: Any, first: int) -> None:
    header = backend.frames.parse_header(bytes([first, 0x00]))
    assert header == FrameHeader(bool(first & 0x80), (first >> 4) & 7, first & 0xF, None, 0, 2)


@pytest.mark.parametrize("key", [None, KEY])
def test_parse_header_msb(backend: Any, key: bytes | None) -> None:
    for length in (2**63, 2**64 - 1, 2**63 + 12345):
        head = encode(2, b"", key=key, length=length, width=64)
        with pytest.raises(ProtocolError) as info:
            backend.frames.parse_header(head)
        assert str(info.value) == MSB_MESSAGE
        assert info.value.code == 1002
    # an incomplete header is "need more", even when the length is already wrong
    head = encode(2, b"", key=KEY, length=2**63, width=64)
    for k in range(len(head)):
        assert backend.frames.parse_header(head[:k]) is None


HEADERS = [
    encode(1, b"", length=0),
    encode(1, b"", key=KEY, length=125),
    encode(8, b"", length=126),
    encode(2, b"", key=KEY, length=65535),
    encode(2, b"", length=65536),
    encode(0, b"", key=KEY, length=2**40),
]


@pytest.mark.parametrize("head", HEADERS)
def test_parse_header_incomplete(backend: Any, head: bytes) -> None:
    for k in range(len(head)):
        assert backend.frames.parse_header(head[:k]) is None
        assert backend.frames.parse_header(b"xyz" + head[:k], 3) is None
    assert backend.frames.parse_header(head).header_size == len(head)


@pytest.mark.parametrize("head", HEADERS)
def test_parse_header_offsets_and_buffers(backend: Any, head: bytes) -> None:
    expected = backend.frames.parse_header(head)
    for prefix in (0, 1, 2, 3, 5, 8, 13):
        data = os.urandom(prefix) + head + b"payload"
        for form in buffer_forms(data):
            assert backend.frames.parse_header(form, prefix) == expected
            assert backend.frames.parse_header(form, offset=prefix) == expected
    assert backend.frames.parse_header(head, len(head)) is None
    assert backend.frames.parse_header(b"", 0) is None


def test_parse_header_offset_errors(backend: Any) -> None:
    data = encode(1, b"hi")
    for offset in (-1, -100, len(data) + 1, 2**70, -(2**70)):
        with pytest.raises(ValueError, match="^offset is outside the buffer$"):
            backend.frames.parse_header(data, offset)
    with pytest.raises(TypeError):
        backend.frames.parse_header(data, 1.0)
    with pytest.raises(TypeError):
        backend.frames.parse_header(data, "1")
    # __index__ and bool are ints
    assert backend.frames.parse_header(b"\x00" + data, True) == backend.frames.parse_header(data)


def test_parse_header_type_errors(backend: Any) -> None:
    for bad in ("\x81\x00", 5, None, [0x81, 0], memoryview(bytearray(8))[::2]):
        with pytest.raises(TypeError) as info:
            backend.frames.parse_header(bad)
        assert str(info.value) == "data must be a contiguous bytes-like object"


# --------------------------------------------------------------- build_frame

# RFC 6455 5.7 examples
RFC_EXAMPLES = [
    (dict(opcode=1, payload=b"Hello"), bytes.fromhex("810548656c6c6f")),
    (dict(opcode=1, payload=b"Hello", mask=KEY), bytes.fromhex("818537fa213d7f9f4d5158")),
    (dict(opcode=1, payload=b"Hel", fin=False), bytes.fromhex("010348656c")),
    (dict(opcode=0, payload=b"lo"), bytes.fromhex("80026c6f")),
    (dict(opcode=9, payload=b"Hello"), bytes.fromhex("890548656c6c6f")),
    (dict(opcode=10, payload=b"Hello", mask=KEY), bytes.fromhex("8a8537fa213d7f9f4d5158")),
    (dict(opcode=2, payload=bytes(256)), bytes.fromhex("827e0100") + bytes(256)),
    (dict(opcode=2, payload=bytes(65536)), bytes.fromhex("827f0000000000010000") + bytes(65536)),
]


@pytest.mark.parametrize(("kwargs", "wire"), RFC_EXAMPLES)
def test_build_frame_rfc_examples(backend: Any, kwargs: dict[str, Any], wire: bytes) -> None:
    assert backend.frames.build_frame(**kwargs) == wire


@pytest.mark.parametrize(("kwargs", "wire"), RFC_EXAMPLES)
def test_parser_rfc_examples(backend: Any, kwargs: dict[str, Any], wire: bytes) -> None:
    masked = "mask" in kwargs
    parser = backend.frames.FrameParser(mask_expected=masked, max_frame_size=1 << 17)
    (frame,) = parser.feed(wire)
    assert as_tuple(frame) == (kwargs["opcode"], kwargs["payload"], kwargs.get("fin", True), 0)


@pytest.mark.parametrize(
    "n",
    [
        0,
        1,
        3,
        4,
        5,
        7,
        8,
        15,
        16,
        17,
        63,
        64,
        65,
        125,
        126,
        127,
        1000,
        65535,
        65536,
        65537,
        200_000,
    ],
)
@pytest.mark.parametrize("key", [None, KEY, b"\x00\x00\x00\x00", b"\xff\x01\x80\x7f"])
def test_build_frame_lengths(backend: Any, n: int, key: bytes | None) -> None:
    payload = os.urandom(n)
    wire = backend.frames.build_frame(2, payload, mask=key)
    assert wire == encode(2, payload, key=key)
    header = backend.frames.parse_header(wire)
    assert header.length == n
    assert header.mask == key
    assert len(wire) == header.header_size + n


def test_build_frame_fields_round_trip(backend: Any) -> None:
    frames = backend.frames
    for opcode in range(16):
        for rsv in range(8):
            for fin in (False, True):
                for key in (None, b"\x01\x02\x03\x04"):
                    wire = frames.build_frame(opcode, b"abc", fin, rsv, key)
                    assert wire == encode(opcode, b"abc", fin, rsv, key)
                    assert frames.parse_header(wire) == FrameHeader(
                        fin, rsv, opcode, key, 3, 6 if key else 2
                    )


def test_build_frame_buffers(backend: Any) -> None:
    payload = os.urandom(300)
    expected = encode(1, payload, key=KEY)
    for form in buffer_forms(payload):
        assert backend.frames.build_frame(1, form, mask=KEY) == expected
    for form in buffer_forms(KEY):
        assert backend.frames.build_frame(1, payload, mask=form) == expected
    assert backend.frames.build_frame(1, array.array("H", [0x4142]), mask=None) == encode(
        1, array.array("H", [0x4142]).tobytes()
    )


def test_build_frame_truthiness_and_index(backend: Any) -> None:
    class Index:
        def __index__(self) -> int:
            return 2

    build = backend.frames.build_frame
    assert build(Index(), b"x", 1, Index()) == encode(2, b"x", True, 2)
    assert build(True, b"x", [], False) == encode(1, b"x", False, 0)
    assert build(opcode=1, payload=b"x", fin=0, rsv=True) == encode(1, b"x", False, 1)


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        ((16, b""), ValueError, "opcode must be between 0 and 15"),
        ((-1, b""), ValueError, "opcode must be between 0 and 15"),
        ((2**64, b""), ValueError, "opcode must be between 0 and 15"),
        ((1, b"", True, 8), ValueError, "rsv must be between 0 and 7"),
        ((1, b"", True, -1), ValueError, "rsv must be between 0 and 7"),
        ((1, b"", True, 2**100), ValueError, "rsv must be between 0 and 7"),
        ((1, "text"), TypeError, "payload must be a contiguous bytes-like object"),
        ((1, None), TypeError, "payload must be a contiguous bytes-like object"),
        ((1, 5), TypeError, "payload must be a contiguous bytes-like object"),
        ((1, b"", True, 0, b"abc"), ValueError, "mask must be exactly 4 bytes"),
        ((1, b"", True, 0, b"abcde"), ValueError, "mask must be exactly 4 bytes"),
        ((1, b"", True, 0, b""), ValueError, "mask must be exactly 4 bytes"),
        ((1, b"", True, 0, bytearray(5)), ValueError, "mask must be exactly 4 bytes"),
        ((1, b"", True, 0, "abcd"), TypeError, "mask must be a contiguous bytes-like object"),
        ((1, b"", True, 0, 1234), TypeError, "mask must be a contiguous bytes-like object"),
        # the documented order of the checks
        ((16, "x", True, 9, b""), ValueError, "opcode must be between 0 and 15"),
        ((1, "x", True, 9, b""), ValueError, "rsv must be between 0 and 7"),
        ((1, "x", True, 0, b""), TypeError, "payload must be a contiguous bytes-like object"),
    ],
)
def test_build_frame_errors(backend: Any, args: tuple[Any, ...], error: type, message: str) -> None:
    with pytest.raises(error) as info:
        backend.frames.build_frame(*args)
    assert type(info.value) is error
    assert str(info.value) == message


def test_build_frame_non_int_opcode(backend: Any) -> None:
    for bad in (1.0, "1", None):
        with pytest.raises(TypeError):
            backend.frames.build_frame(bad, b"")
        with pytest.raises(TypeError):
            backend.frames.build_frame(1, b"", True, bad)


def test_build_frame_large_masked(backend: Any) -> None:
    # big enough for the compiled backend to release the GIL while masking
    payload = os.urandom((3 << 20) + 3)
    wire = backend.frames.build_frame(2, payload, mask=KEY)
    assert wire[:14] == encode(2, b"", key=KEY, length=len(payload))
    assert wire[14:] == xor_big(payload, KEY)
    assert backend.frames.build_frame(2, payload)[10:] == payload


# --------------------------------------------------------------- Frame


def test_frame_value_semantics(backend: Any) -> None:
    Frame = backend.frames.Frame
    frame = Frame(1, b"hello")
    assert as_tuple(frame) == (1, b"hello", True, 0)
    assert type(frame.fin) is bool
    assert type(frame.payload) is bytes
    assert frame == Frame(1, b"hello", True, 0)
    assert frame == Frame(opcode=1, payload=bytearray(b"hello"), fin=1, rsv=0)
    assert (frame != Frame(1, b"hello")) is False
    assert frame != Frame(1, b"hello", False)
    assert frame != Frame(2, b"hello")
    assert frame != Frame(1, b"hellO")
    assert frame != Frame(1, b"hello", True, 4)
    assert frame != (1, b"hello", True, 0)
    assert (frame == "x") is False
    assert hash(frame) == hash(Frame(1, b"hello"))
    assert len({frame, Frame(1, b"hello"), Frame(9, b"")}) == 2
    assert Frame.__match_args__ == ("opcode", "payload", "fin", "rsv")


def test_frame_repr(backend: Any) -> None:
    Frame = backend.frames.Frame
    assert repr(Frame(1, b"hi")) == "Frame(opcode=1, payload=b'hi', fin=True, rsv=0)"
    assert repr(Frame(9, b"", False, 5)) == "Frame(opcode=9, payload=b'', fin=False, rsv=5)"
    assert repr(Frame(2, b"a" * 64)) == f"Frame(opcode=2, payload={b'a' * 64!r}, fin=True, rsv=0)"
    assert (
        repr(Frame(2, b"a" * 65 + b"z" * 1000))
        == f"Frame(opcode=2, payload={b'a' * 64!r}...(1065 bytes), fin=True, rsv=0)"
    )


def test_frame_is_immutable(backend: Any) -> None:
    frame = backend.frames.Frame(1, b"x")
    for name in ("opcode", "payload", "fin", "rsv", "other"):
        with pytest.raises(AttributeError):
            setattr(frame, name, 2)
        with pytest.raises(AttributeError):
            delattr(frame, name)
    assert as_tuple(frame) == (1, b"x", True, 0)


def test_frame_pickle_and_copy(backend: Any) -> None:
    frame = backend.frames.Frame(10, b"\x00\xff", False, 3)
    for clone in (pickle.loads(pickle.dumps(frame)), copy.copy(frame), copy.deepcopy(frame)):
        assert type(clone) is type(frame)
        assert clone == frame


def test_frame_signature(backend: Any) -> None:
    sig = inspect.signature(backend.frames.Frame)
    assert list(sig.parameters) == ["opcode", "payload", "fin", "rsv"]
    assert sig.parameters["fin"].default is True
    assert sig.parameters["rsv"].default == 0
    sig = inspect.signature(backend.frames.FrameParser)
    assert list(sig.parameters) == ["mask_expected", "max_frame_size", "allowed_rsv"]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in sig.parameters.values())
    assert sig.parameters["max_frame_size"].default == 1 << 20


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        ((16, b""), ValueError, "opcode must be between 0 and 15"),
        ((1, b"", True, 8), ValueError, "rsv must be between 0 and 7"),
        ((1, "x"), TypeError, "payload must be a contiguous bytes-like object"),
        ((-1, "x", True, 9), ValueError, "opcode must be between 0 and 15"),
        ((1, "x", True, 9), TypeError, "payload must be a contiguous bytes-like object"),
    ],
)
def test_frame_errors(backend: Any, args: tuple[Any, ...], error: type, message: str) -> None:
    with pytest.raises(error) as info:
        backend.frames.Frame(*args)
    assert str(info.value) == message


# --------------------------------------------------------------- FrameParser basics


def parser_of(backend: Any, **kwargs: Any) -> Any:
    kwargs.setdefault("mask_expected", True)
    return backend.frames.FrameParser(**kwargs)


def test_parser_constructor_errors(backend: Any) -> None:
    FrameParser = backend.frames.FrameParser
    for bad in (-1, 2**63, 2**100):
        with pytest.raises(ValueError) as info:
            FrameParser(mask_expected=True, max_frame_size=bad)
        assert str(info.value) == "max_frame_size must be between 0 and 2**63 - 1"
    for bad in (-1, 8, 2**80):
        with pytest.raises(ValueError) as info:
            FrameParser(mask_expected=True, allowed_rsv=bad)
        assert str(info.value) == "allowed_rsv must be between 0 and 7"
    with pytest.raises(TypeError):
        FrameParser(mask_expected=True, max_frame_size=1.5)
    with pytest.raises(TypeError):
        FrameParser(True)  # keyword-only
    with pytest.raises(TypeError):
        FrameParser()
    FrameParser(mask_expected=0, max_frame_size=2**63 - 1, allowed_rsv=7)
    FrameParser(mask_expected=[], max_frame_size=0)


def test_parser_not_picklable(backend: Any) -> None:
    with pytest.raises(TypeError):
        pickle.dumps(parser_of(backend))


def test_parser_data_types(backend: Any) -> None:
    wire = encode(1, b"hello", key=KEY) + encode(2, b"\x00" * 200, key=b"abcd")
    for form in buffer_forms(wire):
        parser = parser_of(backend)
        assert [as_tuple(f) for f in parser.feed(form)] == [
            (1, b"hello", True, 0),
            (2, b"\x00" * 200, True, 0),
        ]
    parser = parser_of(backend)
    for bad in ("text", 5, None, memoryview(bytearray(8))[::2]):
        with pytest.raises(TypeError) as info:
            parser.feed(bad)
        assert str(info.value) == "data must be a contiguous bytes-like object"
    assert parser.error is None
    assert parser.feed(b"") == []
    assert type(parser.feed(wire)[0]) is backend.frames.Frame


def test_parser_bytearray_reuse(backend: Any) -> None:
    # the caller may overwrite its buffer after feed: frames own their payloads
    buf = bytearray(encode(1, b"abcdef", key=KEY) + encode(2, b"xyz" * 50, key=KEY)[:30])
    parser = parser_of(backend)
    (frame,) = parser.feed(buf)
    buf[:] = b"\x00" * len(buf)
    assert frame.payload == b"abcdef"
    rest = encode(2, b"xyz" * 50, key=KEY)[30:]
    (frame,) = parser.feed(bytearray(rest))
    assert frame.payload == b"xyz" * 50


STREAM_SPECS = [
    (1, b"Hello, world", True, 0),
    (9, b"ping!", True, 0),
    (2, os.urandom(126), False, 0),
    (10, b"", True, 0),
    (0, os.urandom(1000), False, 0),
    (8, b"\x03\xe8bye", True, 0),
    (0, os.urandom(70000), True, 0),
    (1, b"", True, 0),
    (2, b"x", True, 0),
]


def stream(key: bytes | None) -> bytes:
    out = b""
    for i, (opcode, payload, fin, rsv) in enumerate(STREAM_SPECS):
        k = None if key is None else bytes((key[0] + i) & 0xFF for _ in range(4))
        out += encode(opcode, payload, fin, rsv, k)
    return out


@pytest.mark.parametrize("masked", [True, False])
def test_parser_any_chunking(backend: Any, masked: bool) -> None:
    wire = stream(KEY if masked else None)
    expected = (list(STREAM_SPECS), None)
    assert run(parser_of(backend, mask_expected=masked), [wire]) == expected
    # one byte at a time
    parser = parser_of(backend, mask_expected=masked)
    got = []
    for i in range(len(wire)):
        got.extend(as_tuple(f) for f in parser.feed(wire[i : i + 1]))
    assert got == expected[0]
    rng = random.Random(1234)
    for _ in range(40):
        cuts = [rng.randrange(len(wire) + 1) for _ in range(rng.randrange(1, 30))]
        assert run(parser_of(backend, mask_expected=masked), split(wire, cuts)) == expected
    # every single cut position in the first 200 bytes, including empty chunks
    for cut in range(200):
        assert (
            run(parser_of(backend, mask_expected=masked), [wire[:cut], b"", wire[cut:]]) == expected
        )


def test_parser_returns_every_frame_completed_by_a_chunk(backend: Any) -> None:
    a, b, c = encode(1, b"a", key=KEY), encode(2, b"bb", key=KEY), encode(9, b"c", key=KEY)
    parser = parser_of(backend)
    assert parser.feed(a[:1]) == []
    assert [f.payload for f in parser.feed(a[1:] + b + c[:3])] == [b"a", b"bb"]
    assert [f.payload for f in parser.feed(c[3:])] == [b"c"]
    assert parser.feed(b"") == []


def test_parser_control_frames_between_fragments(backend: Any) -> None:
    wire = (
        encode(1, b"frag1-", False, key=KEY)
        + encode(9, b"ping", key=KEY)
        + encode(0, b"frag2-", False, key=KEY)
        + encode(10, b"", key=KEY)
        + encode(8, b"\x03\xe8", key=KEY)
        + encode(0, b"end", True, key=KEY)
    )
    assert run(parser_of(backend), [wire]) == (
        [
            (1, b"frag1-", False, 0),
            (9, b"ping", True, 0),
            (0, b"frag2-", False, 0),
            (10, b"", True, 0),
            (8, b"\x03\xe8", True, 0),
            (0, b"end", True, 0),
        ],
        None,
    )


def test_parser_does_not_sequence_fragments(backend: Any) -> None:
    # continuation without a start, a new message inside one: the layer above judges
    wire = encode(0, b"x") + encode(1, b"a", False) + encode(2, b"b") + encode(0, b"y")
    frames, error = run(parser_of(backend, mask_expected=False), [wire])
    assert error is None
    assert [f[0] for f in frames] == [0, 1, 2, 0]


def test_parser_does_not_decode_text(backend: Any) -> None:
    wire = encode(1, b"\xff\xfe\xed\xa0\x80", key=KEY)
    assert run(parser_of(backend), [wire]) == ([(1, b"\xff\xfe\xed\xa0\x80", True, 0)], None)


def test_parser_non_minimal_lengths(backend: Any) -> None:
    wire = encode(1, b"abc", width=16, key=KEY) + encode(2, b"de", width=64, key=KEY)
    assert run(parser_of(backend), [wire]) == ([(1, b"abc", True, 0), (2, b"de", True, 0)], None)


def test_parser_allowed_rsv(backend: Any) -> None:
    wire = encode(1, b"z", rsv=4, key=KEY) + encode(0, b"y", rsv=4, key=KEY)
    assert run(parser_of(backend, allowed_rsv=4), [wire]) == (
        [(1, b"z", True, 4), (0, b"y", True, 4)],
        None,
    )
    assert run(parser_of(backend, allowed_rsv=7), [encode(9, b"", rsv=7, key=KEY)]) == (
        [(9, b"", True, 7)],
        None,
    )


# --------------------------------------------------------------- FrameParser rules

RULES = [
    # (frame, parser kwargs, message, code)
    (encode(3, b"", key=KEY), {}, "reserved opcode 3", 1002),
    (encode(7, b"", key=KEY), {}, "reserved opcode 7", 1002),
    (encode(11, b"", key=KEY), {}, "reserved opcode 11", 1002),
    (encode(15, b"x", key=KEY), {}, "reserved opcode 15", 1002),
    (encode(1, b"", rsv=4, key=KEY), {}, "reserved bits set: 0x4", 1002),
    (encode(1, b"", rsv=2, key=KEY), {}, "reserved bits set: 0x2", 1002),
    (encode(1, b"", rsv=1, key=KEY), {}, "reserved bits set: 0x1", 1002),
    (encode(1, b"", rsv=7, key=KEY), {}, "reserved bits set: 0x7", 1002),
    (encode(1, b"", rsv=6, key=KEY), {"allowed_rsv": 4}, "reserved bits set: 0x2", 1002),
    (encode(2, b"", rsv=5, key=KEY), {"allowed_rsv": 1}, "reserved bits set: 0x4", 1002),
    (encode(8, b"", False, key=KEY), {}, "fragmented control frame", 1002),
    (encode(9, b"", False, key=KEY), {}, "fragmented control frame", 1002),
    (encode(10, b"x", False, key=KEY), {}, "fragmented control frame", 1002),
    (encode(9, bytes(126), key=KEY), {}, "control frame payload of 126 bytes exceeds 125", 1002),
    (
        encode(8, b"", key=KEY, length=65535),
        {},
        "control frame payload of 65535 bytes exceeds 125",
        1002,
    ),
    (
        encode(10, b"", key=KEY, length=2**40),
        {},
        "control frame payload of 1099511627776 bytes exceeds 125",
        1002,
    ),
    (encode(1, b"hi"), {}, "unmasked frame from client", 1002),
    (encode(9, b""), {}, "unmasked frame from client", 1002),
    (encode(1, b"hi", key=KEY), {"mask_expected": False}, "masked frame from server", 1002),
    (encode(2, b"", key=KEY, length=2**63, width=64), {}, MSB_MESSAGE, 1002),
    (encode(2, b"", length=2**64 - 1), {"mask_expected": False}, MSB_MESSAGE, 1002),
    (
        encode(2, bytes(101), key=KEY),
        {"max_frame_size": 100},
        "frame of 101 bytes exceeds the limit of 100 bytes",
        1009,
    ),
    (
        encode(0, b"", key=KEY, length=2**62),
        {},
        "frame of 4611686018427387904 bytes exceeds the limit of 1048576 bytes",
        1009,
    ),
    (
        encode(1, b"x", key=KEY),
        {"max_frame_size": 0},
        "frame of 1 bytes exceeds the limit of 0 bytes",
        1009,
    ),
    # the order of the checks: MSB, opcode, rsv, FIN, control length, mask, size
    (encode(11, b"", False, rsv=7, length=2**63, width=64), {}, MSB_MESSAGE, 1002),
    (encode(11, b"", False, rsv=7, length=200), {}, "reserved opcode 11", 1002),
    (encode(9, b"", False, rsv=2, length=200), {}, "reserved bits set: 0x2", 1002),
    (encode(9, b"", False, length=200), {}, "fragmented control frame", 1002),
    (
        encode(9, b"", length=200),
        {"max_frame_size": 10},
        "control frame payload of 200 bytes exceeds 125",
        1002,
    ),
    (encode(1, b"", length=200), {"max_frame_size": 10}, "unmasked frame from client", 1002),
    (
        encode(9, b"", key=KEY, length=100),
        {"max_frame_size": 10},
        "frame of 100 bytes exceeds the limit of 10 bytes",
        1009,
    ),
]


@pytest.mark.parametrize(("wire", "kwargs", "message", "code"), RULES)
def test_parser_rules(
    backend: Any, wire: bytes, kwargs: dict[str, Any], message: str, code: int
) -> None:
    parser = parser_of(backend, **kwargs)
    with pytest.raises(ProtocolError) as info:
        parser.feed(wire)
    assert str(info.value) == message
    assert info.value.code == code
    assert parser.error is info.value
    # dead: every later feed raises the same error, whatever the data
    for data in (b"", encode(1, b"ok", key=KEY), wire):
        with pytest.raises(ProtocolError) as again:
            parser.feed(data)
        assert again.value is info.value
    # the header alone triggers it, split anywhere, with no payload byte yet
    head = backend.frames.parse_header  # only used for the size
    try:
        size = head(wire).header_size
    except ProtocolError:
        size = 14 if wire[1] & 0x80 else 10
    for cut in range(size):
        parser = parser_of(backend, **kwargs)
        assert parser.feed(wire[:cut]) == []
        with pytest.raises(ProtocolError) as info:
            parser.feed(wire[cut:size])
        assert (str(info.value), info.value.code) == (message, code)


@pytest.mark.parametrize(("wire", "kwargs", "message", "code"), RULES)
def test_parser_frames_before_error(
    backend: Any, wire: bytes, kwargs: dict[str, Any], message: str, code: int
) -> None:
    masked = kwargs.get("mask_expected", True)
    key = KEY if masked else None
    good = encode(1, b"", key=key) + encode(10, b"", key=key)
    expected = [(1, b"", True, 0), (10, b"", True, 0)]
    parser = parser_of(backend, **kwargs)
    frames = parser.feed(good + wire + encode(1, b"never", key=key))
    assert [as_tuple(f) for f in frames] == expected
    assert parser.error is not None
    assert (str(parser.error), parser.error.code) == (message, code)
    with pytest.raises(ProtocolError) as info:
        parser.feed(b"")
    assert info.value is parser.error
    # the same when the good frames' last one is completed by the offending chunk
    parser = parser_of(backend, **kwargs)
    assert parser.feed(good[:1]) == []
    frames = parser.feed(good[1:] + wire)
    assert [as_tuple(f) for f in frames] == expected
    assert (str(parser.error), parser.error.code) == (message, code)
    with pytest.raises(ProtocolError):
        parser.feed(b"more")


def test_parser_error_while_completing_a_pending_header(backend: Any) -> None:
    parser = parser_of(backend)
    good = encode(1, b"abc", key=KEY)
    bad = encode(5, b"", key=KEY)
    assert [f.payload for f in parser.feed(good + bad[:1])] == [b"abc"]
    with pytest.raises(ProtocolError, match="^reserved opcode 5$"):
        parser.feed(bad[1:])


def test_parser_error_after_pending_payload_completes(backend: Any) -> None:
    parser = parser_of(backend)
    good = encode(2, b"x" * 500, key=KEY)
    bad = encode(1, b"y")
    assert parser.feed(good[:100]) == []
    frames = parser.feed(good[100:] + bad)
    assert [f.payload for f in frames] == [b"x" * 500]
    assert str(parser.error) == "unmasked frame from client"
    with pytest.raises(ProtocolError, match="^unmasked frame from client$"):
        parser.feed(b"")


# --------------------------------------------------------------- max_frame_size and big payloads


@pytest.mark.parametrize("limit", [0, 1, 125, 126, 65535, 65536, 100_000])
def test_max_frame_size_boundary(backend: Any, limit: int) -> None:
    ok = encode(2, os.urandom(limit), key=KEY)
    assert run(parser_of(backend, max_frame_size=limit), [ok])[1] is None
    too_big = encode(2, b"", key=KEY, length=limit + 1)  # the header only
    parser = parser_of(backend, max_frame_size=limit)
    with pytest.raises(ProtocolError) as info:
        parser.feed(too_big)
    assert info.value.code == 1009
    assert str(info.value) == f"frame of {limit + 1} bytes exceeds the limit of {limit} bytes"
    # control frames obey the limit too
    if limit < 125:
        parser = parser_of(backend, max_frame_size=limit)
        with pytest.raises(ProtocolError) as info:
            parser.feed(encode(9, b"", key=KEY, length=limit + 1))
        assert info.value.code == 1009


@pytest.fixture(scope="module")
def big_payload() -> tuple[bytes, bytes]:
    payload = os.urandom((4 << 20) + 3)
    return payload, xor_big(payload, b"\x01\x80\xfe\x7f")


@pytest.mark.parametrize("chunk", [1024, 1023, 4097, 1 << 20, (1 << 20) + 5, 3 << 20])
def test_large_payload_in_chunks(
    backend: Any, big_payload: tuple[bytes, bytes], chunk: int
) -> None:
    payload, masked = big_payload
    key = b"\x01\x80\xfe\x7f"
    wire = encode(2, b"", key=key, length=len(payload)) + masked + encode(9, b"p", key=key)
    parser = parser_of(backend, max_frame_size=len(payload))
    frames = []
    for i in range(0, len(wire), chunk):
        frames.extend(parser.feed(wire[i : i + chunk]))
    assert len(frames) == 2
    assert frames[0].opcode == 2
    assert frames[0].payload == payload
    assert as_tuple(frames[1]) == (9, b"p", True, 0)


def test_large_payload_whole_and_unmasked(backend: Any, big_payload: tuple[bytes, bytes]) -> None:
    payload, masked = big_payload
    key = b"\x01\x80\xfe\x7f"
    wire = encode(2, b"", key=key, length=len(payload)) + masked
    (frame,) = parser_of(backend, max_frame_size=len(payload)).feed(wire)
    assert frame.payload == payload
    wire = encode(2, payload)
    parser = parser_of(backend, mask_expected=False, max_frame_size=len(payload))
    (frame,) = parser.feed(memoryview(wire))
    assert frame.payload == payload
    parser = parser_of(backend, mask_expected=False, max_frame_size=len(payload))
    assert parser.feed(wire[:7]) == []
    assert parser.feed(wire[7 : 1 << 21]) == []
    (frame,) = parser.feed(wire[1 << 21 :])
    assert frame.payload == payload


@pytest.mark.parametrize("length", [(1 << 33) + 1, 1 << 40, (1 << 63) - 1])
@pytest.mark.parametrize("key", [None, KEY])
def test_announced_length_is_not_allocated_up_front(
    backend: Any, length: int, key: bytes | None
) -> None:
    # Regression (found by tests/fuzz/fuzz_frames.py): with no effective
    # limit the compiled parser allocated the whole announced payload when
    # the 10-byte header arrived -- MemoryError from a header alone (which
    # escaped Connection.receive_data), or gigabytes reserved -- where the
    # pure parser just waits for the data.  Both must buffer what arrives.
    parser = parser_of(backend, mask_expected=key is not None, max_frame_size=(1 << 63) - 1)
    head = encode(2, b"", key=key, length=length)
    assert parser.feed(head) == []
    assert parser.feed(head[:3] * 1000) == []
    assert parser.feed(b"") == []
    assert parser.error is None


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7])
def test_masked_payload_phases(backend: Any, chunk: int) -> None:
    # every key phase at every chunk boundary
    payload = bytes(range(256)) * 2
    wire = encode(1, payload, key=b"\x9a\xbc\xde\xf0")
    parser = parser_of(backend)
    frames = []
    for i in range(0, len(wire), chunk):
        frames.extend(parser.feed(wire[i : i + chunk]))
    assert [f.payload for f in frames] == [payload]


@pytest.mark.parametrize(
    "size", [15, 16, 17, 31, 32, 33, 63, 64, 65, 255, 256, 257, 511, 512, 513, 4099]
)
def test_masked_payload_kernel_boundaries(backend: Any, size: int) -> None:
    # Payload sizes around the compiled masking kernel's internal steps (16-,
    # 32- and 64-byte vectors, the 256- and 512-byte switches to its aligned
    # main loop), at every source alignment (a ping of 0..3 bytes in front) and
    # with the first 0..8 payload bytes in an earlier chunk (then the rest is
    # unmasked into the pending buffer at that offset, from key phase 1, 2, 3).
    key = b"\xa5\x3c\x0f\xe1"
    payload = os.urandom(size)
    for pad in range(4):
        ping = encode(9, b"p" * pad, key=key)
        wire = ping + encode(2, payload, key=key)
        head = len(wire) - size
        for first in range(head, head + 9):
            parser = parser_of(backend)
            frames = parser.feed(wire[:first]) + parser.feed(memoryview(wire)[first:])
            assert [as_tuple(f) for f in frames] == [
                (9, b"p" * pad, True, 0),
                (2, payload, True, 0),
            ], (pad, first - head)


# --------------------------------------------------------------- hypothesis

frame_specs = st.lists(
    st.tuples(
        st.one_of(st.sampled_from([0, 1, 2, 8, 9, 10]), st.integers(0, 15)),  # opcode
        st.booleans(),  # fin
        st.one_of(st.just(0), st.integers(0, 7)),  # rsv
        st.one_of(st.just(None), st.binary(min_size=4, max_size=4)),  # key
        st.one_of(
            st.integers(0, 130),
            st.sampled_from([0, 125, 126, 127, 300, 65535, 65536]),
        ),  # payload length
        st.sampled_from([None, 16, 64]),  # length width (non-minimal allowed)
    ),
    max_size=8,
)


def model(
    specs: list[Any], payloads: list[bytes], mask_expected: bool, limit: int, allowed: int
) -> Outcome:
    """What the parser must produce, from the rules of the docstring (an oracle)."""
    frames = []
    for (opcode, fin, rsv, key, _n, _w), payload in zip(specs, payloads):
        n = len(payload)
        error = None
        if opcode in (3, 4, 5, 6, 7, 11, 12, 13, 14, 15):
            error = (f"reserved opcode {opcode}", 1002)
        elif rsv & ~allowed:
            error = (f"reserved bits set: {rsv & ~allowed:#x}", 1002)
        elif opcode >= 8 and not fin:
            error = ("fragmented control frame", 1002)
        elif opcode >= 8 and n > 125:
            error = (f"control frame payload of {n} bytes exceeds 125", 1002)
        elif key is not None and not mask_expected:
            error = ("masked frame from server", 1002)
        elif key is None and mask_expected:
            error = ("unmasked frame from client", 1002)
        elif n > limit:
            error = (f"frame of {n} bytes exceeds the limit of {limit} bytes", 1009)
        if error is not None:
            return frames, ("ProtocolError", *error)
        frames.append((opcode, payload, fin, rsv))
    return frames, None


def wire_of(specs: list[Any], seed: int) -> tuple[bytes, list[bytes]]:
    rng = random.Random(seed)
    payloads, wire = [], b""
    for opcode, fin, rsv, key, n, width in specs:
        payload = rng.randbytes(n)
        if width == 16 and n > 65535:
            width = 64
        payloads.append(payload)
        wire += encode(opcode, payload, fin, rsv, key, width=width)
    return wire, payloads


@SETTINGS
@given(
    specs=frame_specs,
    seed=st.integers(0, 2**32),
    cuts=st.lists(st.integers(0, 1 << 20), max_size=12),
    mask_expected=st.booleans(),
    limit=st.sampled_from([0, 10, 125, 126, 300, 65535, 1 << 20]),
    allowed=st.sampled_from([0, 0, 4, 7, 3]),
)
def test_hypothesis_frame_sequences(
    both_backends: Any,
    specs: list[Any],
    seed: int,
    cuts: list[int],
    mask_expected: bool,
    limit: int,
    allowed: int,
) -> None:
    wire, payloads = wire_of(specs, seed)
    expected = model(specs, payloads, mask_expected, limit, allowed)
    kwargs = dict(mask_expected=mask_expected, max_frame_size=limit, allowed_rsv=allowed)
    for backend in both_backends:
        FrameParser = backend.frames.FrameParser
        assert run(FrameParser(**kwargs), [wire]) == expected
        assert run(FrameParser(**kwargs), split(wire, cuts)) == expected
    # and each built frame round-trips through build_frame / parse_header
    for backend in both_backends:
        rebuilt = b"".join(
            backend.frames.build_frame(op, p, fin, rsv, key)
            if width is None
            else encode(op, p, fin, rsv, key, width=64 if width == 16 and len(p) > 65535 else width)
            for (op, fin, rsv, key, _n, width), p in zip(specs, payloads)
        )
        assert rebuilt == wire


@SETTINGS
@given(
    data=st.binary(max_size=400),
    cuts=st.lists(st.integers(0, 400), max_size=10),
    mask_expected=st.booleans(),
    limit=st.sampled_from([0, 5, 125, 1 << 20, 2**63 - 1]),
    allowed=st.integers(0, 7),
)
def test_hypothesis_garbage(
    both_backends: Any,
    data: bytes,
    cuts: list[int],
    mask_expected: bool,
    limit: int,
    allowed: int,
) -> None:
    kwargs = dict(mask_expected=mask_expected, max_frame_size=limit, allowed_rsv=allowed)
    outcomes = []
    for backend in both_backends:
        whole = run(backend.frames.FrameParser(**kwargs), [data])
        assert run(backend.frames.FrameParser(**kwargs), split(data, cuts)) == whole
        bytewise = run(
            backend.frames.FrameParser(**kwargs), [data[i : i + 1] for i in range(len(data))]
        )
        assert bytewise == whole
        outcomes.append(whole)
    assert all(o == outcomes[0] for o in outcomes)


@SETTINGS
@given(data=st.binary(max_size=20), offset=st.integers(-2, 22))
def test_hypothesis_parse_header(both_backends: Any, data: bytes, offset: int) -> None:
    results = []
    for backend in both_backends:
        try:
            results.append(("ok", backend.frames.parse_header(data, offset)))
        except (ProtocolError, ValueError) as exc:
            results.append(error_tuple(exc))
    assert all(r == results[0] for r in results)
    if 0 <= offset <= len(data) and results[0][0] == "ok" and results[0][1] is not None:
        header = results[0][1]
        rebuilt = encode(
            header.opcode,
            b"",
            header.fin,
            header.rsv,
            header.mask,
            length=header.length,
            width={2: 7, 4: 16, 10: 64}[header.header_size - (4 if header.mask else 0)],
        )
        assert rebuilt == data[offset : offset + header.header_size]


@SETTINGS
@given(
    opcode=st.integers(-2, 17),
    payload=st.binary(max_size=300),
    fin=st.booleans(),
    rsv=st.integers(-1, 8),
    key=st.one_of(st.none(), st.binary(min_size=3, max_size=5)),
)
def test_hypothesis_build_frame(
    both_backends: Any, opcode: int, payload: bytes, fin: bool, rsv: int, key: bytes | None
) -> None:
    results = []
    for backend in both_backends:
        try:
            results.append(backend.frames.build_frame(opcode, payload, fin, rsv, key))
        except ValueError as exc:
            results.append(error_tuple(exc))
    assert all(r == results[0] for r in results)
    if isinstance(results[0], bytes):
        assert results[0] == encode(opcode, payload, fin, rsv, key)


# --------------------------------------------------------------- compiled-only hooks


@pytest.fixture
def c_frames() -> Any:
    if "c" not in BACKEND_IDS:
        pytest.skip("pure-only run (FASTWS_NO_EXTENSIONS=1): no compiled backend")
    return importlib.import_module("fastws_c.frames")


def test_c_only_xor_kernels(c_frames: Any) -> None:
    data = os.urandom(300)
    for key in (KEY, b"\x00\x00\x00\x00", b"\xff\xfe\xfd\xfc"):
        for phase in range(4):
            for n in list(range(0, 150)) + [255, 256, 257, 300, 511, 512, 513, 1027]:
                expected = xor(data[:n], key, phase)
                assert c_frames._xor_for_test(data[:n], key, phase) == expected, (n, phase)
                assert c_frames._xor_for_test(data[:n], key, phase, True) == expected, (n, phase)
    with pytest.raises(ValueError):
        c_frames._xor_for_test(b"", b"abc")


@pytest.mark.parametrize("key", [None, b"\x9a\xbc\xde\xf1"])
@pytest.mark.parametrize("cap", [1, 3, 1000])
def test_c_only_pending_payload_grows(c_frames: Any, key: bytes | None, cap: int) -> None:
    # A frame longer than what the compiled parser allocates ahead of the
    # data (16 MiB by default, lowered here) starts with that much, or with
    # what is at hand, and grows as the payload arrives: every growth step
    # keeps the bytes and the key phase, whatever the chunking.
    payload = os.urandom(20_003)
    wire = encode(2, payload, key=key) + encode(10, b"pong", key=key)
    old = c_frames._prealloc_max(cap)
    try:
        assert c_frames._prealloc_max() == cap
        for first in (1, 9, 500, 1001, 15_000):
            for chunk in (1, 7, 999, 1001, 4096, 65_537):
                parser = c_frames.FrameParser(mask_expected=key is not None, max_frame_size=1 << 40)
                frames = list(parser.feed(wire[:first]))
                for i in range(first, len(wire), chunk):
                    frames.extend(parser.feed(memoryview(wire)[i : i + chunk]))
                assert [as_tuple(f) for f in frames] == [
                    (2, payload, True, 0),
                    (10, b"pong", True, 0),
                ], (first, chunk)
    finally:
        c_frames._prealloc_max(old)
    assert c_frames._prealloc_max() == old == 16 << 20
    with pytest.raises(ValueError):
        c_frames._prealloc_max(0)


def test_parser_idle_between_frames_only(backend: Any) -> None:
    """``idle``: True exactly when nothing of a frame is buffered and no error."""
    parser = backend.frames.FrameParser(mask_expected=True)
    assert parser.idle
    frame = bytes(backend.frames.build_frame(2, b"x" * 300, True, 0, KEY))
    for cut in (1, 2, 3, 4, 7, 8, 100, len(frame) - 1):
        assert parser.feed(frame[:cut]) == []
        assert not parser.idle, cut
        assert len(parser.feed(frame[cut:])) == 1
        assert parser.idle, cut
    assert len(parser.feed(frame + frame)) == 2 and parser.idle
    with pytest.raises(ProtocolError):
        parser.feed(bytes(backend.frames.build_frame(2, b"x", True, 0, None)))  # unmasked
    assert not parser.idle  # dead
