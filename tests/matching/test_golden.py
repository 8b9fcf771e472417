"""Golden cases: data/*.json hold inputs next to the situations and indicators expected."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.matching import Matcher

DATA = Path(__file__).parent / "data"


def _cases() -> list[Any]:
    cases = []
    for path in sorted(DATA.glob("*.json")):
        for case in json.loads(path.read_text(encoding="utf-8")):
            cases.append(pytest.param(case, id=f"{path.stem}:{case['name']}"))
    return cases


@pytest.mark.parametrize("case", _cases())
def test_golden(matcher: Matcher, case: dict[str, Any]) -> None:
    result = matcher.match_text(
        title=case["title"], summary=case.get("summary", ""), countries=case.get("countries", ())
    )
    assert sorted(result.situations) == sorted(case["situations"])
    if "indicators" in case:
        assert sorted(result.indicators) == sorted(case["indicators"])
    for evidence in result.evidence:
        if evidence.field != "tags":
            source = case["title"] if evidence.field == "title" else case["summary"]
            assert source[evidence.start : evidence.end] == evidence.matched
