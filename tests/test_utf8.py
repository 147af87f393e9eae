"""The UTF-8 validation kernel (RFC 3629 §4; RFC 6455 §5.6, §8.1), on both backends.

Valid UTF-8 is the grammar of RFC 3629 §4: no surrogates (U+D800..DFFF), no
overlong forms, nothing above U+10FFFF, no stray continuation bytes, no
sequence cut off at the end. ``validate`` checks a whole buffer;
``Utf8Validator.feed`` must fail fast -- return False at the first byte after
which no continuation can make the stream valid (the Autobahn 6.x cases).

Oracles, independent of the code under test:

* whole buffers: CPython's strict ``bytes.decode("utf-8")``;
* prefixes: :func:`completable`. By definition a byte string ``p`` can be
  completed into valid UTF-8 iff ``p = v + t`` where ``v`` is valid UTF-8 and
  ``t`` is empty or a *proper prefix of the encoding of one scalar value*
  (split any valid completion ``p + s`` into characters: ``t`` is the part of
  the character that straddles the end of ``p``). The set of those proper
  prefixes is built from ``chr(cp).encode()`` for every scalar value, so the
  oracle relies on nothing but CPython's encoder and decoder.

``test_c_only_...`` tests run every variant of ``fastws_c.utf8`` usable on this
CPU (the portable scalar one always; SSSE3/AVX2/AVX-512 where present) through
the private hooks, with invalid bytes at every position relative to the
16/32/64/128-byte SIMD blocks and buffers at odd memory offsets.
"""

from __future__ import annotations

import array
import ctypes
import functools
import importlib
import mmap
import pickle
import random
import sys
import threading
from typing import Any, Iterator

import pytest
from conftest import BACKEND_IDS
from hypothesis import given, settings
from hypothesis import strategies as st

SETTINGS = settings(max_examples=300, deadline=None)
MIB = 1 << 20


# -- oracles -----------------------------------------------------------------


