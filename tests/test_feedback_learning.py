"""Learning from feedback on a constructed database, SQLite and PostgreSQL: real polls over
loopback feeds store items, matches and alerts; analysts vote (`bot.feedback.record`); the
precision report and the suggestions are checked against what the test built, and every
suggestion's counts against an independent replay of the configuration with its TOML pasted in.
"""

from __future__ import annotations

import copy
import tomllib
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot import feedback
from bot.backtest import replay
from bot.config import Settings, parse_settings
from bot.matching.setup import matcher_from_settings
from bot.precision import load_votes, precision_report
from bot.store.db import session_scope
from bot.store.tables import AuditLog, Feed, Feedback, Item, Match, OutboxMessage
from bot.suggest import Suggestion, keep, load_texts, measure, propose, suggest
from tests.feedhost import FeedHost, rss
from tests.test_outbox import Clock
from tests.test_pipeline import NOW, ago, poller

FANS = [  # not relevant: football, not armed conflict ("clashes")
    "Sudan: football fans clashes after Khartoum derby",
    "Police break up football fans clashes in Omdurman, Sudan",
    "Sudan league suspends match over fans clashes at stadium",
    "Sudan FA fines two clubs for fans clashes, Khartoum",
    "Referee attacked? No - fans clashes delay Sudan cup final",
]
CLASHES = [  # relevant
    "Renewed clashes near El Fasher, Sudan, as RSF advances",
    "Sudan: clashes between army and RSF in Kordofan",
    "Heavy clashes reported in Babanusa, Sudan",
    "Sudan army and RSF clashes spread to White Nile state",
]
RUMOURS = [  # not relevant: an unreliable feed
    "Sudan: militia kills 20 civilians in village near El Fasher",
    "Sudan: gunmen kill 15 villagers in North Darfur raid",
    "Sudan: RSF drone strike kills 30 civilians at El Fasher market",
]
ANALYSTS = ("UANALYST1", "UANALYST2")


def raw_config(host: FeedHost, db_url: str) -> dict[str, Any]:
    return {
        "database": {"url": db_url},
        "polling": {"allow_private_targets": True, "parse_workers": 0},
        "feeds": [
            {"name": "Wire", "url": host.url("/wire.xml")},
            {"name": "Rumours", "url": host.url("/rumours.xml")},
        ],
        "situations": [
            {"slug": "sudan", "name": "Sudan", "countries": ["SDN"], "places": ["El Fasher"]}
        ],
        # risk-factor mentions alone may alert (up to warning), so a term exclusion matters
        "alerts": {"thresholds": {"watch": 1.0, "without_event": "warning"}},
        "subscriptions": [{"channel": "C0TEST0001", "situations": ["sudan"]}],
        "feedback": {"min_votes": 3, "suggest_below": 0.5, "max_suggestions": 5},
    }


def _items(titles: list[str], prefix: str) -> list[dict[str, str]]:
    return [
        {"title": t, "guid": f"{prefix}-{i}", "pubDate": ago(len(titles) - i)}
        for i, t in enumerate(titles)
    ]


@pytest.fixture
def built(host: FeedHost, engine: Engine, db_url: str) -> Settings:
    """One poll of both feeds, then votes: FANS and RUMOURS not relevant, CLASHES relevant."""
    host.serve("/wire.xml", rss(*_items(FANS, "fans"), *_items(CLASHES, "clashes")))
    host.serve("/rumours.xml", rss(*_items(RUMOURS, "rumour")))
    settings = parse_settings(raw_config(host, db_url))
    clock = Clock(NOW)
    with poller(settings, engine, clock) as p:
        p.poll(force=True)
    verdicts = {**dict.fromkeys(FANS + RUMOURS, False), **dict.fromkeys(CLASHES, True)}
    with session_scope(engine) as session:
        alerts = session.exec(
            select(OutboxMessage.id, Item.title).join(Item, col(Item.id) == OutboxMessage.item_id)
        ).all()
        assert {title for _, title in alerts} == set(verdicts), "every item should have alerted"
        for alert_id, title in alerts:
            for user in ANALYSTS:
                feedback.record(
                    session,
                    alert_id=alert_id or 0,
                    user=user,
                    relevant=verdicts[title],
                    origin=feedback.Origin.BUTTON,
                    now=NOW + timedelta(hours=1),
                )
    return settings


