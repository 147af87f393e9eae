"""HTTP/1.1 message heads for the WebSocket opening handshake.

This module parses the head (start line and header section) of an HTTP/1.1
request or response, as RFC 9112 defines them, and the few header-value
grammars the handshake needs (RFC 9110 §5.6, RFC 6455 §4 and §9.1). It never
looks past the blank line that ends the head: what follows belongs to the
WebSocket stream.

The compiled twin ``fastws_c.http`` has the same API, results and messages.

How a buffer is read (both backends follow these steps exactly, so that the
same bytes always give the same result or the same error):

1. ``max_size`` must be an integer >= 1 and ``max_headers`` an integer >= 0
   (``TypeError`` / ``ValueError``, checked in that order), then ``data`` must
   be a C-contiguous bytes-like object (``TypeError``).
2. Only the first ``max_size`` bytes (the *window*) are looked at.
   A request may be preceded by empty lines: every leading ``CRLF`` in the
   window is skipped (RFC 9112 §2.2 says a server SHOULD ignore at least one);
   the skipped bytes count towards the consumed size and ``max_size``. A
   response gets no such allowance.
3. The head ends at the first ``CRLF CRLF`` that lies entirely in the window.
   Without one, the window is checked for framing errors (step 4; a CR at the
   very end of the window may still be followed by LF and is not an error),
   then ``InvalidHTTP(..., 431)`` is raised if the buffer holds ``max_size``
   bytes or more, and ``None`` (need more bytes) is returned otherwise.
4. Framing (RFC 9112 §2.2): a lone LF or a CR not followed by LF anywhere in
   the head is an error. It is reported before any other error, so an error
   found in an incomplete buffer is the one the complete head would give.
5. The start line is checked (RFC 9112 §3 / §4), then each header line in
   order (RFC 9112 §5, RFC 9110 §5); the first problem found is raised. A
   header line beyond ``max_headers`` raises ``InvalidHTTP(..., 431)`` when
   it is reached.

Within a header line the checks run in this order: line starts with SP/HTAB
(obs-fold, RFC 9112 §5.2, rejected), no colon, empty name, SP/HTAB right
before the colon (RFC 9112 §5.1), a non-tchar in the name, a CTL other than
HTAB (or DEL) in the value (RFC 9110 §5.5). Obs-fold is rejected in responses
too (RFC 9112 §5.2 would have a user agent unfold it; no WebSocket server
folds its 101, so one strict rule serves both directions).

The messages (status 400 unless noted): ``bare LF in HTTP head``,
``CR not followed by LF in HTTP head``, ``invalid request line``,
``invalid method``, ``invalid request target``, ``invalid HTTP version``,
``invalid status line``, ``invalid status code``,
``invalid character in reason phrase``,
``obsolete line folding (header line starts with whitespace)``,
``missing colon in header line``, ``empty header name``,
``whitespace between header name and colon``,
``invalid character in header name``, ``invalid character in header value``,
``HTTP head larger than N bytes`` (431), ``more than N header fields`` (431).
"""

from __future__ import annotations

import operator
import re
from typing import TYPE_CHECKING, Any, NamedTuple, Optional, Union

from .exceptions import InvalidHTTP

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Iterable

__all__ = [
    "Request",
    "Response",
    "parse_request",
    "parse_response",
    "get_header",
    "has_token",
    "parse_tokens",
    "parse_extensions",
    "build_extensions",
]

Buffer = Union[bytes, bytearray, memoryview]
Headers = list[tuple[str, str]]
ExtensionParams = list[tuple[str, Optional[str]]]
Extensions = list[tuple[str, ExtensionParams]]


class Request(NamedTuple):
    """A parsed request head (RFC 9112 §3): ``GET /chat HTTP/1.1`` + headers.

    ``headers`` is a list of ``(name, value)`` pairs in received order, names
    in their original case, values stripped of surrounding SP/HTAB and
    decoded as latin-1.
    """

    method: str
    target: str
    version: str
    headers: list[tuple[str, str]]


class Response(NamedTuple):
    """A parsed response head (RFC 9112 §4): ``HTTP/1.1 101 Switching Protocols``.

    ``reason`` is the reason phrase verbatim (may be empty); ``headers`` as
    in :class:`Request`.
    """

    version: str
    status: int
    reason: str
    headers: list[tuple[str, str]]


