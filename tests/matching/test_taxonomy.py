"""The shipped taxonomy file, config overrides, exclusions and proximity."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.matching import (
    IndicatorDef,
    IndicatorsSettings,
    SituationSpec,
    TaxonomyError,
    TermDef,
    build_matcher,
    load_taxonomy,
    resolve_indicators,
)
from bot.matching.taxonomy import IndicatorTerm

REQUIRED_LANGUAGES = {"en", "fr", "es", "ar", "pt"}
SUDAN = [SituationSpec(slug="sudan", name="Sudan", countries=("SDN",))]


def test_shipped_taxonomy_has_the_framework_and_enabling_factors() -> None:
    codes = [i.code for i in load_taxonomy()]
    assert codes == [f"RF{n}" for n in range(1, 15)] + [f"EE{n}" for n in range(1, 9)]


@pytest.mark.parametrize("indicator", load_taxonomy(), ids=lambda i: i.code)
def test_each_indicator_is_complete(indicator) -> None:  # type: ignore[no-untyped-def]
    assert indicator.name and indicator.short and indicator.description
    assert 0 < indicator.weight <= 10
    assert {t.lang for t in indicator.terms} >= REQUIRED_LANGUAGES
    spelled = [(t.lang, t.text) for t in indicator.terms]
    assert len(set(spelled)) == len(spelled), "duplicate term"


def test_disable_indicator() -> None:
    settings = IndicatorsSettings(disabled=["EE4"])
    matcher = build_matcher(SUDAN, settings)
    result = matcher.match_text(title="Thousands displaced in Sudan")
    assert result.indicators == ()
    assert "EE4" not in {i.code for i in resolve_indicators(settings)}


def test_weight_change() -> None:
    indicators = resolve_indicators(IndicatorsSettings(weights={"RF10": 9.5}))
    assert {i.code: i.weight for i in indicators}["RF10"] == 9.5
    matcher = build_matcher(SUDAN, IndicatorsSettings(weights={"RF10": 9.5}))
    result = matcher.match_text(title="Genocide warning for Sudan")
    assert [f.weight for f in result.factors] == [9.5]


def test_extra_term_for_existing_indicator() -> None:
    extra = IndicatorDef(code="EE7", terms={"en": ["Janjaweed"]})
    matcher = build_matcher(SUDAN, IndicatorsSettings(extra=[extra]))
    assert matcher.match_text(title="Janjaweed raid in Sudan").indicators == ("EE7",)


def test_new_indicator() -> None:
    extra = IndicatorDef(code="X1", name="Gold rush", weight=0.5, terms={"en": ["gold mine*"]})
    matcher = build_matcher(SUDAN, IndicatorsSettings(extra=[extra]))
    result = matcher.match_text(title="Clashes over gold mines in Sudan")
    assert set(result.indicators) == {"RF1", "X1"}


def test_unknown_codes_are_reported() -> None:
    with pytest.raises(TaxonomyError, match="RF99"):
        resolve_indicators(IndicatorsSettings(disabled=["RF99"]))


def test_new_indicator_needs_name_and_weight() -> None:
    with pytest.raises(TaxonomyError, match="X2"):
        resolve_indicators(IndicatorsSettings(extra=[IndicatorDef(code="X2", terms={})]))


def test_replacement_taxonomy_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(
        '[[indicator]]\ncode = "A1"\nname = "Floods"\nweight = 1.0\n'
        '[indicator.terms]\nen = ["flood*"]\n',
        encoding="utf-8",
    )
    matcher = build_matcher(SUDAN, IndicatorsSettings(taxonomy=path))
    assert matcher.match_text(title="Floods and massacres in Sudan").indicators == ("A1",)


def test_broken_taxonomy_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[[indicator]\n", encoding="utf-8")
    with pytest.raises(TaxonomyError) as caught:
        load_taxonomy(path)
    assert caught.value.path == path


def test_term_exclusion_cancels_nearby_only() -> None:
    term = TermDef(term="ceasefire", exclude=["ceasefire holds"], window=4)
    matcher = build_matcher(
        SUDAN, IndicatorsSettings(extra=[IndicatorDef(code="RF8", terms={"en": [term]})])
    )
    assert matcher.match_text(title="Sudan: ceasefire holds in Khartoum").indicators == ()
    assert matcher.match_text(title="Sudan: ceasefire announced").indicators == ("RF8",)


def test_proximity_requirement() -> None:
    settings = IndicatorsSettings(proximity_words=5)
    matcher = build_matcher(SUDAN, settings)
    far = "Report: " + "word " * 20 + "in Sudan. " + "more " * 20 + "massacre"
    assert matcher.match_text(title="Weekly notes", summary=far).indicators == ()
    near = "A massacre was reported in Sudan yesterday."
    assert matcher.match_text(title="Weekly notes", summary=near).indicators == ("RF11",)
    assert matcher.match_text(title="Sudan update", summary=far).indicators == ("RF11",)


def test_per_term_proximity() -> None:
    term = TermDef(term="night patrols", near=3)
    extra = IndicatorDef(code="RF7", terms={"en": [term]})
    matcher = build_matcher(SUDAN, IndicatorsSettings(extra=[extra]))
    far = "Night patrols were reported in a country far from " + "x " * 10 + "Sudan"
    assert matcher.match_text(title="News", summary=far).indicators == ()
    near = "Night patrols in Sudan"
    assert matcher.match_text(title="News", summary=near).indicators == ("RF7",)


def test_every_shipped_term_matches_its_own_text() -> None:
    """No term is dead: each matches its own words (wildcards read as nothing more; a term
    that must stand near a situation, beside one)."""
    matcher = build_matcher(SUDAN)

    def own_text(term: IndicatorTerm) -> str:
        return term.text.replace("*", "") + (" Sudan" if term.near else "")

    dead = [
        (indicator.code, term.lang, term.text)
        for indicator in resolve_indicators(IndicatorsSettings())
        for term in indicator.terms
        if indicator.code
        not in matcher.match_text(title=own_text(term), language=term.lang).indicators
    ]
    assert dead == []


@pytest.mark.parametrize(
    ("title", "lang", "code"),
    [
        ("Военную операцию в Судане продлили", "ru", "RF1"),  # "военн* операци*"
        ("Полиция применила слезоточивый газ в Хартуме", "ru", "RF7"),
        ("Aid workers killed in Darfur", "en", "RF14"),  # "aid worker* killed"
        ("Election results rejected in Sudan", "en", "RF8"),
        # armed conflict and crackdowns as events-dev's level 1 describes them
        ("RSF fighters clash with the army near El Obeid", "en", "RF1"),
        ("Army recaptures town in Sudan", "en", "RF1"),
        ("Opposition leader arrested in Khartoum", "en", "RF7"),
        ("Un opposant arrêté à Khartoum", "fr", "RF7"),
        ("Российские войска продвигаются в Судане", "ru", "RF1"),
    ],
)
def test_every_word_of_a_phrase_may_continue(title: str, lang: str, code: str) -> None:
    assert code in build_matcher(SUDAN).match_text(title=title, language=lang).indicators


@pytest.mark.parametrize(
    ("text", "lang", "plural"),
    [
        ("operación terrestre", "es", "operaciones terrestres"),
        ("violación del alto el fuego", "es", "violaciones del alto el fuego"),  # its complement
        ("toman el control", "es", None),  # a verb and its object: nothing agrees
        ("operação militar", "pt", "operacoes militares"),
        ("lei marcial", "pt", "leis marciais"),
        ("guerra civil", "pt", "guerras civis"),
        ("loi martiale", "fr", "lois martiales"),
        ("état d'urgence", "fr", "etats d'urgence"),
        ("ataques aéreos", "es", None),  # already plural
        ("massacr*", "fr", None),
        ("armed conflict", "en", None),
    ],
)
def test_romance_plural(text: str, lang: str, plural: str | None) -> None:
    from bot.matching.terms import romance_plural

    assert romance_plural(text, lang) == plural


@pytest.mark.parametrize(
    ("text", "lang", "plural"),
    [
        ("ground operation", "en", "ground operations"),
        ("ceasefire violation", "en", "ceasefire violations"),
        ("mass grave", "en", "mass graves"),
        ("food supply", "en", "food supplies"),
        ("tax", "en", None),  # one word: listed with its forms where it needs them
        ("armed clashes", "en", None),  # already plural
        ("incursion*", "en", None),
        ("opération terrestre", "fr", None),  # romance_plural's
    ],
)
def test_english_plural(text: str, lang: str, plural: str | None) -> None:
    from bot.matching.terms import english_plural

    assert english_plural(text, lang) == plural


@pytest.mark.parametrize(
    ("title", "lang", "code"),
    [
        ("Israel begins limited ground operations in southern Lebanon", "en", "RF1"),
        ("Israel lanza operaciones terrestres limitadas en Gaza", "es", "RF1"),
        ("Sudão: exército anuncia operações militares em Cartum", "pt", "RF1"),
        ("Les lois martiales se multiplient au Sahel", "fr", "RF1"),
    ],
)
def test_plural_of_a_phrase_matches(title: str, lang: str, code: str) -> None:
    matcher = build_matcher([SituationSpec(slug="x", name="X", countries=("SDN",))])
    assert code in matcher.match_text(title=title, language=lang).indicators


@pytest.mark.parametrize(
    ("text", "accusative"),
    [
        ("نزوح", "نزوحا"),
        ("تهجير قسري", "تهجيرا قسريا"),
        ("حرب أهلية", "حربا اهليه"),  # a feminine ending takes no alif
        ("النزوح", None),  # nor a definite word
        ("نازحين", None),  # nor a sound plural
        ("displacement", None),
    ],
)
def test_arabic_accusative(text: str, accusative: str | None) -> None:
    from bot.matching.terms import arabic_accusative

    assert arabic_accusative(text) == accusative


def test_arabic_accusative_matches() -> None:
    matcher = build_matcher([SituationSpec(slug="x", name="X", countries=("SDN",))])
    result = matcher.match_text(title="الحرب تسبب نزوحا جماعيا في السودان", language="ar")
    assert "EE4" in result.indicators
