"""Where transports come from: the event loop's, or aiofastnet's (optional).

fastws works with any asyncio transport. By default the running loop makes
them (asyncio's selector transports and its ``sslproto`` TLS layer, or
uvloop's). With ``use_aiofastnet=True`` (:func:`~fastws.asyncio.serve`,
:func:`~fastws.asyncio.listen`, :func:`~fastws.asyncio.connect`) they come
from `aiofastnet <https://github.com/aio-libs/aiofastnet>`_ (aio-libs,
``pip install fastws[aiofastnet]``): compiled socket and TLS transports for
the same loops, the ones picows uses by default. They matter most for TLS,
whose stock asyncio layer is pure Python (measured in ``bench/e2e``: about
a quarter less server CPU per TLS round trip). fastws's protocol does not
change; only the transport under it.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["network"]


class _Aiofastnet:
    """The loop's networking methods, served by aiofastnet."""

    def __init__(self, loop: asyncio.AbstractEventLoop, module: Any) -> None:
        self._loop = loop
        self._module = module

    async def create_connection(self, *args: Any, **kwargs: Any) -> Any:
        return await self._module.create_connection(self._loop, *args, **kwargs)

    async def create_unix_connection(self, *args: Any, **kwargs: Any) -> Any:
        return await self._module.create_unix_connection(self._loop, *args, **kwargs)

    async def create_server(self, *args: Any, **kwargs: Any) -> Any:
        return await self._module.create_server(self._loop, *args, **kwargs)

    async def create_unix_server(self, *args: Any, **kwargs: Any) -> Any:
        return await self._module.create_unix_server(self._loop, *args, **kwargs)

    async def start_tls(self, *args: Any, **kwargs: Any) -> Any:
        return await self._module.start_tls(self._loop, *args, **kwargs)


def network(use_aiofastnet: bool) -> Any:
    """What creates transports: the running loop, or aiofastnet over it.

    Raises :class:`ImportError` (with the ``pip`` line) when
    ``use_aiofastnet`` is true and aiofastnet is not installed."""
    loop = asyncio.get_running_loop()
    if not use_aiofastnet:
        return loop
    try:
        import aiofastnet
    except ImportError as exc:
        raise ImportError(
            "use_aiofastnet=True needs the aiofastnet package: pip install 'fastws[aiofastnet]'"
        ) from exc
    return _Aiofastnet(loop, aiofastnet)