def _report(engine: Engine, settings: Settings) -> tuple[Any, list[Suggestion]]:
    since, until = NOW - timedelta(days=90), NOW + timedelta(days=1)
    with session_scope(engine) as session:
        votes = load_votes(session, since=since, until=until)
    report = precision_report(
        votes, min_votes=settings.feedback.min_votes, since=since, until=until
    )
    return report, suggest(engine, settings, report, votes, since=since)


def test_votes_keep_the_evidence_and_the_report_counts_them_per_rule(
    built: Settings, engine: Engine
) -> None:
    report, _ = _report(engine, built)
    assert (report.relevant, report.not_relevant) == (
        len(CLASHES) * len(ANALYSTS),
        len(FANS + RUMOURS) * len(ANALYSTS),
    )
    (clashes,) = [r for r in report.by("term") if r.key == 'RF1 "clashes"']
    assert (clashes.relevant, clashes.not_relevant) == (
        len(CLASHES) * len(ANALYSTS),
        len(FANS) * len(ANALYSTS),
    )
    feeds = {r.key: (r.relevant, r.not_relevant) for r in report.by("feed")}
    assert feeds == {
        "Wire": (len(CLASHES) * len(ANALYSTS), len(FANS) * len(ANALYSTS)),
        "Rumours": (0, len(RUMOURS) * len(ANALYSTS)),
    }
    assert report.by("feed")[0].key == "Rumours"  # worst precision first
    events = {r.key for r in report.by("event")}
    assert "RF11 kill on civilian" in events and not any(
        r.key.startswith('RF11 "event:') for r in report.by("term")
    )
    with session_scope(engine) as session:
        row = session.exec(select(Feedback).where(Feedback.user == ANALYSTS[0])).first()
        assert row is not None and row.feed in {"Wire", "Rumours"} and row.item_id
        assert row.evidence["mentions"] and row.origin == "button"
        audits = session.exec(select(AuditLog).where(AuditLog.action == "feedback")).all()
        assert len(audits) == report.votes


def _apply(raw: dict[str, Any], toml: str) -> dict[str, Any]:
    """The config with a suggestion's TOML pasted where its comment says."""
    raw = copy.deepcopy(raw)
    pasted = tomllib.loads(toml)
    for extra in pasted.get("indicators", {}).get("extra", []):
        raw.setdefault("indicators", {}).setdefault("extra", []).append(extra)
    if "weights" in pasted.get("indicators", {}):
        raw.setdefault("indicators", {})["weights"] = pasted["indicators"]["weights"]
    for table in pasted.get("feeds", []):
        name = toml.split("name = ", 1)[1].split("\n", 1)[0].strip().strip('"')
        (feed,) = [f for f in raw["feeds"] if f["name"] == name]
        feed.update(table)
    return raw


def _decisions(engine: Engine, settings: Settings) -> dict[tuple[int, str], str | None]:
    """Item × situation → severity if it alerts (None: matched, no alert): a plain replay."""
    since = NOW - timedelta(days=90)
    return {
        (r.item_id, a.situation): a.severity if a.alerting else None
        for r in replay(engine, settings, since=since)
        for a in r.assessments
    }


def _verdicts(engine: Engine) -> dict[tuple[int, str], int]:
    net: dict[tuple[int, str], int] = {}
    with session_scope(engine) as session:
        for row in session.exec(select(Feedback)).all():
            key = (row.item_id or 0, row.situation)
            net[key] = net.get(key, 0) + (1 if row.relevant else -1)
    return net


def test_suggestions_change_what_the_built_data_says_they_should(
    built: Settings, engine: Engine
) -> None:
    _, suggestions = _report(engine, built)
    by_kind = {s.kind: s for s in suggestions}
    assert {"exclusion", "tier"} <= set(by_kind), suggestions

    exclusion = by_kind["exclusion"]
    assert exclusion.rule.key == 'RF1 "clashes"'
    assert 'exclude = ["fans clashes"]' in exclusion.toml and 'code = "RF1"' in exclusion.toml
    with session_scope(engine) as session:
        fans_alerting = session.exec(
            select(Match.id)
            .join(Item, col(Item.id) == Match.item_id)
            .where(col(Item.title).in_(FANS))
            .where(col(Match.severity).in_(["watch", "warning", "critical"]))
        ).all()
        rumours_warning = session.exec(
            select(Match.id)
            .join(Item, col(Item.id) == Match.item_id)
            .join(Feed, col(Feed.id) == Item.feed_id)
            .where(Feed.name == "Rumours")
            .where(Match.severity == "warning")
        ).all()
    assert len(fans_alerting) == len(FANS)
    assert (exclusion.changed, exclusion.dropped) == (len(FANS), len(FANS))
    assert (exclusion.not_relevant, exclusion.relevant) == (len(FANS), 0)

    tier = by_kind["tier"]
    assert tier.rule.key == "Rumours" and "tier = 3" in tier.toml
    assert rumours_warning and (tier.changed, tier.dropped) == (len(rumours_warning), 0)
    assert (tier.not_relevant, tier.relevant) == (len(rumours_warning), 0)


