"""The masking kernel (RFC 6455 section 5.3), on both backends.

RFC 6455 5.3: octet i of the transformed data is octet i of the original data
XOR octet ``i MOD 4`` of the masking key.  ``apply_mask`` returns new bytes;
``apply_mask_inplace`` XORs a writable buffer starting at key octet ``phase``
and returns the phase of the next octet, so a payload arriving in chunks is
unmasked chunk by chunk.

Oracles are independent of the code under test: a byte-by-byte comprehension
for small inputs, and for large ones four ``bytes.translate`` passes (every
4th octet is XORed with one constant key octet, which a 256-entry table does).
``test_c_only_...`` tests run every SIMD variant of ``fastws_c.mask`` usable on
this CPU (the portable scalar one always) through the private hooks.
"""

from __future__ import annotations

import array
import importlib
import inspect
import pickle
import random
import threading
from typing import Any, Callable, Iterator

import pytest
from conftest import BACKEND_IDS
from hypothesis import given, settings
from hypothesis import strategies as st

MASK_LENGTH = "mask must be exactly 4 bytes"
MASK_TYPE = "mask must be a contiguous bytes-like object"
DATA_TYPE = "data must be a contiguous bytes-like object"
PHASE_VALUE = "phase must be 0, 1, 2 or 3"
PHASE_TYPE = "phase must be an int"
WRITABLE = "data must be a writable buffer"

SETTINGS = settings(max_examples=300, deadline=None)
MIB = 1 << 20


def reference(data: bytes, mask: bytes, phase: int = 0) -> bytes:
    """RFC 6455 5.3, literally."""
    return bytes(b ^ mask[(i + phase) % 4] for i, b in enumerate(data))


def reference_large(data: bytes, mask: bytes, phase: int = 0) -> bytes:
    """The same transform at C speed: octets k, k+4, ... share one key octet."""
    out = bytearray(data)
    for k in range(4):
        key = mask[(k + phase) % 4]
        table = bytes(i ^ key for i in range(256))
        out[k::4] = data[k::4].translate(table)
    return bytes(out)


def random_bytes(rng: random.Random, n: int) -> bytes:
    return rng.getrandbits(8 * n).to_bytes(n, "little") if n else b""


def split(rng: random.Random, n: int) -> list[int]:
    """Random chunk boundaries covering 0..n (empty chunks included)."""
    cuts = sorted(rng.randint(0, n) for _ in range(rng.randint(0, 6)))
    return [0, *cuts, n]


# -- known answers -----------------------------------------------------------


def test_rfc_6455_example(backend: Any) -> None:
    # RFC 6455 5.7: "Hello" masked with 37 fa 21 3d is 7f 9f 4d 51 58
    key = bytes.fromhex("37fa213d")
    masked = bytes.fromhex("7f9f4d5158")
    assert backend.mask.apply_mask(b"Hello", key) == masked
    assert backend.mask.apply_mask(masked, key) == b"Hello"
    buf = bytearray(masked)
    assert backend.mask.apply_mask_inplace(buf, key) == 1
    assert buf == b"Hello"


def test_zero_mask_is_identity(backend: Any) -> None:
    data = bytes(range(256)) * 3
    assert backend.mask.apply_mask(data, b"\0\0\0\0") == data
    buf = bytearray(data)
    assert backend.mask.apply_mask_inplace(buf, b"\0\0\0\0", 3) == (3 + len(data)) % 4
    assert buf == data


def test_empty(backend: Any) -> None:
    out = backend.mask.apply_mask(b"", b"abcd")
    assert out == b"" and type(out) is bytes
    for phase in range(4):
        assert backend.mask.apply_mask_inplace(bytearray(), b"abcd", phase) == phase


# -- every length, every phase -----------------------------------------------


def test_every_size_and_phase(backend: Any) -> None:
    rng = random.Random(5)
    for n in range(301):
        data = random_bytes(rng, n)
        mask = random_bytes(rng, 4)
        out = backend.mask.apply_mask(data, mask)
        assert type(out) is bytes
        assert out == reference(data, mask), n
        for phase in range(4):
            buf = bytearray(data)
            assert backend.mask.apply_mask_inplace(buf, mask, phase) == (phase + n) % 4
            assert buf == reference(data, mask, phase), (n, phase)


def test_apply_mask_leaves_input_alone(backend: Any) -> None:
    data = bytearray(b"payload bytes")
    backend.mask.apply_mask(data, b"\xff\xff\xff\xff")
    assert data == b"payload bytes"


