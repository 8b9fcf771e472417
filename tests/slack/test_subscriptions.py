from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.store.db import session_scope
from bot.store.tables import AuditLog, Subscription
from bot.subscriptions import (
    NotAllowedError,
    SubscriptionOptions,
    UnknownSituationError,
    check_may_subscribe,
    resolve_situation,
    subscribe,
    sync_config_subscriptions,
    unsubscribe,
)
from tests.slack import helpers
from tests.slack.helpers import ALLOWED, PUBLIC, T0

SETTINGS = helpers.settings(
    subscriptions=[
        {"channel": PUBLIC, "situations": ["sudan", "myanmar"], "min_severity": "warning"},
        {"channel": ALLOWED, "situations": ["drc-east"], "digest": True},
    ]
)


def rows(engine: Engine) -> dict[tuple[str, str], Subscription]:
    with session_scope(engine) as session:
        return {(s.channel, s.situation): s for s in session.exec(select(Subscription)).all()}


def test_sync_inserts_config_subscriptions_once_with_audit(engine: Engine) -> None:
    with session_scope(engine) as session:
        assert sync_config_subscriptions(session, SETTINGS, now=T0) == 3
    with session_scope(engine) as session:
        assert sync_config_subscriptions(session, SETTINGS, now=T0 + timedelta(days=1)) == 0
    found = rows(engine)
    assert set(found) == {(PUBLIC, "sudan"), (PUBLIC, "myanmar"), (ALLOWED, "drc-east")}
    assert all(s.origin == "config" and s.created_at == T0 for s in found.values())
    assert found[(PUBLIC, "sudan")].min_severity == "warning"
    assert found[(ALLOWED, "drc-east")].digest is True
    with session_scope(engine) as session:
        log = session.exec(select(AuditLog)).all()
    assert len(log) == 3 and {a.actor for a in log} == {"config"}
    assert {(a.channel, a.situation) for a in log} == set(found)


def test_sync_never_overrides_slack_changes(engine: Engine) -> None:
    sudan = SETTINGS.situation("sudan")
    assert sudan is not None
    with session_scope(engine) as session:
        subscribe(
            session,
            situation=sudan,
            channel=PUBLIC,
            options=SubscriptionOptions(alerts=True, briefings=False, min_severity="critical"),
            actor="U1",
            now=T0,
            ext_shared=None,
        )
        sync_config_subscriptions(session, SETTINGS, now=T0)
        unsubscribe(session, situation="myanmar", channel=PUBLIC, actor="U1", now=T0)
    with session_scope(engine) as session:
        sync_config_subscriptions(session, SETTINGS, now=T0)
    found = rows(engine)
    assert found[(PUBLIC, "sudan")].min_severity == "critical"
    assert found[(PUBLIC, "sudan")].origin == "slack"
    assert found[(PUBLIC, "myanmar")].active is False


def test_restricted_rules() -> None:
    drc = SETTINGS.situation("drc-east")
    assert drc is not None
    check_may_subscribe(drc, channel=ALLOWED, ext_shared=False)
    for channel, shared in [(PUBLIC, False), (ALLOWED, True), (ALLOWED, None)]:
        with pytest.raises(NotAllowedError):
            check_may_subscribe(drc, channel=channel, ext_shared=shared)
    sudan = SETTINGS.situation("sudan")
    assert sudan is not None
    check_may_subscribe(sudan, channel=PUBLIC, ext_shared=True)


def test_resolve_situation_by_slug_or_name_with_suggestions() -> None:
    assert resolve_situation(SETTINGS, channel=PUBLIC, name="SUDAN").slug == "sudan"
    assert resolve_situation(SETTINGS, channel=PUBLIC, name="myanmar").slug == "myanmar"
    with pytest.raises(UnknownSituationError) as info:
        resolve_situation(SETTINGS, channel=PUBLIC, name="myanmr")
    assert info.value.suggestions == ["myanmar"]
    with pytest.raises(UnknownSituationError) as info:
        resolve_situation(SETTINGS, channel=PUBLIC, name="eastern drc")
    assert info.value.suggestions == []
    assert resolve_situation(SETTINGS, channel=ALLOWED, name="eastern drc").slug == "drc-east"


def test_sync_copies_filter_and_quiet_hours_from_the_config(engine: Engine) -> None:
    settings = helpers.settings(
        subscriptions=[
            {
                "channel": PUBLIC,
                "situations": ["sudan"],
                "filter": "Darfur -cholera",
                "quiet_hours": "22:00-07:00",
            }
        ]
    )
    with session_scope(engine) as session:
        sync_config_subscriptions(session, settings, now=T0)
    sub = rows(engine)[(PUBLIC, "sudan")]
    assert (sub.filter_query, sub.quiet_hours) == ("Darfur -cholera", "22:00-07:00")
    with session_scope(engine) as session:
        [entry] = session.exec(select(AuditLog)).all()
    assert entry.detail["subscription"]["filter"] == "Darfur -cholera"
    assert entry.detail["subscription"]["quiet_hours"] == "22:00-07:00"
