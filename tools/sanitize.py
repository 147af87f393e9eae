#!/usr/bin/env python3
"""Memory-safety checks of the C kernels: ``make asan-test`` and ``make fuzz``.

    python tools/sanitize.py build                 # the sanitized build only
    python tools/sanitize.py test [pytest args]    # make asan-test
    python tools/sanitize.py fuzz [--seconds N] [TARGET ...] [-- libFuzzer args/inputs]

``build`` compiles every ``fastws_c/*.pyx`` (with its ``NAME_*.c`` helpers,
through ``setup.py build_ext``) with AddressSanitizer and
UndefinedBehaviorSanitizer (``-fsanitize=address,undefined
-fno-sanitize-recover=all -fno-omit-frame-pointer -O1 -g``) into
``build/asan/lib``; the in-place build in ``fastws_c/`` is not touched.  The
compiler is GCC through ``tools/sanitizer-cc``, which puts those flags last
(after setup.py's ``-O3``) and keeps the sanitizer runtime out of the link,
so one build serves both runtimes below.  It is skipped when nothing changed
(a hash of fastws_c/, setup.py and the flags is kept in build/asan/stamp).
Before anything runs, a canary library with a deliberate heap overflow and a
deliberate shift overflow must be caught under the same runtime, so a broken
setup cannot pass silently.

``test`` runs the kernel tests (tests/test_{mask,accept,http,frames,utf8,
close,parity}.py, both backends; tests/test_asyncio_dispatch.py, the compiled
read path against the reference one) and the fuzz seed corpora
(tests/fuzz/replay_corpus.py: exact-fit buffers, where a 1-byte over-read
shows) in one Python process with GCC's libasan and libubsan preloaded,
``PYTHONMALLOC=malloc`` (so ASan sees every Python object's bytes, not
pymalloc arenas) and ``detect_leaks=0`` (CPython keeps allocations until
exit on purpose).  Any ASan report or UB aborts the run.
It first checks, inside that process, that every ``fastws_c`` kernel (and
``fastws_c.dispatch``, built the same way) is imported from build/asan/lib.

``fuzz`` runs the atheris targets tests/fuzz/fuzz_<kernel>.py (and
fuzz_dispatch.py: the compiled read path of listener connections against the
reference one) one after the other (2 cores are shared: never in parallel),
each for ``--seconds``, with atheris's ``asan_with_fuzzer.so`` preloaded
(ASan + UBSan + libFuzzer in one runtime, the way atheris documents for native
extensions).  Seeds come from tests/fuzz/corpus/<name>/, new inputs go to
build/fuzz/corpus/<name>/, failing inputs to build/fuzz/artifacts/.  To replay one:
``python tools/sanitize.py fuzz frames -- build/fuzz/artifacts/frames-crash-...``.

Linux with GCC only (the sanitizer runtimes are preloaded by path).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build", "asan")
LIB = os.path.join(BUILD, "lib")
TMP = os.path.join(BUILD, "tmp")
STAMP = os.path.join(BUILD, "stamp")
FUZZ = os.path.join(ROOT, "build", "fuzz")
WRAPPER = os.path.join(ROOT, "tools", "sanitizer-cc")

SAN_CFLAGS = "-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -O1 -g"
KERNELS = ("mask", "accept", "http", "frames", "utf8", "close")
# built into build/asan/lib like the kernels (every fastws_c/*.pyx is), but not
# a kernel: the compiled read path of listener connections, no pure twin
NOT_KERNELS = ("dispatch",)
COMPILED = (*KERNELS, *NOT_KERNELS)
# tests/fuzz/fuzz_<name>.py: one per kernel, and fuzz_dispatch.py (the compiled
# read path against Connection._received)
FUZZ_TARGETS = (*KERNELS, "dispatch")
TEST_FILES = [f"tests/test_{name}.py" for name in (*KERNELS, "parity")] + [
    "tests/fuzz/replay_corpus.py",  # the fuzz seeds, with exact-fit buffers
    "tests/test_asyncio_dispatch.py",  # fastws_c.dispatch against the reference path
]
# CPython holds on to allocations at exit on purpose: no leak checking.
# allocator_may_return_null: a failed huge malloc becomes MemoryError, as without ASan.
ASAN_OPTIONS = "detect_leaks=0:allocator_may_return_null=1:print_summary=1"
UBSAN_OPTIONS = "print_stacktrace=1:halt_on_error=1"

CANARY_C = r"""
/* Deliberate bugs: tools/sanitize.py checks that the sanitizers catch them. */
#include <stdlib.h>
int fastws_canary_heap_overflow(int n)
{
    volatile char *p = malloc((size_t)n);
    int r = p[n]; /* one byte past the block */
    free((void *)p);
    return r;
}
int fastws_canary_shift(int s)
{
    volatile int one = 1;
    return one << s; /* undefined for s >= 32 */
}
"""


def _say(message: str) -> None:
    print(f"sanitize: {message}", flush=True)


def _real_cc() -> str:
    return os.environ.get("FASTWS_SAN_CC", "gcc")


def _runtime_path(name: str) -> str:
    """Absolute path of GCC's ``name`` (libasan.so, libubsan.so)."""
    out = subprocess.run(
        [_real_cc(), f"-print-file-name={name}"], capture_output=True, text=True, check=True
    ).stdout.strip()
    if not os.path.isabs(out) or not os.path.exists(out):
        raise SystemExit(f"sanitize: {_real_cc()} has no {name} (install GCC's sanitizer runtimes)")
    return os.path.realpath(out)