def test_chunked_inplace_equals_one_shot(backend: Any) -> None:
    rng = random.Random(7)
    for _ in range(200):
        n = rng.randint(0, 700)
        data = random_bytes(rng, n)
        mask = random_bytes(rng, 4)
        start_phase = rng.randint(0, 3)
        buf = bytearray(data)
        view = memoryview(buf)
        phase = start_phase
        bounds = split(rng, n)
        for lo, hi in zip(bounds, bounds[1:]):
            phase = backend.mask.apply_mask_inplace(view[lo:hi], mask, phase)
        assert phase == (start_phase + n) % 4
        assert buf == reference(data, mask, start_phase)


def test_chunked_separate_buffers(backend: Any) -> None:
    # the way a frame reader unmasks: each received chunk is its own bytearray
    rng = random.Random(8)
    data = random_bytes(rng, 1000)
    mask = b"\x01\x80\x7f\xfe"
    phase, parts = 0, []
    for lo, hi in ((0, 1), (1, 2), (2, 7), (7, 7), (7, 333), (333, 1000)):
        chunk = bytearray(data[lo:hi])
        phase = backend.mask.apply_mask_inplace(chunk, mask, phase)
        parts.append(bytes(chunk))
    assert b"".join(parts) == reference(data, mask)


# -- input types and alignment -------------------------------------------------


def test_data_types(backend: Any) -> None:
    data = bytes(range(37))
    mask = b"\x12\x34\x56\x78"
    expected = reference(data, mask)
    for obj in (data, bytearray(data), memoryview(data), memoryview(bytearray(data))):
        assert backend.mask.apply_mask(obj, mask) == expected
    words = array.array("I", range(9))  # 36 bytes, item size 4
    assert backend.mask.apply_mask(words, mask) == reference(words.tobytes(), mask)
    grid = memoryview(bytearray(data[:36])).cast("B", (6, 6))  # 2-D, C-contiguous
    assert backend.mask.apply_mask(grid, mask) == reference(data[:36], mask)


def test_mask_types(backend: Any) -> None:
    data = bytes(range(50))
    raw = b"\xa1\xb2\xc3\xd4"
    expected = reference(data, raw)
    for mask in (raw, bytearray(raw), memoryview(raw), array.array("B", raw)):
        assert backend.mask.apply_mask(data, mask) == expected
        buf = bytearray(data)
        backend.mask.apply_mask_inplace(buf, mask)
        assert buf == expected
    word = array.array("I", [int.from_bytes(raw, "little")])
    word_raw = word.tobytes()
    assert backend.mask.apply_mask(data, word) == reference(data, word_raw)
    assert backend.mask.apply_mask(data, memoryview(b"xx" + raw)[2:]) == expected


def test_inplace_writable_types(backend: Any) -> None:
    data = bytes(range(60))
    mask = b"\x0f\xf0\x3c\xc3"
    for phase in range(4):
        expected = reference(data, mask, phase)
        buf = bytearray(data)
        assert backend.mask.apply_mask_inplace(memoryview(buf), mask, phase) == phase
        assert buf == expected
        halves = array.array("H", data)  # 30 items of 2 bytes
        assert backend.mask.apply_mask_inplace(halves, mask, phase) == phase
        assert halves.tobytes() == expected
        grid = bytearray(data)
        view = memoryview(grid).cast("B", (5, 12))
        assert backend.mask.apply_mask_inplace(view, mask, phase) == phase
        assert grid == expected


@pytest.mark.parametrize("offset", range(9))
def test_odd_offsets(backend: Any, offset: int) -> None:
    rng = random.Random(offset)
    guard = b"\xee" * 13
    for n in (0, 1, 3, 4, 5, 15, 16, 17, 31, 33, 63, 64, 65, 100, 255, 257, 1000):
        data = random_bytes(rng, n)
        mask = random_bytes(rng, 4)
        phase = n % 4
        backing = bytearray(guard[:offset] + data + guard)
        view = memoryview(backing)[offset : offset + n]
        assert backend.mask.apply_mask(view, mask) == reference(data, mask)
        assert backend.mask.apply_mask_inplace(view, mask, phase) == (phase + n) % 4
        assert backing == guard[:offset] + reference(data, mask, phase) + guard


