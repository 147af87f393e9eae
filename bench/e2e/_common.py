"""What every end-to-end server script shares: the CLI, the loop, TLS, the port.

Every server is its own process::

    python bench/e2e/server_<impl>.py --loop asyncio|uvloop --port 0 [--tls CERT KEY]
                                      [--compression] [--cpu N]

It binds 127.0.0.1 (port 0: the kernel picks one), prints the port on a line
of its own on stdout as soon as it accepts connections, and serves until
SIGTERM or SIGINT. Messages up to 64 MiB are accepted by every server (the
2 MiB modes exceed some libraries' defaults); keepalive pings are left at each
library's default (they never fire within a run).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import ssl
import sys
from collections.abc import Awaitable, Coroutine
from typing import Any, Callable

HOST = "127.0.0.1"
MAX_SIZE = 64 * 1024 * 1024


def parse_args(description: str, extra: Callable[[argparse.ArgumentParser], None] | None = None
               ) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    parser.add_argument("--host", default=HOST)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"), default=None)
    parser.add_argument("--compression", action="store_true",
                        help="accept permessage-deflate (off by default)")
    parser.add_argument("--cpu", type=int, default=None, help="pin the process to this CPU")
    if extra is not None:
        extra(parser)
    args = parser.parse_args()
    if args.cpu is not None:
        pin(args.cpu)
    return args


def pin(cpu: int) -> None:
    """Pin this process to ``cpu`` when the machine has it (Linux only)."""
    if hasattr(os, "sched_setaffinity") and cpu in os.sched_getaffinity(0) | set(
        range(os.cpu_count() or 1)
    ):
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, {cpu})


def server_ssl(tls: list[str] | None) -> ssl.SSLContext | None:
    if not tls:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls[0], tls[1])
    return context


def client_ssl(ca: str | None) -> ssl.SSLContext | None:
    if not ca:
        return None
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
    return context


def run(main: Callable[[], Coroutine[Any, Any, None]], loop: str) -> None:
    """Run ``main()`` on the stock asyncio loop or on uvloop."""
    if loop == "uvloop":
        import uvloop

        factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    else:
        factory = asyncio.new_event_loop
    loop_ = factory()
    asyncio.set_event_loop(loop_)
    try:
        loop_.run_until_complete(main())
    finally:
        try:
            loop_.run_until_complete(loop_.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop_.close()


def announce(port: int) -> None:
    """Tell the driver the port (one line on stdout)."""
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()


def stop_event() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT."""
    event = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, event.set)
    return event


Stopper = Callable[[], Awaitable[None]]


async def serve_until_stopped(start: Callable[[], Awaitable[tuple[int, Stopper]]]) -> None:
    """``start()`` returns (port, stop coroutine factory); announce, wait, stop."""
    stop = stop_event()
    port, shutdown = await start()
    announce(port)
    await stop.wait()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(shutdown(), 5)


# ----------------------------------------------------------------- the modes


class Mode:
    """One benchmark mode: what each connection sends, how many at once."""

    __slots__ = ("key", "label", "size", "inflight", "conns", "text", "compress", "unit")

    def __init__(self, key: str, label: str, size: int, *, inflight: int = 1, conns: int = 1,
                 text: bool = False, compress: bool = False, unit: str = "rt/s") -> None:
        self.key = key
        self.label = label
        self.size = size
        self.inflight = inflight
        self.conns = conns
        self.text = text
        self.compress = compress
        self.unit = unit


KiB = 1024
MiB = 1024 * 1024

MODES: dict[str, Mode] = {
    m.key: m
    for m in (
        Mode("rt32", "32 B round trips", 32),
        Mode("rt256", "256 B round trips", 256),
        Mode("8k-1", "8 KiB, 1 in flight", 8 * KiB, unit="MB/s"),
        Mode("8k-8", "8 KiB, 8 in flight", 8 * KiB, inflight=8, unit="MB/s"),
        Mode("64k-1", "64 KiB, 1 in flight", 64 * KiB, unit="MB/s"),
        Mode("64k-8", "64 KiB, 8 in flight", 64 * KiB, inflight=8, unit="MB/s"),
        Mode("2m-1", "2 MiB, 1 in flight", 2 * MiB, unit="MB/s"),
        Mode("2m-8", "2 MiB, 8 in flight", 2 * MiB, inflight=8, unit="MB/s"),
        Mode("c100", "100 conns, 256 B round trips", 256, conns=100),
        Mode("deflate", "deflate, ~1.5 KB JSON text round trips", 0, text=True, compress=True),
    )
}


def payloads(mode: Mode) -> list[bytes]:
    """What a connection sends in ``mode``, cycled: random bytes, or for the
    compressed mode 32 different JSON documents of ~1.5 KB (text-heavy, as
    an API would send: repeated keys, varying values)."""
    import random

    rng = random.Random(6455)
    if not mode.text:
        return [rng.randbytes(mode.size) for _ in range(4)]
    import json

    words = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
             "india", "juliet", "kilo", "lima", "mike", "november", "oscar", "papa")
    out = []
    for i in range(32):
        records = [
            {
                "id": rng.randrange(10**9),
                "user": f"user_{rng.randrange(100000)}",
                "event": rng.choice(("price_update", "trade", "quote", "heartbeat")),
                "symbol": "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4)),
                "price": round(rng.uniform(1, 1000), 2),
                "size": rng.randrange(1, 5000),
                "tags": [rng.choice(words) for _ in range(3)],
                "ts": f"2024-05-{1 + i % 28:02d}T12:{rng.randrange(60):02d}:"
                      f"{rng.randrange(60):02d}.{rng.randrange(1000):03d}Z",
            }
            for _ in range(8)
        ]
        out.append(json.dumps({"seq": i, "channel": "market-data", "data": records}).encode())
    return out


async def _echo(ws: Any) -> None:
    async for message in ws:
        await ws.send(message)


def server_script(impl: str) -> tuple[str, list[str]]:
    """The script serving ``impl`` and its extra arguments: ``fastws.listener``
    is ``server_fastws.py --api listener``, ``uvicorn+X`` is
    ``server_uvicorn.py --ws X``, any other ``impl`` is ``server_<impl>.py``."""
    if impl == "fastws.listener":
        return "server_fastws.py", ["--api", "listener"]
    if impl.startswith("uvicorn+"):  # uvicorn+fastws, uvicorn+default, uvicorn+wsproto
        return "server_uvicorn.py", ["--ws", impl.partition("+")[2]]
    return f"server_{impl}.py", []


def run_websockets_style_server(serve: Callable[..., Any], args: argparse.Namespace,
                                handler: Any = _echo, **options: Any) -> None:
    """An echo server for a library whose ``serve(handler, host, port, ...)``
    follows websockets' asyncio API (fastws and websockets both do): the same
    handler and options for both, so only the library differs. ``handler``
    is what ``serve`` takes first: fastws' ``listen`` takes a listener
    factory there instead of a coroutine function. ``options`` go to ``serve``."""

    async def start() -> tuple[int, Stopper]:
        server = await serve(
            handler,
            args.host,
            args.port,
            ssl=server_ssl(args.tls),
            compression="deflate" if args.compression else None,
            max_size=MAX_SIZE,
            **options,
        )

        async def stop() -> None:
            server.close()
            await server.wait_closed()

        return server.sockets[0].getsockname()[1], stop

    run(lambda: serve_until_stopped(start), args.loop)