# --------------------------------------------------------------------------
# Character classes (RFC 9110 §5.6.2 token, §5.5 field-value, RFC 5234 VCHAR)

_TCHAR = "!#$%&'*+\\-.^_`|~0-9A-Za-z"
_VIS = "\\x21-\\x7e\\x80-\\xff"  # field-vchar: VCHAR / obs-text

_TOKEN = re.compile(f"[{_TCHAR}]+")
_TOKEN_BYTES = re.compile(f"[{_TCHAR}]+".encode())
_TARGET_BYTES = re.compile(rb"[\x21-\x7e]+")
_VERSION_BYTES = re.compile(rb"HTTP/[0-9]\.[0-9]")
_BAD_VALUE_BYTES = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_FRAMING = re.compile(rb"\r(?!\n)|(?<!\r)\n")

# Fast-path patterns on the latin-1 decoded head. Each one matches exactly one
# complete, valid line; none can backtrack more than linearly.
_REQUEST_LINE = re.compile(f"([{_TCHAR}]+) ([\\x21-\\x7e]+) (HTTP/[0-9]\\.[0-9])\r\n")
_STATUS_LINE = re.compile("(HTTP/[0-9]\\.[0-9]) ([0-9]{3})(?: ([\\t\\x20-\\x7e\\x80-\\xff]*))?\r\n")
_HEADER_LINE = re.compile(
    f"^([{_TCHAR}]+):[ \\t]*(?:([{_VIS}]+(?:[ \\t]+[{_VIS}]+)*)[ \\t]*)?\r\n", re.MULTILINE
)

_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}
_tuple_new = tuple.__new__

_E_DATA = "data must be a contiguous bytes-like object"


def _limits(max_size: int, max_headers: int) -> tuple[int, int]:
    """Validates the two limits (caller mistakes: TypeError/ValueError)."""
    if type(max_size) is not int:
        max_size = operator.index(max_size)
    if type(max_headers) is not int:
        max_headers = operator.index(max_headers)
    if max_size < 1:
        raise ValueError("max_size must be positive")
    if max_headers < 0:
        raise ValueError("max_headers must not be negative")
    return max_size, max_headers


def _as_bytes(data: object, max_size: int) -> bytes:
    """The first ``max_size + 1`` bytes of a bytes-like ``data``.

    Nothing beyond ``max_size`` is ever looked at, but one more byte keeps
    ``len(result) >= max_size`` equivalent to ``len(data) >= max_size``.
    """
    try:
        view = memoryview(data)  # type: ignore[arg-type]
    except (TypeError, BufferError):
        raise TypeError(_E_DATA) from None
    with view:
        if not view.c_contiguous:
            raise TypeError(_E_DATA)
        if view.ndim != 1 or view.itemsize != 1:
            view = view.cast("B")
        return bytes(view[: max_size + 1])


def _check_framing(data: bytes, start: int, stop: int, complete: bool) -> None:
    """Rejects a bare LF or a CR not followed by LF in ``data[start:stop]``.

    RFC 9112 §2.2: the line terminator is CRLF; a recipient MAY accept a bare
    LF, fastws does not (it is a request-smuggling vector), and a bare CR must
    be rejected or replaced. When ``complete`` is false ``stop`` is the end of
    what has arrived, and a CR in the last position may still get its LF.
    """
    crlf = data.count(b"\r\n", start, stop)
    crs = data.count(b"\r", start, stop)
    if crlf == crs and data.count(b"\n", start, stop) == crlf:
        return
    m = _FRAMING.search(data, start, stop)
    if m is None:
        return
    pos = m.start()
    if data[pos] == 0x0A:
        raise InvalidHTTP("bare LF in HTTP head")
    if complete or pos != stop - 1:
        raise InvalidHTTP("CR not followed by LF in HTTP head")


def _locate(data: bytes, max_size: int, skip_crlf: bool) -> tuple[int, int] | None:
    """Steps 2-3: ``(start, end)`` of the head lines, or None (need more).

    ``data[start:end]`` is the start line and header lines without the final
    ``CRLF CRLF``, which is at ``data[end:end + 4]``.
    """
    n = len(data)
    limit = n if n < max_size else max_size
    start = 0
    if skip_crlf:
        while data.startswith(b"\r\n", start, limit):
            start += 2
    end = data.find(b"\r\n\r\n", start, limit)
    if end >= 0:
        return start, end
    _check_framing(data, start, limit, False)
    if n >= max_size:
        raise InvalidHTTP(f"HTTP head larger than {max_size} bytes", 431)
    return None


