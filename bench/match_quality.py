"""Country assignment quality on ../shared/corpus/situations-dev, beside a naive baseline.

Each CSV holds ReliefWeb report titles retrieved for one country (the label; noisy: the
original query did not quote multi-word names, so "Sudan" reports sit in South_Sudan.csv and
"Central … African … Republic" reports of any country in Central_African_Republic.csv). Many
titles name no country at all, so no title-only matcher can reach 100 % recall. After the
table, the misses of the configured run are sorted by what their titles name (judged by a
matcher that watches every country), so readers can see how much of the gap is label noise.

Run: .venv/bin/python bench/match_quality.py
"""

from __future__ import annotations

import csv
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pycountry

from bot.matching import SituationSpec, build_matcher

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CORPUS = SHARED / "corpus" / "situations-dev"
FILES = {"SSD": "South_Sudan.csv", "SOM": "Somalia.csv", "CAF": "Central_African_Republic.csv"}
NAMES = {"SSD": "South Sudan", "SOM": "Somalia", "CAF": "Central African Republic"}


def watch(
    code: str, *, places: tuple[str, ...] = (), actors: tuple[str, ...] = ()
) -> SituationSpec:
    """The situation for one labelled country, slugged and named after it."""
    return SituationSpec(
        slug=code, name=NAMES[code], countries=(code,), places=places, actors=actors
    )


# What a network watching these situations would configure (places, actors): first-level
# regions, main towns, armed groups and missions, as a user would list them in config.toml.
CONFIGURED = {
    "SSD": watch(
        "SSD",
        places=(
            "Jonglei",
            "Upper Nile",
            "Unity State",
            "Bentiu",
            "Bor",
            "Pibor",
            "Malakal",
            "Yida",
            "Western Equatoria",
            "Eastern Equatoria",
            "Central Equatoria",
            "Lakes State",
            "Warrap",
            "Northern Bahr el Ghazal",
            "Western Bahr el Ghazal",
            "Aweil",
            "Rumbek",
            "Torit",
            "Yambio",
            "Nasir",
            "Akobo",
            "Renk",
            "Maban",
        ),
        actors=("SPLA", "SPLM", "SPLA-IO", "SPLM-IO", "White Army", "Riek Machar", "Salva Kiir"),
    ),
    "SOM": watch(
        "SOM",
        places=(
            "Puntland",
            "Somaliland",
            "Jubaland",
            "Galmudug",
            "Beledweyne",
            "Galkayo",
            "Bosaso",
            "Gedo",
            "Bakool",
            "Hiraan",
            "Lower Shabelle",
            "Middle Shabelle",
            "Lower Juba",
            "Middle Juba",
            "Mudug",
            "Galgaduud",
            "Sool",
            "Sanaag",
            "Afgooye",
        ),
        actors=(
            "al-Shabaab",
            "Al Shabaab",
            "Shabaab",
            "AMISOM",
            "UNSOM",
            "Transitional Federal Government",
            "TFG",
        ),
    ),
    "CAF": watch(
        "CAF",
        places=(
            "Bossangoa",
            "Bambari",
            "Bria",
            "Kaga-Bandoro",
            "Paoua",
            "Bouar",
            "Ndélé",
            "Birao",
            "Obo",
            "Zemio",
            "Ouham",
            "Ouham-Pendé",
            "Vakaga",
            "Haute-Kotto",
            "Mbomou",
        ),
        actors=("Séléka", "anti-balaka", "MISCA", "MINUSCA", "FACA", "Sangaris", "BINUCA"),
    ),
}


@dataclass(frozen=True, kw_only=True)
class Scores:
    precision: float
    recall: float
    predicted: int
    correct: int
    recall_by_country: dict[str, float]


def load() -> dict[str, tuple[str, set[str]]]:
    """data.list.id → (title, labels); a title in several files has several labels."""
    items: dict[str, tuple[str, set[str]]] = {}
    for code, name in FILES.items():
        with (CORPUS / name).open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                title = " ".join(row["title"].split())
                items.setdefault(row["data.list.id"], (title, set()))[1].add(code)
    return items


