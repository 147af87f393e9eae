"""Conformance, UTF-8 handling (Autobahn category 6, RFC 6455 §5.6, §8.1; RFC 3629).

Valid and invalid sequences as whole messages, fragmented at every byte, and
fail-fast: a fragmented text message fails with 1007 as soon as a fragment
makes the bytes received so far impossible to complete into valid UTF-8 --
not at the end of the message (§8.1 "MUST _Fail the WebSocket Connection_"
on invalid data; Autobahn 6.4 checks that it happens early).
"""

from __future__ import annotations

import pytest
from protocol_helpers import OP_CONT, OP_TEXT, Endpoint, Pair, each_mode, each_role

from fastws.events import Text
from fastws.protocol import State

VALID = {
    "6.1-empty": b"",
    "6.2-mixed": "Hello-µ@ßöäüàá-UTF-8!!".encode(),
    "6.5-kosme": "κόσμε".encode(),
    "6.5-cjk": "中文字符测试".encode(),
    "6.5-emoji": "🎉👩‍💻".encode(),
    "6.7-1-byte-max": b"\x7f",
    "6.7-2-byte-min": b"\xc2\x80",
    "6.7-2-byte-max": b"\xdf\xbf",
    "6.7-3-byte-min": b"\xe0\xa0\x80",
    "6.7-3-byte-max": b"\xef\xbf\xbf",
    "6.7-4-byte-min": b"\xf0\x90\x80\x80",
    "6.7-4-byte-max": b"\xf4\x8f\xbf\xbf",
    "6.11-before-surrogates": b"\xed\x9f\xbf",
    "6.11-after-surrogates": b"\xee\x80\x80",
    "6.11-replacement-char": b"\xef\xbf\xbd",
    "6.23-noncharacter-fffe": b"\xef\xbf\xbe",
    "6.23-noncharacter-fdd0": b"\xef\xb7\x90",
    "6.23-noncharacter-10ffff": b"\xf4\x8f\xbf\xbf",
    "nul": b"a\x00b",
}

INVALID = {
    "6.3-kosme-surrogate": b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
    "6.8-5-byte": b"\xf8\x88\x80\x80\x80",
    "6.8-6-byte": b"\xfc\x84\x80\x80\x80\x80",
    "6.9-above-10ffff": b"\xf4\x90\x80\x80",
    "6.9-f5": b"\xf5\x80\x80\x80",
    "6.10-lone-continuation-80": b"\x80",
    "6.10-lone-continuation-bf": b"\xbf",
    "6.10-two-continuations": b"\x80\xbf",
    "6.10-all-continuations": bytes(range(0x80, 0xC0)),
    "6.12-lonely-2-byte-start": b"\xc0 ",
    "6.12-lonely-3-byte-start": b"\xe0 ",
    "6.12-lonely-4-byte-start": b"\xf0 ",
    "6.13-incomplete-2-byte": b"\xc2",
    "6.13-incomplete-3-byte": b"\xe0\xa0",
    "6.13-incomplete-4-byte": b"\xf0\x90\x80",
    "6.14-incomplete-at-end-after-text": b"abc\xe2\x82",
    "6.15-impossible-fe": b"\xfe",
    "6.15-impossible-ff": b"\xff",
    "6.15-impossible-fe-fe-ff-ff": b"\xfe\xfe\xff\xff",
    "6.16-overlong-slash-2": b"\xc0\xaf",
    "6.16-overlong-slash-3": b"\xe0\x80\xaf",
    "6.16-overlong-slash-4": b"\xf0\x80\x80\xaf",
    "6.17-max-overlong-2": b"\xc1\xbf",
    "6.17-max-overlong-3": b"\xe0\x9f\xbf",
    "6.17-max-overlong-4": b"\xf0\x8f\xbf\xbf",
    "6.18-overlong-nul-2": b"\xc0\x80",
    "6.18-overlong-nul-3": b"\xe0\x80\x80",
    "6.19-surrogate-d800": b"\xed\xa0\x80",
    "6.19-surrogate-db7f": b"\xed\xad\xbf",
    "6.19-surrogate-dc00": b"\xed\xb0\x80",
    "6.19-surrogate-dfff": b"\xed\xbf\xbf",
    "6.20-surrogate-pair": b"\xed\xa0\x80\xed\xb0\x80",
    "6.21-surrogate-pair-max": b"\xed\xaf\xbf\xed\xbf\xbf",
    "6.22-cesu-emoji": b"Hi \xed\xa0\xbd\xed\xb8\x80",
    "text-then-invalid-long": b"x" * 300 + b"\xff" + b"y" * 300,
}

_TAIL_RANGES = {
    # Unicode Table 3-7, well-formed UTF-8 byte sequences: lead -> ranges of
    # the following bytes.
    **{lead: [(0x80, 0xBF)] for lead in range(0xC2, 0xE0)},
    0xE0: [(0xA0, 0xBF), (0x80, 0xBF)],
    **{lead: [(0x80, 0xBF)] * 2 for lead in list(range(0xE1, 0xED)) + [0xEE, 0xEF]},
    0xED: [(0x80, 0x9F), (0x80, 0xBF)],
    0xF0: [(0x90, 0xBF), (0x80, 0xBF), (0x80, 0xBF)],
    **{lead: [(0x80, 0xBF)] * 3 for lead in range(0xF1, 0xF4)},
    0xF4: [(0x80, 0x8F), (0x80, 0xBF), (0x80, 0xBF)],
}


