"""Echo server: websockets (its asyncio server, ``websockets.asyncio.server.serve``).

    python bench/e2e/server_websockets.py --loop uvloop --port 0 [--tls CERT KEY] [--compression]
"""

from __future__ import annotations

from _common import parse_args, run_websockets_style_server


def main() -> None:
    from websockets.asyncio.server import serve

    run_websockets_style_server(serve, parse_args(__doc__ or ""))


if __name__ == "__main__":
    main()
