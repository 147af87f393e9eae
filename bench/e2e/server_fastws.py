"""Echo server: fastws (``fastws.asyncio.serve``), the websockets-style handler.

    python bench/e2e/server_fastws.py --loop uvloop --port 0 [--tls CERT KEY] [--compression]
"""

from __future__ import annotations

from typing import Any

from _common import MAX_SIZE, parse_args, run, serve_until_stopped, server_ssl


async def echo(ws: Any) -> None:
    async for message in ws:
        await ws.send(message)


def main() -> None:
    args = parse_args(__doc__ or "")
    from fastws.asyncio import serve

    async def start() -> Any:
        server = await serve(
            echo,
            args.host,
            args.port,
            ssl=server_ssl(args.tls),
            compression="deflate" if args.compression else None,
            max_size=MAX_SIZE,
        )

        async def stop() -> None:
            server.close()
            await server.wait_closed()

        return server.sockets[0].getsockname()[1], stop

    run(lambda: serve_until_stopped(start), args.loop)


if __name__ == "__main__":
    main()
