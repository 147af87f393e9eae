"""The ``fastws`` command line: a WebSocket client and server for trying things out.

``fastws URL`` connects (RFC 6455 §4.1) and exchanges messages with the
terminal or with a pipe; ``-v`` prints the opening handshake exactly as sent
and received, as ``curl -v`` does. ``fastws serve`` runs an echo or broadcast
server (RFC 6455 §4.2). ``fastws accept KEY`` and ``fastws key`` compute the
handshake keys of §4.2.2 and §4.1. ``python -m fastws`` is the same program.

Run ``fastws --help`` for the options, the modes and the exit status
(:data:`EXIT_CODES`).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import logging
import os
import platform
import re
import signal
import socket
import ssl
import sys
import textwrap
import threading
from collections.abc import Sequence
from typing import Any, Callable, TextIO, Union

from fastws import __version__
from fastws.exceptions import (
    ConnectionClosed,
    InvalidHandshake,
    InvalidURI,
    ProxyError,
)

__all__ = ["main", "EXIT_CODES"]

PROG = "fastws"

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NETWORK = 3
EXIT_TLS = 4
EXIT_REFUSED = 5
EXIT_TIMEOUT = 6
EXIT_CLOSED = 7
EXIT_INTERRUPTED = 130

#: exit status -> meaning (also printed by ``fastws --help``)
EXIT_CODES: dict[int, str] = {
    EXIT_OK: "success; the connection was closed normally (1000, 1001 or no code)",
    EXIT_ERROR: "other errors (e.g. stdin is not UTF-8 text without --binary)",
    EXIT_USAGE: "usage error: bad option, invalid URL, unreadable --cacert",
    EXIT_NETWORK: "network error: DNS failure, connection refused, unreachable, "
    "cannot listen (serve)",
    EXIT_TLS: "TLS error: certificate verification or TLS handshake failed",
    EXIT_REFUSED: "handshake refused by the server or the proxy (the status line "
    "and the first 200 bytes of the body are printed)",
    EXIT_TIMEOUT: "timeout: opening handshake (--timeout), or the reply to -1",
    EXIT_CLOSED: "the connection closed abnormally (a close code other than 1000, "
    "1001 or none; 1006: lost without a close frame), or before the reply to -1",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
}

#: close codes and their names (RFC 6455 §7.4.1, IANA registry)
CLOSE_CODES: dict[int, str] = {
    1000: "normal closure",
    1001: "going away",
    1002: "protocol error",
    1003: "unsupported data",
    1005: "no status code",
    1006: "abnormal closure",
    1007: "invalid payload data",
    1008: "policy violation",
    1009: "message too big",
    1010: "mandatory extension",
    1011: "internal error",
    1012: "service restart",
    1013: "try again later",
    1014: "bad gateway",
    1015: "TLS handshake failure",
}
_OK_CODES = frozenset({1000, 1001, 1005})
_COMMANDS = ("serve", "accept", "key", "backend")
_BODY_SHOWN = 200
# C0 controls but tab and newline, DEL, C1 controls: never written raw to a terminal.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")

try:  # line editing and history for the interactive client
    import readline as _readline
except ImportError:  # pragma: no cover - Windows, or Python built without it
    _readline = None  # type: ignore[assignment]


class _Exit(Exception):
    """Ends the program with ``status`` after printing ``message`` (if any)."""

    def __init__(self, status: int, message: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# ---------------------------------------------------------------- arguments


def _usage() -> str:
    return (
        f"{PROG} [options] URL\n"
        f"       {PROG} serve [--host HOST] [--port PORT] [--echo | --broadcast] [-v]\n"
        f"       {PROG} accept KEY | {PROG} key | {PROG} backend | {PROG} --version"
    )


def _epilog() -> str:
    codes = "\n".join(
        textwrap.fill(text, 86, initial_indent=f"  {code:<3}  ", subsequent_indent=" " * 7)
        for code, text in sorted(EXIT_CODES.items())
    )
    return f"""\
commands:
  {PROG} URL             connect to a ws:// or wss:// URL (the options above)
  {PROG} serve           run an echo or broadcast server ({PROG} serve --help)
  {PROG} accept KEY      print the Sec-WebSocket-Accept value for a Sec-WebSocket-Key
  {PROG} key             print a fresh random Sec-WebSocket-Key
  {PROG} backend         print the active backend: c (compiled) or python

