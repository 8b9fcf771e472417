"""Country names from maintained data: pycountry, CLDR (Babel) in six languages, demonyms.

Every country is named, watched or not, so that a longer name of another country wins its
span ("South Sudan" is not "Sudan", "Papua New Guinea" is not "Guinea").
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pycountry
from babel import Locale

from bot.matching.demonyms import STEM_LANGUAGES, inflect
from bot.matching.geodata import geo_data
from bot.matching.russian import lemma_phrase
from bot.matching.terms import french_elisions

LANGUAGES = ("en", "fr", "es", "ar", "pt", "ru")
# CLDR locales whose country names each language's news also uses: European Portuguese
# ("Irão", "Arménia"), Latin American Spanish ("Arabia Saudita"), Canadian French ("Bélarus").
_LOCALES = {"fr": ("fr", "fr_CA"), "es": ("es", "es_419"), "pt": ("pt", "pt_PT")}


@dataclass(frozen=True, kw_only=True)
class CountryName:
    """One way of naming a country, as written in its source."""

    text: str
    lang: str
    prefix: bool = False
    acronym: bool = False
    capital: bool = False  # counts only when capitalised ("Southern Sudan", not "southern Sudan")
    named: bool = False  # its last capitalised word must be capitalised ("la réunion" is no name)
    demonym: bool = False  # names the people ("Palestinian killed": a person, not a place)


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


@lru_cache(maxsize=2 * len(LANGUAGES))
def _territories(locale: str) -> dict[str, str]:
    return dict(Locale.parse(locale).territories)


def _cldr_names(lang: str, alpha2: str) -> list[str]:
    """CLDR's names of a territory in `lang`, one per locale of `_LOCALES` that names it."""
    names = (_territories(locale).get(alpha2) for locale in _LOCALES.get(lang, (lang,)))
    return list(dict.fromkeys(n for n in names if n))


def _with_russian(names: list[CountryName]) -> list[CountryName]:
    """Russian names, and the lemmas of a multi-word one (how the lemma view reads it:
    "в Южном Судане" → "южный судан"; bot/matching/russian.py)."""
    out = list(names)
    for n in names:
        if n.lang == "ru" and len(n.text.split()) > 1:
            out.append(CountryName(text=lemma_phrase(n.text), lang="ru"))
    return out


def _demonyms(alpha3: str) -> list[CountryName]:
    out = []
    for lang, value in geo_data().demonyms.get(alpha3, {}).items():
        if isinstance(value, str):
            forms = inflect(lang, value)
        else:
            forms = tuple((v, lang in STEM_LANGUAGES) for v in value)
        out += [CountryName(text=t, lang=lang, prefix=p, demonym=True) for t, p in forms]
    return out


@lru_cache(maxsize=1)
def _plain_names() -> dict[str, frozenset[str]]:
    """Folded name → the countries it names, without parenthesised qualifiers."""
    out: dict[str, set[str]] = {}
    for c in pycountry.countries:
        texts = set(_pycountry_names(c))
        for lang in LANGUAGES:
            texts.update(_split_parentheses(n)[0] for n in _cldr_names(lang, c.alpha_2))
        for extra in geo_data().extra_names.get(c.alpha_3, {}).values():
            texts.update(extra)
        for text in texts:
            if text:
                out.setdefault(text.casefold(), set()).add(c.alpha_3)
    return {name: frozenset(codes) for name, codes in out.items()}


def _local_names(alpha3: str, local: str) -> tuple[str, ...]:
    """CLDR's name; its parenthesised part too ("Myanmar (Burma)"), unless it names another
    country: "RAE de Hong Kong (China)" and "Внешние малые острова (США)" name the sovereign,
    and must not make "China" or "США" a name of the territory."""
    head, *qualifier = _split_parentheses(local)
    if qualifier and _plain_names().get(qualifier[0].casefold(), {alpha3}) <= {alpha3}:
        return (head, qualifier[0])
    return (head,)


def _elided(names: list[CountryName]) -> list[CountryName]:
    """French elision written without its apostrophe, as some feeds print it: "lIran",
    "dIsraël", "dIraniens" (with the apostrophe, "l'Iran" already matches)."""
    return [
        CountryName(text=elided, lang="fr", prefix=n.prefix, demonym=n.demonym)
        for n in names
        if n.lang == "fr" and not n.acronym
        for elided in french_elisions(n.text)
    ]


def _country_names(alpha3: str, alpha2: str, official: set[str]) -> tuple[CountryName, ...]:
    data = geo_data()
    names = [CountryName(text=n, lang="en") for n in official]
    for lang in LANGUAGES:
        for local in _cldr_names(lang, alpha2):
            names += [CountryName(text=n, lang=lang) for n in _local_names(alpha3, local)]
    for lang, extra in data.extra_names.get(alpha3, {}).items():
        names += [CountryName(text=n, lang=lang) for n in extra]
    for lang, extra in data.capitalised_names.get(alpha3, {}).items():
        names += [CountryName(text=n, lang=lang, capital=True) for n in extra]
    names += [CountryName(text=a, lang="en", acronym=True) for a in data.acronyms.get(alpha3, ())]
    names += _elided(names)
    named = [_capitalised(n) for n in _with_russian(names)]
    demonyms = _demonyms(alpha3)
    unique = dict.fromkeys(n for n in named + demonyms + _elided(demonyms) if n.text)
    return tuple(unique)


def _capitalised(name: CountryName) -> CountryName:
    """A country's name counts only when written as a name, its last capitalised word
    capitalised as it is here ("la réunion du G7" is a meeting, "a turkey" a bird; "south
    Sudan" is South Sudan); demonyms stay lower-case ("les réfugiés syriens")."""
    if name.acronym or name.capital or not any(w[:1].isupper() for w in name.text.split()):
        return name
    return CountryName(text=name.text, lang=name.lang, prefix=name.prefix, named=True)


@lru_cache(maxsize=1)
def all_country_names() -> dict[str, tuple[CountryName, ...]]:
    """Alpha-3 code → every name, demonym and acronym (cached until `forget`)."""
    return {
        c.alpha_3: _country_names(c.alpha_3, c.alpha_2, _pycountry_names(c))
        for c in pycountry.countries
    }


def forget() -> None:
    """Drop the names read from pycountry and CLDR (a later call reads them again)."""
    for cached in (_territories, _plain_names, all_country_names):
        cached.cache_clear()
