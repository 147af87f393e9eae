"""Differential fuzz target: ``utf8`` (RFC 3629 §4, RFC 6455 §8.1) -- validate, Utf8Validator.

Input layout (see ``_harness.Reader``; missing bytes read as zero):

* byte 0 -- the compiled variant (``fastws_c.utf8._implementations()``,
  index modulo their number: scalar, SSSE3, AVX2, AVX-512 as the CPU allows).
* byte 1 -- bits 0-1 the buffer type (bytes, bytearray, exact-fit
  memoryview, exact-fit read-only memoryview); bit 2 each chunk picks its
  own type; bits 3-5 tiling: the text is repeated to at least
  ``TILES[bits]`` bytes (long SIMD runs, the 64 KiB GIL-free scans).
* byte 2 -- alignment padding of exact-fit buffers (0..63).
* a count byte and that many u16 cut positions (``_harness.read_cuts``).
* the rest -- the text.

Checked: ``validate`` of the whole text, and ``feed`` of every chunk,
``finish`` at the end (and ``reset``) give the same answers on both
backends; besides, ``finish()`` after feeding every chunk must equal
``validate`` of the whole text, and once ``feed`` said False it stays False.
"""

from __future__ import annotations

import _harness as h

h.setup_path()

with h.instrumented():
    import fastws.utf8 as py_utf8

import fastws_c.utf8 as c_utf8  # noqa: E402

h.check_compiled(c_utf8)

VARIANTS = c_utf8._implementations()
TILES = (0, 0, 0, 0, 65, 200, 4096, 70_000)
# coverage hint: variant x size class x buffer type x valid
HINT = h.make_hint(len(VARIANTS), h.SIZE_CLASSES, 4, 2)


def test_one_input(data: bytes) -> None:
    reader = h.Reader(data)
    variant = reader.byte() % len(VARIANTS)
    c_utf8._use(VARIANTS[variant])
    flags = reader.byte()
    pad = reader.byte() % 64
    raw_cuts = h.read_cuts(reader)
    text = reader.rest()
    tile = TILES[(flags >> 3) & 7]
    if text and len(text) < tile:
        text = text * (tile // len(text) + 1)
    kind = flags & 3
    cuts = h.cut_points(raw_cuts, len(text))

    buffer_ = h.as_buffer(text, kind, pad)
    whole = h.same(
        "validate", h.outcome(py_utf8.validate, buffer_), h.outcome(c_utf8.validate, buffer_), ()
    )
    HINT(variant, h.size_class(len(text)), kind, int(bool(whole)))

    py_v, c_v = py_utf8.Utf8Validator(), c_utf8.Utf8Validator()
    failed = False
    for index, chunk in enumerate(h.chunks(text, cuts)):
        chunk_kind = kind + index if flags & 4 else kind
        py = h.outcome(py_v.feed, h.as_buffer(chunk, chunk_kind, pad))
        c = h.outcome(c_v.feed, h.as_buffer(chunk, chunk_kind, pad))
        ok = h.same(f"feed #{index}", py, c, ())
        if failed and ok:
            raise AssertionError(f"feed #{index} is True after an earlier False")
        failed = failed or not ok
    finish = h.same("finish", h.outcome(py_v.finish), h.outcome(c_v.finish), ())
    if finish != whole:
        raise AssertionError(f"finish() = {finish} but validate() = {whole}")
    # finish() reset both: the validators start afresh
    for func in ("feed", "finish"):
        args = (h.as_buffer(text[:7], kind, pad),) if func == "feed" else ()
        py = h.outcome(getattr(py_v, func), *args)
        c = h.outcome(getattr(c_v, func), *args)
        h.same(f"{func} after finish", py, c, ())


if __name__ == "__main__":
    h.run(test_one_input)
