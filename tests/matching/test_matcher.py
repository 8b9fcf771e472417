"""The Matcher on feed items: structured tags, evidence offsets, rebuild per config."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.matching import Evidence, Matcher, MatchingSettings, SituationSpec, build_matcher
from feeds.model import Item

NOW = datetime(2024, 5, 1, tzinfo=UTC)


def _item(title: str, summary: str = "", **extra: object) -> Item:
    return Item(feed="test", guid=title, title=title, summary=summary, published=NOW, **extra)  # type: ignore[arg-type]


def test_structured_tags_are_evidence(matcher: Matcher) -> None:
    result = matcher.match(_item("Weekly report", countries=("SDN",), primary_country="SDN"))
    assert result.situations == ("sudan",)
    assert result.evidence == (
        Evidence(
            kind="situation",
            key="sudan",
            term="SDN",
            matched="SDN",
            field="tags",
            start=0,
            end=1,
            language="",
        ),
    )


def test_evidence_points_into_the_original_fields(matcher: Matcher) -> None:
    item = _item("Haïti : massacre à Port-au-Prince", "Des milliers de déplacés à Cité Soleil.")
    result = matcher.match(item)
    assert result.situations == ("haiti",)
    assert set(result.indicators) == {"RF11", "EE4"}
    for e in result.evidence:
        source = item.title if e.field == "title" else item.summary
        assert source[e.start : e.end] == e.matched
    languages = {e.term: e.language for e in result.evidence}
    assert languages["Haiti"] == "en" and languages["déplacé*"] == "fr"


def test_population_threshold_controls_the_gazetteer() -> None:
    spec = [SituationSpec(slug="ssd", name="South Sudan", countries=("SSD",))]
    small = build_matcher(spec, matching_settings=MatchingSettings(gazetteer_min_population=1_000))
    large = build_matcher(
        spec, matching_settings=MatchingSettings(gazetteer_min_population=5_000_000)
    )
    assert small.match_text(title="Cholera in Malakal").situations == ("ssd",)
    assert large.match_text(title="Cholera in Malakal").situations == ()


def test_place_names_need_a_capital(matcher: Matcher) -> None:
    assert matcher.match_text(title="Cholera in Mogadishu").situations == ("somalia",)
    assert matcher.match_text(title="cholera in mogadishu, reports say").situations == ()


def test_one_country_in_several_situations() -> None:
    specs = [
        SituationSpec(slug="sudan", name="Sudan", countries=("SDN",)),
        SituationSpec(slug="sahel-east", name="Chad–Sudan border", countries=("TCD", "SDN")),
    ]
    matcher = build_matcher(specs)
    assert matcher.match_text(title="Sudan: refugees").situations == ("sudan", "sahel-east")


def test_an_item_outside_every_situation_is_not_read_further(matcher: Matcher) -> None:
    """Ingest's path stops at geography: an unwatched place's massacre is neither stored nor
    sent, so its events and indicators are not looked for; `match_text` (the CLI) still reads
    everything."""
    title = "Militia massacre 40 civilians in a village in Bolivia"
    unwatched = matcher.match(_item(title))
    assert not unwatched.situations and not unwatched.evidence and not unwatched.events
    assert matcher.match_text(title=title).events
    watched = matcher.match(_item("Militia massacre 40 civilians in a village near El Fasher"))
    assert watched.situations == ("sudan",) and watched.events
