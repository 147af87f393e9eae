"""The handshake keys of RFC 6455 (``accept`` kernel), on both backends.

* ``accept_key`` -- RFC 6455 section 4.2.2 (server step 5.4) / section 1.3:
  base64(SHA-1(key + GUID)); known-answer vectors, every input type, any key
  length, error types and messages.
* ``generate_key`` -- RFC 6455 section 4.1 (client requirement 7): base64 of a
  16-byte random nonce.
* ``is_valid_key`` -- RFC 6455 section 4.2.1 item 5: canonical base64 of
  exactly 16 bytes.

Oracles are independent of the code under test: ``hashlib``/``base64`` for
digests, a decode/re-encode round trip for key validity. ``test_c_only_...``
tests exercise the private hooks of ``fastws_c.accept`` (every SHA-1 variant
usable on this CPU, the ``os.urandom`` fallback of ``generate_key``).
"""

from __future__ import annotations

import array
import base64
import binascii
import hashlib
import importlib
import string
from typing import Any, Callable, Iterator

import pytest
from conftest import BACKEND_IDS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TYPE_MESSAGE = "key must be str or bytes-like"
ASCII_MESSAGE = "key must be ASCII"
B64_ALPHABET = string.ascii_uppercase + string.ascii_lowercase + string.digits + "+/"

# (Sec-WebSocket-Key, Sec-WebSocket-Accept)
VECTORS = [
    ("dGhlIHNhbXBsZSBub25jZQ==", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),  # RFC 6455 section 1.3
    ("x3JJHMbDL1EzLkh9GBhXDw==", "HSmrc0sMlYUkAGmm5OPpG2HaGWk="),
]

# around the SHA-1 padding boundaries (message = key + 36-byte GUID)
BOUNDARY_LENGTHS = sorted(
    {0, 1, 2, 3, 19, 20, 23, 24, 25, 27, 28, 29, 83, 84, 85, 91, 92, 93, 119, 120, 1000}
)

SETTINGS = settings(max_examples=300, deadline=None)


def expected_accept(key: bytes) -> str:
    return base64.b64encode(hashlib.sha1(key + GUID.encode()).digest()).decode()


def canonical_16(key: bytes) -> bool:
    """Oracle for is_valid_key: base64 of 16 bytes that re-encodes identically."""
    if len(key) != 24:
        return False
    try:
        raw = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        return False
    return len(raw) == 16 and base64.b64encode(raw) == key


def buffer_forms(data: bytes) -> Iterator[Any]:
    """``data`` as every kind of bytes-like object, some at odd offsets."""
    yield data
    yield bytearray(data)
    yield memoryview(data)
    for offset in (1, 3, 7):
        backing = bytearray(b"\xaa" * offset + data + b"\x55" * 5)
        yield memoryview(backing)[offset : offset + len(data)]
    yield array.array("B", data)


class StrSubclass(str):
    pass


class BytesSubclass(bytes):
    pass


def result_of(func: Callable[..., Any], *args: Any) -> tuple[str, Any]:
    """A comparable outcome: the value, or the exception type and message."""
    try:
        return ("ok", func(*args))
    except Exception as exc:  # noqa: BLE001 - compared between backends
        return ("raised", (type(exc), str(exc)))


# ---------------------------------------------------------------------------
# accept_key


def test_guid(backend: Any) -> None:
    assert backend.accept.GUID == GUID
    assert isinstance(backend.accept.GUID, str)


@pytest.mark.parametrize(("key", "accept"), VECTORS)
def test_accept_key_vectors(backend: Any, key: str, accept: str) -> None:
    assert expected_accept(key.encode()) == accept  # the oracle agrees with the RFC
    result = backend.accept.accept_key(key)
    assert type(result) is str
    assert result == accept
    for form in buffer_forms(key.encode()):
        assert backend.accept.accept_key(form) == accept, type(form)


