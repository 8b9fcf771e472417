"""The compiled automaton: build it from terms, scan folded text into word-bounded hits."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import replace
from typing import Any, NamedTuple

import ahocorasick

from bot.matching.terms import Term, patterns

_CONJUNCTIONS = ("", "و", "ف")
_PREPOSITIONS = ("", "ب", "ل", "ك")
_ARTICLES = ("", "ال")
ARABIC_PREFIXES = frozenset(
    {c + p + a for c, p, a in itertools.product(_CONJUNCTIONS, _PREPOSITIONS, _ARTICLES)}
    | {c + "لل" for c in _CONJUNCTIONS}
) - {""}
_MAX_PREFIX = max(map(len, ARABIC_PREFIXES))
_SEPARATOR = re.compile(r"[\W_]")
_ASCII_PUNCTUATION = bytes(i for i in range(128) if not chr(i).isalnum())
_ASCII_SEPARATORS = bytes.maketrans(_ASCII_PUNCTUATION, b" " * len(_ASCII_PUNCTUATION))


class Hit(NamedTuple):
    """`term` matched folded text [start, end); `size` is the literal pattern's length.

    A named tuple rather than a frozen dataclass: one is made per raw hit, on the hot path.
    """

    start: int
    end: int
    size: int
    term: Term


_hit = tuple.__new__  # Hit(...) without the named tuple's Python-level __new__


def _unspaced(char: str) -> bool:
    """Scripts written without spaces between words: substring matching applies."""
    code = ord(char)
    return (
        0x0E00 <= code <= 0x0EFF  # Thai, Lao
        or 0x1000 <= code <= 0x109F  # Myanmar
        or 0x1780 <= code <= 0x17FF  # Khmer
        or 0x3040 <= code <= 0x30FF  # kana
        or 0x3400 <= code <= 0x9FFF  # CJK
        or 0xF900 <= code <= 0xFAFF
    )


_FIRST_UNSPACED = "\u0e00"  # (no character below it is `_unspaced`: a quick test first)


def _arabic_letter(char: str) -> bool:
    return "\u0620" <= char <= "\u064a"


def _left_ok(text: str, start: int, first: str) -> bool:
    if start == 0 or not text[start - 1].isalnum() or _unspaced(first):
        return True
    if not (_arabic_letter(first) and _arabic_letter(text[start - 1])):
        return False
    begin = start
    while begin > 0 and _arabic_letter(text[begin - 1]) and start - begin <= _MAX_PREFIX:
        begin -= 1
    at_word_start = begin == 0 or not _arabic_letter(text[begin - 1])
    return at_word_start and text[begin:start] in ARABIC_PREFIXES


def arabic_article_before(text: str, start: int) -> bool:
    """The word prefix before `start` holds the article ("المالي": "the financial", not Mali).

    Names that take the article carry it in their own spelling ("السودان"); the others
    take a preposition or a conjunction ("بلبنان", "ولبنان"), never the article.
    """
    begin = start
    while begin > 0 and _arabic_letter(text[begin - 1]) and start - begin <= _MAX_PREFIX:
        begin -= 1
    prefix = text[begin:start]
    return bool(prefix) and ("ال" in prefix or prefix.endswith("لل"))


_WORD_TAIL = re.compile(r"[^\W_]*")  # letters and digits: what `str.isalnum` accepts


def _keyed(text: str) -> str:
    """The text the automaton reads: a leading space, every non-word character a space.

    Same length plus one, so offsets carry over; a pattern stored with a leading space can
    only match at the start of a word, so most partial-word hits never reach Python.
    """
    if text.isascii():
        return " " + text.encode("ascii").translate(_ASCII_SEPARATORS).decode("ascii")
    return " " + _SEPARATOR.sub(" ", text)


def scan(automaton: Any, text: str) -> list[Hit]:
    """Every word-bounded occurrence of a pattern in folded `text`."""
    hits: list[Hit] = []
    append = hits.append
    tail = _WORD_TAIL.match
    size_of_text = len(text)
    for last_index, (size, bounded, prefixed, terms) in automaton.iter(_keyed(text)):
        end = last_index  # the keyed text is one character longer than `text`
        start = end - size
        unbounded_left = not bounded and start and text[start - 1].isalnum()
        if unbounded_left and not _left_ok(text, start, text[start]):
            continue
        bounded_right = end == size_of_text or not text[end].isalnum()
        if not prefixed:  # the usual case: whole-word terms only
            if bounded_right or (text[end - 1] >= _FIRST_UNSPACED and _unspaced(text[end - 1])):
                for term in terms:
                    append(_hit(Hit, (start, end, size, term)))
            continue
        for term in terms:
            if term.prefix:  # the hit runs to the end of the word
                right = tail(text, end).end()  # type: ignore[union-attr]  # (matches "")
            elif bounded_right or _unspaced(text[end - 1]):
                right = end
            else:
                continue
            if term.tail is not None:  # the phrase's other words ("военн* операци*")
                rest = term.tail.match(text, right)
                if rest is None:
                    continue
                right = rest.end()
            append(_hit(Hit, (start, right, size, term)))
    return hits


def _shape(term: Term) -> tuple[object, ...]:
    """Everything but keys and text: terms of one shape share an automaton entry. An
    indicator term keeps its language (French "offensive" must survive the choice of French
    terms); names are language-neutral."""
    return (
        term.lang if term.kind == "indicator" else "",
        term.kind,
        term.prefix,
        term.acronym,
        term.capital,
        term.named,
        term.demonym,
        term.person_risk,
        term.at_home,
        term.exclude,
        term.window,
        term.near,
        term.tail,
    )


def _merge(bucket: dict[tuple[object, ...], Term], term: Term) -> None:
    shape = _shape(term)
    known = bucket.get(shape)
    if known is None:
        bucket[shape] = term
    elif not set(term.keys) <= set(known.keys):
        bucket[shape] = replace(known, keys=tuple(sorted({*known.keys, *term.keys})))


def _key(pattern: str) -> str:
    """The automaton key of a pattern: with a leading space when the key itself enforces the
    left word boundary.

    Arabic patterns (which may follow a prefix) and unspaced scripts are checked in Python.
    """
    key = _SEPARATOR.sub(" ", pattern).lstrip(" ")
    first = key[0]
    if _arabic_letter(first) or _unspaced(first):
        return key
    return " " + key


def build_automaton(terms: Iterable[Term]) -> tuple[Any, int]:
    """One Aho-Corasick automaton over every spelling of every term, and its key count."""
    table: dict[str, dict[tuple[object, ...], Term]] = {}
    for term in terms:
        head = term.text if term.tail is None else term.text[: term.text.index("*") + 1]
        for pattern in patterns(head):
            _merge(table.setdefault(_key(pattern), {}), term)
    automaton = ahocorasick.Automaton()
    for key, bucket in table.items():
        bounded = key.startswith(" ")
        size = len(key) - bounded
        terms = tuple(bucket.values())
        prefixed = any(t.prefix for t in terms)
        automaton.add_word(key, (size, bounded, prefixed, terms))
    automaton.make_automaton()
    return automaton, len(table)
