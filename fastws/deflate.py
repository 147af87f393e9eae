"""RFC 7692 permessage-deflate: negotiation and the per-connection codec.

Pure Python over the stdlib :mod:`zlib` (which is C already), so the same
module serves both backends. The protocol state machine owns the framing: it
sets RSV1 on the first frame of a compressed message (RFC 7692 §6), rejects
RSV1 when the extension was not negotiated, fragments messages and limits the
size of uncompressed messages. This module does the rest:

* :func:`client_offer` / :func:`client_accept` -- the client side of the
  negotiation (RFC 7692 §5, §7.1);
* :func:`server_accept` -- the server side: picks the first acceptable offer;
* :class:`PerMessageDeflate` -- the negotiated codec (RFC 7692 §7.2), one per
  connection and role.

Parameter syntax (RFC 7692 §7.1, §5.1, §5.2)
---------------------------------------------
Exactly the four parameters of §7.1 are known; names are compared exactly
(they are lower-case tokens). A negotiation offer or response is invalid when
it holds an unknown parameter, the same parameter twice, a value on
``server_no_context_takeover`` / ``client_no_context_takeover``, no value on
``server_max_window_bits`` (or on ``client_max_window_bits`` in a response),
or a window-bits value that is not one of the strings ``"8"`` .. ``"15"``.
§7.1.2.1 / §7.1.2.2 define the value as a "decimal integer value without
leading zeroes between 8 to 15", so ``"09"``, ``"010"``, ``"+9"``, ``" 9"``,
``"9.0"`` and non-ASCII digits are all rejected. A value sent as an HTTP
quoted-string arrives here already unquoted (``fastws.http.parse_extensions``
unescapes it); RFC 6455 §9.1 allows that form as long as the unescaped value
is a valid token, so ``server_max_window_bits="10"`` is judged as ``10``.
An invalid response fails the client with close code 1010 (RFC 7692 §5.2,
RFC 6455 §7.4.1); an invalid offer is simply declined by the server (§5.1).

LZ77 window of 8 bits (RFC 7692 §7.1.2)
---------------------------------------
zlib cannot be asked for a 256-byte window on a raw DEFLATE stream: since
zlib 1.2.9 (the installed one is 1.2.13) ``deflateInit2`` rejects
``windowBits=-8`` ("Invalid initialization option"); older versions silently
used 9 instead. (zlib's deflate happens to keep match distances within
``w_size - 262`` = 250 bytes for a 9-bit window, which would fit, but that is
an internal detail -- ``MAX_DIST`` in deflate.h -- not a promise of its API,
and other builds such as zlib-ng need not keep it.) Rather than declining, a
compressor limited to 8 bits is built with a 9-bit zlib window and the
``Z_RLE`` strategy: run-length matching emits matches of distance 1 only, so
the stream provably never refers back more than one byte and honours every
window limit (§7.1.2.1/§7.1.2.2 constrain only how far the *sender* refers
back). It compresses runs and Huffman-codes literals: less than full LZ77,
better than no compression. On the receiving side zlib's inflate does accept
a raw 8-bit window, so every agreed window, 8 included, is decoded with
exactly its size: the decompressor's memory follows the agreement, and a peer
referring back further than agreed into an earlier fragment or message gets a
1007 (within one fragment zlib does not check the distance against the
window, so violations are not caught systematically).

Decompression (RFC 7692 §7.2.2)
-------------------------------
The ``00 00 ff ff`` tail is appended after the final fragment, unless the
message carried no compressed bytes at all: an empty payload (which a
conforming sender replaces by ``00``, §7.2.3.6) decodes to ``b""`` without
disturbing the window. A block with BFINAL set (§7.2.1, §7.2.3.4) ends zlib's
stream; what follows it, in the same or a later message, is decoded by a
fresh decompressor. The history before such a block is therefore not carried
over: a peer that refers back across a BFINAL block gets a 1007 rather than
wrong data. (Compressors that emit BFINAL blocks, e.g. ones that finish the
stream per message, start afresh after it anyway; keeping the history would
cost a copy of the window per message for every connection.)

Memory
------
A compressor costs about ``(1 << (window_bits + 2)) + (1 << (mem_level + 9))``
bytes plus ~6 KiB of zlib state; a decompressor ``(1 << window_bits)`` plus
~7 KiB (measured with tracemalloc on zlib 1.2.13). Both are created lazily, on
the first message in their direction, so a connection that never sends (or
never receives) compressed messages pays nothing for that direction; the
decompressor is dropped after each message when the peer has no context
takeover. See :class:`DeflateOptions` for the defaults.
"""