modes of {PROG} URL:
  interactive  stdin and stdout are a terminal: type a line to send it, received
               messages are shown as "< message", binary ones as
               "< [binary N bytes] HEX" (--base64: base64). Ctrl-D closes with
               1000, Ctrl-C with 1001. Commands: /ping [payload],
               /close [code [reason]], /help; start a message with // to send
               a leading /.
  pipe         otherwise: each line of stdin is one message (text, or binary
               with --binary; "\r\n" or "\n" ends a line); received messages
               go to stdout as "< message"; after the end of stdin, replies are
               printed for --wait seconds (less if the server closes first),
               then the connection is closed with 1000.
  -1           all of stdin is one message (text: one final newline removed);
               the first reply is printed bare (no "< "), then the connection
               is closed.
  The close code and reason are printed at the end on stderr (interactive, -v,
  or when the closure was not normal). -v prints the handshake on stderr as
  curl -v does, byte for byte: "> " lines sent, "< " lines received, "* "
  information; in pipe mode also each message sent, as "> message".

exit status:
{codes}
"""


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=28)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a non-negative number: {text!r}")
    return value


def _size(text: str) -> int:
    """``1048576``, ``64k``, ``16M``, ``1G`` (binary multiples)."""
    match = re.fullmatch(r"\s*(\d+)\s*([kKmMgG]?)[iI]?[bB]?\s*", text)
    if match is None:
        raise argparse.ArgumentTypeError(f"not a size in bytes: {text!r}")
    factor = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30}[match.group(2).lower()]
    return int(match.group(1)) * factor


def _header(text: str) -> tuple[str, str]:
    name, colon, value = text.partition(":")
    name = name.strip()
    if not colon or not name or re.fullmatch(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+", name) is None:
        raise argparse.ArgumentTypeError(f"expected 'Name: value', got {text!r}")
    return name, value.strip()


def _client_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        usage=_usage(),
        description="A WebSocket client and server (RFC 6455) in the class of wscat and "
        "websocat, built on fastws.",
        epilog=_epilog(),
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("url", metavar="URL", help="ws:// or wss:// URL to connect to")
    parser.add_argument(
        "--version", action="version", version=_version_text(), help="print the version"
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="print the handshake as sent and received (stderr); -vv: debug logging",
    )
    parser.add_argument(
        "-H",
        "--header",
        dest="headers",
        action="append",
        type=_header,
        default=[],
        metavar="'NAME: VALUE'",
        help="add a request header (repeatable)",
    )
    parser.add_argument(
        "-s",
        "--subprotocol",
        dest="subprotocols",
        action="append",
        default=[],
        metavar="PROTO",
        help="offer a subprotocol (repeatable, in order of preference)",
    )
    parser.add_argument("-o", "--origin", help="send this Origin header")
    tls = parser.add_argument_group("TLS (wss://)")
    tls.add_argument(
        "-k",
        "--insecure",
        action="store_true",
        help="do not verify the server certificate nor its host name",
    )
    tls.add_argument(
        "--cacert", metavar="FILE", help="verify the server with these CA certificates (PEM)"
    )
    net = parser.add_argument_group("connection")
    proxy = net.add_mutually_exclusive_group()
    proxy.add_argument(
        "--proxy",
        metavar="URL",
        default=True,
        help="HTTP(S) proxy (http://[user:pass@]host:port) for a CONNECT tunnel; default: "
        "the environment (http_proxy, https_proxy, all_proxy, no_proxy)",
    )
    proxy.add_argument(
        "--no-proxy",
        dest="proxy",
        action="store_const",
        const=None,
        help="connect directly, ignoring the proxy environment",
    )
    net.add_argument(
        "--compress",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="offer permessage-deflate (RFC 7692)",
    )
    net.add_argument(
        "--ping-interval",
        type=_positive_float,
        default=20.0,
        metavar="SECONDS",
        help="keepalive ping interval, 0: off (default: %(default)g)",
    )
    net.add_argument(
        "--max-size",
        type=_size,
        default=2**20,
        metavar="BYTES",
        help="largest message accepted, e.g. 16M; 0: no limit (default: 1M)",
    )
    net.add_argument(
        "--timeout",
        type=_positive_float,
        default=10.0,
        metavar="SECONDS",
        help="limit for the opening handshake (DNS, TCP, proxy, TLS, HTTP) and for the "
        "reply to -1 (default: %(default)g)",
    )
    io = parser.add_argument_group("messages")
    io.add_argument(
        "--binary", action="store_true", help="send what is typed or read as binary messages"
    )
    io.add_argument(
        "--base64", action="store_true", help="show received binary messages as base64, not hex"
    )
    io.add_argument(
        "-1",
        "--one-message",
        action="store_true",
        help="send all of stdin as one message, print the first reply, close",
    )
    io.add_argument(
        "--wait",
        type=_positive_float,
        default=1.0,
        metavar="SECONDS",
        help="pipe mode: after the end of stdin, print replies for this long, then close "
        "with 1000 (default: %(default)g)",
    )
    return parser


def _serve_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"{PROG} serve",
        description="Run a WebSocket server for trying things out. Prints "
        "'listening on ws://HOST:PORT/' on stdout (one line per socket) once it accepts "
        "connections; stops on SIGINT or SIGTERM, closing connections with 1001 (a second "
        "signal aborts them).",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=8765, help="port, 0: any free port (default: %(default)s)"
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--echo",
        dest="mode",
        action="store_const",
        const="echo",
        help="send every message back to its sender (default)",
    )
    mode.add_argument(
        "--broadcast",
        dest="mode",
        action="store_const",
        const="broadcast",
        help="send every message to every connected client, sender included",
    )
    parser.set_defaults(mode="echo")
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="log each handshake (request and response heads) and closure on stderr; "
        "-vv: debug logging",
    )
    parser.add_argument(
        "-s",
        "--subprotocol",
        dest="subprotocols",
        action="append",
        default=[],
        metavar="PROTO",
        help="accept this subprotocol (repeatable, in order of preference)",
    )
    parser.add_argument(
        "--compress",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="accept permessage-deflate (RFC 7692)",
    )
    parser.add_argument(
        "--ping-interval",
        type=_positive_float,
        default=20.0,
        metavar="SECONDS",
        help="keepalive ping interval, 0: off (default: %(default)g)",
    )
    parser.add_argument(
        "--max-size",
        type=_size,
        default=2**20,
        metavar="BYTES",
        help="largest message accepted, e.g. 16M; 0: no limit (default: 1M)",
    )
    parser.add_argument(
        "--certfile", metavar="FILE", help="serve wss:// with this certificate chain (PEM)"
    )
    parser.add_argument(
        "--keyfile", metavar="FILE", help="private key of --certfile (if not in it)"
    )
    return parser


def _version_text() -> str:
    return (
        f"{PROG} {__version__} (backend: {_backend_name()}, "
        f"{platform.python_implementation()} {platform.python_version()})"
    )


def _backend_name() -> str:
    from fastws import _backend

    return str(_backend.backend)


# ------------------------------------------------------------------- output


class _Console:
    """Where everything is printed: messages on stdout, information on stderr.

    In interactive mode, a line printed while the user is typing clears the
    prompt line first, then redraws the prompt and what was typed so far.
    """

    def __init__(self, *, interactive: bool, verbose: int, base64_binary: bool) -> None:
        self.interactive = interactive
        self.verbose = verbose
        self.base64_binary = base64_binary
        self.prompt = "> " if interactive else ""
        self.prompting = False
        self.finished = False  # the prompt is gone for good
        self.last_line = False  # the line being written is the last one
        self.lock = threading.Lock()
        self.tty_out = sys.stdout.isatty()
        self.tty_err = sys.stderr.isatty()
        self.last_response_head = b""

    def _write(self, stream: TextIO, text: str) -> None:
        with self.lock:
            prompting = self.interactive and self.prompting and not self.finished
            if prompting:
                sys.stdout.write("\r\x1b[K")
                sys.stdout.flush()
            stream.write(text)
            stream.flush()
            if prompting and not self.last_line:
                typed = _readline.get_line_buffer() if _readline is not None else ""
                sys.stdout.write(self.prompt + typed)
                sys.stdout.flush()

    def out(self, line: str) -> None:
        """A line on stdout (control characters escaped on a terminal)."""
        self._write(sys.stdout, (_escape(line) if self.tty_out else line) + "\n")

    def err(self, line: str) -> None:
        """A line on stderr."""
        self._write(sys.stderr, (_escape(line) if self.tty_err else line) + "\n")

    def info(self, line: str) -> None:
        """An information line (``* ...``) on stderr, shown with -v."""
        if self.verbose:
            self.err(f"* {line}")

    def head(self, prefix: str, data: bytes) -> None:
        """An HTTP head (through the blank line), each line after ``prefix``."""
        end = data.find(b"\r\n\r\n")
        head = data if end < 0 else data[: end + 4]
        lines = head.decode("latin-1").split("\r\n")
        if lines and lines[-1] == "":
            lines.pop()
        text = "".join(f"{prefix} {line}".rstrip() + "\n" for line in lines)
        self._write(sys.stderr, _escape(text) if self.tty_err else text)

    def message(self, data: Union[str, bytes], *, bare: bool = False) -> None:
        """A received message: ``< text``, ``< [binary N bytes] HEX``."""
        if isinstance(data, str):
            text = data
        else:
            encoded = base64.b64encode(data).decode() if self.base64_binary else data.hex()
            text = encoded if bare else f"[binary {len(data)} bytes] {encoded}"
        self.out(text if bare else f"< {text}")


def _escape(text: str) -> str:
    """Control characters (but tab and newline) as ``\\xNN``: no terminal escapes."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _describe_close(code: int, reason: str) -> str:
    name = CLOSE_CODES.get(code, "")
    if code == 1006:
        text = "1006 (abnormal closure: no close frame received)"
    else:
        text = f"{code} ({name})" if name else str(code)
    if reason:
        text += f", reason {reason!r}"
    return text


