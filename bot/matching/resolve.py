"""From raw hits to kept hits: longest match wins, context rules, exclusions, proximity."""

from __future__ import annotations

import bisect
import operator
import re
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from functools import cached_property, lru_cache

from bot.matching.context import (
    CompiledVeto,
    acronym_clash,
    after_a_name,
    borrows_initial,
    is_acronym,
    is_capitalised,
    looks_like_person,
    names_a_person,
    vetoed,
)
from bot.matching.geodata import geo_data
from bot.matching.normalize import NAME_PREFIXES, Normalized, hyphen_joins
from bot.matching.scan import Hit

_WORD = re.compile(r"\w+")
_NAMED_KINDS = frozenset({"country", "place"})
_SHORT = 4  # letters: a short place name written in capitals may be an acronym


class Words:
    """Word offsets of a folded text, for distances counted in words (found when first needed)."""

    def __init__(self, text: str) -> None:
        self._text = text

    @cached_property
    def _spans(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        spans = [m.span() for m in _WORD.finditer(self._text)]
        return tuple(s for s, _ in spans), tuple(e for _, e in spans)

    @property
    def starts(self) -> tuple[int, ...]:
        return self._spans[0]

    @property
    def ends(self) -> tuple[int, ...]:
        return self._spans[1]

    def index(self, position: int) -> int:
        """The index of the word at or before `position`."""
        return max(bisect.bisect_right(self.starts, position) - 1, 0)

    def window(self, text: str, start: int, end: int, words: int) -> str:
        """The folded text from `words` words before `start` to `words` after `end`."""
        if not self.starts:
            return text
        first = max(self.index(start) - words, 0)
        last = min(self.index(max(end - 1, start)) + words, len(self.ends) - 1)
        return text[self.starts[first] : self.ends[last]]


def _rank(hit: Hit) -> tuple[int, int, bool, int]:
    """Longest first; of one span, the longer literal, then a blocker ("grenade" is no
    Grenada in English, though French names it so)."""
    return hit.start - hit.end, -hit.size, hit.term.kind != "block", hit.start


_START = operator.itemgetter(0)  # Hit.start


def _disjoint(in_order: Sequence[Hit]) -> bool:
    """No two hits overlap (`in_order`: sorted by start)."""
    end = 0
    for hit in in_order:
        if hit.start < end:
            return False
        end = hit.end
    return True


def _fits(hit: Hit, taken: Sequence[Hit]) -> bool:
    """`hit` overlaps none of `taken`, or has the same span and size as one of them that is
    no blocker."""
    fits = True
    for t in taken:
        if hit.start < t.end and t.start < hit.end:
            if t.start == hit.start and t.end == hit.end and t.size == hit.size:
                return t.term.kind != "block"  # same span: keep all terms (kinds differ)
            fits = False
    return fits


# in folded text, where every dash is "-" and "»" is '"' ("… » Gazeta.kg новости Бишкека")
_SEPARATOR = re.compile(r' (?:\||-|/|::|") ')
# a site's address, as wire text spaces it too ("JewishPress . com", "Dagpravda . ru")
_DOMAINS = "com|org|net|info|news|co|tv|ru|kg|kz|ua|by|uk|in|pk|ng|za|au|ca|fr|es|de|it|br|ar|mx"
_WEB_ADDRESS = re.compile(rf"\w ?\. ?(?:{_DOMAINS})\b")
_OUTLET_WORDS = 8


def outlet_start(text: Normalized, outlet_words: AbstractSet[str]) -> int:
    """Where a headline's trailing outlet name begins in folded `text.text` (its length if
    none): the parts after the last separators that name an outlet ("… - Pakistan Today",
    "… | The Manila Times - Caribbean News"; see geo.toml's [outlets])."""
    folded = text.text
    cut = len(folded)
    while (found := _last_separator(text, cut)) is not None:
        tail = folded[found[1] : cut]
        words = re.findall(r"\w+", tail)
        if not words or len(words) > _OUTLET_WORDS:
            break
        if not (_WEB_ADDRESS.search(tail) or any(w in outlet_words for w in words)):
            break
        cut = found[0]
    return cut


def _last_separator(text: Normalized, end: int) -> tuple[int, int] | None:
    """The last separator before `end`; a spaced hyphen that joins two words ("из - за",
    "anti - Israel", as some aggregators space every hyphen) is none."""
    last = None
    for match in _SEPARATOR.finditer(text.text, 0, end):
        if match.group() == " - " and _joins(text, match.start(), match.end()):
            continue
        last = match
    return (last.start(), last.end()) if last is not None and last.start() > 0 else None


def _joins(text: Normalized, start: int, end: int) -> bool:
    after = text.original[text.origin(end)] if end < len(text.text) else ""
    before = re.findall(r"\w+", text.text[max(0, start - 8) : start])
    return hyphen_joins(before[-1] if before else "", after)


def longest_first(hits: Sequence[Hit]) -> list[Hit]:
    """Keep the longest of overlapping hits (`_rank` breaks ties); in order."""
    if len(hits) < 2:
        return list(hits)
    in_order = sorted(hits, key=_START)
    if _disjoint(in_order):
        return in_order  # the usual case: nothing overlaps, so nothing is dropped
    taken: list[Hit] = []
    for hit in sorted(hits, key=_rank):
        if _fits(hit, taken):
            taken.append(hit)
    return sorted(taken, key=_START)


def case_ok(hit: Hit, text: Normalized) -> bool:
    """Acronyms in capitals; place names capitalised, and not the tail of "U.S."; a country's
    name with its last capitalised word capitalised ("south Sudan" yes, "la réunion" no)."""
    term = hit.term
    if not (term.acronym or term.capital or term.named):
        return True
    original = text.original
    if term.named and " " not in term.text:
        first = original[text.origin(hit.start)]
        return first.isupper() or is_capitalised(original, text.origin(hit.start))
    start, end = text.span(hit.start, hit.end)
    if term.acronym:  # in capitals, or as the data writes it ("oPt"); no currency ("US$6bn")
        written = original[start:end]
        return (is_acronym(written) or written in _mixed_case_acronyms()) and not (
            original.startswith("$", end)
        )
    if term.capital:
        return is_capitalised(original, start) and not borrows_initial(original, start)
    return _name_word_capitalised(term.text, original, start, end)


@lru_cache(maxsize=1)
def _mixed_case_acronyms() -> frozenset[str]:
    """Abbreviations that data/geo.toml writes with small letters ("oPt")."""
    return frozenset(a for names in geo_data().acronyms.values() for a in names if not a.isupper())


def _name_word_capitalised(name: str, original: str, start: int, end: int) -> bool:
    """The last word that the name writes with a capital is written so here ("south Sudan"
    names South Sudan; "la réunion" does not name La Réunion). An English name of capitalised
    words written all in lower case still names its country ("the united kingdom", as some
    aggregators spell out "UK"), unless it opens with a word of direction ("west bank")."""
    count, index = _capital_word(name)
    matched = original[start:end]
    if count > 1 and matched.islower() and _lower_case_name(name):
        return True
    found = matched.split()
    if len(found) != count:
        return is_capitalised(original, start)
    offset = start + matched.find(found[index])
    return is_capitalised(original, offset)


_DIRECTIONS = frozenset(
    "north south east west northern southern eastern western upper lower middle central".split()
)


@lru_cache(maxsize=4_096)
def _lower_case_name(name: str) -> bool:
    words = name.split()
    return (
        all(w[:1].isupper() for w in words)
        and words[0].lower() not in _DIRECTIONS
        and name.isascii()
    )


@lru_cache(maxsize=65_536)
def _capital_word(name: str) -> tuple[int, int]:
    """A name's number of words and the index of its last word written with a capital."""
    words = name.split()
    return len(words), max((i for i, w in enumerate(words) if w[:1].isupper()), default=0)


def touching(geo: Sequence[Hit]) -> frozenset[int]:
    """Indexes of the hits (sorted by start) that touch a neighbour: "Chad" in "Niger, Chad"
    is a country, not "Chad Smith". One pass, whatever the number of hits."""
    out: set[int] = set()
    for i in range(1, len(geo)):
        if 0 <= geo[i].start - geo[i - 1].end <= 2:
            out.update((i - 1, i))
    return frozenset(id(geo[i]) for i in out)


def context_ok(
    hit: Hit,
    *,
    text: Normalized,
    words: Words,
    near: AbstractSet[int],
    vetoes: Mapping[str, CompiledVeto],
) -> bool:
    """Personal names ("Chad Smith said", "León XIV"), a place name that is an acronym here,
    and vetoes ("Atlanta … Georgia") reject a hit."""
    term = hit.term
    if term.kind in _NAMED_KINDS and not term.acronym:
        start, end = text.span(hit.start, hit.end)
        original = text.original
        if names_a_person(original, start, end):
            return False
        if _name_tail(original, start):
            return False
        if term.kind == "place" and end - start <= _SHORT and acronym_clash(original, start, end):
            return False
        if term.person_risk and id(hit) not in near and looks_like_person(original, start, end):
            return False
        if (
            term.kind == "place"
            and term.capital
            and id(hit) not in near
            and " " not in term.text
            and after_a_name(original, start)
        ):
            return False
    veto = vetoes.get(text.text[hit.start : hit.end])
    if veto is None:
        return True
    return not vetoed(veto, words.window(text.text, hit.start, hit.end, veto.window))


_BEFORE_HYPHEN = re.compile(r"(\w+) ?- ?$")


def _name_tail(original: str, start: int) -> bool:
    """A name right after the hyphen of a place's first word ("Рамат-Гане", "Рамат - Гане"):
    the tail of that place's name, no place of its own."""
    if start < 3 or "-" not in original[start - 3 : start]:
        return False  # quick: no hyphen right before
    before = _BEFORE_HYPHEN.search(original, max(0, start - 12), start)
    return before is not None and before.group(1).lower() in NAME_PREFIXES


def excluded(hit: Hit, *, text: str, words: Words) -> bool:
    """An indicator term cancelled by one of its exclusion phrases nearby."""
    if not hit.term.exclude or not any(phrase in text for phrase in hit.term.exclude):
        return False  # (nowhere in the text: no need to find the words around the hit)
    window = words.window(text, hit.start, hit.end, hit.term.window)
    return any(phrase in window for phrase in hit.term.exclude)


def near_enough(hit: Hit, *, words: Words, places: Sequence[Hit]) -> bool:
    """Within `hit.term.near` words of one of `places` (hits in the same field)."""
    here = words.index(hit.start)
    return any(abs(words.index(p.start) - here) <= hit.term.near for p in places)