from __future__ import annotations

import sys
import zlib
from dataclasses import dataclass
from typing import Optional, Union

from .exceptions import ProtocolError

__all__ = [
    "EXTENSION_NAME",
    "DeflateOptions",
    "PerMessageDeflate",
    "client_accept",
    "client_offer",
    "server_accept",
]

EXTENSION_NAME = "permessage-deflate"

_SERVER_NO_CONTEXT_TAKEOVER = "server_no_context_takeover"
_CLIENT_NO_CONTEXT_TAKEOVER = "client_no_context_takeover"
_SERVER_MAX_WINDOW_BITS = "server_max_window_bits"
_CLIENT_MAX_WINDOW_BITS = "client_max_window_bits"

# The only spellings of a window size allowed by RFC 7692 §7.1.2: 1*DIGIT,
# no leading zeroes, 8..15.
_WINDOW_BITS = {str(bits): bits for bits in range(8, 16)}

# RFC 7692 §7.2.1/§7.2.2: the empty stored block a sync flush ends with; the
# sender strips it and the receiver appends it again.
_TAIL = b"\x00\x00\xff\xff"
# RFC 7692 §7.2.3.6: one stored-block header byte, the minimal payload of an
# empty message (with the tail appended it is an empty stored block).
_EMPTY_PAYLOAD = b"\x00"
# Final fragments up to this size are joined with the tail (one zlib call);
# larger ones get a second call instead of a copy.
_JOIN_LIMIT = 4096

_MAX_LENGTH = sys.maxsize - 1  # zlib's max_length is a Py_ssize_t

_DEFAULT_COMPRESS_LEVEL = 1
_DEFAULT_MEM_LEVEL = 5
_DEFAULT_MIN_SIZE = 64

_Params = list[tuple[str, Optional[str]]]
# What compress() and decompress() take: any contiguous bytes-like object.
_Buffer = Union[bytes, bytearray, memoryview]


