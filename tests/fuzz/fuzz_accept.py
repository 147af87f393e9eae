"""Differential fuzz target: ``accept`` (RFC 6455 §4.2.1, §4.2.2) -- accept_key, is_valid_key.

Input layout (see ``_harness.Reader``; missing bytes read as zero):

* byte 0 -- the compiled SHA-1 variant (``fastws_c.accept._implementations()``,
  index modulo their number: portable C, and the x86 SHA extensions where
  the CPU has them).
* byte 1 -- bits 0-2 the key's type: bytes, bytearray, exact-fit memoryview,
  exact-fit read-only memoryview, ``str`` decoded as latin-1 (so possibly not
  ASCII), ``str`` decoded as UTF-8 (any code point); bits 3-5 tiling: the key
  is repeated to at least ``TILES[bits]`` bytes (multi-block SHA-1, the
  64 KiB GIL-free hashing).
* byte 2 -- alignment padding of exact-fit buffers (0..63).
* the rest -- the key.

Checked: ``accept_key`` and ``is_valid_key`` give the same value or
exception on both backends; ``accept_key`` also equals base64(SHA-1(key +
GUID)) computed with hashlib, and the private ``_sha1`` equals hashlib's.
"""

from __future__ import annotations

import base64
import hashlib

import _harness as h

h.setup_path()

with h.instrumented():
    import fastws.accept as py_accept

import fastws_c.accept as c_accept  # noqa: E402

h.check_compiled(c_accept)

VARIANTS = c_accept._implementations()
TILES = (0, 0, 0, 0, 56, 64, 1000, 70_000)
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
# coverage hint: SHA-1 variant x size class x key type (the short one-shot
# path ends at 83 key bytes, class 7)
HINT = h.make_hint(len(VARIANTS), h.SIZE_CLASSES, 8)


def test_one_input(data: bytes) -> None:
    reader = h.Reader(data)
    variant = reader.byte() % len(VARIANTS)
    c_accept._use(VARIANTS[variant])
    flags = reader.byte()
    pad = reader.byte() % 64
    raw = reader.rest()
    tile = TILES[(flags >> 3) & 7]
    if raw and len(raw) < tile:
        raw = raw * (tile // len(raw) + 1)
    kind = flags & 7
    HINT(variant, h.size_class(len(raw)), kind)
    if kind == 4:
        key = raw.decode("latin-1")
    elif kind >= 5:
        key = raw.decode("utf-8", "replace")
    else:
        key = h.as_buffer(raw, kind, pad)

    accept = h.same(
        "accept_key",
        h.outcome(py_accept.accept_key, key),
        h.outcome(c_accept.accept_key, key),
        (ValueError,),
    )
    if accept is not None:
        raw_key = key.encode("ascii") if isinstance(key, str) else bytes(key)
        expected = base64.b64encode(hashlib.sha1(raw_key + GUID).digest()).decode()
        if accept != expected:
            raise AssertionError(f"accept_key: {accept!r}, hashlib says {expected!r}")
    h.same(
        "is_valid_key",
        h.outcome(py_accept.is_valid_key, key),
        h.outcome(c_accept.is_valid_key, key),
        (),
    )
    if not isinstance(key, str):
        digest = c_accept._sha1(key)
        if digest != hashlib.sha1(raw).digest():
            raise AssertionError("_sha1 differs from hashlib.sha1")


if __name__ == "__main__":
    h.run(test_one_input)
