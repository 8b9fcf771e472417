"""`tocsin feedback report` as rich tables or JSON (pure: the CLI prints what these return)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from bot.precision import DIMENSIONS, NAMES, TITLES, PrecisionReport, RuleStat, percent
from bot.suggest import Suggestion


def report_text(
    report: PrecisionReport, suggestions: Sequence[Suggestion] | None, *, top: int
) -> Group:
    """A headline, one table per dimension (at most `top` rows each), then the suggestions."""
    parts: list[RenderableType] = [
        Text(
            f"Votes {report.since:%Y-%m-%d %H:%M} – {report.until:%Y-%m-%d %H:%M} UTC: "
            f"{report.relevant} relevant, {report.not_relevant} not relevant "
            f"(precision {percent(report.precision)}). Rules with at least {report.min_votes} "
            "votes first, worst precision first; rules with fewer votes are listed after them "
            "and never flagged.",
            style="bold",
        )
    ]
    for dimension in DIMENSIONS:
        rows = report.by(dimension)
        if not rows:
            continue
        table = Table(
            NAMES[dimension],
            "precision",
            "relevant",
            "not relevant",
            title=TITLES[dimension].capitalize(),
        )
        for rule in rows[:top]:
            table.add_row(*_cells(rule, report.min_votes))
        if len(rows) > top:
            table.caption = f"{len(rows) - top} more (--top to see them)"
        parts.append(table)
    if suggestions is not None:
        parts.append(_suggestions_text(suggestions))
    return Group(*parts)


def _cells(rule: RuleStat, min_votes: int) -> tuple[Text, ...]:
    """Cells as Text: a key is data (a feed or outlet name), never rich markup."""
    precision = percent(rule.precision)
    if rule.votes < min_votes:
        precision = f"({precision}, < {min_votes} votes)"
    return tuple(Text(c) for c in (rule.key, precision, str(rule.relevant), str(rule.not_relevant)))


def _suggestions_text(suggestions: Sequence[Suggestion]) -> RenderableType:
    if not suggestions:
        return Text(
            "No suggestions: no rule with enough votes and low precision has a change that "
            "would have stopped more not-relevant alerts than relevant ones."
        )
    parts: list[RenderableType] = [Text("Suggestions (paste into config.toml)", style="bold")]
    for s in suggestions:
        parts.append(
            Text(
                f"\n{s.kind} for {s.rule.kind} {s.rule.key} (precision "
                f"{percent(s.rule.precision)}, {s.rule.relevant} relevant / "
                f"{s.rule.not_relevant} not relevant): would have changed {s.changed} past "
                f"alerts ({s.dropped} not sent, {s.changed - s.dropped} lower severity); "
                f"of those, {s.not_relevant} were voted not relevant, {s.relevant} relevant."
            )
        )
        parts.append(Text(s.toml, style="cyan"))
    return Group(*parts)


def report_json(
    report: PrecisionReport, suggestions: Sequence[Suggestion] | None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "since": report.since.isoformat(),
        "until": report.until.isoformat(),
        "min_votes": report.min_votes,
        "relevant": report.relevant,
        "not_relevant": report.not_relevant,
        "precision": report.precision,
        "rules": {d: [_rule_json(r, report.min_votes) for r in report.by(d)] for d in DIMENSIONS},
    }
    if suggestions is not None:
        out["suggestions"] = [
            {
                "kind": s.kind,
                "rule": _rule_json(s.rule, report.min_votes),
                "toml": s.toml,
                "changed": s.changed,
                "dropped": s.dropped,
                "not_relevant": s.not_relevant,
                "relevant": s.relevant,
            }
            for s in suggestions
        ]
    return out


def _rule_json(rule: RuleStat, min_votes: int) -> dict[str, Any]:
    return {
        "dimension": rule.dimension,
        "key": rule.key,
        "relevant": rule.relevant,
        "not_relevant": rule.not_relevant,
        "precision": rule.precision,
        "enough_votes": rule.votes >= min_votes,
    }
