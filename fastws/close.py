"""Close frame payloads (RFC 6455 sections 5.5.1 and 7.4), pure Python.

RFC 6455 5.5.1: the payload of a Close frame is empty, or a 2-byte status
code (network byte order) followed by a UTF-8 reason; so a 1-byte payload is
malformed, and with the 125-byte limit of control frames (5.5) the reason is
at most 123 bytes.  RFC 6455 7.4.1/7.4.2 and the IANA registry say which
codes may appear on the wire: 1000-1003 and 1007-1014 (registered), and
3000-4999 (libraries/frameworks and private use).  1004 is reserved, and
1005, 1006 and 1015 are for reporting only -- they MUST NOT be sent.

* :func:`is_valid_close_code` -- may this code appear in a Close frame?
* :func:`parse_close` -- decode a received payload (``b""`` -> ``(1005, "")``,
  1005 being "no status received").
* :func:`build_close` -- encode a payload to send.
* :class:`CloseCode` -- the registered codes as an ``IntEnum``.

:mod:`fastws_c.close` is the compiled twin (same names, results, messages).
"""

from __future__ import annotations

from enum import IntEnum
from operator import index as _index
from typing import TYPE_CHECKING

from .exceptions import ProtocolError

if TYPE_CHECKING:
    from typing_extensions import Buffer

__all__ = ["CloseCode", "is_valid_close_code", "parse_close", "build_close"]

_MAX_REASON = 123


class CloseCode(IntEnum):
    """The close codes registered by RFC 6455 7.4.1 and the IANA registry."""

    NORMAL_CLOSURE = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    NO_STATUS_RCVD = 1005
    ABNORMAL_CLOSURE = 1006
    INVALID_PAYLOAD = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    MANDATORY_EXTENSION = 1010
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012
    TRY_AGAIN_LATER = 1013
    BAD_GATEWAY = 1014
    TLS_HANDSHAKE = 1015


def _valid(code: int) -> bool:
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999


def is_valid_close_code(code: int) -> bool:
    """True iff ``code`` may be sent in a Close frame (RFC 6455 7.4).

    Valid: 1000-1003, 1007-1014, 3000-4999.  Invalid: below 1000, 1004
    (reserved), 1005/1006/1015 (reporting only, never on the wire),
    1016-2999 (unassigned / reserved for future RFCs) and 5000 and up.
    ``code`` may be any object with ``__index__`` (``TypeError`` otherwise).
    """
    return _valid(code if type(code) is int else _index(code))


def parse_close(payload: Buffer) -> tuple[int, str]:
    """Decode a Close frame payload into ``(code, reason)`` (RFC 6455 5.5.1).

    ``b""`` gives ``(1005, "")`` (no status code present, 7.1.5).  Raises
    ``ProtocolError`` with close code 1002 for a 1-byte payload
    (``"close frame payload of 1 byte"``) or a code that is not valid on the
    wire (``"invalid close code N"``), and with 1007 for a reason that is not
    valid UTF-8 (``"close reason is not valid UTF-8"``; 8.1).
    ``TypeError("payload must be a contiguous bytes-like object")``.
    """
    if type(payload) is bytes:
        data = payload
    else:
        try:
            view = memoryview(payload)
        except (TypeError, BufferError):
            raise TypeError("payload must be a contiguous bytes-like object") from None
        if not view.c_contiguous:
            raise TypeError("payload must be a contiguous bytes-like object")
        data = view.tobytes()
    n = len(data)
    if n == 0:
        return (1005, "")
    if n == 1:
        raise ProtocolError("close frame payload of 1 byte", 1002)
    code = (data[0] << 8) | data[1]
    if not _valid(code):
        raise ProtocolError(f"invalid close code {code}", 1002)
    try:
        reason = data[2:].decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError("close reason is not valid UTF-8", 1007) from None
    return (code, reason)


def build_close(code: int | None = None, reason: str = "") -> bytes:
    """Encode a Close frame payload (RFC 6455 5.5.1).

    ``code=None`` gives the empty payload (then ``reason`` must be empty).
    Raises, in this order: ``TypeError("reason must be str")``,
    ``ValueError("a close reason requires a close code")``,
    ``ValueError("close code N cannot be sent")`` for a code outside
    :func:`is_valid_close_code`, ``UnicodeEncodeError`` for a reason with lone
    surrogates, ``ValueError("close reason of N bytes exceeds 123 bytes")``
    (control frame payloads are limited to 125 bytes, 5.5).
    """
    if not isinstance(reason, str):
        raise TypeError("reason must be str")
    if code is None:
        if reason:
            raise ValueError("a close reason requires a close code")
        return b""
    number = code if type(code) is int else _index(code)
    if not _valid(number):
        raise ValueError(f"close code {number} cannot be sent")
    data = reason.encode("utf-8")
    if len(data) > _MAX_REASON:
        raise ValueError(f"close reason of {len(data)} bytes exceeds {_MAX_REASON} bytes")
    return bytes((number >> 8, number & 0xFF)) + data
