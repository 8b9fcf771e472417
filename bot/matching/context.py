"""Context rules that reject a geographic match: case, personal names, US-state words."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.matching.geodata import Veto
from bot.matching.morphology import capitalised_word, common_word

_NAME_SHAPED = r"[A-Z][a-z]+(?:-[A-Z][a-z]+)?"
# "León XIV", "Louis XVI": a regnal number after a name makes it a person's
_REGNAL = re.compile(r" (?=[IVXL]{1,6}\b)(?:X{0,3})(?:IX|IV|V?I{0,3})\b")
_NUMERAL_LETTERS = frozenset("IVXL")
# "Pope Leo", "King Charles", "Mr Jordan", "Minister Mackay": a title before a name makes it a
# person's
_TITLES = frozenset(
    "Pope Pape Papa King Queen Prince Princess Mr Mrs Ms Dr Sir Lord Lady Rev Father Sheikh "
    "Emir Sen Gov Rep Saint-Père Minister President Senator Governor Mayor Ambassador Judge "
    "Bishop Archbishop Cardinal Imam Colonel Col Captain Capt Commander Chancellor".split()
)
_NEXT_NAME = re.compile(rf" ({_NAME_SHAPED})\b(,? (?i:said|says|told|added|wrote|tweeted)\b)?")
_PREVIOUS_NAME = re.compile(rf"(?<!\w)({_NAME_SHAPED}) $")
_TITLE_CASE_SHARE = 0.8
_MIN_TITLE_WORDS = 4

# Capitalised words that sit next to a country name without making it a personal name, though
# English also writes them with a capital (every word it writes only in lower case, "Health",
# "Ministry", "Save", is no part of a name either: `morphology.common_word`).
NOT_NAMES = frozenset(
    "A As Is No We Regarding In Of The And To From For On At By With "
    "North South East West Central Republic Kingdom "
    "State States Lake Red Cross Crescent Camp Prince War Host-Community".split()
)


def _name_part(word: str) -> bool:
    """A capitalised neighbour that may be part of a personal name ("Smith", "Michael")."""
    return word not in NOT_NAMES and not common_word(word)


@dataclass(frozen=True, kw_only=True)
class CompiledVeto:
    window: int
    words: re.Pattern[str]
    unless: re.Pattern[str] | None


def compile_veto(veto: Veto) -> CompiledVeto:
    def alternation(words: frozenset[str]) -> re.Pattern[str]:
        joined = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
        return re.compile(rf"(?<!\w)(?:{joined})(?!\w)")

    return CompiledVeto(
        window=veto.window,
        words=alternation(veto.words),
        unless=alternation(veto.unless) if veto.unless else None,
    )


def is_capitalised(original: str, start: int) -> bool:
    """A place name must be capitalised, unless the field has no lower case at all."""
    return original[start].isupper() or not any(ch.islower() for ch in original)


def borrows_initial(original: str, start: int) -> bool:
    """The match opens with an initial ("S. Sudan") that ends a longer abbreviation ("U.S. Sudan").

    Not "G.Bissau": there the match ("Bissau") opens with a whole word.
    """
    initial = original[start + 1 : start + 2] == "."
    return initial and start >= 2 and original[start - 1] == "." and original[start - 2].isalpha()


def is_acronym(matched: str) -> bool:
    """In capitals; a longer one may have one small letter ("oPt"), a two-letter one none
    ("Us" in a title-case headline is the pronoun)."""
    letters = [ch for ch in matched if ch.isalpha()]
    small = 1 if len(letters) > 2 else 0
    return bool(letters) and sum(ch.isupper() for ch in letters) >= len(letters) - small


def is_title_case(original: str) -> bool:
    words = [w for w in original.split() if w[:1].isalpha() and len(w) > 3]
    if len(words) < _MIN_TITLE_WORDS:
        return False
    return sum(w[0].isupper() for w in words) / len(words) >= _TITLE_CASE_SHARE


def looks_like_person(original: str, start: int, end: int) -> bool:
    """ "Chad Smith said", "Michael Jordan": a capitalised neighbour shaped like a name."""
    matched = original[start:end]
    if not (matched[:1].isupper() and matched[1:].islower()):
        return False
    following = _NEXT_NAME.match(original, end)
    if (
        following
        and _name_part(following.group(1))
        and (following.group(2) or not is_title_case(original))
    ):
        return True
    preceding = _PREVIOUS_NAME.search(original[:start])
    return bool(preceding and _name_part(preceding.group(1)))


# words that begin a place's own name or say which part of it: "Port Sudan", "Camp Kabul"
_PLACE_WORDS = frozenset(
    "Port Fort Mount Camp Old New Al El La Le Los Las San Santa Saint St Sainte Greater Metro "
    "Downtown Rural Outer Inner Ras Wadi Jabal Tel Bab Beit Deir Kafr Khan Abu Umm Bir".split()
)


_SENTENCE_ENDS = frozenset(".:;!?|-–—«»\"'“”(")


def after_a_name(original: str, start: int) -> bool:
    """A town named right after a capitalised name-shaped word inside a sentence-case text: a
    person's surname ("Trump appointee Joe Kent resigns", "USS Abraham Lincoln")."""
    if start < 3 or original[start - 1] != " " or not original[start - 2].islower():
        return False  # quick: the word before does not end in a lower-case letter
    preceding = _PREVIOUS_NAME.search(original, max(0, start - 40), start)
    if preceding is None:
        return False
    word = preceding.group(1)
    if not _name_part(word) or word in _PLACE_WORDS or word in _TITLES:
        return False
    # a capital that begins the text or a sentence says nothing ("Why Punjab", "Explainer
    # Kabul"), unless English writes that word with a capital ("Joe Kent resigns")
    before = original[: preceding.start()].rstrip()
    if (not before or before[-1] in _SENTENCE_ENDS) and not capitalised_word(word):
        return False
    return not is_title_case(original)


def names_a_person(original: str, start: int, end: int) -> bool:
    """ "León XIV", "Pope Leo", "Mr Jordan": whatever the name, this is a person."""
    if original[end : end + 1] == " " and original[end + 1 : end + 2] in _NUMERAL_LETTERS:
        regnal = _REGNAL.match(original, end)
        if regnal is not None and regnal.end() > end + 1:
            return True
    if start < 3 or original[start - 1] != " " or not original[start - 2].isalpha():
        return False  # quick: no word right before the name
    previous = original[original.rfind(" ", 0, start - 1) + 1 : start - 1].rstrip(".")
    return previous in _TITLES


def acronym_clash(original: str, start: int, end: int) -> bool:
    """A short place name written in capitals where the text is not ("EUA" is not 'Eua)."""
    matched = original[start:end]
    return matched.isupper() and len(matched) <= 4 and not original.isupper()


def vetoed(veto: CompiledVeto, window_text: str) -> bool:
    """True when the text around a match holds a veto word and no `unless` word."""
    if not veto.words.search(window_text):
        return False
    return not (veto.unless and veto.unless.search(window_text))
