"""What the automaton stores: a `Term` per pattern, and the pattern spellings of a phrase."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from bot.matching.normalize import fold

TermKind = Literal[
    "country",
    "place",
    "actor",
    "situation",
    "block",
    "situation-exclude",
    "indicator",
    "trigger",  # begins an event act in language `lang` (bot/matching/lexicon.py)
]


@dataclass(frozen=True, kw_only=True)
class Term:
    """One matchable phrase. `keys` are country codes, a situation slug or an indicator code."""

    kind: TermKind
    keys: tuple[str, ...]
    text: str
    lang: str
    prefix: bool = False  # the last word may continue ("massacr*")
    acronym: bool = False  # must be written in capitals in the original
    capital: bool = False  # must start with a capital in the original (place names)
    named: bool = False  # its last capitalised word must be capitalised (country names)
    demonym: bool = False  # a people's name ("Syrians"): may be the victims of an event
    person_risk: bool = False  # also a personal name ("Chad", "Jordan")
    at_home: bool = False  # an actor whose acts happen in its own country (a place's weight)
    indicator: str = ""  # a risk factor the actor is evidence of (a non-state armed group: EE7)
    exclude: tuple[str, ...] = ()  # folded phrases that cancel the term nearby
    window: int = 0  # words either side searched for `exclude`
    near: int = 0  # must be within this many words of a situation mention (0: anywhere)
    # words after the first that ends in "*" ("военн* операци*"), checked where the automaton
    # found the head ("военн*"): each word of a phrase may continue, not only its last
    tail: re.Pattern[str] | None = None


def split_wildcards(text: str) -> tuple[str, re.Pattern[str] | None]:
    """ "военн* операци*" → ("военн*", the pattern of " операци…"); a phrase whose only
    wildcard ends it is its own head ("massacr*", "aid worker*")."""
    words = text.split()
    first = next((i for i, w in enumerate(words[:-1]) if w.endswith("*")), None)
    if first is None:
        return text, None
    rest = [
        re.escape(fold(w.rstrip("*"))) + (r"\w*" if w.endswith("*") else r"(?!\w)")
        for w in words[first + 1 :]
    ]
    return " ".join(words[: first + 1]), re.compile(r"\s+" + r"\s+".join(rest))


_ARABIC_ARTICLE = "ال"
_DOTTED = re.compile(r"(?:\w{1,3}\. ?){2,}")  # "u.s.", "c.a.r.", "ee.uu.", "ee. uu."


_ARABIC = re.compile("[\u0600-\u06ff]")


def _is_arabic(text: str) -> bool:
    return _ARABIC.search(text) is not None


def _spellings(folded: str) -> set[str]:
    out = {folded}
    if " - " in folded:
        out |= {folded.replace(" - ", "-"), folded.replace(" - ", " ")}
    hyphenated = [s for s in out if "-" in s]
    out |= {s.replace("-", " ") for s in hyphenated}
    # news-wire text spaces its punctuation: "Guinea - Bissau", "Al - Aqsa"
    out |= {s.replace("-", " - ") for s in hyphenated}
    out |= {s.replace("'", "") for s in out if "'" in s}
    if folded.startswith("the "):
        out.add(folded[4:])
    # … and its abbreviations' full stops: "U . S .", "U . A . E .", "EE . UU ."
    out |= {
        " . ".join(p.strip() for p in s[:-1].split(".")) + " ." for s in out if _DOTTED.fullmatch(s)
    }
    return out


def _arabic_spellings(folded: str) -> set[str]:
    """ "النازحين" → also "للنازحين" (li + al) and "نازحين"; prefixes are checked at match time."""
    if not (_is_arabic(folded) and folded.startswith(_ARABIC_ARTICLE)):
        return {folded}
    rest = folded[len(_ARABIC_ARTICLE) :]
    return {folded, "لل" + rest, rest} if len(rest) >= 3 else {folded, "لل" + rest}


@lru_cache(maxsize=262_144)
def patterns(text: str) -> frozenset[str]:
    """The folded spellings under which `text` is looked up ("Guinea-Bissau" → 2 spellings)."""
    spelled = _spellings(fold(text).rstrip("*"))
    return frozenset(v for s in spelled for v in _arabic_spellings(s) if v.strip())


_ELIDING = frozenset("aeiouyh")


def french_elisions(text: str) -> tuple[str, ...]:
    """A French phrase glued to an elided article by a feed that dropped the apostrophe:
    "lexode", "dIsraël" for "l'exode", "d'Israël" (none if it does not open with a vowel)."""
    return ("l" + text, "d" + text) if fold(text)[:1] in _ELIDING else ()


_ARTICLES = frozenset("el la le les los las o os as un une una um uma".split())
# words after which a Romance phrase's complement begins: only the words before it agree in
# number ("violaciones del alto el fuego", "états d'urgence")
_COMPLEMENT = (
    frozenset(
        "de del des du da do das dos à a au aux al en por pour par contra contre sur sobre com con "
        "para entre".split()
    )
    | _ARTICLES
)
_PLURAL_ENDINGS = {
    "es": (("z", "ces"),),
    "pt": (("ao", "oes"), ("al", "ais"), ("el", "eis"), ("il", "is"), ("ol", "ois"), ("m", "ns")),
    "fr": (("al", "aux"), ("eu", "eux"), ("au", "aux")),
}


def romance_plural(text: str, lang: str) -> str | None:
    """The plural of a French, Spanish or Portuguese noun phrase (folded), its head and the
    adjectives that agree with it ("operación terrestre" → "operaciones terrestres", "lei
    marcial" → "leis marciais", "conflit armé" → "conflits armes"); None when it has none of
    its own (one word, a wildcard, an elision, or the same text)."""
    words = fold(text).split()
    if lang not in _PLURAL_ENDINGS or len(words) < 2 or "*" in text or words[1] in _ARTICLES:
        return None  # (an article after the first word: a verb and its object)
    out = []
    for i, word in enumerate(words):
        if word in _COMPLEMENT or "'" in word:
            out += words[i:]
            break
        out.append(_plural(word, lang) if len(word) > 2 else word)
    plural = " ".join(out)
    return plural if plural != " ".join(words) else None


def _plural(word: str, lang: str) -> str:
    if (word[-1] in "sxz" and lang != "es") or word.endswith("s"):
        return word
    for ending, replacement in _PLURAL_ENDINGS[lang]:
        if word.endswith(ending):
            return word[: -len(ending)] + replacement
    if lang == "fr" or word[-1] in "aeiou":
        return word + "s"
    return word + ("es" if lang == "es" or word[-1] in "rz" else "s")


def english_plural(text: str, lang: str) -> str | None:
    """The plural of an English noun phrase of two words or more (folded): its last word
    ("ground operation" → "ground operations", "militia attack" → "militia attacks"); None for
    one word, a wildcard, or a last word already plural."""
    words = fold(text).split()
    if lang != "en" or len(words) < 2 or "*" in text:
        return None
    last = words[-1]
    if len(last) < 3 or not last.isalpha() or last.endswith("s"):
        return None
    if last.endswith(("x", "z", "ch", "sh")):
        plural = last + "es"
    elif last.endswith("y") and last[-2] not in "aeiou":
        plural = last[:-1] + "ies"
    else:
        plural = last + "s"
    return " ".join([*words[:-1], plural])


_NO_TANWEEN_ALIF = ("ه", "ة", "ا", "ى", "ء", "ين", "ون", "ات")


def arabic_accusative(text: str) -> str | None:
    """An Arabic phrase in the indefinite accusative, as a sentence's object or after a number
    ("يسبب نزوحا جماعيا", "تهجيرا قسريا"): an alif after each word that takes one, not after a
    definite word, a feminine or sound plural ending, or a final alif or hamza (None when no
    word takes one)."""
    if "*" in text or not _is_arabic(text):
        return None
    words = fold(text).split()
    out = [w if _no_alif(w) else w + "ا" for w in words]
    return " ".join(out) if out != words else None


def _no_alif(word: str) -> bool:
    return word.startswith(_ARABIC_ARTICLE) or word.endswith(_NO_TANWEEN_ALIF) or len(word) < 3
