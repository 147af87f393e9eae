"""Echo server: uvicorn with an ASGI echo app, on a chosen WebSocket implementation.

    python bench/e2e/server_uvicorn.py --ws fastws|default|wsproto --loop uvloop --port 0
                                       [--tls CERT KEY] [--compression]

``--ws fastws`` is ``fastws.uvicorn:FastWSProtocol``; ``default`` is what
uvicorn's ``--ws auto`` picks (``websockets-sansio`` when websockets is
installed); ``wsproto`` is uvicorn's wsproto implementation. The HTTP
protocol is uvicorn's default (httptools when installed). The socket is bound
here (port 0: the kernel picks) and handed to uvicorn, so the port is known
before uvicorn starts; uvicorn handles SIGTERM/SIGINT itself.
"""

from __future__ import annotations

import socket
from typing import Any

from _common import MAX_SIZE, announce, parse_args

WS = {
    "fastws": "fastws.uvicorn:FastWSProtocol",
    "default": "auto",
    "wsproto": "wsproto",
}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The ASGI echo app: accept, then send back every message as received."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "websocket":
        return
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] != "websocket.receive":
            return
        data = message.get("bytes")
        if data is not None:
            await send({"type": "websocket.send", "bytes": data})
        else:
            await send({"type": "websocket.send", "text": message["text"]})


def main() -> None:
    args = parse_args(
        __doc__ or "",
        lambda p: p.add_argument("--ws", choices=sorted(WS), default="fastws"),
    )
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(1024)
    sock.set_inheritable(True)
    config = uvicorn.Config(
        app,
        loop=args.loop,
        ws=WS[args.ws],
        ws_max_size=MAX_SIZE,
        ws_per_message_deflate=bool(args.compression),
        lifespan="off",
        log_level="warning",
        access_log=False,
        ssl_certfile=args.tls[0] if args.tls else None,
        ssl_keyfile=args.tls[1] if args.tls else None,
    )
    server = uvicorn.Server(config)
    announce(sock.getsockname()[1])
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
