"""Matching speed: items/s on one core for 200 situations and 3,000+ indicator terms.

Beside it, in the same run, a naive baseline: one compiled regex per term, on a sample.
Item text: real ReliefWeb titles from ../shared/corpus/situations-dev when present (each item
is a title plus a two-title "summary"), else generated sentences. Two rows: with the item's
language known (as ingest stores it: the feed's, or detected once on arrival) and with it
detected here for every item.

Also printed: matching and language detection per headline on the real stream (../shared/corpus/
headlines-stream), the memory a fresh process needs for the matcher and its language tools
(pymorphy3, simplemma for English and French, Snowball, CLD2, the number readers), and the time
of each pathological title (the target: under 50 ms each).

Times are CPU seconds of this process (one core), so other load on the machine does not skew them
much (memory caches are shared, so a loaded machine still reads a little slower).

Run: .venv/bin/python bench/match_speed.py [--items N] [--baseline-items N]
"""

from __future__ import annotations

import argparse
import csv
import itertools
import random
import re
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pycountry

from bot.matching import (
    IndicatorDef,
    IndicatorsSettings,
    SituationSpec,
    build_matcher,
    resolve_indicators,
)
from bot.matching.matcher import settle
from bot.matching.names import all_country_names
from tests.matching.test_hostile_text import HOSTILE  # the same titles the tests feed it

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CORPUS = SHARED / "corpus" / "situations-dev"
SITUATIONS = 200
MIN_TERMS = 3000

# Extra phrase terms per language (modifier × noun), on top of the shipped taxonomy.
VOCABULARY = {
    "en": (
        [
            "armed",
            "deadly",
            "renewed",
            "violent",
            "targeted",
            "repeated",
            "coordinated",
            "night",
            "cross-border",
            "retaliatory",
        ],
        [
            "raids",
            "attacks",
            "clashes",
            "ambush",
            "killings",
            "abductions",
            "arrests",
            "reprisals",
            "incursions",
            "evictions",
            "shootings",
            "arson",
            "looting",
        ],
    ),
    "fr": (
        [
            "raids",
            "attaques",
            "affrontements",
            "embuscades",
            "meurtres",
            "enlèvements",
            "arrestations",
            "représailles",
            "incursions",
            "expulsions",
            "fusillades",
            "pillages",
        ],
        [
            "armés",
            "meurtriers",
            "répétés",
            "violents",
            "ciblés",
            "coordonnés",
            "nocturnes",
            "transfrontaliers",
            "massifs",
        ],
    ),
    "es": (
        [
            "ataques",
            "incursiones",
            "enfrentamientos",
            "emboscadas",
            "asesinatos",
            "secuestros",
            "detenciones",
            "represalias",
            "desalojos",
            "tiroteos",
            "saqueos",
        ],
        [
            "armados",
            "mortales",
            "repetidos",
            "violentos",
            "selectivos",
            "coordinados",
            "nocturnos",
            "transfronterizos",
            "masivos",
        ],
    ),
    "pt": (
        [
            "ataques",
            "incursões",
            "confrontos",
            "emboscadas",
            "assassinatos",
            "sequestros",
            "detenções",
            "represálias",
            "despejos",
            "tiroteios",
            "saques",
        ],
        [
            "armados",
            "mortais",
            "repetidos",
            "violentos",
            "seletivos",
            "coordenados",
            "noturnos",
            "transfronteiriços",
            "massivos",
        ],
    ),
    "ar": (
        [
            "هجمات",
            "غارات",
            "اشتباكات",
            "كمائن",
            "عمليات قتل",
            "عمليات خطف",
            "اعتقالات",
            "عمليات انتقامية",
            "توغلات",
            "عمليات إخلاء",
            "عمليات نهب",
        ],
        [
            "مسلحة",
            "دامية",
            "متكررة",
            "عنيفة",
            "موجهة",
            "منسقة",
            "ليلية",
            "عبر الحدود",
            "واسعة",
            "جماعية",
        ],
    ),
}


# "… against <group>" phrases: (joining word, groups) per language.
AGAINST = {
    "en": (
        "against",
        [
            "civilians",
            "villagers",
            "farmers",
            "herders",
            "students",
            "women",
            "children",
            "journalists",
            "refugees",
            "returnees",
            "worshippers",
            "minorities",
        ],
    ),
    "fr": (
        "contre des",
        [
            "civils",
            "villageois",
            "agriculteurs",
            "éleveurs",
            "étudiants",
            "femmes",
            "enfants",
            "journalistes",
            "réfugiés",
            "fidèles",
            "minorités",
        ],
    ),
    "es": (
        "contra",
        [
            "civiles",
            "aldeanos",
            "campesinos",
            "pastores",
            "estudiantes",
            "mujeres",
            "niños",
            "periodistas",
            "refugiados",
            "fieles",
            "minorías",
        ],
    ),
    "pt": (
        "contra",
        [
            "civis",
            "aldeões",
            "camponeses",
            "pastores",
            "estudantes",
            "mulheres",
            "crianças",
            "jornalistas",
            "refugiados",
            "fiéis",
            "minorias",
        ],
    ),
    "ar": (
        "ضد",
        [
            "المدنيين",
            "القرويين",
            "المزارعين",
            "الرعاة",
            "الطلاب",
            "النساء",
            "الأطفال",
            "الصحفيين",
            "اللاجئين",
            "المصلين",
            "الأقليات",
        ],
    ),
}


