"""Language of an item: declared when the text agrees, detected otherwise (CLD2, scripts)."""

from __future__ import annotations

import pytest

from bot.matching.language import detect_language, item_language


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Armed men killed fifteen villagers in central Mali, officials said on Tuesday", "en"),
        ("Des hommes armés ont tué quinze villageois dans le centre du Mali mardi", "fr"),
        ("Hombres armados mataron a quince campesinos en el norte del país este martes", "es"),
        ("Homens armados mataram quinze camponeses no norte do país nesta terça-feira", "pt"),
        ("مقتل عشرات المدنيين في قصف على مدينة الفاشر في السودان", "ar"),
        ("Боевики убили двадцать мирных жителей на севере страны во вторник", "ru"),
        ("کشته شدن ده‌ها غیرنظامی در حمله هوایی به شهر", "fa"),  # Persian letters
        ("Η κυβέρνηση ανακοίνωσε νέα μέτρα για την οικονομία", "el"),
        ("Напади Израела на Либан: детаљи о нападима и жртвама", "sr"),  # ђ ј љ њ ћ џ
        ("Атаките на Израел срещу Ливан продължават във вторник", "bg"),  # ъ
    ],
)
def test_detects(text: str, expected: str) -> None:
    assert detect_language(text) == expected


def test_no_south_slavic_language_without_its_own_letters() -> None:
    # CLD2 is sure this short Russian headline (no ы, no э) is Serbian: unknown, so every
    # language's terms apply, rather than none
    assert detect_language("Атаки Израиля на Ливан 10 марта подробности") is None


def test_names_do_not_decide_the_language() -> None:
    # CLD2 reads "Kaduna" and "Nigeria" as Hausa; the common words are English
    assert detect_language("Nigeria: gunmen abduct 200 schoolchildren in Kaduna state") == "en"


@pytest.mark.parametrize("text", ["Sudan", "12 / 03", "Trump threatens Iran", ""])
def test_too_little_text_is_unknown(text: str) -> None:
    assert detect_language(text) is None


def test_declared_language_wins_when_the_script_agrees() -> None:
    assert item_language("en-GB", "A short title") == "en"
    assert item_language("fr", "Mali : affrontements") == "fr"


def test_a_mislabelled_feed_is_corrected() -> None:
    # an English headline in a feed declared Arabic (GDELT does this)
    title = "Israeli strikes kill four in Gaza amid regional offensives, officials say"
    assert item_language("ar", title) == "en"


def test_a_quoted_script_does_not_overrule_the_feed() -> None:
    assert item_language("ar", "التطهير العرقي في السودان UN report quarterly data") == "ar"