def _stamp() -> str:
    digest = hashlib.sha256()
    version = subprocess.run([_real_cc(), "--version"], capture_output=True, text=True).stdout
    for part in (SAN_CFLAGS, version, sys.version):
        digest.update(part.encode())
    names = os.listdir(os.path.join(ROOT, "fastws_c"))
    generated = {name[:-4] + ".c" for name in names if name.endswith(".pyx")}  # by Cython
    sources = sorted(
        name
        for name in names
        if name.endswith((".pyx", ".pxd", ".c", ".h", ".py")) and name not in generated
    )
    for name in sources:
        digest.update(name.encode())
        with open(os.path.join(ROOT, "fastws_c", name), "rb") as f:
            digest.update(f.read())
    for path in ("setup.py", WRAPPER):
        with open(os.path.join(ROOT, path), "rb") as f:
            digest.update(f.read())
    return digest.hexdigest()


def _extensions_present() -> bool:
    here = os.path.join(LIB, "fastws_c")
    if not os.path.isdir(here):
        return False
    built = {name.split(".")[0] for name in os.listdir(here) if name.endswith(".so")}
    return set(COMPILED) <= built and os.path.exists(os.path.join(BUILD, "canary.so"))


def build() -> None:
    """The sanitized extensions into build/asan/lib (and the canary library)."""
    if not sys.platform.startswith("linux"):
        raise SystemExit("sanitize: Linux only")
    if shutil.which(_real_cc()) is None:
        raise SystemExit(f"sanitize: no {_real_cc()} on PATH")
    stamp = _stamp()
    if _extensions_present() and os.path.exists(STAMP):
        with open(STAMP) as f:
            if f.read() == stamp:
                _say(f"sanitized build up to date ({os.path.relpath(LIB, ROOT)})")
                return
    os.makedirs(BUILD, exist_ok=True)
    if os.path.exists(STAMP):
        os.remove(STAMP)
    env = dict(os.environ)
    for name in ("FASTWS_NO_EXTENSIONS", "FASTWS_BUILD_ONLY"):
        env.pop(name, None)
    wrapper = f"sh {WRAPPER}"
    env.update(
        CC=wrapper,
        LDSHARED=f"{wrapper} -shared",
        FASTWS_SAN_REAL_CC=_real_cc(),
        FASTWS_SAN_CFLAGS=SAN_CFLAGS,
        FASTWS_SAN_LDFLAGS="",
        FASTWS_REQUIRE_EXTENSIONS="1",
    )
    _say(f"building the C kernels with {SAN_CFLAGS} into {os.path.relpath(LIB, ROOT)}")
    started = time.monotonic()
    subprocess.run(
        [
            sys.executable,
            "setup.py",
            "-q",
            "build_ext",
            "--force",
            "--parallel",
            "2",
            "--build-lib",
            LIB,
            "--build-temp",
            TMP,
        ],
        cwd=ROOT,
        env=env,
        check=True,
    )
    shutil.copy2(os.path.join(ROOT, "fastws_c", "__init__.py"), os.path.join(LIB, "fastws_c"))
    # the canary goes through the same wrapper, compile and link steps
    canary = os.path.join(BUILD, "canary")
    with open(canary + ".c", "w") as f:
        f.write(CANARY_C)
    subprocess.run(
        ["sh", WRAPPER, "-fPIC", "-c", canary + ".c", "-o", canary + ".o"], env=env, check=True
    )
    subprocess.run(
        ["sh", WRAPPER, "-shared", canary + ".o", "-o", canary + ".so"], env=env, check=True
    )
    missing = [
        k
        for k in COMPILED
        if not any(
            n.startswith(k + ".") and n.endswith(".so")
            for n in os.listdir(os.path.join(LIB, "fastws_c"))
        )
    ]
    if missing:
        raise SystemExit(f"sanitize: not built: {', '.join(missing)}")
    with open(STAMP, "w") as f:
        f.write(stamp)
    _say(f"built in {time.monotonic() - started:.0f} s")