def test_every_candidate_measures_what_a_replay_of_the_pasted_config_gives(
    built: Settings, engine: Engine, host: FeedHost, db_url: str
) -> None:
    """Kept or not (the weight for RF1 changes as many relevant alerts as not-relevant ones)."""
    report, _ = _report(engine, built)
    since = NOW - timedelta(days=90)
    with session_scope(engine) as session:
        votes = load_votes(session, since=since, until=NOW + timedelta(days=1))
        texts = load_texts(session, (v.item_id for v in votes))
    candidates = propose(
        report, votes, texts=texts, settings=built, matcher=matcher_from_settings(built)
    )
    assert {"exclusion", "weight", "tier"} <= {c.kind for c in candidates}
    measured = measure(engine, built, candidates, votes=votes, since=since)
    raw = raw_config(host, db_url)
    before = _decisions(engine, built)
    verdicts = _verdicts(engine)
    for s in measured:
        after = _decisions(engine, parse_settings(_apply(raw, s.toml)))
        changed = {k for k, v in before.items() if v is not None and after.get(k) != v}
        dropped = {k for k in changed if after.get(k) is None}
        assert (s.changed, s.dropped) == (len(changed), len(dropped)), s
        assert s.not_relevant == sum(1 for k in changed if verdicts.get(k, 0) < 0), s
        assert s.relevant == sum(1 for k in changed if verdicts.get(k, 0) > 0), s
    kept = keep(measured, limit=5)
    assert kept and all(s.not_relevant > s.relevant for s in kept)
    assert [
        s for s in measured if s not in kept and s.changed and s.not_relevant > s.relevant
    ] == []


def test_no_suggestion_without_enough_votes(built: Settings, engine: Engine) -> None:
    strict = built.model_copy(
        update={"feedback": built.feedback.model_copy(update={"min_votes": 1000})}
    )
    report, suggestions = _report(engine, strict)
    assert report.votes and not report.flagged() and suggestions == []


def test_a_changed_vote_replaces_the_first_and_is_audited(built: Settings, engine: Engine) -> None:
    with session_scope(engine) as session:
        alert = session.exec(select(OutboxMessage)).first()
        assert alert is not None and alert.id is not None
        first = session.exec(
            select(Feedback).where(Feedback.alert_id == alert.id).where(Feedback.user == "UNEW")
        ).first()
        assert first is None
        one = feedback.record(
            session, alert_id=alert.id, user="UNEW", relevant=True, origin="review", now=NOW
        )
        two = feedback.record(
            session, alert_id=alert.id, user="UNEW", relevant=False, origin="button", now=NOW
        )
        assert one is not None and two is not None and not one.changed and two.changed
    with session_scope(engine) as session:
        (row,) = session.exec(select(Feedback).where(Feedback.user == "UNEW")).all()
        assert (row.relevant, row.origin) == (False, "button")
        entries = session.exec(select(AuditLog).where(AuditLog.actor == "UNEW")).all()
        assert [e.detail["previous"] for e in entries] == [None, True]
        assert (
            feedback.record(
                session, alert_id=10**6, user="UNEW", relevant=True, origin="button", now=NOW
            )
            is None
        )
        with pytest.raises(ValueError, match="'thumbs'"):
            feedback.record(
                session, alert_id=alert.id, user="UNEW", relevant=True, origin="thumbs", now=NOW
            )


def test_no_change_is_suggested_for_a_risk_factor_no_longer_configured(
    built: Settings, engine: Engine, host: FeedHost, db_url: str
) -> None:
    """Votes recorded RF1 evidence; RF1 has since been disabled: its term and weight get no
    candidate (an exclusion for an unknown code would not even load), the feed still does."""
    raw = raw_config(host, db_url)
    raw["indicators"] = {"disabled": ["RF1"]}
    later = parse_settings(raw)
    report, suggestions = _report(engine, later)
    assert any(r.key == 'RF1 "clashes"' for r in report.flagged(below=0.5))
    assert [s.kind for s in suggestions] == ["tier"]
    off = later.model_copy(
        update={"feedback": later.feedback.model_copy(update={"max_suggestions": 0})}
    )
    assert _report(engine, off)[1] == []