def extra_indicators() -> list[IndicatorDef]:
    terms: dict[str, list[str | object]] = {}
    for lang, (first, second) in VOCABULARY.items():
        terms[lang] = [f"{a} {b}" for a, b in itertools.product(first, second)]
        nouns = second if lang == "en" else first
        joining, groups = AGAINST[lang]
        terms[lang] += [f"{n} {joining} {g}" for n, g in itertools.product(nouns, groups)]
    return [IndicatorDef(code="X1", name="Synthetic load", weight=0.5, terms=terms)]  # type: ignore[arg-type]


def situations() -> list[SituationSpec]:
    countries = sorted(pycountry.countries, key=lambda c: c.alpha_3)[:SITUATIONS]
    return [
        SituationSpec(slug=c.alpha_3.lower(), name=c.name, countries=(c.alpha_3,))
        for c in countries
    ]


def items(count: int) -> list[tuple[str, str]]:
    if CORPUS.is_dir():
        titles = []
        for path in sorted(CORPUS.glob("*.csv")):
            with path.open(encoding="utf-8", newline="") as handle:
                titles += [" ".join(r["title"].split()) for r in csv.DictReader(handle)]
    else:
        words = [
            "Fighting",
            "in",
            "Sudan",
            "displaces",
            "thousands",
            "aid",
            "convoy",
            "attacked",
            "near",
            "Juba",
            "as",
            "militias",
            "loot",
            "villages",
            "refugees",
            "flee",
        ]
        rng = random.Random(1)
        titles = [" ".join(rng.choices(words, k=9)) for _ in range(5000)]
    rng = random.Random(7)
    rng.shuffle(titles)
    pool = itertools.cycle(titles)
    return [(next(pool), f"{next(pool)}. {next(pool)}.") for _ in range(count)]


def term_regex(text: str) -> re.Pattern[str]:
    prefix = text.endswith("*")
    body = re.escape(text.rstrip("*"))
    tail = r"\w*" if prefix else r"\b"
    return re.compile(rf"\b{body}{tail}", re.IGNORECASE)


def baseline_terms(specs: Iterable[SituationSpec], settings: IndicatorsSettings) -> list[str]:
    names = all_country_names()
    geo = [n.text for s in specs for c in s.countries for n in names.get(c, ())]
    return geo + [t.text for i in resolve_indicators(settings) for t in i.terms]


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds else float("inf")


def timed_build(specs: list[SituationSpec], settings: IndicatorsSettings) -> tuple[Any, float]:
    started = time.process_time()
    matcher = build_matcher(specs, settings)
    return matcher, time.process_time() - started


def match_rate(
    matcher: Any, sample: list[tuple[str, str]], language: str | None = None
) -> tuple[float, int]:
    started = time.process_time()
    matched = sum(
        bool(matcher.match_text(title=t, summary=s, language=language).situations)
        for t, s in sample
    )
    return rate(len(sample), time.process_time() - started), matched


_MEMORY_PROBE = """
import sys
sys.path[:0] = [{root!r}, {bench!r}]
def rss():
    with open("/proc/self/status", encoding="ascii") as status:
        return int(next(x for x in status if x.startswith("VmRSS:")).split()[1]) / 1024
start = rss()
import match_speed
from bot.matching import build_matcher
from bot.matching.matcher import settle
from tests.matching.test_hostile_text import HOSTILE  # the same titles the tests feed it
imported = rss()
matcher = build_matcher(match_speed.situations())
built = rss()
settle(matcher)
print(start, imported, built, rss())
"""


def memory() -> tuple[float, float, float]:
    """RSS (MB) a fresh process adds: importing the matcher, building it for 200 situations,
    and `settle` (a sentence in every language: pymorphy3, simplemma for English and French,
    Snowball, CLD2, the number readers, all loaded on first use)."""
    here = Path(__file__).resolve().parent
    probe = _MEMORY_PROBE.format(root=str(here.parent), bench=str(here))
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True
    ).stdout.split()
    start, imported, built, settled = map(float, out[-4:])
    return imported - start, built - imported, settled - built


STREAM = SHARED / "corpus" / "headlines-stream" / "gdelt-2026-03.jsonl"
GDELT_LANGUAGES = {
    "English": "en",
    "French": "fr",
    "Spanish": "es",
    "Portuguese": "pt",
    "Arabic": "ar",
    "Russian": "ru",
}


def stream_titles() -> list[tuple[str, str | None]]:
    """(title, language) of the real headline stream; [] without ../shared."""
    if not STREAM.is_file():
        return []
    import json

    rows = [json.loads(line) for line in STREAM.read_text(encoding="utf-8").splitlines()]
    return [(r["title"], GDELT_LANGUAGES.get(r["language"])) for r in rows]


