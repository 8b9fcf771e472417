"""Regression on real labelled headlines (../shared/corpus/events-dev, 450 headlines).

Skips when ../shared is absent. The floors sit a little under the figures measured when the
event layer was written (bench/event_quality.py prints them): a change that loses alerts on
level-2 headlines, raises false alerts on level 0, or loses geography fails here.
"""

from __future__ import annotations

import pytest

from bench.event_quality import HEADLINES, Report, evaluate, every_country, load
from bot.matching import build_matcher
from tests.conftest import corpus_path

FLOORS = {
    "level 2 alerted": (">=", 0.80),
    "level 0 alerted": ("<=", 0.03),
    "level 1 with an indicator": (">=", 0.70),
    "geography recall": (">=", 0.85),
    "geography precision": (">=", 0.90),
}


@pytest.fixture(scope="module")
def report() -> Report:
    corpus_path("events-dev", HEADLINES.name)
    return evaluate(load("all"), build_matcher(every_country()), declared=True)


@pytest.mark.corpus
@pytest.mark.parametrize("figure", FLOORS)
def test_figure_holds(report: Report, figure: str) -> None:
    value = report.figures()[figure]
    op, floor = FLOORS[figure]
    assert value >= floor if op == ">=" else value <= floor, f"{figure} = {value:.3f}"


@pytest.mark.corpus
def test_no_language_is_left_without_alerts(report: Report) -> None:
    """Every language with level-2 headlines alerts on at least one of them."""
    for (lang, level), tally in report.by_language.items():
        if level == 2 and tally.headlines:
            assert tally.alerted, lang
