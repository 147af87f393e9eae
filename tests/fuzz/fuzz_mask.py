"""Differential fuzz target: ``mask`` (RFC 6455 §5.3) -- apply_mask, apply_mask_inplace.

Input layout (see ``_harness.Reader``; missing bytes read as zero):

* byte 0 -- the compiled variant (``fastws_c.mask._implementations()``,
  index modulo their number: scalar, SSE2, AVX2, AVX-512 as the CPU allows).
* byte 1 -- bits 0-1 the buffer type of ``data`` (bytes, bytearray,
  exact-fit memoryview, exact-fit read-only memoryview); bits 2-4 the phase
  (an entry of ``PHASES``, out-of-range and non-int values included); bits
  5-7 tiling: ``data`` is repeated to at least ``TILES[bits]`` bytes.
* byte 2 -- alignment padding of exact-fit buffers (0..63); its bit 6 also
  lowers the streaming-store threshold to 0, so the non-temporal paths run
  on small inputs (they are taken only when source and destination differ).
* bytes 3-6 -- the key (bytes 3-6 of a 4..7-byte input give a short key).
* a count byte and that many u16 cut positions (``_harness.read_cuts``).
* the rest -- ``data``.

Checked: ``apply_mask`` and ``apply_mask_inplace`` on private writable
copies give the same bytes, phase and errors on both backends; masking
chunk by chunk with the returned phases equals masking the whole.
"""

from __future__ import annotations

import _harness as h

h.setup_path()

with h.instrumented():
    import fastws.mask as py_mask

import fastws_c.mask as c_mask  # noqa: E402

h.check_compiled(c_mask)

VARIANTS = c_mask._implementations()
NT_DEFAULT = c_mask._nt_threshold()
PHASES = (0, 1, 2, 3, -1, 4, True, 1 << 70)
TILES = (0, 0, 0, 0, 257, 1000, 4099, 70_001)
ALLOWED = (ValueError, TypeError)
# coverage hint: variant x size class x buffer type x streaming stores allowed
HINT = h.make_hint(len(VARIANTS), h.SIZE_CLASSES, 4, 2)


def _inplace(module: object, data: bytes, key: bytes, phase: object, kind: int, pad: int) -> tuple:
    target = h.as_buffer(data, kind, pad)
    result = h.outcome(module.apply_mask_inplace, target, key, phase)  # type: ignore[attr-defined]
    return result, bytes(target)


def test_one_input(data: bytes) -> None:
    reader = h.Reader(data)
    variant = reader.byte() % len(VARIANTS)
    c_mask._use(VARIANTS[variant])
    flags = reader.byte()
    pad_byte = reader.byte()
    c_mask._nt_threshold(0 if pad_byte & 64 else NT_DEFAULT)
    pad = pad_byte % 64
    key = reader.take(4)
    phase = PHASES[(flags >> 2) & 7]
    raw_cuts = h.read_cuts(reader, 8)
    payload = reader.rest()
    tile = TILES[flags >> 5]
    if payload and len(payload) < tile:
        payload = payload * (tile // len(payload) + 1)
    kind = flags & 3
    HINT(variant, h.size_class(len(payload)), kind, pad_byte >> 6 & 1)

    buffer_ = h.as_buffer(payload, kind, pad)
    masked = h.same(
        "apply_mask",
        h.outcome(py_mask.apply_mask, buffer_, key),
        h.outcome(c_mask.apply_mask, buffer_, key),
        ALLOWED,
    )
    py, py_after = _inplace(py_mask, payload, key, phase, kind, pad)
    c, c_after = _inplace(c_mask, payload, key, phase, kind, pad)
    h.same("apply_mask_inplace", py, c, ALLOWED)
    if py_after != c_after:
        raise AssertionError("apply_mask_inplace: the buffers differ afterwards")
    if masked is None or py[0] != "ok":
        return
    if phase == 0 and py_after != masked:
        raise AssertionError("apply_mask_inplace at phase 0 differs from apply_mask")

    # chunk by chunk, each call continuing at the phase the previous returned
    target = h.as_buffer(payload, 2, pad)
    next_phase = phase
    start = 0
    for cut in [*h.cut_points(raw_cuts, len(payload)), len(payload)]:
        next_phase = c_mask.apply_mask_inplace(target[start:cut], key, next_phase)
        start = cut
    if bytes(target) != c_after or next_phase != c[1]:
        raise AssertionError("masking in chunks differs from masking at once")


if __name__ == "__main__":
    h.run(test_one_input)
