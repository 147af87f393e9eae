"""Shared harness of the protocol conformance suite (tests/test_protocol_*.py).

* :func:`feed` delivers bytes to a connection in one of three ways (``MODES``):
  ``whole`` (one call), ``bytes`` (one byte at a time) and ``random`` (random
  splits from a seeded generator, so failures reproduce).
* :class:`Endpoint` is one connection under test (role ``client`` or
  ``server``), already OPEN, facing a hand-driven raw peer: tests build the
  peer's frames with the kernel ``build_frame`` (masked when the peer is a
  client, RFC 6455 §5.3), feed them, and read back both the events and the
  frames the connection sent.
* :class:`Pair` is a client and a server wired together in memory.
"""

from __future__ import annotations

import os
import random
from typing import Any

import pytest

from fastws.client import ClientConnection
from fastws.events import Closed, Request, Response
from fastws.exceptions import ProtocolError
from fastws.protocol import State
from fastws.server import ServerConnection

MODES = ("whole", "bytes", "random")
ROLES = ("client", "server")
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10
UNLIMITED = (1 << 63) - 1


def feed(conn: Any, data: bytes, mode: str, rng: random.Random | None = None) -> None:
    """Give ``data`` to ``conn.receive_data`` whole, byte by byte, or in random pieces."""
    if mode == "whole":
        conn.receive_data(data)
    elif mode == "bytes":
        for i in range(len(data)):
            conn.receive_data(data[i : i + 1])
    elif mode == "random":
        rng = rng or random.Random(len(data))
        pos = 0
        while pos < len(data):
            # Mostly small pieces, sometimes large ones, sometimes empty.
            size = rng.choice((0, 1, 2, 3, 5, 8, 13, 64, 300, 5000))
            piece = data[pos : pos + size]
            conn.receive_data(piece if rng.random() < 0.7 else bytearray(piece))
            pos += size
    else:  # pragma: no cover
        raise ValueError(mode)


def handshake(client: ClientConnection, server: ServerConnection) -> None:
    """Run the opening handshake between two in-memory connections."""
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())


def make_pair(
    kernels: Any, client_options: dict[str, Any] | None = None, **server_options: Any
) -> tuple[ClientConnection, ServerConnection]:
    """An OPEN client/server pair; the handshake events are consumed."""
    client = ClientConnection("ws://example.com/", _kernels=kernels, **(client_options or {}))
    server = ServerConnection(_kernels=kernels, **server_options)
    handshake(client, server)
    assert server.state is State.OPEN, server.events()
    assert client.state is State.OPEN, client.events()
    assert [type(e) for e in server.events()] == [Request]
    assert [type(e) for e in client.events()] == [Response]
    return client, server


