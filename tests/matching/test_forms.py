"""Spanish and Portuguese forms the stemmer cannot join to the lexicon's words
(bot/matching/data/forms.toml, written by tools/forms.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from bot.matching.events import detect_events
from bot.matching.lexicon import event_lexicon
from bot.matching.morphology import _irregular, word_keys

TOOL = Path(__file__).resolve().parents[2] / "tools" / "forms.py"


@pytest.mark.parametrize(
    ("form", "base", "lang"),
    [
        ("dispara", "disparar", "es"),
        ("niega", "negar", "es"),
        ("incendió", "incendiar", "es"),
        ("incendeia", "incendiar", "pt"),
        ("explosões", "explosão", "pt"),
        ("abrem", "abrir", "pt"),
    ],
)
def test_a_form_whose_stem_changes_has_its_base_words_key(form: str, base: str, lang: str) -> None:
    assert word_keys(base, lang)[0] in word_keys(form, lang)


def test_acts_in_those_forms_are_events() -> None:
    for title, lang in [
        ("La policía dispara contra manifestantes en Quito", "es"),
        ("Milícia incendeia casas em aldeia de Moçambique", "pt"),
        ("Soldados abrem fogo contra manifestantes em Maputo", "pt"),
    ]:
        assert [e.grade for e in detect_events(title, lang, field="title")] == ["violation"], title


def test_a_denial_in_a_changed_stem_still_denies() -> None:
    assert detect_events("El ejército niega haber matado a civiles", "es", field="title") == []


def test_the_table_is_what_the_tool_writes_for_todays_lexicon() -> None:
    """A word added to data/events.toml needs `tools/forms.py` run again: this says so."""
    spec = importlib.util.spec_from_file_location("forms_tool", TOOL)
    assert spec is not None and spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    lexicon = event_lexicon()
    for lang in tool.LANGUAGES:
        assert tool.forms(lang, lexicon.words(lang)) == _irregular(lang), (
            f"data/forms.toml is stale for {lang}: run .venv/bin/python tools/forms.py"
        )
