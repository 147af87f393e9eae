"""Echo server: picows (its callback API, ``ws_create_server`` + ``WSListener``).

    python bench/e2e/server_picows.py --loop uvloop --port 0 [--tls CERT KEY] [--compression]

picows' core has no permessage-deflate: with ``--compression`` this serves
picows' websockets-compatible asyncio layer (``picows.websockets``, compiled,
``compression="deflate"``) instead, reported as ``picows.websockets``.
"""

from __future__ import annotations

from typing import Any

from _common import MAX_SIZE, parse_args, run, serve_until_stopped, server_ssl


def main() -> None:
    args = parse_args(__doc__ or "")
    if args.compression:
        run(lambda: serve_until_stopped(lambda: start_compat(args)), args.loop)
    else:
        run(lambda: serve_until_stopped(lambda: start_core(args)), args.loop)


async def start_core(args: Any) -> Any:
    from picows import WSListener, WSMsgType, ws_create_server

    close = WSMsgType.CLOSE

    class Echo(WSListener):  # type: ignore[misc]
        def on_ws_frame(self, transport: Any, frame: Any) -> None:
            msg_type = frame.msg_type
            if msg_type is close:
                transport.send_close(frame.get_close_code(), frame.get_close_message())
                transport.disconnect()
            elif msg_type < 3:  # CONTINUATION, TEXT, BINARY: echo frame by frame
                transport.send(msg_type, frame.get_payload_as_memoryview(), frame.fin)

    server = await ws_create_server(
        lambda request: Echo(),
        args.host,
        args.port,
        ssl=server_ssl(args.tls),
        max_frame_size=MAX_SIZE,
    )

    async def stop() -> None:
        server.close()
        await server.wait_closed()

    return server.sockets[0].getsockname()[1], stop


async def start_compat(args: Any) -> Any:
    from picows.websockets.asyncio.server import serve

    async def echo(ws: Any) -> None:
        async for message in ws:
            await ws.send(message)

    server = await serve(
        echo,
        args.host,
        args.port,
        ssl=server_ssl(args.tls),
        compression="deflate",
        max_size=MAX_SIZE,
    )

    async def stop() -> None:
        server.close()
        await server.wait_closed()

    return server.sockets[0].getsockname()[1], stop


if __name__ == "__main__":
    main()
