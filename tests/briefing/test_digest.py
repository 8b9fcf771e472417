"""Daily digest: one message with the held-back alerts, marked so nothing is sent twice."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.alerts import decide_alerts
from bot.briefing.deliver import SlackPoster
from bot.briefing.schedule import Schedule, latest_run, period_ending
from bot.digest import send_digest
from bot.store.db import session_scope
from bot.store.tables import Alert, Briefing, Subscription
from tests.briefing import builders
from tests.slack.helpers import assert_inert, mrkdwn_texts
from tests.slack.mock_slack import MockSlack

SETTINGS = builders.settings()
SUDAN = SETTINGS.situation("sudan")
assert SUDAN is not None
DAILY = Schedule(time="08:00", timezone="Africa/Nairobi")
NOW = builders.MONDAY
PERIOD = period_ending(DAILY, latest_run(DAILY, NOW))


def digest(engine: Engine, poster: SlackPoster):
    return send_digest(
        engine=engine,
        poster=poster,
        channel=builders.CHANNEL,
        situation=SUDAN,
        period=PERIOD,
        now=NOW,
    )


def alerts(engine: Engine) -> dict[int, Alert]:
    with session_scope(engine) as session:
        return {a.id: a for a in session.exec(select(Alert)).all() if a.id is not None}


def test_digest_posts_once_and_marks_its_alerts(
    engine: Engine, slack: MockSlack, poster: SlackPoster
) -> None:
    sub = builders.subscription(engine, digest=True)
    held = [
        builders.digest_alert(engine, subscription_id=sub, created=PERIOD.end - timedelta(hours=h))
        for h in (1, 5, 30)  # 30 h: left behind by an outage, still collected once
    ]
    late = builders.digest_alert(engine, subscription_id=sub, created=PERIOD.end)
    sent = builders.digest_alert(
        engine, subscription_id=sub, created=PERIOD.end - timedelta(hours=2), state="delivered"
    )
    outcome = digest(engine, poster)
    assert outcome.status == "sent"
    (post,) = slack.calls("chat.postMessage")
    assert "Daily digest — Sudan" in post.body["blocks"][0]["text"]["text"]
    assert "*3* alert(s)" in post.body["blocks"][1]["text"]["text"]
    for text in mrkdwn_texts(post.body["blocks"]):
        assert_inert(text)
    state = alerts(engine)
    assert {state[i].state for i in held} == {"digested"}
    assert {state[i].message_ts for i in held} == {outcome.message_ts}
    assert state[late].state == "digest" and state[sent].state == "delivered"
    assert digest(engine, poster).status == "taken"
    assert len(slack.calls("chat.postMessage")) == 1
    with session_scope(engine) as session:
        (row,) = session.exec(select(Briefing)).all()
    assert (row.kind, row.period_start, row.state) == ("digest", PERIOD.start, "sent")


def test_no_alerts_no_message(engine: Engine, slack: MockSlack, poster: SlackPoster) -> None:
    assert digest(engine, poster).status == "empty"
    assert not slack.calls("chat.postMessage")
    assert digest(engine, poster).status == "taken"


def test_critical_alerts_break_through_digest_mode() -> None:
    subs = [Subscription(id=1, channel="C1", situation="sudan", digest=True)]
    decide = {
        "situation": "sudan",
        "published": NOW,
        "now": NOW,
        "subscriptions": subs,
        "settings": SETTINGS,
        "channel_counts": {},
    }
    assert decide_alerts(severity="warning", **decide)[0].state == "digest"  # type: ignore[arg-type]
    assert decide_alerts(severity="critical", **decide)[0].state == "queued"  # type: ignore[arg-type]