def _env(preload: list[str]) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("FASTWS_NO_EXTENSIONS", None)
    env.update(
        LD_PRELOAD=" ".join(preload),
        # ours first: options the caller already set win (the last one counts)
        ASAN_OPTIONS=":".join(filter(None, (ASAN_OPTIONS, os.environ.get("ASAN_OPTIONS")))),
        UBSAN_OPTIONS=":".join(filter(None, (UBSAN_OPTIONS, os.environ.get("UBSAN_OPTIONS")))),
        PYTHONMALLOC="malloc",
        FASTWS_SANITIZED_LIB=LIB,
    )
    return env


def _canaries(env: dict[str, str]) -> None:
    """The runtime must catch a heap overflow and a UB shift in canary.so."""
    canary = os.path.join(BUILD, "canary.so")
    for call, evidence in (
        ("fastws_canary_heap_overflow(13)", "heap-buffer-overflow"),
        ("fastws_canary_shift(40)", "shift exponent 40"),
    ):
        code = f"import ctypes, sys; ctypes.CDLL(sys.argv[1]).{call}; print('survived')"
        proc = subprocess.run(
            [sys.executable, "-c", code, canary], env=env, capture_output=True, text=True
        )
        if proc.returncode == 0 or evidence not in proc.stderr or "survived" in proc.stdout:
            sys.stderr.write(proc.stdout + proc.stderr)
            raise SystemExit(f"sanitize: the canary {call} was NOT caught -- setup broken")
    _say("canaries caught (heap-buffer-overflow, shift-out-of-bounds): the runtime works")


# ---------------------------------------------------------------- make asan-test


def test(pytest_args: list[str]) -> int:
    build()
    env = _env([_runtime_path("libasan.so"), _runtime_path("libubsan.so")])
    _canaries(env)
    # abort(): pytest's faulthandler then prints the Python stack of the test
    for name in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        env[name] = "abort_on_error=1:" + env[name]
    started = time.monotonic()
    # --capture=sys: pytest's default fd capture would swallow a sanitizer
    # report written to fd 2 by a process that then dies
    command = [
        sys.executable,
        os.path.abspath(__file__),
        "_pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "--capture=sys",
        *TEST_FILES,
        *pytest_args,
    ]
    status = subprocess.run(command, cwd=ROOT, env=env).returncode
    _say(f"kernel tests under ASan+UBSan: exit {status} in {time.monotonic() - started:.0f} s")
    return status


def _pytest_in_sanitized_process(args: list[str]) -> int:
    """Runs inside the preloaded process: check what is imported, then pytest."""
    import importlib

    sys.path[:0] = [LIB, ROOT]
    with open("/proc/self/maps") as f:
        maps = f.read()
    if "libasan" not in maps:
        raise SystemExit("sanitize: libasan is not loaded in the test process")
    lib = os.path.realpath(LIB) + os.sep
    for kernel in COMPILED:
        module = importlib.import_module(f"fastws_c.{kernel}")
        path = os.path.realpath(module.__file__)
        if not path.startswith(lib):
            raise SystemExit(f"sanitize: fastws_c.{kernel} was imported from {path}, not {lib}")
        with open(path, "rb") as f:
            binary = f.read()
        if b"__asan_report_load" not in binary or b"__ubsan_handle" not in binary:
            raise SystemExit(f"sanitize: {path} is not instrumented")
        print(f"asan-test: fastws_c.{kernel} <- {os.path.relpath(path, ROOT)}")
    import pytest

    return int(pytest.main(args))


# ---------------------------------------------------------------- make fuzz


