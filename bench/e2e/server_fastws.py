"""Echo server: fastws, with its await API or its callback API.

    python bench/e2e/server_fastws.py --loop uvloop --port 0 [--tls CERT KEY] [--compression]
                                      [--api await|listener]

``--api await`` (the default, reported as ``fastws``): ``fastws.asyncio.serve``
with the websockets-style handler (``async for message in ws: await
ws.send(message)``). ``--api listener`` (reported as ``fastws.listener``):
``fastws.asyncio.listen`` with a ``Listener`` whose ``on_message`` echoes
each message with ``ws.send_nowait``, on aiofastnet's compiled transports
(``use_aiofastnet=True``), as picows runs by default: the callback APIs of
both libraries are compared on the same transports. Otherwise the same
options for both.
"""

from __future__ import annotations

import argparse
from typing import Any

from _common import parse_args, run_websockets_style_server


def _api_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--api", choices=("await", "listener"), default="await",
                        help="serve() with an async handler, or listen() with a Listener")


def main() -> None:
    args = parse_args(__doc__ or "", _api_option)
    if args.api == "listener":
        from fastws.asyncio import Listener, listen

        class Echo(Listener):
            def on_message(self, ws: Any, message: Any) -> None:
                ws.send_nowait(message)

        run_websockets_style_server(listen, args, Echo, use_aiofastnet=True)
    else:
        from fastws.asyncio import serve

        run_websockets_style_server(serve, args)


if __name__ == "__main__":
    main()
