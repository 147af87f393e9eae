"""Echo server: fastws (``fastws.asyncio.serve``), the websockets-style handler.

    python bench/e2e/server_fastws.py --loop uvloop --port 0 [--tls CERT KEY] [--compression]
"""

from __future__ import annotations

from _common import run_websockets_style_server


def main() -> None:
    from fastws.asyncio import serve

    run_websockets_style_server(serve, __doc__ or "")


if __name__ == "__main__":
    main()
