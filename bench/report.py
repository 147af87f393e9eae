"""Turns pytest-benchmark's JSON into the kernel comparison table.

Usage: python bench/report.py RESULTS.json [--markdown OUT.md]

One table per kernel: a row per implementation, a column per case, each cell
the median time per call. Below each table, the ratio of ``fastws[c]`` to every
reference row of that kernel (below 1.0 means fastws is faster), measured in
the same run: plain memory copy for masking, the peers for everything.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from collections import defaultdict
from typing import Any

# Rows fastws[c] is compared with, per kernel, in this order (the ones present).
REFERENCES: dict[str, list[str]] = {
    "mask": ["aiohttp", "bytes copy", "websockets", "wsaccel"],
    "accept": ["hashlib+base64", "websockets", "wsproto"],
    "http": ["httptools", "h11", "aiohttp", "naive split"],
    "frames": ["aiohttp", "picows", "websockets", "wsproto"],
    "utf8": ["bytes.decode", "wsaccel"],
    "close": [],
    "echo": ["picows", "websockets", "fastws[c] reference path"],
}
OURS = "fastws[c]"
# Where a reference does something else than fastws[c] (aiohttp masks in place,
# fastws[c]'s apply_mask returns new bytes), compare with our row that does the same.
PAIRS: dict[str, dict[str, str]] = {"mask": {"aiohttp": "fastws[c] inplace"}}


def human_time(seconds: float) -> str:
    ns = seconds * 1e9
    if ns < 10_000:
        return f"{ns:,.0f} ns"
    if ns < 10_000_000:
        return f"{ns / 1e3:,.1f} µs"
    return f"{ns / 1e6:,.2f} ms"


Table = dict[str, dict[str, dict[str, float]]]  # kernel -> impl -> case -> median (s)


def load(path: str) -> tuple[dict[str, Any], Table, dict[str, list[str]]]:
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    table: dict[str, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    cases: dict[str, list[str]] = defaultdict(list)
    for b in data["benchmarks"]:
        info = b.get("extra_info") or {}
        kernel, case, impl = info.get("kernel"), info.get("case"), info.get("impl")
        if not (kernel and case and impl):
            continue
        table[kernel][impl][case] = b["stats"]["median"]
        if case not in cases[kernel]:
            cases[kernel].append(case)
    return data.get("machine_info", {}), table, cases


def render(machine: dict[str, Any], table: Any, cases: Any) -> str:
    out: list[str] = []
    cpu = machine.get("cpu", {}).get("brand_raw") or platform.processor() or "?"
    py = machine.get("python_implementation", "") + " " + machine.get("python_version", "")
    out.append(f"Machine: {cpu}, {machine.get('cpu', {}).get('count', '?')} cores, {py.strip()}")
    out.append("Medians per call; ratios are fastws[c] time / reference time (lower is better).")
    for kernel in sorted(table, key=lambda k: list(REFERENCES).index(k) if k in REFERENCES else 99):
        rows = table[kernel]
        cols = cases[kernel]
        out.append("")
        out.append(f"### {kernel}")
        out.append("")
        out.append("| implementation | " + " | ".join(cols) + " |")
        out.append("|---|" + "---:|" * len(cols))
        ours_first = [r for r in rows if r.startswith("fastws")]
        order = sorted(ours_first) + sorted(r for r in rows if r not in ours_first)
        for impl in order:
            if impl not in rows:
                continue
            cells = [human_time(rows[impl][c]) if c in rows[impl] else "–" for c in cols]
            out.append(f"| {impl} | " + " | ".join(cells) + " |")
        if OURS in rows:
            for ref in REFERENCES.get(kernel, []):
                ours = PAIRS.get(kernel, {}).get(ref, OURS)
                if ref not in rows or ours not in rows:
                    continue
                cells = []
                for c in cols:
                    if c in rows[ours] and c in rows[ref]:
                        cells.append(f"{rows[ours][c] / rows[ref][c]:.2f}×")
                    else:
                        cells.append("–")
                out.append(f"| *{ours} / {ref}* | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results")
    parser.add_argument("--markdown", help="also write the tables to this file")
    args = parser.parse_args(argv)
    machine, table, cases = load(args.results)
    if not table:
        print("no benchmark with kernel/case/impl extra_info found", file=sys.stderr)
        return 1
    text = render(machine, table, cases)
    sys.stdout.write(text)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
