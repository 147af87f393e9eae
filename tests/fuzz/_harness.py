"""Shared plumbing of the differential fuzz targets in ``tests/fuzz/``.

Every target feeds the same fuzz input to the pure-Python kernel
(``fastws.<kernel>``, instrumented by atheris for coverage) and to its
compiled twin (``fastws_c.<kernel>``) and requires identical results, or
the identical exception (type, message, and ``code``/``status``).  An
exception type outside the kernel's contract fails the target even when both
backends raise it.

Run them through ``make fuzz`` (``tools/sanitize.py fuzz``), which builds the
C kernels with AddressSanitizer + UndefinedBehaviorSanitizer into
``build/asan/lib`` and preloads atheris's ``asan_with_fuzzer.so``.  The
environment variable ``FASTWS_SANITIZED_LIB`` names that directory; when it is
set the target refuses to run on any other build of ``fastws_c``.  Without it
a target runs on whatever ``fastws_c`` the source tree has (the in-place
build): useful for a quick look, but then nothing checks memory accesses.

Coverage guidance comes from the pure twin, whose bytecode atheris
instruments: it implements the same rules, so inputs that reach new branches
there reach the matching code in C.  The GCC-built C code itself carries no
coverage counters (libFuzzer's need clang), so what only the C side has --
the SIMD variant, lengths around vector widths, alignment, exact-fit vs.
spare-byte buffers, chunking -- is an explicit field of every input layout.

Inputs are decoded with :class:`Reader`, a fixed little layout per target
(documented in each target) rather than ``atheris.FuzzedDataProvider``, so
that ``tests/fuzz/make_corpus.py`` can write meaningful seed files, which
``tests/fuzz/replay_corpus.py`` replays under ``make asan-test`` (imported
that way a target does not touch atheris).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from typing import Any, Callable, ContextManager

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SANITIZED_LIB = os.environ.get("FASTWS_SANITIZED_LIB", "")


def setup_path() -> None:
    """Puts the sanitized build (if any) first on ``sys.path``, then the repo root."""
    for entry in (ROOT, SANITIZED_LIB):
        if entry and entry in sys.path:
            sys.path.remove(entry)
    sys.path.insert(0, ROOT)
    if SANITIZED_LIB:
        sys.path.insert(0, os.path.abspath(SANITIZED_LIB))


def _fuzzing() -> bool:
    main = getattr(sys.modules.get("__main__"), "__file__", None) or ""
    return os.path.basename(main).startswith("fuzz_")


def instrumented() -> ContextManager[Any]:
    """``atheris.instrument_imports()`` when a fuzz target is the main program.

    Imported any other way (``tests/fuzz/replay_corpus.py`` under pytest) the
    targets neither import atheris nor instrument anything.
    """
    if _fuzzing():
        import atheris

        return atheris.instrument_imports()  # type: ignore[no-any-return]
    return contextlib.nullcontext()


def make_hint(*radices: int) -> Callable[..., None]:
    """A coverage hint: ``hint(d0, d1, ...)`` (``0 <= di < radices[i]``) takes a
    branch of its own for every combination of digits.

    The C code has no coverage counters, so an input that runs, say, the
    AVX-512 variant on a 300-byte unaligned buffer for the first time looks
    like nothing new to libFuzzer.  Each target describes such C-side
    properties as digits and calls the hint: under atheris the hint is
    instrumented, every combination ends in a distinct edge (nested ``if``s:
    a call costs the sum of the radices, not their product), and libFuzzer
    keeps an input for each combination in its corpus to mutate further.
    """
    names = [f"d{i}" for i in range(len(radices))]
    lines = [f"def hint({', '.join(names)}):"]

    def nest(level: int, indent: str) -> None:
        if level == len(radices):
            lines.append(f"{indent}return")
            return
        for value in range(radices[level]):
            lines.append(f"{indent}if {names[level]} == {value}:")
            nest(level + 1, indent + "    ")

    nest(0, "    ")
    namespace: dict[str, Any] = {}
    exec("\n".join(lines), namespace)  # noqa: S102 - generated above, no input involved
    hint: Callable[..., None] = namespace["hint"]
    if _fuzzing():
        import atheris

        hint = atheris.instrument_func(hint)
    return hint


SIZE_CLASSES = 14


def size_class(n: int) -> int:
    """0 for 0, 1 + floor(log2 n) up to 2047 bytes (1..11), 12 up to 64 KiB,
    13 from 64 KiB on (where the kernels release the GIL)."""
    return 13 if n >= 65536 else min(n.bit_length(), 12)


def check_compiled(*modules: Any) -> None:
    """Refuses to fuzz a ``fastws_c`` other than the sanitized build we were given."""
    if not SANITIZED_LIB:
        sys.stderr.write(
            "fastws fuzz: FASTWS_SANITIZED_LIB is not set; running on the regular "
            "(unsanitized) fastws_c build\n"
        )
        return
    lib = os.path.realpath(SANITIZED_LIB)
    for module in modules:
        path = os.path.realpath(module.__file__)
        if not path.startswith(lib + os.sep):
            raise SystemExit(f"fastws fuzz: {module.__name__} comes from {path}, not from {lib}")


# ---------------------------------------------------------------- input layout


class Reader:
    """Reads a fuzz input front to back; past the end every read gives zeros."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            return 0
        value = self.data[self.pos]
        self.pos += 1
        return value

    def u16(self) -> int:
        return self.byte() | (self.byte() << 8)

    def u32(self) -> int:
        return self.u16() | (self.u16() << 16)

    def take(self, n: int) -> bytes:
        out = self.data[self.pos : self.pos + n]
        self.pos += len(out)
        return out

    def rest(self) -> bytes:
        out = self.data[self.pos :]
        self.pos = len(self.data)
        return out


