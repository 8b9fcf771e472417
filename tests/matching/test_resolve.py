"""The fast paths of hit resolution agree with the plain definitions they replace."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.matching.resolve import longest_first
from bot.matching.scan import Hit
from bot.matching.terms import Term

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
