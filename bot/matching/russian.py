"""Russian place names in any grammatical case, through pymorphy3 lemmas.

The automaton holds names in the nominative ("Бейрут", "Хайфа", "Южный Судан"). A Russian text
is also read as its lemmas — each Cyrillic word replaced by its dictionary form, preferring a
place-name parse (pymorphy3's Geox tag) — so "в Бейруте", "по Брянску", "в Хайфе" and "в Южном
Судане" are found at their place in the original text. A multi-word name is also stored as
its lemmas ("Соединённые Штаты" → "соединить штат"), since its words are lemmatised one by one.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from bot.matching.morphology import russian_parses
from bot.matching.normalize import Normalized, normalize

_CYRILLIC_WORD = re.compile(r"[\u0400-\u04ff]+")
_SEPARATORS = re.compile(r"[\s\-]+")
_NOUN = "NOUN"


def has_cyrillic(text: str) -> bool:
    return not text.isascii() and _CYRILLIC_WORD.search(text) is not None


@lru_cache(maxsize=131_072)
def place_lemma(word: str) -> str:
    """The dictionary form of a Cyrillic word, as a place name would have it: a place-name
    parse first ("Ливане" → "ливан", not "ливана"), then the shortest noun lemma (the guesser
    offers "дарфура" and "дарфур" for "Дарфуре")."""
    parses: tuple[Any, ...] = russian_parses(word.lower())
    places = [p for p in parses if "Geox" in p.tag]
    if places:
        return str(places[0].normal_form)
    nouns = sorted({p.normal_form for p in parses if p.tag.POS == _NOUN}, key=lambda n: (len(n), n))
    if nouns:
        return str(nouns[0])
    return str(parses[0].normal_form) if parses else word.lower()


def lemma_phrase(name: str) -> str:
    """A multi-word name as the lemma view would read it."""
    return " ".join(
        place_lemma(w) if _CYRILLIC_WORD.fullmatch(w) else w for w in _SEPARATORS.split(name)
    )


_OBLIQUE_ENDINGS = ("а", "у", "е", "ом")  # genitive, dative, prepositional, instrumental
_VOWEL_OR_SOFT = frozenset("аеёиоуыэюяйь")


def oblique_lemmas(name: str) -> set[str]:
    """The lemma view of a multi-word Cyrillic name in its other cases, where it is not the
    name as written: the lemmas of its words ("Курская область" → "курский область", for "из
    Курской области"), and where pymorphy3 reads the last word declined as another name
    ("Гане" in "в Рамат-Гане" is Ghana, "гана"), that reading too ("рамат-гана"; only a last
    word that ends in a consonant, declined as a masculine noun is: "Ган", "Шемеш"). One-word
    names are read by their lemma alone."""
    if not has_cyrillic(name):
        return set()
    words = [w for w in _SEPARATORS.split(name) if w]
    if len(words) < 2:
        return set()
    own = {lemma_phrase(name)} - {name}
    last = words[-1]
    if not _CYRILLIC_WORD.fullmatch(last) or last[-1].lower() in _VOWEL_OR_SOFT:
        return own
    lemmas = {place_lemma(last + ending) for ending in _OBLIQUE_ENDINGS} - {place_lemma(last)}
    if not lemmas:  # (most names: their head words need no parsing then)
        return own
    joint = "-" if "-" in name else " "
    head = joint.join(place_lemma(w) if _CYRILLIC_WORD.fullmatch(w) else w for w in words[:-1])
    return own | {f"{head}{joint}{lemma}" for lemma in lemmas}


def lemma_view(text: str) -> Normalized:
    """`text` with every Cyrillic word replaced by its lemma, folded, mapped to `text`'s
    offsets (each character of a lemma points into the word it replaces)."""
    pieces: list[str] = []
    origins: list[int] = []
    position = 0
    for match in _CYRILLIC_WORD.finditer(text):
        start, end = match.span()
        pieces.append(text[position:start])
        origins += range(position, start)
        lemma = place_lemma(match.group())
        pieces.append(lemma)
        last = len(lemma) - 1
        origins += [end - 1 if i == last else min(start + i, end - 1) for i in range(len(lemma))]
        position = end
    pieces.append(text[position:])
    origins += range(position, len(text))
    lemmas = "".join(pieces)
    folded = normalize(lemmas)
    mapped = tuple(origins[folded.origin(i)] for i in range(len(folded.text)))
    return Normalized(original=text, text=folded.text, offsets=mapped)
