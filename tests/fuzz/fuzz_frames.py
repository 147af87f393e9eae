"""Differential fuzz target: ``frames`` (RFC 6455 §5.2) -- FrameParser, parse_header, build_frame.

Input layout (see ``_harness.Reader``; missing bytes read as zero):

* byte 0 -- bit 0 ``mask_expected``; bits 1-3 ``allowed_rsv``; bits 4-5 the
  buffer type of the chunks (bytes, bytearray, exact-fit memoryview, exact-fit
  read-only memoryview); bit 6 structured mode (below); bit 7 each chunk
  picks its own buffer type.
* byte 1 -- ``max_frame_size``: an index into ``LIMITS``.
* byte 2 -- bits 0-5 alignment padding of exact-fit buffers (0..63); bit 6
  lowers what the compiled parser allocates ahead of a pending payload
  (``_prealloc_max``, 16 MiB by default) to 1 byte (bit 7 set) or 64 bytes,
  so the growth of that buffer runs on small frames.
* a count byte and that many u16 cut positions (``_harness.read_cuts``).
* the rest -- the byte stream (raw mode), or frame specs (structured mode):
  per frame a byte ``FIN<<7 | RSV<<4 | opcode``, a byte ``MASK<<7 | len7``
  (len7 126: a u16 length follows; 127: a u16 length times 17 follows,
  which reaches past the 1 MiB the compiled parser preallocates), the
  4-byte key when masked, then payload bytes (repeated to the length).  The
  frames are encoded with ``build_frame`` of both backends (which must agree)
  and concatenated; the cuts then apply to that stream.

Checked: every ``feed`` of every chunk gives the same frames or the same
``ProtocolError`` (message and code) on both backends, so does ``.error``
after it, and ``parse_header`` at every cut position (within the first
4 KiB of the stream: the pure twin copies its whole argument).
"""

from __future__ import annotations

import _harness as h

h.setup_path()

with h.instrumented():
    import fastws.frames as py_frames
    from fastws.exceptions import ProtocolError

import fastws_c.frames as c_frames  # noqa: E402

h.check_compiled(c_frames)

PREALLOC_DEFAULT = c_frames._prealloc_max()

LIMITS = (
    1 << 20,
    0,
    1,
    2,
    125,
    126,
    127,
    1000,
    65535,
    65536,
    65537,
    1 << 24,
    (1 << 32) - 1,
    1 << 32,
    (1 << 63) - 1,
)


def _frames(result: list) -> list[tuple]:
    return [(f.opcode, f.payload, f.fin, f.rsv) for f in result]


def _error(parser: object) -> tuple | None:
    error = parser.error  # type: ignore[attr-defined]
    return None if error is None else (type(error), str(error), error.code)


def _structured(reader: h.Reader, kind: int, pad: int) -> bytes:
    stream = bytearray()
    while reader.pos < len(reader.data) and len(stream) < 1 << 21:
        first = reader.byte()
        second = reader.byte()
        length = second & 0x7F
        if length == 126:
            length = reader.u16()
        elif length == 127:
            length = reader.u16() * 17
        mask = reader.take(4) if second & 0x80 else None
        seed = reader.take(min(length, 64)) or b"\x00"
        payload = (seed * (length // len(seed) + 1))[:length]
        args = (first & 0x0F, h.as_buffer(payload, kind, pad), bool(first & 0x80), (first >> 4) & 7)
        py = h.outcome(py_frames.build_frame, *args, mask=mask)
        c = h.outcome(c_frames.build_frame, *args, mask=mask)
        frame = h.same("build_frame", py, c, (ValueError,))
        if frame is not None:
            stream += frame
    return bytes(stream)


def test_one_input(data: bytes) -> None:
    reader = h.Reader(data)
    flags = reader.byte()
    limit = LIMITS[reader.byte() % len(LIMITS)]
    pad_byte = reader.byte()
    pad = pad_byte % 64
    c_frames._prealloc_max((1 if pad_byte & 0x80 else 64) if pad_byte & 0x40 else PREALLOC_DEFAULT)
    kind = (flags >> 4) & 3
    raw_cuts = h.read_cuts(reader)
    stream = _structured(reader, kind, pad) if flags & 0x40 else reader.rest()
    cuts = h.cut_points(raw_cuts, len(stream))

    options = {
        "mask_expected": bool(flags & 1),
        "max_frame_size": limit,
        "allowed_rsv": (flags >> 1) & 7,
    }
    py_parser = py_frames.FrameParser(**options)
    c_parser = c_frames.FrameParser(**options)
    for index, chunk in enumerate(h.chunks(stream, cuts)):
        chunk_kind = (kind + index) if flags & 0x80 else kind
        py = h.outcome(py_parser.feed, h.as_buffer(chunk, chunk_kind, pad))
        c = h.outcome(c_parser.feed, h.as_buffer(chunk, chunk_kind, pad))
        h.same(f"feed #{index}", py, c, (ProtocolError,), _frames)
        if _error(py_parser) != _error(c_parser):
            raise AssertionError(
                f".error after feed #{index}: {_error(py_parser)} != {_error(c_parser)}"
            )

    # parse_header copies its whole argument in the pure twin: look at a window
    window = stream[:4096]
    buffer_ = h.as_buffer(window, kind, pad)
    for offset in {0, len(window), len(window) + 1, *(cut % (len(window) + 2) for cut in cuts)}:
        py = h.outcome(py_frames.parse_header, buffer_, offset)
        c = h.outcome(c_frames.parse_header, buffer_, offset)
        h.same(f"parse_header at {offset}", py, c, (ProtocolError, ValueError))


if __name__ == "__main__":
    h.run(test_one_input)
