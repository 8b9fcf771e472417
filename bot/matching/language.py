"""Language of an item whose feed does not declare one.

The script decides first: Arabic letters → ar (fa or ur when their own letters appear); Greek,
Hebrew, Han, kana, Hangul, Devanagari … by their Unicode blocks. Latin and Cyrillic text goes
to CLD2 (`pycld2`: compiled, ~7 MB, ~25 µs a headline), which answers only when it is sure; an
unsure answer is None, and the matcher then applies the terms of every language (a wrong
language would hide terms; no language hides none). Languages outside the taxonomy's six are
still returned: they count in the briefings' source diversity.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

SUPPORTED = ("en", "fr", "es", "pt", "ar", "ru")
_PERSIAN_LETTERS = frozenset("پچژگکی")  # Arabic writes ك and ي, Persian ک and ی
_URDU_LETTERS = frozenset("ٹڈڑںےھ")
_UKRAINIAN_LETTERS = frozenset("іїєґ")
_RUSSIAN_LETTERS = frozenset("ыэ")  # in Russian, not in Bulgarian, Macedonian or Serbian
# CLD2 calls a short Russian headline without ы or э Serbian, Macedonian or Bulgarian ("Атаки
# Израиля на Ливан 10 марта подробности": sr); that needs a letter Russian does not write
_OWN_LETTERS = {"sr": frozenset("ђјљњћџ"), "mk": frozenset("ѓјљњќѕџ"), "bg": frozenset("ъ")}
_MIN_LETTERS = 20  # shorter text ("Trump threatens Iran") is too little to tell
_MIN_COMMON_WORDS = 3
_BLOCKS = (
    (0x0370, 0x03FF, "el"),
    (0x0590, 0x05FF, "he"),
    (0x0900, 0x097F, "hi"),
    (0x0980, 0x09FF, "bn"),
    (0x0E00, 0x0E7F, "th"),
    (0x10A0, 0x10FF, "ka"),
    (0x0530, 0x058F, "hy"),
    (0x1100, 0x11FF, "ko"),
    (0xAC00, 0xD7AF, "ko"),
    (0x3040, 0x30FF, "ja"),
    (0x4E00, 0x9FFF, "zh"),
)


def _script(ch: str) -> str:
    code = ord(ch)
    if ch.isascii() or 0x00C0 <= code <= 0x024F:
        return "latin"
    if 0x0400 <= code <= 0x04FF:
        return "cyrillic"
    if 0x0600 <= code <= 0x06FF or 0x0750 <= code <= 0x077F or 0xFB50 <= code <= 0xFEFF:
        return "arabic"
    for low, high, lang in _BLOCKS:
        if low <= code <= high:
            return lang
    return "other"


def _common_words(text: str) -> str:
    """The words that do not start with a capital, when there are enough of them: names of
    people and places say little about the language ("gunmen abduct 200 in Kaduna" is not
    Hausa)."""
    words = [w for w in text.split() if w[0].isalpha() and not w[0].isupper()]  # (none is "")
    return " ".join(words) if len(words) >= _MIN_COMMON_WORDS else text


def _cld2(text: str) -> str | None:
    """CLD2 on the common words, then on the whole text; None unless it is sure."""
    common = _common_words(text)
    return _cld2_sure(common) or (_cld2_sure(text) if common != text else None)


def _cld2_sure(text: str) -> str | None:
    import pycld2

    try:
        reliable, _, details = pycld2.detect(text)
    except pycld2.error:
        return None  # e.g. invalid UTF-8 after a lone surrogate
    code = str(details[0][1])
    return code if reliable and code not in {"un", "xxx"} else None


_letter_script = lru_cache(maxsize=4096)(_script)  # a text repeats its letters


def _arabic_script(letters: str) -> str:
    present = set(letters)
    if present & _URDU_LETTERS:
        return "ur"
    return "fa" if present & _PERSIAN_LETTERS else "ar"


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of `text`, or None when it is too short, mixed or unclear."""
    letters = "".join(filter(str.isalpha, text))
    if len(letters) < _MIN_LETTERS:
        return None
    if letters.isascii():
        script, count = "latin", len(letters)  # (every ASCII letter is Latin)
    else:
        script, count = Counter(map(_letter_script, letters)).most_common(1)[0]
    if count < len(letters) / 2:
        return None  # no majority script: better no language than a wrong one
    if script == "arabic":
        return _arabic_script(letters)
    if script == "cyrillic":
        present = set(letters.lower())
        if present & _UKRAINIAN_LETTERS:
            return "uk"
        if present & _RUSSIAN_LETTERS:
            return "ru"
        found = _cld2(text)
        own = _OWN_LETTERS.get(found or "")
        return None if own is not None and not own & present else found
    if script == "latin":
        return _cld2(text)
    return None if script == "other" else script


_LATIN_LANGUAGES = frozenset({"en", "fr", "es", "pt", "de", "it", "nl", "tr", "id", "ro", "pl"})
_EXPECTED_SCRIPT = {
    "ar": "arabic",
    "fa": "arabic",
    "ur": "arabic",
    "ru": "cyrillic",
    "uk": "cyrillic",
}


_NOT_LATIN = re.compile("[\u0370-\u1fff\u3040-\uffff]")


def _agrees(lang: str, text: str) -> bool:
    """Cheap check that a tenth or more of `text`'s letters are in the script of `lang`: feeds
    mislabel (an English headline in a feed declared Arabic), but a headline may quote another
    script at length."""
    expected = _EXPECTED_SCRIPT.get(lang, "latin" if lang in _LATIN_LANGUAGES else None)
    if expected is None:
        return True
    if expected == "latin" and (text.isascii() or not _NOT_LATIN.search(text, 0, 200)):
        return True
    sample = [ch for ch in text[:200] if ch.isalpha()]
    if not sample:
        return True
    return sum(_script(ch) == expected for ch in sample) * 10 >= len(sample)


_SAMPLE = 300  # characters of a field read to tell its language (CLD2 is sure well before)


def item_language(declared: str | None, title: str, summary: str = "") -> str | None:
    """The declared language when the text is in its script (en-GB → en), else detected."""
    if declared:
        code = declared.replace("_", "-").split("-")[0].strip().lower()
        if code and _agrees(code, title):
            return code
    return detect_language(f"{title[:_SAMPLE]} {summary[:_SAMPLE]}".strip())
