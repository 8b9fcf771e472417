"""Normalisation invariants: idempotent, offsets map back, case and diacritics folded."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.matching.normalize import fold, fold_char, normalize

texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=80)


@given(texts)
def test_idempotent(text: str) -> None:
    once = normalize(text).text
    assert normalize(once).text == once


@given(texts)
def test_offsets_map_into_the_original(text: str) -> None:
    normalized = normalize(text)
    offsets = [normalized.origin(i) for i in range(len(normalized.text))]
    assert all(0 <= o < len(text) for o in offsets)
    assert offsets == sorted(offsets)


@given(texts)
def test_each_character_comes_from_its_original(text: str) -> None:
    normalized = normalize(text)
    for i, char in enumerate(normalized.text):
        source = text[normalized.origin(i)]
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


def _char_by_char(text: str) -> tuple[str, list[int]]:
    """The definition: fold each character, collapse runs of spaces, drop a leading one."""
    out: list[str] = []
    origins: list[int] = []
    for index, char in enumerate(text):
        for piece in fold_char(char):
            if piece == " " and (not out or out[-1] == " "):
                continue
            out.append(piece)
            origins.append(index)
    return "".join(out), origins


@given(texts)
def test_fast_paths_agree_with_char_by_char_folding(text: str) -> None:
    normalized = normalize(text)
    folded, origins = _char_by_char(text)
    assert normalized.text == folded
    assert [normalized.origin(i) for i in range(len(folded))] == origins


@given(st.text(alphabet="aé’ “”–-  \t\n`Ωß İﬁ", max_size=40))
def test_fast_paths_on_near_ascii_text(text: str) -> None:
    normalized = normalize(text)
    folded, origins = _char_by_char(text)
    assert normalized.text == folded
    assert [normalized.origin(i) for i in range(len(folded))] == origins
