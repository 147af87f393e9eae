"""Benchmarks of the handshake-key kernel (RFC 6455 sections 4.1, 4.2.2).

Cases (columns of the ``accept`` table):

* ``accept_key``   -- Sec-WebSocket-Accept for a 24-character str key.
  References: ``hashlib+base64`` (the one-liner
  ``base64.b64encode(hashlib.sha1(key + GUID).digest())`` on bytes),
  ``websockets`` (``websockets.utils.accept_key``), ``wsproto``
  (``wsproto.utilities.generate_accept_token``, which takes and returns bytes).
* ``generate_key`` -- a fresh Sec-WebSocket-Key. References: ``websockets``
  (``websockets.utils.generate_key``, ``secrets.token_bytes``), ``wsproto``
  (``wsproto.utilities.generate_nonce``, returns bytes) and ``os.urandom+b64``
  (``base64.b64encode(os.urandom(16)).decode()``).
* ``is_valid_key`` -- validating a received key. Reference ``b64decode check``:
  ``len(base64.b64decode(key.encode(), validate=True)) == 16``, the check
  websockets' server does inline (it accepts non-canonical padding bits).
"""

from __future__ import annotations

import base64
import hashlib
import os
from typing import Any, Callable

import pytest
from conftest import peer

KEY = "dGhlIHNhbXBsZSBub25jZQ=="
KEY_BYTES = KEY.encode()
GUID_BYTES = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def _fastws(package: str) -> Any:
    if package == "fastws_c":
        return peer("fastws_c.accept")  # reported as missing when not compiled
    import fastws.accept

    return fastws.accept


def _hashlib_base64(key: bytes) -> bytes:
    return base64.b64encode(hashlib.sha1(key + GUID_BYTES).digest())


def _urandom_b64() -> str:
    return base64.b64encode(os.urandom(16)).decode()


def _b64decode_check(key: str) -> bool:
    try:
        return len(base64.b64decode(key.encode(), validate=True)) == 16
    except ValueError:
        return False


def _target(case: str, impl: str) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    """The function and arguments measured for one (case, impl) cell."""
    if impl in ("fastws[c]", "fastws[python]"):
        module = _fastws("fastws_c" if impl == "fastws[c]" else "fastws")
        func = getattr(module, case)
        return func, (() if case == "generate_key" else (KEY,))
    if case == "accept_key":
        if impl == "hashlib+base64":
            return _hashlib_base64, (KEY_BYTES,)
        if impl == "websockets":
            return peer("websockets.utils").accept_key, (KEY,)
        if impl == "wsproto":
            return peer("wsproto.utilities").generate_accept_token, (KEY_BYTES,)
    if case == "generate_key":
        if impl == "websockets":
            return peer("websockets.utils").generate_key, ()
        if impl == "wsproto":
            return peer("wsproto.utilities").generate_nonce, ()
        if impl == "os.urandom+b64":
            return _urandom_b64, ()
    if case == "is_valid_key" and impl == "b64decode check":
        return _b64decode_check, (KEY,)
    raise AssertionError(f"no benchmark for {case} / {impl}")


CELLS = [
    ("accept_key", "fastws[c]"),
    ("accept_key", "fastws[python]"),
    ("accept_key", "hashlib+base64"),
    ("accept_key", "websockets"),
    ("accept_key", "wsproto"),
    ("generate_key", "fastws[c]"),
    ("generate_key", "fastws[python]"),
    ("generate_key", "websockets"),
    ("generate_key", "wsproto"),
    ("generate_key", "os.urandom+b64"),
    ("is_valid_key", "fastws[c]"),
    ("is_valid_key", "fastws[python]"),
    ("is_valid_key", "b64decode check"),
]


@pytest.mark.parametrize(("case", "impl"), CELLS)
def test_accept(measure: Any, case: str, impl: str) -> None:
    func, args = _target(case, impl)
    result = measure("accept", case, impl, func, *args)
    if case == "accept_key":
        accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        assert result in (accept, accept.encode())
    elif case == "generate_key":
        assert len(result) == 24
    else:
        assert result is True
