"""The sans-IO core's ``message_callback``: whole messages handed over as they complete.

Every test runs on both backends (``kernels``), both roles where relevant and
the three feeding modes (whole, byte by byte, random splits).
"""

from __future__ import annotations

from typing import Any

import pytest
from protocol_helpers import MODES, OP_BINARY, OP_CONT, OP_TEXT, ROLES, Endpoint

from fastws.deflate import DeflateOptions
from fastws.events import Binary, Close, Closed, Ping, Pong, Text
from fastws.exceptions import InvalidState


def endpoint(kernels: Any, role: str, mode: str, **options: Any) -> tuple[Endpoint, list[Any]]:
    ep = Endpoint(kernels, role, mode, **options)
    got: list[Any] = []
    ep.conn.message_callback = got.append
    return ep, got


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("role", ROLES)
def test_messages_go_to_the_callback_in_order(kernels: Any, role: str, mode: str) -> None:
    ep, got = endpoint(kernels, role, mode)
    ep.send(
        ep.text("one"),
        ep.binary(b"\x00two"),
        ep.frame(OP_TEXT, b"fr", fin=False),
        ep.frame(9, b"ping in the middle"),
        ep.frame(OP_CONT, "ag\u00e9".encode(), fin=False),
        ep.frame(OP_CONT, b"ment", fin=True),
        ep.frame(OP_BINARY, b"a", fin=False),
        ep.frame(OP_CONT, b"b", fin=True),
        ep.text(""),
        ep.frame(10, b"pong"),
    )
    assert got == ["one", b"\x00two", "frag\u00e9ment", b"ab", ""]
    assert [type(x) for x in got] == [str, bytes, str, bytes, str]
    # control frames are still events; no Text/Binary events at all
    assert ep.events() == [Ping(b"ping in the middle"), Pong(b"pong")]


@pytest.mark.parametrize("mode", MODES)
def test_compressed_messages_go_to_the_callback(kernels: Any, mode: str) -> None:
    from protocol_helpers import Pair

    pair = Pair(kernels, mode, client_options={"compression": DeflateOptions()},
                server_options={"compression": DeflateOptions()})
    got: list[Any] = []
    pair.server.message_callback = got.append
    text = "compressible " * 500
    pair.client.send_text(text)
    pair.client.send_binary(b"\x01" * 3000)
    pair.client.send_text("frag", fin=False)
    pair.client.send_text("mented", fin=True)
    pair.flush()
    assert got == [text, b"\x01" * 3000, "fragmented"]
    assert pair.server.events() == []


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("role", ROLES)
def test_invalid_utf8_still_fails_after_delivering_what_came_before(
    kernels: Any, role: str, mode: str
) -> None:
    ep, got = endpoint(kernels, role, mode)
    ep.send(ep.text("fine"), ep.text(b"\xc3\x28"), ep.text("never"))
    assert got == ["fine"]
    ep.expect_failure(1007)


@pytest.mark.parametrize("role", ROLES)
def test_too_big_still_fails_with_1009(kernels: Any, role: str) -> None:
    ep, got = endpoint(kernels, role, "whole", max_message_size=10)
    ep.send(ep.text("small"), ep.binary(b"x" * 11))
    assert got == ["small"]
    ep.expect_failure(1009)


def test_callback_may_send_and_close(kernels: Any) -> None:
    """What an I/O layer's listener does: answer, or close, from the callback."""
    ep = Endpoint(kernels, "server", "whole")
    conn = ep.conn

    refused: list[str] = []

    def on_message(message: Any) -> None:
        if message == "bye":
            conn.close(4000, "done")
        else:
            try:
                conn.send_text(message.upper())
            except InvalidState:
                refused.append(message)

    conn.message_callback = on_message
    ep.send(ep.text("a"), ep.text("b"), ep.text("bye"), ep.text("after close"))
    frames = ep.sent()
    assert [(f.opcode, f.payload) for f in frames[:2]] == [(OP_TEXT, b"A"), (OP_TEXT, b"B")]
    assert frames[2].opcode == 8 and kernels.close.parse_close(frames[2].payload) == (4000, "done")
    assert len(frames) == 3  # nothing after the close frame
    # a message after our close frame is still delivered (RFC 6455 §7.1.2);
    # answering it is refused, and the connection is not failed
    assert refused == ["after close"]
    assert conn.close_sent == (4000, "done") and conn.error is None


@pytest.mark.parametrize("role", ROLES)
def test_a_raising_callback_fails_with_1011(kernels: Any, role: str) -> None:
    ep = Endpoint(kernels, role, "whole")

    def boom(message: Any) -> None:
        raise RuntimeError("callback bug")

    ep.conn.message_callback = boom
    ep.send(ep.text("x"))
    error = ep.expect_failure(1011)
    assert isinstance(error.__cause__, RuntimeError)


def test_streaming_mode_ignores_the_callback(kernels: Any) -> None:
    ep = Endpoint(kernels, "server", "whole", streaming=True)
    got: list[Any] = []
    ep.conn.message_callback = got.append
    ep.send(ep.frame(OP_TEXT, b"ab", fin=False), ep.frame(OP_CONT, b"c", fin=True))
    assert got == []
    assert ep.events() == [Text("ab", False), Text("c", True)]


def test_without_callback_messages_are_events(kernels: Any) -> None:
    ep = Endpoint(kernels, "server", "whole")
    assert ep.conn.message_callback is None
    ep.send(ep.text("t"), ep.binary(b"b"), ep.close_frame(1000))
    assert ep.events() == [Text("t"), Binary(b"b"), Close(1000, ""), Closed(1000, "")]
