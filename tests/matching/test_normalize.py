"""Normalisation invariants: idempotent, offsets map back, case and diacritics folded."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.matching.normalize import fold, normalize

texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=80)


@given(texts)
def test_idempotent(text: str) -> None:
    once = normalize(text).text
    assert normalize(once).text == once


@given(texts)
def test_offsets_map_into_the_original(text: str) -> None:
    normalized = normalize(text)
    offsets = [normalized.index(i) for i in range(len(normalized.text))]
    assert all(0 <= o < len(text) for o in offsets)
    assert offsets == sorted(offsets)


@given(texts)
def test_each_character_comes_from_its_original(text: str) -> None:
    normalized = normalize(text)
    for i, char in enumerate(normalized.text):
        source = text[normalized.index(i)]
        assert char == " " or char in normalize(source).text


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyzàâäéèêëïîôöùûüçñãõ", max_size=30))
def test_case_and_diacritics_fold_together(word: str) -> None:
    assert normalize(word.upper()).text == normalize(word).text
    assert normalize(word).text.isascii()


def test_examples() -> None:
    assert fold("Haïti") == fold("HAITI") == "haiti"
    assert fold("Côte d’Ivoire") == "cote d'ivoire"
    assert fold("ﬁve  spaces\n\tand tabs") == "five spaces and tabs"
    assert fold("أزمة إثيوبيا") == "ازمه اثيوبيا"
    assert fold("Südsudan — Krise") == "sudsudan - krise"


def test_span_maps_back_through_expansions() -> None:
    text = "ﬁ İstanbul Haïti"
    normalized = normalize(text)
    start = normalized.text.index("haiti")
    begin, end = normalized.span(start, start + len("haiti"))
    assert text[begin:end] == "Haïti"
