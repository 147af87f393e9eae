"""Conformance, reserved bits (Autobahn category 3, RFC 6455 §5.2, RFC 7692 §6)."""

from __future__ import annotations

import pytest
from protocol_helpers import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONT,
    OP_PING,
    OP_TEXT,
    Endpoint,
    each_mode,
    each_role,
)

from fastws.deflate import DeflateOptions
from fastws.events import Text

# Autobahn 3.1-3.7: RSV value (RSV1 = 4, RSV2 = 2, RSV3 = 1) on each kind of frame.
CASES = [
    ("3.1", 1, OP_TEXT),
    ("3.2", 2, OP_TEXT),
    ("3.3", 3, OP_TEXT),
    ("3.4", 4, OP_TEXT),
    ("3.5", 5, OP_BINARY),
    ("3.6", 6, OP_PING),
    ("3.7", 7, OP_CLOSE),
]


@pytest.mark.parametrize(("case", "rsv", "opcode"), CASES, ids=[c[0] for c in CASES])
@each_role
@each_mode
def test_3_reserved_bits_without_extension(kernels, role, mode, case, rsv, opcode):
    """§5.2: "MUST be 0 unless an extension is negotiated that defines meanings
    for non-zero values": fail with 1002; the message before it is delivered."""
    ep = Endpoint(kernels, role, mode)
    payload = kernels.close.build_close(1000, "") if opcode == OP_CLOSE else b"Hello"
    ep.send(ep.text("before"), ep.frame(opcode, payload, rsv=rsv))
    ep.expect_failure(1002, [Text("before")])


@pytest.mark.parametrize("rsv", [1, 2, 3, 5, 6, 7])
@each_role
@each_mode
def test_rsv2_rsv3_fail_even_with_permessage_deflate(kernels, role, mode, rsv):
    """RFC 7692 defines RSV1 only: RSV2/RSV3 stay forbidden (§5.2)."""
    options = {"compression": DeflateOptions()}
    ep = Endpoint(kernels, role, mode, peer_options=options, **options)
    assert ep.conn.deflate is not None
    ep.send(ep.frame(OP_BINARY, b"Hello", rsv=rsv))
    ep.expect_failure(1002)


@pytest.mark.parametrize("opcode", [OP_PING, OP_CLOSE, 10])
@each_role
@each_mode
def test_rsv1_on_control_frame_fails_with_permessage_deflate(kernels, role, mode, opcode):
    """RFC 7692 §6.1: control frames are never compressed; RSV1 on one is 1002."""
    options = {"compression": DeflateOptions()}
    ep = Endpoint(kernels, role, mode, peer_options=options, **options)
    payload = kernels.close.build_close(1000, "") if opcode == OP_CLOSE else b""
    ep.send(ep.frame(opcode, payload, rsv=4))
    ep.expect_failure(1002)


@each_role
@each_mode
def test_rsv1_on_continuation_frame_fails(kernels, role, mode):
    """RFC 7692 §6.1: RSV1 is set on the first frame of a message only: 1002."""
    options = {"compression": DeflateOptions()}
    ep = Endpoint(kernels, role, mode, peer_options=options, **options)
    ep.send(ep.frame(OP_TEXT, b"abc", fin=False), ep.frame(OP_CONT, b"def", rsv=4))
    ep.expect_failure(1002)


@each_role
@each_mode
def test_rsv1_without_negotiation_fails(kernels, role, mode):
    """RFC 7692 §6: RSV1 means "compressed" only once the extension is agreed."""
    ep = Endpoint(kernels, role, mode, peer_options={"compression": DeflateOptions()})
    assert ep.conn.deflate is None
    ep.send(ep.frame(OP_TEXT, b"\xf2\x48\xcd\xc9\xc9\x07\x00", rsv=4))
    ep.expect_failure(1002)