# ------------------------------------------------------------------- client


def _ssl_context(args: argparse.Namespace) -> ssl.SSLContext | None:
    if args.insecure:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        if args.cacert:
            _load_ca(context, args.cacert)
        return context
    if args.cacert:
        context = ssl.create_default_context()
        _load_ca(context, args.cacert)
        return context
    return None


def _load_ca(context: ssl.SSLContext, path: str) -> None:
    try:
        context.load_verify_locations(cafile=path)
    except (OSError, ssl.SSLError) as exc:
        raise _Exit(EXIT_USAGE, f"cannot load --cacert {path!r}: {exc}") from None


def _status_line(console: _Console, exc: InvalidHandshake) -> str:
    head = console.last_response_head
    if head and exc.status is not None:
        first = head.split(b"\r\n", 1)[0].decode("latin-1")
        if first.startswith("HTTP/"):
            return first
    return f"HTTP {exc.status}"


def _body_excerpt(body: bytes) -> str:
    shown = body[:_BODY_SHOWN].decode("utf-8", "replace")
    more = len(body) - _BODY_SHOWN
    if more > 0:
        shown += f"[... {more} more bytes]"
    return _escape(shown.rstrip("\r\n"))


def _connect_error(exc: BaseException, target: str, console: _Console) -> _Exit:
    """The exit status and message for a failure to open the connection."""
    if isinstance(exc, InvalidURI):
        return _Exit(EXIT_USAGE, f"invalid URL: {exc}")
    if isinstance(exc, ProxyError):
        if exc.status is None:
            return _Exit(EXIT_REFUSED, str(exc))
        body = _body_excerpt(exc.body)
        message = f"{exc}" + (f"\n{body}" if body else "")
        return _Exit(EXIT_REFUSED, message)
    if isinstance(exc, InvalidHandshake):
        if exc.status is None:
            return _Exit(EXIT_REFUSED, f"handshake with {target} failed: {exc}")
        body = _body_excerpt(exc.body)
        message = f"handshake refused by {target}: {_status_line(console, exc)}"
        if exc.status in (301, 302, 303, 307, 308) and "redirect" in str(exc):
            message += f" ({exc})"
        return _Exit(EXIT_REFUSED, message + (f"\n{body}" if body else ""))
    if isinstance(exc, (ssl.SSLError, ssl.CertificateError)):
        hint = ""
        if getattr(exc, "reason", None) == "WRONG_VERSION_NUMBER":
            hint = " (does the server speak TLS? ws:// is without)"
        return _Exit(EXIT_TLS, f"TLS error: {exc}{hint}")
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return _Exit(EXIT_TIMEOUT, f"timeout: {exc}" if str(exc) else "timeout")
    if isinstance(exc, socket.gaierror):
        return _Exit(EXIT_NETWORK, f"DNS failure: {exc.strerror or exc}")
    if isinstance(exc, OSError):
        return _Exit(EXIT_NETWORK, exc.strerror or str(exc))
    if isinstance(exc, ValueError):
        return _Exit(EXIT_USAGE, str(exc))
    return _Exit(EXIT_ERROR, f"{type(exc).__name__}: {exc}")


