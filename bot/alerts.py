"""Which subscriptions get an alert for a match: the fan-out from a match into the outbox.

`decide_alerts` is pure. It picks the subscriptions that want this situation at this severity
(recent items only) and whose filter (`bot.filters`, on the item's title and summary) the item
passes; each becomes one queued `alert` row, carrying the filter terms that matched in its
payload (`bot.ingest` writes them with the match, in one transaction). Everything that depends
on the moment of delivery — restricted situations, blocked or muted channels, digests, the flood
guard, Slack's pace — is decided later, by `bot.outbox.policy`, for alerts and every other kind
of message alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.config import SEVERITIES, Settings
from bot.filters import FilterError, compile_filter, matches
from bot.store.tables import Subscription


def severity_rank(severity: str | None) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else -1


@dataclass(frozen=True, kw_only=True)
class AlertDecision:
    subscription_id: int
    channel: str
    matched: tuple[str, ...] = ()  # the subscription filter's terms that matched, as written


def decide_alerts(
    *,
    situation: str,
    severity: str,
    published: datetime,
    now: datetime,
    subscriptions: Sequence[Subscription],
    settings: Settings,
    title: str = "",
    summary: str = "",
) -> list[AlertDecision]:
    """Pure: the subscriptions that get an outbox row for this (item, situation) match."""
    if published < now - settings.alerts.max_age:
        return []
    if severity_rank(severity) < severity_rank(settings.alerts.min_severity):
        return []
    decisions = []
    for sub in subscriptions:
        if sub.situation != situation or not sub.active or not sub.alerts:
            continue
        if severity_rank(severity) < severity_rank(sub.min_severity):
            continue
        passed, matched = _passes(sub.filter_query, title=title, summary=summary)
        if not passed:
            continue
        assert sub.id is not None
        decisions.append(
            AlertDecision(subscription_id=sub.id, channel=sub.channel, matched=matched)
        )
    return decisions


def _passes(query: str | None, *, title: str, summary: str) -> tuple[bool, tuple[str, ...]]:
    """Whether the item passes the filter. Filters are checked when they are set; one that no
    longer parses (a stricter limit since) lets everything through rather than lose alerts."""
    if not query:
        return True, ()
    try:
        tree = compile_filter(query)
    except FilterError:
        return True, ()
    verdict = matches(tree, title=title, summary=summary)
    return verdict.passed, verdict.matched
