"""Robustness (hypothesis): nothing the peer sends crashes the state machine.

Random bytes, and valid streams with random corruption, are fed to both roles
in random chunks. receive_data/receive_eof never raise; every event is one
of the documented kinds; a failure always sends exactly one close frame with a
code valid on the wire and moves out of OPEN (RFC 6455 §7.1.7); the connection
always ends with exactly one Closed event after EOF.
"""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from protocol_helpers import UNLIMITED, make_pair

from fastws.client import ClientConnection
from fastws.deflate import DeflateOptions
from fastws.events import Binary, Close, Closed, Ping, Pong, Request, Response, Text
from fastws.exceptions import FastWSError
from fastws.protocol import State
from fastws.server import ServerConnection

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KINDS = (Text, Binary, Ping, Pong, Close, Closed, Request, Response)


def valid_stream(kernels, seed: int, masked: bool) -> bytes:
    rng = random.Random(seed)
    out = []
    for _ in range(rng.randint(1, 6)):
        opcode = rng.choice([0, 1, 2, 8, 9, 10, 1, 2])
        payload = bytes(rng.getrandbits(8) for _ in range(rng.choice([0, 1, 5, 125, 126, 300])))
        if opcode == 1:
            payload = "héllo wörld ✓".encode()[: rng.randint(0, 16)]
        if opcode == 8:
            payload = kernels.close.build_close(rng.choice([1000, 1001, 4000]), "r")
        mask = bytes(rng.getrandbits(8) for _ in range(4)) if masked else None
        rsv = 4 if rng.random() < 0.2 else 0
        fin = rng.random() < 0.8 or opcode >= 8
        out.append(kernels.frames.build_frame(opcode, payload, fin, rsv, mask))
    return b"".join(out)


def check(conn, data: bytes, seed: int, opened: bool = True) -> None:
    rng = random.Random(seed)
    events = []
    pos = 0
    while pos < len(data):
        size = rng.choice([1, 2, 7, 64, 1000])
        conn.receive_data(data[pos : pos + size])
        pos += size
        events += conn.events()
    sent = conn.data_to_send()
    if conn.error is not None:
        assert isinstance(conn.error, FastWSError)
        assert conn.state in (State.CLOSING, State.CLOSED)
    conn.receive_eof()
    events += conn.events()
    assert all(type(e) in KINDS for e in events)
    assert type(events[-1]) is Closed
    assert sum(type(e) is Closed for e in events) == 1
    assert conn.state is State.CLOSED
    if opened:
        parser = conn._k.frames.FrameParser(
            mask_expected=conn.is_client, max_frame_size=UNLIMITED, allowed_rsv=7
        )
        frames = parser.feed(sent)
        assert parser.error is None
        closes = [f for f in frames if f.opcode == 8]
        assert len(closes) <= 1
        for close in closes:
            code, _ = conn._k.close.parse_close(close.payload)
            assert code == 1005 or conn._k.close.is_valid_close_code(code)


@SETTINGS
@given(
    data=st.binary(max_size=600),
    role=st.sampled_from(["client", "server"]),
    compressed=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_random_bytes_after_the_handshake(kernels, data, role, compressed, seed):
    options = {"compression": DeflateOptions()} if compressed else {}
    client, server = make_pair(kernels, options, **options)
    check(client if role == "client" else server, data, seed)


@SETTINGS
@given(
    stream_seed=st.integers(0, 2**32),
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 255)), max_size=3),
    role=st.sampled_from(["client", "server"]),
    compressed=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_corrupted_valid_streams(kernels, stream_seed, flips, role, compressed, seed):
    options = {"compression": DeflateOptions()} if compressed else {}
    client, server = make_pair(kernels, options, **options)
    data = bytearray(valid_stream(kernels, stream_seed, masked=role == "server"))
    for position, xor in flips:
        if data:
            data[position % len(data)] ^= xor
    check(client if role == "client" else server, bytes(data), seed)


@SETTINGS
@given(data=st.binary(max_size=400), seed=st.integers(0, 2**16))
def test_random_bytes_as_the_request(kernels, data, seed):
    check(ServerConnection(_kernels=kernels), data, seed, opened=False)


@SETTINGS
@given(data=st.binary(max_size=400), seed=st.integers(0, 2**16))
def test_random_bytes_as_the_response(kernels, data, seed):
    client = ClientConnection("ws://h/", _kernels=kernels)
    client.data_to_send()
    check(client, b"HTTP/1.1 " + data, seed, opened=False)