class _Client:
    """One run of ``fastws URL``."""

    def __init__(self, args: argparse.Namespace, console: _Console) -> None:
        self.args = args
        self.console = console
        self.ws: Any = None
        self.we_closed = False
        self.interrupted = False
        self.lines: asyncio.Queue[Union[str, bytes] | None] = asyncio.Queue(64)

    # ----------------------------------------------------------- opening

    def trace(self, kind: str, data: bytes) -> None:
        console = self.console
        if kind in ("response", "proxy-response"):
            console.last_response_head = data
        if not console.verbose:
            return
        if kind == "proxy-request":
            console.info("CONNECT tunnel through the proxy")
        console.head(">" if kind.endswith("request") else "<", data)

    async def open(self) -> Any:
        from fastws.asyncio import connect

        args = self.args
        url = args.url
        try:
            from fastws.urls import parse_uri

            uri = parse_uri(url)
        except InvalidURI as exc:
            raise _Exit(EXIT_USAGE, f"invalid URL: {exc}") from None
        target = f"[{uri.host}]:{uri.port}" if ":" in uri.host else f"{uri.host}:{uri.port}"
        context = _ssl_context(args) if uri.secure else None
        self.console.info(f"{PROG} {__version__}, backend {_backend_name()}")
        self.console.info(f"connecting to {target}")
        try:
            ws = await connect(
                url,
                origin=args.origin,
                subprotocols=args.subprotocols or None,
                additional_headers=args.headers,
                compression="deflate" if args.compress else None,
                proxy=args.proxy,
                ssl=context,
                open_timeout=args.timeout or None,
                ping_interval=args.ping_interval or None,
                max_size=args.max_size or None,
                trace=self.trace,
            )
        except Exception as exc:
            raise _connect_error(exc, target, self.console) from None
        self.ws = ws
        console = self.console
        remote = ws.remote_address
        if isinstance(remote, tuple) and len(remote) >= 2:
            host = f"[{remote[0]}]" if ":" in str(remote[0]) else str(remote[0])
            console.info(f"connected to {host}:{remote[1]}")
        tls = ws.transport.get_extra_info("ssl_object") if ws.transport is not None else None
        if tls is not None:
            cipher = tls.cipher()
            console.info(f"TLS: {tls.version()}, {cipher[0] if cipher else '?'}")
        if ws.subprotocol is not None:
            console.info(f"subprotocol: {ws.subprotocol}")
        extensions = ", ".join(
            "; ".join([name] + [k if v is None else f"{k}={v}" for k, v in params])
            for name, params in ws.extensions
        )
        console.info(f"extensions: {extensions or 'none'}")
        return ws

    # ------------------------------------------------------------ running

    async def receive(self) -> None:
        """Print every message until the connection is closed."""
        ws = self.ws
        while True:
            try:
                message = await ws.recv()
            except ConnectionClosed:
                return
            self.console.message(message)

    def encode(self, line: Union[str, bytes]) -> Union[str, bytes]:
        """A line of input as the message to send (text must be UTF-8)."""
        if self.args.binary:
            return line.encode() if isinstance(line, str) else line
        if isinstance(line, bytes):
            try:
                return line.decode()
            except UnicodeDecodeError:
                raise _Exit(
                    EXIT_ERROR, "stdin is not valid UTF-8: use --binary to send bytes"
                ) from None
        return line

    async def send(self, message: Union[str, bytes]) -> bool:
        """Send one message; False once the connection is closed."""
        try:
            await self.ws.send(message)
        except ConnectionClosed:
            return False
        if self.console.verbose and not self.console.interactive:
            shown = message if isinstance(message, str) else f"[binary {len(message)} bytes]"
            self.console.err(f"> {shown}")
        return True

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.we_closed = True
        await self.ws.close(code, reason)

    async def command(self, line: str) -> bool:
        """An interactive ``/command``; False when it closed the connection."""
        console = self.console
        name, _, rest = line[1:].partition(" ")
        if name == "ping":
            try:
                latency = await asyncio.wait_for(self.ws.ping(rest or None), 10)
            except ConnectionClosed:
                return False
            except (asyncio.TimeoutError, TimeoutError):
                console.err("* no pong within 10 s")
                return True
            except ValueError as exc:
                console.err(f"* {exc}")
                return True
            console.err(f"* pong after {latency * 1000:.3f} ms")
            return True
        if name == "close":
            code_text, _, reason = rest.strip().partition(" ")
            try:
                code = int(code_text) if code_text else 1000
                await self.close(code, reason)
            except ValueError as exc:
                console.err(f"* cannot close: {exc}")
                return True
            return False
        if name in ("help", "?"):
            console.err(
                "* /ping [payload]   send a ping, show the latency\n"
                "* /close [code [reason]]   close the connection\n"
                "* //text   send a message starting with /\n"
                "* Ctrl-D   close with 1000; Ctrl-C: 1001"
            )
            return True
        console.err(f"* unknown command /{name} (type /help; //{name} sends '/{name}')")
        return True

    async def converse(self, receiver: asyncio.Task[None]) -> None:
        """Send the lines of the input until its end or the end of the connection."""
        interactive = self.console.interactive
        while True:
            getter = asyncio.ensure_future(self.lines.get())
            try:
                await asyncio.wait({getter, receiver}, return_when=asyncio.FIRST_COMPLETED)
            except asyncio.CancelledError:
                getter.cancel()
                raise
            if not getter.done():
                getter.cancel()
                return  # the server closed the connection
            line = getter.result()
            if line is None:
                break
            if interactive and isinstance(line, str) and line.startswith("/"):
                if line.startswith("//"):
                    line = line[1:]
                elif not await self.command(line):
                    return
                else:
                    continue
            try:
                message = self.encode(line)
            except _Exit:
                await self.close(1000)
                raise
            if not await self.send(message):
                return
        if not interactive and self.args.wait > 0:
            await asyncio.wait({receiver}, timeout=self.args.wait)
        if not receiver.done():
            await self.close(1000)

    async def one_message(self, data: bytes) -> None:
        """``-1``: send ``data`` as one message, print the first reply."""
        message: Union[str, bytes]
        if self.args.binary:
            message = data
        else:
            text = self.encode(data)
            assert isinstance(text, str)
            if text.endswith("\r\n"):
                text = text[:-2]
            elif text.endswith("\n"):
                text = text[:-1]
            message = text
        if not await self.send(message):
            raise self.closed_early()
        try:
            reply = await asyncio.wait_for(self.ws.recv(), self.args.timeout or None)
        except (asyncio.TimeoutError, TimeoutError):
            await self.close(1000)
            raise _Exit(EXIT_TIMEOUT, f"timeout: no reply within {self.args.timeout:g} s") from None
        except ConnectionClosed:
            raise self.closed_early() from None
        self.console.message(reply, bare=True)
        await self.close(1000)

    def closed_early(self) -> _Exit:
        code, reason = self.ws.close_code or 1006, self.ws.close_reason or ""
        return _Exit(
            EXIT_CLOSED,
            f"the connection closed before the reply: {_describe_close(code, reason)}",
        )

    def report(self) -> int:
        """Print how the connection ended; the exit status."""
        ws = self.ws
        code = ws.close_code if ws.close_code is not None else 1006
        reason = ws.close_reason or ""
        ok = code in _OK_CODES
        who = "" if self.we_closed or code == 1006 else " by the server"
        text = f"connection closed{who}: {_describe_close(code, reason)}"
        protocol = ws.protocol
        sent = protocol.close_sent
        if protocol.close_received is None and sent is not None and sent[0] not in _OK_CODES:
            # We failed the connection (RFC 6455 §7.1.7): say why.
            error = protocol.error
            text = f"connection failed: sent {_describe_close(*sent)}"
            if error is not None:
                text += f": {error}"
        if self.console.interactive:
            self.console.last_line = True
            self.console.err(f"* {text}")
            self.console.finished = True
        elif self.console.verbose:
            self.console.err(f"* {text}")
        elif not ok:
            self.console.err(f"{PROG}: {text}")
        if self.interrupted:
            return EXIT_INTERRUPTED
        return EXIT_OK if ok else EXIT_CLOSED


