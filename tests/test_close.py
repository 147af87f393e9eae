"""The close-payload kernel (RFC 6455 sections 5.5.1 and 7.4) on both backends.

* ``is_valid_close_code`` -- every code 0..5100 against the ranges of RFC 6455
  7.4.1/7.4.2 and the IANA registry, written out independently here.
* ``parse_close`` -- empty payload (1005, 7.1.5), the 1-byte payload, invalid
  codes, strict UTF-8 reasons (RFC 3629: overlongs, surrogates, > U+10FFFF,
  truncated sequences -> 1007, 8.1).
* ``build_close`` -- known answers, the 123-byte reason limit (5.5: control
  payloads <= 125 bytes), every error with its message, round trips.
* ``CloseCode`` -- the registered values; the compiled module re-exports it.
"""

from __future__ import annotations

import array
import enum
import inspect
from typing import Any, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastws.close
from fastws.exceptions import ProtocolError

SETTINGS = settings(max_examples=300, deadline=None)

REGISTERED = {
    "NORMAL_CLOSURE": 1000,
    "GOING_AWAY": 1001,
    "PROTOCOL_ERROR": 1002,
    "UNSUPPORTED_DATA": 1003,
    "NO_STATUS_RCVD": 1005,
    "ABNORMAL_CLOSURE": 1006,
    "INVALID_PAYLOAD": 1007,
    "POLICY_VIOLATION": 1008,
    "MESSAGE_TOO_BIG": 1009,
    "MANDATORY_EXTENSION": 1010,
    "INTERNAL_ERROR": 1011,
    "SERVICE_RESTART": 1012,
    "TRY_AGAIN_LATER": 1013,
    "BAD_GATEWAY": 1014,
    "TLS_HANDSHAKE": 1015,
}

# Codes that may be sent (RFC 6455 7.4.1, 7.4.2; IANA registry), by enumeration.
ON_THE_WIRE = {1000, 1001, 1002, 1003} | set(range(1007, 1015)) | set(range(3000, 5000))


def oracle_valid(code: int) -> bool:
    return code in ON_THE_WIRE


def buffer_forms(data: bytes) -> Iterator[Any]:
    yield data
    yield bytearray(data)
    yield memoryview(data)
    for offset in (1, 3):
        backing = bytearray(b"\xaa" * offset + data + b"\x55" * 3)
        yield memoryview(backing)[offset : offset + len(data)]
    yield array.array("B", data)


def test_close_code_enum(backend: Any) -> None:
    CloseCode = backend.close.CloseCode
    assert CloseCode is fastws.close.CloseCode
    assert issubclass(CloseCode, enum.IntEnum)
    assert {m.name: m.value for m in CloseCode} == REGISTERED


def test_every_code_classified(backend: Any) -> None:
    valid = backend.close.is_valid_close_code
    for code in range(0, 5101):
        assert valid(code) is oracle_valid(code), code
    for code in (-1, -1000, 65535, 65536, 2**31, 2**64, -(2**64)):
        assert valid(code) is False


@pytest.mark.parametrize(
    ("code", "ok"),
    [
        (999, False),
        (1000, True),
        (1003, True),
        (1004, False),
        (1005, False),
        (1006, False),
        (1007, True),
        (1014, True),
        (1015, False),
        (1016, False),
        (2999, False),
        (3000, True),
        (4999, True),
        (5000, False),
    ],
)
def test_boundaries(backend: Any, code: int, ok: bool) -> None:
    assert backend.close.is_valid_close_code(code) is ok


def test_is_valid_close_code_types(backend: Any) -> None:
    valid = backend.close.is_valid_close_code
    assert valid(backend.close.CloseCode.GOING_AWAY) is True
    assert valid(backend.close.CloseCode.NO_STATUS_RCVD) is False
    assert valid(True) is False

    class Index:
        def __index__(self) -> int:
            return 3001

    assert valid(Index()) is True
    for bad in (1000.0, "1000", None, b"\x03\xe8"):
        with pytest.raises(TypeError):
            valid(bad)


# --------------------------------------------------------------- parse_close


def test_parse_empty(backend: Any) -> None:
    for form in buffer_forms(b""):
        assert backend.close.parse_close(form) == (1005, "")


@pytest.mark.parametrize("payload", [b"\x03", b"\xe8", b"\x00", b"\xff"])
def test_parse_one_byte(backend: Any, payload: bytes) -> None:
    with pytest.raises(ProtocolError) as info:
        backend.close.parse_close(payload)
    assert str(info.value) == "close frame payload of 1 byte"
    assert info.value.code == 1002