@pytest.mark.parametrize("length", BOUNDARY_LENGTHS)
def test_accept_key_any_length(backend: Any, length: int) -> None:
    key = bytes((i * 7 + 3) % 94 + 33 for i in range(length))  # printable ASCII
    expected = expected_accept(key)
    assert backend.accept.accept_key(key.decode()) == expected
    for form in buffer_forms(key):
        assert backend.accept.accept_key(form) == expected


@pytest.mark.parametrize("length", [64, 65535, 65536, 65537, 200_003])
def test_accept_key_long_keys(backend: Any, length: int) -> None:
    # the compiled backend hashes keys of 64 KiB and more without the GIL
    key = bytes(range(256)) * (length // 256) + bytes(length % 256)
    expected = expected_accept(key)
    assert backend.accept.accept_key(key) == expected
    assert backend.accept.accept_key(bytearray(key)) == expected
    assert backend.accept.accept_key(memoryview(b"!" + key)[1:]) == expected
    text = key.replace(b"\x00", b"A").translate(bytes(i & 0x7F for i in range(256)))
    assert backend.accept.accept_key(text.decode("ascii")) == expected_accept(text)


def test_accept_key_non_byte_formats(backend: Any) -> None:
    # a buffer's raw bytes are hashed, whatever its item format
    words = array.array("I", [0x01020304, 0xA0B0C0D0, 7])
    assert backend.accept.accept_key(words) == expected_accept(words.tobytes())
    matrix = memoryview(bytes(range(24))).cast("B", (4, 6))
    assert backend.accept.accept_key(matrix) == expected_accept(bytes(range(24)))


def test_accept_key_non_contiguous_buffer(backend: Any) -> None:
    data = bytes(range(48))
    view = memoryview(data)[::2]
    assert not view.c_contiguous
    assert backend.accept.accept_key(view) == expected_accept(data[::2])


def test_accept_key_subclasses(backend: Any) -> None:
    key, accept = VECTORS[0]
    assert backend.accept.accept_key(StrSubclass(key)) == accept
    assert backend.accept.accept_key(BytesSubclass(key.encode())) == accept


@pytest.mark.parametrize(
    "key", ["é" * 24, "dGhlIHNhbXBsZSBub25jZQ=\x80", "\udcff", "ключ", "🔑", StrSubclass("ü")]
)
def test_accept_key_non_ascii_str(backend: Any, key: str) -> None:
    with pytest.raises(ValueError) as info:
        backend.accept.accept_key(key)
    assert type(info.value) is ValueError
    assert str(info.value) == ASCII_MESSAGE


def test_accept_key_empty(backend: Any) -> None:
    expected = expected_accept(b"")
    assert backend.accept.accept_key("") == expected
    assert backend.accept.accept_key(b"") == expected
    assert backend.accept.accept_key(bytearray()) == expected
    assert backend.accept.accept_key(memoryview(b"xyz")[1:1]) == expected


@pytest.mark.parametrize("key", [None, 1, 1.5, ["a"], ("a",), {"a": 1}, object(), 24, True])
def test_accept_key_wrong_type(backend: Any, key: Any) -> None:
    with pytest.raises(TypeError) as info:
        backend.accept.accept_key(key)
    assert type(info.value) is TypeError
    assert str(info.value) == TYPE_MESSAGE


def test_accept_key_keyword_argument(backend: Any) -> None:
    key, accept = VECTORS[1]
    assert backend.accept.accept_key(key=key) == accept


def test_accept_key_does_not_mutate_input(backend: Any) -> None:
    key = bytearray(VECTORS[0][0].encode())
    backend.accept.accept_key(key)
    assert key == bytearray(VECTORS[0][0].encode())


# ---------------------------------------------------------------------------
# generate_key


def test_generate_key(backend: Any) -> None:
    keys = [backend.accept.generate_key() for _ in range(200)]
    for key in keys:
        assert type(key) is str
        assert len(key) == 24
        assert key.endswith("==")
        assert len(base64.b64decode(key, validate=True)) == 16
        assert backend.accept.is_valid_key(key)
        assert canonical_16(key.encode())
    assert len(set(keys)) == len(keys)


def test_generate_key_uses_every_bit(backend: Any) -> None:
    # 400 random nonces: every one of the 128 bits is set in some and clear in
    # others (the chance that a fair bit is constant is 2 * 2**-400)
    seen_set = 0
    seen_clear = 0
    for _ in range(400):
        value = int.from_bytes(base64.b64decode(backend.accept.generate_key()), "big")
        seen_set |= value
        seen_clear |= ~value
    mask = (1 << 128) - 1
    assert seen_set == mask
    assert seen_clear & mask == mask


# ---------------------------------------------------------------------------
# is_valid_key

VALID_KEYS = [
    "dGhlIHNhbXBsZSBub25jZQ==",
    "x3JJHMbDL1EzLkh9GBhXDw==",
    "AAAAAAAAAAAAAAAAAAAAAA==",
    "/////////////////////w==",
    "+++++++++++++++++++++Q==",
    "0123456789abcdefghijkg==",
]

INVALID_KEYS = [
    "",
    "=",
    "==",
    "AAAAAAAAAAAAAAAAAAAAA==",  # 23
    "AAAAAAAAAAAAAAAAAAAAAAA==",  # 25
    "AAAAAAAAAAAAAAAAAAAAAA=",  # 23, one '='
    "AAAAAAAAAAAAAAAAAAAAAA===",  # 25
    "AAAAAAAAAAAAAAAAAAAAAAAA",  # no padding
    "AAAAAAAAAAAAAAAAAAAAAB==",  # padding bits set
    "AAAAAAAAAAAAAAAAAAAAAP==",
    "AAAAAAAAAAAAAAAAAAAAA/==",
    "AAAAAAAAAAAAAAAAAAAAA===",  # '=' as the 22nd character
    "=AAAAAAAAAAAAAAAAAAAAA==",  # '=' first
    "AAAAAAAAAA=AAAAAAAAAAA==",  # '=' in the middle
    "AAAAAAAAAAAAAAAAAAAAAA=A",
    "AAAAAAAAAAAAAAAAAAAAAAA=",  # one '=': 17 bytes
    "-AAAAAAAAAAAAAAAAAAAAA==",  # url-safe alphabet
    "AAAAAAAAAA_AAAAAAAAAAA==",
    "AAAAAAAAAAAAAAAAAAAAA-==",
    "AAAAAAAAAAA AAAAAAAAAA==",
    " AAAAAAAAAAAAAAAAAAAAAA==",
    "AAAAAAAAAAAAAAAAAAAAAA== ",
    "AAAAAAAAAAAAAAAAAAAAAA==\n",
    "AAAAAAAAAAAAAAAAAAAAAA==\r\n",
    "\nAAAAAAAAAAAAAAAAAAAAAA==",
    "AAAAAAAAAAAAAAAAAAAAAA\n==",
    "AAAAAAAAAAAAAAAAAAAAAA\x00=",
    "AAAAAAAAAAAAAAAAAAAAA\x00==",
    "dGhlIHNhbXBsZSBub25jZQ",
    "dGhlIHNhbXBsZSBub25jZQ==dGhlIHNhbXBsZSBub25jZQ==",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    "AAAAAAAAAAAAAAAAAAAAAé==",  # non-ASCII str of 24 characters
    "éAAAAAAAAAAAAAAAAAAAAA==",
    "AAAAAAAAAAAAAAAAAAAAA\u0100==",
    "\uff21AAAAAAAAAAAAAAAAAAAAA==",  # fullwidth 'A'
    "AAAAAAAAAAAAAAAAAAAAA\U0001f511==",
]


@pytest.mark.parametrize("key", VALID_KEYS)
def test_is_valid_key_valid(backend: Any, key: str) -> None:
    assert canonical_16(key.encode())  # the oracle agrees
    assert backend.accept.is_valid_key(key) is True
    assert backend.accept.is_valid_key(StrSubclass(key)) is True
    for form in buffer_forms(key.encode()):
        assert backend.accept.is_valid_key(form) is True, type(form)
    assert backend.accept.is_valid_key(BytesSubclass(key.encode())) is True


@pytest.mark.parametrize("key", INVALID_KEYS)
def test_is_valid_key_invalid(backend: Any, key: str) -> None:
    assert backend.accept.is_valid_key(key) is False
    assert backend.accept.is_valid_key(StrSubclass(key)) is False
    raw = key.encode("utf-8")
    assert not canonical_16(raw)
    for form in buffer_forms(raw):
        assert backend.accept.is_valid_key(form) is False, type(form)
    latin = key.encode("latin-1", "replace")
    assert backend.accept.is_valid_key(latin) is canonical_16(latin)


def test_is_valid_key_high_bit_bytes(backend: Any) -> None:
    for byte in range(0x80, 0x100):
        key = bytes([byte]) * 24
        assert backend.accept.is_valid_key(key) is False
        key = b"AAAAAAAAAAAAAAAAAAAA" + bytes([byte]) + b"A=="
        assert backend.accept.is_valid_key(key) is False
        key = b"AAAAAAAAAAAAAAAAAAAAAA=" + bytes([byte])
        assert backend.accept.is_valid_key(bytearray(key)) is False


def test_is_valid_key_every_byte_at_every_position(backend: Any) -> None:
    # position 0..21: only the base64 alphabet (and at 21 only A, Q, g, w);
    # positions 22, 23: only '='
    base = bytearray(b"AAAAAAAAAAAAAAAAAAAAAA==")
    for position in range(24):
        for byte in range(256):
            key = bytearray(base)
            key[position] = byte
            expected = canonical_16(bytes(key))
            assert backend.accept.is_valid_key(bytes(key)) is expected, (position, byte)
            if byte < 0x80:
                assert backend.accept.is_valid_key(key.decode("ascii")) is expected


def test_is_valid_key_last_character(backend: Any) -> None:
    valid = {c for c in B64_ALPHABET if B64_ALPHABET.index(c) % 16 == 0}
    assert valid == set("AQgw")
    for c in B64_ALPHABET:
        key = "dGhlIHNhbXBsZSBub25jZ" + c + "=="
        assert backend.accept.is_valid_key(key) is (c in valid), c


def test_is_valid_key_non_byte_formats(backend: Any) -> None:
    key = VALID_KEYS[0].encode()
    assert backend.accept.is_valid_key(array.array("I", key)) is True  # 24 raw bytes
    assert backend.accept.is_valid_key(array.array("H", key[:12] * 2)) is False  # 24 raw bytes
    assert backend.accept.is_valid_key(memoryview(key).cast("B", (4, 6))) is True
    wide = memoryview(b"-".join(bytes([b]) for b in key) + b"-")[::2]
    assert not wide.c_contiguous
    assert backend.accept.is_valid_key(wide) is True


@pytest.mark.parametrize("key", [None, 16, 1.5, ["AAAAAAAAAAAAAAAAAAAAAA=="], object(), False])
def test_is_valid_key_wrong_type(backend: Any, key: Any) -> None:
    with pytest.raises(TypeError) as info:
        backend.accept.is_valid_key(key)
    assert type(info.value) is TypeError
    assert str(info.value) == TYPE_MESSAGE


def test_is_valid_key_keyword_argument(backend: Any) -> None:
    assert backend.accept.is_valid_key(key=VALID_KEYS[0]) is True


@SETTINGS
@given(raw=st.binary(min_size=16, max_size=16))
def test_is_valid_key_accepts_every_nonce(backend: Any, raw: bytes) -> None:
    key = base64.b64encode(raw)
    assert backend.accept.is_valid_key(key) is True
    assert backend.accept.is_valid_key(key.decode()) is True


# ---------------------------------------------------------------------------
# differential: identical results (or exceptions) on both backends

# mostly the base64 alphabet with '=' often, so valid keys occur regularly
KEY_CHARS = st.one_of(
    st.sampled_from(B64_ALPHABET),
    st.sampled_from(B64_ALPHABET),
    st.sampled_from(B64_ALPHABET),
    st.just("="),
    st.sampled_from("-_ \t\r\n.\x00\x7fé\u0100\U0001f511"),
)
KEY_LIKE = st.one_of(
    st.lists(KEY_CHARS, min_size=22, max_size=26).map("".join),
    st.lists(st.sampled_from(B64_ALPHABET), min_size=21, max_size=21).flatmap(
        lambda head: st.sampled_from(B64_ALPHABET).map(lambda last: "".join(head) + last + "==")
    ),
)
ANY_KEY = st.one_of(
    st.text(max_size=300),
    st.binary(max_size=300),
    st.binary(max_size=300).map(bytearray),
    st.tuples(st.binary(max_size=200), st.integers(0, 7)).map(
        lambda t: memoryview(bytearray(t[1]) + t[0])[t[1] :]
    ),
    st.integers(),
    st.none(),
    st.floats(allow_nan=False),
)


def both(both_backends: Any) -> tuple[Any, Any]:
    assert [b.name for b in both_backends] == list(BACKEND_IDS)
    return both_backends[0].accept, both_backends[-1].accept


@SETTINGS
@given(key=ANY_KEY)
def test_differential_accept_key(both_backends: Any, key: Any) -> None:
    pure, compiled = both(both_backends)
    outcome = result_of(pure.accept_key, key)
    assert result_of(compiled.accept_key, key) == outcome
    if isinstance(key, (bytes, bytearray, memoryview)):
        assert outcome == ("ok", expected_accept(bytes(key)))


@SETTINGS
@given(key=st.text(alphabet=st.characters(max_codepoint=127), max_size=200))
def test_differential_accept_key_ascii_text(both_backends: Any, key: str) -> None:
    pure, compiled = both(both_backends)
    expected = expected_accept(key.encode("ascii"))
    assert pure.accept_key(key) == expected
    assert compiled.accept_key(key) == expected


@SETTINGS
@given(key=KEY_LIKE)
def test_differential_is_valid_key_text(both_backends: Any, key: str) -> None:
    pure, compiled = both(both_backends)
    expected = canonical_16(key.encode("utf-8"))
    assert result_of(pure.is_valid_key, key) == ("ok", expected)
    assert result_of(compiled.is_valid_key, key) == ("ok", expected)
    raw = key.encode("utf-8")
    for form in (raw, bytearray(raw), memoryview(b"=" + raw)[1:]):
        assert result_of(pure.is_valid_key, form) == ("ok", expected)
        assert result_of(compiled.is_valid_key, form) == ("ok", expected)


@SETTINGS
@given(key=ANY_KEY)
def test_differential_is_valid_key_any(both_backends: Any, key: Any) -> None:
    pure, compiled = both(both_backends)
    outcome = result_of(pure.is_valid_key, key)
    assert result_of(compiled.is_valid_key, key) == outcome
    if isinstance(key, (bytes, bytearray, memoryview)):
        assert outcome == ("ok", canonical_16(bytes(key)))


# ---------------------------------------------------------------------------
# compiled backend only: private hooks


@pytest.fixture
def c_accept() -> Iterator[Any]:
    """``fastws_c.accept``, with its SHA-1 variant and nonce source restored after the test."""
    if "c" not in BACKEND_IDS:
        pytest.skip("pure-only run (FASTWS_NO_EXTENSIONS=1): no compiled backend")
    module = importlib.import_module("fastws_c.accept")
    selected = module._selected()
    getrandom = module._use_getrandom(True)
    module._use_getrandom(getrandom)
    try:
        yield module
    finally:
        module._use(selected)
        module._use_getrandom(getrandom)


def test_c_only_implementations(c_accept: Any) -> None:
    names = c_accept._implementations()
    assert names[0] == "scalar"
    assert len(set(names)) == len(names)
    assert set(names) <= {"scalar", "shani"}
    # at import the fastest available variant is chosen
    assert c_accept._selected() == names[-1]
    for name in names:
        c_accept._use(name)
        assert c_accept._selected() == name
    for bad in ("", "nope", "SCALAR", "scalar\0", "shani2", 1, None):
        if bad in names:
            continue
        with pytest.raises(ValueError):
            c_accept._use(bad)


SHA1_LENGTHS = sorted(
    set(range(0, 301)) | {447, 448, 511, 512, 513, 1000, 4096 + 7, 65536, 100_001}
)


def test_c_only_sha1_every_variant(c_accept: Any) -> None:
    pattern = bytes((i * 131 + 17) & 0xFF for i in range(100_001 + 8))
    for name in c_accept._implementations():
        c_accept._use(name)
        for length in SHA1_LENGTHS:
            data = pattern[:length]
            assert c_accept._sha1(data) == hashlib.sha1(data).digest(), (name, length)
        for offset in range(1, 8):  # unaligned sources
            for length in (55, 56, 63, 64, 65, 200):
                view = memoryview(bytearray(pattern))[offset : offset + length]
                expected = hashlib.sha1(pattern[offset : offset + length]).digest()
                assert c_accept._sha1(view) == expected, (name, offset, length)


def test_c_only_sha1_bit_patterns(c_accept: Any) -> None:
    samples = [bytes(64), b"\xff" * 64, b"\x80" + bytes(63), bytes(63) + b"\x01", b"abc"]
    for name in c_accept._implementations():
        c_accept._use(name)
        for data in samples:
            assert c_accept._sha1(data) == hashlib.sha1(data).digest(), (name, data)
        # FIPS 180-4 example (one block) and the 2-block example
        assert c_accept._sha1(b"abc").hex() == "a9993e364706816aba3e25717850c26c9cd0d89d"
        two = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
        assert c_accept._sha1(two).hex() == "84983e441c3bd26ebaae4aa1f95129e5e54670f1"


@settings(SETTINGS, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=600))
def test_c_only_sha1_random(c_accept: Any, data: bytes) -> None:
    expected = hashlib.sha1(data).digest()
    for name in c_accept._implementations():
        c_accept._use(name)
        assert c_accept._sha1(data) == expected, name