def _read_lines(
    loop: asyncio.AbstractEventLoop,
    queue: asyncio.Queue[Union[str, bytes] | None],
    console: _Console,
) -> None:
    """Thread: put the lines of stdin on ``queue`` (None at the end).

    Interactive: ``input()`` (readline). Otherwise ``os.read`` on fd 0, not
    ``sys.stdin``: a thread blocked in a buffered reader would hold its lock
    at interpreter shutdown.
    """

    def put(item: Union[str, bytes] | None) -> bool:
        future = asyncio.run_coroutine_threadsafe(queue.put(item), loop)
        try:
            future.result()
        except Exception:  # the loop is gone
            return False
        return True

    if console.interactive:
        while True:
            try:
                console.prompting = True
                line: str | None = input(console.prompt)
            except EOFError:
                line = None
            except Exception:  # pragma: no cover - e.g. the terminal went away
                line = None
            finally:
                console.prompting = False
            if line is None:
                with console.lock:
                    sys.stdout.write("\n")
                    sys.stdout.flush()
            if not put(line) or line is None:
                return
    pending = b""
    fd = sys.stdin.fileno()
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            chunk = b""
        if not chunk:
            if pending and not put(pending[:-1] if pending.endswith(b"\r") else pending):
                return
            put(None)
            return
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for raw in complete:
            if not put(raw[:-1] if raw.endswith(b"\r") else raw):
                return


