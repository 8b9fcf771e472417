"""What a message shows, read from the store: an alert (`AlertView`) and its story (`Story`).

Plain frozen data with raw (unescaped) strings; `bot.slack.blocks` turns them into Block Kit.

A story is the items of one cluster (`Item.cluster_id`) for one situation, as one channel sees
them: its root card is the first alert of the story delivered there as an `alert`; every later
one is a `follow_up` (a reply in the root's thread, `parent_id` = the root).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.alerts import severity_rank
from bot.config import Settings
from bot.store.tables import Item, Match, MessageKind, MessageState, OutboxMessage


@dataclass(frozen=True, kw_only=True)
class Evidence:
    """One risk factor of an alert and the words that raised it, in the order they were found."""

    code: str
    name: str
    phrases: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class AlertView:
    """Everything a message shows about one alert. All strings are raw (unescaped) text."""

    alert_id: int
    channel: str
    situation: str
    situation_name: str
    severity: str
    score: float
    why: str
    title: str
    url: str | None
    source: str
    published: datetime
    summary: str
    language: str | None
    evidence: tuple[Evidence, ...]
    filter_matched: tuple[str, ...] = ()  # the subscription filter's terms that let it through


@dataclass(frozen=True, kw_only=True)
class Report:
    """One report as a story card or a roll-up lists it."""

    title: str
    url: str | None
    source: str
    published: datetime
    severity: str
    score: float = 0.0


@dataclass(frozen=True, kw_only=True)
class Story:
    """A story's root card in one channel and what has been delivered into it so far."""

    root_id: int
    root_ts: str
    sources: int
    reports: int
    top_severity: str
    latest: Report | None  # the newest follow-up delivered (None: the root alone)


def build_view(session: Session, alert: OutboxMessage, *, settings: Settings) -> AlertView:
    """The alert's item and match, as a view. `alert` has an item and a match."""
    item = session.get(Item, alert.item_id)
    match = session.get(Match, alert.match_id)
    assert item is not None and match is not None, f"outbox row {alert.id} is not an alert"
    situation = settings.situation(alert.situation)
    return AlertView(
        alert_id=alert.id or 0,
        channel=alert.channel,
        situation=alert.situation,
        situation_name=situation.name if situation else alert.situation,
        severity=match.severity,
        score=match.score,
        why=match.why,
        title=item.title,
        url=item.url,
        source=item.source,
        published=item.published_at,
        summary=item.summary,
        language=item.language,
        evidence=evidence(match),
        filter_matched=tuple(str(t) for t in alert.payload.get("filter", ())),
    )


def evidence(match: Match) -> tuple[Evidence, ...]:
    """One line per risk factor, each phrase once ("mass arrests" may raise two factors, and
    one factor may be raised by several words)."""
    names: dict[str, str] = {}
    phrases: dict[str, dict[str, str]] = {}
    events = {_span(e): e for e in match.evidence if e.get("kind") == "event"}
    for e in match.evidence:
        if e.get("kind") != "indicator":
            continue
        code = str(e.get("key", ""))
        names.setdefault(code, str(e.get("name", code)))
        event = events.get(_span(e)) if str(e.get("term", "")).startswith("event:") else None
        phrase = _event_words(event) if event else str(e.get("matched", e.get("term", "")))
        phrases.setdefault(code, {}).setdefault(phrase.casefold(), phrase)
    return tuple(
        Evidence(code=code, name=name, phrases=tuple(phrases[code].values()))
        for code, name in names.items()
    )


def _span(e: dict[str, Any]) -> tuple[Any, Any, Any]:
    return e.get("field"), e.get("start"), e.get("end")


def _event_words(event: dict[str, Any]) -> str:
    """An event's act and what it reached, as the why says it: "killed 12 + children"."""
    words = [
        str(event.get("phrase", "")),
        *event.get("victim_words", ()),
        *event.get("target_words", ()),
    ]
    return " + ".join(dict.fromkeys(w for w in words if w))


def find_story(session: Session, alert: OutboxMessage) -> Story | None:
    """The story `alert` belongs to in its channel, if its root card is already there."""
    item = session.get(Item, alert.item_id) if alert.item_id is not None else None
    if item is None or item.cluster_id is None:
        return None
    same_story = select(Item.id).where(Item.cluster_id == item.cluster_id)
    root = session.exec(
        select(OutboxMessage)
        .where(OutboxMessage.channel == alert.channel)
        .where(OutboxMessage.situation == alert.situation)
        .where(OutboxMessage.kind == MessageKind.ALERT)
        .where(OutboxMessage.state == MessageState.DELIVERED)
        .where(col(OutboxMessage.message_ts).is_not(None))
        .where(col(OutboxMessage.item_id).in_(same_story))
        .where(OutboxMessage.id != alert.id)
        .order_by(col(OutboxMessage.delivered_at), col(OutboxMessage.id))
        .limit(1)
    ).first()
    return None if root is None else story_of(session, root)


def story_of(session: Session, root: OutboxMessage) -> Story:
    """What the root card `root` holds now: itself and its delivered follow-ups."""
    member = (col(OutboxMessage.id) == root.id) | (
        (col(OutboxMessage.parent_id) == root.id)
        & (col(OutboxMessage.kind) == MessageKind.FOLLOW_UP)
        & (col(OutboxMessage.state) == MessageState.DELIVERED)
    )
    rows = session.exec(
        select(OutboxMessage, Item, Match)
        .join(Item, col(Item.id) == col(OutboxMessage.item_id))
        .join(Match, col(Match.id) == col(OutboxMessage.match_id))
        .where(member)
        .order_by(col(OutboxMessage.delivered_at), col(OutboxMessage.id))
    ).all()
    reports = [report(item, match) for _, item, match in rows]
    top = max(reports, key=lambda r: severity_rank(r.severity))
    return Story(
        root_id=root.id or 0,
        root_ts=root.message_ts or "",
        sources=len({r.source for r in reports}),
        reports=len(reports),
        top_severity=top.severity,
        latest=reports[-1] if len(reports) > 1 else None,
    )


def report(item: Item, match: Match) -> Report:
    return Report(
        title=item.title,
        url=item.url,
        source=item.source,
        published=item.published_at,
        severity=match.severity,
        score=match.score,
    )


def newer_card_update(session: Session, update: OutboxMessage) -> bool:
    """Whether another update of the same card waits behind `update` (which it would supersede)."""
    newer = session.exec(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.kind == MessageKind.CARD_UPDATE)
        .where(OutboxMessage.parent_id == update.parent_id)
        .where(col(OutboxMessage.state).in_([MessageState.QUEUED, MessageState.SENDING]))
        .where(col(OutboxMessage.id) > (update.id or 0))
    ).one()
    return bool(newer)