@pytest.mark.parametrize("n", [MIB, 16 * MIB + 3])
def test_large(backend: Any, n: int) -> None:
    rng = random.Random(n)
    for small in (0, 1, 5, 99, 1000):  # the fast oracle is the literal one
        sample = random_bytes(rng, small)
        for phase in range(4):
            assert reference_large(sample, b"\x01\x02\x03\x04", phase) == reference(
                sample, b"\x01\x02\x03\x04", phase
            )
    data = random_bytes(rng, n)
    mask = b"\x9d\x04\x5b\xe2"
    assert backend.mask.apply_mask(data, mask) == reference_large(data, mask)
    buf = bytearray(data)
    assert backend.mask.apply_mask_inplace(buf, mask, 3) == (3 + n) % 4
    assert buf == reference_large(data, mask, 3)


# -- errors (RFC 6455 5.3: the masking key is exactly 32 bits) -----------------


@pytest.mark.parametrize("mask", [b"", b"abc", b"abcde", b"abcdefgh", bytearray(3)])
def test_mask_wrong_length(backend: Any, mask: Any) -> None:
    with pytest.raises(ValueError) as info:
        backend.mask.apply_mask(b"data", mask)
    assert str(info.value) == MASK_LENGTH
    with pytest.raises(ValueError) as info:
        backend.mask.apply_mask_inplace(bytearray(b"data"), mask)
    assert str(info.value) == MASK_LENGTH


@pytest.mark.parametrize("mask", [None, "abcd", 1234, [1, 2, 3, 4], memoryview(bytearray(8))[::2]])
def test_mask_not_a_buffer(backend: Any, mask: Any) -> None:
    with pytest.raises(TypeError) as info:
        backend.mask.apply_mask(b"data", mask)
    assert str(info.value) == MASK_TYPE
    with pytest.raises(TypeError) as info:
        backend.mask.apply_mask_inplace(bytearray(b"data"), mask)
    assert str(info.value) == MASK_TYPE


@pytest.mark.parametrize("data", [None, "text", 42, [1, 2], memoryview(bytearray(8))[::2]])
def test_data_not_a_buffer(backend: Any, data: Any) -> None:
    with pytest.raises(TypeError) as info:
        backend.mask.apply_mask(data, b"abcd")
    assert str(info.value) == DATA_TYPE
    with pytest.raises(TypeError) as info:
        backend.mask.apply_mask_inplace(data, b"abcd")
    assert str(info.value) == DATA_TYPE


def test_released_view(backend: Any) -> None:
    # the exporter's own error passes through unchanged
    view = memoryview(bytearray(8))
    view.release()
    for call in (
        lambda: backend.mask.apply_mask(view, b"abcd"),
        lambda: backend.mask.apply_mask_inplace(view, b"abcd"),
        lambda: backend.mask.apply_mask(b"data", view),
    ):
        with pytest.raises(ValueError) as info:
            call()
        assert str(info.value) == "operation forbidden on released memoryview object"


@pytest.mark.parametrize("phase", [-1, 4, 5, 100, -(2**70), 2**70])
def test_phase_out_of_range(backend: Any, phase: int) -> None:
    buf = bytearray(b"data")
    with pytest.raises(ValueError) as info:
        backend.mask.apply_mask_inplace(buf, b"abcd", phase)
    assert str(info.value) == PHASE_VALUE
    assert buf == b"data"


@pytest.mark.parametrize("phase", [None, "1", 1.0, b"\x01"])
def test_phase_not_an_int(backend: Any, phase: Any) -> None:
    buf = bytearray(b"data")
    with pytest.raises(TypeError) as info:
        backend.mask.apply_mask_inplace(buf, b"abcd", phase)
    assert str(info.value) == PHASE_TYPE
    assert buf == b"data"


def test_phase_index_types(backend: Any) -> None:
    # anything with __index__ is an int: bool, int subclasses, array scalars...
    class Two(int):
        pass

    class Index:
        def __index__(self) -> int:
            return 3

    for phase, expected in ((True, 1), (False, 0), (Two(2), 2), (Index(), 3)):
        buf = bytearray(b"abcdef")
        assert backend.mask.apply_mask_inplace(buf, b"\x01\x02\x03\x04", phase) == (
            (expected + 6) % 4
        )
        assert buf == reference(b"abcdef", b"\x01\x02\x03\x04", expected)


