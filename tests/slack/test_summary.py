from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine

from bot.store.db import session_scope
from bot.store.tables import Feedback
from bot.summary import situation_summary
from tests.slack import helpers
from tests.slack.helpers import T0


def test_summary_counts_trends_top_items_sources_and_feedback(engine: Engine) -> None:
    a1 = helpers.make_alert(
        engine,
        title="A",
        score=9.0,
        severity="critical",
        published=T0 - timedelta(days=1),
        indicators=("MASS_KILL", "HATE_SPEECH"),
        source="S1",
    )
    helpers.make_alert(
        engine,
        title="B",
        score=3.0,
        severity="watch",
        published=T0 - timedelta(days=2),
        indicators=("MASS_KILL",),
        source="S2",
    )
    helpers.make_alert(
        engine,
        title="C",
        score=4.0,
        published=T0 - timedelta(days=3),
        indicators=("MASS_KILL",),
        source="S1",
    )
    helpers.make_alert(
        engine,
        title="Old",
        published=T0 - timedelta(days=9),
        indicators=("DISPLACEMENT", "MASS_KILL"),
        source="S3",
    )
    helpers.make_alert(engine, title="Older than both periods", published=T0 - timedelta(days=20))
    helpers.make_alert(
        engine, title="Other situation", situation="myanmar", published=T0 - timedelta(days=1)
    )
    with session_scope(engine) as session:
        for user, relevant, created_at in [
            ("U1", True, T0 - timedelta(hours=1)),
            ("U2", False, T0 - timedelta(hours=1)),
            ("U3", True, T0 - timedelta(days=30)),  # before the period
        ]:
            session.add(
                Feedback(
                    alert_id=a1,
                    user=user,
                    relevant=relevant,
                    situation="sudan",
                    created_at=created_at,
                )
            )
    with session_scope(engine) as session:
        s = situation_summary(session, situation="sudan", start=T0 - timedelta(days=7), end=T0)
    assert (s.matches, s.previous_matches) == (3, 1)
    factors = {f.code: (f.count, f.previous, f.trend) for f in s.factors}
    assert factors == {
        "MASS_KILL": (3, 1, "up"),
        "HATE_SPEECH": (1, 0, "new"),
        "DISPLACEMENT": (0, 1, "down"),
    }
    assert s.factors[0].code == "MASS_KILL" and s.factors[0].name == "Mass Kill"
    assert [i.title for i in s.top_items] == ["A", "C", "B"]
    assert [(x.source, x.count) for x in s.sources] == [("S1", 2), ("S2", 1)]
    assert s.severities == {"critical": 1, "watch": 1, "warning": 1}
    assert (s.relevant, s.not_relevant) == (1, 1)


def test_empty_summary(engine: Engine) -> None:
    with session_scope(engine) as session:
        s = situation_summary(session, situation="sudan", start=T0 - timedelta(days=7), end=T0)
    assert s.matches == 0 and s.factors == () and s.top_items == () and s.relevant == 0
