"""Differential fuzz target: ``close`` (RFC 6455 §5.5.1, §7.4) -- parse_close, build_close.

Input layout (see ``_harness.Reader``; missing bytes read as zero):

* byte 0 -- bits 0-1 the payload's buffer type (bytes, bytearray, exact-fit
  memoryview, exact-fit read-only memoryview); bit 2: build mode (below).
* byte 1 -- alignment padding of exact-fit buffers (0..63).
* parse mode: the rest is a Close payload.  ``parse_close`` must agree on
  both backends (``(code, reason)`` or ``ProtocolError`` with message and
  code), and a parsed payload of at most 125 bytes must come back from
  ``build_close`` of both.
* build mode: a u32 code (bit 31 set: the code is ``None``), then a reason
  decoded from UTF-8 (any code point); ``build_close`` and
  ``is_valid_close_code`` must agree, and a built payload must parse back.
"""

from __future__ import annotations

import _harness as h

h.setup_path()

with h.instrumented():
    import fastws.close as py_close
    from fastws.exceptions import ProtocolError

import fastws_c.close as c_close  # noqa: E402

h.check_compiled(c_close)


def _parse(payload: object, what: str) -> tuple[int, str] | None:
    py = h.outcome(py_close.parse_close, payload)
    c = h.outcome(c_close.parse_close, payload)
    return h.same(what, py, c, (ProtocolError,))


def _build(code: int | None, reason: str) -> bytes | None:
    py = h.outcome(py_close.build_close, code, reason)
    c = h.outcome(c_close.build_close, code, reason)
    return h.same(f"build_close({code!r}, {reason!r})", py, c, (ValueError,))


def test_one_input(data: bytes) -> None:
    reader = h.Reader(data)
    flags = reader.byte()
    pad = reader.byte() % 64
    kind = flags & 3
    if flags & 4:
        value = reader.u32()
        code = None if value >> 31 else value - (1 << 30)
        reason = reader.rest().decode("utf-8", "replace")
        if code is not None:
            h.same(
                "is_valid_close_code",
                h.outcome(py_close.is_valid_close_code, code),
                h.outcome(c_close.is_valid_close_code, code),
                (),
            )
        payload = _build(code, reason)
        if payload and _parse(h.as_buffer(payload, kind, pad), "parse(build)") != (code, reason):
            raise AssertionError("build_close does not parse back")
        return
    payload = reader.rest()
    parsed = _parse(h.as_buffer(payload, kind, pad), "parse_close")
    # a reason over 123 bytes parses (limiting control frames to 125 bytes is
    # the frame parser's job) but cannot be built
    if parsed is not None and 0 < len(payload) <= 125 and _build(*parsed) != payload:
        raise AssertionError("parse_close does not build back")


if __name__ == "__main__":
    h.run(test_one_input)
