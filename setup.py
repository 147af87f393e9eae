"""Build script: cythonizes every ``fastws_c/*.pyx``.

Environment switches:

* ``FASTWS_NO_EXTENSIONS=1``      build nothing; the package is pure Python.
* ``FASTWS_REQUIRE_EXTENSIONS=1`` a failed compilation is a hard error (CI uses it).
* ``FASTWS_BUILD_ONLY=mask,utf8`` build only these modules (development convenience).

Without ``FASTWS_REQUIRE_EXTENSIONS`` a compiler failure is reported and the
install goes on with the pure-Python backend.

C sources that belong to a module ``fastws_c/NAME.pyx`` are the files
``fastws_c/NAME_*.c`` (for example SIMD kernels); they are compiled into the
same extension.
"""

from __future__ import annotations

import glob
import os
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


def _flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0")


NO_EXTENSIONS = _flag("FASTWS_NO_EXTENSIONS")
REQUIRE_EXTENSIONS = _flag("FASTWS_REQUIRE_EXTENSIONS")
BUILD_ONLY = {m for m in os.environ.get("FASTWS_BUILD_ONLY", "").split(",") if m}
HERE = os.path.dirname(os.path.abspath(__file__))


def _extensions() -> list[Extension]:
    if NO_EXTENSIONS:
        return []
    extensions = []
    for pyx in sorted(glob.glob(os.path.join(HERE, "fastws_c", "*.pyx"))):
        name = os.path.splitext(os.path.basename(pyx))[0]
        if BUILD_ONLY and name not in BUILD_ONLY:
            continue
        sources = [os.path.relpath(pyx, HERE)]
        sources += sorted(
            os.path.relpath(c, HERE)
            for c in glob.glob(os.path.join(HERE, "fastws_c", f"{name}_*.c"))
        )
        extensions.append(
            Extension(
                f"fastws_c.{name}",
                sources,
                include_dirs=[os.path.join(HERE, "fastws_c")],
                extra_compile_args=["-O3", "-fno-strict-aliasing"]
                if sys.platform != "win32"
                else ["/O2"],
            )
        )
    if not extensions:
        return []
    from Cython.Build import cythonize

    return cythonize(
        extensions,
        compiler_directives={
            "language_level": "3",
            "binding": True,
            "embedsignature": True,
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
    )


class OptionalBuildExt(build_ext):
    """Builds the extensions, or falls back to pure Python when that fails."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # noqa: BLE001 - any compiler trouble
            self._fallback(exc)

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:  # noqa: BLE001
            self._fallback(exc)

    def _fallback(self, exc: BaseException) -> None:
        if REQUIRE_EXTENSIONS:
            raise exc
        sys.stderr.write(
            "\n*** fastws: building the C extension failed "
            f"({exc}); installing the pure-Python backend only. ***\n\n"
        )


setup(ext_modules=_extensions(), cmdclass={"build_ext": OptionalBuildExt})
