"""Differential fuzz target: ``http`` (RFC 9112 heads) -- parse_request, parse_response, helpers.

Input layout (see ``_harness.Reader``; missing bytes read as zero):

* byte 0 -- bit 0 response (else request); bits 1-2 the buffer type
  (bytes, bytearray, exact-fit memoryview, exact-fit read-only memoryview);
  bit 3 also run the header helpers on the parsed headers; bit 4 string
  mode: the head is decoded as UTF-8 (any code point, lone surrogates
  included) and its lines ``name:value`` go to the helpers only.
* byte 1 -- ``max_size``: 1..128 for values below 128, else an entry of
  ``SIZES``.
* byte 2 -- ``max_headers``: 0..63, or 128 (the default) for values >= 64.
* byte 3 -- alignment padding of exact-fit buffers (0..63).
* a count byte and that many u16 prefix lengths (``_harness.read_cuts``).
* the rest -- the head bytes.

Checked: the whole buffer and each prefix (a head arriving bit by bit) give
the same ``(head, consumed)``, ``None`` or ``InvalidHTTP`` (message and
status) on both backends.  With bit 3 and a parsed head: ``get_header`` of
every header name (as received and case-swapped), ``has_token`` of every
value against every comma element of it, ``parse_tokens`` and
``parse_extensions`` of every value agree too.
"""

from __future__ import annotations

import _harness as h

h.setup_path()

with h.instrumented():
    import fastws.http as py_http
    from fastws.exceptions import InvalidHTTP

import fastws_c.http as c_http  # noqa: E402

h.check_compiled(c_http)

SIZES = (16384, 256, 512, 1024, 4096, 65536)


def _helpers(headers: list[tuple[str, str]]) -> None:
    for name, value in headers[:16]:
        for key in (name, name.swapcase(), name.upper() + "x"):
            py = h.outcome(py_http.get_header, headers, key)
            c = h.outcome(c_http.get_header, headers, key)
            h.same(f"get_header({key!r})", py, c, ())
        for token in {t.strip(" \t") for t in value.split(",")[:8]} | {value, "upgrade"}:
            py = h.outcome(py_http.has_token, value, token)
            c = h.outcome(c_http.has_token, value, token)
            h.same(f"has_token({value!r}, {token!r})", py, c, ())
        for func in ("parse_tokens", "parse_extensions"):
            py = h.outcome(getattr(py_http, func), value)
            c = h.outcome(getattr(c_http, func), value)
            h.same(f"{func}({value!r})", py, c, (InvalidHTTP,))


def test_one_input(data: bytes) -> None:
    reader = h.Reader(data)
    flags = reader.byte()
    size_byte = reader.byte()
    max_size = size_byte + 1 if size_byte < 128 else SIZES[size_byte % len(SIZES)]
    headers_byte = reader.byte()
    max_headers = headers_byte if headers_byte < 64 else 128
    pad = reader.byte() % 64
    raw_cuts = h.read_cuts(reader, 8)
    head = reader.rest()
    kind = (flags >> 1) & 3
    func = "parse_response" if flags & 1 else "parse_request"

    if flags & 16:
        text = head.decode("utf-8", "surrogateescape" if flags & 32 else "replace")
        _helpers([tuple(line.partition(":")[::2]) for line in text.split("\n")])
        return
    parsed = None
    for length in [len(head), *h.cut_points(raw_cuts, len(head))]:
        buffer_ = h.as_buffer(head[:length], kind, pad)
        py = h.outcome(getattr(py_http, func), buffer_, max_size, max_headers)
        c = h.outcome(getattr(c_http, func), buffer_, max_size, max_headers)
        result = h.same(f"{func}(data[:{length}])", py, c, (InvalidHTTP,))
        if length == len(head) and result is not None:
            parsed = result
    if flags & 8 and parsed is not None:
        _helpers(parsed[0].headers)


if __name__ == "__main__":
    h.run(test_one_input)
