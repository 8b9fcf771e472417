"""Record one vote on an alert, with a snapshot of the evidence that made it fire.

    record(session, alert_id=…, user=…, relevant=…, origin=Origin.BUTTON, now=…)

is the one way a vote is stored: the Relevant / Not relevant buttons (`bot.slack.actions`) and
review decisions call it. One vote per user per alert: a later vote replaces the earlier one
(the unique key `uq_feedback_alert_user`), and every vote, first or changed, is an audit-log
entry (`feedback`: alert, relevant, origin, previous). The snapshot (`snapshot`) is what the
precision report and the suggestions (`bot.precision`, `bot.suggest`) count, so a vote keeps
meaning what it meant when it was cast, whatever later happens to the configuration.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlmodel import Session, select

from bot.store.tables import Feed, Feedback, Item, Match, OutboxMessage
from bot.subscriptions import audit

TERM_KEYS = ("key", "term", "matched", "field", "start", "end")
EVENT_KEYS = ("act", "act_kind", "codes", "victims", "targets", "phrase", "field")


class Origin(StrEnum):
    """Where a vote came from."""

    BUTTON = "button"  # the Relevant / Not relevant buttons under an alert
    REVIEW = "review"  # a reviewer's decision (Share: relevant, Discard: not relevant)


@dataclass(frozen=True, kw_only=True)
class Recorded:
    """The vote stored; `previous` is the user's earlier vote on the alert (None: first)."""

    alert_id: int
    relevant: bool
    previous: bool | None

    @property
    def changed(self) -> bool:
        return self.previous is not None and self.previous != self.relevant


def record(
    session: Session,
    *,
    alert_id: int,
    user: str,
    relevant: bool,
    origin: str,
    now: datetime,
) -> Recorded | None:
    """Store (or replace) `user`'s vote on the alert; None when no such alert is stored.

    Two first votes of one user racing on one alert: the second insert fails on the unique key
    (IntegrityError at commit); the caller retries, and the retry replaces the vote."""
    alert = session.get(OutboxMessage, alert_id)
    if alert is None:
        return None
    row = session.exec(
        select(Feedback).where(Feedback.alert_id == alert_id).where(Feedback.user == user)
    ).first()
    previous = None if row is None else row.relevant
    if row is None:
        row = Feedback(alert_id=alert_id, user=user, relevant=relevant, situation=alert.situation)
    match = session.get(Match, alert.match_id) if alert.match_id is not None else None
    item = session.get(Item, alert.item_id) if alert.item_id is not None else None
    feed = session.get(Feed, item.feed_id) if item is not None else None
    row.relevant = relevant
    row.situation = alert.situation
    row.origin = Origin(origin)
    row.item_id = alert.item_id
    row.source = (item.source if item else "")[:255]
    row.feed = feed.name if feed else ""
    row.severity = alert.severity or (match.severity if match else None)
    row.indicators = list(match.indicators) if match else []
    row.evidence = snapshot(match.evidence if match else [])
    row.created_at = now
    session.add(row)
    audit(
        session,
        actor=user,
        action="feedback",
        now=now,
        channel=alert.channel,
        situation=alert.situation,
        detail={"alert_id": alert_id, "relevant": relevant, "origin": origin, "previous": previous},
    )
    return Recorded(alert_id=alert_id, relevant=relevant, previous=previous)


def snapshot(evidence: list[dict[str, Any]]) -> dict[str, Any]:
    """A match's stored evidence, as a vote keeps it: the indicator terms that matched (code as
    `key`, the taxonomy's `term`, the text `matched`, where), the events (act, codes, victim
    and target classes) and the situation mentions."""

    def pick(e: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
        return {k: e.get(k) for k in keys}

    return {
        "terms": [pick(e, TERM_KEYS) for e in evidence if e.get("kind") == "indicator"],
        "events": [pick(e, EVENT_KEYS) for e in evidence if e.get("kind") == "event"],
        "mentions": [pick(e, TERM_KEYS) for e in evidence if e.get("kind") == "situation"],
    }
