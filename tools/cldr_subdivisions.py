"""Write bot/matching/data/subdivisions_cldr.toml: the names of first-level subdivisions in the
six languages Tocsin reads, from Unicode CLDR's common/subdivisions/*.xml.

pycountry ships ISO 3166-2 names with Latin- and Cyrillic-script translations but no Arabic
ones; CLDR has "محافظة بابل" (Babil), "وسط دار فور" (Central Darfur), "Провинция Кабул".
Its English, French, Spanish and Portuguese names are the exonyms news write where ISO keeps
the local form: "Nineveh" and "Ninawa" (ISO "Nīnawá"), "Lower Shebelle" ("Shabeellaha
Hoose"), "Oblast de Kherson" and "Óblast de Jersón" ("Khersonska oblast").
Administrative words are stripped ("محافظة بابل" → "بابل", "Oblast de Kherson" → "Kherson")
so that the name matches as news write it. A Latin-script name is kept only where it adds a
spelling to ISO's and its translations, and is no word of English, French, Spanish or
Portuguese (simplemma's dictionaries: "Plateau", "Centre", "Lacs") and no name English writes
with a capital (a person's: "Victoria").

Run (CLDR from the npm package `cldr`, which bundles it; Unicode License V3):

    npm pack cldr@8.0.0 && tar xzf cldr-8.0.0.tgz
    .venv/bin/python tools/cldr_subdivisions.py package/3rdparty/cldr

The licence notice the Unicode License asks for is in bot/matching/data/LICENSE-CLDR.txt.
"""

from __future__ import annotations

import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pycountry

from bot.matching.morphology import dictionary_words, word_or_name
from bot.matching.normalize import fold
from bot.matching.places import is_latin
from bot.matching.subdivisions import locale_names

LANGUAGES = ("ar", "ru", "en", "fr", "es", "pt")
LATIN = ("en", "fr", "es", "pt")
MIN_LATIN = 4  # letters: shorter names ("Gao", "Ica") are words or acronyms somewhere
# first words of names that mean something else: saints ("San Patricio" is a parish of Saint
# Vincent and St Patrick's Day), seas ("Mar Rojo": the state and the sea), a capital ("Capital
# Federal": Nigeria's territory and Buenos Aires), "Holy Cross" (Świętokrzyskie)
_OTHER_MEANING = frozenset(
    "saint sainte san santa santo são sao st sankt holy capital capitale mar mer sea".split()
)
OUT = Path(__file__).resolve().parents[1] / "bot" / "matching" / "data" / "subdivisions_cldr.toml"
# administrative words that open a name ("محافظة بابل", "Провинция Кабул")
_ADMIN = {
    "ar": r"^(?:محافظة|ولاية|إقليم|اقليم|منطقة|مقاطعة|إمارة|امارة|مديرية|بلدية)\s+",
    "ru": r"^(?:Провинция|Мухафаза|Штат|Регион|Область|Округ|Губернаторство|Префектура)\s+",
}
# …and that open or close one in the Latin-script languages ("Oblast de Kherson", "État du
# Plateau", "Gobernación de Nínive", "Kherson Oblast", "Ninawa (província)")
_LATIN_OPEN = (
    r"^(?:(?:province|provincia|província|oblast|óblast|oblys|région|region|región|região|"
    r"gouvernorat|gobernación|governorate|governadoria|état|estado|state|département|"
    r"departamento|district|distrito|comté|condado|county|préfecture|prefectura|prefeitura|"
    r"territoire|territorio|território|wilaya|voïvodie|voivodia|voivodato|raion|kraï|krai|"
    r"municipalité|municipalidad|municipio|município|canton|cantón|émirat|emirato|"
    r"subdivision|paroisse|parroquia|paróquia|comitat|división|divisão|division)"
    r"(?:\s+administrative)?"
    r"(?:\s+(?:de la|de los|de las|del|de|du|des|da|do|das|dos|of the|of)\s+|\s+d[’']|\s+))+"
)
_LATIN_CLOSE = (
    r"\s+(?:province|provincia|oblast|oblysy|region|región|governorate|state|district|county|"
    r"prefecture|department|krai|kray|division|municipality|raion|voivodeship|emirate)$"
)


