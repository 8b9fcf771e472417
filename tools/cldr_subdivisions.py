"""Write bot/matching/data/subdivisions_cldr.toml: the Arabic and Russian names of first-level
subdivisions, from Unicode CLDR's common/subdivisions/*.xml.

pycountry ships ISO 3166-2 names with Latin- and Cyrillic-script translations but no Arabic
ones; CLDR has "محافظة بابل" (Babil), "وسط دار فور" (Central Darfur), "Провинция Кабул".
Administrative words are stripped ("محافظة بابل" → "بابل") so that the name matches as news
write it.

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

# pycountry's catalogues already give the Latin-script names (and CLDR's would bring generic
# words: "Free" State, "Jewish" Autonomous Oblast); Arabic is missing there, Russian thin.
LANGUAGES = ("ar", "ru")
OUT = Path(__file__).resolve().parents[1] / "bot" / "matching" / "data" / "subdivisions_cldr.toml"
# administrative words that open a name ("محافظة بابل", "Провинция Кабул")
_ADMIN = {
    "ar": r"^(?:محافظة|ولاية|إقليم|اقليم|منطقة|مقاطعة|إمارة|امارة|مديرية|بلدية)\s+",
    "ru": r"^(?:Провинция|Мухафаза|Штат|Регион|Область|Округ|Губернаторство|Префектура)\s+",
}


_PARENTHESES = re.compile(r"\s*\([^)]*\)$")  # "Al Jazirah (estado)"


def first_level() -> set[str]:
    """ISO 3166-2 codes of first-level subdivisions, as CLDR writes them ("iqbb")."""
    return {
        s.code.replace("-", "").lower()
        for s in pycountry.subdivisions
        if not getattr(s, "parent_code", None)
    }


def names(cldr: Path, lang: str, wanted: set[str]) -> dict[str, str]:
    root = ET.parse(cldr / "common" / "subdivisions" / f"{lang}.xml").getroot()
    admin = re.compile(_ADMIN[lang])
    out = {}
    for element in root.iter("subdivision"):
        code, text = element.get("type", ""), (element.text or "").strip()
        if code in wanted and text:
            bare = _PARENTHESES.sub("", admin.sub("", text)).strip().strip('"')
            out[code] = bare or text
    return out


def main(cldr: Path) -> int:
    wanted = first_level()
    by_code: dict[str, dict[str, str]] = {}
    for lang in LANGUAGES:
        for code, name in names(cldr, lang, wanted).items():
            by_code.setdefault(code, {})[lang] = name
    lines = [
        "# Arabic and Russian names of first-level subdivisions from Unicode CLDR",
        "# (common/subdivisions), written by",
        "# tools/cldr_subdivisions.py; administrative words stripped. Unicode License V3:",
        "# bot/matching/data/LICENSE-CLDR.txt. Keys are ISO 3166-2 codes.",
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