@pytest.mark.parametrize(
    "data", [b"frozen", memoryview(b"frozen"), memoryview(bytearray(b"frozen")).toreadonly()]
)
def test_inplace_read_only(backend: Any, data: Any) -> None:
    with pytest.raises(TypeError) as info:
        backend.mask.apply_mask_inplace(data, b"abcd")
    assert str(info.value) == WRITABLE
    with pytest.raises(TypeError) as info:
        backend.mask.apply_mask_inplace(b"", b"abcd")  # even when empty
    assert str(info.value) == WRITABLE


def test_error_order(backend: Any) -> None:
    # mask first, then phase, then the data
    cases: list[tuple[Callable[[], Any], type[Exception], str]] = [
        (lambda: backend.mask.apply_mask_inplace(b"ro", b"abc", 9), ValueError, MASK_LENGTH),
        (lambda: backend.mask.apply_mask_inplace(None, None, None), TypeError, MASK_TYPE),
        (lambda: backend.mask.apply_mask_inplace(b"ro", b"abcd", 9), ValueError, PHASE_VALUE),
        (lambda: backend.mask.apply_mask_inplace(None, b"abcd", "x"), TypeError, PHASE_TYPE),
        (lambda: backend.mask.apply_mask_inplace(None, b"abcd", 1), TypeError, DATA_TYPE),
        (lambda: backend.mask.apply_mask_inplace(b"ro", b"abcd", 1), TypeError, WRITABLE),
        (lambda: backend.mask.apply_mask(None, b"abcde"), ValueError, MASK_LENGTH),
        (lambda: backend.mask.apply_mask(None, "abcd"), TypeError, MASK_TYPE),
        (lambda: backend.mask.apply_mask(None, b"abcd"), TypeError, DATA_TYPE),
    ]
    for call, kind, message in cases:
        with pytest.raises(kind) as info:
            call()
        assert type(info.value) is kind
        assert str(info.value) == message


# -- the function objects -------------------------------------------------------


def test_keyword_arguments(backend: Any) -> None:
    mask = b"\x01\x02\x03\x04"
    assert backend.mask.apply_mask(data=b"abc", mask=mask) == reference(b"abc", mask)
    assert backend.mask.apply_mask(b"abc", mask=mask) == reference(b"abc", mask)
    buf = bytearray(b"abcdef")
    assert backend.mask.apply_mask_inplace(buf, mask, phase=2) == 0
    assert backend.mask.apply_mask_inplace(phase=2, mask=mask, data=buf) == 0
    assert buf == b"abcdef"


def test_function_metadata(backend: Any) -> None:
    module = backend.mask
    assert sorted(module.__all__) == ["apply_mask", "apply_mask_inplace"]
    for name in module.__all__:
        func = getattr(module, name)
        assert func.__name__ == name
        assert func.__qualname__ == name
        assert func.__module__ == f"{backend.package}.mask"
        assert "RFC 6455 5.3" in func.__doc__
        assert pickle.loads(pickle.dumps(func)) is func
        assert inspect.isroutine(func)
    assert str(inspect.signature(module.apply_mask)) == (
        "(data: 'Buffer', mask: 'Buffer') -> 'bytes'"
    )
    assert str(inspect.signature(module.apply_mask_inplace)) == (
        "(data: 'Buffer', mask: 'Buffer', phase: 'int' = 0) -> 'int'"
    )


CALLS = [
    "apply_mask(b'x')",
    "apply_mask()",
    "apply_mask(b'x', b'abcd', b'')",
    "apply_mask(b'x', b'abcd', data=b'')",
    "apply_mask(b'x', mask=b'abcd', key=1)",
    "apply_mask(mask=b'abcd')",
    "apply_mask_inplace(bytearray(), b'abcd', 0, 1)",
    "apply_mask_inplace(bytearray(), b'abcd', phase=0, mask=b'abcd')",
    "apply_mask_inplace(phase=1)",
    "apply_mask_inplace(bytearray(), phase=1)",
    "apply_mask_inplace(data=bytearray(), mask=b'abcd', phase=9)",
    "apply_mask_inplace(bytearray(b'abc'), b'abcd', **{'phase': 1})",
]


def _outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    try:
        result = call()
    except Exception as exc:  # noqa: BLE001 - comparing whatever is raised
        return type(exc).__name__, str(exc)
    return "ok", result


@pytest.mark.parametrize("call", CALLS)
def test_call_binding_matches(both_backends: tuple[Any, ...], call: str) -> None:
    # arguments are bound like a Python def binds them, errors included
    outcomes = {_outcome(lambda b=b: eval("b.mask." + call)) for b in both_backends}
    assert len(outcomes) == 1, outcomes


