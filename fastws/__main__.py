"""``python -m fastws``: the ``fastws`` command line (see :mod:`fastws.cli`)."""

from __future__ import annotations

from fastws.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
