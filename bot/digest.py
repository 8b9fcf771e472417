"""Daily digest: the alerts a digest subscription held back (outbox state "digest"), in one message.

The delivery policy (`bot.outbox.policy`) puts a digest subscription's alerts in state "digest"
instead of posting them — except critical ones when `critical_breakthrough` is on, which go out
at once as usual. At the subscription's local `[briefings] digest_time`:

    enqueue   a `digest` outbox row, once per channel × situation × period (its dedupe key)
    compose   when the deliverer first sends it: every alert of the channel × situation still in
              state "digest" created before the period's end (the previous 24 h, plus anything
              an outage left behind), one line each, most severe first; the parts and the alert
              ids are kept with the row, so a retry sends the same digest
    mark      when its last part is delivered, those alerts become "digested" (parent = the
              digest, with its ts), in the same transaction: nothing is listed twice

No alerts: nothing is posted and the digest row ends "skipped".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.alerts import severity_rank
from bot.briefing.schedule import Period
from bot.briefing.slack_view import macro, messages
from bot.config import Settings, SituationSettings
from bot.outbox.enqueue import Enqueued, enqueue, period_key
from bot.render import Message, header, sections
from bot.store.tables import Item, Match, MessageKind, MessageState, OutboxMessage

TEMPLATE = "digest.slack.j2"
MAX_LINES = 200


@dataclass(frozen=True, kw_only=True)
class DigestLine:
    alert_id: int
    severity: str
    title: str
    url: str | None
    source: str
    published: datetime
    factors: tuple[str, ...]


def pending(session: Session, *, channel: str, situation: str, until: datetime) -> list[DigestLine]:
    """Alerts waiting for this channel's digest, most severe first, then newest first."""
    rows = session.exec(
        select(OutboxMessage, Item, Match)
        .join(Item, col(Item.id) == col(OutboxMessage.item_id))
        .join(Match, col(Match.id) == col(OutboxMessage.match_id))
        .where(OutboxMessage.channel == channel)
        .where(OutboxMessage.situation == situation)
        .where(OutboxMessage.state == MessageState.DIGEST)
        .where(col(OutboxMessage.created_at) < until)
    ).all()
    lines = [
        DigestLine(
            alert_id=alert.id or 0,
            severity=alert.severity or "",
            title=item.title,
            url=item.url,
            source=item.source,
            published=item.published_at,
            factors=tuple(
                dict.fromkeys(
                    str(e.get("name") or e.get("key"))
                    for e in match.evidence
                    if e.get("kind") == "indicator"
                )
            ),
        )
        for alert, item, match in rows
    ]
    lines.sort(key=lambda d: (-severity_rank(d.severity), -d.published.timestamp(), d.alert_id))
    return lines


def digest_messages(
    *, situation: SituationSettings, period: Period, lines: Sequence[DigestLine]
) -> list[Message]:
    """Pure: the digest as Slack messages (header, intro, one line per alert)."""
    shown = lines[:MAX_LINES]
    body = "\n".join(macro(TEMPLATE, "line", a=line) for line in shown)
    if len(lines) > len(shown):
        body += f"\n…and {len(lines) - len(shown)} more."
    blocks = [
        header(f"Daily digest — {situation.name}"),
        *sections(macro(TEMPLATE, "intro", name=situation.name, period=period, count=len(lines))),
        *sections(body, limit=2900),
    ]
    text = macro(TEMPLATE, "fallback", name=situation.name, count=len(lines))
    return messages(text, blocks)


def mark_digested(
    session: Session, alert_ids: Sequence[int], *, digest: OutboxMessage, now: datetime
) -> int:
    """The listed alerts, still waiting, become "digested" under `digest`."""
    result = session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id).in_(list(alert_ids)))
        .where(col(OutboxMessage.state) == MessageState.DIGEST)
        .values(
            state=MessageState.DIGESTED,
            parent_id=digest.id,
            message_ts=digest.message_ts,
            delivered_at=now,
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def enqueue_digest(
    session: Session,
    *,
    channel: str,
    situation: SituationSettings,
    period: Period,
    now: datetime,
    subscription_id: int | None = None,
) -> Enqueued:
    """Queue the digest of channel × situation × period (once per period)."""
    return enqueue(
        session,
        kind=MessageKind.DIGEST,
        channel=channel,
        situation=situation.slug,
        now=now,
        dedupe_key=period_key(
            "digest", channel=channel, situation=situation.slug, start=period.start
        ),
        subscription_id=subscription_id,
        period=(period.start, period.end),
    )


def compose_digest(session: Session, row: OutboxMessage, *, settings: Settings) -> list[Message]:
    """The digest's messages (none when nothing waits); records the alert ids it lists."""
    situation = settings.situation(row.situation)
    if situation is None or row.period_start is None or row.period_end is None:
        return []
    lines = pending(session, channel=row.channel, situation=row.situation, until=row.period_end)
    row.payload = {**row.payload, "alert_ids": [line.alert_id for line in lines]}
    if not lines:
        return []
    period = Period(start=row.period_start, end=row.period_end)
    return digest_messages(situation=situation, period=period, lines=lines)


def digest_delivered(session: Session, row: OutboxMessage, *, now: datetime) -> None:
    mark_digested(session, row.payload.get("alert_ids") or [], digest=row, now=now)