def _atheris_runtime() -> str:
    proc = subprocess.run(
        [sys.executable, "-c", "import atheris; print(atheris.path())"],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise SystemExit("sanitize: atheris is not installed (pip install atheris)")
    path = os.path.join(proc.stdout.strip(), "asan_with_fuzzer.so")
    if not os.path.exists(path):
        raise SystemExit(f"sanitize: {path} is missing (atheris without its ASan runtime?)")
    return path


def fuzz(seconds: int, targets: list[str], extra: list[str]) -> int:
    targets = [name for arg in targets for name in arg.split(",") if name]
    unknown = sorted(set(targets) - set(FUZZ_TARGETS))
    if unknown:
        raise SystemExit(
            f"sanitize: unknown fuzz targets {unknown}; choose from {list(FUZZ_TARGETS)}"
        )
    build()
    env = _env([_atheris_runtime()])
    _canaries(env)
    # a smaller quarantine (freed memory held back to catch use-after-free):
    # the default 256 MB made libFuzzer runs peak near 2 GB RSS
    env["ASAN_OPTIONS"] = "quarantine_size_mb=32:" + env["ASAN_OPTIONS"]
    replay = any(os.path.isfile(arg) for arg in extra)
    failed = []
    summary = []
    for kernel in targets or FUZZ_TARGETS:
        work = os.path.join(FUZZ, "corpus", kernel)
        seeds = os.path.join(ROOT, "tests", "fuzz", "corpus", kernel)
        artifacts = os.path.join(FUZZ, "artifacts")
        logs = os.path.join(FUZZ, "logs")
        for path in (work, artifacts, logs):
            os.makedirs(path, exist_ok=True)
        command = [sys.executable, os.path.join(ROOT, "tests", "fuzz", f"fuzz_{kernel}.py")]
        if not replay:
            command += [work, *([seeds] if os.path.isdir(seeds) else [])]
            command += [f"-max_total_time={seconds}", "-print_final_stats=1"]
            dictionary = os.path.join(ROOT, "tests", "fuzz", f"{kernel}.dict")
            if os.path.exists(dictionary):
                command.append(f"-dict={dictionary}")
        command += [
            f"-artifact_prefix={artifacts}/{kernel}-",
            "-timeout=120",
            "-rss_limit_mb=4096",
            *extra,
        ]
        log = os.path.join(logs, f"{kernel}.log")
        what = "replay" if replay else f"{seconds} s"
        _say(f"fuzz {kernel}: {what} (log: {os.path.relpath(log, ROOT)})")
        started = time.monotonic()
        with open(log, "w") as out:
            status = subprocess.run(
                command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            ).returncode
        elapsed = time.monotonic() - started
        with open(log, errors="replace") as f:
            text = f.read()
        runs = re.findall(r"stat::number_of_executed_units: (\d+)", text) or re.findall(
            r"Done (\d+) runs", text
        )
        corpus = re.findall(r"corp: (\d+)/", text)
        summary.append(
            (kernel, status, elapsed, runs[-1] if runs else "?", corpus[-1] if corpus else "?")
        )
        if status != 0:
            failed.append(kernel)
            sys.stderr.write(text[-6000:])
            where = os.path.relpath(artifacts, ROOT)
            _say(f"fuzz {kernel}: FAILED (exit {status}); the input is in {where}")
    print()
    print(f"{'target':8} {'result':7} {'seconds':>8} {'executions':>11} {'corpus':>7}")
    for kernel, status, elapsed, runs, corpus in summary:
        result = "ok" if status == 0 else "FAILED"
        print(f"{kernel:8} {result:7} {elapsed:8.0f} {runs:>11} {corpus:>7}")
    return 1 if failed else 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["_pytest"]:
        return _pytest_in_sanitized_process(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("build", help="build the sanitized extensions")
    commands.add_parser("test", help="kernel tests under ASan+UBSan (extra args go to pytest)")
    fuzz_parser = commands.add_parser("fuzz", help="run the atheris fuzz targets")
    fuzz_parser.add_argument("--seconds", type=int, default=60, help="per target (default 60)")
    fuzz_parser.add_argument(
        "targets",
        nargs="*",
        help=f"any of {', '.join(FUZZ_TARGETS)}, also comma-separated (default all)",
    )
    extra: list[str] = []
    if "--" in argv:
        argv, extra = argv[: argv.index("--")], argv[argv.index("--") + 1 :]
    args, rest = parser.parse_known_args(argv)
    if args.command == "build":
        build()
        return 0
    if args.command == "test":
        return test(rest + extra)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    return fuzz(args.seconds, args.targets, extra)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
