"""Echo server: aiohttp (``web.WebSocketResponse`` in an ``aiohttp.web`` app).

    python bench/e2e/server_aiohttp.py --loop uvloop --port 0 [--tls CERT KEY] [--compression]
"""

from __future__ import annotations

from typing import Any

from _common import MAX_SIZE, parse_args, run, serve_until_stopped, server_ssl


def main() -> None:
    args = parse_args(__doc__ or "")
    from aiohttp import WSMsgType, web

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=args.compression, max_msg_size=MAX_SIZE)
        await ws.prepare(request)
        async for msg in ws:
            if msg.type is WSMsgType.BINARY:
                await ws.send_bytes(msg.data)
            elif msg.type is WSMsgType.TEXT:
                await ws.send_str(msg.data)
        return ws

    async def start() -> Any:
        app = web.Application()
        app.router.add_get("/", handler)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, args.host, args.port, ssl_context=server_ssl(args.tls))
        await site.start()
        port = runner.addresses[0][1]

        async def stop() -> None:
            await runner.cleanup()

        return port, stop

    run(lambda: serve_until_stopped(start), args.loop)


if __name__ == "__main__":
    main()