def test_parse_known_answers(backend: Any) -> None:
    parse = backend.close.parse_close
    assert parse(b"\x03\xe8") == (1000, "")
    assert parse(b"\x03\xe9going away") == (1001, "going away")
    assert parse(b"\x0b\xb8") == (3000, "")
    assert parse(b"\x13\x87\xe2\x82\xac\xf0\x9f\x98\x80") == (4999, "\u20ac\U0001f600")
    result = parse(b"\x03\xe8")
    assert type(result) is tuple
    assert type(result[0]) is int
    assert type(result[1]) is str
    for form in buffer_forms(b"\x0f\xa0r\xc3\xa9sum\xc3\xa9"):
        assert parse(form) == (4000, "r\u00e9sum\u00e9")


def test_parse_every_code(backend: Any) -> None:
    parse = backend.close.parse_close
    for code in range(0, 65536):
        payload = code.to_bytes(2, "big") + b"ok"
        if oracle_valid(code):
            assert parse(payload) == (code, "ok")
        else:
            with pytest.raises(ProtocolError) as info:
                parse(payload)
            assert str(info.value) == f"invalid close code {code}"
            assert info.value.code == 1002


INVALID_UTF8 = [
    b"\x80",  # lone continuation byte
    b"\xbf",
    b"\xc0\x80",  # overlong NUL
    b"\xc1\xbf",  # overlong
    b"\xe0\x80\x80",  # overlong 3-byte
    b"\xe0\x9f\xbf",
    b"\xf0\x80\x80\x80",  # overlong 4-byte
    b"\xf0\x8f\xbf\xbf",
    b"\xed\xa0\x80",  # U+D800 (surrogate)
    b"\xed\xbf\xbf",  # U+DFFF
    b"\xed\xa0\x80\xed\xb0\x80",  # surrogate pair encoded in CESU-8
    b"\xf4\x90\x80\x80",  # U+110000
    b"\xf5\x80\x80\x80",
    b"\xfe",
    b"\xff",
    b"\xc3",  # truncated
    b"\xe2\x82",
    b"\xf0\x9f\x98",
    b"ok\xe2\x82",
    b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",  # Autobahn 6.x style
]


@pytest.mark.parametrize("reason", INVALID_UTF8)
def test_parse_invalid_utf8(backend: Any, reason: bytes) -> None:
    for form in buffer_forms(b"\x03\xe8" + reason):
        with pytest.raises(ProtocolError) as info:
            backend.close.parse_close(form)
        assert str(info.value) == "close reason is not valid UTF-8"
        assert info.value.code == 1007
        assert info.value.__suppress_context__


def test_parse_code_checked_before_reason(backend: Any) -> None:
    with pytest.raises(ProtocolError) as info:
        backend.close.parse_close(b"\x03\xed\xff")
    assert (str(info.value), info.value.code) == ("invalid close code 1005", 1002)


def test_parse_valid_utf8_edges(backend: Any) -> None:
    for text in (
        "\x00",
        "\x7f",
        "\x80",
        "\u07ff",
        "\u0800",
        "\ud7ff",
        "\ue000",
        "\uffff",
        "\U00010000",
        "\U0010ffff",
    ):
        assert backend.close.parse_close(b"\x03\xe8" + text.encode()) == (1000, text)


def test_parse_type_errors(backend: Any) -> None:
    for bad in ("\x03\xe8", 1000, None, memoryview(bytearray(8))[::2]):
        with pytest.raises(TypeError) as info:
            backend.close.parse_close(bad)
        assert str(info.value) == "payload must be a contiguous bytes-like object"


# --------------------------------------------------------------- build_close


def test_build_known_answers(backend: Any) -> None:
    build = backend.close.build_close
    assert build() == b""
    assert build(None) == b""
    assert build(None, "") == b""
    assert build(1000) == b"\x03\xe8"
    assert build(1001, "going away") == b"\x03\xe9going away"
    assert build(code=4999, reason="\u20ac") == b"\x13\x87\xe2\x82\xac"
    assert build(backend.close.CloseCode.MESSAGE_TOO_BIG, "big") == b"\x03\xf1big"
    assert type(build(1000)) is bytes