def _check_version(version: bytes) -> str:
    """RFC 9112 §2.3: ``HTTP-version = "HTTP/" DIGIT "." DIGIT`` (case-sensitive)."""
    if _VERSION_BYTES.fullmatch(version) is None:
        raise InvalidHTTP("invalid HTTP version")
    return version.decode("ascii")


def _parse_header_line(line: bytes) -> tuple[str, str]:
    """One ``field-line = field-name ":" OWS field-value OWS`` (RFC 9112 §5)."""
    if line[0] in b" \t":
        raise InvalidHTTP("obsolete line folding (header line starts with whitespace)")
    colon = line.find(b":")
    if colon < 0:
        raise InvalidHTTP("missing colon in header line")
    if colon == 0:
        raise InvalidHTTP("empty header name")
    if line[colon - 1] in b" \t":
        raise InvalidHTTP("whitespace between header name and colon")
    name = line[:colon]
    if _TOKEN_BYTES.fullmatch(name) is None:
        raise InvalidHTTP("invalid character in header name")
    value = line[colon + 1 :].strip(b" \t")
    if _BAD_VALUE_BYTES.search(value) is not None:
        raise InvalidHTTP("invalid character in header value")
    return name.decode("ascii"), value.decode("latin-1")


def _parse_headers(lines: list[bytes], max_headers: int) -> Headers:
    """Header lines in order; the one beyond ``max_headers`` raises 431."""
    headers = []
    for index, line in enumerate(lines):
        if index >= max_headers:
            raise InvalidHTTP(f"more than {max_headers} header fields", 431)
        headers.append(_parse_header_line(line))
    return headers


def _slow_request(data: bytes, start: int, end: int, max_headers: int) -> Request:
    """The reference parser for a located request head (steps 4-5).

    Runs whenever the regex fast path declines; it raises the first error in
    the documented order, or returns the same result the fast path would.
    """
    _check_framing(data, start, end, True)
    lines = data[start:end].split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3:
        raise InvalidHTTP("invalid request line")
    method, target, version = parts
    if _TOKEN_BYTES.fullmatch(method) is None:
        raise InvalidHTTP("invalid method")
    if _TARGET_BYTES.fullmatch(target) is None:
        raise InvalidHTTP("invalid request target")
    version_str = _check_version(version)
    headers = _parse_headers(lines[1:], max_headers)
    return _tuple_new(
        Request, (method.decode("ascii"), target.decode("ascii"), version_str, headers)
    )


def _slow_response(data: bytes, start: int, end: int, max_headers: int) -> Response:
    """The reference parser for a located response head (steps 4-5)."""
    _check_framing(data, start, end, True)
    lines = data[start:end].split(b"\r\n")
    line = lines[0]
    if len(line) < 12 or line[8] != 0x20 or (len(line) > 12 and line[12] != 0x20):
        raise InvalidHTTP("invalid status line")
    version = _check_version(line[:8])
    status = line[9:12]
    if not status.isdigit():
        raise InvalidHTTP("invalid status code")
    reason = line[13:]
    if _BAD_VALUE_BYTES.search(reason) is not None:
        raise InvalidHTTP("invalid character in reason phrase")
    headers = _parse_headers(lines[1:], max_headers)
    return _tuple_new(Response, (version, int(status), reason.decode("latin-1"), headers))


def parse_request(
    data: Buffer, max_size: int = 16384, max_headers: int = 128
) -> tuple[Request, int] | None:
    """Parses an HTTP/1.1 request head from the start of ``data``.

    Returns ``(request, consumed)`` -- ``consumed`` counts the head including
    the blank line (and any skipped leading empty lines) -- or ``None`` when
    the head is not complete yet. Raises :class:`~fastws.exceptions.InvalidHTTP`
    (status 400, or 431 for a head over ``max_size`` bytes or more than
    ``max_headers`` header lines). See the module docstring for the rules.
    """
    max_size, max_headers = _limits(max_size, max_headers)
    if type(data) is not bytes:
        data = _as_bytes(data, max_size)
    located = _locate(data, max_size, True)
    if located is None:
        return None
    start, end = located
    text = data[start : end + 2].decode("latin-1")
    m = _REQUEST_LINE.match(text)
    if m is not None:
        headers = _HEADER_LINE.findall(text, m.end())
        if len(headers) <= max_headers and text.count("\n") == len(headers) + 1:
            return _tuple_new(Request, (m[1], m[2], m[3], headers)), end + 4
    return _slow_request(data, start, end, max_headers), end + 4


