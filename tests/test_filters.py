"""The subscription filter language (`bot.filters`): parsing, precedence, matching on folded
words, limits, positions of errors, and hostile input."""

from __future__ import annotations

import string

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.filters import (
    MAX_DEPTH,
    MAX_LENGTH,
    MAX_TERMS,
    AllOf,
    AnyOf,
    FilterError,
    Not,
    Term,
    describe,
    matches,
    parse,
)


def passes(query: str, title: str, summary: str = "") -> bool:
    return matches(parse(query), title=title, summary=summary).passed


@pytest.mark.parametrize(
    ("query", "read_as"),
    [
        ('"El Fasher" OR Darfur -cholera', '"El Fasher" OR (Darfur AND NOT cholera)'),
        ("a b OR c", "(a AND b) OR c"),
        ("a OR b c", "a OR (b AND c)"),
        ("NOT a b", "NOT a AND b"),
        ("-a OR b", "NOT a OR b"),
        ("(a OR b) c", "(a OR b) AND c"),
        ("a AND (b OR NOT (c d))", "a AND (b OR NOT (c AND d))"),
        ("al-Fashir", "al-Fashir"),
        ("and or not", "and AND or AND not"),  # lower case: words, not operators
        ('"AND"', '"AND"'),
        ("“El Fasher” OR Darfur", '"El Fasher" OR Darfur'),  # curly quotes are quotes
    ],
)
def test_precedence_not_and_or(query: str, read_as: str) -> None:
    assert describe(parse(query)) == read_as


def test_the_issue_example() -> None:
    query = '"El Fasher" OR Darfur -cholera'
    assert passes(query, "Shelling near El-Fâsher camp")  # folded, on word boundaries
    assert passes(query, "Cholera spreads", summary="Cases in EL FASHER rise")  # OR wins
    assert passes(query, "Attack in North Darfur")
    assert not passes(query, "Cholera outbreak in Darfur")
    assert not passes(query, "Elfasher market reopens")  # not the phrase's words
    assert not passes(query, "El and Fasher")  # phrase words must be adjacent
    verdict = matches(parse(query), title="Fighting in El Fasher and Darfur")
    assert verdict.matched == ("El Fasher", "Darfur")


def test_word_boundaries_not_substrings() -> None:
    assert not passes("war", "Warsaw and software")
    assert passes("war", "The war, again")
    assert not passes('"north darfur"', "northern darfur")


def test_phrase_never_spans_title_and_summary() -> None:
    assert not passes('"fasher attack"', "Shelling in El Fasher", summary="Attack repelled")


def test_matching_uses_the_matchers_folding() -> None:
    assert passes("Darfur", "ＤＡＲＦＵＲ")  # full-width
    assert passes("Darfur", "Dar\u200bfur")  # zero-width space inside
    assert passes("Dar\u200dfur", "Darfur")  # zero-width joiner in the query
    assert passes("cafe", "Cafe\u0301 bombed")  # combining acute
    assert passes("Fâsher", "fasher")
    assert passes("الفاشر", "قصف في الفاشر")  # Arabic
    assert passes("أحمد", "احمد")  # Arabic letter variants unified
    assert passes("Судан", "Война в СУДАН")  # Cyrillic, case-folded
    assert passes("Darfur", "\u202eDarfur\u202c")  # bidi controls are dropped
    assert not passes("Darfur", "Dаrfur")  # a Cyrillic 'а' is another letter


def test_negated_terms_are_not_reported_as_matched() -> None:
    verdict = matches(parse("Darfur -cholera"), title="Darfur")
    assert verdict.passed and verdict.matched == ("Darfur",)
    assert matches(parse("-cholera"), title="Darfur").matched == ()


@pytest.mark.parametrize(
    ("query", "position", "message"),
    [
        ("", 0, "empty"),
        ("   ", 0, "empty"),
        ("Darfur OR (El Fasher", 10, "never closed"),
        ("Darfur )", 7, "no '('"),
        ('"El Fasher', 0, "never closed"),
        ("Darfur OR", 9, "ends where a term"),
        ("AND Darfur", 0, "where a term was expected"),
        ("Darfur OR OR x", 10, "where a term was expected"),
        ("()", 1, "where a term was expected"),
        ("a - b", 2, "no letters or digits"),
        ('a "" b', 2, "no letters or digits"),
        ("a \u200b\u200d b ...", 7, "no letters or digits"),
        ("NOT", 3, "ends where a term"),
    ],
)
def test_errors_point_at_the_position(query: str, position: int, message: str) -> None:
    with pytest.raises(FilterError) as caught:
        parse(query)
    assert caught.value.position == position
    assert message in str(caught.value)
    shown, caret = caught.value.pointer()
    assert caret.index("^") == position and len(shown) == len(query)