def test_c_only_accept_key_every_variant(c_accept: Any) -> None:
    for name in c_accept._implementations():
        c_accept._use(name)
        for key, accept in VECTORS:
            assert c_accept.accept_key(key) == accept
            assert c_accept.accept_key(key.encode()) == accept
        for length in BOUNDARY_LENGTHS + [70_000]:
            key = bytes(i % 94 + 33 for i in range(length))
            assert c_accept.accept_key(key) == expected_accept(key), (name, length)


def test_c_only_sha1_wrong_type(c_accept: Any) -> None:
    with pytest.raises(TypeError):
        c_accept._sha1("text")
    with pytest.raises(TypeError):
        c_accept._sha1(None)


def test_c_only_generate_key_urandom_fallback(c_accept: Any) -> None:
    previous = c_accept._use_getrandom(False)
    assert c_accept._use_getrandom(False) is False
    keys = [c_accept.generate_key() for _ in range(100)]
    c_accept._use_getrandom(previous)
    for key in keys:
        assert len(key) == 24 and c_accept.is_valid_key(key)
        assert len(base64.b64decode(key, validate=True)) == 16
    assert len(set(keys)) == len(keys)


def test_c_only_generate_key_getrandom(c_accept: Any) -> None:
    c_accept._use_getrandom(True)
    keys = [c_accept.generate_key() for _ in range(100)]
    for key in keys:
        assert len(key) == 24 and c_accept.is_valid_key(key)
    assert len(set(keys)) == len(keys)
