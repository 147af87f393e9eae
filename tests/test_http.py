"""HTTP/1.1 head parsing and header helpers (RFC 9112, RFC 9110 §5, RFC 6455 §4, §9.1).

Every test runs on both backends (``backend`` fixture); the hypothesis tests
feed the same inputs to both (``both_backends``) and require the same result
or the same exception type, message and status. Expected values are written
out by hand from the RFC grammar, never computed by the code under test.
"""

from __future__ import annotations

import array
import gc
import importlib
import inspect
import pickle
import random
import sys
from typing import Any, Callable

import pytest
from conftest import BACKEND_IDS
from hypothesis import given, settings
from hypothesis import strategies as st

from fastws.exceptions import InvalidHTTP

SETTINGS = settings(max_examples=300, deadline=None)
C_ONLY = pytest.mark.skipif("c" not in BACKEND_IDS, reason="pure-only run: no fastws_c")

# --------------------------------------------------------------------------
# Realistic heads

CHROME = (
    b"GET /chat?room=1 HTTP/1.1\r\n"
    b"Host: server.example.com\r\n"
    b"Connection: Upgrade\r\n"
    b"Pragma: no-cache\r\n"
    b"Cache-Control: no-cache\r\n"
    b"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"
    b" Chrome/124.0.0.0 Safari/537.36\r\n"
    b"Upgrade: websocket\r\n"
    b"Origin: https://example.com\r\n"
    b"Sec-WebSocket-Version: 13\r\n"
    b"Accept-Encoding: gzip, deflate, br, zstd\r\n"
    b"Accept-Language: en-US,en;q=0.9\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    b"\r\n"
)
CHROME_HEADERS = [
    ("Host", "server.example.com"),
    ("Connection", "Upgrade"),
    ("Pragma", "no-cache"),
    ("Cache-Control", "no-cache"),
    (
        "User-Agent",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"
        " Chrome/124.0.0.0 Safari/537.36",
    ),
    ("Upgrade", "websocket"),
    ("Origin", "https://example.com"),
    ("Sec-WebSocket-Version", "13"),
    ("Accept-Encoding", "gzip, deflate, br, zstd"),
    ("Accept-Language", "en-US,en;q=0.9"),
    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"),
]

FIREFOX = (
    b"GET /ws HTTP/1.1\r\n"
    b"Host: localhost:8000\r\n"
    b"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0\r\n"
    b"Accept: */*\r\n"
    b"Accept-Language: en-US,en;q=0.5\r\n"
    b"Accept-Encoding: gzip, deflate, br\r\n"
    b"Sec-WebSocket-Version: 13\r\n"
    b"Origin: http://localhost:8000\r\n"
    b"Sec-WebSocket-Extensions: permessage-deflate\r\n"
    b"Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n"
    b"Connection: keep-alive, Upgrade\r\n"
    b"Sec-Fetch-Dest: websocket\r\n"
    b"Sec-Fetch-Mode: websocket\r\n"
    b"Sec-Fetch-Site: same-origin\r\n"
    b"Pragma: no-cache\r\n"
    b"Cache-Control: no-cache\r\n"
    b"Upgrade: websocket\r\n"
    b"\r\n"
)

CURL = (
    b"GET /socket HTTP/1.1\r\n"
    b"Host: 127.0.0.1:9001\r\n"
    b"User-Agent: curl/8.5.0\r\n"
    b"Accept: */*\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Version: 13\r\n"
    b"Sec-WebSocket-Key: 8Ss5XMRbqP2Hu7rDFvS0Gg==\r\n"
    b"\r\n"
)

