"""Chooses the kernels once, at import: the compiled twins or the pure ones.

``fastws_c`` is used when it is installed and ``FASTWS_NO_EXTENSIONS`` is not
set (to anything but ``0``). The choice is all or nothing, so ``backend``
names the one implementation every kernel comes from. Everything else in
fastws takes its kernels from ``KERNELS`` here.

``load("python")`` / ``load("c")`` build the namespace of one backend
explicitly; the connections accept one (a private ``_kernels`` argument) so
the test-suite can run every protocol test against both backends in one run.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

__all__ = ["Kernels", "load", "KERNELS", "backend", "NO_EXTENSIONS"]

NO_EXTENSIONS = os.environ.get("FASTWS_NO_EXTENSIONS", "") not in ("", "0")
_PACKAGES = {"python": "fastws", "c": "fastws_c"}


class Kernels:
    """The kernel modules of one backend, with their hot entry points."""

    def __init__(self, name: str) -> None:
        package = _PACKAGES[name]

        def kernel(module: str) -> ModuleType:
            return importlib.import_module(f"{package}.{module}")

        self.name = name
        self.mask = kernel("mask")
        self.accept = kernel("accept")
        self.http = kernel("http")
        self.frames = kernel("frames")
        self.utf8 = kernel("utf8")
        self.close = kernel("close")

    def __repr__(self) -> str:
        return f"<fastws kernels: {self.name}>"


_loaded: dict[str, Kernels] = {}


def load(name: str) -> Kernels:
    """The kernels of backend ``name`` (``"python"`` or ``"c"``); ImportError if absent."""
    if name not in _loaded:
        _loaded[name] = Kernels(name)
    return _loaded[name]


def _choose() -> Kernels:
    if not NO_EXTENSIONS:
        try:
            return load("c")
        except ImportError:
            pass
    return load("python")


KERNELS = _choose()
backend = KERNELS.name
