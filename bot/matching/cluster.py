"""Near-duplicate titles: the same story from several sources counts as corroboration."""

from __future__ import annotations

import re

from rapidfuzz import fuzz

from bot.matching.normalize import fold

_TOKEN = re.compile(r"\w+")
SAME_STORY_JACCARD = 0.7  # share of distinct content words in common
SAME_STORY_SPELLING = 92.0  # rapidfuzz token_sort_ratio for near-identical spellings
MIN_SHARED_TOKENS = 3
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "and",
        "or",
        "by",
        "with",
        "from",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "has",
        "have",
        "after",
        "le",
        "la",
        "les",
        "des",
        "du",
        "de",
        "et",
        "en",
        "au",
        "aux",
        "un",
        "une",
        "el",
        "los",
        "las",
        "del",
        "y",
        "por",
        "con",
        "para",
        "o",
        "da",
        "do",
        "dos",
        "das",
        "e",
    ]
)


def title_key(title: str) -> str:
    """Folded content words of a title, in order.

    "Sudan: Fighting in Darfur" → "sudan fighting darfur".
    """
    tokens = _TOKEN.findall(fold(title).replace(".", ""))
    return " ".join(t for t in tokens if t not in _STOPWORDS and not t.isdigit())


def same_story(a: str, b: str) -> bool:
    """Two titles report the same story: most content words shared, whatever the order
    (Jaccard on title keys), or the same words spelled slightly differently."""
    return same_story_keys(title_key(a), title_key(b))


def same_story_keys(key_a: str, key_b: str) -> bool:
    """`same_story` on precomputed `title_key`s (for comparing one title with many)."""
    if not key_a or not key_b:
        return False
    if key_a == key_b:
        return True
    words_a, words_b = set(key_a.split()), set(key_b.split())
    shared = words_a & words_b
    if len(shared) < MIN_SHARED_TOKENS:
        return False
    if len(shared) / len(words_a | words_b) >= SAME_STORY_JACCARD:
        return True
    return fuzz.token_sort_ratio(key_a, key_b) >= SAME_STORY_SPELLING
