"""Conformance, opcodes (Autobahn category 4, RFC 6455 §5.2, §11.8)."""

from __future__ import annotations

import pytest
from protocol_helpers import OP_PING, Endpoint, each_mode, each_role

from fastws.events import Text


@pytest.mark.parametrize("opcode", [3, 4, 5, 6, 7])
@each_role
@each_mode
def test_4_1_reserved_non_control_opcodes(kernels, role, mode, opcode):
    """§5.2: opcodes 0x3-0x7 are reserved: "If an unknown opcode is received, the
    receiving endpoint MUST _Fail the WebSocket Connection_" (1002). The ping
    that follows is not answered (§7.1.7: no more processing)."""
    ep = Endpoint(kernels, role, mode)
    ep.send(ep.text("Hello"), ep.frame(opcode, b"reserved" * (opcode - 3)), ep.frame(OP_PING))
    ep.expect_failure(1002, [Text("Hello")])


@pytest.mark.parametrize("opcode", [11, 12, 13, 14, 15])
@each_role
@each_mode
def test_4_2_reserved_control_opcodes(kernels, role, mode, opcode):
    """§5.2: opcodes 0xB-0xF are reserved control opcodes: 1002."""
    ep = Endpoint(kernels, role, mode)
    ep.send(ep.text("Hello"), ep.frame(opcode, b"x" * (opcode - 11)), ep.frame(OP_PING))
    ep.expect_failure(1002, [Text("Hello")])


@pytest.mark.parametrize("opcode", [3, 11])
@each_role
@each_mode
def test_reserved_opcode_as_first_frame(kernels, role, mode, opcode):
    """§5.2: a reserved opcode as the very first frame fails the same way."""
    ep = Endpoint(kernels, role, mode)
    ep.send(ep.frame(opcode))
    ep.expect_failure(1002)
