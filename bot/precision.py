"""Per-rule precision from analysts' votes: which terms, events, risk factors and sources fire
on reports the analysts find relevant, and which mostly on reports they do not.

    votes = load_votes(session, since=…, until=…, situation=…)     # I/O (and `vote_counts`)
    report = precision_report(votes, min_votes=…, since=…, until=…)  # pure

A vote counts for every rule that made its alert fire, as the vote's snapshot recorded it
(`bot.feedback.snapshot`): each distinct matched term (`RF1 "war"`), event type
(`RF11 attack on civilian`), risk factor (`RF1`), source (the outlet) and feed.
Precision = relevant / (relevant + not relevant). Rules with at least `min_votes` votes come
first, worst precision first (ties: more votes first); rules with fewer votes follow, most
votes first, and are never called out (`flagged`) nor turned into suggestions.
`tocsin feedback report`, the App Home section and the weekly briefing all use these figures.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from bot.store.tables import Feedback

DIMENSIONS = ("term", "event", "indicator", "source", "feed")
TITLES = {
    "term": "terms",
    "event": "event types",
    "indicator": "risk factors",
    "source": "sources",
    "feed": "feeds",
}
NAMES = {  # one rule of each dimension, in words
    "term": "term",
    "event": "event",
    "indicator": "risk factor",
    "source": "source",
    "feed": "feed",
}
UNKNOWN = "(unknown)"
EVENT_TERM = "event:"  # the indicator evidence an event adds: counted as an event type, not a term


@dataclass(frozen=True, kw_only=True)
class Vote:
    """One stored vote as the report reads it. `keys` maps each dimension to the vote's rules."""

    alert_id: int
    item_id: int | None
    situation: str
    relevant: bool
    feed: str
    keys: Mapping[str, tuple[str, ...]]
    evidence: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class RuleStat:
    dimension: str
    key: str
    relevant: int
    not_relevant: int

    @property
    def votes(self) -> int:
        return self.relevant + self.not_relevant

    @property
    def precision(self) -> float:
        return self.relevant / self.votes if self.votes else 0.0

    @property
    def kind(self) -> str:
        return NAMES[self.dimension]


@dataclass(frozen=True, kw_only=True)
class PrecisionReport:
    since: datetime
    until: datetime
    min_votes: int
    relevant: int
    not_relevant: int
    rules: tuple[RuleStat, ...]  # by dimension (DIMENSIONS order), each sorted as above

    @property
    def votes(self) -> int:
        return self.relevant + self.not_relevant

    @property
    def precision(self) -> float | None:
        return self.relevant / self.votes if self.votes else None

    def by(self, dimension: str) -> tuple[RuleStat, ...]:
        return tuple(r for r in self.rules if r.dimension == dimension)

    def flagged(self, *, below: float = 1.0, limit: int | None = None) -> tuple[RuleStat, ...]:
        """Rules with enough votes and precision under `below`, worst first, any dimension."""
        rules = [r for r in self.rules if r.votes >= self.min_votes and r.precision < below]
        rules.sort(key=lambda r: (r.precision, -r.votes, DIMENSIONS.index(r.dimension), r.key))
        return tuple(rules[:limit])


def percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.0f}%"


def term_key(term: Mapping[str, Any]) -> str:
    return f'{term.get("key", "")} "{term.get("term", "")}"'


def event_key(event: Mapping[str, Any]) -> str:
    """`RF11 attack on civilian`: the act's codes, the act, and whom or what it reached."""
    reached = [*(event.get("victims") or []), *(event.get("targets") or [])]
    codes = " ".join(event.get("codes") or [])
    act = str(event.get("act", ""))
    return f"{codes} {act}".strip() + (f" on {reached[0]}" if reached else "")


def vote_keys(
    *, evidence: Mapping[str, Any], indicators: Iterable[str], source: str, feed: str
) -> dict[str, tuple[str, ...]]:
    """The rules one vote counts for, per dimension (each rule once)."""
    return {
        "term": _distinct(
            term_key(t)
            for t in evidence.get("terms") or []
            if t.get("term") and not str(t["term"]).startswith(EVENT_TERM)
        ),
        "event": _distinct(event_key(e) for e in evidence.get("events") or []),
        "indicator": _distinct(indicators),
        "source": (source or UNKNOWN,),
        "feed": (feed or UNKNOWN,),
    }


def _distinct(keys: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(keys))


def precision_report(
    votes: Iterable[Vote], *, min_votes: int, since: datetime, until: datetime
) -> PrecisionReport:
    counts: dict[bool, Counter[tuple[str, str]]] = {True: Counter(), False: Counter()}
    totals: Counter[bool] = Counter()
    for vote in votes:
        totals[vote.relevant] += 1
        counts[vote.relevant].update((d, k) for d in DIMENSIONS for k in vote.keys.get(d, ()))
    stats = [
        RuleStat(dimension=d, key=k, relevant=counts[True][d, k], not_relevant=counts[False][d, k])
        for d, k in counts[True].keys() | counts[False].keys()
    ]
    stats.sort(key=lambda r: _order(r, min_votes))
    return PrecisionReport(
        since=since,
        until=until,
        min_votes=min_votes,
        relevant=totals[True],
        not_relevant=totals[False],
        rules=tuple(stats),
    )


def _order(rule: RuleStat, min_votes: int) -> tuple[Any, ...]:
    enough = rule.votes >= min_votes
    return (
        DIMENSIONS.index(rule.dimension),
        not enough,
        rule.precision if enough else 0.0,
        -rule.votes,
        rule.key,
    )


def _window(query: Any, *, since: datetime, until: datetime | None, situation: str | None) -> Any:
    query = query.where(col(Feedback.created_at) >= since)
    if until is not None:
        query = query.where(col(Feedback.created_at) < until)
    return query if situation is None else query.where(col(Feedback.situation) == situation)


def load_votes(
    session: Session,
    *,
    since: datetime,
    until: datetime | None = None,
    situation: str | None = None,
    situations: Iterable[str] | None = None,
) -> list[Vote]:
    """Votes cast in [since, until) (None: up to now), for one situation, a few, or all."""
    query = _window(
        select(
            *(
                col(c)
                for c in (
                    Feedback.alert_id,
                    Feedback.item_id,
                    Feedback.situation,
                    Feedback.relevant,
                    Feedback.source,
                    Feedback.feed,
                    Feedback.indicators,
                    Feedback.evidence,
                )
            )
        ),
        since=since,
        until=until,
        situation=situation,
    )
    if situations is not None:
        query = query.where(col(Feedback.situation).in_(sorted(set(situations))))
    rows = session.execute(query.order_by(col(Feedback.id)).execution_options(yield_per=5000))
    return [
        Vote(
            alert_id=alert_id,
            item_id=item_id,
            situation=slug,
            relevant=relevant,
            feed=feed,
            keys=vote_keys(evidence=evidence, indicators=indicators, source=source, feed=feed),
            evidence=evidence,
        )
        for alert_id, item_id, slug, relevant, source, feed, indicators, evidence in rows
    ]


def vote_counts(
    session: Session, *, situation: str, since: datetime, until: datetime
) -> tuple[int, int]:
    """(relevant, not relevant) votes cast in [since, until) for `situation`: the report's
    totals, counted by the database (`/tocsin summary`)."""
    rows = session.execute(
        _window(
            select(col(Feedback.relevant), func.count()),
            since=since,
            until=until,
            situation=situation,
        ).group_by(col(Feedback.relevant))
    ).all()
    counts = {bool(relevant): int(n) for relevant, n in rows}
    return counts.get(True, 0), counts.get(False, 0)
