"""The opening-handshake keys of RFC 6455 (pure-Python kernel).

* :func:`accept_key` -- ``Sec-WebSocket-Accept`` for a ``Sec-WebSocket-Key``:
  base64(SHA-1(key + GUID)) (RFC 6455 section 4.2.2, step 5.4; section 1.3).
* :func:`generate_key` -- a fresh ``Sec-WebSocket-Key``: base64 of a 16-byte
  random nonce (RFC 6455 section 4.1, client requirement 7).
* :func:`is_valid_key` -- whether a ``Sec-WebSocket-Key`` is the canonical
  base64 of exactly 16 bytes (RFC 6455 section 4.2.1, item 5).

Keys are ``str`` (ASCII) or bytes-like objects. ``fastws_c.accept`` is the
compiled twin with the same API.
"""

from __future__ import annotations

import hashlib
import os
import re
from binascii import b2a_base64
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing_extensions import Buffer

__all__ = ["GUID", "accept_key", "generate_key", "is_valid_key"]

#: The globally unique identifier of RFC 6455 section 1.3, appended to the key.
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

_GUID_BYTES = GUID.encode("ascii")
_sha1 = hashlib.sha1
_urandom = os.urandom

# 21 base64 characters, then one whose 4 low (padding) bits are zero -- values
# 0, 16, 32, 48 are "A", "Q", "g", "w" -- then "==" (RFC 4648 sections 3.5, 4).
_KEY_PATTERN = "[A-Za-z0-9+/]{21}[AQgw]=="
_match_key_str = re.compile(_KEY_PATTERN).fullmatch
_match_key_bytes = re.compile(_KEY_PATTERN.encode("ascii")).fullmatch


def _key_bytes(key: Buffer) -> bytes | bytearray:
    """The raw bytes of a non-``str`` key; TypeError if it is not bytes-like."""
    if type(key) is bytes or type(key) is bytearray:
        return key
    try:
        view = memoryview(key)
    except TypeError:
        raise TypeError("key must be str or bytes-like") from None
    with view:
        return view.tobytes()


def accept_key(key: str | Buffer) -> str:
    """The ``Sec-WebSocket-Accept`` value for a ``Sec-WebSocket-Key``.

    RFC 6455 section 4.2.2 (server step 5.4, and section 1.3): base64 of the
    SHA-1 digest of the key concatenated with :data:`GUID`. Works for a key of
    any length; the key is used as received, without validation.

    ``key`` is a ``str`` (must be ASCII, else ``ValueError("key must be ASCII")``)
    or a bytes-like object; anything else raises
    ``TypeError("key must be str or bytes-like")``.
    """
    data: bytes | bytearray
    if type(key) is str:
        if not key.isascii():
            raise ValueError("key must be ASCII")
        data = (key + GUID).encode()
    elif isinstance(key, str):  # a subclass: its own methods are not trusted
        try:
            data = str.encode(key, "ascii") + _GUID_BYTES
        except UnicodeEncodeError:
            raise ValueError("key must be ASCII") from None
    else:
        data = _key_bytes(key) + _GUID_BYTES
    return b2a_base64(_sha1(data).digest(), newline=False).decode()


def generate_key() -> str:
    """A fresh ``Sec-WebSocket-Key`` for a client handshake.

    RFC 6455 section 4.1 (client requirement 7): the base64 of a 16-byte
    nonce selected randomly for each connection, here from ``os.urandom``
    (the operating system's CSPRNG). Always 24 characters ending in ``==``.
    """
    return b2a_base64(_urandom(16), newline=False).decode("ascii")


def is_valid_key(key: str | Buffer) -> bool:
    """Whether ``key`` is an acceptable ``Sec-WebSocket-Key`` value.

    RFC 6455 section 4.2.1 (item 5) and section 4.1: the value must be a
    base64-encoded 16-byte nonce. True iff ``key`` is exactly 24 characters:
    22 from ``A-Za-z0-9+/`` whose last one has its 4 padding bits zero
    (canonical encoding, RFC 4648 section 3.5), then ``==``. A non-ASCII
    ``str`` is simply not valid; a type other than ``str`` or bytes-like
    raises ``TypeError("key must be str or bytes-like")``.
    """
    if isinstance(key, str):
        return _match_key_str(key) is not None
    return _match_key_bytes(_key_bytes(key)) is not None