# -- differential (hypothesis) ---------------------------------------------------


@SETTINGS
@given(
    data=st.binary(max_size=600),
    mask=st.binary(min_size=4, max_size=4),
    phase=st.integers(0, 3),
    cuts=st.lists(st.integers(0, 600), max_size=6),
)
def test_differential(
    both_backends: tuple[Any, ...], data: bytes, mask: bytes, phase: int, cuts: list[int]
) -> None:
    expected_one_shot = reference(data, mask)
    expected = reference(data, mask, phase)
    bounds = [0, *sorted(min(c, len(data)) for c in cuts), len(data)]
    for b in both_backends:
        assert b.mask.apply_mask(data, mask) == expected_one_shot
        buf = bytearray(data)
        view = memoryview(buf)
        p = phase
        for lo, hi in zip(bounds, bounds[1:]):
            p = b.mask.apply_mask_inplace(view[lo:hi], mask, p)
        assert p == (phase + len(data)) % 4
        assert buf == expected


@SETTINGS
@given(
    data=st.one_of(st.binary(max_size=40), st.none(), st.text(max_size=4)),
    writable=st.booleans(),
    mask=st.one_of(st.binary(max_size=8), st.none(), st.integers()),
    phase=st.one_of(st.integers(-3, 7), st.none(), st.floats(0, 3)),
)
def test_differential_errors(
    both_backends: tuple[Any, ...], data: Any, writable: bool, mask: Any, phase: Any
) -> None:
    outcomes = []
    for b in both_backends:
        d = bytearray(data) if writable and isinstance(data, bytes) else data
        outcomes.append(
            (
                _outcome(lambda b=b, d=d: b.mask.apply_mask(d, mask)),
                _outcome(lambda b=b, d=d: b.mask.apply_mask_inplace(d, mask, phase)),
                bytes(d) if isinstance(d, bytearray) else None,
            )
        )
    assert all(o == outcomes[0] for o in outcomes)


# -- C only: every SIMD variant, the GIL-free path ---------------------------------

needs_c = pytest.mark.skipif("c" not in BACKEND_IDS, reason="compiled backend disabled")


@pytest.fixture
def c_mask() -> Iterator[Any]:
    module = importlib.import_module("fastws_c.mask")
    selected = module._selected()
    threshold = module._nt_threshold()
    try:
        yield module
    finally:
        module._use(selected)
        module._nt_threshold(threshold)


def _variants(module: Any) -> list[str]:
    names = module._implementations()
    assert names[0] == "scalar"
    return names


@needs_c
def test_c_only_hooks(c_mask: Any) -> None:
    names = _variants(c_mask)
    assert len(set(names)) == len(names)
    assert set(names) <= {"scalar", "sse2", "avx2", "avx512"}
    # picked at import: AVX2 where there is one (AVX-512 measured no faster)
    preferred = next(v for v in ("avx2", "avx512", "sse2", "scalar") if v in names)
    assert c_mask._selected() == preferred
    for name in names:
        c_mask._use(name)
        assert c_mask._selected() == name
    for bad in ("", "avx1024", "neon", "scalar "):
        with pytest.raises(ValueError):
            c_mask._use(bad)
    with pytest.raises(TypeError):
        c_mask._use(b"scalar")
    assert c_mask._selected() == names[-1]  # failed calls change nothing


@needs_c
def test_c_only_every_variant_size_phase(c_mask: Any) -> None:
    import fastws.mask as pure

    rng = random.Random(11)
    cases = []
    for n in range(301):
        data = random_bytes(rng, n)
        mask = random_bytes(rng, 4)
        cases.append((data, mask, [reference(data, mask, p) for p in range(4)]))
    for name in _variants(c_mask):
        c_mask._use(name)
        for data, mask, expected in cases:
            n = len(data)
            assert c_mask.apply_mask(data, mask) == expected[0] == pure.apply_mask(data, mask)
            for phase in range(4):
                buf = bytearray(data)
                assert c_mask.apply_mask_inplace(buf, mask, phase) == (phase + n) % 4
                assert buf == expected[phase], (name, n, phase)
                twin = bytearray(data)
                pure.apply_mask_inplace(twin, mask, phase)
                assert buf == twin


