"""The promise of the design: the pure twin and fastws_c expose the same API.

For every kernel module, the public names (``__all__``) are the same, and every
public function, class and method has the same ``inspect.signature`` in both;
constants have equal values. Runs only when the compiled backend is present
(it is the parity *between* the two), hence no ``backend`` parameter.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import pytest
from conftest import BACKEND_IDS, KERNELS

pytestmark = pytest.mark.skipif(
    "c" not in BACKEND_IDS, reason="pure-only run (FASTWS_NO_EXTENSIONS=1): no twin to compare"
)


def _signature(obj: Any) -> inspect.Signature | None:
    try:
        return inspect.signature(obj)
    except (TypeError, ValueError):
        return None


def _public_members(cls: type) -> dict[str, Any]:
    return {
        name: value
        for name, value in vars(cls).items()
        if not name.startswith("_") or name in ("__init__", "__call__")
    }


def _pair(kernel: str) -> tuple[Any, Any]:
    pure = importlib.import_module(f"fastws.{kernel}")
    return pure, importlib.import_module(f"fastws_c.{kernel}")


@pytest.mark.parametrize("kernel", KERNELS)
def test_same_public_names(kernel: str) -> None:
    pure, compiled = _pair(kernel)
    assert hasattr(pure, "__all__"), f"fastws.{kernel} has no __all__"
    assert hasattr(compiled, "__all__"), f"fastws_c.{kernel} has no __all__"
    assert sorted(pure.__all__) == sorted(compiled.__all__)
    for name in pure.__all__:
        assert hasattr(compiled, name), f"fastws_c.{kernel}.{name} is missing"


@pytest.mark.parametrize("kernel", KERNELS)
def test_same_signatures_and_values(kernel: str) -> None:
    pure, compiled = _pair(kernel)
    for name in pure.__all__:
        p, c = getattr(pure, name), getattr(compiled, name)
        if p is c:  # shared object (an exception class, a NamedTuple re-exported)
            continue
        if inspect.isclass(p):
            assert inspect.isclass(c), f"{kernel}.{name}: class vs {type(c)}"
            sp, sc = _signature(p), _signature(c)
            assert sp is not None, f"fastws.{kernel}.{name} has no signature"
            assert sc is not None, f"fastws_c.{kernel}.{name} has no signature"
            assert str(sp) == str(sc), f"{kernel}.{name}{sp} != {sc}"
            pm = _public_members(p)
            missing = {m for m in pm if not m.startswith("__")} - set(dir(c))
            assert not missing, f"fastws_c.{kernel}.{name} lacks {sorted(missing)}"
            for member, value in pm.items():
                if member.startswith("__") or not callable(value):
                    continue
                sp, sc = _signature(value), _signature(getattr(c, member))
                assert sp is not None and sc is not None, f"{kernel}.{name}.{member}: no signature"
                assert str(sp) == str(sc), f"{kernel}.{name}.{member}{sp} != {sc}"
        elif callable(p):
            sp, sc = _signature(p), _signature(c)
            assert sp is not None, f"fastws.{kernel}.{name} has no signature"
            assert sc is not None, f"fastws_c.{kernel}.{name} has no signature"
            assert str(sp) == str(sc), f"{kernel}.{name}{sp} != {sc}"
        else:
            assert p == c, f"{kernel}.{name}: {p!r} != {c!r}"
