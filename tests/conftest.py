"""Shared test harness: every kernel test runs against both backends.

The ``backend`` fixture is parametrized with the ids ``python`` and ``c`` and
returns a namespace whose attributes are the kernel modules of that backend
(``backend.mask``, ``backend.accept``, ``backend.http``, ``backend.frames``,
``backend.utf8``, ``backend.close``).

With ``FASTWS_NO_EXTENSIONS=1`` (the fallback run of ``make test``) the ``c``
backend is not collected at all and ``fastws_c`` is made unimportable, which
proves the pure package stands alone. In every other run a missing or broken
``fastws_c`` is an error, never a silent skip.
"""

from __future__ import annotations

import importlib
import importlib.abc
import os
import sys

import pytest
from hypothesis import HealthCheck, settings

# No deadlines: the machines are small and shared; speed lives in bench/.
settings.register_profile(
    "default", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
# CI is reproducible: the same examples every run (derandomize), still no deadline.
settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

KERNELS = ("mask", "accept", "http", "frames", "utf8", "close")
NO_EXTENSIONS = os.environ.get("FASTWS_NO_EXTENSIONS", "") not in ("", "0")


class _BlockCompiledTwins(importlib.abc.MetaPathFinder):
    """Makes ``import fastws_c`` fail, as on a machine without a compiler."""

    def find_spec(self, fullname, path, target=None):  # type: ignore[no-untyped-def]
        if fullname == "fastws_c" or fullname.startswith("fastws_c."):
            raise ImportError(f"{fullname} is blocked: FASTWS_NO_EXTENSIONS=1 run")
        return None


if NO_EXTENSIONS:
    sys.meta_path.insert(0, _BlockCompiledTwins())
    for _name in [m for m in sys.modules if m == "fastws_c" or m.startswith("fastws_c.")]:
        del sys.modules[_name]

BACKEND_IDS = ("python",) if NO_EXTENSIONS else ("python", "c")
_PACKAGE = {"python": "fastws", "c": "fastws_c"}


class Backend:
    """The kernel modules of one backend, imported on first use."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.package = _PACKAGE[name]

    def __getattr__(self, kernel: str):  # type: ignore[no-untyped-def]
        if kernel not in KERNELS:
            raise AttributeError(kernel)
        module = importlib.import_module(f"{self.package}.{kernel}")
        setattr(self, kernel, module)
        return module

    def __repr__(self) -> str:
        return f"<backend {self.name}>"


def load_backend(name: str) -> Backend:
    """The kernel modules of backend ``name`` (``python`` or ``c``)."""
    return Backend(name)


@pytest.fixture(params=BACKEND_IDS, scope="session")
def backend(request: pytest.FixtureRequest) -> Backend:
    return load_backend(request.param)


@pytest.fixture(scope="session")
def both_backends() -> tuple[Backend, ...]:
    """All active backends at once, for differential tests (python first)."""
    return tuple(load_backend(name) for name in BACKEND_IDS)


@pytest.fixture(params=BACKEND_IDS, scope="session")
def kernels(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """``fastws._backend.load(name)`` for each backend: what the connections take
    as their private ``_kernels`` argument, so protocol tests run on both."""
    from fastws import _backend

    return _backend.load(request.param)


@pytest.fixture(params=BACKEND_IDS)
def use_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Makes backend ``python`` or ``c`` the active one for this test.

    Connections resolve ``fastws._backend.KERNELS`` when they are created, so
    every layer above the sans-IO core (asyncio client and server, CLI run
    in-process, uvicorn protocol) runs on the chosen backend. Returns its name.
    For a subprocess, pass ``FASTWS_NO_EXTENSIONS=1`` for ``python`` instead.
    """
    from fastws import _backend

    monkeypatch.setattr(_backend, "KERNELS", _backend.load(request.param))
    monkeypatch.setattr(_backend, "backend", request.param)
    return request.param