def detection_rate(titles: list[tuple[str, str | None]]) -> float:
    """µs per headline for language detection."""
    from bot.matching.language import detect_language

    started = time.process_time()
    for title, _ in titles:
        detect_language(title)
    return (time.process_time() - started) / len(titles) * 1e6


WATCHED = ("SDN", "SSD", "COD", "ETH", "MMR", "SOM", "MLI", "BFA", "NGA", "HTI")


def stream_rate(
    matcher: Any, titles: list[tuple[str, str | None]], *, located_only: bool = False
) -> float:
    """Headlines a second on the real stream, titles only, each with its declared language
    (detected where it is not one of the six); `located_only` as ingest reads items."""
    started = time.process_time()
    for title, language in titles:
        matcher.match_text(title=title, language=language, located_only=located_only)
    return rate(len(titles), time.process_time() - started)


def watched_rate(titles: list[tuple[str, str | None]]) -> float:
    """The stream as a network watching ten crises reads it (ingest's path)."""
    specs = [SituationSpec(slug=code.lower(), name=code, countries=(code,)) for code in WATCHED]
    matcher = build_matcher(specs)
    settle(matcher)
    return stream_rate(matcher, titles, located_only=True)


def pathological(matcher: Any) -> dict[str, float]:
    """Milliseconds (wall clock, worst of three) to match each hostile text as title+summary."""
    out = {}
    for name, text in HOSTILE.items():
        worst = 0.0
        for language in ("en", None, None):
            started = time.perf_counter()
            matcher.match_text(title=text, summary=text, language=language)
            worst = max(worst, time.perf_counter() - started)
        out[name] = worst * 1000
    return out


def baseline_rate(terms: list[str], sample: list[tuple[str, str]]) -> tuple[float, float]:
    started = time.process_time()
    regexes = [term_regex(t) for t in terms]
    compiled = time.process_time() - started
    started = time.process_time()
    for title, summary in sample:
        text = f"{title}\n{summary}"
        _ = [r for r in regexes if r.search(text)]
    return rate(len(sample), time.process_time() - started), compiled


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--baseline-items", type=int, default=500)
    args = parser.parse_args()
    specs = situations()
    settings = IndicatorsSettings(extra=extra_indicators())
    indicator_count = sum(len(i.terms) for i in resolve_indicators(settings))
    assert indicator_count >= MIN_TERMS, indicator_count
    _, cold = timed_build(specs, settings)
    matcher, warm = timed_build(specs, settings)
    settle(matcher)  # as the service does once it has built its matcher
    sample = items(args.items)
    match_rate(matcher, sample[:2000], "en")  # warm the word caches, as a running service has
    ours, matched = match_rate(matcher, sample, "en")
    detected, _ = match_rate(matcher, sample)
    base_sample = sample[: args.baseline_items]
    theirs, regex_compile = baseline_rate(baseline_terms(specs, settings), base_sample)
    chars = sum(len(t) + len(s) for t, s in sample) // len(sample)
    print(
        f"{len(specs)} situations, {indicator_count} indicator terms (en/fr/es/ar/pt/ru), ", end=""
    )
    print(f"{matcher.pattern_count} automaton patterns")
    print(f"item = title + 2-title summary, avg {chars} chars; ", end="")
    print(f"{matched}/{len(sample)} items matched a situation\n")
    row = "{:38} {:>10} {:>7} {:>10}"
    print(row.format("method", "compile s", "items", "items/s"))
    print(row.format("tocsin matcher (cold build)", f"{cold:.2f}", "", ""))
    print(row.format("tocsin matcher (rebuild)", f"{warm:.2f}", "", ""))
    print(row.format("tocsin, language known", "", len(sample), f"{ours:.0f}"))
    print(row.format("tocsin, language detected per item", "", len(sample), f"{detected:.0f}"))
    baseline_row = ("baseline: one regex per term", f"{regex_compile:.2f}", len(base_sample))
    print(row.format(*baseline_row, f"{theirs:.0f}"))
    print(f"\nspeed-up: {ours / theirs:.0f}x")
    titles = stream_titles()
    if titles:
        print(f"real headline stream, titles only: {stream_rate(matcher, titles):.0f} items/s")
        print(
            f"  the same, 10 situations ({', '.join(WATCHED)}), as ingest reads it: "
            f"{watched_rate(titles):.0f} items/s"
        )
        print(f"language detection: {detection_rate(titles):.1f} µs a headline ({len(titles)})")
    imported, built, settled = memory()
    print(
        f"memory of a fresh process: import {imported:.0f} MB, build for 200 situations "
        f"{built:.0f} MB, settle {settled:+.0f} MB (language tools loaded, what only the build "
        f"reads dropped): {imported + built + settled:.0f} MB in all (RSS)"
    )
    print("\npathological titles (title + summary, worst of three; target < 50 ms):")
    for name, ms in pathological(matcher).items():
        print(f"  {name:28} {ms:7.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
