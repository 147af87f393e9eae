"""Type stub of the compiled twin of :mod:`fastws.http` (same API)."""

from collections.abc import Iterable
from typing import Union

from fastws.http import Request as Request
from fastws.http import Response as Response

Buffer = Union[bytes, bytearray, memoryview]

__all__ = [
    "Request",
    "Response",
    "parse_request",
    "parse_response",
    "get_header",
    "has_token",
    "parse_tokens",
    "parse_extensions",
    "build_extensions",
]

def parse_request(
    data: Buffer, max_size: int = 16384, max_headers: int = 128
) -> tuple[Request, int] | None: ...
def parse_response(
    data: Buffer, max_size: int = 16384, max_headers: int = 128
) -> tuple[Response, int] | None: ...
def get_header(headers: Iterable[tuple[str, str]], name: str) -> str | None: ...
def has_token(value: str, token: str) -> bool: ...
def parse_tokens(value: str) -> list[str]: ...
def parse_extensions(value: str) -> list[tuple[str, list[tuple[str, str | None]]]]: ...
def build_extensions(
    extensions: Iterable[tuple[str, Iterable[tuple[str, str | None]]]],
) -> str: ...
