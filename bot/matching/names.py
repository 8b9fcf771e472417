"""Country names from maintained data: pycountry, CLDR (Babel) in six languages, demonyms.

Every country is named, watched or not, so that a longer name of another country wins its
span ("South Sudan" is not "Sudan", "Papua New Guinea" is not "Guinea").
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pycountry
from babel import Locale

from bot.matching.demonyms import inflect
from bot.matching.geodata import geo_data
from bot.matching.russian import russian_forms

LANGUAGES = ("en", "fr", "es", "ar", "pt", "ru")


@dataclass(frozen=True, kw_only=True)
class CountryName:
    """One way of naming a country, as written in its source."""

    text: str
    lang: str
    prefix: bool = False
    acronym: bool = False
    capital: bool = False  # counts only when capitalised ("Southern Sudan", not "southern Sudan")


def _uninvert(name: str) -> str:
    """ "Congo, The Democratic Republic of the" → "The Democratic Republic of the Congo"."""
    head, sep, tail = name.partition(", ")
    return f"{tail} {head}" if sep else name


def _split_parentheses(name: str) -> tuple[str, ...]:
    """ "Myanmar (Burma)" → ("Myanmar", "Burma")."""
    head, sep, tail = name.partition(" (")
    return (head, tail.rstrip(")")) if sep else (name,)


def _pycountry_names(country: object) -> set[str]:
    raw = {getattr(country, a, None) for a in ("name", "official_name", "common_name")}
    return {_uninvert(n) for n in raw if n}


@lru_cache(maxsize=len(LANGUAGES))
def _territories(lang: str) -> dict[str, str]:
    return dict(Locale(lang).territories)


def _with_russian(names: list[CountryName]) -> list[CountryName]:
    out = [n for n in names if n.lang != "ru"]
    for n in names:
        if n.lang == "ru":
            out += [CountryName(text=t, lang="ru", prefix=p) for t, p in russian_forms(n.text)]
    return out


def _demonyms(alpha3: str) -> list[CountryName]:
    out = []
    for lang, value in geo_data().demonyms.get(alpha3, {}).items():
        forms = inflect(lang, value) if isinstance(value, str) else [(v, False) for v in value]
        out += [CountryName(text=t, lang=lang, prefix=p) for t, p in forms]
    return out


def _country_names(alpha3: str, alpha2: str, official: set[str]) -> tuple[CountryName, ...]:
    data = geo_data()
    names = [CountryName(text=n, lang="en") for n in official]
    for lang in LANGUAGES:
        local = _territories(lang).get(alpha2)
        names += [CountryName(text=n, lang=lang) for n in _split_parentheses(local or "")]
    for lang, extra in data.extra_names.get(alpha3, {}).items():
        names += [CountryName(text=n, lang=lang) for n in extra]
    for lang, extra in data.capitalised_names.get(alpha3, {}).items():
        names += [CountryName(text=n, lang=lang, capital=True) for n in extra]
    names += [CountryName(text=a, lang="en", acronym=True) for a in data.acronyms.get(alpha3, ())]
    unique = dict.fromkeys(n for n in _with_russian(names) + _demonyms(alpha3) if n.text)
    return tuple(unique)


@lru_cache(maxsize=1)
def all_country_names() -> dict[str, tuple[CountryName, ...]]:
    """Alpha-3 code → every name, demonym and acronym (cached for the life of the process)."""
    return {
        c.alpha_3: _country_names(c.alpha_3, c.alpha_2, _pycountry_names(c))
        for c in pycountry.countries
    }
