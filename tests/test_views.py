"""What an alert card lists under "Risk factors" (bot/outbox/views.py evidence())."""

from __future__ import annotations

from bot.ingest import stored_evidence
from bot.matching import AlertThresholds, SituationSpec, build_matcher
from bot.outbox.views import evidence
from bot.store.tables import Match


def _match(title: str, summary: str = "") -> Match:
    """Match evidence as ingest stores it: indicator evidence plus the event records."""
    matcher = build_matcher([SituationSpec(slug="eth", name="Ethiopia", countries=("ETH",))])
    result = matcher.match_text(title=title, summary=summary, language="en")
    stored = stored_evidence(result, matcher, situation="eth", thresholds=AlertThresholds())
    return Match(item_id=1, situation="eth", severity="watch", evidence=stored)


def test_one_line_per_factor_each_phrase_once() -> None:
    match = _match(
        "Ethiopia: mass arrests in Amhara",
        "Mass arrests, a curfew and a communications blackout reported in Amhara.",
    )
    lines = evidence(match)
    codes = [line.code for line in lines]
    assert len(codes) == len(set(codes))
    prepared = next(line for line in lines if line.code == "RF7")
    folded = [p.casefold() for p in prepared.phrases]
    assert folded.count("mass arrests") == 1
    assert {"curfew", "communications blackout"} <= set(folded)


def test_an_event_is_shown_by_its_words_not_the_span_between_them() -> None:
    match = _match("Ethiopia: soldiers executed dozens of men in Amhara village, witnesses say")
    attack = next(line for line in evidence(match) if line.code == "RF11")
    (phrase,) = attack.phrases
    assert phrase.startswith("executed dozens + ")  # the act with its count, then the victims
    assert "village" in phrase.split(" + ")
    assert "of men in" not in phrase  # not the text between the act and its victims
