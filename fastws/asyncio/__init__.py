"""fastws on asyncio: :func:`connect` (client) and :func:`serve` (server).

Option and method names follow ``websockets.asyncio`` wherever the concept
is the same, so moving from websockets is mostly a change of import::

    from fastws.asyncio import connect, serve

Both run unchanged on uvloop. See :mod:`fastws.asyncio.connection` for the
connection (``send``, ``recv``, ``async for``, ``ping``, ``close``) and the
design of its receive and send paths, and :mod:`fastws.asyncio.listener` for
the callback API (:func:`listen`, ``connect(uri, listener=...)``): no task
wake-up per message, the fastest way to use fastws.
"""

from __future__ import annotations

from fastws.exceptions import (
    ConcurrencyError,
    ConnectionClosed,
    ConnectionClosedError,
    ConnectionClosedOK,
    InvalidHandshake,
    InvalidURI,
    ProxyError,
)
from fastws.protocol import State
from fastws.server import Reject

from .client import USER_AGENT, ClientConnection, connect, unix_connect
from .connection import Connection, Data, DataLike
from .listener import Listener
from .server import SERVER, Server, ServerConnection, listen, serve, unix_listen, unix_serve

__all__ = [
    "connect",
    "unix_connect",
    "serve",
    "unix_serve",
    "listen",
    "unix_listen",
    "Listener",
    "Server",
    "Connection",
    "ClientConnection",
    "ServerConnection",
    "Reject",
    "State",
    "Data",
    "DataLike",
    "USER_AGENT",
    "SERVER",
    "ConnectionClosed",
    "ConnectionClosedOK",
    "ConnectionClosedError",
    "ConcurrencyError",
    "InvalidHandshake",
    "InvalidURI",
    "ProxyError",
]
