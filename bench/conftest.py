"""pytest-benchmark harness for the kernel table.

Every benchmark calls the ``measure`` fixture::

    def test_mask(measure, impl, size):
        measure("mask", f"{size} B", impl, func, *args)

``kernel`` names the table, ``case`` the column and ``impl`` the row
(``fastws[c]``, ``fastws[python]``, a peer such as ``aiohttp``, or a reference
such as ``bytes copy``). ``bench/report.py`` turns the JSON that pytest-benchmark
saves into the comparison table with ratios. Peers that are not installed are
reported as missing rather than silently dropped.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any, Callable

import pytest

sys.path.insert(0, os.path.dirname(__file__))


def peer(module: str) -> Any:
    """Imports a peer library, or skips this one benchmark with the reason."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the bench extra
        pytest.skip(f"peer {module} not installed: {exc}")


@pytest.fixture
def measure(benchmark: Any) -> Callable[..., Any]:
    def run(kernel: str, case: str, impl: str, func: Callable[..., Any], *args: Any) -> Any:
        benchmark.group = f"{kernel}: {case}"
        benchmark.name = impl
        benchmark.extra_info.update(kernel=kernel, case=case, impl=impl)
        return benchmark(func, *args)

    return run
