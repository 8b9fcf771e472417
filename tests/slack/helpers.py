"""Builders for signed Slack requests, database rows and payload checks."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.config import Settings, parse_settings
from bot.store.db import session_scope
from bot.store.tables import Feed, Item, Match, OutboxMessage, Subscription

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
T0 = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)
ADMIN = "UADMIN01"
USER = "UUSER001"
PUBLIC = "CPUBLIC1"
ALLOWED = "CALLOWED"
SHARED = "CSHARED1"
ESCALATION = "CESCAL01"


class FakeClock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def settings(**overrides: Any) -> Settings:
    raw: dict[str, Any] = {
        "situations": [
            {
                "slug": "sudan",
                "name": "Sudan",
                "countries": ["SDN"],
                "escalation_channel": ESCALATION,
            },
            {
                "slug": "drc-east",
                "name": "Eastern DRC",
                "countries": ["COD"],
                "sensitivity": "restricted",
                "allowed_channels": [ALLOWED, SHARED],
                "escalation_channel": SHARED,
            },
            {"slug": "myanmar", "name": "Myanmar", "countries": ["MMR"]},
        ],
        "subscriptions": [{"channel": PUBLIC, "situations": ["sudan"], "briefings": False}],
        "slack": {"admin_users": [ADMIN]},
    }
    raw.update(overrides)
    return parse_settings(raw)


@dataclass(frozen=True)
class Response:
    status: int
    body: str


def sign(body: str, *, timestamp: int, secret: str = SECRET) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def post(
    url: str,
    body: str,
    *,
    content_type: str = "application/x-www-form-urlencoded",
    timestamp: int | None = None,
    signature: str | None = None,
    secret: str = SECRET,
) -> Response:
    ts = int(time.time()) if timestamp is None else timestamp
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": signature or sign(body, timestamp=ts, secret=secret),
    }
    request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return Response(resp.status, resp.read().decode())
    except urllib.error.HTTPError as exc:
        return Response(exc.code, exc.read().decode())


def get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def command_body(text: str, *, response_url: str, user: str = USER, channel: str = PUBLIC) -> str:
    return urlencode(
        {
            "token": "legacy",
            "team_id": "T1",
            "team_domain": "t",
            "channel_id": channel,
            "channel_name": "alerts",
            "user_id": user,
            "user_name": "someone",
            "command": "/tocsin",
            "text": text,
            "api_app_id": "A1",
            "response_url": response_url,
            "trigger_id": "1.2.3",
        }
    )


def action_body(
    action_id: str,
    alert_id: int,
    *,
    response_url: str,
    user: str = USER,
    channel: str = PUBLIC,
    message_ts: str = "1700000000.000001",
) -> str:
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "someone", "team_id": "T1"},
        "api_app_id": "A1",
        "team": {"id": "T1", "domain": "t"},
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
        "channel": {"id": channel, "name": "alerts"},
        "message": {"ts": message_ts, "type": "message"},
        "response_url": response_url,
        "trigger_id": "1.2.3",
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": f"tocsin_alert_{alert_id}",
                "value": str(alert_id),
                "action_ts": "1700000001.000000",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


def event_body(event: dict[str, Any]) -> str:
    return json.dumps(
        {
            "token": "legacy",
            "team_id": "T1",
            "api_app_id": "A1",
            "event": event,
            "type": "event_callback",
            "event_id": "Ev1",
            "event_time": 1700000000,
            "authorizations": [{"team_id": "T1", "user_id": "UBOT", "is_bot": True}],
        }
    )


def add_match(
    engine: Engine,
    *,
    feed: str,
    guid: str,
    title: str,
    url: str | None,
    source: str,
    published: datetime,
    situation: str,
    indicators: tuple[str, ...],
    evidence: list[dict[str, Any]],
    severity: str,
    score: float,
    summary: str = "",
    language: str | None = None,
    why: str = "",
    feed_url: str | None = None,
) -> tuple[int, int]:
    """Feed (found by name, else made) → item → match; returns (item id, match id)."""
    with session_scope(engine) as session:
        row = session.exec(select(Feed).where(Feed.name == feed)).first()
        if row is None:
            row = Feed(name=feed, kind="rss", url=feed_url or f"https://{feed}.example.org/rss")
            session.add(row)
            session.flush()
        item = Item(
            feed_id=row.id,
            guid=guid,
            title=title,
            summary=summary,
            url=url,
            source=source,
            language=language,
            published_at=published,
        )
        session.add(item)
        session.flush()
        match = Match(
            item_id=item.id,
            situation=situation,
            indicators=list(indicators),
            evidence=evidence,
            score=score,
            severity=severity,
            why=why,
        )
        session.add(match)
        session.flush()
        assert item.id is not None and match.id is not None
        return item.id, match.id


def make_alert(
    engine: Engine,
    *,
    channel: str = PUBLIC,
    situation: str = "sudan",
    title: str = "Attack on a displacement camp near El Fasher",
    url: str | None = "https://news.example.org/story?id=1&lang=en",
    source: str = "Radio Dabanga",
    summary: str = "Dozens were killed when armed men attacked the camp.",
    severity: str = "warning",
    score: float = 6.0,
    indicators: tuple[str, ...] = ("MASS_KILL",),
    published: datetime = T0,
    state: str = "delivered",
    guid: str | None = None,
    evidence: list[dict[str, Any]] | None = None,
) -> int:
    """Feed → item → match → subscription → alert; returns the alert id."""
    item_id, match_id = add_match(
        engine,
        feed="test",
        feed_url="https://feeds.example.org/rss",
        guid=guid or f"{title}-{published.isoformat()}-{channel}",
        title=title,
        summary=summary,
        url=url,
        source=source,
        published=published,
        situation=situation,
        indicators=indicators,
        evidence=evidence
        if evidence is not None
        else [
            {
                "kind": "indicator",
                "key": code,
                "name": code.replace("_", " ").title(),
                "text": "killed dozens",
                "field": "summary",
            }
            for code in indicators
        ],
        score=score,
        severity=severity,
        why="mass killing language near a watched place",
    )
    with session_scope(engine) as session:
        sub = session.exec(
            select(Subscription)
            .where(Subscription.channel == channel)
            .where(Subscription.situation == situation)
        ).first()
        if sub is None:
            sub = Subscription(channel=channel, situation=situation, origin="config")
            session.add(sub)
            session.flush()
        alert = OutboxMessage(
            subscription_id=sub.id,
            item_id=item_id,
            match_id=match_id,
            channel=channel,
            situation=situation,
            severity=severity,
            state=state,
            message_ts="1700000000.000001" if state == "delivered" else None,
            delivered_at=published if state == "delivered" else None,
            created_at=published,
            next_attempt_at=published,
        )
        session.add(alert)
        session.flush()
        assert alert.id is not None
        return alert.id


_TOKEN = re.compile(r"<([^<>]*)>")
_DATE = re.compile(r"^!date\^\d+\^[^|]*\|[^<>|]*$")
_LINK = re.compile(r"^(https?://[^|<>\s]+)\|[^<>]+$")
_MENTION = re.compile(r"^[@#][UWCG][A-Z0-9]+$")


def assert_inert(text: str, *, trusted_ids: frozenset[str] = frozenset()) -> list[str]:
    """Every `<...>` in `text` is one of ours (date, safe link, a trusted ID); no stray `<`/`>`.

    Returns the link URLs found (escaped form) so callers can compare them with the input.
    """
    urls = []
    for token in _TOKEN.findall(text):
        if _DATE.match(token):
            continue
        if (m := _LINK.match(token)) is not None:
            urls.append(m.group(1))
            continue
        if _MENTION.match(token) and token[1:] in trusted_ids:
            continue
        raise AssertionError(f"untrusted control sequence <{token}> in {text!r}")
    rest = _TOKEN.sub("", text)
    assert "<" not in rest and ">" not in rest, f"stray angle bracket in {text!r}"
    for forbidden in ("<!channel", "<!here", "<!everyone", "<!subteam", "<@", "<#"):
        if forbidden in text:
            assert any(forbidden[1:] + i in text for i in trusted_ids), (forbidden, text)
    return urls


def mrkdwn_texts(obj: Any) -> list[str]:
    """Every string that Slack will parse as mrkdwn in a payload (blocks, views, text)."""
    found: list[str] = []
    if isinstance(obj, dict):
        if obj.get("type") == "mrkdwn" and isinstance(obj.get("text"), str):
            found.append(obj["text"])
        for value in obj.values():
            found.extend(mrkdwn_texts(value))
    elif isinstance(obj, list):
        for value in obj:
            found.extend(mrkdwn_texts(value))
    return found
