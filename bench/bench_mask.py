"""Benchmarks of the masking kernel (RFC 6455 section 5.3).

Cases (columns of the ``mask`` table): payloads of 6 B (a masked control
frame), 125 B (the largest control frame), 1 KiB, 16 KiB, 64 KiB, 1 MiB and
16 MiB, with a fixed random 4-byte key.

Rows:

* ``fastws[c]``          -- ``fastws_c.mask.apply_mask(data, mask)``: new bytes
  from a ``bytes`` payload.
* ``fastws[c] inplace``  -- ``fastws_c.mask.apply_mask_inplace(buf, mask)`` on a
  ``bytearray`` (what a frame reader does with the payload it received).
* ``fastws[python]``     -- ``fastws.mask.apply_mask(data, mask)``, the pure twin.
* ``websockets``         -- ``websockets.speedups.apply_mask(data, mask)``: new bytes.
* ``aiohttp``            -- ``aiohttp._websocket.mask._websocket_mask_cython(mask, buf)``:
  in place on a ``bytearray`` (so compare it with ``fastws[c] inplace``).
* ``wsaccel``            -- ``wsaccel.xormask.XorMaskerSimple(mask).process(data)``:
  new bytes; the masker is built per call, as the key changes with every frame.
* ``bytes copy``         -- ``bytes(buf)`` of a ``bytearray``: the floor for any
  function that returns new bytes (one read pass, one write pass).

The in-place rows XOR the same buffer over and over, which is fine: masking
twice is the identity, and the time does not depend on the contents.  Each row
is called once before it is measured, so that no row pays for the cache state
the previous one left (16 MiB rows evict everything).
"""

from __future__ import annotations

import os
from typing import Any, Callable

import pytest
from conftest import peer

MASK = bytes.fromhex("37fa213d")

CASES = [
    ("6 B", 6),
    ("125 B", 125),
    ("1 KiB", 1 << 10),
    ("16 KiB", 16 << 10),
    ("64 KiB", 64 << 10),
    ("1 MiB", 1 << 20),
    ("16 MiB", 16 << 20),
]

IMPLS = [
    "fastws[c]",
    "fastws[c] inplace",
    "fastws[python]",
    "websockets",
    "aiohttp",
    "wsaccel",
    "bytes copy",
]


def _wsaccel(xormask: Any) -> Callable[[bytes, bytes], bytes]:
    masker = xormask.XorMaskerSimple

    def run(data: bytes, mask: bytes) -> bytes:
        return masker(mask).process(data)  # type: ignore[no-any-return]

    return run


def _call(impl: str, size: int) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    """The function to time and its arguments for one row and payload size."""
    data = os.urandom(size)
    buf = bytearray(data)
    if impl == "fastws[c]":
        return peer("fastws_c.mask").apply_mask, (data, MASK)
    if impl == "fastws[c] inplace":
        return peer("fastws_c.mask").apply_mask_inplace, (buf, MASK)
    if impl == "fastws[python]":
        import fastws.mask

        return fastws.mask.apply_mask, (data, MASK)
    if impl == "websockets":
        return peer("websockets.speedups").apply_mask, (data, MASK)
    if impl == "aiohttp":
        return peer("aiohttp._websocket.mask")._websocket_mask_cython, (MASK, buf)
    if impl == "wsaccel":
        return _wsaccel(peer("wsaccel.xormask")), (data, MASK)
    if impl == "bytes copy":
        return bytes, (buf,)
    raise AssertionError(impl)


@pytest.mark.parametrize("case,size", CASES, ids=[c for c, _ in CASES])
@pytest.mark.parametrize("impl", IMPLS)
def test_mask(measure: Callable[..., Any], impl: str, case: str, size: int) -> None:
    func, args = _call(impl, size)
    func(*args)  # warm up: every row starts with its buffers in cache
    measure("mask", case, impl, func, *args)
