"""Type stub of the compiled twin of :mod:`fastws.frames` (RFC 6455 section 5.2)."""

from typing import Any

from typing_extensions import Buffer

from fastws.exceptions import ProtocolError
from fastws.frames import FrameHeader as FrameHeader

__all__ = [
    "OP_CONT",
    "OP_TEXT",
    "OP_BINARY",
    "OP_CLOSE",
    "OP_PING",
    "OP_PONG",
    "FrameHeader",
    "Frame",
    "FrameParser",
    "parse_header",
    "build_frame",
]

OP_CONT: int
OP_TEXT: int
OP_BINARY: int
OP_CLOSE: int
OP_PING: int
OP_PONG: int

def parse_header(data: Buffer, offset: int = 0) -> FrameHeader | None: ...
def build_frame(
    opcode: int,
    payload: Buffer,
    fin: bool = True,
    rsv: int = 0,
    mask: Buffer | None = None,
) -> bytes: ...

class Frame:
    __match_args__ = ("opcode", "payload", "fin", "rsv")
    @property
    def opcode(self) -> int: ...
    @property
    def payload(self) -> bytes: ...
    @property
    def fin(self) -> bool: ...
    @property
    def rsv(self) -> int: ...
    def __init__(self, opcode: int, payload: bytes, fin: bool = True, rsv: int = 0) -> None: ...
    def __eq__(self, other: object) -> bool: ...
    def __ne__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...
    def __reduce__(self) -> tuple[Any, ...]: ...

class FrameParser:
    def __init__(
        self, *, mask_expected: bool, max_frame_size: int = 1 << 20, allowed_rsv: int = 0
    ) -> None: ...
    @property
    def error(self) -> ProtocolError | None: ...
    @property
    def idle(self) -> bool: ...
    def feed(self, data: Buffer) -> list[Frame]: ...

# private test hook: the unmasking kernel (the variant selected at import, or the scalar one)
def _xor_for_test(data: Buffer, key: Buffer, phase: int = 0, scalar: bool = False) -> bytes: ...
def _prealloc_max(n: int | None = None) -> int: ...
