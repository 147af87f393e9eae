"""Type stub of the compiled twin of :mod:`fastws.close` (RFC 6455 sections 5.5.1, 7.4)."""

from typing_extensions import Buffer

from fastws.close import CloseCode as CloseCode

__all__ = ["CloseCode", "is_valid_close_code", "parse_close", "build_close"]

def is_valid_close_code(code: int) -> bool: ...
def parse_close(payload: Buffer) -> tuple[int, str]: ...
def build_close(code: int | None = None, reason: str = "") -> bytes: ...