def decodes(data: bytes) -> bool:
    """Whole-buffer oracle: CPython's strict UTF-8 decoder."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@functools.cache
def proper_prefixes() -> frozenset[bytes]:
    """Every proper prefix of the UTF-8 encoding of every Unicode scalar value."""
    out: set[bytes] = set()
    for cp in range(0x80, 0x110000):
        if 0xD800 <= cp <= 0xDFFF:  # surrogates are not scalar values
            continue
        encoded = chr(cp).encode("utf-8")
        for k in range(1, len(encoded)):
            out.add(encoded[:k])
    return frozenset(out)


def completable(p: bytes) -> bool:
    """True iff some continuation makes ``p`` valid UTF-8 (see the module docstring)."""
    prefixes = proper_prefixes()
    for k in range(min(3, len(p)) + 1):
        head, tail = p[: len(p) - k], p[len(p) - k :]
        if (k == 0 or tail in prefixes) and decodes(head):
            return True
    return False


def first_failure(data: bytes) -> int | None:
    """Index of the first byte after which ``data[: i + 1]`` cannot be completed."""
    for i in range(len(data)):
        if not completable(data[: i + 1]):
            return i
    return None


def feed_results(module: Any, chunks: list[bytes]) -> tuple[list[bool], bool]:
    validator = module.Utf8Validator()
    return [validator.feed(chunk) for chunk in chunks], validator.finish()


def expected_results(chunks: list[bytes]) -> tuple[list[bool], bool]:
    results, seen = [], b""
    for chunk in chunks:
        seen += chunk
        results.append(completable(seen))
    return results, decodes(seen)


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted(cuts), len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:])]


# -- corpus (Markus Kuhn's UTF-8 stress test, Autobahn 6.x) ----------------------

# Kuhn 1 / Autobahn 6.3.1 and 6.4.x prefix: "κόσμε" with U+1F79 (e1 bd b9)
KAPPA = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"

VALID = [
    b"",
    b"Hello, world",
    KAPPA,
    "Hello-µ@ßöäüàá-UTF-8!!".encode(),  # Autobahn 6.2.1
    b"\x00",  # U+0000
    b"\x7f",  # U+007F
    b"\xc2\x80",  # U+0080
    b"\xdf\xbf",  # U+07FF
    b"\xe0\xa0\x80",  # U+0800
    b"\xed\x9f\xbf",  # U+D7FF
    b"\xee\x80\x80",  # U+E000
    b"\xef\xbf\xbd",  # U+FFFD
    b"\xef\xbf\xbe",  # U+FFFE (noncharacter, but valid UTF-8)
    b"\xef\xbf\xbf",  # U+FFFF
    b"\xef\xb7\x90",  # U+FDD0 (noncharacter)
    b"\xf0\x90\x80\x80",  # U+10000
    b"\xf0\x9f\x98\x80",  # U+1F600
    b"\xf3\xbf\xbf\xbf",  # U+FFFFF
    b"\xf4\x80\x80\x80",  # U+100000
    b"\xf4\x8f\xbf\xbf",  # U+10FFFF
    "\x00\x7f\x80\u07ff\u0800\uffff\U00010000\U0010ffff".encode(),
    "Привет, Ελληνικά, 日本語, 😀🎉".encode() * 5,
]

# (input, index of the first byte after which it cannot be completed),
# worked out by hand from RFC 3629 §4 -- they also check the oracle.
INVALID = [
    (b"\x80", 0),  # Kuhn 3.1.1: first continuation byte
    (b"\xbf", 0),  # Kuhn 3.1.2: last continuation byte
    (b"\x80\xbf", 0),
    (b"a\x80", 1),
    (b"\xc2\x80\x80", 2),  # stray continuation after a complete character
    (b"\xc0", 0),  # C0/C1 only start overlong forms
    (b"\xc1", 0),
    (b"\xc0\x80", 0),  # overlong U+0000
    (b"\xc0\xaf", 0),  # Kuhn 4.1.1 overlong "/"
    (b"\xc1\xbf", 0),  # Kuhn 4.2.1
    (b"\xe0\x80\x80", 1),  # overlong U+0000, fails at the second byte
    (b"\xe0\x80\xaf", 1),  # Kuhn 4.1.2
    (b"\xe0\x9f\xbf", 1),  # Kuhn 4.2.2, overlong U+07FF
    (b"\xf0\x80\x80\x80", 1),
    (b"\xf0\x80\x80\xaf", 1),  # Kuhn 4.1.3
    (b"\xf0\x8f\xbf\xbf", 1),  # Kuhn 4.2.3, overlong U+FFFF
    (b"\xed\xa0\x80", 1),  # Kuhn 5.1.1 U+D800
    (b"\xed\xad\xbf", 1),  # U+DB7F
    (b"\xed\xbf\xbf", 1),  # Kuhn 5.1.7 U+DFFF
    (b"\xed\xa0\x80\xed\xb0\x80", 1),  # Kuhn 5.2.1 surrogate pair
    (b"\xf4\x90\x80\x80", 1),  # U+110000
    (b"\xf4\xbf\xbf\xbf", 1),
    (b"\xf5", 0),
    (b"\xf7\xbf\xbf\xbf", 0),  # Kuhn 2.1.4 / 2.3.5 five-bit lead
    (b"\xf8\x88\x80\x80\x80", 0),  # Kuhn 2.1.5: 5-byte form
    (b"\xfc\x84\x80\x80\x80\x80", 0),  # Kuhn 2.1.6: 6-byte form
    (b"\xfe", 0),  # Kuhn 3.5.1
    (b"\xff", 0),
    (b"\xfe\xfe\xff\xff", 0),
    (b"\xc2 ", 1),  # Kuhn 3.2: lonely start followed by a space
    (b"\xdf ", 1),
    (b"\xe0 ", 1),
    (b"\xe1\x80 ", 2),
    (b"\xf0 ", 1),
    (b"\xf1\x80\x80 ", 3),
    (b"\xe2\x82\xe2\x82\xac", 2),  # a lead where a continuation is needed
    (b"\xf0\x9f\x98\xf0", 3),
    (KAPPA + b"\xed\xa0\x80edited", 12),  # Autobahn 6.3.1: fail at A0, not later
    (KAPPA + b"\xf4\x90\x80\x80edited", 12),  # Autobahn 6.4.1
    (KAPPA + b"\xf4\x90\x80\x80", 12),  # Autobahn 6.4.2 / 6.4.4
    (KAPPA + b"\xc0\xafedited", 11),
    (b"\xef\xbf\xbf\x80", 3),
]

# Valid so far, but cut off: every feed is True, finish is False.
TRUNCATED = [
    b"\xc2",
    b"\xdf",
    b"\xe0\xa0",  # Kuhn 3.3.2 needs E0 A0..BF, which is fine so far
    b"\xe1",
    b"\xed\x9f",  # the last non-surrogate second byte
    b"\xef\xbf",  # Kuhn 3.3.7
    b"\xf0\x90",
    b"\xf0\x90\x80",
    b"\xf3\xbf\xbf",
    b"\xf4\x8f",  # the largest second byte after F4
    b"\xf4\x8f\xbf",
    KAPPA + b"\xf0\x9f\x98",
]

CORPUS = VALID + [data for data, _ in INVALID] + TRUNCATED


def _id(data: bytes) -> str:
    return data[:12].hex() or "empty"


# -- known answers -----------------------------------------------------------------


@pytest.mark.parametrize("data", VALID, ids=_id)
def test_validate_valid(backend: Any, data: bytes) -> None:
    assert decodes(data)
    assert backend.utf8.validate(data) is True


@pytest.mark.parametrize(
    ("data", "index"), INVALID, ids=lambda x: _id(x) if isinstance(x, bytes) else str(x)
)
def test_validate_invalid(backend: Any, data: bytes, index: int) -> None:
    assert not decodes(data)
    assert backend.utf8.validate(data) is False


@pytest.mark.parametrize("data", TRUNCATED, ids=_id)
def test_validate_truncated(backend: Any, data: bytes) -> None:
    assert not decodes(data)
    assert backend.utf8.validate(data) is False
    validator = backend.utf8.Utf8Validator()
    assert validator.feed(data) is True
    assert validator.finish() is False


@pytest.mark.parametrize(
    ("data", "index"), INVALID, ids=lambda x: _id(x) if isinstance(x, bytes) else str(x)
)
def test_fail_fast_position(backend: Any, data: bytes, index: int) -> None:
    """Fed byte by byte, feed turns False exactly at the hand-computed byte."""
    assert first_failure(data) == index  # the oracle agrees with the hand-made answer
    validator = backend.utf8.Utf8Validator()
    results = [validator.feed(data[i : i + 1]) for i in range(len(data))]
    assert results == [i < index for i in range(len(data))]
    assert validator.finish() is False


def test_fail_fast_examples_from_the_contract(backend: Any) -> None:
    for data in (b"\xf4\x90", b"\xed\xa0", b"\xe0\x80", b"\xc0", b"\xc1", b"\xf5", b"\xff"):
        assert backend.utf8.Utf8Validator().feed(data) is False, data
    for data in (b"\xf4\x8f", b"\xed\x9f", b"\xe0\xa0", b"\xf0\x90\x80", b"\xc2"):
        assert backend.utf8.Utf8Validator().feed(data) is True, data


@pytest.mark.parametrize("data", CORPUS, ids=_id)
def test_every_single_split(backend: Any, data: bytes) -> None:
    """Every chunk's result is the oracle's for the bytes seen so far."""
    for cut in range(len(data) + 1):
        chunks = split_at(data, [cut])
        assert feed_results(backend.utf8, chunks) == expected_results(chunks), cut


@pytest.mark.parametrize("data", [d for d in CORPUS if len(d) <= 24], ids=_id)
def test_every_double_split(backend: Any, data: bytes) -> None:
    for a in range(len(data) + 1):
        for b in range(a, len(data) + 1):
            chunks = split_at(data, [a, b])
            assert feed_results(backend.utf8, chunks) == expected_results(chunks), (a, b)


@pytest.mark.parametrize("data", CORPUS, ids=_id)
def test_byte_by_byte(backend: Any, data: bytes) -> None:
    chunks = [data[i : i + 1] for i in range(len(data))]
    assert feed_results(backend.utf8, chunks) == expected_results(chunks)


def test_every_one_and_two_byte_input(backend: Any) -> None:
    """All 65792 inputs of one or two bytes: validate, feed and byte-by-byte feed."""
    module = backend.utf8
    validator = module.Utf8Validator()
    for a in range(256):
        one = bytes([a])
        ok_one = completable(one)
        assert module.validate(one) is decodes(one)
        for b in range(256):
            two = bytes([a, b])
            expected = ok_one and completable(two)
            assert module.validate(two) is decodes(two), two
            assert validator.feed(two) is expected, two
            assert validator.finish() is decodes(two), two
            assert validator.feed(one) is ok_one
            assert validator.feed(two[1:]) is expected, two
            assert validator.finish() is decodes(two), two


LEADS = (
    0xC0,
    0xC1,
    0xC2,
    0xDF,
    0xE0,
    0xE1,
    0xEC,
    0xED,
    0xEE,
    0xEF,
    0xF0,
    0xF1,
    0xF3,
    0xF4,
    0xF5,
    0xFF,
)
BOUNDARY_BYTES = (
    0x00,
    0x7F,
    0x80,
    0x8F,
    0x90,
    0x9F,
    0xA0,
    0xBF,
    0xC0,
    0xC2,
    0xE0,
    0xF0,
    0xF4,
    0xFF,
)


def test_three_and_four_byte_boundaries(backend: Any) -> None:
    """Every lead byte followed by boundary bytes of each range, split at every point."""
    module = backend.utf8
    for lead in LEADS:
        for b1 in BOUNDARY_BYTES:
            for b2 in BOUNDARY_BYTES:
                for b3 in (0x80, 0x41):
                    data = bytes([lead, b1, b2, b3])
                    assert module.validate(data) is decodes(data), data
                    for cut in range(1, 4):
                        chunks = split_at(data, [cut])
                        assert feed_results(module, chunks) == expected_results(chunks), data


def test_sequence_split_across_feeds(backend: Any) -> None:
    for char in ("é", "€", "😀", "\U0010ffff", "\u0800", "\U00010000"):
        encoded = char.encode()
        validator = backend.utf8.Utf8Validator()
        for i in range(len(encoded)):
            assert validator.feed(encoded[i : i + 1]) is True
        assert validator.feed(b"") is True
        assert validator.finish() is True


# -- state machine -------------------------------------------------------------------


def test_stays_false_until_finish(backend: Any) -> None:
    validator = backend.utf8.Utf8Validator()
    assert validator.feed(b"abc") is True
    assert validator.feed(b"\xed\xa0") is False
    assert validator.feed(b"\x80") is False  # would complete nothing: still False
    assert validator.feed(b"valid text") is False
    assert validator.feed(b"") is False
    assert validator.finish() is False
    # finish reset it: the next message starts clean
    assert validator.feed(b"next message \xc3\xa9") is True
    assert validator.finish() is True


def test_finish_resets_pending(backend: Any) -> None:
    validator = backend.utf8.Utf8Validator()
    assert validator.feed(b"\xe2\x82") is True
    assert validator.finish() is False
    # the pending E2 82 was dropped: AC alone is a stray continuation byte
    assert validator.feed(b"\xac") is False
    assert validator.finish() is False
    assert validator.finish() is True  # nothing fed since the last finish


def test_reset(backend: Any) -> None:
    validator = backend.utf8.Utf8Validator()
    assert validator.feed(b"\xff") is False
    assert validator.reset() is None
    assert validator.feed(b"ok") is True
    assert validator.feed(b"\xf0\x9f") is True
    validator.reset()
    assert validator.feed(b"\x98\x80") is False
    validator.reset()
    assert validator.finish() is True


def test_empty(backend: Any) -> None:
    assert backend.utf8.validate(b"") is True
    validator = backend.utf8.Utf8Validator()
    assert validator.feed(b"") is True
    assert validator.finish() is True
    assert validator.feed(b"\xc3") is True
    assert validator.feed(b"") is True
    assert validator.feed(b"\xa9") is True
    assert validator.finish() is True


def test_validators_are_independent(backend: Any) -> None:
    a, b = backend.utf8.Utf8Validator(), backend.utf8.Utf8Validator()
    assert a.feed(b"\xf0\x9f") is True
    assert b.feed(b"\xff") is False
    assert a.feed(b"\x98\x80") is True
    assert a.finish() is True
    assert b.finish() is False


# -- input types, odd offsets, errors -------------------------------------------------------


def _as_types(data: bytes) -> Iterator[Any]:
    yield data
    yield bytearray(data)
    yield memoryview(data)
    yield array.array("B", data)
    yield memoryview(bytearray(b"\x00" + data))[1:]
    if len(data) % 4 == 0:
        yield memoryview(data).cast("I")  # raw bytes, whatever the item format
    if len(data) % 2 == 0 and data:
        yield memoryview(data).cast("B", (2, len(data) // 2))  # 2-D, C-contiguous


@pytest.mark.parametrize("data", CORPUS, ids=_id)
def test_input_types(backend: Any, data: bytes) -> None:
    module = backend.utf8
    expected = expected_results([data])
    for value in _as_types(data):
        assert module.validate(value) is decodes(data), type(value)
        assert feed_results(module, [value]) == expected, type(value)


def test_other_buffer_exporters(backend: Any) -> None:
    """Whatever exports a C-contiguous buffer is read as its raw bytes."""
    module = backend.utf8
    mapped = mmap.mmap(-1, 11)
    mapped.write("hello é€".encode())
    cases: list[tuple[Any, bytes]] = [
        (ctypes.c_uint32(0x41E282AC), (0x41E282AC).to_bytes(4, sys.byteorder)),
        ((ctypes.c_char * 3).from_buffer_copy(b"\xe2\x82\xac"), b"\xe2\x82\xac"),
        (pickle.PickleBuffer(b"\xf0\x9f\x98\x80"), b"\xf0\x9f\x98\x80"),
        (pickle.PickleBuffer(bytearray(b"\xed\xa0\x80")), b"\xed\xa0\x80"),
        (array.array("H", [0xA9C3, 0x41]), array.array("H", [0xA9C3, 0x41]).tobytes()),
        (mapped, "hello é€".encode()),
    ]
    for value, raw in cases:
        assert module.validate(value) is decodes(raw), raw
        assert feed_results(module, [value]) == expected_results([raw]), raw
    mapped.close()


@pytest.mark.parametrize("offset", range(1, 17))
def test_odd_offsets(backend: Any, offset: int) -> None:
    text = "Привет, Ελληνικά, 日本語, 😀🎉 ascii ".encode() * 7
    buffer = bytearray(b"\xaa" * offset + text + b"\xbb" * 5)  # invalid bytes around it
    view = memoryview(buffer)[offset : offset + len(text)]
    assert backend.utf8.validate(view) is True
    validator = backend.utf8.Utf8Validator()
    for start in range(0, len(text), 37):
        assert validator.feed(view[start : start + 37]) is True
    assert validator.finish() is True
    assert backend.utf8.validate(memoryview(buffer)[offset - 1 : offset + len(text)]) is False
    assert backend.utf8.validate(memoryview(buffer)[offset : offset + len(text) + 1]) is False


NOT_BUFFERS = ["text", "", 42, None, 1.5, [1, 2], (0x61,), object(), {b"a": 1}]


@pytest.mark.parametrize("value", NOT_BUFFERS, ids=lambda v: type(v).__name__)
def test_not_a_buffer(backend: Any, value: Any) -> None:
    message = f"a bytes-like object is required, not '{type(value).__name__}'"
    with pytest.raises(TypeError) as info:
        backend.utf8.validate(value)
    assert str(info.value) == message
    validator = backend.utf8.Utf8Validator()
    with pytest.raises(TypeError) as info:
        validator.feed(value)
    assert str(info.value) == message
    assert validator.feed(b"\xff") is False
    with pytest.raises(TypeError) as info:  # a failed validator still checks the type
        validator.feed(value)
    assert str(info.value) == message
    assert validator.finish() is False


def test_type_error_keeps_state(backend: Any) -> None:
    validator = backend.utf8.Utf8Validator()
    assert validator.feed(b"\xe2\x82") is True
    with pytest.raises(TypeError):
        validator.feed("\xac")
    assert validator.feed(b"\xac") is True
    assert validator.finish() is True


def test_non_contiguous_and_released(backend: Any) -> None:
    strided = memoryview(b"a\xffb\xffc")[::2]
    with pytest.raises(BufferError, match="^memoryview: underlying buffer is not C-contiguous$"):
        backend.utf8.validate(strided)
    with pytest.raises(BufferError, match="^memoryview: underlying buffer is not C-contiguous$"):
        backend.utf8.Utf8Validator().feed(strided)
    released = memoryview(b"abc")
    released.release()
    with pytest.raises(ValueError, match="^operation forbidden on released memoryview object$"):
        backend.utf8.validate(released)
    with pytest.raises(ValueError, match="^operation forbidden on released memoryview object$"):
        backend.utf8.Utf8Validator().feed(released)


def test_wrong_arguments(backend: Any) -> None:
    with pytest.raises(TypeError):
        backend.utf8.Utf8Validator(b"")
    with pytest.raises(TypeError):
        backend.utf8.validate()
    with pytest.raises(TypeError):
        backend.utf8.Utf8Validator().feed()


# -- large inputs (the C backend scans them without the GIL) ------------------------------

MIXED_CHARS = "aZ09 ,.Ж\u0416щΩλ日本語中文😀🎉\u0080\u07ff\u0800\uffff\U00010000\U0010ffff"


def mixed_text(rng: random.Random, n_chars: int) -> bytes:
    return "".join(rng.choice(MIXED_CHARS) for _ in range(n_chars)).encode()


@pytest.fixture(scope="module")
def big_text() -> bytes:
    rng = random.Random(20240601)
    chunk = mixed_text(rng, 4096)
    return chunk * (MIB // len(chunk) + 1)


@pytest.mark.parametrize(
    ("where", "bad"),
    [(0, b"\x80"), (100_000, b"\xed\xa0\x80"), (-1, b"\xff"), (-2, b"\xf4\x90"), (None, b"")],
)
def test_large(backend: Any, big_text: bytes, where: int | None, bad: bytes) -> None:
    if where is None:
        data = big_text
    else:
        # insert between characters: before an ASCII byte, or at the very end (-1)
        if where == -1:
            pos = len(big_text)
        elif where < 0:
            pos = big_text.rindex(b"a")
        else:
            pos = big_text.index(b"a", where)
        data = big_text[:pos] + bad + big_text[pos:]
    assert backend.utf8.validate(data) is decodes(data)
    assert backend.utf8.validate(bytearray(data)) is decodes(data)
    for size in (65536, 65536 * 3 + 7, 100_003):
        chunks = [data[i : i + size] for i in range(0, len(data), size)]
        validator = backend.utf8.Utf8Validator()
        results = [validator.feed(chunk) for chunk in chunks]
        fail = first_bad_chunk(data, chunks)
        assert results == [fail is None or i < fail for i in range(len(chunks))]
        assert validator.finish() is decodes(data)


def first_bad_chunk(data: bytes, chunks: list[bytes]) -> int | None:
    """Index of the first chunk after which the stream cannot be completed."""
    end = 0
    for i, chunk in enumerate(chunks):
        end += len(chunk)
        if not completable(data[:end]):
            return i
    return None


def test_large_truncated_at_end(backend: Any, big_text: bytes) -> None:
    cut = big_text[: big_text.index("😀".encode(), 200_000) + 3]
    assert backend.utf8.validate(cut) is False
    validator = backend.utf8.Utf8Validator()
    assert validator.feed(cut) is True
    assert validator.finish() is False


# -- differential: both backends, random inputs -------------------------------------


def _check_same(both_backends: tuple[Any, ...], chunks: list[bytes]) -> None:
    expected = expected_results(chunks)
    for b in both_backends:
        assert feed_results(b.utf8, chunks) == expected, b
        data = b"".join(chunks)
        assert b.utf8.validate(data) is decodes(data), b


@st.composite
def corrupted_text(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.text(max_size=40)).encode())
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["replace", "insert", "delete", "truncate"]))
        pos = draw(st.integers(0, len(data)))
        if kind == "replace" and pos < len(data):
            data[pos] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=3))
        elif kind == "delete":
            del data[pos : pos + 1]
        else:
            del data[pos:]
    return bytes(data)


@st.composite
def chunked(draw: st.DrawFn, source: st.SearchStrategy[bytes]) -> list[bytes]:
    data = draw(source)
    cuts = draw(st.lists(st.integers(0, len(data)), max_size=5))
    return split_at(data, cuts)


@SETTINGS
@given(chunks=chunked(st.binary(max_size=24)))
def test_differential_random_bytes(both_backends: tuple[Any, ...], chunks: list[bytes]) -> None:
    _check_same(both_backends, chunks)


@SETTINGS
@given(chunks=chunked(corrupted_text()))
def test_differential_corrupted_text(both_backends: tuple[Any, ...], chunks: list[bytes]) -> None:
    _check_same(both_backends, chunks)


@SETTINGS
@given(
    data=st.lists(
        st.sampled_from(
            [
                b"a",
                b"\x80",
                b"\xbf",
                b"\xc2",
                b"\xe0",
                b"\xed",
                b"\xf0",
                b"\xf4",
                b"\xa0",
                b"\x90",
                b"\x8f",
                b"\x9f",
                b"\xf5",
                b"\xc1",
                b"\xe1",
            ]
        ),
        max_size=12,
    ).map(b"".join),
    cuts=st.lists(st.integers(0, 12), max_size=4),
)
def test_differential_tricky_bytes(
    both_backends: tuple[Any, ...], data: bytes, cuts: list[int]
) -> None:
    _check_same(both_backends, split_at(data, [min(c, len(data)) for c in cuts]))


@SETTINGS
@given(value=st.one_of(st.text(), st.integers(), st.none(), st.floats(), st.lists(st.integers())))
def test_differential_type_errors(both_backends: tuple[Any, ...], value: Any) -> None:
    messages = set()
    for b in both_backends:
        with pytest.raises(TypeError) as one:
            b.utf8.validate(value)
        with pytest.raises(TypeError) as two:
            b.utf8.Utf8Validator().feed(value)
        messages.add((type(one.value), str(one.value), type(two.value), str(two.value)))
    assert len(messages) == 1


# -- C only: every SIMD variant, the GIL-free path ---------------------------------------

needs_c = pytest.mark.skipif("c" not in BACKEND_IDS, reason="compiled backend disabled")


@pytest.fixture
def c_utf8() -> Iterator[Any]:
    module = importlib.import_module("fastws_c.utf8")
    selected = module._selected()
    try:
        yield module
    finally:
        module._use(selected)


def _variants(module: Any) -> list[str]:
    names: list[str] = module._implementations()
    assert names[0] == "scalar"
    return names


@needs_c
def test_c_only_hooks(c_utf8: Any) -> None:
    names = _variants(c_utf8)
    assert len(set(names)) == len(names)
    assert set(names) <= {"scalar", "ssse3", "avx2", "avx512"}
    # the widest one is picked at import (AVX2 rather than AVX-512 on CPUs
    # where 512-bit code lowers the clock)
    default = c_utf8._selected()
    assert default == names[-1] or (default, names[-1]) == ("avx2", "avx512")
    for name in names:
        c_utf8._use(name)
        assert c_utf8._selected() == name
    with pytest.raises(ValueError, match="unknown or unsupported"):
        c_utf8._use("neon-on-x86")
    assert c_utf8._selected() == names[-1]  # unchanged by the failed _use


@functools.cache
def _pair_table() -> bytes:
    """decodes(bytes([a, b])) for all pairs, as a 65536-byte table."""
    return bytes(decodes(bytes([a, b])) for a in range(256) for b in range(256))


@needs_c
def test_c_only_every_byte_pair_every_variant(c_utf8: Any) -> None:
    """Every byte pair exercises one cell of the three nibble tables; placed at
    several offsets in and across SIMD blocks, in ASCII and non-ASCII context."""
    table = _pair_table()
    contexts = [
        (b"", b""),
        (b"x" * 15, b"\xe2\x82\xac"),
        (b"x" * 31, b""),
        (b"\xc3\xa9" * 31, b"y" * 40),  # pair at offset 62: straddles a 64-byte block
        (b"x" * 126, b"\xf0\x9f\x98\x80"),  # straddles 128
    ]
    for name in _variants(c_utf8):
        c_utf8._use(name)
        for before, after in contexts:
            for a in range(256):
                for b in range(256):
                    data = before + bytes([a, b]) + after
                    assert c_utf8.validate(data) is bool(table[a * 256 + b]), (name, data)


BAD_PATTERNS = [
    b"\x80",
    b"\xbf",
    b"\xc0\x80",
    b"\xc1\xbf",
    b"\xe0\x9f\xbf",
    b"\xed\xa0\x80",
    b"\xf0\x8f\xbf\xbf",
    b"\xf4\x90\x80\x80",
    b"\xf5\x80\x80\x80",
    b"\xff",
    b"\xe2\x82",  # truncated, followed by more text
    b"\xf0\x9f\x98",
    b"\xc3",
    b"\xc3\xa9\xa9",  # one continuation too many
    b"\xe2\x82\xac\x80",
]


@needs_c
def test_c_only_invalid_at_every_block_position(c_utf8: Any) -> None:
    """An invalid pattern at each position 0..260 (beyond two 128-byte blocks), in
    ASCII and in multi-byte context; and every valid sequence straddling every
    block boundary."""
    rng = random.Random(5)
    ascii_text = bytes(rng.randrange(0x20, 0x7F) for _ in range(300))
    chars = ["é", "€", "😀", "\U0010ffff", "ж", "中"]
    for name in _variants(c_utf8):
        c_utf8._use(name)
        for pos in range(262):
            for bad in BAD_PATTERNS:
                data = ascii_text[:pos] + bad + ascii_text[pos:]
                assert c_utf8.validate(data) is False, (name, pos, bad)
                assert c_utf8.validate(data[: pos + len(bad)]) is decodes(data[: pos + len(bad)])
                multi = ("é" * pos).encode()[:pos]  # may cut a character: oracle decides
                data = multi + bad + "€".encode() * 20
                assert c_utf8.validate(data) is decodes(data), (name, pos, bad)
            for char in chars:
                data = ascii_text[:pos] + char.encode() + ascii_text[pos : pos + 70]
                assert c_utf8.validate(data) is True, (name, pos, char)
                data = ascii_text[:pos] + char.encode()[:-1]  # cut at the very end
                assert c_utf8.validate(data) is False, (name, pos, char)
                data = ascii_text[:pos] + char.encode()[:-1] + ascii_text[:70]
                assert c_utf8.validate(data) is False, (name, pos, char)


@needs_c
def test_c_only_every_length_and_offset(c_utf8: Any) -> None:
    """Valid and truncated mixed text of every length 0..300, at memory offsets 0..63."""
    rng = random.Random(11)
    text = mixed_text(rng, 400)
    for name in _variants(c_utf8):
        c_utf8._use(name)
        for n in range(301):
            data = text[:n]
            expected = decodes(data)
            offset = n % 64
            buffer = bytearray(b"\xff" * offset + data + b"\x80")
            assert c_utf8.validate(data) is expected, (name, n)
            assert c_utf8.validate(memoryview(buffer)[offset : offset + n]) is expected, (name, n)
            results = feed_results(c_utf8, split_at(data, [n // 3, n // 2]))
            assert results == expected_results(split_at(data, [n // 3, n // 2])), (name, n)


@needs_c
def test_c_only_random_against_scalar(c_utf8: Any) -> None:
    """Random corrupted mixed text of random lengths: every variant equals the oracle,
    for validate and for feed at random splits."""
    rng = random.Random(99)
    names = _variants(c_utf8)
    for _ in range(400):
        data = bytearray(mixed_text(rng, rng.randrange(0, 200)))
        for _ in range(rng.randrange(0, 3)):
            if data:
                data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.3:
            del data[rng.randrange(len(data) + 1) :]
        raw = bytes(data)
        chunks = split_at(raw, [rng.randrange(len(raw) + 1) for _ in range(3)])
        expected = expected_results(chunks)
        for name in names:
            c_utf8._use(name)
            assert c_utf8.validate(raw) is decodes(raw), (name, raw)
            assert feed_results(c_utf8, chunks) == expected, (name, chunks)


@needs_c
@pytest.mark.parametrize("n", [64 * 1024 - 1, 64 * 1024, 64 * 1024 + 1, MIB + 3])
def test_c_only_large_every_variant(c_utf8: Any, big_text: bytes, n: int) -> None:
    """Inputs at and above the GIL-release threshold, valid, with an error near the
    end, and cut inside a character at the end."""
    data = big_text[:n]
    while not decodes(data):
        data = data[:-1]
    four = "😀".encode()
    for name in _variants(c_utf8):
        c_utf8._use(name)
        assert c_utf8.validate(data) is True, name
        assert c_utf8.validate(data + b"\x80") is False, name
        assert c_utf8.validate(data + four[:3]) is False, name
        assert c_utf8.validate(data[:-50] + b"\xed\xbf\xbf" + data[-50:]) is decodes(
            data[:-50] + b"\xed\xbf\xbf" + data[-50:]
        ), name
        assert feed_results(c_utf8, [data, four[:2], four[2:]]) == ([True, True, True], True)
        assert feed_results(c_utf8, [data + four[:1], b"\x8f"]) == ([True, False], False)


@needs_c
def test_c_only_threads(c_utf8: Any, big_text: bytes) -> None:
    """Large scans release the GIL; concurrent ones still give the right answers."""
    bad = big_text[: MIB // 2] + b"\xc0\x80" + big_text[MIB // 2 :]
    errors: list[str] = []

    def work(index: int) -> None:
        validator = c_utf8.Utf8Validator()
        for _ in range(5):
            if c_utf8.validate(big_text) is not True or c_utf8.validate(bad) is not False:
                errors.append(f"validate in thread {index}")
            if validator.feed(big_text) is not True or validator.finish() is not True:
                errors.append(f"feed in thread {index}")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