def test_build_reason_limit(backend: Any) -> None:
    build = backend.close.build_close
    assert build(1000, "a" * 123) == b"\x03\xe8" + b"a" * 123
    assert len(build(1000, "\u00e9" * 61 + "a")) == 125  # 123 bytes of UTF-8
    assert len(build(3000, "\U0001f600" * 30 + "abc")) == 125
    for reason, size in (
        ("a" * 124, 124),
        ("\u00e9" * 62, 124),
        ("\U0001f600" * 31, 124),
        ("x" * 1000, 1000),
    ):
        with pytest.raises(ValueError) as info:
            build(1000, reason)
        assert str(info.value) == f"close reason of {size} bytes exceeds 123 bytes"


def test_build_invalid_codes(backend: Any) -> None:
    build = backend.close.build_close
    for code in range(0, 5101):
        if oracle_valid(code):
            assert build(code) == code.to_bytes(2, "big")
        else:
            with pytest.raises(ValueError) as info:
                build(code)
            assert str(info.value) == f"close code {code} cannot be sent"
    for code in (-1, 65536, 2**64):
        with pytest.raises(ValueError) as info:
            build(code, "x")
        assert str(info.value) == f"close code {code} cannot be sent"


def test_build_errors(backend: Any) -> None:
    build = backend.close.build_close
    with pytest.raises(ValueError) as info:
        build(None, "reason")
    assert str(info.value) == "a close reason requires a close code"
    with pytest.raises(ValueError) as info:
        build(reason="x")
    assert str(info.value) == "a close reason requires a close code"
    for bad in (b"bytes", None, 5):
        with pytest.raises(TypeError) as info:
            build(1000, bad)
        assert str(info.value) == "reason must be str"
    with pytest.raises(TypeError):
        build(1000.0)
    with pytest.raises(TypeError):
        build("1000")
    with pytest.raises(UnicodeEncodeError):
        build(1000, "\ud800")
    # checks in order: reason type, missing code, code, reason length
    with pytest.raises(TypeError):
        build(1005, b"x")
    with pytest.raises(ValueError, match="^close code 1005 cannot be sent$"):
        build(1005, "x" * 200)


def test_build_str_subclass(backend: Any) -> None:
    class S(str):
        pass

    assert backend.close.build_close(1000, S("hi")) == b"\x03\xe8hi"


def test_signatures(backend: Any) -> None:
    assert str(inspect.signature(backend.close.build_close)) == (
        "(code: 'int | None' = None, reason: 'str' = '') -> 'bytes'"
    )
    assert list(inspect.signature(backend.close.parse_close).parameters) == ["payload"]
    assert list(inspect.signature(backend.close.is_valid_close_code).parameters) == ["code"]


# --------------------------------------------------------------- properties


@SETTINGS
@given(code=st.sampled_from(sorted(ON_THE_WIRE)), reason=st.text(max_size=40))
def test_round_trip(both_backends: Any, code: int, reason: str) -> None:
    outcomes = []
    for backend in both_backends:
        try:
            payload = backend.close.build_close(code, reason)
        except ValueError as exc:
            outcomes.append((type(exc), str(exc)))
            continue
        assert len(reason.encode("utf-8", "surrogatepass")) <= 123
        assert backend.close.parse_close(payload) == (code, reason)
        outcomes.append(payload)
    assert all(o == outcomes[0] for o in outcomes)


@SETTINGS
@given(payload=st.binary(max_size=130))
def test_parse_differential(both_backends: Any, payload: bytes) -> None:
    outcomes = []
    for backend in both_backends:
        try:
            outcomes.append(backend.close.parse_close(payload))
        except ProtocolError as exc:
            outcomes.append((str(exc), exc.code))
    assert all(o == outcomes[0] for o in outcomes)
    # the oracle: strict UTF-8 per the codec, validity per the enumeration
    if len(payload) == 0:
        assert outcomes[0] == (1005, "")
    elif len(payload) == 1:
        assert outcomes[0] == ("close frame payload of 1 byte", 1002)
    else:
        code = int.from_bytes(payload[:2], "big")
        if not oracle_valid(code):
            assert outcomes[0] == (f"invalid close code {code}", 1002)
        else:
            try:
                reason = payload[2:].decode("utf-8")
            except UnicodeDecodeError:
                assert outcomes[0] == ("close reason is not valid UTF-8", 1007)
            else:
                assert outcomes[0] == (code, reason)


@SETTINGS
@given(code=st.one_of(st.none(), st.integers(-10, 70000)), reason=st.text(max_size=130))
def test_build_differential(both_backends: Any, code: int | None, reason: str) -> None:
    outcomes = []
    for backend in both_backends:
        try:
            outcomes.append(backend.close.build_close(code, reason))
        except ValueError as exc:
            outcomes.append((type(exc).__name__, str(exc)))
    assert all(o == outcomes[0] for o in outcomes)
