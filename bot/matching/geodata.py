"""The geographic data files, loaded once: data/geo.toml, data/demonyms.toml (curated),
data/demonyms_world.toml (every other country, from mledoze/countries, ODbL) and
data/actors.toml (armed groups and leaders, each with its source)."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from bot.matching.normalize import fold
from bot.matching.terms import patterns

LanguageNames = Mapping[str, tuple[str, ...]]


@dataclass(frozen=True, kw_only=True)
class Veto:
    """Drop a match of `term` when a `words` entry is within `window` words, unless `unless`."""

    term: str
    window: int
    words: frozenset[str]
    unless: frozenset[str]


@dataclass(frozen=True, kw_only=True)
class Actor:
    """An armed group, a leader or an institution tied to `countries` (data/actors.toml);
    weaker than a place unless `at_home`: what it does happens in its own country."""

    kind: str
    countries: tuple[str, ...]
    names: LanguageNames
    source: str
    at_home: bool = False


@dataclass(frozen=True, kw_only=True)
class GeoData:
    extra_names: Mapping[str, LanguageNames]
    capitalised_names: Mapping[str, LanguageNames]
    acronyms: Mapping[str, tuple[str, ...]]
    prefer: Mapping[str, str]
    blockers: LanguageNames
    person_names: frozenset[str]
    vetoes: tuple[Veto, ...]
    common_words: frozenset[str]
    outlet_words: frozenset[str]
    demonyms: Mapping[str, Mapping[str, str | tuple[str, ...]]]
    actors: tuple[Actor, ...]


def read_data(name: str) -> dict[str, Any]:
    """A TOML file of bot/matching/data."""
    text = (
        resources.files("bot.matching").joinpath("data").joinpath(name).read_text(encoding="utf-8")
    )
    return tomllib.loads(text)


def _listed(value: str | list[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _by_language(table: Mapping[str, str | list[str]]) -> LanguageNames:
    return {lang: _listed(names) for lang, names in table.items()}


def _demonym(value: str | list[str]) -> str | tuple[str, ...]:
    return value if isinstance(value, str) else tuple(value)


@lru_cache(maxsize=1)
def geo_data() -> GeoData:
    """The parsed data files (cached for the life of the process)."""
    geo = read_data("geo.toml")
    demonyms = read_data("demonyms_world.toml") | read_data("demonyms.toml")  # curated ones win
    return GeoData(
        extra_names={code: _by_language(t) for code, t in geo["extra_names"].items()},
        capitalised_names={code: _by_language(t) for code, t in geo["capitalised_names"].items()},
        acronyms={code: tuple(names) for code, names in geo["acronyms"].items()},
        prefer=dict(geo["prefer"]),
        blockers=_by_language(geo["blockers"]),
        person_names=frozenset(geo["person_names"]["terms"]),
        vetoes=tuple(
            Veto(
                term=v["term"],
                window=v["window"],
                words=frozenset(p for w in v["words"] for p in patterns(w)),
                unless=frozenset(p for w in v["unless"] for p in patterns(w)),
            )
            for v in geo["veto"]
        ),
        common_words=frozenset(p for w in geo["common_words"]["words"] for p in patterns(w)),
        outlet_words=frozenset(fold(w) for w in geo["outlets"]["words"]),
        demonyms={
            code: {lang: _demonym(v) for lang, v in t.items()} for code, t in demonyms.items()
        },
        actors=tuple(
            Actor(
                kind=a["kind"],
                countries=tuple(a["countries"]),
                names=_by_language(a["names"]),
                source=a["source"],
                at_home=a.get("at_home", False),
            )
            for a in read_data("actors.toml")["actor"]
        ),
    )
