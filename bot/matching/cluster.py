"""Near-duplicate titles: the same story from several sources counts as corroboration.

`title_key` folds a title to its content words once, when the item is stored; `same_story_keys`
compares two keys. `story_bands` is the key's MinHash LSH signature (datasketch): two keys that
share a band are candidates, which `same_story_keys` then confirms. Titles of one story share a
band with high probability (measured on real wire stories by `bench/stories.py`), so a new title is
compared with a handful of candidates instead of every recent title.
"""

from __future__ import annotations

import re
from functools import cache

from datasketch import MinHash
from rapidfuzz import fuzz

from bot.matching.normalize import fold

_TOKEN = re.compile(r"\w+")
SAME_STORY_JACCARD = 0.7  # share of distinct content words in common
SAME_STORY_SPELLING = 92.0  # rapidfuzz token_sort_ratio for near-identical spellings
MIN_SHARED_TOKENS = 3
BAND_ROWS = 2  # MinHash values per band: a band is (almost always) two shared content words
BANDS = 6  # a pair with Jaccard 0.7 shares a band with probability 0.98, at 0.5 with 0.82
_SEED = 20260310  # fixed forever: stored bands must stay comparable across versions and instances
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


@cache
def _permutations() -> tuple[object, str]:
    proto = MinHash(num_perm=BANDS * BAND_ROWS, seed=_SEED)
    return proto.permutations, proto.scheme


# odd 64-bit multipliers that fold a band's values, and its index, into one 64-bit integer
_FOLD = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9)[:BAND_ROWS]
_SALTS = tuple((b + 1) * 0xD6E8FEB86659FD93 for b in range(BANDS))
_MASK = (1 << 64) - 1


def story_bands(key: str) -> tuple[int, ...]:
    """The LSH bands of a `title_key`: `BANDS` signed 64-bit integers (for a BIGINT column).

    An empty key has no bands (it never joins a story)."""
    words = set(key.split())
    if not words:
        return ()
    permutations, scheme = _permutations()
    minhash = MinHash(num_perm=BANDS * BAND_ROWS, permutations=permutations, scheme=scheme)
    minhash.update_batch([w.encode() for w in words])
    values = minhash.hashvalues.tolist()
    bands = []
    for b, salt in enumerate(_SALTS):
        row = values[b * BAND_ROWS : (b + 1) * BAND_ROWS]
        folded = (sum(v * f for v, f in zip(row, _FOLD, strict=True)) ^ salt) & _MASK
        bands.append(folded - (1 << 64) if folded >= 1 << 63 else folded)
    return tuple(bands)
