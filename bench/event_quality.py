"""Event detection and geography on real labelled headlines (../shared/corpus/events-dev).

A new user's set-up: one situation for every ISO country, default settings, each headline
matched on its own (tier-2 source, one source, nothing novel). Per level and per language it
prints the share *alerted* (severity at or above `[alerts] min_severity`, default watch), the
share with any risk-factor indicator, and geography recall and precision.

Geography, as the issue that asked for this bench measures it: recall is the share of labelled
event countries that are found; precision is the share of headlines, among those with both a
prediction and a label, where a predicted country is a labelled one.

The set is split by a hash of each headline's id: `tune` (two thirds) was looked at while the
lexicon and rules were written; `held-out` (one third) was not, and is the honest figure.

Then language detection (bot/matching/language.py), against the labels of events-dev and of
../shared/corpus/languages (999 ReliefWeb reports, a third each English, French, Spanish) read
at a headline's length and at 300 characters.

Run: .venv/bin/python bench/event_quality.py [--split all|tune|held-out] [--show LEVEL]
     [--language declared|detected]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pycountry

from bot.matching import AlertThresholds, SituationSpec, build_matcher
from bot.matching.language import detect_language
from bot.matching.matcher import Matcher
from bot.matching.scoring import SEVERITIES, score

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "events-dev"
HEADLINES = CORPUS / "headlines.jsonl"
REPORTS = CORPUS.parent / "languages" / "report_language-1k.csv"
REPORT_LANGUAGES = {"English": "en", "French": "fr", "Spanish": "es"}
TARGETS = {
    "level 2 alerted": (">=", 0.85),
    "level 0 alerted": ("<=", 0.03),
    "level 1 with an indicator": (">=", 0.6),
    "geography recall": (">=", 0.90),
    "geography precision": (">=", 0.95),
}


def split_of(headline_id: str) -> str:
    """`held-out` for one id in three (by SHA-1), `tune` for the others."""
    return (
        "held-out" if int(hashlib.sha1(headline_id.encode()).hexdigest(), 16) % 3 == 0 else "tune"
    )


def load(split: str = "all") -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in HEADLINES.read_text(encoding="utf-8").splitlines()]
    return [r for r in rows if split == "all" or split_of(r["id"]) == split]


def every_country() -> list[SituationSpec]:
    return [
        SituationSpec(slug=c.alpha_3, name=c.name, countries=(c.alpha_3,))
        for c in pycountry.countries
    ]


@dataclass
class Tally:
    """Counts for one group of headlines."""

    headlines: int = 0
    alerted: int = 0
    indicated: int = 0
    gold: int = 0
    found: int = 0
    judged: int = 0  # headlines with a prediction and a label
    right: int = 0  # … where a predicted country is labelled

    def add(self, *, alerted: bool, indicated: bool, predicted: set[str], gold: set[str]) -> None:
        self.headlines += 1
        self.alerted += alerted
        self.indicated += indicated
        self.gold += len(gold)
        self.found += len(predicted & gold)
        if predicted and gold:
            self.judged += 1
            self.right += bool(predicted & gold)


@dataclass
class Report:
    by_level: dict[int, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_language: dict[tuple[str, int], Tally] = field(default_factory=lambda: defaultdict(Tally))
    geo: Tally = field(default_factory=Tally)

    def figures(self) -> dict[str, float]:
        def share(n: int, d: int) -> float:
            return n / d if d else 0.0

        lv = self.by_level
        return {
            "level 2 alerted": share(lv[2].alerted, lv[2].headlines),
            "level 0 alerted": share(lv[0].alerted, lv[0].headlines),
            "level 1 with an indicator": share(lv[1].indicated, lv[1].headlines),
            "geography recall": share(self.geo.found, self.geo.gold),
            "geography precision": share(self.geo.right, self.geo.judged),
        }


def new_user_verdict(matcher: Matcher, title: str, language: str | None) -> tuple[Any, Any]:
    """(match result, score) of a headline as a new user's Tocsin reads it: a tier-2 source,
    one source, nothing novel, default thresholds."""
    result = matcher.match_text(title=title, language=language)
    scored = score(
        result,
        tier=2,
        corroborating_sources=1,
        novel_indicators=frozenset(),
        thresholds=AlertThresholds(),
    )
    return result, scored


def evaluate(
    rows: Iterable[dict[str, Any]], matcher: Matcher, *, declared: bool, show: int | None = None
) -> Report:
    floor = SEVERITIES.index("watch")
    report = Report()
    for row in rows:
        language = row["lang"] if declared else None
        result, scored = new_user_verdict(matcher, row["title"], language)
        alerted = SEVERITIES.index(scored.severity) >= floor
        predicted, gold = set(result.situations), set(row["countries"])
        for tally in (
            report.by_level[row["level"]],
            report.by_language[(row["lang"], row["level"])],
        ):
            tally.add(
                alerted=alerted, indicated=bool(result.indicators), predicted=predicted, gold=gold
            )
        report.geo.add(alerted=alerted, indicated=False, predicted=predicted, gold=gold)
        if show is not None and row["level"] == show:
            mark = "ALERT" if alerted else "     "
            print(
                f"{mark} {scored.severity:8} {sorted(predicted)}≟{sorted(gold)} {row['title'][:90]}"
            )
            print(f"         {scored.why[:160]}")
    return report


def _rows(report: Report) -> Iterator[str]:
    yield f"{'group':14} {'n':>4} {'alerted':>8} {'indicator':>9}"
    for level in (2, 1, 0):
        t = report.by_level[level]
        shares = f"{t.alerted / t.headlines:8.3f} {t.indicated / t.headlines:9.3f}"
        yield f"level {level:<8} {t.headlines:4d} {shares}"
    for lang in ("en", "fr", "es", "ar", "ru"):
        for level in (2, 1, 0):
            t = report.by_language.get((lang, level))
            if t and t.headlines:
                share = f"{t.alerted / t.headlines:8.3f} {t.indicated / t.headlines:9.3f}"
                yield f"  {lang} level {level:<3} {t.headlines:4d} {share}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("all", "tune", "held-out"), default="all")
    parser.add_argument("--language", choices=("declared", "detected"), default="declared")
    parser.add_argument("--show", type=int, choices=(0, 1, 2))
    args = parser.parse_args()
    if not HEADLINES.is_file():
        print(f"events-dev corpus not found at {HEADLINES}: skipped.")
        return 0
    matcher = build_matcher(every_country())
    splits = ("tune", "held-out", "all") if args.split == "all" else (args.split,)
    for split in splits:
        report = evaluate(
            load(split),
            matcher,
            declared=args.language == "declared",
            show=args.show if split == splits[-1] else None,
        )
        print(
            f"\n== {split} ({sum(t.headlines for t in report.by_level.values())} headlines, "
            f"language {args.language})"
        )
        print("\n".join(_rows(report)))
        for name, value in report.figures().items():
            op, target = TARGETS[name]
            ok = value >= target if op == ">=" else value <= target
            print(f"{name:28} {value:6.3f}   target {op} {target}  {'ok' if ok else 'MISSED'}")
    print("\n".join(language_rows()))
    return 0


def _accuracy(pairs: Iterable[tuple[str, str]]) -> str:
    """ "0.938 (937/999; 28 undecided)" for (label, text) pairs."""
    outcomes = Counter(
        "right"
        if (found := detect_language(text)) == label
        else "none"
        if found is None
        else "wrong"
        for label, text in pairs
    )
    total = sum(outcomes.values())
    return (
        f"{outcomes['right'] / total:.3f} ({outcomes['right']}/{total}; "
        f"{outcomes['none']} undecided, {outcomes['wrong']} wrong)"
    )


def language_rows() -> Iterator[str]:
    yield "\nlanguage detection (share right; undecided items fall back to every language)"
    headlines = load("all")
    yield f"  events-dev titles            {_accuracy((r['lang'], r['title']) for r in headlines)}"
    if not REPORTS.is_file():
        yield f"  ({REPORTS} not found: ReliefWeb reports skipped)"
        return
    csv.field_size_limit(1 << 24)
    with REPORTS.open(encoding="utf-8", newline="") as handle:
        reports = [
            (REPORT_LANGUAGES[r["language_name"]], r["post"]) for r in csv.DictReader(handle)
        ]
    for size in (120, 300):
        pairs = ((label, text[:size]) for label, text in reports)
        yield f"  ReliefWeb reports, {size} chars {_accuracy(pairs)}"


if __name__ == "__main__":
    raise SystemExit(main())