def evaluate(
    items: Mapping[str, tuple[str, set[str]]], predict: Callable[[str], Iterable[str]]
) -> Scores:
    predicted = correct = labels = 0
    hits = dict.fromkeys(FILES, 0)
    totals = dict.fromkeys(FILES, 0)
    for title, truth in items.values():
        guess = set(predict(title))
        predicted += len(guess)
        correct += len(guess & truth)
        labels += len(truth)
        for code in truth:
            totals[code] += 1
            hits[code] += code in guess
    return Scores(
        precision=correct / predicted if predicted else 0.0,
        recall=correct / labels,
        predicted=predicted,
        correct=correct,
        recall_by_country={c: hits[c] / totals[c] for c in FILES},
    )


def baseline() -> Callable[[str], list[str]]:
    patterns = {c: re.compile(rf"\b{re.escape(n)}\b") for c, n in NAMES.items()}
    return lambda title: [c for c, p in patterns.items() if p.search(title)]


def tocsin(specs: Iterable[SituationSpec]) -> Callable[[str], tuple[str, ...]]:
    matcher = build_matcher(list(specs))
    return lambda title: matcher.match_text(title=title).situations


def every_country() -> list[SituationSpec]:
    """One situation per ISO country, plus the configured places and actors."""
    others = [
        SituationSpec(slug=c.alpha_3, name=c.name, countries=(c.alpha_3,))
        for c in pycountry.countries
        if c.alpha_3 not in CONFIGURED
    ]
    return others + list(CONFIGURED.values())


def recall_cap(
    items: Mapping[str, tuple[str, set[str]]], predict: Callable[[str], Iterable[str]]
) -> None:
    """Sort the titles `predict` misses by what they name, judged by a matcher that watches
    every country: another country only (a noisy label, or a story told from next door), or
    no country and no configured place at all (no title-only matcher can find those)."""
    anyone = build_matcher(every_country())
    print("\nWhy recall is capped: misses of the configured run, by what the title names")
    row = "{:6} {:>7} {:>7} {:>17} {:>9} {:>9}  {}"
    print(row.format("label", "labels", "missed", "no country/place", "other", "recall*", "named"))
    for code in FILES:
        titles = [title for title, truth in items.values() if code in truth]
        named = [anyone.match_text(title=t).situations for t in titles if code not in predict(t)]
        nothing = sum(not n for n in named)
        other = len(named) - nothing
        found = len(titles) - len(named)
        top = Counter(c for n in named for c in n).most_common(3)
        share = f"{nothing} ({nothing / len(titles):.0%})"
        plausible = f"{found / (len(titles) - other):.3f}"
        names = ", ".join(f"{c} {n}" for c, n in top)
        print(row.format(code, len(titles), len(named), share, other, plausible, names))
    print("other: the title names another country but not this one (most frequent shown);")
    print("recall*: recall over the titles that do not name only another country.")


def main() -> int:
    if not CORPUS.is_dir():
        print(f"situations-dev corpus not found at {CORPUS}: skipped.")
        return 0
    items = load()
    bare = [watch(c) for c in NAMES]
    runs = {
        "baseline: exact English name, regex": baseline(),
        "tocsin: countries only (gazetteer)": tocsin(bare),
        "tocsin: + configured places/actors": tocsin(CONFIGURED.values()),
    }
    print(f"{len(items)} titles, {sum(len(t) for _, t in items.values())} labels\n")
    by_country = " ".join(f"{'R ' + c:>6}" for c in FILES)
    print(f"{'method':40} {'precision':>9} {'recall':>7} {by_country} {'predicted':>9}  time")
    for label, predict in runs.items():
        started = time.perf_counter()
        s = evaluate(items, predict)
        elapsed = time.perf_counter() - started
        per = " ".join(f"{s.recall_by_country[c]:6.3f}" for c in FILES)
        row = f"{label:40} {s.precision:9.3f} {s.recall:7.3f} {per} {s.predicted:9d}"
        print(f"{row}  {elapsed:.1f}s")
    recall_cap(items, runs["tocsin: + configured places/actors"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