async def _run_client(args: argparse.Namespace, console: _Console, stdin: bytes | None) -> int:
    loop = asyncio.get_running_loop()
    client = _Client(args, console)
    main_task = asyncio.current_task()
    assert main_task is not None
    signals = 0

    def on_signal() -> None:
        nonlocal signals
        signals += 1
        client.interrupted = True
        if signals == 1:
            main_task.cancel()
        elif client.ws is not None and client.ws.transport is not None:
            client.ws.transport.abort()

    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGINT, on_signal)
    try:
        try:
            ws = await client.open()
        except asyncio.CancelledError:
            _uncancel(main_task)
            raise _Exit(EXIT_INTERRUPTED, "interrupted") from None
        if console.interactive:
            console.err(f"* connected to {args.url} (Ctrl-D to close, /help for commands)")
        if stdin is not None:
            try:
                await client.one_message(stdin)
            except asyncio.CancelledError:
                _uncancel(main_task)
                if ws.close_code is None and not client.we_closed:
                    with contextlib.suppress(ConnectionClosed):
                        await client.close(1001)
            return client.report()
        receiver = asyncio.ensure_future(client.receive())
        try:
            reader = threading.Thread(
                target=_read_lines, args=(loop, client.lines, console), daemon=True
            )
            reader.start()
            await client.converse(receiver)
            await receiver
        except asyncio.CancelledError:
            # Ctrl-C: close with 1001 (going away), still printing what arrives.
            _uncancel(main_task)
            if ws.close_code is None and not client.we_closed:
                with contextlib.suppress(ConnectionClosed):
                    await client.close(1001)
            await asyncio.wait({receiver}, timeout=1)
        finally:
            if not receiver.done():
                receiver.cancel()
        return client.report()
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGINT)