@needs_c
def test_c_only_every_variant_offsets(c_mask: Any) -> None:
    rng = random.Random(12)
    guard = b"\x5a" * 70
    sizes = [*range(0, 140), 255, 256, 257, 511, 512, 513, 1000, 4099]
    for name in _variants(c_mask):
        c_mask._use(name)
        for src_offset in range(0, 66, 5):
            for n in sizes:
                data = random_bytes(rng, n)
                mask = random_bytes(rng, 4)
                phase = rng.randint(0, 3)
                # apply_mask: source at an odd offset, destination a new bytes
                backing = bytearray(guard[:src_offset] + data + guard)
                src = memoryview(backing)[src_offset : src_offset + n]
                assert c_mask.apply_mask(src, mask) == reference(data, mask), (name, n)
                # in place: source == destination at an odd offset, guards intact
                assert c_mask.apply_mask_inplace(src, mask, phase) == (phase + n) % 4
                assert backing == guard[:src_offset] + reference(data, mask, phase) + guard, (
                    name,
                    src_offset,
                    n,
                    phase,
                )


@needs_c
@pytest.mark.parametrize("n", [MIB, 16 * MIB + 3])
def test_c_only_every_variant_large(c_mask: Any, n: int) -> None:
    rng = random.Random(n + 1)
    data = random_bytes(rng, n)
    mask = b"\xc4\x11\xa7\x3e"
    expected = reference_large(data, mask)
    expected_phase = reference_large(data, mask, 1)
    for name in _variants(c_mask):
        c_mask._use(name)
        assert c_mask.apply_mask(data, mask) == expected, name
        buf = bytearray(data)
        assert c_mask.apply_mask_inplace(memoryview(buf)[1:], mask, 2) == (2 + n - 1) % 4
        assert buf[0] == data[0]
        assert buf[1:] == reference_large(data[1:], mask, 2)
        buf = bytearray(data)
        assert c_mask.apply_mask_inplace(buf, mask, 1) == (1 + n) % 4
        assert buf == expected_phase, name


@needs_c
def test_c_only_streaming_stores(c_mask: Any) -> None:
    # a new-bytes destination over the threshold is written with non-temporal
    # stores; force that path for every size and source offset
    assert c_mask._nt_threshold() >= 1 << 20  # default: 3/8 of the last-level cache
    c_mask._nt_threshold(0)
    assert c_mask._nt_threshold() == 0
    rng = random.Random(14)
    backing = bytearray(random_bytes(rng, 5000))
    mask = b"\x55\xaa\x0f\xf0"
    for name in _variants(c_mask):
        c_mask._use(name)
        for offset in (0, 1, 7, 16, 33, 63):
            for n in (*range(0, 300, 7), 511, 512, 513, 1024, 4000):
                src = memoryview(backing)[offset : offset + n]
                assert c_mask.apply_mask(src, mask) == reference(bytes(src), mask), (name, n)
        data = random_bytes(rng, 2 * MIB + 5)
        assert c_mask.apply_mask(data, mask) == reference_large(data, mask)
        buf = bytearray(data)
        c_mask.apply_mask_inplace(buf, mask, 2)  # in place never streams
        assert buf == reference_large(data, mask, 2)
    with pytest.raises(ValueError):
        c_mask._nt_threshold(-1)


@needs_c
def test_c_only_threads(c_mask: Any) -> None:
    # large inputs run without the GIL; concurrent calls must not interfere
    rng = random.Random(13)
    inputs = [(random_bytes(rng, 300_000 + i), random_bytes(rng, 4)) for i in range(4)]
    results: dict[int, tuple[bytes, bytes]] = {}

    def work(i: int) -> None:
        data, mask = inputs[i]
        buf = bytearray(data)
        for _ in range(5):
            c_mask.apply_mask_inplace(buf, mask, 1)
        results[i] = (c_mask.apply_mask(data, mask), bytes(buf))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, (data, mask) in enumerate(inputs):
        assert results[i] == (reference_large(data, mask), reference_large(data, mask, 1))


@needs_c
def test_c_only_function_type(c_mask: Any) -> None:
    # the public functions are vectorcall objects, not Cython defs; they look
    # like builtins and cannot be modified
    func = c_mask.apply_mask
    assert repr(func) == "<built-in function apply_mask>"
    assert func.__annotations__ == {"data": "Buffer", "mask": "Buffer", "return": "bytes"}
    with pytest.raises(AttributeError):
        func.__name__ = "other"
    with pytest.raises((AttributeError, TypeError)):
        func.anything = 1
    with pytest.raises(TypeError):
        type(func)()