RESPONSE = (
    b"HTTP/1.1 101 Switching Protocols\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
    b"Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n"
    b"\r\n"
)
RESPONSE_HEADERS = [
    ("Upgrade", "websocket"),
    ("Connection", "Upgrade"),
    ("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
    ("Sec-WebSocket-Extensions", "permessage-deflate; server_no_context_takeover"),
]
FRAME = b"\x81\x05Hello\x88\x02\x03\xe8"  # a text frame and a close frame

VALID_REQUESTS = [CHROME, FIREFOX, CURL, b"GET / HTTP/1.1\r\n\r\n"]


def outcome(func: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, ...]:
    """The result, or the exception's type, message (and status)."""
    try:
        return ("ok", func(*args, **kwargs))
    except InvalidHTTP as exc:
        return ("InvalidHTTP", str(exc), exc.status)
    except Exception as exc:  # noqa: BLE001 - any other exception must match too
        return (type(exc).__name__, str(exc))


def check_strs(obj: Any) -> None:
    """Every str in a result is a well-formed str object: ``isascii()`` agrees
    with its characters (a C extension building a str with the wrong maximum
    character would still compare equal, but not be canonical)."""
    if isinstance(obj, str):
        assert obj.isascii() == all(ord(c) < 128 for c in obj), repr(obj)
        assert obj == "".join(list(obj))
        assert hash(obj) == hash("".join(list(obj)))
    elif isinstance(obj, (tuple, list)):
        for item in obj:
            check_strs(item)


def same_everywhere(backends: Any, kernel_func: str, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
    results = [outcome(getattr(b.http, kernel_func), *args, **kwargs) for b in backends]
    for result in results:
        check_strs(result)
    for other in results[1:]:
        assert other == results[0], (kernel_func, args, kwargs)
    return results[0]


def raises(
    http_func: Callable[..., Any], data: Any, message: str, status: int = 400, **kw: Any
) -> None:
    with pytest.raises(InvalidHTTP) as info:
        http_func(data, **kw)
    assert str(info.value) == message
    assert info.value.status == status


# --------------------------------------------------------------------------
# API shape


def test_namedtuples_are_shared(backend: Any) -> None:
    import fastws.http as pure

    assert backend.http.Request is pure.Request
    assert backend.http.Response is pure.Response
    assert pure.Request._fields == ("method", "target", "version", "headers")
    assert pure.Response._fields == ("version", "status", "reason", "headers")


def test_signatures_match(both_backends: Any) -> None:
    names = [
        "parse_request",
        "parse_response",
        "get_header",
        "has_token",
        "parse_tokens",
        "parse_extensions",
        "build_extensions",
    ]
    for name in names:
        sigs = {str(inspect.signature(getattr(b.http, name))) for b in both_backends}
        assert len(sigs) == 1, (name, sigs)
    params = inspect.signature(both_backends[0].http.parse_request).parameters
    assert [(p.name, p.default) for p in params.values()] == [
        ("data", inspect.Parameter.empty),
        ("max_size", 16384),
        ("max_headers", 128),
    ]


# --------------------------------------------------------------------------
# Valid requests


def test_chrome_upgrade(backend: Any) -> None:
    request, consumed = backend.http.parse_request(CHROME)
    assert consumed == len(CHROME)
    assert request == ("GET", "/chat?room=1", "HTTP/1.1", CHROME_HEADERS)
    assert request.method == "GET"
    assert request.target == "/chat?room=1"
    assert request.version == "HTTP/1.1"
    assert request.headers == CHROME_HEADERS
    assert type(request) is backend.http.Request
    assert all(type(n) is str and type(v) is str for n, v in request.headers)
    assert type(request.headers) is list


def test_firefox_and_curl(backend: Any) -> None:
    http = backend.http
    request, consumed = http.parse_request(FIREFOX)
    assert consumed == len(FIREFOX)
    assert request.target == "/ws"
    assert len(request.headers) == 16
    assert request.headers[9] == ("Connection", "keep-alive, Upgrade")
    assert request.headers[0] == ("Host", "localhost:8000")
    assert http.has_token(http.get_header(request.headers, "connection"), "upgrade")
    request, consumed = http.parse_request(CURL)
    assert consumed == len(CURL)
    assert request == (
        "GET",
        "/socket",
        "HTTP/1.1",
        [
            ("Host", "127.0.0.1:9001"),
            ("User-Agent", "curl/8.5.0"),
            ("Accept", "*/*"),
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Version", "13"),
            ("Sec-WebSocket-Key", "8Ss5XMRbqP2Hu7rDFvS0Gg=="),
        ],
    )


def test_minimal_and_other_targets(backend: Any) -> None:
    parse = backend.http.parse_request
    assert parse(b"GET / HTTP/1.1\r\n\r\n") == (("GET", "/", "HTTP/1.1", []), 18)
    assert parse(b"OPTIONS * HTTP/1.0\r\n\r\n") == (("OPTIONS", "*", "HTTP/1.0", []), 22)
    assert parse(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n") == (
        ("CONNECT", "example.com:443", "HTTP/1.1", [("Host", "example.com:443")]),
        59,
    )
    # any version digits are syntax-valid; the handshake layer checks 1.1
    assert parse(b"M-SEARCH http://a/b?c#d HTTP/2.0\r\n\r\n")[0][1:3] == (
        "http://a/b?c#d",
        "HTTP/2.0",
    )
    # a method is any token (RFC 9110 §9.1), case-sensitive
    assert parse(b"get~!#$%&'*+-.^_`| / HTTP/1.1\r\n\r\n")[0].method == "get~!#$%&'*+-.^_`|"


def test_header_value_whitespace_and_case(backend: Any) -> None:
    head = (
        b"GET / HTTP/1.1\r\n"
        b"X-Lead:   spaced out \t \r\n"
        b"x-tab:\tA\tB\t\r\n"
        b"X-EMPTY:\r\n"
        b"X-Blank: \t \r\n"
        b"X-Colons: a:b::c\r\n"
        b"X-Inner:  a  b  \r\n"
        b"\r\n"
    )
    request, consumed = backend.http.parse_request(head)
    assert consumed == len(head)
    assert request.headers == [
        ("X-Lead", "spaced out"),
        ("x-tab", "A\tB"),
        ("X-EMPTY", ""),
        ("X-Blank", ""),
        ("X-Colons", "a:b::c"),
        ("X-Inner", "a  b"),
    ]


def test_latin1_values(backend: Any) -> None:
    head = b"GET / HTTP/1.1\r\nX-Name: Andr\xe9 \xff\x80\r\nX-Ascii: plain\r\n\r\n"
    request, _ = backend.http.parse_request(head)
    assert request.headers == [("X-Name", "Andr\xe9 \xff\x80"), ("X-Ascii", "plain")]
    value = request.headers[0][1]
    assert value == "André ÿ\x80" and value.encode("latin-1") == b"Andr\xe9 \xff\x80"
    assert request.headers[1][1].isascii()
    # an ASCII value right before obs-text bytes (same 16-byte block) stays ASCII
    for pad in range(20):
        head = b"GET / HTTP/1.1\r\nA: " + b"a" * pad + b"\r\nB: \xe9\xe9\xe9\r\n\r\n" + b"\xff" * 32
        request, _ = backend.http.parse_request(head)
        assert request.headers == [("A", "a" * pad), ("B", "\xe9\xe9\xe9")]
        assert request.headers[0][1].isascii() and not request.headers[1][1].isascii()
        response, _ = backend.http.parse_response(
            b"HTTP/1.1 200 " + b"O" * pad + b"\r\nB: \xe9\r\n\r\n"
        )
        assert response.reason.isascii()
    # a long obs-text value (crosses any 16-byte block boundary)
    long_value = bytes(range(0x80, 0x100)) * 3 + b"tail"
    request, _ = backend.http.parse_request(b"GET / HTTP/1.1\r\nX: " + long_value + b"\r\n\r\n")
    assert request.headers == [("X", long_value.decode("latin-1"))]


VCHAR_OR_OBS = set(range(0x21, 0x7F)) | set(range(0x80, 0x100))
TCHARS = set(b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def test_every_byte_in_a_header_value(backend: Any) -> None:
    """RFC 9110 §5.5: field-value octets are VCHAR, obs-text, SP and HTAB."""
    parse = backend.http.parse_request
    for byte in range(256):
        for value in (
            bytes([byte]),
            b"a" + bytes([byte]) + b"b",
            b"x" * 20 + bytes([byte]) + b"y" * 20,
        ):
            head = b"GET / HTTP/1.1\r\nX: " + value + b"\r\n\r\n"
            result = outcome(parse, head)
            check_strs(result)
            if byte in VCHAR_OR_OBS or byte in (0x20, 0x09):
                assert result == (
                    "ok",
                    (
                        ("GET", "/", "HTTP/1.1", [("X", value.decode("latin-1").strip(" \t"))]),
                        len(head),
                    ),
                )
            elif byte == 0x0A:
                assert result == ("InvalidHTTP", "bare LF in HTTP head", 400)
            elif byte == 0x0D:
                assert result == ("InvalidHTTP", "CR not followed by LF in HTTP head", 400)
            else:
                assert result == ("InvalidHTTP", "invalid character in header value", 400), byte


def test_every_byte_in_name_method_target_reason(backend: Any) -> None:
    http = backend.http
    for byte in range(256):
        if byte in (0x0A, 0x0D):
            continue
        c = bytes([byte])
        name = outcome(http.parse_request, b"GET / HTTP/1.1\r\nA" + c + b"b: v\r\n\r\n")
        method = outcome(http.parse_request, b"G" + c + b"T / HTTP/1.1\r\n\r\n")
        target = outcome(http.parse_request, b"GET /" + c + b"/ HTTP/1.1\r\n\r\n")
        reason = outcome(http.parse_response, b"HTTP/1.1 200 O" + c + b"K\r\n\r\n")
        if byte in TCHARS:
            assert name[0] == "ok" and name[1][0].headers == [("A" + chr(byte) + "b", "v")]
            assert method[0] == "ok" and method[1][0].method == "G" + chr(byte) + "T"
        else:
            if byte == 0x3A:  # "A:b: v" is the header "A" with value "b: v"
                assert name[1][0].headers == [("A", "b: v")]
            else:  # SP and HTAB too: they are not right before the colon
                assert name == ("InvalidHTTP", "invalid character in header name", 400), byte
            assert method == (
                "InvalidHTTP",
                "invalid request line" if byte == 0x20 else "invalid method",
                400,
            ), byte
        if 0x21 <= byte <= 0x7E:
            assert target[1][0].target == "/" + chr(byte) + "/"
        else:
            assert target == (
                "InvalidHTTP",
                "invalid request line" if byte == 0x20 else "invalid request target",
                400,
            ), byte
        if byte in VCHAR_OR_OBS or byte in (0x20, 0x09):
            assert reason[1][0].reason == "O" + chr(byte) + "K"
            check_strs(reason)
        else:
            assert reason == ("InvalidHTTP", "invalid character in reason phrase", 400), byte


def test_repeated_and_many_headers(backend: Any) -> None:
    lines = b"".join(b"X-%d: v%d\r\n" % (i, i) for i in range(300))
    head = b"GET / HTTP/1.1\r\n" + lines + b"\r\n"
    request, consumed = backend.http.parse_request(head, max_headers=300)
    assert consumed == len(head)
    assert request.headers == [(f"X-{i}", f"v{i}") for i in range(300)]


def test_leading_empty_lines_before_request(backend: Any) -> None:
    """RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the
    request-line. fastws skips every leading CRLF; they count as consumed."""
    parse = backend.http.parse_request
    assert parse(b"\r\nGET / HTTP/1.1\r\n\r\n") == (("GET", "/", "HTTP/1.1", []), 20)
    assert parse(b"\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\nxx") == (("GET", "/", "HTTP/1.1", []), 24)
    assert parse(b"\r\n") is None
    assert parse(b"\r\n\r\n") is None
    assert parse(b"\r\n\r") is None
    raises(parse, b"\r\n\nGET / HTTP/1.1\r\n\r\n", "bare LF in HTTP head")
    raises(parse, b"\r\n \r\nGET / HTTP/1.1\r\n\r\n", "invalid request line")
    # they count towards max_size
    raises(
        parse,
        b"\r\n" * 10 + b"GET / HTTP/1.1\r\n\r\n",
        "HTTP head larger than 37 bytes",
        431,
        max_size=37,
    )
    assert parse(b"\r\n" * 10 + b"GET / HTTP/1.1\r\n\r\n", max_size=38) is not None
    raises(parse, b"\r\n" * 100, "HTTP head larger than 64 bytes", 431, max_size=64)


# --------------------------------------------------------------------------
# Responses


def test_response_with_frames_after(backend: Any) -> None:
    data = RESPONSE + FRAME
    response, consumed = backend.http.parse_response(data)
    assert consumed == len(RESPONSE)
    assert data[consumed:] == FRAME
    assert response == ("HTTP/1.1", 101, "Switching Protocols", RESPONSE_HEADERS)
    assert type(response) is backend.http.Response
    assert response.status == 101 and type(response.status) is int


def test_response_status_lines(backend: Any) -> None:
    parse = backend.http.parse_response
    assert parse(b"HTTP/1.1 101\r\n\r\n") == (("HTTP/1.1", 101, "", []), 16)
    assert parse(b"HTTP/1.1 101 \r\n\r\n") == (("HTTP/1.1", 101, "", []), 17)
    assert parse(b"HTTP/1.0 404 Not Found\r\n\r\n")[0][:3] == ("HTTP/1.0", 404, "Not Found")
    assert parse(b"HTTP/1.1 000 x\r\n\r\n")[0].status == 0
    assert parse(b"HTTP/1.1 999  two  spaces \r\n\r\n")[0].reason == " two  spaces "
    assert parse(b"HTTP/1.1 200 \tOK\xc4\xd6\r\n\r\n")[0].reason == "\tOK\xc4\xd6"
    assert parse(b"HTTP/1.1 200 Switching Protocols\r\n\r\n")[0].reason == "Switching Protocols"
    # no leading empty lines for a response
    raises(parse, b"\r\nHTTP/1.1 101 OK\r\n\r\n", "invalid status line")
    raises(parse, b"\r\n\r\nHTTP/1.1 101 OK\r\n\r\n", "invalid status line")


# --------------------------------------------------------------------------
# Buffer types, offsets, trailing data


def test_buffer_types(backend: Any) -> None:
    parse = backend.http.parse_request
    expected = (("GET", "/chat?room=1", "HTTP/1.1", CHROME_HEADERS), len(CHROME))
    for data in (CHROME, bytearray(CHROME), memoryview(CHROME), array.array("B", CHROME)):
        assert parse(data) == expected
    for offset in range(1, 9):
        buf = bytearray(b"\xee" * offset + CHROME + FRAME)
        assert parse(memoryview(buf)[offset:]) == expected
        assert parse(memoryview(buf)[offset : offset + len(CHROME)]) == expected
        assert parse(memoryview(buf)[offset : offset + len(CHROME) - 1]) is None
    # a multi-byte item format is read as its raw bytes
    words = array.array("H")
    words.frombytes(b"GET / HTTP/1.1\r\n\r\n")
    assert parse(words) == (("GET", "/", "HTTP/1.1", []), 18)


def test_type_and_limit_errors(backend: Any) -> None:
    http = backend.http
    for func in (http.parse_request, http.parse_response):
        for bad in ("GET / HTTP/1.1\r\n\r\n", 12, None, [1, 2], memoryview(b"ab" * 20)[::2]):
            with pytest.raises(TypeError) as info:
                func(bad)
            assert str(info.value) == "data must be a contiguous bytes-like object"
        with pytest.raises(ValueError, match="^max_size must be positive$"):
            func(CHROME, max_size=0)
        with pytest.raises(ValueError, match="^max_headers must not be negative$"):
            func(CHROME, max_headers=-1)
        with pytest.raises(TypeError, match="cannot be interpreted as an integer"):
            func(CHROME, max_size=100.0)
        with pytest.raises(TypeError, match="cannot be interpreted as an integer"):
            func(CHROME, max_headers="1")
        # the limits are checked before the data
        with pytest.raises(ValueError, match="max_size"):
            func("not bytes", max_size=-5)
        # huge limits are fine
        head = RESPONSE if func is http.parse_response else CHROME
        assert func(head, 1 << 80, 1 << 80)[1] == len(head)
        assert func(bytearray(head), 1 << 80, 1 << 80)[1] == len(head)
        raises(func, head, "HTTP head larger than 1 bytes", 431, max_size=True)  # bool is int


def test_head_bytes_after_terminator_untouched(backend: Any) -> None:
    """What follows the blank line is WebSocket data: even garbage there is ignored."""
    parse = backend.http.parse_request
    for tail in (b"", b"\n", b"\r", b"\x00\xff garbage \n\n", b"GET / HTTP/1.1\r\n\r\n", FRAME):
        assert parse(CURL + tail)[1] == len(CURL)
        assert parse(CURL + tail, max_size=len(CURL))[1] == len(CURL)


# --------------------------------------------------------------------------
# Incomplete heads


@pytest.mark.parametrize("head", [CHROME, FIREFOX, CURL, b"\r\n\r\nGET / HTTP/1.1\r\n\r\n"])
def test_every_split_point_of_a_request(backend: Any, head: bytes) -> None:
    parse = backend.http.parse_request
    expected = parse(head + FRAME)
    assert expected is not None and expected[1] == len(head)
    for cut in range(len(head)):
        assert parse(head[:cut]) is None, cut
        assert parse(bytearray(head[:cut])) is None, cut
    assert parse(head) == expected
    # a buffer that grows byte by byte, with frames behind the head
    stream = head + FRAME
    results = [parse(stream[:cut]) for cut in range(len(stream) + 1)]
    assert results[: len(head)] == [None] * len(head)
    assert all(r == expected for r in results[len(head) :])


def test_every_split_point_of_a_response(backend: Any) -> None:
    parse = backend.http.parse_response
    expected = (("HTTP/1.1", 101, "Switching Protocols", RESPONSE_HEADERS), len(RESPONSE))
    for cut in range(len(RESPONSE)):
        assert parse(RESPONSE[:cut]) is None, cut
    for cut in range(len(RESPONSE), len(RESPONSE) + len(FRAME) + 1):
        assert parse((RESPONSE + FRAME)[:cut]) == expected


def test_framing_errors_in_incomplete_heads(backend: Any) -> None:
    """A bare LF or CR+other is reported as soon as it arrives (an LF-only
    client must not wait for a CRLF CRLF that never comes); a CR at the end of
    the buffer may still get its LF."""
    parse = backend.http.parse_request
    raises(parse, b"GET / HTTP/1.1\n", "bare LF in HTTP head")
    raises(parse, b"GET / HTTP/1.1\r\nHost: a\n", "bare LF in HTTP head")
    raises(parse, b"GET / HTTP/1.1\rX", "CR not followed by LF in HTTP head")
    assert parse(b"GET / HTTP/1.1\r") is None
    assert parse(b"GET / HTTP/1.1\r\nHost: a\r\n\r") is None
    # syntax errors are only reported once the head is complete
    assert parse(b"GET  / HTTP/1.1\r\nHost: a\r\n") is None
    raises(parse, b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", "invalid request line")
    raises(backend.http.parse_response, b"HTTP/1.1 101 OK\n", "bare LF in HTTP head")


# --------------------------------------------------------------------------
# Malformed heads: exact message and status

BAD_REQUESTS = [
    # framing (RFC 9112 §2.2), reported before anything else
    (b"GET / HTTP/1.1\nHost: a\r\n\r\n", "bare LF in HTTP head"),
    (b"GET / HTTP/1.1\r\nHost: a\n\r\n\r\n", "bare LF in HTTP head"),
    (b"GET / HTTP/1.1\r\n\n\r\n\r\n", "bare LF in HTTP head"),
    (b"\nGET / HTTP/1.1\r\n\r\n", "bare LF in HTTP head"),
    (b"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", "CR not followed by LF in HTTP head"),
    (b"GET / HTTP/1.1\r\nHost: a\r\r\n\r\n", "CR not followed by LF in HTTP head"),
    (b"GET / HTTP/1.1\r\r\n\r\n", "CR not followed by LF in HTTP head"),
    (b"GET  / HTTP/1.1\r\nX: \x00\r\nY: a\nb\r\n\r\n", "bare LF in HTTP head"),
    # request line (RFC 9112 §3)
    (b"GET /  HTTP/1.1\r\n\r\n", "invalid request line"),
    (b"GET  / HTTP/1.1\r\n\r\n", "invalid request line"),
    (b"GET /\r\n\r\n", "invalid request line"),
    (b"GET\r\n\r\n", "invalid request line"),
    (b"GET / HTTP/1.1 \r\n\r\n", "invalid request line"),
    (b"GET / HTTP/1.1 x\r\n\r\n", "invalid request line"),
    (b"GET\t/\tHTTP/1.1\r\n\r\n", "invalid request line"),
    (b"GET /\t HTTP/1.1\r\n\r\n", "invalid request target"),
    (b" / HTTP/1.1\r\n\r\n", "invalid method"),
    (b"G(T / HTTP/1.1\r\n\r\n", "invalid method"),
    (b"G\xc9T / HTTP/1.1\r\n\r\n", "invalid method"),
    (b"GET  HTTP/1.1\r\n\r\n", "invalid request target"),
    (b"GET /\x7f HTTP/1.1\r\n\r\n", "invalid request target"),
    (b"GET /caf\xe9 HTTP/1.1\r\n\r\n", "invalid request target"),
    (b"GET /\x00 HTTP/1.1\r\n\r\n", "invalid request target"),
    (b"GET / HTTP/1.10\r\n\r\n", "invalid HTTP version"),
    (b"GET / http/1.1\r\n\r\n", "invalid HTTP version"),
    (b"GET / HTTP/1\r\n\r\n", "invalid HTTP version"),
    (b"GET / HTTP/a.b\r\n\r\n", "invalid HTTP version"),
    (b"GET / HTTP/1,1\r\n\r\n", "invalid HTTP version"),
    (b"GET / \r\n\r\n", "invalid HTTP version"),
    (b"GET / HTTP/\xb9.1\r\n\r\n", "invalid HTTP version"),
    # header lines (RFC 9112 §5, RFC 9110 §5.5)
    (
        b"GET / HTTP/1.1\r\n Host: a\r\n\r\n",
        "obsolete line folding (header line starts with whitespace)",
    ),
    (
        b"GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n",
        "obsolete line folding (header line starts with whitespace)",
    ),
    (
        b"GET / HTTP/1.1\r\nX: a\r\n \r\n\r\n",
        "obsolete line folding (header line starts with whitespace)",
    ),
    (b"GET / HTTP/1.1\r\nHost a\r\n\r\n", "missing colon in header line"),
    (b"GET / HTTP/1.1\r\nHo\x00st\r\n\r\n", "missing colon in header line"),
    (b"GET / HTTP/1.1\r\n: a\r\n\r\n", "empty header name"),
    (b"GET / HTTP/1.1\r\n:\r\n\r\n", "empty header name"),
    (b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", "whitespace between header name and colon"),
    (b"GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", "whitespace between header name and colon"),
    (b"GET / HTTP/1.1\r\nH(o)st : a\r\n\r\n", "whitespace between header name and colon"),
    (b"GET / HTTP/1.1\r\nHo st: a\r\n\r\n", "invalid character in header name"),
    (b"GET / HTTP/1.1\r\nH\xe9: a\r\n\r\n", "invalid character in header name"),
    (b"GET / HTTP/1.1\r\nX(y): a\r\n\r\n", "invalid character in header name"),
    (b"GET / HTTP/1.1\r\nX\x00: a\r\n\r\n", "invalid character in header name"),
    (b"GET / HTTP/1.1\r\nHost: a\x00b\r\n\r\n", "invalid character in header value"),
    (b"GET / HTTP/1.1\r\nHost: \x7f\r\n\r\n", "invalid character in header value"),
    (b"GET / HTTP/1.1\r\nHost: a\x1b[0m\r\n\r\n", "invalid character in header value"),
    (
        b"GET / HTTP/1.1\r\nHost: " + b"a" * 40 + b"\x01\r\n\r\n",
        "invalid character in header value",
    ),
    (b"GET / HTTP/1.1\r\nHost: a\x0b \r\n\r\n", "invalid character in header value"),
    # the first bad line wins
    (b"GET / HTTP/1.1\r\nBad Line\r\nX: \x00\r\n\r\n", "missing colon in header line"),
    (b"GET / HTTP/1.1\r\nX: \x00\r\nBad Line\r\n\r\n", "invalid character in header value"),
    (b"GET /\x00 HTTP/1.1\r\nBad Line\r\n\r\n", "invalid request target"),
]


@pytest.mark.parametrize(("data", "message"), BAD_REQUESTS)
def test_bad_request(backend: Any, data: bytes, message: str) -> None:
    raises(backend.http.parse_request, data, message)
    raises(backend.http.parse_request, bytearray(data + FRAME), message)


BAD_RESPONSES = [
    (b"HTTP/1.1 10\r\n\r\n", "invalid status line"),
    (b"HTTP/1.1\r\n\r\n", "invalid status line"),
    (b"\r\n\r\n", "invalid status line"),
    (b"HTTP/1.1  101 OK\r\n\r\n", "invalid status line"),
    (b"HTTP/1.1 1012\r\n\r\n", "invalid status line"),
    (b"HTTP/1.1 101\tOK\r\n\r\n", "invalid status line"),
    (b"HTTP/1.1\t101 OK\r\n\r\n", "invalid status line"),
    (b"HTTPS/1.1 101 OK\r\n\r\n", "invalid status line"),
    (b"HTTX/1.1 101 OK\r\n\r\n", "invalid HTTP version"),
    (b"http/1.1 101 OK\r\n\r\n", "invalid HTTP version"),
    (b"HTTP/1.x 101 OK\r\n\r\n", "invalid HTTP version"),
    (b"HTTP/1.1 1a1 OK\r\n\r\n", "invalid status code"),
    (b"HTTP/1.1 +01 OK\r\n\r\n", "invalid status code"),
    (b"HTTP/1.1 10\xb9 OK\r\n\r\n", "invalid status code"),
    (b"HTTP/1.1 101 Switch\x00ing\r\n\r\n", "invalid character in reason phrase"),
    (b"HTTP/1.1 101 OK\x7f\r\n\r\n", "invalid character in reason phrase"),
    (b"HTTP/1.1 101 OK\r\nUpgrade : websocket\r\n\r\n", "whitespace between header name and colon"),
    (
        b"HTTP/1.1 101 OK\r\n Upgrade: websocket\r\n\r\n",
        "obsolete line folding (header line starts with whitespace)",
    ),
    (b"HTTP/1.1 101 OK\r\nUpgrade: websocket\n\r\n", "bare LF in HTTP head"),
]


@pytest.mark.parametrize(("data", "message"), BAD_RESPONSES)
def test_bad_response(backend: Any, data: bytes, message: str) -> None:
    raises(backend.http.parse_response, data, message)
    raises(backend.http.parse_response, memoryview(data + FRAME), message)


def test_exception_is_valueerror_and_pickles(backend: Any) -> None:
    with pytest.raises(ValueError) as info:
        backend.http.parse_request(b"GET / HTTP/1.1\nHost: a\r\n\r\n")
    exc = pickle.loads(pickle.dumps(info.value))
    assert isinstance(exc, InvalidHTTP) and exc.status == 400


# --------------------------------------------------------------------------
# Limits (status 431)


def test_max_size_boundary(backend: Any) -> None:
    http = backend.http
    for parse, head in ((http.parse_request, CHROME), (http.parse_response, RESPONSE)):
        n = len(head)
        assert parse(head, max_size=n)[1] == n
        assert parse(head + FRAME, max_size=n)[1] == n
        raises(parse, head, f"HTTP head larger than {n - 1} bytes", 431, max_size=n - 1)
        raises(parse, head + FRAME, f"HTTP head larger than {n - 1} bytes", 431, max_size=n - 1)
        # incomplete: None below the limit, 431 once max_size bytes are buffered
        assert parse(head[: n - 2], max_size=n - 1) is None
        raises(parse, head[: n - 1], f"HTTP head larger than {n - 1} bytes", 431, max_size=n - 1)
        raises(parse, head[: n - 1], f"HTTP head larger than {n - 2} bytes", 431, max_size=n - 2)


def test_unterminated_garbage_hits_the_limit(backend: Any) -> None:
    parse = backend.http.parse_request
    assert parse(b"x" * 99, max_size=100) is None
    raises(parse, b"x" * 100, "HTTP head larger than 100 bytes", 431, max_size=100)
    raises(parse, b"x" * 100_000, "HTTP head larger than 16384 bytes", 431)
    # a CR at the end of the window, whatever follows it, is not looked at
    raises(parse, b"x" * 99 + b"\r\x00", "HTTP head larger than 100 bytes", 431, max_size=100)
    # but framing errors inside the window come first
    raises(parse, b"x" * 50 + b"\n" + b"x" * 100, "bare LF in HTTP head", max_size=100)
    assert parse(b"x\r", max_size=3) is None
    raises(parse, b"x\r", "HTTP head larger than 2 bytes", 431, max_size=2)
    raises(parse, b"G", "HTTP head larger than 1 bytes", 431, max_size=1)


def test_max_headers_boundary(backend: Any) -> None:
    http = backend.http
    head = b"GET / HTTP/1.1\r\n" + b"".join(b"H%d: %d\r\n" % (i, i) for i in range(12)) + b"\r\n"
    assert len(http.parse_request(head, max_headers=12)[0].headers) == 12
    raises(http.parse_request, head, "more than 11 header fields", 431, max_headers=11)
    raises(http.parse_request, head, "more than 0 header fields", 431, max_headers=0)
    assert http.parse_request(b"GET / HTTP/1.1\r\n\r\n", max_headers=0)[0].headers == []
    response = b"HTTP/1.1 101 OK\r\nA: 1\r\nB: 2\r\n\r\n"
    assert http.parse_response(response, max_headers=2)[0].headers == [("A", "1"), ("B", "2")]
    raises(http.parse_response, response, "more than 1 header fields", 431, max_headers=1)
    # 128 by default
    many = b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 128 + b"\r\n"
    assert len(http.parse_request(many)[0].headers) == 128
    raises(http.parse_request, many[:-2] + b"X: y\r\n\r\n", "more than 128 header fields", 431)


def test_max_headers_is_positional(backend: Any) -> None:
    """Header lines are checked in order; the one beyond the limit raises 431
    when it is reached, so an earlier malformed line is reported first."""
    parse = backend.http.parse_request
    raises(
        parse,
        b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC c\r\n\r\n",
        "more than 2 header fields",
        431,
        max_headers=2,
    )
    raises(
        parse,
        b"GET / HTTP/1.1\r\nA a\r\nB: 2\r\nC: 3\r\n\r\n",
        "missing colon in header line",
        max_headers=2,
    )


# --------------------------------------------------------------------------
# Pathological inputs must stay linear (no assertion on time, only completion)


def test_long_whitespace_runs(backend: Any) -> None:
    parse = backend.http.parse_request
    ws = b" \t" * 7000
    raises(
        parse,
        b"GET / HTTP/1.1\r\nX:" + ws + b"\x01\r\n\r\n",
        "invalid character in header value",
        max_size=1 << 16,
    )
    raises(
        parse,
        b"GET / HTTP/1.1\r\nX: a" + ws + b"\x01\r\n\r\n",
        "invalid character in header value",
        max_size=1 << 16,
    )
    raises(
        parse,
        b"GET / HTTP/1.1\r\nX: " + b"a " * 7000 + b"\x01\r\n\r\n",
        "invalid character in header value",
        max_size=1 << 16,
    )
    request, _ = parse(b"GET / HTTP/1.1\r\nX:" + ws + b"v" + ws + b"\r\n\r\n", max_size=1 << 16)
    assert request.headers == [("X", "v")]
    assert parse(b"GET / HTTP/1.1\r\n" + b"X: a\r\n" * 2000 + b"\r\n", 1 << 16, 5000) is not None


def _guarded_page() -> Any:
    """An anonymous mapping of two pages, the second one inaccessible."""
    import ctypes
    import ctypes.util
    import mmap

    page = mmap.PAGESIZE
    mem = mmap.mmap(-1, 2 * page)
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    address = ctypes.addressof(ctypes.c_char.from_buffer(mem))
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    if libc.mprotect(address + page, page, 0) != 0:  # PROT_NONE
        pytest.skip("mprotect unavailable")
    return mem, page


@pytest.mark.skipif(not hasattr(__import__("os"), "sysconf"), reason="needs POSIX mmap/mprotect")
def test_no_read_past_the_buffer(backend: Any) -> None:
    """Heads ending exactly at an inaccessible page: any over-read would crash."""
    mem, page = _guarded_page()
    http = backend.http
    heads = [CHROME, RESPONSE, b"GET / HTTP/1.1\r\nX: " + b"\xe9" * 40 + b"\r\n\r\n"]
    samples = []
    for head in heads:
        samples += [head[:cut] for cut in range(len(head) + 1)]
    samples += [data for data, _ in BAD_REQUESTS + BAD_RESPONSES]
    samples += [b"x" * 100, b"GET / HTTP/1.1\r\nX: " + b"a" * 60, b"\r\n" * 30, b"GET / HTTP/1.1\r"]
    with memoryview(mem) as view:
        for data in samples:
            start = page - len(data)
            view[start:page] = data
            window = view[start:page]
            for func in (http.parse_request, http.parse_response):
                for size in (16384, len(data) or 1, max(len(data) - 1, 1)):
                    outcome(func, window, size)
            window.release()
    mem.close()


# --------------------------------------------------------------------------
# get_header


def test_get_header(backend: Any) -> None:
    get = backend.http.get_header
    headers = [
        ("Host", "a"),
        ("X-Multi", "1"),
        ("x-multi", "2, 3"),
        ("X-MULTI", ""),
        ("Upgrade", "ws"),
    ]
    assert get(headers, "host") == "a"
    assert get(headers, "HOST") == "a"
    assert get(headers, "Upgrade") == "ws"
    assert get(headers, "x-multi") == "1, 2, 3, "
    assert get(headers, "missing") is None
    assert get([], "host") is None
    assert get(headers, "") is None
    assert get([("", "e")], "") == "e"
    # ASCII-only case folding: no Unicode case mapping makes names equal
    assert get([("\u212aey", "kelvin")], "key") is None  # KELVIN SIGN lowercases to "k"
    assert get([("key", "k")], "\u212aey") is None
    assert get([("\xc9tat", "1"), ("\xe9tat", "2"), ("\xc9TAT", "3")], "\xc9tat") == "1, 3"
    assert get([("\u0130d", "1")], "i\u0307d") is None
    assert get([("Sn\u00f6W", "1")], "sN\u00f6w") == "1"
    # any iterable of pairs; the single value is returned as is
    assert get((pair for pair in headers), "HOST") == "a"
    assert get((["Host", "b"],), "host") == "b"
    assert get([("Host", "a"), ("Other", 5)], "host") == "a"
    value = object()
    assert get([("X", value)], "x") is value


def test_get_header_errors(backend: Any) -> None:
    get = backend.http.get_header
    with pytest.raises(TypeError, match="^name must be str$"):
        get([("Host", "a")], b"host")
    with pytest.raises(TypeError, match="expected str instance, int found"):
        get([("X", "a"), ("x", 5)], "x")


def test_get_header_survives_gc_that_empties_the_list(backend: Any) -> None:
    # Regression: the compiled get_header kept borrowed references into the
    # list (its length, the first matching value, the current pair) across
    # the allocation of the list that collects repeated values.  That
    # allocation can run the cyclic GC, whose finalizers may clear the list:
    # the old code then read freed tuples and indexed past the emptied list
    # (a crash).  Here a finalizer on cyclic garbage clears the headers, and
    # the GC is made to run at the first GC-tracked allocation in the call.
    values = [f"value {i} {random.random()}" for i in range(4)]  # freed with their pairs
    headers = [("X-Dup", values[0]), ("x-dup", values[1]), ("Other", values[2])]
    headers.append(("X-DUP", values[3]))
    finalized = []

    class ClearsTheHeaders:
        def __del__(self) -> None:
            finalized.append(True)
            headers.clear()

    get = backend.http.get_header
    threshold = gc.get_threshold()
    gc.collect()
    # more new lists than CPython's list free list holds, kept alive: the next
    # list is then a fresh GC allocation, which counts towards the threshold
    spare = [[] for _ in range(200)]
    garbage = ClearsTheHeaders()
    garbage.cycle = garbage  # type: ignore[attr-defined]
    del garbage
    gc.set_threshold(1)
    try:
        result = get(headers, "x-dup")
    finally:
        gc.set_threshold(*threshold)
    gc.collect()
    del spare
    assert finalized == [True]
    assert headers == []
    # whatever the GC cleared before the backend looked at an item is not there
    assert result in (
        None,
        values[0],
        f"{values[0]}, {values[1]}",
        ", ".join(values[:2] + values[3:]),
    )
    if backend.name == "c" and sys.version_info < (3, 12):
        # CPython < 3.12 collects inside the allocation itself, so the list was
        # emptied in the middle of the compiled loop (3.12+ defers the GC to
        # the next bytecode boundary)
        assert result == f"{values[0]}, {values[1]}"


# --------------------------------------------------------------------------
# has_token


@pytest.mark.parametrize(
    ("value", "token", "expected"),
    [
        ("Upgrade", "upgrade", True),
        ("upgrade", "Upgrade", True),
        ("keep-alive, Upgrade", "upgrade", True),
        ("keep-alive,Upgrade", "UPGRADE", True),
        ("Upgrade, keep-alive", "keep-alive", True),
        (" \tUpgrade\t ", "upgrade", True),
        ("a,,  , upgrade ,", "upgrade", True),
        ("keep-alive", "upgrade", False),
        ("upgrades", "upgrade", False),
        ("upgrade-x", "upgrade", False),
        ("up grade", "upgrade", False),
        ("", "upgrade", False),
        ("a,,b", "", False),
        ("", "", False),
        ("websocket", "WebSocket", True),
        ("\u212aeep", "keep", False),
        ("\xc9t\xc9", "\xc9T\xc9", True),
        ("\xe9t\xe9", "\xc9t\xc9", False),
        ("x, \u4e2d\u6587 ,y", "\u4e2d\u6587", True),
        ("a b", "a b", True),
        ("a", " a", False),
        ("a,b", "a,b", False),
        ("\nupgrade", "upgrade", False),
    ],
)
def test_has_token(backend: Any, value: str, token: str, expected: bool) -> None:
    assert backend.http.has_token(value, token) is expected


def test_has_token_types(backend: Any) -> None:
    class S(str):
        pass

    assert backend.http.has_token(S("a, Upgrade"), S("UPGRADE")) is True
    with pytest.raises(TypeError, match="^value must be str$"):
        backend.http.has_token(b"upgrade", "upgrade")
    with pytest.raises(TypeError, match="^token must be str$"):
        backend.http.has_token("upgrade", None)


# --------------------------------------------------------------------------
# parse_tokens


def test_parse_tokens(backend: Any) -> None:
    parse = backend.http.parse_tokens
    assert parse("chat, superchat") == ["chat", "superchat"]
    assert parse(" a ,\tB\t,, ,c") == ["a", "B", "c"]
    assert parse("") == []
    assert parse(" , ,") == []
    assert parse("x~!#$%&'*+-.^_`|9") == ["x~!#$%&'*+-.^_`|9"]
    for bad, item in [
        ("a b", "a b"),
        ("a, b;c", "b;c"),
        ('"q"', '"q"'),
        ("\xe9", "\xe9"),
        ("a/b", "a/b"),
    ]:
        with pytest.raises(InvalidHTTP) as info:
            parse(bad)
        assert str(info.value) == f"invalid token in list: {item!r}"
        assert info.value.status == 400
    with pytest.raises(TypeError, match="^value must be str$"):
        parse(b"a")


# --------------------------------------------------------------------------
# parse_extensions / build_extensions

EXTENSIONS = [
    ("permessage-deflate", [("permessage-deflate", [])]),
    (
        "permessage-deflate; client_max_window_bits",
        [("permessage-deflate", [("client_max_window_bits", None)])],
    ),
    (
        "permessage-deflate; client_max_window_bits=15; server_no_context_takeover",
        [
            (
                "permessage-deflate",
                [("client_max_window_bits", "15"), ("server_no_context_takeover", None)],
            )
        ],
    ),
    ('x; a="10"', [("x", [("a", "10")])]),
    ('x; a="1\\0"', [("x", [("a", "10")])]),
    ('x; a = "\\a\\b" ; b', [("x", [("a", "ab"), ("b", None)])]),
    (
        "foo, bar; baz=1,  qux ; q=x",
        [("foo", []), ("bar", [("baz", "1")]), ("qux", [("q", "x")])],
    ),
    (" ,a,, , b ,", [("a", []), ("b", [])]),
    ("", []),
    (" \t ", []),
    (
        "Permessage-Deflate;Client_Max_Window_Bits",
        [("Permessage-Deflate", [("Client_Max_Window_Bits", None)])],
    ),
    ("a;b;b;b=1", [("a", [("b", None), ("b", None), ("b", "1")])]),
    ("a\t;\tb\t=\t2\t,\tc", [("a", [("b", "2")]), ("c", [])]),
]


@pytest.mark.parametrize(("value", "expected"), EXTENSIONS)
def test_parse_extensions(backend: Any, value: str, expected: Any) -> None:
    assert backend.http.parse_extensions(value) == expected


def _bad(kind: str, pos: int) -> str:
    return f"invalid Sec-WebSocket-Extensions: {kind} at position {pos}"


BAD_EXTENSIONS = [
    (";", _bad("expected an extension name", 0)),
    ("a b", _bad("expected ',' or ';'", 2)),
    ("a;", _bad("expected a parameter name", 2)),
    ("a; ", _bad("expected a parameter name", 3)),
    ("a;;b", _bad("expected a parameter name", 2)),
    ("a; b=", _bad("expected a parameter value", 5)),
    ("a; b= ,", _bad("expected a parameter value", 6)),
    ("a; b=c d", _bad("expected ',' or ';'", 7)),
    ("a; b=1=2", _bad("expected ',' or ';'", 6)),
    ('a; b="c', "invalid Sec-WebSocket-Extensions: unterminated quoted string at position 5"),
    ('a; b="c\\', "invalid Sec-WebSocket-Extensions: unterminated quoted string at position 5"),
    ('a; b="c\\"', "invalid Sec-WebSocket-Extensions: unterminated quoted string at position 5"),
    ('a; b="c d"', "invalid Sec-WebSocket-Extensions: quoted value at position 5 is not a token"),
    ('a; b=""', "invalid Sec-WebSocket-Extensions: quoted value at position 5 is not a token"),
    ('a; b="\\""', "invalid Sec-WebSocket-Extensions: quoted value at position 5 is not a token"),
    (
        'a; b="\x00"',
        "invalid Sec-WebSocket-Extensions: bad character in quoted string at position 6",
    ),
    ('a; b="\\\x01"', "invalid Sec-WebSocket-Extensions: bad quoted-pair at position 7"),
    (
        'a; b="\u0100"',
        "invalid Sec-WebSocket-Extensions: bad character in quoted string at position 6",
    ),
    ('a; b="x"y', _bad("expected ',' or ';'", 8)),
    ('"a"', _bad("expected an extension name", 0)),
    ("\xe9", _bad("expected an extension name", 0)),
    ("a=1", _bad("expected ',' or ';'", 1)),
    ("a; b; =1", _bad("expected a parameter name", 6)),
]


@pytest.mark.parametrize(("value", "message"), BAD_EXTENSIONS)
def test_bad_extensions(backend: Any, value: str, message: str) -> None:
    with pytest.raises(InvalidHTTP) as info:
        backend.http.parse_extensions(value)
    assert str(info.value) == message
    assert info.value.status == 400


def test_parse_extensions_type(backend: Any) -> None:
    with pytest.raises(TypeError, match="^value must be str$"):
        backend.http.parse_extensions(b"x")


def test_build_extensions(backend: Any) -> None:
    build = backend.http.build_extensions
    assert build([]) == ""
    assert build([("permessage-deflate", [])]) == "permessage-deflate"
    assert (
        build(
            [
                (
                    "permessage-deflate",
                    [("client_max_window_bits", None), ("server_max_window_bits", "10")],
                ),
                ("x", []),
            ]
        )
        == "permessage-deflate; client_max_window_bits; server_max_window_bits=10, x"
    )
    assert build(iter([["a", iter([["b", "1"]])]])) == "a; b=1"
    for value, _ in EXTENSIONS:
        parsed = backend.http.parse_extensions(value)
        assert backend.http.parse_extensions(build(parsed)) == parsed


def test_build_extensions_errors(backend: Any) -> None:
    build = backend.http.build_extensions
    cases: list[tuple[Any, type[Exception], str]] = [
        ([("a b", [])], ValueError, "invalid extension name: 'a b'"),
        ([("", [])], ValueError, "invalid extension name: ''"),
        ([(5, [])], ValueError, "invalid extension name: 5"),
        ([("a", [("", None)])], ValueError, "invalid extension parameter name: ''"),
        ([("a", [("b", "c d")])], ValueError, "invalid extension parameter value: 'c d'"),
        ([("a", [("b", "")])], ValueError, "invalid extension parameter value: ''"),
        ([("a", [("b", 1)])], ValueError, "invalid extension parameter value: 1"),
        ([("a",)], TypeError, "each extension must be a (name, params) pair"),
        ([("a", [], 1)], TypeError, "each extension must be a (name, params) pair"),
        ([("a", [("b",)])], TypeError, "each extension parameter must be a (name, value) pair"),
        ([("a", 5)], TypeError, "'int' object is not iterable"),
        ([5], TypeError, "'int' object is not iterable"),
    ]
    for arg, exc_type, message in cases:
        with pytest.raises(exc_type) as info:
            build(arg)
        assert str(info.value) == message


# --------------------------------------------------------------------------
# Private paths of each backend


def test_python_only_fast_path_matches_reference() -> None:
    """fastws.http's regex fast path and its line-by-line reference parser agree."""
    import fastws.http as pure

    rng = random.Random(1)
    for head in VALID_REQUESTS * 40:
        data = bytearray(head)
        for _ in range(rng.randrange(4)):
            data[rng.randrange(len(data) - 4)] = rng.choice(b"aZ:; \t\x80\xff\x7f\x00-")
        data = bytes(data)
        located = pure._locate(data, 16384, True)
        if located is None:
            continue
        fast = outcome(pure.parse_request, data)
        slow = outcome(pure._slow_request, data, *located, 128)
        if slow[0] == "ok":
            slow = ("ok", (slow[1], located[1] + 4))
        assert fast == slow, data


@C_ONLY
def test_c_only_inline_field_storage_grows() -> None:
    """fastws_c records up to 40 fields inline, then on the heap."""
    http = importlib.import_module("fastws_c.http")
    for count in (39, 40, 41, 80, 81, 1000):
        head = (
            b"GET / HTTP/1.1\r\n"
            + b"".join(b"N%d: %d\r\n" % (i, i) for i in range(count))
            + b"\r\n"
        )
        request, consumed = http.parse_request(head, 1 << 20, count)
        assert consumed == len(head)
        assert request.headers == [(f"N{i}", str(i)) for i in range(count)]
        with pytest.raises(InvalidHTTP, match=f"^more than {count - 1} header fields$"):
            http.parse_request(head, 1 << 20, count - 1)


@C_ONLY
def test_c_only_cached_strings_are_correct() -> None:
    """Common names and values come from a table of shared str objects."""
    http = importlib.import_module("fastws_c.http")
    names = [
        "Host",
        "host",
        "HOST",
        "Upgrade",
        "upgrade",
        "Upgradf",
        "Sec-WebSocket-Key",
        "sec-websocket-key",
        "Sec-WebSocket-Kez",
        "Date",
        "Datf",
        "User-Agent",
        "Origin",
    ]
    values = [
        "websocket",
        "websockeT",
        "13",
        "14",
        "Upgrade",
        "keep-alive, Upgrade",
        "permessage-deflate; client_max_window_bits",
        "permessage-deflate; client_max_window_bitz",
    ]
    lines = b"".join(f"{n}: {v}\r\n".encode() for n in names for v in values)
    request, _ = http.parse_request(b"GET / HTTP/1.1\r\n" + lines + b"\r\n", 1 << 20, 1000)
    assert request.headers == [(n, v) for n in names for v in values]
    response, _ = http.parse_response(b"HTTP/1.1 101 Switching Protocols\r\n\r\n")
    assert response.reason == "Switching Protocols"
    response, _ = http.parse_response(b"HTTP/1.1 101 Switching Protocolz\r\n\r\n")
    assert response.reason == "Switching Protocolz"


# --------------------------------------------------------------------------
# Differential tests (hypothesis): same bytes -> same outcome in both backends

INTERESTING = b'\r\n \t:;,="\\\x00\x01\x7f\x80\xff/aZ9'
LINES = [
    b" x: y\r\n",
    b"\tx\r\n",
    b"a : b\r\n",
    b": v\r\n",
    b"X: \x00\r\n",
    b"X: \xe9 \r\n",
    b"X:\r\n",
    b"no colon\r\n",
    b"\r\n",
    b"\n",
    b"X: a\rb\r\n",
    b"A(b): c\r\n",
    b"Y: 1\r\n" * 5,
]


@st.composite
def mutated(draw: Any, heads: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(heads)))
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "dup", "line"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        byte = draw(st.one_of(st.sampled_from(list(INTERESTING)), st.integers(0, 255)))
        if op == "flip" and data:
            data[pos] = byte
        elif op == "insert":
            data.insert(pos, byte)
        elif op == "delete" and data:
            del data[pos]
        elif op == "truncate":
            del data[pos:]
        elif op == "line":
            at = data.find(b"\r\n", pos)
            data[at + 2 if at >= 0 else pos : at + 2 if at >= 0 else pos] = draw(
                st.sampled_from(LINES)
            )
        elif op == "dup" and data:
            end = draw(st.integers(pos, len(data)))
            data[pos:pos] = data[pos:end]
    if draw(st.booleans()):
        data += FRAME
    return bytes(data)


REQUEST_SEEDS = VALID_REQUESTS + [b"\r\nGET / HTTP/1.1\r\nA: b\r\n\r\n"]
RESPONSE_SEEDS = [RESPONSE, b"HTTP/1.1 101\r\n\r\n", b"HTTP/1.0 200 \xe9\r\nX: \xff\r\n\r\n"]
limits = st.tuples(
    st.sampled_from([1, 2, 17, 64, 100, 300, 489, 1000, 16384]), st.sampled_from([0, 1, 3, 12, 128])
)


@SETTINGS
@given(data=st.binary(max_size=300), lim=limits)
def test_differential_random_bytes(both_backends: Any, data: bytes, lim: tuple[int, int]) -> None:
    same_everywhere(both_backends, "parse_request", data, *lim)
    same_everywhere(both_backends, "parse_response", data, *lim)
    same_everywhere(both_backends, "parse_request", b"GET / HTTP/1.1\r\n" + data + b"\r\n\r\n")
    same_everywhere(both_backends, "parse_response", b"HTTP/1.1 101 OK\r\n" + data + b"\r\n\r\n")


@SETTINGS
@given(data=mutated(REQUEST_SEEDS), lim=limits)
def test_differential_mutated_requests(
    both_backends: Any, data: bytes, lim: tuple[int, int]
) -> None:
    same_everywhere(both_backends, "parse_request", data)
    same_everywhere(both_backends, "parse_request", data, *lim)


@SETTINGS
@given(data=mutated(RESPONSE_SEEDS), lim=limits)
def test_differential_mutated_responses(
    both_backends: Any, data: bytes, lim: tuple[int, int]
) -> None:
    same_everywhere(both_backends, "parse_response", data)
    same_everywhere(both_backends, "parse_response", data, *lim)


@SETTINGS
@given(
    data=st.one_of(mutated(REQUEST_SEEDS), mutated(RESPONSE_SEEDS)),
    cuts=st.lists(st.integers(0, 1000), max_size=8),
    lim=limits,
    func=st.sampled_from(["parse_request", "parse_response"]),
)
def test_differential_growing_buffer(
    both_backends: Any, data: bytes, cuts: list[int], lim: tuple[int, int], func: str
) -> None:
    """A buffer that grows: same outcomes in both backends, and once an outcome
    other than None is reached it never changes (a result stays, an error
    raised early is the one the complete head gives)."""
    settled = None
    for cut in sorted({min(c, len(data)) for c in cuts} | {len(data)}):
        result = same_everywhere(both_backends, func, bytearray(data[:cut]), *lim)
        if settled is not None:
            assert result == settled
        elif result != ("ok", None):
            settled = result


tokenish = st.text(alphabet=st.sampled_from(list('aZ9-_ \t,;="\\\xe9\u212a\x00!~')), max_size=30)


@SETTINGS
@given(value=tokenish, token=tokenish)
def test_differential_helpers(both_backends: Any, value: str, token: str) -> None:
    same_everywhere(both_backends, "has_token", value, token)
    same_everywhere(both_backends, "parse_tokens", value)
    result = same_everywhere(both_backends, "parse_extensions", value)
    if result[0] == "ok":
        built = same_everywhere(both_backends, "build_extensions", result[1])
        assert same_everywhere(both_backends, "parse_extensions", built[1]) == result
    headers = [(value, "1"), (token, "2"), (value.upper(), "3"), (token.lower(), "4")]
    same_everywhere(both_backends, "get_header", headers, value)
    same_everywhere(both_backends, "get_header", headers, token.swapcase())


@SETTINGS
@given(
    exts=st.lists(
        st.tuples(
            st.from_regex(r"[a-zA-Z0-9!#$%&'*+.^_`|~-]{1,8}", fullmatch=True),
            st.lists(
                st.tuples(
                    st.from_regex(r"[a-z0-9_-]{1,8}", fullmatch=True),
                    st.one_of(
                        st.none(), st.from_regex(r"[a-zA-Z0-9!#$%&'*+.^_`|~-]{1,8}", fullmatch=True)
                    ),
                ),
                max_size=4,
            ),
        ),
        max_size=4,
    )
)
def test_differential_extensions_round_trip(both_backends: Any, exts: Any) -> None:
    built = same_everywhere(both_backends, "build_extensions", exts)
    assert built[0] == "ok"
    assert same_everywhere(both_backends, "parse_extensions", built[1]) == ("ok", exts)
    # the same value with quoted parameter values and extra whitespace
    quoted = ", ".join(
        " ; ".join([name] + [p if v is None else f'{p} = "{v}"' for p, v in params])
        for name, params in exts
    )
    assert same_everywhere(both_backends, "parse_extensions", quoted) == ("ok", exts)
