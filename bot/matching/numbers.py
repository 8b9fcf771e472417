"""Numbers in headlines: digits and number words in each supported language.

    digits           "12", "1,200", "100 , 000" (GDELT's spacing), "816.000", Arabic-Indic "١٢"
    number words     en fr es pt: text2num ("twelve", "deux", "ciento setenta", "dez")
                     ru: number-parser on pymorphy3 lemmas ("двенадцати" → "двенадцать" → 12)
                     ar: num2words' words for 1–10, the tens, 100 and 1,000 ("أربعة" → 4),
                         their oblique forms, and two-word teens and sums ("خمسة عشر" → 15)

Vague quantities ("dozens", "hundreds", "عشرات", "десятки") are lexicon entries (events.toml),
not numbers: see `bot.matching.events`. Years ("in 2024") are not counts.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from bot.matching.morphology import Token
from bot.matching.normalize import fold

MAX_VALUE = 10_000_000  # larger "counts" are phone numbers, prices or IDs, not victims
_MAX_RUN = 6  # words in one spelled-out number
_TEXT2NUM = frozenset({"en", "fr", "es", "pt"})
_LEMMA_NUMBERS = frozenset({"ru", "ar"})  # tried by their key: a lemma, a clitic-free word
_CONNECTORS = {
    "en": {"and"},
    "fr": {"et"},
    "es": {"y"},
    "pt": {"e"},
    "ru": set(),
    "ar": {"و"},
}
_YEARS = range(1900, 2101)
_GROUP_SEPARATORS = frozenset({",", ".", "", "'"})  # "" is a space, plain or narrow
_MAX_SEPARATOR = 3
# forms num2words does not write: the feminine (it gives the masculine), and in Arabic the
# oblique case headlines use after a verb or a preposition ("مقتل عشرين", "فلسطينيين اثنين")
_UNWRITTEN = {
    "fr": {"une": 1},
    "es": {
        "una": 1,
        "doscientas": 200,
        "trescientas": 300,
        "cuatrocientas": 400,
        "quinientas": 500,
    },
    "pt": {"uma": 1, "duas": 2, "duzentas": 200, "trezentas": 300},
    "ar": {
        "ثلاث": 3,
        "أربع": 4,
        "خمس": 5,
        "ست": 6,
        "سبع": 7,
        "ثماني": 8,
        "تسع": 9,
        "عشر": 10,
        "إحدى": 1,
        "اثنتان": 2,
        "اثنتين": 2,
        "اثنين": 2,
        "اثني": 2,
        "عشرة": 10,
        "عشرين": 20,
        "ثلاثين": 30,
        "أربعين": 40,
        "خمسين": 50,
        "ستين": 60,
        "سبعين": 70,
        "ثمانين": 80,
        "تسعين": 90,
    },
}
_CURRENCY_SIGNS = frozenset("$€£¥₹₽")
_MULTIPLIERS = {
    fold(w): n
    for words, n in (
        (
            "million millions millón millones milhão milhões миллион миллиона миллионов млн "
            "مليون ملايين",
            1_000_000,
        ),
        ("thousand mille mil тысяча тысячи тысяч тыс ألف آلاف", 1_000),
    )
    for w in words.split()
}
# folded words after a number that make it an amount, or a count of things and not of people
# (keys as morphology gives them, stems)
_UNITS = frozenset(
    [
        "percent",
        "per",
        "dollar",
        "euro",
        "usd",
        "eur",
        "km",
        "kilomet",
        "kilometr",
        "mile",
        "meter",
        "metr",
        "tonn",
        "ton",
        "barrel",
        "baril",
        "barril",
        "day",
        "jour",
        "dia",
        "hour",
        "heur",
        "hora",
        "year",
        "an",
        "ano",
        "año",
        "minut",
        "second",
        "mm",
        "cm",
        "kg",
        "gramm",
        "gram",
        "point",
        "seat",
        "vote",
        "voix",
        "voto",
        # things counted that are no people ("kills 10,000 jobs", "300 trees", "seize five
        # areas": places taken; villages and homes stay counted, they are where people live)
        "area",
        "zone",
        "zon",
        "town",
        "citi",
        "ciudad",
        "cidad",
        "vill",
        "district",
        "distrit",
        "region",
        "regio",
        "posit",
        "posicion",
        "posico",
        "base",
        "bas",
        "post",
        "job",
        "emploi",
        "emple",
        "empreg",
        "puest",
        "program",
        "programm",
        "project",
        "projet",
        "proyect",
        "flight",
        "vuel",
        "tree",
        "arbre",
        "arbol",
        "arvor",
        "bird",
        "oiseau",
        "aves",
        "anim",
        "animal",
        "cattl",
        "cow",
        "sheep",
        "goat",
        "dog",
        "livestock",
    ]
)


@dataclass(frozen=True, slots=True)
class Number:
    """Tokens [first, last] of the token list spell `value`."""

    first: int
    last: int
    value: int


def _digit_value(text: str) -> int | None:
    if not text.isdigit():
        return None
    try:
        return int("".join(str(unicodedata.digit(ch)) for ch in text))
    except ValueError:
        return None


def _groups_joined(tokens: Sequence[Token], source: str, index: int, value: int) -> tuple[int, int]:
    """ "100 , 000", "1.200", "150 000": a three-digit group continues the number."""
    last = index
    while last + 1 < len(tokens):
        raw = source[tokens[last].end : tokens[last + 1].start]
        following = tokens[last + 1].text
        if raw.strip() not in _GROUP_SEPARATORS or len(raw) > _MAX_SEPARATOR:
            break
        if len(following) != 3 or not following.isdigit():
            break
        value = value * 1000 + int(following)
        last += 1
    return value, last


@lru_cache(maxsize=1)
def _arabic_words() -> dict[str, int]:
    from num2words import num2words

    values = [*range(1, 11), *range(20, 100, 10), 100, 200, 1000]
    words = {fold(num2words(n, lang="ar")): n for n in values}
    words |= {fold(w): n for w, n in _UNWRITTEN["ar"].items()}
    return {w: n for w, n in words.items() if " " not in w}


def _arabic_value(words: tuple[str, ...]) -> int | None:
    """One Arabic number word, or two: a teen ("خمسة عشر" 15, "اثنا عشر" 12), units and
    tens ("خمسة وعشرون" 25: the "و" is a clitic the key has stripped), or hundreds and what
    follows them ("مائة وخمسون" 150)."""
    known = _arabic_words()
    values = [known[w] for w in words if w in known]
    if len(values) != len(words) or not 1 <= len(values) <= 2:
        return None
    if len(values) == 1:
        return values[0]
    first, second = values
    if second == 10 and first < 10:
        return first + 10
    if first < 10 and second in range(20, 100, 10):
        return first + second
    if first in range(100, 1000, 100) and second < 100:
        return first + second
    return None


def _word_value(words: Sequence[str], lang: str) -> int | None:
    return _value_of(tuple(words), lang)


@lru_cache(maxsize=65_536)
def _value_of(words: tuple[str, ...], lang: str) -> int | None:
    text = " ".join(words)
    try:
        if lang in _TEXT2NUM:
            from text_to_num import text2num

            return int(text2num(text, lang))
        if lang == "ru":
            from number_parser import parse_number

            value = parse_number(text, language="ru")
            return int(value) if value is not None else None
    except (ValueError, TypeError):
        return None
    if lang == "ar":
        return _arabic_value(words)
    return None


@lru_cache(maxsize=len(_CONNECTORS))
def number_words(lang: str) -> frozenset[str]:
    """Every word that can be part of a spelled number in `lang` (folded), from num2words:
    a word outside it is not tried as a number."""
    from num2words import num2words

    values = [*range(0, 1001), 10**6, 2 * 10**6]
    spelled = [num2words(n, lang=lang).lower() for n in values]
    words = {w for text in spelled for w in text.replace("-", " ").split()}
    words |= set(_CONNECTORS[lang]) | set(_UNWRITTEN.get(lang, {}))
    return frozenset(words | {fold(w) for w in words})


def _candidate(token: Token, lang: str, vocabulary: frozenset[str]) -> str | None:
    """The form of a token to try as a number word (the lemma in Russian)."""
    word = token.keys[0] if lang in _LEMMA_NUMBERS else token.text.lower()
    return word if word in vocabulary else None


def _spelled(
    tokens: Sequence[Token], index: int, lang: str, vocabulary: frozenset[str]
) -> tuple[int, int] | None:
    """The longest run of number words starting at `index`, and its value."""
    if _candidate(tokens[index], lang, vocabulary) is None:
        return None
    connectors = _CONNECTORS.get(lang, set())
    words: list[str] = []
    best: tuple[int, int] | None = None
    for j in range(index, min(index + _MAX_RUN, len(tokens))):
        word = _candidate(tokens[j], lang, vocabulary)
        if word is None:
            break
        words.append(word)
        if word in connectors:
            continue
        value = _word_value(words, lang)
        if value is None:
            break
        best = (value, j)
    return best


def _money_or_measure(tokens: Sequence[Token], source: str, first: int, last: int) -> bool:
    """ "$250,000", "15 %", "100 km", "30 days": an amount, not a count of people."""
    before = source[max(0, tokens[first].start - 2) : tokens[first].start].strip()
    if before[-1:] in _CURRENCY_SIGNS:
        return True
    after = source[tokens[last].end : tokens[last].end + 2].strip()
    if after[:1] in _CURRENCY_SIGNS or after[:1] == "%":
        return True
    return last + 1 < len(tokens) and tokens[last + 1].keys[0] in _UNITS


def _scaled(tokens: Sequence[Token], last: int, value: int) -> tuple[int, int]:
    """ "2 million", "1,5 millones", "3 млн": a multiplier word after the digits."""
    if last + 1 < len(tokens):
        factor = _MULTIPLIERS.get(fold(tokens[last + 1].text.lower()))
        if factor:
            return value * factor, last + 1
    return value, last


def read_numbers(tokens: Sequence[Token], source: str, lang: str) -> list[Number]:
    """Every number in `tokens` (cut from `source`), in order; years, amounts of money and
    measures, and huge values dropped."""
    numbers: list[Number] = []
    vocabulary = number_words(lang) if lang in _CONNECTORS else frozenset()
    by_key = lang in _LEMMA_NUMBERS
    i = 0
    while i < len(tokens):
        token = tokens[i]
        text = token.text
        value = _digit_value(text) if text.isdigit() else None
        if value is not None and len(text) > 1 and text[0] == "0":
            i += 1  # "010605", "007": a code or a date, not a count
            continue
        if value is not None:
            value, last = _groups_joined(tokens, source, i, value)
            grouped = last > i  # "2,000", "2 000": a year is never written so
            value, last = _scaled(tokens, last, value)
            amount = _money_or_measure(tokens, source, i, last)
            year = value in _YEARS and not grouped
            if not year and 0 < value <= MAX_VALUE and not amount:
                numbers.append(Number(i, last, value))
            i = last + 1
            continue
        if not vocabulary or (token.keys[0] if by_key else text.lower()) not in vocabulary:
            i += 1  # (what `_spelled` would find first: no number word starts here)
            continue
        spelled = _spelled(tokens, i, lang, vocabulary)
        if spelled is not None and 0 < spelled[0] <= MAX_VALUE:
            if not _money_or_measure(tokens, source, i, spelled[1]):  # ("ten years", "cinq jours")
                numbers.append(Number(i, spelled[1], spelled[0]))
            i = spelled[1] + 1
            continue
        i += 1
    return numbers
