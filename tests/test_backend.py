"""The backend switch: ``fastws.backend``, ``FASTWS_NO_EXTENSIONS`` and the
installed-package check used by ``make wheel-test``."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig

import pytest
from conftest import BACKEND_IDS, NO_EXTENSIONS

import fastws
from fastws import _backend


def _run(code: str, **env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k != "FASTWS_NO_EXTENSIONS"}
    environ.update(env)
    out = subprocess.run(
        [sys.executable, "-c", code], env=environ, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_backend_is_the_compiled_one_unless_disabled() -> None:
    expected = "python" if NO_EXTENSIONS else "c"
    assert fastws.backend == expected
    assert _backend.KERNELS.name == expected


def test_public_entry_points_come_from_the_active_backend() -> None:
    package = "fastws" if fastws.backend == "python" else "fastws_c"
    assert fastws.apply_mask.__module__ == f"{package}.mask"
    assert fastws.accept_key.__module__ == f"{package}.accept"
    assert fastws.generate_key.__module__ == f"{package}.accept"


def test_no_extensions_switch_selects_python_in_a_fresh_interpreter() -> None:
    assert _run("import fastws; print(fastws.backend)", FASTWS_NO_EXTENSIONS="1") == "python"


@pytest.mark.skipif("c" not in BACKEND_IDS, reason="pure-only run: fastws_c is blocked on purpose")
def test_compiled_backend_is_chosen_by_default_in_a_fresh_interpreter() -> None:
    assert _run("import fastws; print(fastws.backend)") == "c"
    assert _run("import fastws; print(fastws.backend)", FASTWS_NO_EXTENSIONS="0") == "c"


@pytest.mark.skipif(not NO_EXTENSIONS, reason="only the pure-only run blocks fastws_c")
def test_pure_only_run_really_has_no_compiled_twin() -> None:
    with pytest.raises(ImportError):
        import fastws_c.mask  # noqa: F401


@pytest.mark.skipif(
    os.environ.get("FASTWS_EXPECT_INSTALLED") != "1",
    reason="only `make wheel-test` tests the installed wheel",
)
def test_tests_run_against_the_installed_wheel() -> None:
    site = sysconfig.get_paths()["purelib"]
    assert os.path.realpath(fastws.__file__).startswith(os.path.realpath(site))
    import fastws_c.mask

    assert os.path.realpath(fastws_c.mask.__file__).startswith(os.path.realpath(site))
    assert fastws_c.mask.__file__.endswith((".so", ".pyd"))
