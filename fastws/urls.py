"""``ws://`` and ``wss://`` URIs (RFC 6455 §3).

:func:`parse_uri` splits a WebSocket URL into what a client needs: where to
connect (``host``, ``port``, ``secure``), the request target (``resource``:
path and query), the ``Host`` header value and the credentials of the
user-info part (sent as Basic authentication).
"""

from __future__ import annotations

import urllib.parse
from typing import NamedTuple

from fastws.exceptions import InvalidURI

__all__ = ["WebSocketURI", "parse_uri"]

# Printable ASCII except space: left as is in the request target; anything
# else (non-ASCII) is percent-encoded as UTF-8.
_SAFE = "".join(chr(c) for c in range(0x21, 0x7F))


class WebSocketURI(NamedTuple):
    """A parsed WebSocket URI."""

    secure: bool
    host: str  # without brackets for IPv6 literals; IDNA-encoded
    port: int
    resource: str  # path (at least "/") and "?query"
    user: str | None = None
    password: str | None = None

    @property
    def host_header(self) -> str:
        """The ``Host`` header value: IPv6 literals in brackets, the port only
        when it is not the default (80 for ws, 443 for wss) (RFC 6455 §4.1)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.port != (443 if self.secure else 80):
            host = f"{host}:{self.port}"
        return host


def parse_uri(url: str) -> WebSocketURI:
    """Parse a ``ws://`` or ``wss://`` URL (RFC 6455 §3); :class:`InvalidURI` otherwise.

    Fragments are rejected (§3: "Fragment identifiers are meaningless in the
    context of WebSocket URIs and MUST NOT be used"), so are whitespace and
    control characters. The scheme is case-insensitive.
    """
    if not isinstance(url, str):
        raise InvalidURI(f"{url!r} is not a string")
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        raise InvalidURI(f"{url!r} contains whitespace or control characters")
    try:
        split = urllib.parse.urlsplit(url)
        port_value = split.port
    except ValueError as exc:
        raise InvalidURI(f"{url!r} is not a valid URI: {exc}") from None
    scheme = split.scheme.lower()
    if scheme not in ("ws", "wss"):
        raise InvalidURI(f"{url!r} is not a WebSocket URI: the scheme must be ws or wss")
    if "#" in url:
        raise InvalidURI(f"{url!r} has a fragment, which WebSocket URIs must not have")
    secure = scheme == "wss"
    host = split.hostname
    if not host:
        raise InvalidURI(f"{url!r} has no host")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise InvalidURI(f"{url!r} has an invalid host name") from None
    port = port_value if port_value is not None else (443 if secure else 80)
    if port == 0:
        raise InvalidURI(f"{url!r} has port 0")
    path = urllib.parse.quote(split.path or "/", safe=_SAFE)
    if not path.startswith("/"):
        raise InvalidURI(f"{url!r} has a path that does not start with /")
    if split.query:
        path = f"{path}?{urllib.parse.quote(split.query, safe=_SAFE)}"
    user = password = None
    if split.username is not None:
        user = urllib.parse.unquote(split.username)
        password = urllib.parse.unquote(split.password or "")
    return WebSocketURI(secure, host, port, path, user, password)