def test_limits_on_length_terms_and_depth() -> None:
    with pytest.raises(FilterError, match="limit is 500") as long:
        parse("a " * (MAX_LENGTH // 2 + 1))
    assert long.value.position == MAX_LENGTH
    with pytest.raises(FilterError, match="terms") as many:
        parse(" ".join(f"w{i}" for i in range(MAX_TERMS + 1)))
    assert many.value.position == len(" ".join(f"w{i}" for i in range(MAX_TERMS))) + 1
    parse("(" * MAX_DEPTH + "a" + ")" * MAX_DEPTH)
    with pytest.raises(FilterError, match="nests deeper") as deep:
        parse("(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1))
    assert deep.value.position == MAX_DEPTH
    with pytest.raises(FilterError, match="nests deeper"):
        parse("NOT " * (MAX_DEPTH + 1) + "a")
    with pytest.raises(FilterError, match="nests deeper"):
        parse("-" * (MAX_DEPTH + 1) + "a")


@pytest.mark.parametrize(
    "query",
    [
        "(" * 10_000,
        ")" * 10_000,
        "a" * 100_000,
        '"' * 499,
        "NOT " * 124 + "a",
        "-(" * 200 + "a",
        "\u202e" * 500,
        "\u0301" * 400,
        "a OR " * 99 + "a",
        ".*" * 200,
        "(a|b)+$",
    ],
)
def test_hostile_queries_get_a_filter_error_or_a_small_tree(query: str) -> None:
    try:
        tree = parse(query)
    except FilterError as exc:
        assert 0 <= exc.position <= len(query)
        shown, caret = exc.pointer()
        assert len(shown) <= 120 and "\u202e" not in shown and caret.endswith("^")
        return
    assert _size(tree) <= MAX_TERMS * 2 + MAX_DEPTH


def test_regex_characters_are_plain_text() -> None:
    assert passes("(a|b)", "a b")  # the word a|b is the words a, b: no regular expression
    assert not passes("(a|b)", "zzz")
    assert not passes("a.b", "axb") and passes("a.b", "a b")
    with pytest.raises(FilterError, match="no letters"):
        parse(".*")


def _size(tree: object) -> int:
    if isinstance(tree, Term):
        return 1
    if isinstance(tree, Not):
        return 1 + _size(tree.child)
    assert isinstance(tree, AllOf | AnyOf)
    return 1 + sum(_size(c) for c in tree.children)


WORDS = st.sampled_from(["darfur", "el", "fasher", "cholera", "attack", "camp", "kordofan"])
ALPHABET = st.sampled_from([*list(string.printable), "“", "”", "\u200b", "\u202e", "é", "ф", "ل"])


@st.composite
def queries(draw: st.DrawFn, depth: int = 0) -> str:
    kind = draw(st.integers(0, 4 if depth < 3 else 1))
    if kind == 0:
        return draw(WORDS)
    if kind == 1:
        return '"' + " ".join(draw(st.lists(WORDS, min_size=1, max_size=3))) + '"'
    if kind == 2:
        return draw(st.sampled_from(["NOT ", "-"])) + draw(queries(depth + 1))
    op = draw(st.sampled_from([" AND ", " OR ", " "]))
    parts = draw(st.lists(queries(depth + 1), min_size=2, max_size=3))
    return "(" + op.join(parts) + ")"


@settings(max_examples=300, deadline=None)
@given(st.text(ALPHABET, max_size=80))
def test_any_text_parses_or_raises_a_filter_error(query: str) -> None:
    try:
        parse(query)
    except FilterError as exc:
        assert 0 <= exc.position <= len(query)


@settings(max_examples=300, deadline=None)
@given(queries(), st.lists(WORDS, max_size=12), st.lists(WORDS, max_size=12))
def test_describe_reads_back_as_the_same_query(
    query: str, title: list[str], summary: list[str]
) -> None:
    tree = parse(query)
    again = parse(describe(tree))
    args = {"title": " ".join(title), "summary": " ".join(summary)}
    assert matches(tree, **args) == matches(again, **args)


@settings(max_examples=300, deadline=None)
@given(queries(), st.lists(WORDS, max_size=12))
def test_boolean_laws(query: str, title: list[str]) -> None:
    # the laws compose the query twice: both copies must fit the length limit
    assume(len(f"({query}) AND NOT ({query})") <= MAX_LENGTH)
    text = " ".join(title)
    result = passes(query, text)
    assert passes(f"NOT ({query})", text) is not result
    assert passes(f"({query}) OR NOT ({query})", text)
    assert not passes(f"({query}) AND NOT ({query})", text)
    verdict = matches(parse(query), title=text)
    assert verdict.passed is result
    assert all(passes(f'"{term}"', text) for term in verdict.matched)  # each one is really there


@settings(max_examples=200, deadline=None)
@given(
    st.lists(WORDS, min_size=1, max_size=3),
    st.lists(WORDS, max_size=6),
    st.lists(WORDS, max_size=6),
)
def test_a_phrase_matches_exactly_when_its_words_are_adjacent(
    phrase: list[str], before: list[str], after: list[str]
) -> None:
    title = " ".join([*before, *phrase, *after])
    assert passes('"' + " ".join(phrase) + '"', title.upper())
    shuffled = " ".join(w.upper() for w in [*before, *after])
    expected = f" {' '.join(phrase)} " in f" {' '.join([*before, *after])} "
    assert passes('"' + " ".join(phrase) + '"', shuffled) is expected
