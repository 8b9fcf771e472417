"""Counts in headlines: digits, number words in each language, what is not a count."""

from __future__ import annotations

import pytest

from bot.matching.morphology import tokenize
from bot.matching.numbers import read_numbers


def _values(text: str, lang: str) -> list[int]:
    return [n.value for n in read_numbers(tokenize(text, lang), text, lang)]


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("12 killed", "en", [12]),
        ("1,200 displaced", "en", [1200]),
        ("over 2,000 activists detained", "en", [2000]),  # grouped: no year, though in range
        ("2 000 déplacés", "fr", [2000]),
        ("100 , 000 displaced", "en", [100_000]),  # GDELT's spacing
        ("816.000 desplazados", "es", [816_000]),
        ("2 million displaced", "en", [2_000_000]),
        ("at least twelve villagers", "en", [12]),
        ("twenty five dead", "en", [25]),
        ("deux travailleurs humanitaires", "fr", [2]),
        ("cent soixante-dix filles", "fr", [170]),
        ("ciento setenta niñas", "es", [170]),
        ("dez mortos", "pt", [10]),
        ("duas crianças", "pt", [2]),
        ("двенадцати человек", "ru", [12]),
        ("сто семьдесят детей", "ru", [170]),
        ("مقتل أربعة", "ar", [4]),
        ("مقتل ١٢ مدنيا", "ar", [12]),  # Arabic-Indic digits
        ("مقتل خمسة عشر مدنيا", "ar", [15]),  # a teen
        ("مقتل اثني عشر مدنيا", "ar", [12]),
        ("مقتل خمسة وعشرين مدنيا", "ar", [25]),  # units and tens, the oblique "-ين"
        ("مقتل مائة وخمسين شخصا", "ar", [150]),
        ("مقتل فلسطينيين اثنين", "ar", [2]),
        ("مقتل عشرين شخصا", "ar", [20]),
    ],
)
def test_counts(text: str, lang: str, expected: list[int]) -> None:
    assert _values(text, lang) == expected


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("$250,000 for the families", "en"),
        ("prices up 15 % this week", "en"),
        ("a 30 km convoy", "en"),
        ("since 2024", "en"),
        ("for 3 days", "en"),
        ("for ten years", "en"),  # spelled out, a measure too
        ("pendant cinq jours", "fr"),
        ("seize five areas", "en"),  # places taken, not people
        ("150 000 € d'aide", "fr"),
        ("Case SDN 010605 urgent appeal", "en"),  # a leading zero: a code, not a count
    ],
)
def test_amounts_measures_and_years_are_not_counts(text: str, lang: str) -> None:
    assert _values(text, lang) == []


def test_huge_and_hostile_numbers_are_bounded() -> None:
    text = " ".join(str(i) for i in range(2000)) + " " + "9" * 400
    values = _values(text, "en")
    assert all(0 < v <= 10_000_000 for v in values)
    assert _values("twenty " * 1000, "en")  # a run is read in short windows, never all at once
