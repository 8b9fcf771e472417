"""Text normalisation with an offset map back to the original string.

Every original character is folded on its own (NFKC, casefold, diacritics dropped, a few
Arabic letter variants unified, dashes/quotes/whitespace unified), so each character of the
normalised text knows which original character it came from.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

_ARABIC = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ى": "ي",
        "ی": "ي",
        "ک": "ك",
        "ة": "ه",
        "ـ": None,
    }
)
_PUNCT = str.maketrans(
    {
        "‐": "-",
        "‑": "-",
        "‒": "-",
        "–": "-",
        "—": "-",
        "―": "-",
        "−": "-",
        "’": "'",
        "‘": "'",
        "ʼ": "'",
        "`": "'",
        "´": "'",
        "“": '"',
        "”": '"',
        "«": '"',
        "»": '"',
    }
)
_DROP_CATEGORIES = frozenset({"Mn", "Me", "Cf", "Cc"})


@dataclass(frozen=True, kw_only=True)
class Normalized:
    """Folded `text`; `offsets[i]` is the index in `original` that produced `text[i]`."""

    original: str
    text: str
    offsets: tuple[int, ...] | None = None  # None: the identity map (plain ASCII fast path)

    def index(self, position: int) -> int:
        """The index in `original` of the character that produced `text[position]`."""
        return position if self.offsets is None else self.offsets[position]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map a non-empty half-open span of `text` to a half-open span of `original`."""
        return self.index(start), self.index(end - 1) + 1


def _fold_once(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = unicodedata.normalize("NFKD", text)
    text = "".join(" " if ch.isspace() else ch for ch in text)
    kept = "".join(ch for ch in text if unicodedata.category(ch) not in _DROP_CATEGORIES)
    return kept.translate(_ARABIC).translate(_PUNCT)


_FOLDED: dict[str, str] = {}


def fold_char(char: str) -> str:
    """Fold one character to a fixed point (folding the result again changes nothing)."""
    folded = _FOLDED.get(char)
    if folded is None:
        folded = char
        for _ in range(4):
            again = _fold_once(folded)
            if again == folded:
                break
            folded = again
        _FOLDED[char] = folded
    return folded


def _is_plain(text: str) -> bool:
    return text.isascii() and text.isprintable() and "  " not in text and "`" not in text


def _collapsed(text: str, pieces: list[str]) -> Normalized:
    out: list[str] = []
    offsets: list[int] = []
    for index, piece_text in enumerate(pieces):
        for piece in piece_text:
            if piece == " " and (not out or out[-1] == " "):
                continue
            out.append(piece)
            offsets.append(index)
    return Normalized(original=text, text="".join(out), offsets=tuple(offsets))


def normalize(text: str) -> Normalized:
    """Fold `text` character by character, collapsing runs of whitespace to one space."""
    if _is_plain(text) and not text.startswith(" "):
        return Normalized(original=text, text=text.lower())
    cached = _FOLDED.get
    pieces = [cached(ch) or fold_char(ch) for ch in text]
    joined = "".join(pieces)
    one_to_one = len(joined) == len(text) and all(pieces)
    if one_to_one and "  " not in joined and not joined.startswith(" "):
        return Normalized(original=text, text=joined)
    return _collapsed(text, pieces)


def fold(text: str) -> str:
    """The normalised form of `text` without the offset map (for building patterns)."""
    return normalize(text).text.strip()