def _uncancel(task: asyncio.Task[Any]) -> None:
    """Forget a cancellation that was handled (Python 3.11+ counts them)."""
    uncancel = getattr(task, "uncancel", None)
    if uncancel is not None:
        uncancel()


def _client_main(argv: list[str]) -> int:
    args = _client_parser().parse_args(argv)
    _configure_logging(args.verbose)
    interactive = sys.stdin.isatty() and sys.stdout.isatty() and not args.one_message
    console = _Console(interactive=interactive, verbose=args.verbose, base64_binary=args.base64)
    stdin = sys.stdin.buffer.read() if args.one_message else None
    saved = None
    if interactive:
        with contextlib.suppress(Exception):
            import termios

            saved = termios.tcgetattr(sys.stdin.fileno())
    try:
        return asyncio.run(_run_client(args, console, stdin))
    finally:
        if saved is not None:
            # readline may be interrupted in the middle of a line: give the
            # terminal back in the mode it was found in.
            import termios

            with contextlib.suppress(Exception):
                termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, saved)


# ------------------------------------------------------------------- server


async def _run_server(args: argparse.Namespace) -> int:
    from fastws.asyncio import serve

    loop = asyncio.get_running_loop()
    verbose = args.verbose
    clients: set[Any] = set()
    stop = asyncio.Event()
    signals = 0
    lock = threading.Lock()

    def err(text: str) -> None:
        with lock:
            sys.stderr.write(text if text.endswith("\n") else text + "\n")
            sys.stderr.flush()

    def peer(ws: Any) -> str:
        remote = ws.remote_address
        if isinstance(remote, tuple) and len(remote) >= 2:
            host = f"[{remote[0]}]" if ":" in str(remote[0]) else str(remote[0])
            return f"{host}:{remote[1]}"
        return str(remote)

    def trace(ws: Any, kind: str, data: bytes) -> None:
        if not verbose:
            return
        end = data.find(b"\r\n\r\n")
        head = data if end < 0 else data[: end + 4]
        lines = head.decode("latin-1").split("\r\n")
        if lines and lines[-1] == "":
            lines.pop()
        prefix = "<" if kind == "request" else ">"
        text = "".join(f"{prefix} {line}".rstrip() + "\n" for line in lines)
        title = "handshake request from" if kind == "request" else "handshake response to"
        err(f"* {title} {peer(ws)}\n" + _escape(text))

    async def handler(ws: Any) -> None:
        name = peer(ws)
        clients.add(ws)
        if verbose:
            extensions = ", ".join(e[0] for e in ws.extensions) or "none"
            err(f"* {name} connected (subprotocol: {ws.subprotocol}, extensions: {extensions})")
        try:
            async for message in ws:
                if args.mode == "echo":
                    await ws.send(message)
                else:
                    for other in list(clients):
                        with contextlib.suppress(ConnectionClosed):
                            await other.send(message)
        finally:
            clients.discard(ws)
            if verbose:
                await ws.wait_closed()
                code = ws.close_code if ws.close_code is not None else 1006
                err(f"* {name} closed: {_describe_close(code, ws.close_reason or '')}")

    def on_signal() -> None:
        nonlocal signals
        signals += 1
        stop.set()
        if signals > 1:  # a second signal: do not wait for the peers
            for ws in list(server.connections):
                if ws.transport is not None:
                    ws.transport.abort()

    context = None
    if args.certfile:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(args.certfile, args.keyfile)
        except (OSError, ssl.SSLError) as exc:
            raise _Exit(EXIT_USAGE, f"cannot load --certfile/--keyfile: {exc}") from None
    try:
        server = await serve(
            handler,
            args.host,
            args.port,
            subprotocols=args.subprotocols or None,
            compression="deflate" if args.compress else None,
            ping_interval=args.ping_interval or None,
            max_size=args.max_size or None,
            trace=trace,
            ssl=context,
        )
    except OSError as exc:
        raise _Exit(
            EXIT_NETWORK, f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}"
        ) from None
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, on_signal)
    scheme = "wss" if context is not None else "ws"
    with lock:
        for sock in server.sockets:
            address = sock.getsockname()
            host = f"[{address[0]}]" if sock.family == socket.AF_INET6 else address[0]
            sys.stdout.write(f"listening on {scheme}://{host}:{address[1]}/\n")
        sys.stdout.flush()
    try:
        await stop.wait()
    finally:
        if verbose:
            err(f"* shutting down: closing {len(server.connections)} connection(s) with 1001")
        server.close()
        await server.wait_closed()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
    return EXIT_OK