def parse_response(
    data: Buffer, max_size: int = 16384, max_headers: int = 128
) -> tuple[Response, int] | None:
    """Parses an HTTP/1.1 response head from the start of ``data``.

    Same contract as :func:`parse_request`; the status line is
    ``HTTP/x.y SP 3DIGIT [SP reason-phrase]`` (RFC 9112 §4, the SP before an
    empty reason may be missing). No leading empty lines are skipped.
    """
    max_size, max_headers = _limits(max_size, max_headers)
    if type(data) is not bytes:
        data = _as_bytes(data, max_size)
    located = _locate(data, max_size, False)
    if located is None:
        return None
    start, end = located
    text = data[start : end + 2].decode("latin-1")
    m = _STATUS_LINE.match(text)
    if m is not None:
        headers = _HEADER_LINE.findall(text, m.end())
        if len(headers) <= max_headers and text.count("\n") == len(headers) + 1:
            response = (m[1], int(m[2]), m[3] or "", headers)
            return _tuple_new(Response, response), end + 4
    return _slow_response(data, start, end, max_headers), end + 4


# --------------------------------------------------------------------------
# Header-value helpers


def get_header(headers: Iterable[tuple[str, str]], name: str) -> str | None:
    """The value of header ``name`` (ASCII case-insensitive), or ``None``.

    Field names are case-insensitive (RFC 9110 §5.1) by ASCII rules only: no
    Unicode case mapping makes two names equal (the KELVIN SIGN is not "k").

    Repeated headers are combined with ``", "`` in received order, which is
    equivalent to one header with a comma-separated list (RFC 9110 §5.3).
    ``headers`` is an iterable of ``(name, value)`` pairs with ``str`` names.
    """
    if not isinstance(name, str):
        raise TypeError("name must be str")
    if name.isascii():
        key = name.lower()
        values = [v for n, v in headers if n.lower() == key and n.isascii()]
    else:
        key = name.translate(_ASCII_LOWER)
        values = [v for n, v in headers if n.translate(_ASCII_LOWER) == key]
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return ", ".join(values)


def has_token(value: str, token: str) -> bool:
    """Whether the comma-separated list ``value`` contains ``token``.

    Elements are compared ASCII case-insensitively after stripping SP/HTAB
    (OWS, RFC 9110 §5.6.1), so ``"keep-alive, Upgrade"`` contains
    ``"upgrade"`` (RFC 9110 §7.6.1 Connection, §7.8 Upgrade). An empty
    ``token`` is never contained.
    """
    if not isinstance(value, str):
        raise TypeError("value must be str")
    if not isinstance(token, str):
        raise TypeError("token must be str")
    if not token:
        return False
    key = token.lower() if token.isascii() else token.translate(_ASCII_LOWER)
    folded = value.lower() if value.isascii() else value.translate(_ASCII_LOWER)
    return key in [item.strip(" \t") for item in folded.split(",")]


def parse_tokens(value: str) -> list[str]:
    """The tokens of a comma-separated list (``#token``, RFC 9110 §5.6.1).

    OWS around elements is ignored, empty elements are skipped, case is
    kept. An element that is not a token raises ``InvalidHTTP``.
    """
    if not isinstance(value, str):
        raise TypeError("value must be str")
    tokens = []
    for item in value.split(","):
        item = item.strip(" \t")
        if not item:
            continue
        if _TOKEN.fullmatch(item) is None:
            raise InvalidHTTP(f"invalid token in list: {item!r}")
        tokens.append(item)
    return tokens


def _skip_ows(value: str, pos: int) -> int:
    n = len(value)
    while pos < n and value[pos] in " \t":
        pos += 1
    return pos


def _token_at(value: str, pos: int, what: str) -> tuple[str, int]:
    m = _TOKEN.match(value, pos)
    if m is None:
        raise InvalidHTTP(f"invalid Sec-WebSocket-Extensions: expected {what} at position {pos}")
    return m[0], m.end()