def completable(data: bytes) -> bool:
    """Reference oracle, independent of the kernels: can ``data`` be extended
    into well-formed UTF-8 (RFC 3629 §4, Unicode Table 3-7)?"""
    i = 0
    while i < len(data):
        lead = data[i]
        if lead < 0x80:
            i += 1
            continue
        ranges = _TAIL_RANGES.get(lead)
        if ranges is None:
            return False
        for j, (low, high) in enumerate(ranges):
            if i + 1 + j >= len(data):
                return True
            if not low <= data[i + 1 + j] <= high:
                return False
        i += 1 + len(ranges)
    return True


def fail_position(data: bytes) -> int:
    """The length of the shortest prefix that cannot be completed (None if any can)."""
    for end in range(1, len(data) + 1):
        if not completable(data[:end]):
            return end
    return len(data) + 1  # only incomplete at the very end


NONEMPTY = {name: data for name, data in VALID.items() if data}
# Invalid before their end (not merely truncated): the fail-fast cases.
EARLY = {name: data for name, data in INVALID.items() if fail_position(data) <= len(data)}


def test_oracle_agrees_with_python():
    for data in VALID.values():
        assert completable(data)
        data.decode()
    for data in INVALID.values():
        with pytest.raises(UnicodeDecodeError):
            data.decode()


@pytest.mark.parametrize("data", list(VALID.values()), ids=list(VALID))
@each_role
@each_mode
def test_6_valid_text_whole(kernels, role, mode, data):
    """§5.6: a valid text message in one frame is delivered."""
    ep = Endpoint(kernels, role, mode)
    ep.send(ep.text(data))
    assert ep.events() == [Text(data.decode())]


@pytest.mark.parametrize("data", list(NONEMPTY.values()), ids=list(NONEMPTY))
@each_role
def test_6_6_valid_text_fragmented_at_every_byte(kernels, role, data):
    """§5.4/§8.1: one frame per byte (Autobahn 6.2.3, 6.6): code points split
    across frames are valid."""
    ep = Endpoint(kernels, role, "whole")
    frames = [ep.text(data[:1], fin=len(data) == 1)]
    frames += [
        ep.frame(OP_CONT, data[i : i + 1], fin=i == len(data) - 1) for i in range(1, len(data))
    ]
    ep.send(*frames)
    assert ep.events() == [Text(data.decode())]


@pytest.mark.parametrize("data", list(INVALID.values()), ids=list(INVALID))
@each_role
@each_mode
def test_6_invalid_text_whole(kernels, role, mode, data):
    """§8.1: invalid UTF-8 in a text message fails the connection with 1007;
    the message before it is delivered."""
    ep = Endpoint(kernels, role, mode)
    ep.send(ep.text("valid"), ep.text(data))
    ep.expect_failure(1007, [Text("valid")])


@pytest.mark.parametrize("data", list(INVALID.values()), ids=list(INVALID))
@each_role
def test_6_invalid_text_fragmented_at_every_byte(kernels, role, data):
    """§8.1 with one frame per byte: the failure happens exactly at the frame
    carrying the first byte that makes the text impossible."""
    ep = Endpoint(kernels, role, "whole")
    fail_at = fail_position(data)
    for i in range(len(data)):
        ep.send(ep.frame(OP_TEXT if i == 0 else OP_CONT, data[i : i + 1], fin=i == len(data) - 1))
        if i + 1 < fail_at and i + 1 < len(data):
            assert ep.conn.state is State.OPEN, (i, fail_at)
            assert ep.events() == []
        else:
            break
    ep.expect_failure(1007)


@pytest.mark.parametrize("data", list(EARLY.values()), ids=list(EARLY))
@each_role
@each_mode
def test_6_4_fail_fast_before_the_message_ends(kernels, role, mode, data):
    """§8.1, Autobahn 6.4: the fragment holding the offending byte fails the
    connection at once, though the message is not finished (FIN clear); the
    fragment just before it does not."""
    fail_at = fail_position(data)
    ep = Endpoint(kernels, role, mode)
    if fail_at > 1:
        ep.send(ep.text(data[: fail_at - 1], fin=False))
        assert ep.conn.state is State.OPEN
        assert ep.events() == []
        ep.send(ep.frame(OP_CONT, data[fail_at - 1 : fail_at], fin=False))
    else:
        ep.send(ep.text(data[:1], fin=False))
    ep.expect_failure(1007)


@pytest.mark.parametrize("data", list(INVALID.values()), ids=list(INVALID))
@each_role
@each_mode
def test_6_invalid_text_streaming(kernels, role, mode, data):
    """Streaming mode validates the same way (§8.1): the complete code points
    of a valid first fragment are delivered, then the connection fails."""
    ep = Endpoint(kernels, role, mode, streaming=True)
    ep.send(ep.text(data[:3], fin=False), ep.frame(OP_CONT, data[3:], fin=True))
    delivered = []
    if completable(data[:3]):
        cut = next(c for c in range(3, -1, -1) if completable_and_complete(data[:c]))
        delivered = [Text(data[:cut].decode(), fin=False)]
    ep.expect_failure(1007, delivered)


def completable_and_complete(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


@each_mode
def test_invalid_utf8_in_a_message_after_valid_fragments(kernels, mode):
    """The whole message is withheld when it turns out invalid (no partial
    delivery outside streaming mode)."""
    ep = Endpoint(kernels, "server", mode)
    ep.send(ep.text("abc", fin=False), ep.frame(OP_CONT, b"def", fin=False))
    assert ep.events() == []
    ep.send(ep.frame(OP_CONT, b"\xc0\xaf"))
    ep.expect_failure(1007)


@each_mode
def test_sent_text_round_trip(kernels, mode):
    pair = Pair(kernels, mode)
    texts = [data.decode() for data in VALID.values()]
    for text in texts:
        pair.client.send_text(text)
        pair.server.send_text(text)
    pair.flush()
    assert pair.server.events() == [Text(t) for t in texts]
    assert pair.client.events() == [Text(t) for t in texts]
