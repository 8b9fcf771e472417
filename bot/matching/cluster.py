"""Near-duplicate titles: the same story from several sources counts as corroboration.

`title_key` folds a title to its content words once, when the item is stored; `same_story_keys`
compares two keys. `story_bands` is the key's MinHash LSH signature: two keys that share a band
are candidates, which `same_story_keys` then confirms. Titles of one story share a band with high
probability (measured on real wire stories by `bench/stories.py`), so a new title is compared with
a handful of candidates instead of every recent title. (Twelve MinHash values over a dozen words
are a few lines; datasketch would bring SciPy into every instance for them: about 50 MB.)
"""

from __future__ import annotations

import hashlib
import re
import struct

from rapidfuzz import fuzz

from bot.matching.normalize import fold

_TOKEN = re.compile(r"\w+")
SAME_STORY_JACCARD = 0.7  # share of distinct content words in common
SAME_STORY_SPELLING = 92.0  # rapidfuzz token_sort_ratio for near-identical spellings
MIN_SHARED_TOKENS = 3
BAND_ROWS = 2  # MinHash values per band: a band is (almost always) two shared content words
BANDS = 6  # a pair with Jaccard 0.7 shares a band with probability 0.98, at 0.5 with 0.82
_KEY = b"tocsin-stories-1"  # fixed: stored bands must stay comparable across versions, instances
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


_VALUES = struct.Struct(f"<{BANDS * BAND_ROWS}I")  # one 32-bit hash per MinHash function


def story_bands(key: str) -> tuple[int, ...]:
    """The LSH bands of a `title_key`: `BANDS` signed 64-bit integers (for a BIGINT column).

    Each word's keyed BLAKE2b digest gives it one 32-bit value per MinHash function; the key's
    MinHash is the smallest value of each function over its words, and a band folds
    `BAND_ROWS` of them, with its index, into one integer. An empty key has no bands (it never
    joins a story)."""
    words = set(key.split())
    if not words:
        return ()
    hashes = [
        _VALUES.unpack(hashlib.blake2b(w.encode(), digest_size=_VALUES.size, key=_KEY).digest())
        for w in words
    ]
    values = [min(column) for column in zip(*hashes, strict=True)]
    bands = []
    for band in range(BANDS):
        row = values[band * BAND_ROWS : (band + 1) * BAND_ROWS]
        folded = hashlib.blake2b(repr((band, row)).encode(), digest_size=8, key=_KEY).digest()
        bands.append(int.from_bytes(folded, "big", signed=True))
    return tuple(bands)
