"""Subscription filters: a small, safe query language over an item's title and summary (pure).

    "El Fasher" OR Darfur -cholera
    (Darfur OR Kordofan) AND NOT (cholera OR dengue)

A term is a bare word or a "quoted phrase"; `NOT` or a leading `-` negates what follows; `AND`
(or nothing: adjacent terms) binds tighter than `OR`; parentheses group. Operators are written in
capitals (`and`, `or`, `not` in lower case are words to look for). Curly quotes count as quotes.

Matching uses the matcher's own folding (`bot.matching.normalize`: case, diacritics, full-width
forms, zero-width and bidi controls, Arabic letter variants): both the query's terms and the text
become sequences of words, and a term matches where its words occur one after another in the
title or in the summary. No regular expression is ever built from user text; queries are bounded
in length, number of terms and nesting depth, so parsing and matching are cheap whatever comes in.

    FilterError          the message, and the position in the query it points at
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from bot.matching.normalize import fold

MAX_LENGTH = 500
MAX_TERMS = 40
MAX_DEPTH = 8
QUOTES = frozenset('"“”„‟«»＂')
OPERATORS = frozenset({"AND", "OR", "NOT"})
_WORD = re.compile(r"\w+")  # a fixed pattern: user text is never compiled


class FilterError(ValueError):
    """A query that cannot be used; `position` is the index in `query` the problem is at."""

    def __init__(self, message: str, *, query: str, position: int) -> None:
        super().__init__(message)
        self.query = query
        self.position = max(0, min(position, len(query)))

    def pointer(self, width: int = 120) -> tuple[str, str]:
        """The query (a window of `width` around the position, control characters shown as ·)
        and a line with a caret under the position."""
        start = max(0, min(self.position - width // 2, len(self.query) - width))
        shown = "".join(_visible(ch) for ch in self.query[start : start + width])
        return shown, " " * (self.position - start) + "^"


def _visible(ch: str) -> str:
    return "·" if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]  # folded
    text: str  # as the user wrote it (shown in "matched filter: …")


@dataclass(frozen=True)
class Not:
    child: Query


@dataclass(frozen=True)
class AllOf:
    children: tuple[Query, ...]


@dataclass(frozen=True)
class AnyOf:
    children: tuple[Query, ...]


Query = Term | Not | AllOf | AnyOf


@dataclass(frozen=True, kw_only=True)
class Verdict:
    passed: bool
    matched: tuple[str, ...]  # the positive terms that matched, in query order, as written


@dataclass(frozen=True)
class _Token:
    kind: str  # "(", ")", "AND", "OR", "NOT", "-", "TERM"
    position: int
    text: str = ""
    quoted: bool = False


def parse(query: str) -> Query:
    """The query as a tree; `FilterError` (with the position) for anything unusable."""
    if len(query) > MAX_LENGTH:
        raise FilterError(
            f"the filter is {len(query)} characters long; the limit is {MAX_LENGTH}",
            query=query,
            position=MAX_LENGTH,
        )
    tokens = list(_tokens(query))
    if not tokens:
        raise FilterError("the filter is empty", query=query, position=0)
    terms = [t for t in tokens if t.kind == "TERM"]
    if len(terms) > MAX_TERMS:
        raise FilterError(
            f"the filter has {len(terms)} terms; the limit is {MAX_TERMS}",
            query=query,
            position=terms[MAX_TERMS].position,
        )
    parser = _Parser(query, tokens)
    tree = parser.any_(depth=0)
    extra = parser.peek()
    if extra is not None:  # the grammar stops early only at a ')' of no '('
        raise FilterError("this ')' has no '(' before it", query=query, position=extra.position)
    return tree


@lru_cache(maxsize=256)
def compile_filter(query: str) -> Query:
    """`parse`, remembered: the fan-out asks for the same few subscription filters again and
    again."""
    return parse(query)


def matches(tree: Query, *, title: str, summary: str = "") -> Verdict:
    """Whether an item with this title and summary passes, and which terms said so."""
    fields = (_words(title), _words(summary))
    passed, matched = _evaluate(tree, fields)
    return Verdict(passed=passed, matched=tuple(dict.fromkeys(matched)) if passed else ())


@lru_cache(maxsize=1024)
def _words(text: str) -> str:
    """Folded words joined by single spaces, with a space at each end (for whole-word `in`)."""
    return " " + " ".join(_WORD.findall(fold(text))) + " "


def _evaluate(tree: Query, fields: tuple[str, ...]) -> tuple[bool, list[str]]:
    if isinstance(tree, Term):
        needle = " " + " ".join(tree.words) + " "
        found = any(needle in field for field in fields)
        return found, [tree.text] if found else []
    if isinstance(tree, Not):
        inner, _ = _evaluate(tree.child, fields)
        return not inner, []
    results = [_evaluate(child, fields) for child in tree.children]
    if isinstance(tree, AllOf):
        passed = all(ok for ok, _ in results)
    else:
        passed = any(ok for ok, _ in results)
    return passed, [term for ok, found in results if ok for term in found]


def _tokens(query: str) -> Iterator[_Token]:
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if ch.isspace() or unicodedata.category(ch) in ("Cf", "Cc"):
            i += 1
        elif ch in "()":
            yield _Token(ch, i)
            i += 1
        elif ch in QUOTES:
            end = next((j for j in range(i + 1, n) if query[j] in QUOTES), -1)
            if end < 0:
                raise FilterError("this quote is never closed", query=query, position=i)
            yield _term(query, query[i + 1 : end], i, quoted=True)
            i = end + 1
        elif ch == "-" and i + 1 < n and not query[i + 1].isspace():
            yield _Token("-", i)
            i += 1
        else:
            j = i
            while (
                j < n and not query[j].isspace() and query[j] not in "()" and query[j] not in QUOTES
            ):
                j += 1
            word = query[i:j]
            yield _Token(word, i, word) if word in OPERATORS else _term(query, word, i)
            i = j


def _term(query: str, text: str, position: int, *, quoted: bool = False) -> _Token:
    if not _WORD.findall(fold(text)):
        what = "the quoted phrase" if quoted else repr(text)
        raise FilterError(
            f"{what} has no letters or digits to look for", query=query, position=position
        )
    return _Token("TERM", position, text, quoted)


class _Parser:
    """Recursive descent: any_ := all_ (OR all_)*; all_ := not_ ((AND)? not_)*;
    not_ := (NOT | -) not_ | term | ( any_ ). Depth counts parentheses and negations."""

    def __init__(self, query: str, tokens: list[_Token]) -> None:
        self.query = query
        self.tokens = tokens
        self.at = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def fail(self, message: str, token: _Token | None) -> FilterError:
        position = token.position if token is not None else len(self.query)
        return FilterError(message, query=self.query, position=position)

    def any_(self, *, depth: int) -> Query:
        children = [self.all_(depth=depth)]
        while (token := self.peek()) is not None and token.kind == "OR":
            self.take()
            children.append(self.all_(depth=depth))
        return children[0] if len(children) == 1 else AnyOf(tuple(children))

    def all_(self, *, depth: int) -> Query:
        children = [self.not_(depth=depth)]
        while (token := self.peek()) is not None and token.kind not in ("OR", ")"):
            if token.kind == "AND":
                self.take()
            children.append(self.not_(depth=depth))
        return children[0] if len(children) == 1 else AllOf(tuple(children))

    def not_(self, *, depth: int) -> Query:
        token = self.peek()
        if token is None:
            raise self.fail("the filter ends where a term was expected", None)
        if token.kind in ("NOT", "-", "(") and depth >= MAX_DEPTH:
            raise self.fail(f"the filter nests deeper than {MAX_DEPTH} levels", token)
        if token.kind in ("NOT", "-"):
            self.take()
            return Not(self.not_(depth=depth + 1))
        if token.kind == "(":
            self.take()
            inner = self.any_(depth=depth + 1)
            close = self.peek()
            if close is None or close.kind != ")":
                raise self.fail("this '(' is never closed", token)
            self.take()
            return inner
        if token.kind == "TERM":
            self.take()
            shown = "".join(ch for ch in token.text if _visible(ch) != "·")
            return Term(tuple(_WORD.findall(fold(token.text))), shown)
        raise self.fail(f"{token.text or token.kind!r} where a term was expected", token)


def describe(tree: Query) -> str:
    """The query as Tocsin reads it, with every grouping explicit:
    `"El Fasher" OR (Darfur AND NOT cholera)`."""
    if isinstance(tree, Term):
        bare = tree.text not in OPERATORS and not tree.text.startswith("-")
        bare = bare and not any(ch.isspace() or ch in "()" for ch in tree.text)
        return tree.text if bare else f'"{tree.text}"'
    if isinstance(tree, Not):
        return f"NOT {_grouped(tree.child)}"
    joiner = " AND " if isinstance(tree, AllOf) else " OR "
    return joiner.join(_grouped(child) for child in tree.children)


def _grouped(tree: Query) -> str:
    return describe(tree) if isinstance(tree, Term | Not) else f"({describe(tree)})"
