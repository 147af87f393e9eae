"""The end-to-end benchmark driver: every server, every mode, one table.

    python bench/e2e/run.py [--quick] [--out bench/results] [--reps 3]
                            [--duration 0.4] [--warmup 0.2] [--sections servers,uvicorn,...]

Sections (all by default):

``servers``
    Echo servers, each its own process on 127.0.0.1 (kernel-picked port):
    fastws twice (``fastws.listener``: ``listen`` with a ``Listener`` that
    echoes with ``send_nowait``; ``fastws``: ``serve`` with an ``async for``
    handler), websockets, aiohttp, picows (its ``WSListener`` callbacks), on
    the stock asyncio loop and on uvloop, over TCP and over TLS (a
    self-signed certificate made with trustme in a temporary directory);
    compression off. One fixed client for all: picows' callback client on
    uvloop, in its own process.
``uvicorn``
    The same ASGI echo app under uvicorn with ``fastws.uvicorn:FastWSProtocol``,
    with uvicorn's default WebSocket implementation (``--ws auto``:
    websockets-sansio) and with wsproto; same fixed client.
``deflate``
    permessage-deflate on a text-heavy payload (~1.5 KB JSON documents), for
    every server that supports it (picows through its ``picows.websockets``
    layer; the uvicorn implementations). Fixed client: ``picows.websockets``
    on uvloop (picows' core client has no compression).
``clients``
    The client comparison: fastws (callback ``fastws.listener`` and await
    ``fastws``), websockets, aiohttp and picows (callback) clients, each on
    both loops, against one fixed server (picows on uvloop).
``memory``
    Memory per idle connection, see :mod:`memory`.

Method: every server of a section is started first (idle servers cost
nothing); then for each repetition, for each mode, every server is measured
in turn (the order rotates every repetition), so a change of machine load
hits every server alike and the ratios compare like with like. A
measurement opens its connections, discards ``warmup`` seconds, counts for
``duration`` seconds, drains and closes. Medians over the repetitions, with
the spread (the largest deviation of a repetition from the median, in %).
Ratios are taken between medians of the same run. The servers run on CPU 0
and the clients on CPU 1 when the machine has two (``os.sched_setaffinity``).

Outputs: the markdown tables on stdout and in ``OUT/e2e.md``, every sample
in ``OUT/e2e.json``, the ratio chart in ``OUT/e2e.png``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import queue
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from typing import IO, Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

from _common import MODES, server_script  # noqa: E402

PY = sys.executable
SERVER_MODES = ["rt32", "rt256", "8k-1", "8k-8", "64k-1", "64k-8", "2m-1", "2m-8", "c100"]
UVICORN_MODES = ["rt32", "rt256", "8k-8", "64k-1", "64k-8", "2m-8", "c100"]
CLIENT_MODES = ["rt32", "rt256", "8k-8", "64k-8", "2m-8", "c100"]
LOOPS = ["asyncio", "uvloop"]
UVICORN_WS = {"uvicorn+fastws": "fastws", "uvicorn+default": "default",
              "uvicorn+wsproto": "wsproto"}

# What the tables show: the columns, and the (ours, ref) pairs whose ratios
# they give. Two fastws columns: ``fastws.listener`` (the callback API,
# ``listen``/``connect(listener=...)`` with ``send_nowait``) and ``fastws``
# (the await API). picows is measured with its callback API (``WSListener``),
# websockets and aiohttp with their await APIs: callback is compared with
# callback, await with await, and the listener with everyone.
LISTENER = "fastws.listener"
PEERS = ["picows", "websockets", "aiohttp"]
SERVER_NAMES = [LISTENER, "fastws", *PEERS]
SERVER_PAIRS = [*((LISTENER, p) for p in PEERS), ("fastws", "websockets"), ("fastws", "aiohttp")]
UVICORN_PAIRS = [("uvicorn+fastws", "uvicorn+default"), ("uvicorn+fastws", "uvicorn+wsproto")]
DEFLATE_PEERS = ["picows.websockets", "websockets", "aiohttp"]  # picows.websockets: await API
DEFLATE_NAMES = [LISTENER, "fastws", *DEFLATE_PEERS, *UVICORN_WS]
DEFLATE_PAIRS = [*((LISTENER, p) for p in DEFLATE_PEERS), *(("fastws", p) for p in DEFLATE_PEERS)]
CLIENT_NAMES = [LISTENER, "fastws", *PEERS]
CLIENT_PAIRS = [(LISTENER, "picows"), ("fastws", "websockets"), ("fastws", "aiohttp")]
# the chart keeps three bars a panel: listener vs picows and websockets, await vs websockets
SERVER_CHART = [(LISTENER, "picows"), (LISTENER, "websockets"), ("fastws", "websockets")]
DEFLATE_CHART = [(LISTENER, "picows.websockets"), (LISTENER, "websockets"),
                 ("fastws", "websockets")]


def _cpus() -> tuple[int | None, int | None]:
    """(server CPU, client CPU), or (None, None) on a single core."""
    try:
        available = sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return None, None
    if len(available) < 2:
        return None, None
    return available[0], available[1]


SERVER_CPU, CLIENT_CPU = _cpus()


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["PYTHONUNBUFFERED"] = "1"
    return env


class _Lines:
    """Reads a pipe line by line in a thread, so reads can time out."""

    def __init__(self, stream: IO[str]) -> None:
        self._queue: queue.Queue[str | None] = queue.Queue()
        thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        thread.start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self._queue.put(line)
        self._queue.put(None)

    def get(self, timeout: float) -> str | None:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None


class Proc:
    """A child process (server or client agent) with a line-oriented stdout."""

    def __init__(self, name: str, argv: list[str], logdir: str, stdin: bool = False) -> None:
        self.name = name
        self.log_path = os.path.join(logdir, name.replace("/", "_").replace(" ", "_") + ".log")
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=self._log, text=True, env=_env(), cwd=ROOT,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL, bufsize=1,
        )
        assert self.proc.stdout is not None
        self.lines = _Lines(self.proc.stdout)

    def readline(self, timeout: float) -> str | None:
        line = self.lines.get(timeout)
        return None if line is None else line.strip()

    def send(self, obj: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(obj) + "\n")
        self.proc.stdin.flush()

    def log_tail(self, lines: int = 5) -> str:
        self._log.flush()
        try:
            with open(self.log_path) as f:
                return "".join(f.readlines()[-lines:]).strip()
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                if self.proc.stdin is not None:
                    self.proc.stdin.close()
            except OSError:
                pass
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(8)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


class Server:
    """An echo server process; ``url`` once it announced its port."""

    def __init__(self, name: str, script: str, loop: str, tls: tuple[str, str] | None,
                 compression: bool, logdir: str, extra: Iterable[str] = ()) -> None:
        self.name = name
        self.loop = loop
        argv = [PY, os.path.join(HERE, script), "--loop", loop, "--port", "0", *extra]
        if tls:
            argv += ["--tls", *tls]
        if compression:
            argv.append("--compression")
        if SERVER_CPU is not None:
            argv += ["--cpu", str(SERVER_CPU)]
        tag = f"server {name} {loop}{' tls' if tls else ''}{' deflate' if compression else ''}"
        self.proc = Proc(tag, argv, logdir)
        self.url: str | None = None
        self.error: str | None = None
        line = self.proc.readline(30)
        if line and line.isdigit():
            self.url = f"{'wss' if tls else 'ws'}://127.0.0.1:{line}/"
        else:
            self.error = f"did not start: {self.proc.log_tail()}"

    @property
    def pid(self) -> int:
        return self.proc.proc.pid

    def stop(self) -> None:
        self.proc.stop()


class Agent:
    """A long-lived client process that runs measurements on command."""

    def __init__(self, impl: str, loop: str, logdir: str) -> None:
        self.impl = impl
        self.loop = loop
        argv = [PY, os.path.join(HERE, "client.py"), "--agent", "--impl", impl, "--loop", loop]
        if CLIENT_CPU is not None:
            argv += ["--cpu", str(CLIENT_CPU)]
        self.proc = Proc(f"client {impl} {loop}", argv, logdir, stdin=True)
        line = self.proc.readline(30)
        if not line or "ready" not in line:
            raise RuntimeError(f"client {impl} did not start: {self.proc.log_tail()}")

    def measure(self, url: str, mode: str, warmup: float, duration: float,
                ca: str | None, server_pid: int | None = None) -> dict[str, Any]:
        self.proc.send({"url": url, "mode": mode, "warmup": warmup, "duration": duration,
                        "ca": ca, "server_pid": server_pid})
        line = self.proc.readline(warmup + duration + 90)
        if line is None:
            return {"error": f"client timed out or died: {self.proc.log_tail()}"}
        return dict(json.loads(line))

    def stop(self) -> None:
        self.proc.stop()


# ------------------------------------------------------------------ stats


def summarize(samples: list[float]) -> dict[str, Any]:
    if not samples:
        return {"median": None, "spread": None, "samples": []}
    median = statistics.median(samples)
    spread = max(abs(s - median) for s in samples) / median * 100 if median else 0.0
    return {"median": median, "spread": spread, "min": min(samples), "max": max(samples),
            "samples": samples}


def human(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "MB/s":
        return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"
    if value >= 10_000:
        return f"{value / 1000:,.1f}k"
    return f"{value:,.0f}"


# -------------------------------------------------------------- measuring


def interleave(agents: dict[str, Agent], targets: list[tuple[str, str, Server]],
               modes: list[str], reps: int, warmup: float, duration: float, ca: str | None,
               progress: str) -> tuple[dict[tuple[str, str], list[dict[str, Any]]],
                                       dict[tuple[str, str], str]]:
    """Run every (agent, server) target on every mode ``reps`` times,
    rotating the order; returns the results and errors per (target, mode)."""
    samples: dict[tuple[str, str], list[dict[str, Any]]] = {}
    errors: dict[tuple[str, str], str] = {}
    for target_name, _, server in targets:
        for mode in modes:
            samples[(target_name, mode)] = []
            if server.url is None:
                errors[(target_name, mode)] = server.error or "no server"
    total = reps * len(modes) * len(targets)
    done = 0
    for rep in range(reps):
        for index, mode in enumerate(modes):
            shift = (rep + index) % max(len(targets), 1)
            for target_name, agent_key, server in targets[shift:] + targets[:shift]:
                done += 1
                if server.url is None:
                    continue
                result = agents[agent_key].measure(server.url, mode, warmup, duration, ca,
                                                   server.pid)
                if "error" in result:
                    errors[(target_name, mode)] = result["error"]
                    print(f"  ! {target_name} {mode}: {result['error']}", file=sys.stderr)
                else:
                    samples[(target_name, mode)].append(result)
            print(f"  {progress}: {done}/{total}", file=sys.stderr, end="\r", flush=True)
    print(file=sys.stderr)
    return samples, errors


def _median_of(results: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in results if r.get(key) is not None]
    return statistics.median(values) if values else None


def _group(samples: dict[tuple[str, str], list[dict[str, Any]]], names: list[str],
           modes: list[str], errors: dict[tuple[str, str], str]) -> dict[str, Any]:
    """{mode: {name without "|loop": stats}}."""
    out: dict[str, Any] = {}
    for mode in modes:
        row: dict[str, Any] = {}
        for name in names:
            results = samples.get((name, mode), [])
            stats = summarize([r["rate"] for r in results])
            for key in ("server_cpu_us", "client_cpu_us", "server_busy", "client_busy"):
                stats[key] = _median_of(results, key)
            if (name, mode) in errors and not results:
                stats["error"] = errors[(name, mode)]
            row[name.split("|")[0]] = stats
        out[mode] = row
    return out


def _ratio(row: dict[str, Any], a: str, b: str) -> float | None:
    x = row.get(a, {}).get("median")
    y = row.get(b, {}).get("median")
    if not x or not y:
        return None
    return float(x) / float(y)


# --------------------------------------------------------------- sections


def run_servers(cfg: argparse.Namespace, tls: tuple[str, str], ca: str, logdir: str,
                results: dict[str, Any]) -> None:
    impls = cfg.server_impls
    for transport in cfg.transports:
        print(f"servers over {transport.upper()}", file=sys.stderr)
        servers: list[Server] = []
        targets = []
        for loop in cfg.loops:
            for impl in impls:
                script, extra = server_script(impl)
                server = Server(impl, script, loop, tls if transport == "tls" else None, False,
                                logdir, extra)
                servers.append(server)
                targets.append((f"{impl}|{loop}", "picows", server))
        agent = Agent("picows", "uvloop", logdir)
        try:
            samples, errors = interleave({"picows": agent}, targets, cfg.server_modes, cfg.reps,
                                 cfg.warmup, cfg.duration, ca if transport == "tls" else None,
                                 f"servers {transport}")
        finally:
            agent.stop()
            for server in servers:
                server.stop()
        for loop in cfg.loops:
            names = [f"{impl}|{loop}" for impl in impls]
            group = _group(samples, names, cfg.server_modes, errors)
            results["servers"][f"{transport}/{loop}"] = group


def run_uvicorn(cfg: argparse.Namespace, logdir: str, results: dict[str, Any]) -> None:
    print("uvicorn", file=sys.stderr)
    servers: list[Server] = []
    targets = []
    for loop in cfg.loops:
        for name, ws in cfg.uvicorn_impls.items():
            server = Server(name, "server_uvicorn.py", loop, None, False, logdir, ["--ws", ws])
            servers.append(server)
            targets.append((f"{name}|{loop}", "picows", server))
    agent = Agent("picows", "uvloop", logdir)
    try:
        samples, errors = interleave({"picows": agent}, targets, cfg.uvicorn_modes, cfg.reps,
                             cfg.warmup, cfg.duration, None, "uvicorn")
    finally:
        agent.stop()
        for server in servers:
            server.stop()
    for loop in cfg.loops:
        names = [f"{name}|{loop}" for name in cfg.uvicorn_impls]
        group = _group(samples, names, cfg.uvicorn_modes, errors)
        results["uvicorn"][f"tcp/{loop}"] = group


def run_deflate(cfg: argparse.Namespace, logdir: str, results: dict[str, Any]) -> None:
    print("compression", file=sys.stderr)
    servers: list[Server] = []
    targets = []
    for loop in cfg.loops:
        for impl in cfg.server_impls:
            label = "picows.websockets" if impl == "picows" else impl
            script, extra = server_script(impl)
            server = Server(label, script, loop, None, True, logdir, extra)
            servers.append(server)
            targets.append((f"{label}|{loop}", "compat", server))
        for name, ws in cfg.uvicorn_impls.items():
            server = Server(name, "server_uvicorn.py", loop, None, True, logdir, ["--ws", ws])
            servers.append(server)
            targets.append((f"{name}|{loop}", "compat", server))
    agent = Agent("picows.websockets", "uvloop", logdir)
    try:
        samples, errors = interleave({"compat": agent}, targets, ["deflate"], cfg.reps, cfg.warmup,
                             cfg.duration, None, "deflate")
    finally:
        agent.stop()
        for server in servers:
            server.stop()
    for loop in cfg.loops:
        names = [t[0] for t in targets if t[0].endswith("|" + loop)]
        group = _group(samples, names, ["deflate"], errors)
        results["deflate"][f"tcp/{loop}"] = group


def run_clients(cfg: argparse.Namespace, logdir: str, results: dict[str, Any]) -> None:
    print("clients", file=sys.stderr)
    server = Server("picows", "server_picows.py", "uvloop", None, False, logdir)
    agents: dict[str, Agent] = {}
    targets = []
    try:
        for loop in cfg.loops:
            for impl in cfg.client_impls:
                key = f"{impl}|{loop}"
                agents[key] = Agent(impl, loop, logdir)
                targets.append((key, key, server))
        samples, errors = interleave(agents, targets, cfg.client_modes, cfg.reps, cfg.warmup,
                             cfg.duration, None, "clients")
    finally:
        for agent in agents.values():
            agent.stop()
        server.stop()
    for loop in cfg.loops:
        names = [f"{impl}|{loop}" for impl in cfg.client_impls]
        group = _group(samples, names, cfg.client_modes, errors)
        results["clients"][f"tcp/{loop}"] = group


# ----------------------------------------------------------------- output


def _cell(stats: dict[str, Any], unit: str) -> str:
    if stats.get("median") is None:
        return "error" if stats.get("error") else "—"
    text = human(stats["median"], unit)
    if len(stats["samples"]) > 1:
        text += f" ±{stats['spread']:.0f}%"
    return text


def _cpu_cell(stats: dict[str, Any], key: str) -> str:
    value = stats.get(key)
    if value is None:
        return "—"
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def _cpu_ratio(row: dict[str, Any], ours: str, ref: str, key: str) -> float | None:
    x = row.get(ours, {}).get(key)
    y = row.get(ref, {}).get(key)
    if not x or not y:
        return None
    return float(y) / float(x)


def _fmt_ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}×"


def table(title: str, group: dict[str, Any], names: list[str],
          pairs: list[tuple[str, str]], cpu: str | None = None) -> list[str]:
    """The rates of ``names`` per mode with the ratios ours/ref of every
    (ours, ref) in ``pairs`` (> 1: ours is faster); with ``cpu``
    (``server_cpu_us`` or ``client_cpu_us``) a second table of CPU time per
    message and the ratios ref/ours (> 1: ours uses less CPU). Columns and
    pairs of implementations absent from ``group`` are left out."""
    present = [n for n in names if any(n in row for row in group.values())]
    pairs = [(a, b) for a, b in pairs if a in present and b in present and a != b]
    head = ["mode", "unit", *present, *[f"{a} / {b}" for a, b in pairs]]
    lines = [f"**{title}**", "", "| " + " | ".join(head) + " |",
             "|" + "|".join(["---"] * 2 + ["---:"] * (len(head) - 2)) + "|"]
    for mode, row in group.items():
        unit = MODES[mode].unit
        cells = [MODES[mode].label, unit]
        cells += [_cell(row.get(n, {}), unit) for n in present]
        cells += [_fmt_ratio(_ratio(row, a, b)) for a, b in pairs]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    ours = {a for a, _ in pairs}
    if cpu and any(row.get(a, {}).get(cpu) for row in group.values() for a in ours):
        who = "server" if cpu.startswith("server") else "client"
        head = ["mode", *present, *[f"{b} / {a}" for a, b in pairs]]
        lines += [f"{title}: {who} CPU time per message, µs (lower is better; "
                  "ratios > 1: fastws uses less)", "",
                  "| " + " | ".join(head) + " |",
                  "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
        for mode, row in group.items():
            cells = [MODES[mode].label]
            cells += [_cpu_cell(row.get(n, {}), cpu) for n in present]
            cells += [_fmt_ratio(_cpu_ratio(row, a, b, cpu)) for a, b in pairs]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def _title(key: str) -> str:
    transport, loop = key.split("/")
    return f"{transport.upper()}, {loop}"


def markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    out = [
        "## End-to-end benchmark",
        "",
        f"{meta['date']} · {meta['cpu']} · {meta['cpus']} CPUs · Python {meta['python']} · "
        f"fastws backend `{meta['fastws_backend']}` · load average "
        f"{meta['load_before']} before, {meta['load_after']} after · "
        f"{meta['reps']} × {meta['duration']} s per cell (after {meta['warmup']} s warm-up), "
        "median ±largest deviation.",
        "",
        "Echo servers on 127.0.0.1, server pinned to CPU 0 and client to CPU 1. "
        "`rt/s`: request/response round trips per second; `MB/s`: echoed payload "
        "(10^6 bytes) per second. Ratios > 1 mean fastws is faster. Two fastws columns: "
        "`fastws.listener` is fastws' callback API (`listen` or `connect(listener=...)`, "
        "a `Listener` answering with `ws.send_nowait`, on aiofastnet's compiled "
        "transports: `use_aiofastnet=True`), `fastws` its await API "
        "(`async for message in ws: await ws.send(message)`, asyncio's or uvloop's own "
        "transports); picows is measured with its callback API (`WSListener`, on "
        "aiofastnet, its default), websockets and aiohttp with their await APIs, "
        "so `fastws.listener / picows` compares callbacks with callbacks and "
        "`fastws / websockets`, `fastws / aiohttp` await APIs with await APIs. "
        "The CPU tables give "
        "the CPU time (`/proc/PID/task/*/schedstat`) the server (or client) spent per "
        "message during the same windows: they vary much less than rates with the "
        "machine's load (about ±10–20 % between runs here).",
        "",
    ]
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    out += [f"Versions: {versions}.", ""]
    if results["servers"]:
        out += ["### Servers (fixed client: picows on uvloop, compression off)", ""]
        for key, group in results["servers"].items():
            out += table(_title(key), group, SERVER_NAMES, SERVER_PAIRS, cpu="server_cpu_us")
    if results["uvicorn"]:
        out += ["### uvicorn (same ASGI echo app; fixed client: picows on uvloop)", ""]
        for key, group in results["uvicorn"].items():
            out += table(f"uvicorn, {_title(key)}", group, list(UVICORN_WS), UVICORN_PAIRS,
                         cpu="server_cpu_us")
        out += ["`uvicorn+default` is uvicorn's `--ws auto` (websockets-sansio); "
                "`uvicorn+fastws` is `--ws fastws.uvicorn:FastWSProtocol`.", ""]
    if results["deflate"]:
        out += ["### permessage-deflate (fixed client: picows.websockets on uvloop)", ""]
        for key, group in results["deflate"].items():
            out += table(f"deflate, {_title(key)}", group, DEFLATE_NAMES, DEFLATE_PAIRS,
                         cpu="server_cpu_us")
    if results["clients"]:
        out += ["### Clients (fixed server: picows on uvloop)", ""]
        out += ["`fastws.listener` and `picows` are callback clients (a listener keeps "
                "the messages in flight and sends one more per echo, from the callback); "
                "`fastws`, `websockets`, `aiohttp` run the same await loop.", ""]
        for key, group in results["clients"].items():
            out += table(f"clients, {_title(key)}", group, CLIENT_NAMES, CLIENT_PAIRS,
                         cpu="client_cpu_us")
    memory = results.get("memory")
    if memory:
        out += ["### Memory per idle connection (server RSS delta / N)", ""]
        out += [f"N = {memory['n']} connections ({memory['method']}).", ""]
        out += ["| server | no compression | permessage-deflate |", "|---|---:|---:|"]
        for impl, row in memory["servers"].items():
            cells = []
            for key in ("plain", "deflate"):
                value = row.get(key)
                if isinstance(value, dict) and value.get("bytes") is not None:
                    cells.append(f"{value['bytes'] / 1024:,.1f} KiB")
                elif isinstance(value, dict) and value.get("error"):
                    cells.append("error")
                else:
                    cells.append("—")
            out.append(f"| {impl} | {cells[0]} | {cells[1]} |")
        out += ["", "websockets documents 14 KiB per connection without compression and "
                "64 KiB with its default compression settings.", ""]
    return "\n".join(out)


SHORT = {"rt32": "32 B rt", "rt256": "256 B rt", "8k-1": "8K ×1", "8k-8": "8K ×8",
         "64k-1": "64K ×1", "64k-8": "64K ×8", "2m-1": "2M ×1", "2m-8": "2M ×8",
         "c100": "100 conns", "deflate": "deflate"}


def chart(results: dict[str, Any], path: str) -> None:
    """Bars: the rate ratios ours / ref per mode for a few (ours, ref) pairs,
    one panel per group; black ticks: the CPU-per-message ratios ref / ours
    of the same runs (> 1: fastws spends less CPU per message)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    panels: list[tuple[str, dict[str, Any], list[tuple[str, str]], str]] = []
    for key, group in results["servers"].items():
        panels.append((f"server, {_title(key)}", group, SERVER_CHART, "server_cpu_us"))
    for key, group in results["uvicorn"].items():
        panels.append((f"uvicorn, {_title(key)}", group, UVICORN_PAIRS, "server_cpu_us"))
    for key, group in results["clients"].items():
        panels.append((f"client, {_title(key)}", group, CLIENT_PAIRS, "client_cpu_us"))
    if results["deflate"]:
        merged: dict[str, Any] = {}
        for key, group in results["deflate"].items():
            for mode, row in group.items():
                merged[f"{mode}|{key.split('/')[1]}"] = row
        panels.append(("permessage-deflate, JSON text, TCP", merged, DEFLATE_CHART,
                       "server_cpu_us"))
    if not panels:
        return
    cols = 2
    rows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(13, 3.4 * rows + 0.8), squeeze=False)
    # by reference; the await API's bars (ours = "fastws") in a lighter shade
    colors = {"picows": "#d62728", "picows.websockets": "#d62728", "websockets": "#1f77b4",
              "aiohttp": "#2ca02c", "uvicorn+default": "#1f77b4", "uvicorn+wsproto": "#9467bd"}
    light = {"picows": "#ff9896", "picows.websockets": "#ff9896", "websockets": "#aec7e8",
             "aiohttp": "#98df8a"}
    for ax, (title, group, pairs, cpu) in zip(axes.flat, panels):
        labels = list(group)
        pairs = [(a, b) for a, b in pairs
                 if all(any(n in row for row in group.values()) for n in (a, b))]
        width = 0.8 / max(len(pairs), 1)
        top = 1.0
        for i, (ours, ref) in enumerate(pairs):
            values = [_ratio(group[m], ours, ref) or 0.0 for m in labels]
            xs = [j + (i - (len(pairs) - 1) / 2) * width for j in range(len(labels))]
            color = (light if ours == "fastws" else colors).get(ref)
            ax.bar(xs, values, width, label=f"{ours} / {ref}", color=color)
            cpus = [_cpu_ratio(group[m], ours, ref, cpu) for m in labels]
            ax.scatter([x for x, c in zip(xs, cpus) if c], [c for c in cpus if c], marker="_",
                       s=120, color="black", linewidths=2, zorder=3)
            top = max([top, *values, *[c for c in cpus if c]])
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_ylim(0, top * 1.3)
        ax.set_xticks(range(len(labels)))
        ticks = []
        for label in labels:
            mode, _, loop = label.partition("|")
            ticks.append(SHORT.get(mode, mode) + (f"\n{loop}" if loop else ""))
        ax.set_xticklabels(ticks, fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel("fastws / peer", fontsize=8)
        handles, names = ax.get_legend_handles_labels()
        handles.append(Line2D([], [], color="black", marker="_", linestyle="", markersize=10,
                              markeredgewidth=2))
        names.append("CPU/msg: peer / fastws")
        ax.legend(handles, names, fontsize=7, loc="upper left", ncol=2, framealpha=0.8)
        ax.grid(axis="y", alpha=0.3)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    meta = results["meta"]
    fig.suptitle(
        f"fastws end-to-end: bars = rate ratio, ticks = CPU-per-message ratio (> 1: fastws "
        f"better) · {meta['cpu']}, {meta['cpus']} CPUs, load {meta['load_before']} · "
        f"{meta['date']}",
        fontsize=10,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.975))
    fig.savefig(path, dpi=90)
    plt.close(fig)


