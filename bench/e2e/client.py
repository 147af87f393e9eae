"""The benchmark client: drives one mode against one echo server and reports its rate.

Two ways to run it:

* one-shot::

      python bench/e2e/client.py --impl picows --loop uvloop \\
          --url ws://127.0.0.1:PORT/ --mode rt256 --duration 1 [--ca CA.pem]

* as an agent for the driver (``--agent``): reads one JSON command per line
  on stdin (``{"url", "mode", "warmup", "duration", "ca"}``) and answers each
  with one JSON line on stdout, so one long-lived, pinned process measures
  every server in turn.

Implementations (``--impl``): ``picows`` (picows' callback API: the fixed
fast client of the server comparison; it has no permessage-deflate),
``picows.websockets`` (picows' compiled websockets-compatible layer: the
fixed client of the compressed mode), and for the client comparison
``fastws.listener`` (fastws' callback API: ``connect(uri, listener=...)``,
on aiofastnet's transports like picows' client),
``fastws``, ``websockets``, ``aiohttp``. Every client keeps ``inflight``
messages outstanding and sends one more for each echo received: the
callback clients from the message callback, the await-based clients all in
the same ``recv``/``send`` loop.

A run: open ``conns`` connections, start sending, discard ``warmup``
seconds, count the echoes received during ``duration`` seconds, stop
sending, drain what is in flight, close. The rate is echoes per second
(``rt/s``) or echoed payload megabytes (10^6 bytes) per second (``MB/s``).
A run also stops sending after ``MAX_MESSAGES`` echoes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from typing import Any

from _common import MAX_SIZE, MODES, Mode, client_ssl, payloads, pin, run

MAX_MESSAGES = 50_000_000
IMPLS = ("picows", "picows.websockets", "fastws.listener", "fastws", "websockets", "aiohttp")


def cpu_ns(pid: int) -> int | None:
    """CPU time used so far by every thread of ``pid`` in ns (``schedstat``), or None."""
    total = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return total


class State:
    """Shared by the connections of one run."""

    __slots__ = ("n", "running")

    def __init__(self) -> None:
        self.n = 0
        self.running = True


# ------------------------------------------------------------ picows (callbacks)


async def _picows_run(url: str, mode: Mode, state: State, ca: str | None) -> Any:
    from picows import WSCloseCode, WSListener, WSMsgType, ws_connect

    logging.getLogger("picows").setLevel(logging.ERROR)

    if mode.compress:
        raise ValueError("picows has no permessage-deflate")
    msg_type = WSMsgType.TEXT if mode.text else WSMsgType.BINARY
    data = payloads(mode)
    count = len(data)
    inflight = mode.inflight
    close = WSMsgType.CLOSE
    loop = asyncio.get_running_loop()

    class Probe(WSListener):  # type: ignore[misc]
        def __init__(self) -> None:
            self.transport: Any = None
            self.pending = 0
            self.index = 0
            self.drained = loop.create_future()

        def on_ws_connected(self, transport: Any) -> None:
            self.transport = transport

        def start(self) -> None:
            for _ in range(inflight):
                self.send()

        def send(self) -> None:
            self.transport.send(msg_type, data[self.index % count])
            self.index += 1
            self.pending += 1

        def on_ws_frame(self, transport: Any, frame: Any) -> None:
            kind = frame.msg_type
            if kind is close:
                transport.disconnect()
            elif kind < 3 and frame.fin:
                self.pending -= 1
                state.n += 1
                if state.running and state.n < MAX_MESSAGES:
                    self.send()
                elif not self.pending and not self.drained.done():
                    self.drained.set_result(None)

        def on_ws_disconnected(self, transport: Any) -> None:
            if not self.drained.done():
                self.drained.set_exception(ConnectionError("server closed the connection"))

    ssl = client_ssl(ca)
    pairs = await asyncio.gather(
        *(ws_connect(Probe, url, ssl_context=ssl, max_frame_size=MAX_SIZE)
          for _ in range(mode.conns))
    )
    probes = [listener for _, listener in pairs]

    async def finish() -> None:
        try:
            await asyncio.gather(*(p.drained for p in probes if p.pending))
        finally:
            for transport, _ in pairs:
                transport.send_close(WSCloseCode.OK)
                transport.disconnect()
            await asyncio.gather(
                *(transport.wait_disconnected() for transport, _ in pairs),
                return_exceptions=True,
            )

    for probe in probes:
        probe.start()
    return finish


# ---------------------------------------------------- fastws.listener (callbacks)


async def _fastws_listener_run(url: str, mode: Mode, state: State, ca: str | None) -> Any:
    from fastws.asyncio import Listener, connect

    raw = payloads(mode)
    data: list[Any] = [d.decode() for d in raw] if mode.text else raw
    count = len(data)
    inflight = mode.inflight
    loop = asyncio.get_running_loop()

    class Probe(Listener):
        def __init__(self) -> None:
            self.ws: Any = None
            self.pending = 0
            self.index = 0
            self.drained = loop.create_future()

        def start(self, ws: Any) -> None:
            self.ws = ws
            for _ in range(inflight):
                self.send()

        def send(self) -> None:
            self.ws.send_nowait(data[self.index % count])
            self.index += 1
            self.pending += 1

        def on_message(self, ws: Any, message: Any) -> None:
            self.pending -= 1
            state.n += 1
            if state.running and state.n < MAX_MESSAGES:
                self.send()
            elif not self.pending and not self.drained.done():
                self.drained.set_result(None)

        def on_close(self, ws: Any) -> None:
            if not self.drained.done():
                self.drained.set_exception(ConnectionError("server closed the connection"))

    ssl = client_ssl(ca)
    compression = "deflate" if mode.compress else None
    probes = [Probe() for _ in range(mode.conns)]
    conns = await asyncio.gather(
        *(connect(url, listener=probe, compression=compression, max_size=MAX_SIZE, ssl=ssl,
                  use_aiofastnet=True, proxy=None)
          for probe in probes)
    )

    async def finish() -> None:
        try:
            await asyncio.gather(*(p.drained for p in probes if p.pending))
        finally:
            for ws in conns:
                ws.close_nowait()
            await asyncio.gather(*(ws.wait_closed() for ws in conns), return_exceptions=True)

    for probe, ws in zip(probes, conns):
        probe.start(ws)
    return finish


# -------------------------------------------------------- await-based clients


async def _open(impl: str, url: str, mode: Mode, ssl: Any) -> tuple[Any, Any, Any]:
    """(send, recv, close) of a new connection with ``impl``."""
    compression = "deflate" if mode.compress else None
    if impl == "fastws":
        from fastws.asyncio import connect

        ws = await connect(url, compression=compression, max_size=MAX_SIZE, ssl=ssl, proxy=None)
        return ws.send, ws.recv, ws.close
    if impl == "websockets":
        from websockets.asyncio.client import connect as wconnect

        ws = await wconnect(url, compression=compression, max_size=MAX_SIZE, ssl=ssl, proxy=None)
        return ws.send, ws.recv, ws.close
    if impl == "picows.websockets":
        from picows.websockets.asyncio.client import connect as pconnect

        ws = await pconnect(url, compression=compression, max_size=MAX_SIZE, ssl=ssl)
        return ws.send, ws.recv, ws.close
    if impl == "aiohttp":
        import aiohttp

        session = aiohttp.ClientSession()
        ws = await session.ws_connect(
            url, compress=15 if mode.compress else 0, max_msg_size=MAX_SIZE, ssl=ssl or False,
            autoping=True,
        )
        text_type = aiohttp.WSMsgType.TEXT
        binary_type = aiohttp.WSMsgType.BINARY

        async def send(message: Any) -> None:
            if isinstance(message, str):
                await ws.send_str(message)
            else:
                await ws.send_bytes(message)

        async def recv() -> Any:
            msg = await ws.receive()
            if msg.type is not binary_type and msg.type is not text_type:
                raise ConnectionError(f"aiohttp: {msg.type!r}")
            return msg.data

        async def close() -> None:
            await ws.close()
            await session.close()

        return send, recv, close
    raise ValueError(f"unknown client {impl!r}")


async def _await_run(impl: str, url: str, mode: Mode, state: State, ca: str | None) -> Any:
    ssl = client_ssl(ca)
    raw = payloads(mode)
    data: list[Any] = [d.decode() for d in raw] if mode.text else raw
    count = len(data)
    conns = await asyncio.gather(*(_open(impl, url, mode, ssl) for _ in range(mode.conns)))

    async def worker(send: Any, recv: Any) -> None:
        index = 0
        for _ in range(mode.inflight):
            await send(data[index % count])
            index += 1
        pending = mode.inflight
        while pending:
            await recv()
            state.n += 1
            pending -= 1
            if state.running and state.n < MAX_MESSAGES:
                await send(data[index % count])
                index += 1
                pending += 1

    tasks = [asyncio.ensure_future(worker(send, recv)) for send, recv, _ in conns]

    async def finish() -> None:
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*(close() for _, _, close in conns), return_exceptions=True)

    return finish


# ---------------------------------------------------------------------- a run


async def measure(impl: str, url: str, mode_key: str, warmup: float, duration: float,
                  ca: str | None = None, server_pid: int | None = None,
                  timeout: float = 30.0) -> dict[str, Any]:
    """One run of ``mode_key`` against ``url``: the rate over ``duration``, and
    the CPU time per message of this process and of ``server_pid``."""
    mode = MODES[mode_key]
    me = os.getpid()
    state = State()
    try:
        if impl == "picows":
            finish = await asyncio.wait_for(_picows_run(url, mode, state, ca), timeout)
        elif impl == "fastws.listener":
            finish = await asyncio.wait_for(_fastws_listener_run(url, mode, state, ca), timeout)
        else:
            finish = await asyncio.wait_for(_await_run(impl, url, mode, state, ca), timeout)
        await asyncio.sleep(warmup)
        s0 = cpu_ns(server_pid) if server_pid else None
        c0 = cpu_ns(me)
        n0, t0 = state.n, time.perf_counter()
        await asyncio.sleep(duration)
        n1, t1 = state.n, time.perf_counter()
        s1 = cpu_ns(server_pid) if server_pid else None
        c1 = cpu_ns(me)
        state.running = False
        await asyncio.wait_for(finish(), timeout)
    except Exception as exc:  # reported, the driver goes on
        state.running = False
        return {"error": f"{type(exc).__name__}: {exc}"}
    messages = n1 - n0
    elapsed = t1 - t0
    per_message = mode.size / 1e6 if mode.unit == "MB/s" else 1.0
    rate = messages * per_message / elapsed
    result: dict[str, Any] = {"rate": rate, "unit": mode.unit, "messages": messages,
                              "elapsed": elapsed}
    if messages and c0 is not None and c1 is not None:
        result["client_cpu_us"] = (c1 - c0) / messages / 1e3
        result["client_busy"] = (c1 - c0) / 1e9 / elapsed
    if messages and s0 is not None and s1 is not None:
        result["server_cpu_us"] = (s1 - s0) / messages / 1e3
        result["server_busy"] = (s1 - s0) / 1e9 / elapsed
    return result


async def agent(impl: str) -> None:
    """Answer JSON commands from stdin, one line each, until EOF."""
    loop = asyncio.get_running_loop()
    sys.stdout.write(json.dumps({"ready": impl}) + "\n")
    sys.stdout.flush()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        command = json.loads(line)
        result = await measure(
            impl, command["url"], command["mode"], command["warmup"], command["duration"],
            command.get("ca"), command.get("server_pid"),
        )
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--impl", choices=IMPLS, default="picows")
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="uvloop")
    parser.add_argument("--cpu", type=int, default=None)
    parser.add_argument("--agent", action="store_true")
    parser.add_argument("--url")
    parser.add_argument("--mode", choices=sorted(MODES), default="rt256")
    parser.add_argument("--warmup", type=float, default=0.3)
    parser.add_argument("--duration", type=float, default=1.0)
    parser.add_argument("--ca", default=None)
    parser.add_argument("--server-pid", type=int, default=None,
                        help="also report this process's CPU time per message")
    args = parser.parse_args()
    if args.cpu is not None:
        pin(args.cpu)
    if args.agent:
        run(lambda: agent(args.impl), args.loop)
        return
    if not args.url:
        parser.error("--url is required without --agent")

    async def once() -> None:
        result = await measure(args.impl, args.url, args.mode, args.warmup, args.duration,
                               args.ca, args.server_pid)
        print(json.dumps(result))

    run(once, args.loop)


if __name__ == "__main__":
    main()
