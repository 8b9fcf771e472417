"""Backtesting: match JSON Lines items and write one JSON line of results per input line."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from typing import Any, TextIO

from bot.matching.events import event_record
from bot.matching.matcher import Matcher
from bot.matching.scoring import score
from bot.matching.settings import AlertThresholds

DEFAULT_TIER = 2


class _BadItemError(ValueError):
    pass


def _text(record: Mapping[str, Any], key: str, *, required: bool = False) -> str:
    value = record.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise _BadItemError(f"'{key}' must be a string")
    return value


def _countries(record: Mapping[str, Any]) -> tuple[str, ...]:
    value = record.get("countries") or []
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        raise _BadItemError("'countries' must be a list of ISO alpha-3 strings")
    return tuple(value)


def _item_id(record: Mapping[str, Any]) -> str | int:
    value = record.get("id")
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise _BadItemError("'id' is required (string or integer)")
    return value


def match_line(line: str, matcher: Matcher, *, thresholds: AlertThresholds) -> dict[str, Any]:
    """The output record for one input line (an error record when the line is bad)."""
    try:
        record = json.loads(line)
        if not isinstance(record, dict):
            raise _BadItemError("each line must be a JSON object")
        item_id = _item_id(record)
        result = matcher.match_text(
            title=_text(record, "title", required=True),
            summary=_text(record, "summary"),
            countries=_countries(record),
            language=_text(record, "language") or None,
        )
    except (json.JSONDecodeError, _BadItemError) as exc:
        return {"error": str(exc)}
    tier = record.get("tier", DEFAULT_TIER)
    scored = score(
        result,
        tier=tier if isinstance(tier, int) else DEFAULT_TIER,
        corroborating_sources=1,
        novel_indicators=frozenset(),
        thresholds=thresholds,
    )
    return {
        "id": item_id,
        "situations": list(result.situations),
        "indicators": list(result.indicators),
        "score": scored.score,
        "severity": scored.severity,
        "why": scored.why,
        "language": result.language,
        "events": [
            event_record(
                e,
                mass_casualty=thresholds.mass_casualty,
                critical_casualties=thresholds.critical_casualties,
            )
            for e in result.events
        ],
        "evidence": [asdict(e) for e in result.evidence],
    }


def match_jsonl(
    lines: Iterable[str], out: TextIO, matcher: Matcher, *, thresholds: AlertThresholds
) -> int:
    """Write one JSON line per non-blank input line, in order; return the number of errors."""
    errors = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        record = match_line(line, matcher, thresholds=thresholds)
        if "error" in record:
            errors += 1
            record = {"line": number, **record}
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return errors