def _quoted_at(value: str, pos: int) -> tuple[str, int]:
    """``quoted-string`` at ``value[pos] == '"'`` (RFC 9110 §5.6.4), unescaped."""
    chars: list[str] = []
    n = len(value)
    i = pos + 1
    while i < n:
        c = value[i]
        if c == '"':
            return "".join(chars), i + 1
        if c == "\\":
            i += 1
            if i == n:
                break
            c = value[i]
            if not (c == "\t" or " " <= c <= "~" or "\x80" <= c <= "\xff"):
                raise InvalidHTTP(
                    f"invalid Sec-WebSocket-Extensions: bad quoted-pair at position {i}"
                )
        elif not (c == "\t" or " " <= c <= "~" or "\x80" <= c <= "\xff"):
            raise InvalidHTTP(
                f"invalid Sec-WebSocket-Extensions: bad character in quoted string at position {i}"
            )
        chars.append(c)
        i += 1
    raise InvalidHTTP(
        f"invalid Sec-WebSocket-Extensions: unterminated quoted string at position {pos}"
    )


def parse_extensions(value: str) -> Extensions:
    """Parses a ``Sec-WebSocket-Extensions`` value (RFC 6455 §9.1).

    ``ext; p1; p2=v, ext2`` gives ``[("ext", [("p1", None), ("p2", "v")]),
    ("ext2", [])]``. Parameter values are tokens or quoted-strings; a
    quoted-string is unescaped (RFC 9110 §5.6.4) and must then itself be a
    token (RFC 6455 §9.1). OWS is allowed around ``,``, ``;`` and ``=``; empty
    list elements are skipped (RFC 9110 §5.6.1). Raises ``InvalidHTTP``.
    """
    if not isinstance(value, str):
        raise TypeError("value must be str")
    result: Extensions = []
    n = len(value)
    pos = 0
    while True:
        pos = _skip_ows(value, pos)
        if pos == n:
            return result
        if value[pos] == ",":
            pos += 1
            continue
        name, pos = _token_at(value, pos, "an extension name")
        params: ExtensionParams = []
        pos = _skip_ows(value, pos)
        while pos < n and value[pos] == ";":
            pos = _skip_ows(value, pos + 1)
            param, pos = _token_at(value, pos, "a parameter name")
            pos = _skip_ows(value, pos)
            arg: str | None = None
            if pos < n and value[pos] == "=":
                pos = _skip_ows(value, pos + 1)
                if pos < n and value[pos] == '"':
                    quoted_at = pos
                    arg, pos = _quoted_at(value, pos)
                    if _TOKEN.fullmatch(arg) is None:
                        raise InvalidHTTP(
                            "invalid Sec-WebSocket-Extensions: quoted value at position "
                            f"{quoted_at} is not a token"
                        )
                else:
                    arg, pos = _token_at(value, pos, "a parameter value")
                pos = _skip_ows(value, pos)
            params.append((param, arg))
        result.append((name, params))
        if pos == n:
            return result
        if value[pos] != ",":
            raise InvalidHTTP(
                f"invalid Sec-WebSocket-Extensions: expected ',' or ';' at position {pos}"
            )
        pos += 1


def _is_token(value: object) -> bool:
    return isinstance(value, str) and _TOKEN.fullmatch(value) is not None


def build_extensions(extensions: Iterable[tuple[str, Iterable[tuple[str, str | None]]]]) -> str:
    """Formats a ``Sec-WebSocket-Extensions`` value (RFC 6455 §9.1).

    The inverse of :func:`parse_extensions`: ``ext; p1; p2=v, ext2``. Names and
    values must be tokens (values may be ``None`` for a bare parameter),
    otherwise ``ValueError``; a malformed structure raises ``TypeError``.
    """
    parts: list[str] = []
    for extension in extensions:
        item: tuple[Any, ...] = tuple(extension)
        if len(item) != 2:
            raise TypeError("each extension must be a (name, params) pair")
        name, params = item
        if not _is_token(name):
            raise ValueError(f"invalid extension name: {name!r}")
        words: list[str] = [name]
        for param in params:
            pair: tuple[Any, ...] = tuple(param)
            if len(pair) != 2:
                raise TypeError("each extension parameter must be a (name, value) pair")
            key, arg = pair
            if not _is_token(key):
                raise ValueError(f"invalid extension parameter name: {key!r}")
            if arg is None:
                words.append(key)
            elif _is_token(arg):
                words.append(f"{key}={arg}")
            else:
                raise ValueError(f"invalid extension parameter value: {arg!r}")
        parts.append("; ".join(words))
    return ", ".join(parts)
