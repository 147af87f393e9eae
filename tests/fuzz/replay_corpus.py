"""Replays the seed corpora (tests/fuzz/corpus/<target>/) through the fuzz targets.

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
# a target per kernel, and fuzz_dispatch (fastws_c.dispatch against the
# reference read path; it runs the helpers of tests/test_asyncio_dispatch.py)
TARGETS = ("mask", "accept", "http", "frames", "utf8", "close", "dispatch")

if HERE not in sys.path:
    sys.path.insert(0, HERE)

if os.environ.get("FASTWS_NO_EXTENSIONS", "") not in ("", "0"):
    pytest.skip("pure-only run: the targets compare against fastws_c", allow_module_level=True)


def _seeds() -> list[Any]:
    cases = []
    for target in TARGETS:
        directory = os.path.join(HERE, "corpus", target)
        for name in sorted(os.listdir(directory)):
            cases.append(pytest.param(target, os.path.join(directory, name), id=f"{target}/{name}"))
    return cases


@pytest.mark.parametrize(("target", "path"), _seeds())
def test_seed(target: str, path: str) -> None:
    module = importlib.import_module(f"fuzz_{target}")
    with open(path, "rb") as f:
        module.test_one_input(f.read())


def test_every_target_has_seeds() -> None:
    for target in TARGETS:
        assert os.listdir(os.path.join(HERE, "corpus", target)), target
