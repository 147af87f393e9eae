"""Memory per idle connection of an echo server process.

Method: the server runs in its own process (stock asyncio loop). A client
process (the websockets client, which offers permessage-deflate with
``client_max_window_bits`` so every server may accept it) opens ``WARM``
connections that each echo one message, and keeps them open; the driver
reads the server's anonymous resident memory (``RssAnon`` in
``/proc/PID/status``: the heap, not shared libraries). The client then opens
``N`` more connections, each echoing one ~1.5 KB JSON text message (so that
with compression both the compressor and the decompressor exist), and keeps
them open and idle; after a short settle the driver reads ``RssAnon``
again. Result: the difference divided by ``N``, in bytes. Kernel socket
buffers are not in the process's RSS and are not counted.

The client side of the measurement (``python memory.py --client URL N``)
talks to the driver with lines on stdin/stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from _common import MODES, payloads, server_script  # noqa: E402

WARM = 10
BATCH = 50
METHOD = ("server RssAnon delta after N more connections opened by a websockets client, "
          "each having echoed one ~1.5 KB JSON text message, stock asyncio loop")


def rss_anon(pid: int) -> int:
    """Anonymous resident memory of ``pid`` in bytes (VmRSS when unavailable)."""
    fallback = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
            if line.startswith("VmRSS:"):
                fallback = int(line.split()[1]) * 1024
    return fallback


def _settled_rss(pid: int) -> int:
    """RssAnon once it stopped moving (at most ~2 s)."""
    last = rss_anon(pid)
    for _ in range(10):
        time.sleep(0.2)
        now = rss_anon(pid)
        if now == last:
            return now
        last = now
    return last


def measure_one(impl: str, compression: bool, n: int, logdir: str, server_cpu: int | None,
                client_cpu: int | None, env: dict[str, str]) -> dict[str, Any]:
    script, extra = server_script(impl)
    argv = [sys.executable, os.path.join(HERE, script), "--loop", "asyncio", "--port", "0",
            *extra]
    if compression:
        argv.append("--compression")
    if server_cpu is not None:
        argv += ["--cpu", str(server_cpu)]
    log = open(os.path.join(logdir, f"memory-{impl}-{compression}.log"), "w")  # noqa: SIM115
    server = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, text=True, env=env)
    client = None
    try:
        assert server.stdout is not None
        port = server.stdout.readline().strip()
        if not port.isdigit():
            return {"error": "server did not start"}
        cargv = [sys.executable, os.path.abspath(__file__), "--client",
                 f"ws://127.0.0.1:{port}/", str(n)]
        if compression:
            cargv.append("--compression")
        if client_cpu is not None:
            cargv += ["--cpu", str(client_cpu)]
        client = subprocess.Popen(cargv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=log, text=True, env=env)
        assert client.stdin is not None and client.stdout is not None
        if client.stdout.readline().strip() != "warm":
            return {"error": "client failed during warm-up"}
        before = _settled_rss(server.pid)
        client.stdin.write("go\n")
        client.stdin.flush()
        line = client.stdout.readline().strip()
        if not line.startswith("open"):
            return {"error": f"client failed: {line!r}"}
        extensions = line.partition(" ")[2]
        after = _settled_rss(server.pid)
        client.stdin.write("done\n")
        client.stdin.flush()
        client.wait(30)
        return {"bytes": (after - before) / n, "before": before, "after": after, "n": n,
                "negotiated": extensions}
    finally:
        for proc in (client, server):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(8)
                except subprocess.TimeoutExpired:
                    proc.kill()
        log.close()


def measure_all(impls: list[str], n: int, logdir: str, server_cpu: int | None,
                client_cpu: int | None, env: dict[str, str]) -> dict[str, Any]:
    servers: dict[str, Any] = {}
    for impl in impls:
        row: dict[str, Any] = {}
        for compression in (False, True):
            key = "deflate" if compression else "plain"
            row[key] = measure_one(impl, compression, n, logdir, server_cpu, client_cpu, env)
        label = "picows (deflate: picows.websockets)" if impl == "picows" else impl
        servers[label] = row
    return {"n": n, "method": METHOD, "servers": servers}


# ------------------------------------------------------------------ client


async def _client(url: str, n: int, compression: bool) -> None:
    from websockets.asyncio.client import connect

    message = payloads(MODES["deflate"])[0].decode()
    loop = asyncio.get_running_loop()
    conns: list[Any] = []

    async def one() -> Any:
        ws = await connect(url, compression="deflate" if compression else None, proxy=None,
                           ping_interval=None, max_size=None)
        await ws.send(message)
        await ws.recv()
        return ws

    async def open_many(count: int) -> None:
        while count:
            batch = min(count, BATCH)
            conns.extend(await asyncio.gather(*(one() for _ in range(batch))))
            count -= batch

    await open_many(WARM)
    print("warm", flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)
    await open_many(n)
    negotiated = conns[-1].response.headers.get("Sec-WebSocket-Extensions", "")
    print(f"open {negotiated}", flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)
    await asyncio.gather(*(ws.close() for ws in conns), return_exceptions=True)


def main() -> None:
    parser = argparse.ArgumentParser(description="memory client (used by run.py)")
    parser.add_argument("--client", nargs=2, metavar=("URL", "N"), required=True)
    parser.add_argument("--compression", action="store_true")
    parser.add_argument("--cpu", type=int, default=None)
    args = parser.parse_args()
    if args.cpu is not None:
        from _common import pin

        pin(args.cpu)
    asyncio.run(_client(args.client[0], int(args.client[1]), args.compression))


if __name__ == "__main__":
    main()
