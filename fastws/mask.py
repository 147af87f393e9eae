"""WebSocket payload masking (RFC 6455 section 5.3), pure Python.

RFC 6455 5.3: a masked payload is transformed octet by octet, octet i of the
result being octet i of the input XOR octet ``i MOD 4`` of the 4-byte masking
key.  The transform is its own inverse, so the same functions mask (client
side) and unmask (server side).

* :func:`apply_mask` returns a new ``bytes`` object.
* :func:`apply_mask_inplace` XORs a writable buffer in place, starting at key
  byte ``phase``, and returns the phase for the next chunk, so a payload that
  arrives in pieces is unmasked piece by piece.

Both take any C-contiguous bytes-like object (``bytes``, ``bytearray``,
``memoryview``, ``array.array``, ...).  The XOR itself runs over the whole
buffer at once as one big integer (``int.from_bytes`` / ``^`` /
``int.to_bytes``), which is far faster than a byte loop in Python.

Errors, checked in this order (identical in :mod:`fastws_c.mask`):

* ``TypeError("mask must be a contiguous bytes-like object")`` -- the mask has
  no C-contiguous buffer; ``ValueError("mask must be exactly 4 bytes")``.
* ``TypeError("phase must be an int")`` -- no ``__index__``;
  ``ValueError("phase must be 0, 1, 2 or 3")``.
* ``TypeError("data must be a contiguous bytes-like object")``.
* ``TypeError("data must be a writable buffer")`` (in-place variant only).

A non-contiguous view counts as "not a bytes-like object" here (the C twin
takes its buffers with ``PyBUF_SIMPLE``).  Other errors of a buffer's exporter,
such as the ``ValueError`` of a released ``memoryview``, pass through unchanged.
Call errors (missing, surplus or unknown arguments) are Python's own, in both
backends.
"""

from __future__ import annotations

from operator import index as _index
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing_extensions import Buffer

__all__ = ["apply_mask", "apply_mask_inplace"]


def _view(obj: object, what: str) -> memoryview:
    """A memoryview of ``obj``, or the contract's TypeError."""
    try:
        view = memoryview(obj)  # type: ignore[arg-type]
    except (TypeError, BufferError):
        raise TypeError(f"{what} must be a contiguous bytes-like object") from None
    if not view.c_contiguous:
        raise TypeError(f"{what} must be a contiguous bytes-like object")
    return view


def _key(mask: object) -> bytes:
    """The 4 bytes of ``mask`` (RFC 6455 5.3: a 32-bit masking key)."""
    key = mask if type(mask) is bytes else _view(mask, "mask").tobytes()
    if len(key) != 4:
        raise ValueError("mask must be exactly 4 bytes")
    return key


def _phase(phase: object) -> int:
    """``phase`` as an int in 0..3, or the contract's errors."""
    if type(phase) is int:
        value = phase
    else:
        try:
            value = _index(phase)  # type: ignore[arg-type]
        except TypeError:
            raise TypeError("phase must be an int") from None
    if not 0 <= value <= 3:
        raise ValueError("phase must be 0, 1, 2 or 3")
    return value


def _xor(data: bytes | bytearray | memoryview, key: bytes, n: int) -> bytes:
    """``n`` bytes of ``data`` XOR ``key`` repeated (RFC 6455 5.3), as one big int."""
    if n == 0:
        return b""
    stream = key * (n >> 2) + key[: n & 3]
    value = int.from_bytes(data, "little") ^ int.from_bytes(stream, "little")
    return value.to_bytes(n, "little")


def apply_mask(data: Buffer, mask: Buffer) -> bytes:
    """Return ``data`` XOR the repeating 4-byte ``mask`` as new bytes.

    RFC 6455 5.3: octet i of the result is octet i of ``data`` XOR octet
    ``i % 4`` of ``mask``.  Both arguments may be any C-contiguous bytes-like
    objects; ``mask`` must be exactly 4 bytes long.

    Raises ``ValueError("mask must be exactly 4 bytes")``, and
    ``TypeError("mask must be a contiguous bytes-like object")`` /
    ``TypeError("data must be a contiguous bytes-like object")`` for an
    argument without a C-contiguous buffer (the mask is checked first).
    """
    key = mask if type(mask) is bytes and len(mask) == 4 else _key(mask)
    if type(data) is bytes:
        n = len(data)
        if n == 0:
            return b""
        stream = key * (n >> 2) + key[: n & 3]
        return (int.from_bytes(data, "little") ^ int.from_bytes(stream, "little")).to_bytes(
            n, "little"
        )
    view = _view(data, "data")
    return _xor(view, key, view.nbytes)


def apply_mask_inplace(data: Buffer, mask: Buffer, phase: int = 0) -> int:
    """XOR the writable buffer ``data`` with ``mask`` in place; return the next phase.

    RFC 6455 5.3 with the key starting at octet ``phase`` (0..3): octet i of
    ``data`` is XORed with octet ``(phase + i) % 4`` of ``mask``.  The result
    is ``(phase + len(data)) % 4``, the phase of the byte after ``data``, so a
    payload arriving in chunks is unmasked by feeding each chunk with the
    phase the previous call returned.

    Checks, in this order: ``ValueError("mask must be exactly 4 bytes")``
    (``TypeError`` for a mask without a contiguous buffer),
    ``ValueError("phase must be 0, 1, 2 or 3")`` (``TypeError("phase must be
    an int")`` for a non-integer), ``TypeError("data must be a contiguous
    bytes-like object")``, ``TypeError("data must be a writable buffer")``.
    """
    key = mask if type(mask) is bytes and len(mask) == 4 else _key(mask)
    p = phase if type(phase) is int and 0 <= phase <= 3 else _phase(phase)
    if p:
        key = key[p:] + key[:p]
    if type(data) is bytearray:
        # same-size slice assignment: allowed even while views are exported
        n = len(data)
        data[:] = _xor(data, key, n)
        return (p + n) & 3
    view = _view(data, "data")
    if view.readonly:
        raise TypeError("data must be a writable buffer")
    n = view.nbytes
    if n:
        flat = view.cast("B") if view.ndim != 1 or view.format != "B" else view
        flat[:] = _xor(flat, key, n)
    return (p + n) & 3
