"""Daily digest: the alerts a digest subscription held back (outbox state "digest"), in one message.

The alert policy (`bot.alerts.decide_alerts`) puts a digest subscription's alerts in state
"digest" instead of queueing them — except critical ones when `critical_breakthrough` is on,
which are delivered at once as usual. At the subscription's local `[briefings] digest_time`:

    claim    a Briefing row (kind "digest", period_start = the previous digest time)
    collect  every alert of the channel × situation still in state "digest" created before the
             period's end (the previous 24 h, plus anything an outage left behind)
    post     one message (continuations threaded if Slack's limits require)
    mark     those alerts "digested" with the digest's message ts, so nothing is sent twice

No alerts: nothing is posted and the period is recorded as "empty".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.alerts import severity_rank
from bot.briefing.deliver import Chart, Outcome, SlackPoster, claimed_post
from bot.briefing.schedule import Period
from bot.briefing.slack_view import macro, messages
from bot.config import SituationSettings
from bot.render import Message, header, sections
from bot.store.db import session_scope
from bot.store.tables import Alert, Item, Match

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
        select(Alert, Item, Match)
        .join(Item, col(Item.id) == col(Alert.item_id))
        .join(Match, col(Match.id) == col(Alert.match_id))
        .where(Alert.channel == channel)
        .where(Alert.situation == situation)
        .where(Alert.state == "digest")
        .where(col(Alert.created_at) < until)
    ).all()
    lines = [
        DigestLine(
            alert_id=alert.id or 0,
            severity=alert.severity,
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
    session: Session, alert_ids: Sequence[int], *, message_ts: str, now: datetime
) -> int:
    result = session.execute(
        update(Alert)
        .where(col(Alert.id).in_(list(alert_ids)))
        .where(col(Alert.state) == "digest")
        .values(state="digested", message_ts=message_ts, delivered_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def send_digest(
    *,
    engine: Engine,
    poster: SlackPoster,
    channel: str,
    situation: SituationSettings,
    period: Period,
    now: datetime,
) -> Outcome:
    """One digest for channel × situation × period, at most once; marks its alerts digested."""
    collected: list[DigestLine] = []

    def produce() -> tuple[list[Message], Chart | None] | None:
        with session_scope(engine) as session:
            collected.extend(
                pending(session, channel=channel, situation=situation.slug, until=period.end)
            )
        if not collected:
            return None
        return digest_messages(situation=situation, period=period, lines=collected), None

    def mark(session: Session, ts: str) -> None:
        mark_digested(session, [d.alert_id for d in collected], message_ts=ts, now=now)

    return claimed_post(
        engine=engine,
        poster=poster,
        channel=channel,
        situation=situation,
        kind="digest",
        period=period,
        now=now,
        produce=produce,
        on_sent=mark,
    )
