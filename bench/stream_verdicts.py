"""What a new user's Tocsin says of a real headline stream, and what a change changes in it.

Every headline of ../shared/corpus/headlines-stream in a language the taxonomy carries is matched
as events-dev is (bench/event_quality.py: one situation per ISO country, default settings, a
tier-2 source); the bench prints how many would alert, per language and severity. With `--save
FILE` it writes each verdict (severity, indicators, situations); with `--diff FILE` it prints the
headlines whose verdict differs from a saved run. That is how a rule is checked on thousands of
real headlines nobody labelled, rather than on the labelled ones it was written for: save before
the change, diff after, read every line.

events-dev's news headlines were drawn from this same stream: the titles of its held-out third
(bench/event_quality.py) are left out here, so that reading the stream while tuning never means
reading the held-out headlines.

Run: .venv/bin/python bench/stream_verdicts.py [--save FILE | --diff FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.event_quality import HEADLINES, every_country, load, new_user_verdict
from bench.match_speed import GDELT_LANGUAGES as LANGUAGES
from bot.matching import build_matcher
from bot.matching.scoring import SEVERITIES

STREAM = Path(__file__).resolve().parent.parent.parent / "shared/corpus/headlines-stream"


def held_out_titles() -> frozenset[str]:
    """The titles of events-dev's held-out third (none when events-dev is absent)."""
    return frozenset(r["title"] for r in load("held-out")) if HEADLINES.is_file() else frozenset()


def verdicts() -> dict[str, list[object]]:
    """Headline id → [language, title, severity, indicators, situations]."""
    matcher = build_matcher(every_country())
    held_out = held_out_titles()
    out: dict[str, list[object]] = {}
    for path in sorted(STREAM.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            lang = LANGUAGES.get(row["language"])
            if lang is None or row["title"] in held_out:
                continue
            result, scored = new_user_verdict(matcher, row["title"], lang)
            out[row["id"]] = [
                lang,
                row["title"],
                scored.severity,
                sorted(result.indicators),
                sorted(result.situations),
            ]
    return out


def summary(found: dict[str, list[object]]) -> None:
    by = Counter((str(v[0]), str(v[2])) for v in found.values())
    print(
        f"{len(found)} headlines of {STREAM.name} in the taxonomy's languages"
        " (events-dev's held-out titles left out)"
    )
    print(f"{'language':10}" + "".join(f"{s:>10}" for s in SEVERITIES) + f"{'alerted':>10}")
    for lang in LANGUAGES.values():
        counts = [by[(lang, s)] for s in SEVERITIES]
        if sum(counts):
            alerted = sum(counts) - by[(lang, "info")]
            print(f"{lang:10}" + "".join(f"{c:>10}" for c in counts) + f"{alerted:>10}")


def diff(before: dict[str, list[object]], after: dict[str, list[object]]) -> int:
    changed = 0
    for key, old in before.items():
        new = after.get(key)
        if new is None or new[2:] == old[2:]:
            continue
        changed += 1
        what = [f"{old[2]}→{new[2]}" if old[2] != new[2] else str(new[2])]
        if old[3] != new[3]:
            what.append(f"{old[3]}→{new[3]}")
        if old[4] != new[4]:
            what.append(f"{old[4]}→{new[4]}")
        print(f"{new[0]} {' '.join(what)} | {str(new[1])[:120]}")
    print(f"{changed} of {len(before)} verdicts changed")
    return changed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--save", type=Path, help="write every verdict here")
    group.add_argument("--diff", type=Path, help="compare with verdicts saved by --save")
    args = parser.parse_args()
    if not STREAM.is_dir():
        print(f"headline stream not found at {STREAM}: skipped.")
        return 0
    found = verdicts()
    summary(found)
    if args.save:
        args.save.write_text(json.dumps(found, ensure_ascii=False), encoding="utf-8")
    if args.diff:
        diff(json.loads(args.diff.read_text(encoding="utf-8")), found)
    return 0


if __name__ == "__main__":
    sys.exit(main())
