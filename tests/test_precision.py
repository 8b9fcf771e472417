"""Precision figures and suggestion helpers as pure functions, on constructed votes."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from typing import Any

from rich.console import Console

from bot.feedback_view import report_json, report_text
from bot.precision import Vote, event_key, precision_report, vote_keys
from bot.suggest import _quote, exclusion_phrase

T = datetime(2026, 11, 30, tzinfo=UTC)


def vote(
    relevant: bool,
    *,
    item_id: int = 1,
    terms: list[dict[str, Any]] | None = None,
    indicators: tuple[str, ...] = ("RF1",),
    source: str = "Wire",
    feed: str = "wire",
) -> Vote:
    evidence = {"terms": terms or [], "events": [], "mentions": []}
    return Vote(
        alert_id=item_id,
        item_id=item_id,
        situation="sudan",
        relevant=relevant,
        feed=feed,
        keys=vote_keys(evidence=evidence, indicators=indicators, source=source, feed=feed),
        evidence=evidence,
    )


def test_rules_with_enough_votes_come_first_worst_first_and_only_they_are_flagged() -> None:
    votes = [
        *(vote(False, source="Rumours") for _ in range(3)),
        *(vote(True, source="Wire") for _ in range(3)),
        vote(False, source="Wire"),
        vote(False, source="Blog"),  # one vote: never flagged, listed after
    ]
    report = precision_report(votes, min_votes=3, since=T, until=T)
    assert [(r.key, r.relevant, r.not_relevant) for r in report.by("source")] == [
        ("Rumours", 0, 3),
        ("Wire", 3, 1),
        ("Blog", 0, 1),
    ]
    assert (report.relevant, report.not_relevant, report.precision) == (3, 5, 3 / 8)
    flagged = report.flagged(below=0.5)
    assert [(r.dimension, r.key) for r in flagged] == [
        ("source", "Rumours"),
        ("indicator", "RF1"),  # 3 of 8: ties go by dimension
        ("feed", "wire"),
    ]
    assert all(r.votes >= 3 for r in flagged)
    assert precision_report([], min_votes=3, since=T, until=T).precision is None


def test_a_vote_counts_once_per_rule_and_event_terms_count_as_events() -> None:
    terms = [
        {"key": "RF1", "term": "clashes", "field": "title", "start": 0, "end": 7},
        {"key": "RF1", "term": "clashes", "field": "summary", "start": 3, "end": 10},
        {"key": "RF11", "term": "event:kill", "field": "title", "start": 0, "end": 4},
        {"key": "RF2", "term": None},
    ]
    keys = vote_keys(
        evidence={"terms": terms, "events": []}, indicators=["RF1", "RF1"], source="", feed=""
    )
    assert keys["term"] == ('RF1 "clashes"',)
    assert keys["indicator"] == ("RF1",) and keys["source"] == ("(unknown)",)


def test_event_types_name_codes_act_and_whom_it_reached() -> None:
    assert event_key({"act": "attack", "codes": ["RF11"], "targets": ["health"]}) == (
        "RF11 attack on health"
    )
    assert event_key({"act": "kill", "codes": ["RF11"], "victims": ["civilian", "child"]}) == (
        "RF11 kill on civilian"
    )
    assert event_key({"act": "genocide", "codes": []}) == "genocide"


def _term(text: str, word: str) -> dict[str, Any]:
    start = text.index(word)
    return {"key": "RF1", "term": word, "field": "title", "start": start, "end": start + len(word)}


def test_exclusion_phrase_is_frequent_in_not_relevant_reports_and_absent_from_relevant_ones() -> (
    None
):
    titles = {
        1: "Football fans clashes after the derby",
        2: "Police break up fans clashes in Omdurman",
        3: "Fans  clashes delay the cup final",  # two spaces: still the same phrase
        4: "Renewed clashes after the RSF advance",  # relevant
        5: "Clashes after dark",  # not relevant, "clashes after" is also in a relevant report
    }
    relevant = {4}
    votes = [
        vote(i in relevant, item_id=i, terms=[_term(t, "clashes" if i != 5 else "Clashes")])
        for i, t in titles.items()
    ]
    texts = {i: {"title": t, "summary": ""} for i, t in titles.items()}
    assert exclusion_phrase('RF1 "clashes"', votes, texts=texts) == "fans clashes"
    # once the relevant reports say "fans clashes" too, no phrase qualifies
    texts[4] = {"title": "Renewed clashes: fans clashes too", "summary": ""}
    assert exclusion_phrase('RF1 "clashes"', votes, texts=texts) is None


def test_exclusion_phrase_survives_offsets_that_do_not_fit_the_text() -> None:
    bad = {"key": "RF1", "term": "clashes", "field": "title", "start": 50, "end": 10}
    votes = [vote(False, item_id=i, terms=[bad]) for i in (1, 2)]
    texts = {i: {"title": "short", "summary": ""} for i in (1, 2)}
    assert exclusion_phrase('RF1 "clashes"', votes, texts=texts) is None


def test_toml_strings_survive_quotes_backslashes_and_control_characters() -> None:
    for phrase in ['say "war"', "back\\slash", "tab\there", "new\nline", "é ش"]:
        assert tomllib.loads(f"x = {_quote(phrase)}")["x"] == phrase


def test_text_report_prints_keys_as_data_not_markup() -> None:
    votes = [vote(False, source="[bold red]Evil[/] <b>") for _ in range(3)]
    report = precision_report(votes, min_votes=3, since=T, until=T)
    console = Console(record=True, width=120)
    console.print(report_text(report, [], top=5))
    out = console.export_text()
    assert "[bold red]Evil[/] <b>" in out and "No suggestions" in out
    assert report_json(report, None)["rules"]["source"][0]["key"] == "[bold red]Evil[/] <b>"
