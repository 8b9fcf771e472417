"""Subscription filters (`bot.filters`): how fast queries parse and how fast items are checked.

Items: the real headline stream (../shared/corpus/headlines-stream, the first N headlines) if it
is there, else N synthetic titles. For each query: parse time, and headlines checked per second
(title + an empty summary, folded and split into words as at fan-out), with the share passed.
Then the hostile queries of tests/test_filters.py: the slowest parse or rejection.

Run: .venv/bin/python bench/filters.py [--items 20000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import contextlib

from bot.filters import FilterError, matches, parse

STREAM = Path(__file__).resolve().parents[2] / "shared/corpus/headlines-stream/gdelt-2026-03.jsonl"
QUERIES = [
    '"El Fasher" OR Darfur -cholera',
    "(Sudan OR Soudan OR السودان) AND NOT (football OR match)",
    '"North Kivu" OR Goma OR Rutshuru OR "M23"',
    " OR ".join(f"w{i}" for i in range(40)),
]
HOSTILE = ["(" * 10_000, "a" * 100_000, "NOT " * 124 + "a", "\u202e" * 500, "a OR " * 99 + "a"]


def titles(n: int) -> list[str]:
    if STREAM.exists():
        out = []
        with STREAM.open(encoding="utf-8") as lines:
            for line in lines:
                out.append(json.loads(line)["title"])
                if len(out) >= n:
                    break
        return out
    return [
        f"Report {i}: clashes near El Fasher, North Darfur, as cholera spreads" for i in range(n)
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=20_000)
    args = parser.parse_args()
    items = titles(args.items)
    print(f"{len(items)} headlines ({'stream' if STREAM.exists() else 'synthetic'})")
    for query in QUERIES:
        start = time.perf_counter()
        tree = parse(query)
        parsed = time.perf_counter() - start
        start = time.perf_counter()
        passed = sum(matches(tree, title=t).passed for t in items)
        spent = time.perf_counter() - start
        print(
            f"{query[:60]!r:64} parse {parsed * 1e6:7.0f} µs  "
            f"{len(items) / spent:9,.0f} headlines/s  passed {passed / len(items):.2%}"
        )
    worst = 0.0
    for query in HOSTILE:
        start = time.perf_counter()
        with contextlib.suppress(FilterError):
            parse(query)
        worst = max(worst, time.perf_counter() - start)
    print(f"hostile queries: slowest parse or rejection {worst * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
