"""Text normalisation with an offset map back to the original string.

Every original character is folded on its own (NFKC, casefold, diacritics dropped, a few
Arabic letter variants unified, dashes/quotes/whitespace unified), so each character of the
normalised text knows which original character it came from.
"""

from __future__ import annotations

import unicodedata
from typing import NamedTuple

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


class Normalized(NamedTuple):
    """Folded `text`; `offsets[i]` is the index in `original` that produced `text[i]`.

    A named tuple rather than a frozen dataclass: one is made per field, on the hot path.
    """

    original: str
    text: str
    offsets: tuple[int, ...] | None = None  # None: the identity map (plain ASCII fast path)

    def origin(self, position: int) -> int:
        """The index in `original` of the character that produced `text[position]`."""
        return position if self.offsets is None else self.offsets[position]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map a non-empty half-open span of `text` to a half-open span of `original`."""
        offsets = self.offsets  # (`origin` twice, inlined: one span is taken per hit kept)
        if offsets is None:
            return start, end
        return offsets[start], offsets[end - 1] + 1


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


class _FoldTable(dict[int, str]):
    """`str.translate` table: code point → its folded form, filled in on first use."""

    def __missing__(self, code: int) -> str:
        folded = self[code] = fold_char(chr(code))
        return folded


class _OddTable(dict[int, str]):
    """`str.translate` table: "" for a character that folds to exactly one character, else "!"."""

    def __missing__(self, code: int) -> str:
        odd = self[code] = "" if len(fold_char(chr(code))) == 1 else "!"
        return odd


_FOLD_TABLE = _FoldTable()
_ODD_TABLE = _OddTable()


_plain = tuple.__new__  # Normalized(...) without the named tuple's Python-level __new__


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
        return _plain(Normalized, (text, text.lower(), None))  # (most headlines)
    if not text.translate(_ODD_TABLE):  # one character in, one out: no offset map needed
        joined = text.translate(_FOLD_TABLE)
        if "  " not in joined and not joined.startswith(" "):
            return Normalized(text, joined)
    cached = _FOLDED.get
    pieces = [cached(ch) or fold_char(ch) for ch in text]
    joined = "".join(pieces)
    one_to_one = len(joined) == len(text) and all(pieces)
    if one_to_one and "  " not in joined and not joined.startswith(" "):
        return Normalized(text, joined)
    return _collapsed(text, pieces)


def fold(text: str) -> str:
    """The normalised form of `text` without the offset map (for building patterns)."""
    return normalize(text).text.strip()


# Words that begin a place's hyphenated name: what follows is no place of its own ("Рамат-Гане"
# is Ramat Gan, not Ghana; "Нью-Джерси" is no Jersey)
NAME_PREFIXES = frozenset(
    {"tel", "ramat", "kiryat", "beit", "kfar", "rishon", "petah", "rosh"}
    | {"тель", "рамат", "кирьят", "бейт", "кфар", "ришон", "петах", "рош", "бат", "беэр"}
    | {"нью", "сан", "санкт", "лос", "лас"}
)


# Words that a spaced hyphen joins to the word after them, as some aggregators space every
# hyphen ("Pierre al - Rai", "anti - Israel", "Абу - Даби", "Нью - Йорк"): nothing ends there.
HYPHEN_JOINED = frozenset(
    {"al", "el", "ad", "ar", "as", "an", "ash", "az", "bin", "ibn", "abu", "ould"}
    | {"anti", "pro", "non", "ex", "co"}
    | {"аль", "эль", "ибн", "бен", "абу"}
    | NAME_PREFIXES  # ("нью", "сан", "санкт" …)
)


def hyphen_joins(before: str, after: str) -> bool:
    """A spaced "-" between the words `before` and `after` (as written) is a word's own
    hyphen: a lowercase word or a number follows it ("mine - laying", "KC - 135", "из - за"),
    or a joining word precedes it ("al - Rai"); before a capitalised word it separates
    ("… - World")."""
    first = after[:1]
    return first.islower() or first.isdigit() or before.lower() in HYPHEN_JOINED
