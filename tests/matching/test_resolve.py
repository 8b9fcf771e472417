"""The fast paths of hit resolution agree with the plain definitions they replace."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.matching.normalize import normalize
from bot.matching.resolve import longest_first, outlet_start
from bot.matching.scan import Hit
from bot.matching.terms import Term, split_wildcards

TERMS = [Term(kind="country", keys=(f"C{i}",), text=f"t{i}", lang="en") for i in range(3)]


def _reference(hits: list[Hit]) -> list[Hit]:
    """Longest first, then the longer literal pattern; same span and size: keep all; in order."""
    ranked = sorted(hits, key=lambda h: (h.start - h.end, -h.size, h.start))
    taken: list[Hit] = []
    for hit in ranked:
        apart = all(hit.end <= t.start or hit.start >= t.end for t in taken)
        twin = any(t.start == hit.start and t.end == hit.end and t.size == hit.size for t in taken)
        if apart or twin:
            taken.append(hit)
    return sorted(taken, key=lambda h: h.start)


@st.composite
def hits(draw: st.DrawFn) -> Hit:
    start = draw(st.integers(0, 30))
    end = start + draw(st.integers(1, 8))
    size = draw(st.integers(1, end - start))
    return Hit(start, end, size, draw(st.sampled_from(TERMS)))


@given(st.lists(hits(), max_size=8))
def test_longest_first_matches_its_definition(found: list[Hit]) -> None:
    assert longest_first(found) == _reference(found)


OUTLETS = frozenset({"news", "times", "today", "post", "noticias", "новости"})


@pytest.mark.parametrize(
    ("title", "outlet"),
    [
        ("Over 100 , 000 displaced in Lebanon - Pakistan Today", "Pakistan Today"),
        ("Strike on Tyre - Dominican Republic Post – Caribbean News", "Dominican Republic Post"),
        ("Iran fires back | The Manila Times", "The Manila Times"),
        ("Story | example.com", "example.com"),
        ("Israel - Hezbollah Strikes Kill 570 in Lebanon", ""),  # no outlet word: the story
        ("Rally against anti - Israel bias - Jewish News", "Jewish News"),
        ("Переговоры по Украине приостановлены из - за эскалации в Иране Новости", ""),
        ("Lebanon News", ""),  # nothing before it: a headline, not a suffix
    ],
)
def test_outlet_start(title: str, outlet: str) -> None:
    text = normalize(title)
    cut = outlet_start(text, OUTLETS)
    rest = text.original[text.origin(cut) :] if cut < len(text.text) else ""
    assert rest.lstrip(" |-–").startswith(outlet) if outlet else cut == len(text.text)


@pytest.mark.parametrize(
    ("term", "head", "matches", "misses"),
    [
        ("военн* операци*", "военн*", [" операцию", " операции"], [" операторы", "операция"]),
        ("aid worker* killed", "aid worker*", [" killed"], [" killedx", " were killed"]),
        ("massacr*", "massacr*", [], []),
    ],
)
def test_split_wildcards(term: str, head: str, matches: list[str], misses: list[str]) -> None:
    found_head, tail = split_wildcards(term)
    assert found_head == head
    if tail is None:
        assert not matches
        return
    for text in matches:
        assert tail.match(text) is not None, text
    for text in misses:
        assert tail.match(text) is None, text