def _check_bool(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool")


def _check_int(name: str, value: object, low: int, high: int | None) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int")
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ValueError(f"{name} must be {bound}")


def _check_window_bits(name: str, value: object) -> None:
    if value is not None:
        _check_int(name, value, 8, 15)


@dataclass(frozen=True)
class DeflateOptions:
    """What the application configures for permessage-deflate, in either role.

    The four RFC 7692 §7.1 parameters mean, for a **client**:

    * ``server_no_context_takeover`` -- ask the server to reset its compressor
      after every message (§7.1.1.1); the response must confirm it.
    * ``client_no_context_takeover`` -- we reset our compressor after every
      message and say so in the offer (§7.1.1.2).
    * ``server_max_window_bits`` -- ask the server to use at most this window
      (§7.1.2.1); the response must carry a value no larger.
    * ``client_max_window_bits`` -- our compressor uses at most this window; it
      is offered as a hint (§7.1.2.2). With ``None`` the parameter is offered
      without a value, so the server may still limit our window.

    and for a **server**:

    * ``server_no_context_takeover`` -- reset our compressor after every
      message, and tell the client so even if it did not ask (§7.1.1.1).
    * ``client_no_context_takeover`` -- require the client to reset its
      compressor after every message (§7.1.1.2), so our decompressor can be
      released between messages.
    * ``server_max_window_bits`` -- our compressor uses at most this window; it
      is announced in every response (§7.1.2.1 allows that unasked), lowered
      further when the client asks for less.
    * ``client_max_window_bits`` -- the largest window the client may use: sent
      in the response (or the client's smaller hint). A client whose offer
      lacks ``client_max_window_bits`` cannot be limited (§7.1.2.2 forbids the
      parameter in the response then), so such an offer is *declined* to keep
      the limit a guarantee. Leave it ``None`` to accept every client.

    A request not made by the options is still honoured when the peer makes it
    (a client's ``server_no_context_takeover`` / ``server_max_window_bits``, a
    server's ``client_no_context_takeover`` / ``client_max_window_bits``).
    Window sizes are 8..15 (``None`` = 15, the 32 KiB maximum); 8 is handled as
    described in the module docstring.

    The codec settings:

    * ``compress_level`` = 1 (zlib's ``Z_BEST_SPEED``, 0..9). On JSON messages
      of ~400 bytes with context takeover it sends ~29 % of the input where
      level 6 sends ~24 %, at about half the CPU time (a third on 80 KB
      texts); raise it when bandwidth matters more than CPU. Level does not
      change memory.
    * ``mem_level`` = 5 (1..9; zlib's default is 8): the hash table and the
      literal buffer take ``1 << (mem_level + 9)`` = 16 KiB instead of 128
      KiB, with a compression ratio within 1 % of mem_level 8 and no loss of
      speed on the same measurements.
    * ``min_size`` = 64 (bytes, >= 0): shorter messages are sent uncompressed
      (RSV1 clear; RFC 7692 §6 lets the sender choose per message). A message
      that small saves at most a few dozen bytes, less than the TCP/IP
      headers of its segment, for a zlib round trip per message.

    Memory per connection with these defaults and no window limit negotiated
    (15 bits both ways): compressor 128 + 16 + ~6 = ~150 KiB, decompressor
    32 + ~7 = ~39 KiB, each allocated on first use. With both window limits at
    12 (``server_max_window_bits=12, client_max_window_bits=12`` on a server):
    compressor ~38 KiB, decompressor ~11 KiB -- the sensible setting for a
    server holding many connections.

    ``__post_init__`` raises ``TypeError`` for a value of the wrong type and
    ``ValueError`` for one out of range.
    """

    server_no_context_takeover: bool = False
    client_no_context_takeover: bool = False
    server_max_window_bits: int | None = None
    client_max_window_bits: int | None = None
    compress_level: int = _DEFAULT_COMPRESS_LEVEL
    mem_level: int = _DEFAULT_MEM_LEVEL
    min_size: int = _DEFAULT_MIN_SIZE

    def __post_init__(self) -> None:
        _check_bool("server_no_context_takeover", self.server_no_context_takeover)
        _check_bool("client_no_context_takeover", self.client_no_context_takeover)
        _check_window_bits("server_max_window_bits", self.server_max_window_bits)
        _check_window_bits("client_max_window_bits", self.client_max_window_bits)
        _check_int("compress_level", self.compress_level, 0, 9)
        _check_int("mem_level", self.mem_level, 1, 9)
        _check_int("min_size", self.min_size, 0, None)


class _Invalid(Exception):
    """An offer or response that breaks RFC 7692 §7.1 (internal)."""


class _Parsed:
    """The four parameters of one offer or response, validated."""

    __slots__ = ("server_nct", "client_nct", "server_bits", "client_bits", "client_bits_present")

    def __init__(self) -> None:
        self.server_nct = False
        self.client_nct = False
        self.server_bits: int | None = None
        self.client_bits: int | None = None
        self.client_bits_present = False


def _window_value(name: str, value: str | None, *, optional: bool) -> int | None:
    if value is None:
        if optional:
            return None
        raise _Invalid(f"{name} requires a value")
    bits = _WINDOW_BITS.get(value) if isinstance(value, str) else None
    if bits is None:
        raise _Invalid(f"invalid {name} value {value!r} (must be 8 to 15)")
    return bits


def _parse(params: _Params, *, response: bool) -> _Parsed:
    """Validates the parameters of one offer (``response=False``) or response.

    RFC 7692 §7.1: unknown and duplicate parameters, values on the valueless
    ones and malformed window sizes are errors; ``client_max_window_bits`` may
    be valueless only in an offer (§7.1.2.2).
    """
    parsed = _Parsed()
    seen: set[str] = set()
    for name, value in params:
        if name in seen:
            raise _Invalid(f"duplicate parameter {name!r}")
        if name in (_SERVER_NO_CONTEXT_TAKEOVER, _CLIENT_NO_CONTEXT_TAKEOVER):
            if value is not None:
                raise _Invalid(f"{name} takes no value")
            if name == _SERVER_NO_CONTEXT_TAKEOVER:
                parsed.server_nct = True
            else:
                parsed.client_nct = True
        elif name == _SERVER_MAX_WINDOW_BITS:
            parsed.server_bits = _window_value(name, value, optional=False)
        elif name == _CLIENT_MAX_WINDOW_BITS:
            parsed.client_bits = _window_value(name, value, optional=not response)
            parsed.client_bits_present = True
        else:
            raise _Invalid(f"unknown parameter {name!r}")
        seen.add(name)
    return parsed


def client_offer(options: DeflateOptions) -> _Params:
    """The parameters of the permessage-deflate offer a client sends (RFC 7692 §5.1, §7.1).

    ``client_max_window_bits`` is always present -- with our limit as a value
    when configured, valueless otherwise -- so that the server may limit our
    window (§7.1.2.2).
    """
    params: _Params = []
    if options.server_no_context_takeover:
        params.append((_SERVER_NO_CONTEXT_TAKEOVER, None))
    if options.client_no_context_takeover:
        params.append((_CLIENT_NO_CONTEXT_TAKEOVER, None))
    if options.server_max_window_bits is not None:
        params.append((_SERVER_MAX_WINDOW_BITS, str(options.server_max_window_bits)))
    client_bits = options.client_max_window_bits
    params.append((_CLIENT_MAX_WINDOW_BITS, None if client_bits is None else str(client_bits)))
    return params


def client_accept(options: DeflateOptions, params: _Params) -> PerMessageDeflate:
    """Validates the server's response to :func:`client_offer` and returns the client codec.

    The client must fail the connection (RFC 7692 §5.2, §7.1) -- here
    ``ProtocolError(..., 1010)`` -- when the response has an unknown or
    duplicate parameter or an invalid value (see the module docstring), and
    when it does not honour the offer: ``server_no_context_takeover`` asked
    but not confirmed (§7.1.1.1: the server MUST include it), or
    ``server_max_window_bits`` asked but missing or larger than asked
    (§7.1.2.1). ``client_max_window_bits`` in the response is always allowed
    (we always offer it); our compressor uses the smaller of it and our own
    limit, since our offered value is a promise too (§7.1.2.2).
    ``client_no_context_takeover`` in the response makes us reset after every
    message (§7.1.1.2); ``server_max_window_bits`` sent unasked sizes our
    decompressor.
    """
    try:
        parsed = _parse(params, response=True)
    except _Invalid as exc:
        raise ProtocolError(f"invalid permessage-deflate response: {exc}", 1010) from None
    if options.server_no_context_takeover and not parsed.server_nct:
        raise ProtocolError(
            "invalid permessage-deflate response: server_no_context_takeover was requested "
            "but not confirmed",
            1010,
        )
    asked = options.server_max_window_bits
    if asked is not None:
        if parsed.server_bits is None:
            raise ProtocolError(
                "invalid permessage-deflate response: server_max_window_bits was requested "
                "but not confirmed",
                1010,
            )
        if parsed.server_bits > asked:
            raise ProtocolError(
                f"invalid permessage-deflate response: server_max_window_bits="
                f"{parsed.server_bits} exceeds the requested {asked}",
                1010,
            )
    client_bits = min(
        parsed.client_bits if parsed.client_bits is not None else 15,
        options.client_max_window_bits if options.client_max_window_bits is not None else 15,
    )
    return PerMessageDeflate(
        is_client=True,
        server_no_context_takeover=parsed.server_nct,
        client_no_context_takeover=parsed.client_nct or options.client_no_context_takeover,
        server_max_window_bits=parsed.server_bits if parsed.server_bits is not None else 15,
        client_max_window_bits=client_bits,
        compress_level=options.compress_level,
        mem_level=options.mem_level,
        min_size=options.min_size,
    )


def _server_response(
    options: DeflateOptions, offer: _Parsed
) -> tuple[_Params, PerMessageDeflate] | None:
    """The response to one valid offer, or None when the server declines it."""
    server_nct = offer.server_nct or options.server_no_context_takeover
    # §7.1.1.2: the client's hint is echoed, which binds it and lets our
    # decompressor be released between messages.
    client_nct = offer.client_nct or options.client_no_context_takeover

    # §7.1.2.1: the client's limit is honoured; ours is announced even unasked.
    server_bits = offer.server_bits
    if options.server_max_window_bits is not None:
        server_bits = min(server_bits or 15, options.server_max_window_bits)

    # §7.1.2.2: the parameter may appear in the response only when offered.
    client_bits: int | None = None
    if offer.client_bits_present:
        limits = [b for b in (offer.client_bits, options.client_max_window_bits) if b is not None]
        if limits:
            client_bits = min(limits)
    elif options.client_max_window_bits is not None:
        return None  # the client's window cannot be limited: decline (see DeflateOptions)

    response: _Params = []
    if server_nct:
        response.append((_SERVER_NO_CONTEXT_TAKEOVER, None))
    if client_nct:
        response.append((_CLIENT_NO_CONTEXT_TAKEOVER, None))
    if server_bits is not None:
        response.append((_SERVER_MAX_WINDOW_BITS, str(server_bits)))
    if client_bits is not None:
        response.append((_CLIENT_MAX_WINDOW_BITS, str(client_bits)))
    codec = PerMessageDeflate(
        is_client=False,
        server_no_context_takeover=server_nct,
        client_no_context_takeover=client_nct,
        server_max_window_bits=server_bits if server_bits is not None else 15,
        client_max_window_bits=client_bits if client_bits is not None else 15,
        compress_level=options.compress_level,
        mem_level=options.mem_level,
        min_size=options.min_size,
    )
    return response, codec


def server_accept(
    options: DeflateOptions, offers: list[_Params]
) -> tuple[_Params, PerMessageDeflate] | None:
    """Picks the first acceptable permessage-deflate offer (RFC 7692 §5.1, §7.1).

    ``offers`` are the parameter lists of every permessage-deflate offer in the
    client's ``Sec-WebSocket-Extensions``, in order. Returns the response
    parameters and the server codec, or None when no offer is acceptable. An
    invalid offer (see the module docstring) is declined, never raised; a valid
    one is declined only when ``options.client_max_window_bits`` is set and the
    offer has no ``client_max_window_bits`` (see :class:`DeflateOptions`).
    The client's requests are honoured: ``server_no_context_takeover`` is
    confirmed (§7.1.1.1), ``server_max_window_bits`` answered with the same or
    a smaller value (§7.1.2.1, a value of 8 included -- see the module
    docstring), ``client_no_context_takeover`` and a valued
    ``client_max_window_bits`` echoed (§7.1.1.2, §7.1.2.2).
    """
    for params in offers:
        try:
            parsed = _parse(params, response=False)
        except _Invalid:
            continue
        accepted = _server_response(options, parsed)
        if accepted is not None:
            return accepted
    return None


def _check_codec_bits(name: str, value: object) -> None:
    _check_int(name, value, 8, 15)


class PerMessageDeflate:
    """The negotiated permessage-deflate codec of one connection and role (RFC 7692 §7.2).

    Normally built by :func:`client_accept` / :func:`server_accept`. The agreed
    parameters are readable attributes: ``server_no_context_takeover``,
    ``client_no_context_takeover``, ``server_max_window_bits`` and
    ``client_max_window_bits`` (8..15; 15 when the parameter was absent), plus
    ``is_client``, ``compress_level``, ``mem_level``, ``min_size`` and the
    same seen from this side: ``local_no_context_takeover`` /
    ``local_max_window_bits`` (what our compressor obeys) and
    ``remote_no_context_takeover`` / ``remote_max_window_bits`` (what the peer's
    compressor obeys). Treat them as read-only.

    After a ``ProtocolError`` from :meth:`decompress` the codec's receiving
    state is undefined; the connection is failed anyway.
    """

    __slots__ = (
        "is_client",
        "server_no_context_takeover",
        "client_no_context_takeover",
        "server_max_window_bits",
        "client_max_window_bits",
        "compress_level",
        "mem_level",
        "min_size",
        "local_no_context_takeover",
        "remote_no_context_takeover",
        "local_max_window_bits",
        "remote_max_window_bits",
        "_compressor",
        "_flush_mode",
        "_decompressor",
        "_out",
        "_fed",
    )

    def __init__(
        self,
        *,
        is_client: bool,
        server_no_context_takeover: bool = False,
        client_no_context_takeover: bool = False,
        server_max_window_bits: int = 15,
        client_max_window_bits: int = 15,
        compress_level: int = _DEFAULT_COMPRESS_LEVEL,
        mem_level: int = _DEFAULT_MEM_LEVEL,
        min_size: int = _DEFAULT_MIN_SIZE,
    ) -> None:
        _check_bool("is_client", is_client)
        _check_bool("server_no_context_takeover", server_no_context_takeover)
        _check_bool("client_no_context_takeover", client_no_context_takeover)
        _check_codec_bits("server_max_window_bits", server_max_window_bits)
        _check_codec_bits("client_max_window_bits", client_max_window_bits)
        _check_int("compress_level", compress_level, 0, 9)
        _check_int("mem_level", mem_level, 1, 9)
        _check_int("min_size", min_size, 0, None)
        self.is_client = is_client
        self.server_no_context_takeover = server_no_context_takeover
        self.client_no_context_takeover = client_no_context_takeover
        self.server_max_window_bits = server_max_window_bits
        self.client_max_window_bits = client_max_window_bits
        self.compress_level = compress_level
        self.mem_level = mem_level
        self.min_size = min_size
        if is_client:
            self.local_no_context_takeover = client_no_context_takeover
            self.remote_no_context_takeover = server_no_context_takeover
            self.local_max_window_bits = client_max_window_bits
            self.remote_max_window_bits = server_max_window_bits
        else:
            self.local_no_context_takeover = server_no_context_takeover
            self.remote_no_context_takeover = client_no_context_takeover
            self.local_max_window_bits = server_max_window_bits
            self.remote_max_window_bits = client_max_window_bits
        self._compressor: zlib._Compress | None = None
        # Z_FULL_FLUSH ends with the same empty stored block as Z_SYNC_FLUSH
        # and also forgets the history, so later messages never refer to
        # earlier ones: no context takeover (§7.1.1) without reallocating.
        self._flush_mode = (
            zlib.Z_FULL_FLUSH if self.local_no_context_takeover else zlib.Z_SYNC_FLUSH
        )
        self._decompressor: zlib._Decompress | None = None
        self._out = 0  # bytes produced so far for the message being received
        self._fed = False  # the current inflater got bytes of this message

    def __repr__(self) -> str:
        return (
            f"PerMessageDeflate(is_client={self.is_client}, "
            f"server_no_context_takeover={self.server_no_context_takeover}, "
            f"client_no_context_takeover={self.client_no_context_takeover}, "
            f"server_max_window_bits={self.server_max_window_bits}, "
            f"client_max_window_bits={self.client_max_window_bits})"
        )

    def _new_compressor(self) -> zlib._Compress:
        bits = self.local_max_window_bits
        if bits == 8:
            # zlib rejects a raw 8-bit window; Z_RLE only refers back one
            # byte, which honours the 256-byte limit (module docstring).
            return zlib.compressobj(
                self.compress_level, zlib.DEFLATED, -9, self.mem_level, zlib.Z_RLE
            )
        return zlib.compressobj(self.compress_level, zlib.DEFLATED, -bits, self.mem_level)

    def compress(self, message: _Buffer) -> bytes:
        """Compresses one whole message payload (RFC 7692 §7.2.1).

        Returns the DEFLATE data with the trailing ``00 00 ff ff`` of the sync
        flush removed. An empty message becomes the single byte ``00``
        (§7.2.3.6). With context takeover the next message may refer to this
        one; without it (``local_no_context_takeover``) the compressor forgets
        the history after every message.
        """
        if not message:
            return _EMPTY_PAYLOAD
        compressor = self._compressor
        if compressor is None:
            compressor = self._compressor = self._new_compressor()
        data = compressor.compress(message)
        tail = compressor.flush(self._flush_mode)
        # zlib's sync/full flush always ends with the 4 bytes of an empty
        # stored block, emitted by the flush itself.
        return data + tail[:-4] if data else tail[:-4]

    def _inflate(self, data: _Buffer, limit: int, tail_added: bool, max_size: int) -> bytes:
        """Feeds ``data``, producing at most ``limit`` bytes; restarts after BFINAL."""
        decompressor = self._decompressor
        if decompressor is None:
            decompressor = self._decompressor = zlib.decompressobj(-self.remote_max_window_bits)
        try:
            # One byte more than allowed tells "too big" from "exactly full";
            # max_length=0 would mean unlimited, and limit + 1 >= 1.
            out = decompressor.decompress(data, limit + 1 if limit < _MAX_LENGTH else 0)
        except zlib.error as exc:
            reason = str(exc).rpartition(": ")[2]
            raise ProtocolError(f"invalid compressed data: {reason}", 1007) from None
        if len(out) > limit or decompressor.unconsumed_tail:
            raise ProtocolError(f"message exceeds {max_size} bytes after decompression", 1009)
        self._fed = True
        if decompressor.eof:
            # A block with BFINAL set ended this DEFLATE stream (RFC 7692
            # §7.2.3.4); whatever follows starts a new one. The history before
            # that block is not carried over: a peer referring back across it
            # gets a 1007.
            rest = decompressor.unused_data
            self._decompressor = None
            self._fed = False
            if rest and not (tail_added and rest == _TAIL):
                more = self._inflate(rest, limit - len(out), tail_added, max_size)
                if more:
                    out += more
        return out

    def decompress(self, fragment: _Buffer, final: bool, max_size: int) -> bytes:
        """Decompresses one frame payload of a compressed message (RFC 7692 §7.2.2).

        Call it for every frame of the message in order, ``final=True`` on the
        last one; the ``00 00 ff ff`` tail is appended internally then.
        Returns the bytes this fragment decompressed to. The total for the
        message never exceeds ``max_size``: zlib is asked for at most one byte
        more than what is left, so a tiny frame cannot expand into unbounded
        memory, and going past it raises ``ProtocolError("message exceeds N
        bytes after decompression", 1009)``. Corrupt data raises
        ``ProtocolError("invalid compressed data: ...", 1007)``.

        An empty compressed message (no bytes at all) decompresses to ``b""``
        without touching the LZ77 window. After the final fragment the
        decompressor is released when the peer has no context takeover.
        """
        if max_size < 0:
            raise ValueError("max_size must be at least 0")
        limit = max_size - self._out
        if limit < 0:
            raise ProtocolError(f"message exceeds {max_size} bytes after decompression", 1009)
        if not final:
            out = self._inflate(fragment, limit, False, max_size) if fragment else b""
            self._out += len(out)
            return out
        if fragment and len(fragment) <= _JOIN_LIMIT:
            joined = fragment + _TAIL if isinstance(fragment, bytes) else bytes(fragment) + _TAIL
            out = self._inflate(joined, limit, True, max_size)
        else:
            out = self._inflate(fragment, limit, False, max_size) if fragment else b""
            if self._fed:
                more = self._inflate(_TAIL, limit - len(out), True, max_size)
                if more:
                    out += more
        self._out = 0
        self._fed = False
        if self.remote_no_context_takeover:
            self._decompressor = None
        return out
