"""fastws.asyncio: large server messages written as header + payload.

A server's whole, uncompressed ``bytes``/``str`` message of 64 KiB or more is
queued by the core as two buffers and written with ``transport.writelines``
(see fastws/asyncio/connection.py). These echo tests check that messages
around that threshold, text and binary, arrive intact on both event loops and
both backends, with and without compression (which keeps one frame).
"""

from __future__ import annotations

import asyncio

import pytest
from asyncio_helpers import LOOPS, _no_proxy_environment, port_of, run  # noqa: F401

from fastws.asyncio import connect, serve
from fastws.protocol import _SPLIT_MIN

pytestmark = pytest.mark.network

SIZES = [_SPLIT_MIN - 1, _SPLIT_MIN, _SPLIT_MIN + 1, 2 << 20]


async def echo(ws):  # type: ignore[no-untyped-def]
    async for message in ws:
        await ws.send(message)


@pytest.mark.parametrize("compression", [None, "deflate"])
@pytest.mark.parametrize("loop", LOOPS)
def test_large_echo_around_threshold(use_backend: str, loop: str, compression: str | None) -> None:
    binaries = [bytes(range(256)) * (size // 256) + bytes(range(size % 256)) for size in SIZES]
    texts = ["\u00e9" * (size // 4) + "x" * (size - 2 * (size // 4)) for size in SIZES]

    async def main() -> None:
        async with serve(
            echo, "127.0.0.1", 0, max_size=None, compression=compression
        ) as server, connect(
            f"ws://127.0.0.1:{port_of(server)}/", max_size=None, compression=compression
        ) as ws:
            for binary, text in zip(binaries, texts):
                await ws.send(binary)
                assert await ws.recv() == binary
                await ws.send(text)
                assert await ws.recv() == text
            # Pipelined: several large messages in flight, answered in order.
            for message in binaries + texts:
                await ws.send(message)
            for message in binaries + texts:
                assert await ws.recv() == message

    run(main, loop=loop, timeout=60)



class _Recorder(asyncio.WriteTransport):
    """A transport with asyncio's default (joining) ``writelines``."""

    def __init__(self, buffered: int) -> None:
        super().__init__()
        self.buffered = buffered
        self.calls: list[tuple[str, list[bytes]]] = []

    def write(self, data: bytes) -> None:  # type: ignore[override]
        self.calls.append(("write", [data]))

    def get_write_buffer_size(self) -> int:
        return self.buffered


class _Gathering(_Recorder):
    """A transport that sends the buffers as they are (like uvloop's)."""

    def writelines(self, list_of_data) -> None:  # type: ignore[no-untyped-def, override]
        self.calls.append(("writelines", list(list_of_data)))


def _frame(size: int) -> list[bytes]:
    payload = bytes(size)
    return [b"\x82\x7f" + size.to_bytes(8, "big"), payload]


def test_writelines_helper(use_backend: str) -> None:
    """Header and payload reach the transport as queued: ``writelines`` on a
    transport that keeps them apart; on one whose ``writelines`` joins, one
    ``write`` each (payload not copied) unless the write buffer is empty and
    the frame small, when one joined ``write`` saves a send(2). (The uvicorn
    protocol writes through this same helper.)"""
    from fastws.asyncio.connection import _JOIN_MAX, _writelines
    for size in (_SPLIT_MIN, 2 << 20):
        for buffered in (0, 1):
            out = _frame(size)
            gathering = _Gathering(buffered)
            _writelines(gathering, list(out))
            assert gathering.calls == [("writelines", out)]
            assert gathering.calls[0][1][1] is out[1]
            joining = _Recorder(buffered)
            _writelines(joining, list(out))
            if buffered == 0 and size + 10 < _JOIN_MAX:
                assert joining.calls == [("write", [out[0] + out[1]])]
            else:
                assert joining.calls == [("write", [out[0]]), ("write", [out[1]])]
                assert joining.calls[1][1][0] is out[1]