def rechart(json_path: str, png_path: str) -> None:
    """Redraw the chart (and nothing else) from a saved e2e.json."""
    with open(json_path) as f:
        chart(json.load(f), png_path)


# ------------------------------------------------------------------- main


def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {}
    for name in ("fastws", "picows", "websockets", "aiohttp", "uvicorn", "wsproto", "uvloop"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            if name == "fastws":
                out[name] = "source tree"
    return out


def _meta(cfg: argparse.Namespace) -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    backend = subprocess.run(
        [PY, "-c", "import fastws; print(fastws.backend)"], capture_output=True, text=True,
        env=_env(), cwd=ROOT,
    ).stdout.strip() or "?"
    return {
        "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "fastws_backend": backend,
        "versions": _versions(),
        "load_before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "server_cpu": SERVER_CPU,
        "client_cpu": CLIENT_CPU,
        "reps": cfg.reps,
        "duration": cfg.duration,
        "warmup": cfg.warmup,
        "quick": cfg.quick,
    }


def _certificates(tmp: str) -> tuple[tuple[str, str], str]:
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_path = os.path.join(tmp, "cert.pem")
    key_path = os.path.join(tmp, "key.pem")
    ca_path = os.path.join(tmp, "ca.pem")
    cert.cert_chain_pems[0].write_to_path(cert_path)
    for pem in cert.cert_chain_pems[1:]:
        pem.write_to_path(cert_path, append=True)
    cert.private_key_pem.write_to_path(key_path)
    ca.cert_pem.write_to_path(ca_path)
    return (cert_path, key_path), ca_path


def configure(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a tiny subset (< 60 s): for tests and CI")
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    parser.add_argument("--reps", type=int, default=None)
    parser.add_argument("--duration", type=float, default=None)
    parser.add_argument("--warmup", type=float, default=None)
    parser.add_argument("--sections", default="servers,uvicorn,deflate,clients,memory")
    parser.add_argument("--memory-n", type=int, default=None)
    parser.add_argument("--modes", default=None,
                        help="comma-separated mode keys for every section (default: per section)")
    cfg = parser.parse_args(argv)
    cfg.sections = [s for s in cfg.sections.split(",") if s]
    if cfg.quick:
        cfg.reps = cfg.reps or 1
        cfg.duration = cfg.duration or 0.25
        cfg.warmup = cfg.warmup or 0.1
        cfg.memory_n = cfg.memory_n or 50
        cfg.loops = ["uvloop"]
        cfg.transports = ["tcp"]
        cfg.server_impls = [LISTENER, "fastws", "picows", "websockets"]
        cfg.server_modes = ["rt256", "64k-8"]
        cfg.uvicorn_impls = {k: v for k, v in UVICORN_WS.items() if k != "uvicorn+wsproto"}
        cfg.uvicorn_modes = ["rt256"]
        cfg.client_impls = [LISTENER, "fastws", "picows"]
        cfg.client_modes = ["rt256"]
        cfg.memory_impls = ["fastws", "websockets"]
    else:
        cfg.reps = cfg.reps or 3
        cfg.duration = cfg.duration or 0.4
        cfg.warmup = cfg.warmup or 0.2
        cfg.memory_n = cfg.memory_n or 500
        cfg.loops = list(LOOPS)
        cfg.transports = ["tcp", "tls"]
        cfg.server_impls = [LISTENER, "fastws", "picows", "websockets", "aiohttp"]
        cfg.server_modes = list(SERVER_MODES)
        cfg.uvicorn_impls = dict(UVICORN_WS)
        cfg.uvicorn_modes = list(UVICORN_MODES)
        cfg.client_impls = [LISTENER, "fastws", "picows", "websockets", "aiohttp"]
        cfg.client_modes = list(CLIENT_MODES)
        cfg.memory_impls = ["fastws", LISTENER, "websockets", "picows", "aiohttp",
                            "uvicorn+fastws", "uvicorn+default"]
    if cfg.modes:
        modes = [m for m in cfg.modes.split(",") if m]
        unknown = [m for m in modes if m not in MODES]
        if unknown:
            parser.error(f"unknown modes {unknown}; known: {', '.join(MODES)}")
        cfg.server_modes = cfg.uvicorn_modes = cfg.client_modes = modes
    return cfg


def main(argv: list[str] | None = None) -> int:
    cfg = configure(argv)
    started = time.monotonic()
    results: dict[str, Any] = {"meta": _meta(cfg), "servers": {}, "uvicorn": {}, "deflate": {},
                               "clients": {}, "memory": None}
    with tempfile.TemporaryDirectory(prefix="fastws-e2e-") as tmp:
        tls, ca = _certificates(tmp)
        if "servers" in cfg.sections:
            run_servers(cfg, tls, ca, tmp, results)
        if "uvicorn" in cfg.sections:
            run_uvicorn(cfg, tmp, results)
        if "deflate" in cfg.sections:
            run_deflate(cfg, tmp, results)
        if "clients" in cfg.sections:
            run_clients(cfg, tmp, results)
        if "memory" in cfg.sections:
            import memory

            print("memory", file=sys.stderr)
            results["memory"] = memory.measure_all(cfg.memory_impls, cfg.memory_n, tmp,
                                                   SERVER_CPU, CLIENT_CPU, _env())
    meta = results["meta"]
    meta["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    meta["seconds"] = round(time.monotonic() - started, 1)
    os.makedirs(cfg.out, exist_ok=True)
    text = markdown(results)
    text += f"\nTotal run time {meta['seconds']} s.\n"
    with open(os.path.join(cfg.out, "e2e.json"), "w") as f:
        json.dump(results, f, indent=1)
    with open(os.path.join(cfg.out, "e2e.md"), "w") as f:
        f.write(text)
    try:
        chart(results, os.path.join(cfg.out, "e2e.png"))
    except ImportError as exc:
        print(f"no chart: {exc}", file=sys.stderr)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
