"""Benchmarks of the UTF-8 validation kernel (RFC 3629 §4; RFC 6455 §5.6, §8.1).

Cases (columns of the ``utf8`` table), one-shot validation of a whole text
message:

* ``ASCII 125 B``, ``ASCII 16 KiB``, ``ASCII 1 MiB`` -- printable ASCII.
* ``mixed 125 B``, ``mixed 1 MiB`` -- words of Cyrillic, Greek, CJK, emoji and
  ASCII, about 74 % of the bytes non-ASCII.

Rows: ``fastws[c]`` / ``fastws[python]`` (``validate``), the reference
``bytes.decode`` (``data.decode("utf-8")``, what a library without a validator
does), and ``wsaccel`` (``wsaccel.utf8validator.Utf8Validator``: one validator
reused, ``reset()`` then ``validate(data)``, whose result is a 4-tuple
``(valid, ends_on_code_point, index, total_index)``; a one-shot check needs both
flags).
"""

from __future__ import annotations

import random
from typing import Any, Callable

import pytest
from conftest import peer

MIB = 1 << 20

# Each word is followed by a space. The weights give ~74 % non-ASCII bytes.
_WORDS = [
    # Cyrillic and Greek: 2 bytes per letter
    ("Привет", 3),
    ("мир", 3),
    ("быстро", 2),
    ("Ελληνικά", 2),
    ("γλώσσα", 2),
    # CJK and Hangul: 3 bytes
    ("日本語", 2),
    ("中文字符", 2),
    ("한국어", 1),
    # emoji: 4 bytes
    ("😀🎉", 1),
    ("🚀", 1),
    # ASCII
    ("hello", 3),
    ("world,", 2),
    ("ok", 2),
    ("WebSocket", 1),
]


def mixed_text(size: int, seed: int = 6455) -> bytes:
    """``size`` bytes of valid mixed-script UTF-8 (space-padded at the end)."""
    rng = random.Random(seed)
    words = [w for w, weight in _WORDS for _ in range(weight)]
    out = bytearray()
    while len(out) < size:
        word = (rng.choice(words) + " ").encode()
        if len(out) + len(word) > size:
            out += b" " * (size - len(out))
            break
        out += word
    data = bytes(out)
    data.decode("utf-8")  # it is valid
    return data


def ascii_text(size: int) -> bytes:
    line = b"The quick brown fox jumps over the lazy dog 0123456789. "
    return (line * (size // len(line) + 1))[:size]


CASES = {
    "ASCII 125 B": ascii_text(125),
    "ASCII 16 KiB": ascii_text(16 * 1024),
    "ASCII 1 MiB": ascii_text(MIB),
    "mixed 125 B": mixed_text(125),
    "mixed 1 MiB": mixed_text(MIB),
}
IMPLS = ["fastws[c]", "fastws[python]", "bytes.decode", "wsaccel"]


def _wsaccel() -> Callable[[bytes], bool]:
    validator = peer("wsaccel.utf8validator").Utf8Validator()
    reset, validate = validator.reset, validator.validate

    def check(data: bytes) -> bool:
        reset()
        valid, complete, _, _ = validate(data)
        return bool(valid and complete)

    return check


def _target(impl: str) -> Callable[[bytes], Any]:
    if impl == "fastws[c]":
        compiled: Callable[[bytes], bool] = peer("fastws_c.utf8").validate  # missing if not built
        return compiled
    if impl == "fastws[python]":
        import fastws.utf8

        return fastws.utf8.validate
    if impl == "bytes.decode":
        return bytes.decode  # called as bytes.decode(data): UTF-8, strict, no wrapper
    if impl == "wsaccel":
        return _wsaccel()
    raise AssertionError(f"no benchmark for {impl}")


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("impl", IMPLS)
def test_utf8(measure: Callable[..., Any], impl: str, case: str) -> None:
    data = CASES[case]
    func = _target(impl)
    result = func(data)
    assert result is True or result == data.decode("utf-8")  # every row does the full check
    measure("utf8", case, impl, func, data)
