"""Backtesting over JSON Lines: one output line per input line, errors never crash."""

from __future__ import annotations

import io
import json

from bot.matching import AlertThresholds, Matcher, match_jsonl

LINES = [
    json.dumps({"id": "a", "title": "Massacre in South Sudan", "countries": ["SSD"]}),
    "{not json",
    json.dumps({"id": 2, "title": "Weather in Oslo", "summary": "Rain."}),
    json.dumps({"title": "no id"}),
    "",
    json.dumps(["a list"]),
    json.dumps({"id": "c", "title": 5}),
    json.dumps({"id": "d", "title": "Déplacés au Tchad", "language": "fr", "url": "x"}),
]


def test_match_jsonl(matcher: Matcher) -> None:
    out = io.StringIO()
    errors = match_jsonl(LINES, out, matcher, thresholds=AlertThresholds())
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert errors == 4
    assert len(records) == 7  # the blank line is skipped
    first, bad_json, second, no_id, not_object, bad_title, third = records
    assert first["id"] == "a" and first["situations"] == ["south-sudan"]
    # a massacre is an atrocity by definition: warning (bot/matching/events.py)
    assert first["indicators"] == ["RF11"] and first["severity"] == "warning"
    assert {e["field"] for e in first["evidence"]} == {"tags", "title"}
    assert second == {**second, "id": 2, "situations": [], "indicators": [], "score": 0.0}
    assert third["situations"] == ["chad"] and third["indicators"] == ["EE4"]
    assert bad_json["line"] == 2 and "error" in bad_json
    assert no_id["line"] == 4 and "id" in no_id["error"]
    assert "object" in not_object["error"] and "title" in bad_title["error"]