def read_cuts(reader: Reader, max_cuts: int = 32) -> list[int]:
    """Raw cut positions: a count byte, then one u16 per cut (see :func:`cut_points`)."""
    return [reader.u16() for _ in range(reader.byte() % (max_cuts + 1))]


def cut_points(raw: list[int], length: int) -> list[int]:
    """The raw cuts as sorted positions in ``0..length``: the u16 itself (modulo
    ``length + 1``) for streams under 64 KiB, a proportional position beyond."""
    if length < 0x10000:
        return sorted(value % (length + 1) for value in raw)
    return sorted(value * (length + 1) >> 16 for value in raw)


def chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    """``data`` cut at ``cuts`` (empty chunks included: they are legal input too)."""
    out = []
    start = 0
    for cut in cuts:
        out.append(data[start:cut])
        start = cut
    out.append(data[start:])
    return out


# ---------------------------------------------------------------- buffers

BUFFER_KINDS = 4


def exact_buffer(data: bytes, pad: int = 0, writable: bool = True) -> memoryview:
    """A memoryview of ``data`` whose last byte is the last byte of its heap block.

    ``bytes``/``bytearray`` always own a spare byte after their contents, so
    a 1-byte over-read of them is invisible even to ASan.  A ctypes array of
    more than 16 bytes is one ``PyMem_Malloc`` block of exactly its size (one
    ``malloc`` under ``PYTHONMALLOC=malloc``, which ``make fuzz`` sets), so
    ASan's redzone starts right after the view.  ``pad`` bytes in front of the
    data vary its alignment (and keep small arrays off the inline storage).
    """
    size = max(len(data) + pad, 17)
    block = (ctypes.c_char * size)()
    view = memoryview(block).cast("B")[size - len(data) :]
    view[:] = data
    return view if writable else view.toreadonly()


def as_buffer(data: bytes, kind: int, pad: int = 0) -> Any:
    """``data`` as one of the buffer types the kernels take (``kind`` mod 4):
    bytes, bytearray, an exact-fit writable memoryview, an exact-fit read-only one."""
    kind %= BUFFER_KINDS
    if kind == 0:
        return bytes(data)
    if kind == 1:
        return bytearray(data)
    return exact_buffer(data, pad, writable=kind == 2)


# ---------------------------------------------------------------- outcomes


def outcome(func: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, ...]:
    """``("ok", result)`` or ``("raise", type, message, code, status)``."""
    try:
        return ("ok", func(*args, **kwargs))
    except Exception as exc:  # noqa: BLE001 - that is the point
        return (
            "raise",
            type(exc),
            str(exc),
            getattr(exc, "code", None),
            getattr(exc, "status", None),
        )


def same(
    what: str,
    py: tuple[Any, ...],
    c: tuple[Any, ...],
    allowed: tuple[type[BaseException], ...],
    normalize: Callable[[Any], Any] = lambda value: value,
) -> Any:
    """Asserts the two outcomes are identical and any exception is in ``allowed``.

    Returns the (normalized) result, or None when both raised.
    """
    if py[0] == "ok" and c[0] == "ok":
        a, b = normalize(py[1]), normalize(c[1])
        if a != b or type(a) is not type(b):
            raise AssertionError(f"{what}: results differ\n  python: {a!r}\n  c:      {b!r}")
        return a
    if py != c:
        raise AssertionError(f"{what}: outcomes differ\n  python: {py!r}\n  c:      {c!r}")
    if not issubclass(py[1], allowed):
        raise AssertionError(f"{what}: both raised {py[1].__name__}: {py[2]!r}, not allowed")
    return None


def run(test_one_input: Callable[[bytes], None]) -> None:
    """Hands the target to atheris (argv: libFuzzer flags and corpus dirs)."""
    import atheris

    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