class Endpoint:
    """The connection under test (``role``) and a raw peer driven by the test."""

    def __init__(
        self,
        kernels: Any,
        role: str,
        mode: str,
        *,
        peer_options: dict[str, Any] | None = None,
        **options: Any,
    ) -> None:
        self.k = kernels
        self.role = role
        self.mode = mode
        self.rng = random.Random(0xC0FFEE)
        if role == "client":
            client, server = make_pair(kernels, options, **(peer_options or {}))
            self.conn: Any = client
            self.peer: Any = server
        else:
            client, server = make_pair(kernels, peer_options, **options)
            self.conn = server
            self.peer = client
        # Reads what the connection under test sends: a server's peer (a
        # client) receives unmasked frames, a client's peer masked ones.
        self.parser = kernels.frames.FrameParser(
            mask_expected=(role == "client"), max_frame_size=UNLIMITED, allowed_rsv=7
        )

    # -- the raw peer -------------------------------------------------------

    def frame(self, opcode: int, payload: bytes = b"", fin: bool = True, rsv: int = 0) -> bytes:
        """A frame as the peer would send it (masked when the peer is a client)."""
        mask = os.urandom(4) if self.role == "server" else None
        return bytes(self.k.frames.build_frame(opcode, payload, fin, rsv, mask))

    def unmasked_rule_breaker(self, opcode: int, payload: bytes = b"") -> bytes:
        """A frame breaking the masking rule of §5.1 for this role."""
        mask = None if self.role == "server" else os.urandom(4)
        return bytes(self.k.frames.build_frame(opcode, payload, True, 0, mask))

    def text(self, data: str | bytes, fin: bool = True) -> bytes:
        return self.frame(OP_TEXT, data.encode() if isinstance(data, str) else data, fin)

    def binary(self, data: bytes, fin: bool = True) -> bytes:
        return self.frame(OP_BINARY, data, fin)

    def close_frame(self, code: int | None = 1000, reason: str = "") -> bytes:
        return self.frame(OP_CLOSE, self.k.close.build_close(code, reason))

    def send(self, *frames: bytes) -> None:
        """Feed the concatenated frames to the connection in this test's mode."""
        feed(self.conn, b"".join(frames), self.mode, self.rng)

    # -- what the connection did --------------------------------------------

    def events(self) -> list[Any]:
        return self.conn.events()

    def sent(self) -> list[Any]:
        """The frames the connection queued since the last call, parsed."""
        return self.parser.feed(self.conn.data_to_send())

    def sent_close(self) -> tuple[int, str] | None:
        closes = [f for f in self.sent() if f.opcode == OP_CLOSE]
        assert len(closes) <= 1
        return self.k.close.parse_close(closes[0].payload) if closes else None

    def expect_failure(self, code: int, delivered: list[Any] | None = None) -> ProtocolError:
        """The connection failed with ``code`` (RFC 6455 §7.1.7) after delivering
        ``delivered``: it sent one close frame with that code, stops reading,
        and ends with a Closed event carrying the ProtocolError (a server at
        once, a client when the transport ends)."""
        events = self.events()
        sent = self.sent()
        frames = [f for f in sent if f.opcode == OP_CLOSE]
        assert len(frames) == 1, sent
        assert sent[-1].opcode == OP_CLOSE  # nothing after the close frame
        assert self.k.close.parse_close(frames[0].payload)[0] == code
        error = self.conn.error
        assert isinstance(error, ProtocolError), error
        assert error.code == code
        if self.role == "client":
            assert self.conn.state is State.CLOSING
            assert self.conn.close_expected()
            assert events == (delivered or [])
            self.conn.receive_eof()
            events = self.events()
            assert self.conn.state is State.CLOSED
            assert events == [Closed(code, str(error), error)]
        else:
            assert self.conn.state is State.CLOSED
            assert events == (delivered or []) + [Closed(code, str(error), error)]
        # Nothing more is read or sent.
        self.send(self.text("ignored"), self.close_frame())
        assert self.events() == []
        assert self.conn.data_to_send() == b""
        return error

    def expect_clean_close(self, code: int, reason: str = "", delivered: list[Any] | None = None):  # type: ignore[no-untyped-def]
        """The peer's close was received and echoed (§5.5.1)."""
        from fastws.events import Close

        events = self.events()
        assert self.sent_close() == (code, "")
        expected = (delivered or []) + [Close(code, reason)]
        if self.role == "client":
            assert events == expected
            assert self.conn.state is State.CLOSING
            self.conn.receive_eof()
            events = self.events()
            expected = []
        else:
            assert self.conn.state is State.CLOSED
        assert events == expected + [Closed(code, reason)]


class Pair:
    """A client and a server connected in memory, with a delivery mode."""

    def __init__(
        self,
        kernels: Any,
        mode: str = "whole",
        client_options: dict[str, Any] | None = None,
        server_options: dict[str, Any] | None = None,
        seed: int = 7,
    ) -> None:
        self.client, self.server = make_pair(kernels, client_options, **(server_options or {}))
        self.mode = mode
        self.rng = random.Random(seed)

    def flush(self) -> None:
        """Deliver everything queued, both ways, until nothing moves."""
        while True:
            to_server = self.client.data_to_send()
            to_client = self.server.data_to_send()
            if not to_server and not to_client:
                return
            if to_server:
                feed(self.server, to_server, self.mode, self.rng)
            if to_client:
                feed(self.client, to_client, self.mode, self.rng)


# -- parametrization shared by the test modules ------------------------------

#: run the test once per feeding mode: whole, one byte at a time, random splits
each_mode = pytest.mark.parametrize("mode", MODES)
#: run the test with the connection under test as client and as server
each_role = pytest.mark.parametrize("role", ROLES)
