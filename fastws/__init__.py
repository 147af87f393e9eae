"""fastws: a fast, correct WebSocket library (RFC 6455, RFC 7692).

The hot paths (masking, HTTP head parsing, the accept key, frame parsing and
building, UTF-8 validation) come from the compiled ``fastws_c`` package when
it is installed, and from the pure-Python modules of this package otherwise;
``fastws.backend`` says which (``"c"`` or ``"python"``). Set
``FASTWS_NO_EXTENSIONS=1`` before importing to force the pure backend.

Names other than the exceptions are resolved on first use (PEP 562), so that
``fastws_c``, which imports ``fastws.exceptions``, can never meet a
half-initialised ``fastws`` package.
"""

from __future__ import annotations

import importlib
from typing import Any

from . import exceptions as _exceptions
from .exceptions import *  # noqa: F403 - every public exception, documented there

__version__ = "0.1.0"

# public name -> (module, attribute); the kernels come from the chosen backend.
_LAZY: dict[str, tuple[str, str]] = {
    "backend": ("fastws._backend", "backend"),
    "apply_mask": ("fastws._backend", "KERNELS.mask.apply_mask"),
    "apply_mask_inplace": ("fastws._backend", "KERNELS.mask.apply_mask_inplace"),
    "accept_key": ("fastws._backend", "KERNELS.accept.accept_key"),
    "generate_key": ("fastws._backend", "KERNELS.accept.generate_key"),
    "is_valid_key": ("fastws._backend", "KERNELS.accept.is_valid_key"),
    "validate_utf8": ("fastws._backend", "KERNELS.utf8.validate"),
    # the sans-IO core
    "ClientConnection": ("fastws.client", "ClientConnection"),
    "ServerConnection": ("fastws.server", "ServerConnection"),
    "Reject": ("fastws.server", "Reject"),
    "State": ("fastws.protocol", "State"),
    "Event": ("fastws.events", "Event"),
    "Request": ("fastws.events", "Request"),
    "Response": ("fastws.events", "Response"),
    "Text": ("fastws.events", "Text"),
    "Binary": ("fastws.events", "Binary"),
    "Ping": ("fastws.events", "Ping"),
    "Pong": ("fastws.events", "Pong"),
    "Close": ("fastws.events", "Close"),
    "Closed": ("fastws.events", "Closed"),
    "DeflateOptions": ("fastws.deflate", "DeflateOptions"),
    "WebSocketURI": ("fastws.urls", "WebSocketURI"),
    "parse_uri": ("fastws.urls", "parse_uri"),
    "CloseCode": ("fastws.close", "CloseCode"),
    # asyncio client and server
    "connect": ("fastws.asyncio.client", "connect"),
    "unix_connect": ("fastws.asyncio.client", "unix_connect"),
    "serve": ("fastws.asyncio.server", "serve"),
    "unix_serve": ("fastws.asyncio.server", "unix_serve"),
    "listen": ("fastws.asyncio.server", "listen"),
    "unix_listen": ("fastws.asyncio.server", "unix_listen"),
    "Listener": ("fastws.asyncio.listener", "Listener"),
    "Server": ("fastws.asyncio.server", "Server"),
}

__all__ = [*_exceptions.__all__, "__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    try:
        module_name, path = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'fastws' has no attribute {name!r}") from None
    value: Any = importlib.import_module(module_name)
    for part in path.split("."):
        value = getattr(value, part)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