_PARENTHESES = re.compile(r"\s*\([^)]*\)$")  # "Al Jazirah (estado)"


def first_level() -> set[str]:
    """ISO 3166-2 codes of first-level subdivisions, as CLDR writes them ("iqbb")."""
    return {
        s.code.replace("-", "").lower()
        for s in pycountry.subdivisions
        if not getattr(s, "parent_code", None)
    }


def _bare(lang: str, text: str) -> str:
    """The name without its administrative words ("Oblast de Kherson" → "Kherson")."""
    if lang in LATIN:
        bare = re.sub(_LATIN_CLOSE, "", re.sub(_LATIN_OPEN, "", text, flags=re.I), flags=re.I)
    else:
        bare = re.sub(_ADMIN[lang], "", text)
    return _PARENTHESES.sub("", bare).strip().strip('"') or text


def names(cldr: Path, lang: str, wanted: set[str]) -> dict[str, str]:
    root = ET.parse(cldr / "common" / "subdivisions" / f"{lang}.xml").getroot()
    out = {}
    for element in root.iter("subdivision"):
        code, text = element.get("type", ""), (element.text or "").strip()
        if code in wanted and text:
            out[code] = _bare(lang, text)
    return out


def known_spellings() -> dict[str, set[str]]:
    """CLDR code → the folded names pycountry already gives the subdivision (ISO's and the
    translations bot/matching/subdivisions.py reads)."""
    translations = locale_names()
    return {
        s.code.replace("-", "").lower(): {fold(n) for n in (s.name, *translations.get(s.name, ()))}
        for s in pycountry.subdivisions
    }


def useful_latin(name: str, known: set[str], vocabulary: set[str]) -> bool:
    """A new spelling that no headline could mean as a word or a person's name."""
    return (
        fold(re.split(r"[\s\-’']", name)[0]) not in _OTHER_MEANING
        and len(name) >= MIN_LATIN
        and name[:1].isupper()
        and is_latin(name)
        and fold(name) not in known
        and not word_or_name(name, vocabulary)
    )


def _drop_shared(by_code: dict[str, dict[str, str]], known: dict[str, set[str]]) -> None:
    """Drop the Latin-script names that subdivisions of two countries bear (or that one bears
    and another's ISO name is): which country a headline means is then anyone's guess."""
    countries: dict[str, set[str]] = {}
    for code, spellings in known.items():
        for folded in spellings:
            countries.setdefault(folded, set()).add(code[:2])
    for named in by_code.values():
        for lang in LATIN:
            if lang in named and len(countries[fold(named[lang])]) > 1:
                del named[lang]


def main(cldr: Path) -> int:
    wanted = first_level()
    known = known_spellings()
    vocabulary = dictionary_words(LATIN)
    by_code: dict[str, dict[str, str]] = {}
    for lang in LANGUAGES:
        for code, name in names(cldr, lang, wanted).items():
            if lang in LATIN:
                if not useful_latin(name, known[code], vocabulary):
                    continue
                known[code].add(fold(name))
            by_code.setdefault(code, {})[lang] = name
    _drop_shared(by_code, known)
    lines = [
        "# Names of first-level subdivisions from Unicode CLDR (common/subdivisions) in the",
        "# six languages Tocsin reads, written by tools/cldr_subdivisions.py: administrative",
        "# words stripped; Latin-script names only where they add a spelling to pycountry's and",
        "# are no word or personal name. Unicode License V3: bot/matching/data/LICENSE-CLDR.txt.",
        "# Keys are ISO 3166-2 codes.",
        "",
    ]
    for code in sorted(by_code):
        iso = f"{code[:2].upper()}-{code[2:].upper()}"
        entries = ", ".join(
            f"{lang} = {json.dumps(by_code[code][lang], ensure_ascii=False)}"
            for lang in LANGUAGES
            if lang in by_code[code]
        )
        lines.append(f'"{iso}" = {{ {entries} }}')
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(by_code)} subdivisions written to {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1])))
