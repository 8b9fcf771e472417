"""Russian case forms of country names ("Южный Судан" → "в Южном Судане")."""

from __future__ import annotations

import itertools

_ADJECTIVE = ("ый", "ий", "ой", "ая", "яя", "ое", "ее")
_ADJECTIVE_FORMS = ("ый", "ий", "ой", "ая", "ое", "ого", "ому", "ом", "ым", "ую", "ей", "ые", "ых")
_NOUN_A_FORMS = ("а", "и", "е", "у", "ой", "ы", "я", "ю", "ей")
_DROP_LAST = "аяьй"
_MIN_STEM = 3


def _inner_forms(word: str) -> tuple[str, ...]:
    if len(word) > 4 and word.endswith(_ADJECTIVE):
        return tuple(word[:-2] + ending for ending in _ADJECTIVE_FORMS)
    if len(word) > 4 and word[-1] in "ая":
        return tuple(word[:-1] + ending for ending in _NOUN_A_FORMS)
    return (word,)


def _last_form(word: str) -> tuple[str, bool]:
    """A stem that matches any ending, or the word itself when it does not decline."""
    if word[-1] in _DROP_LAST and len(word) - 1 >= _MIN_STEM:
        return word[:-1], True
    if word[-1].isalpha() and word[-1] not in "оеиуыэю" and len(word) >= _MIN_STEM:
        return word, True
    return word, False


def russian_forms(name: str) -> tuple[tuple[str, bool], ...]:
    """(form, is_prefix) pairs covering the common case endings of a Russian name."""
    words = name.split()
    if not words:
        return ()
    last, prefix = _last_form(words[-1])
    heads = itertools.product(*(_inner_forms(w) for w in words[:-1]))
    return tuple((" ".join((*head, last)), prefix) for head in heads)