def _serve_main(argv: list[str]) -> int:
    args = _serve_parser().parse_args(argv)
    if not 0 <= args.port <= 65535:
        raise _Exit(EXIT_USAGE, f"invalid port: {args.port}")
    _configure_logging(args.verbose)
    return asyncio.run(_run_server(args))


# ------------------------------------------------------------- small ones


def _accept_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog=f"{PROG} accept",
        description="Print the Sec-WebSocket-Accept value for a Sec-WebSocket-Key "
        "(RFC 6455 §4.2.2: base64(SHA-1(key + GUID))).",
    )
    parser.add_argument("key", metavar="KEY")
    args = parser.parse_args(argv)
    from fastws import _backend

    accept = _backend.KERNELS.accept
    try:
        value = accept.accept_key(args.key)
    except ValueError as exc:
        raise _Exit(EXIT_USAGE, f"invalid key: {exc}") from None
    if not accept.is_valid_key(args.key):
        sys.stderr.write(
            f"{PROG}: warning: {args.key!r} is not a valid Sec-WebSocket-Key "
            "(base64 of 16 bytes); a server would refuse it\n"
        )
    print(value)
    return EXIT_OK


def _key_main(argv: list[str]) -> int:
    argparse.ArgumentParser(
        prog=f"{PROG} key",
        description="Print a fresh Sec-WebSocket-Key (RFC 6455 §4.1: base64 of 16 random bytes).",
    ).parse_args(argv)
    from fastws import _backend

    print(_backend.KERNELS.accept.generate_key())
    return EXIT_OK


def _backend_main(argv: list[str]) -> int:
    argparse.ArgumentParser(
        prog=f"{PROG} backend",
        description="Print the active backend: c (the compiled fastws_c kernels) or python "
        "(FASTWS_NO_EXTENSIONS=1, or fastws_c not installed).",
    ).parse_args(argv)
    print(_backend_name())
    return EXIT_OK


def _configure_logging(verbose: int) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose >= 2 else logging.WARNING,
        format=f"{PROG}: %(name)s: %(message)s",
        stream=sys.stderr,
    )


_MAINS: dict[str, Callable[[list[str]], int]] = {
    "serve": _serve_main,
    "accept": _accept_main,
    "key": _key_main,
    "backend": _backend_main,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    with contextlib.suppress(AttributeError, ValueError):
        sys.stdout.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
    try:
        if args and args[0] in _MAINS:
            return _MAINS[args[0]](args[1:])
        return _client_main(args)
    except _Exit as exc:
        if exc.message:
            sys.stdout.flush()
            sys.stderr.write(f"{PROG}: {exc.message}\n")
            sys.stderr.flush()
        return exc.status
    except SystemExit as exc:  # argparse: --help, --version, usage errors
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else EXIT_USAGE)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # stdout went away (| head): leave quietly, as other tools do.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR
