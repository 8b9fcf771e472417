"""Sub-national regions from maintained data: first-level ISO 3166-2 subdivisions (pycountry)
under their own names, the translations pycountry ships and the names Unicode CLDR gives them
in the six languages Tocsin reads (data/subdivisions_cldr.toml, written by
tools/cldr_subdivisions.py: pycountry has no Arabic ones), plus the regions several
subdivisions are named after ("North Darfur", "South Darfur" … → "Darfur"; "Nord-Kivu",
"Sud-Kivu" → "Kivu").

A situation for Sudan therefore catches Darfur, Kordofan and Khartoum state; one for Ethiopia,
Tigray (the English translation of ISO's "Tigrai") and Amhara; one for the United States,
Michigan. Names that collide with a country name or a common word are left to the gazetteer's
filters (bot/matching/gazetteer.py).
"""

from __future__ import annotations

import gettext
import os
import re
from collections import defaultdict
from functools import lru_cache

import pycountry

from bot.matching.geodata import read_data
from bot.matching.normalize import fold

# Translations kept: the languages Tocsin matches, and the European ones whose catalogues carry
# the spellings news use (ISO's "Tigrai" and "Amara" are "Tigray" in the Dutch and Romanian
# catalogues, "Amhara" in the Dutch and Polish ones). Others add noise (the Irish catalogue
# renders Pará as "Stop", the Turkish one Eastern as "Doğu").
TRANSLATIONS = ("en", "fr", "es", "pt", "pt_BR", "ru", "de", "nl", "it", "pl", "ro", "ca")
_SCRIPTS = re.compile(r"^[\u0000-\u024f\u0400-\u04ff\s\-'’.]+$")
_DIRECTIONS = frozenset(
    fold(w)
    for w in (
        "north northern south southern east eastern west western central upper lower middle "
        "nord sud est ouest centre centrale haut haute bas basse moyen "
        "norte sur sul este oeste centro alto bajo baixo "
        "oriental occidental orientale occidentale ocidental setentrional meridional "
        "северный южный восточный западный центральный верхний нижний "
        "северное южное восточное западное центральное северная южная восточная западная "
        "شمال جنوب شرق غرب وسط الشمال الجنوب الشرق الغرب الشماليه الجنوبيه الشرقيه الغربيه "
        "الوسطي"
    ).split()
)
_LINKS = frozenset({"del", "de", "du", "des", "of", "the", "la", "le", "el", "do", "da"})
_SEPARATORS = re.compile(r"[\s\-]+")
_MIN_SHARED = 2  # subdivisions that must share a core name for it to become a region
_ADMIN_WORDS = re.compile(
    r"\b(?:state|province|region|governorate|prefecture|district|oblast|county|statul|"
    r"valstija|provincia|provinz|regiune|województwo|wojewodztwo|stát|država|provinsi)\b",
    re.I,
)


def locale_names() -> dict[str, set[str]]:
    """ISO subdivision name → its translations in Latin or Cyrillic script."""
    out: dict[str, set[str]] = defaultdict(set)
    catalogs = []
    for lang in TRANSLATIONS:
        path = os.path.join(pycountry.LOCALES_DIR, lang, "LC_MESSAGES", "iso3166-2.mo")
        if os.path.exists(path):  # read directly: `gettext.translation` would keep it cached
            with open(path, "rb") as mo_file:
                catalogs.append(gettext.GNUTranslations(mo_file))
    for sub in pycountry.subdivisions:
        for catalog in catalogs:
            translated = catalog.gettext(sub.name)
            if (
                translated != sub.name
                and _SCRIPTS.match(translated)
                and not _ADMIN_WORDS.search(translated)
            ):
                out[sub.name].add(translated)
    return out


def _core(name: str) -> str | None:
    """ "North Darfur" → "Darfur", "Carolina del Norte" → "Carolina"; None when the name has
    no direction word to strip."""
    words = _SEPARATORS.split(name.strip())
    kept = [w for w in words if fold(w) not in _DIRECTIONS]
    if len(kept) == len(words):
        return None
    while kept and fold(kept[-1]) in _LINKS:
        kept.pop()
    while kept and fold(kept[0]) in _LINKS:
        kept.pop(0)
    return " ".join(kept) or None


def _regions(names: dict[str, set[str]]) -> dict[str, set[str]]:
    """Core names shared by two or more subdivisions of one country and no other country."""
    by_core: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    spelled: dict[str, str] = {}
    for alpha3, subdivision_names in names.items():
        for name in subdivision_names:
            core = _core(name)
            if core is not None:
                by_core[fold(core)][alpha3] += 1
                spelled.setdefault(fold(core), core)
    out: dict[str, set[str]] = defaultdict(set)
    for key, countries in by_core.items():
        if len(countries) == 1:
            alpha3, count = next(iter(countries.items()))
            if count >= _MIN_SHARED:
                out[alpha3].add(spelled[key])
    return out


_GENERIC = _DIRECTIONS | frozenset(
    fold(w)
    for w in (
        "region regions province state states territory district capital area zone zona "
        "центр север юг восток запад столица столичный "
        "الاوسط الخليج الساحل البحريه العاصمه الداخليه الحدود المركزيه الشماليه الجنوبيه "
        "الشرقيه الغربيه شماليه جنوبيه شرقيه غربيه شمالي جنوبي شرقي غربي الشمالي الجنوبي "
        "الشرقي الغربي"
    ).split()
)


def _specific(name: str) -> bool:
    """False for names made only of directions and administrative words ("Western", "East
    Region"): a dozen countries have one. Common words ("Lakes", "Plateau") are left to the
    gazetteer's filter, which keeps them only as "Lakes State", "Plateau State"."""
    return any(fold(w) not in _GENERIC and fold(w) not in _LINKS for w in _SEPARATORS.split(name))


def _cldr_names() -> dict[str, tuple[str, ...]]:
    """ISO 3166-2 code → its CLDR names (Arabic, English, French, Spanish, Portuguese, Russian)."""
    raw = read_data("subdivisions_cldr.toml")
    return {code: tuple(dict.fromkeys(spelled.values())) for code, spelled in raw.items()}


@lru_cache(maxsize=1)
def subdivision_names() -> dict[str, tuple[str, ...]]:
    """Alpha-3 code → names of its subdivisions and of the regions they share a name with."""
    translations = locale_names()
    cldr = _cldr_names()
    names: dict[str, set[str]] = defaultdict(set)
    for sub in pycountry.subdivisions:
        if getattr(sub, "parent_code", None):
            continue  # second level (Kent in England, Toledo in Castile): too fine, too common
        country = pycountry.countries.get(alpha_2=sub.country_code)
        if country is None:
            continue
        names[country.alpha_3] |= {
            sub.name,
            *translations.get(sub.name, ()),
            *cldr.get(sub.code, ()),
        }
    for alpha3, regions in _regions(names).items():
        names[alpha3] |= regions
    return {code: tuple(sorted(n for n in found if _specific(n))) for code, found in names.items()}
