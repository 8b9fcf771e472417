"""The chart: a non-empty, deterministic PNG without a Software tag (bytes are not golden)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.charts import OTHER, Week, alt_text, series, weekly_factor_chart

START = datetime(2024, 3, 4, 9, tzinfo=UTC)
WEEKS = [
    Week(start=START + timedelta(days=7 * i), counts={"RF9": i, "RF10": 1, f"X{i % 9}": 2})
    for i in range(12)
]
NAMES = {"RF9": "Mass killing", "RF10": "Hate speech"}


def test_chart_is_a_deterministic_png() -> None:
    first = weekly_factor_chart(WEEKS, NAMES, title="Sudan")
    assert first.startswith(b"\x89PNG\r\n\x1a\n") and len(first) > 5000
    assert weekly_factor_chart(WEEKS, NAMES, title="Sudan") == first
    assert b"Software" not in first and b"matplotlib" not in first


def test_empty_chart_still_renders() -> None:
    png = weekly_factor_chart([Week(start=START, counts={})], {}, title="none")
    assert png.startswith(b"\x89PNG")


def test_series_keeps_the_largest_factors_and_groups_the_rest() -> None:
    data = series(WEEKS, NAMES, limit=2)
    assert list(data) == ["Mass killing", "Hate speech", OTHER]
    assert data["Mass killing"] == list(range(12))
    assert sum(data[OTHER]) == 24
    assert "Mass killing 66" in alt_text(WEEKS, NAMES)
