"""Replays the seed corpora (tests/fuzz/corpus/<kernel>/) through the fuzz targets.

Part of ``make asan-test``, which names this file explicitly (it is not
collected by a plain ``pytest``: its name does not match ``test_*.py``, and
the targets put the source tree first on ``sys.path``, which an
installed-wheel test run must not do).  The seeds run with the exact-fit
buffers of the targets, whose last byte is the last byte of a heap block: a
1-byte over-read that ``bytes``/``bytearray`` inputs hide (they always own a
spare byte) is reported by ASan here.  The targets do not import atheris
when imported this way.

    python -m pytest tests/fuzz/replay_corpus.py -q     # on the in-place build
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
KERNELS = ("mask", "accept", "http", "frames", "utf8", "close")

if HERE not in sys.path:
    sys.path.insert(0, HERE)

if os.environ.get("FASTWS_NO_EXTENSIONS", "") not in ("", "0"):
    pytest.skip("pure-only run: the targets compare against fastws_c", allow_module_level=True)


def _seeds() -> list[Any]:
    cases = []
    for kernel in KERNELS:
        directory = os.path.join(HERE, "corpus", kernel)
        for name in sorted(os.listdir(directory)):
            cases.append(pytest.param(kernel, os.path.join(directory, name), id=f"{kernel}/{name}"))
    return cases


@pytest.mark.parametrize(("kernel", "path"), _seeds())
def test_seed(kernel: str, path: str) -> None:
    target = importlib.import_module(f"fuzz_{kernel}")
    with open(path, "rb") as f:
        target.test_one_input(f.read())


def test_every_kernel_has_seeds() -> None:
    for kernel in KERNELS:
        assert os.listdir(os.path.join(HERE, "corpus", kernel)), kernel
