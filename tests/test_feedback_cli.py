"""`tocsin feedback report` as an analyst runs it: after a real poll and votes, text and JSON;
bad options get a clear error and exit code 2."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import col, select
from typer.testing import CliRunner

from bot import feedback
from bot.cli import app
from bot.store.db import make_engine, session_scope
from bot.store.tables import Item, OutboxMessage
from tests.feedhost import FeedHost, rss
from tests.test_feedback_learning import CLASHES, FANS

runner = CliRunner()


def _config(tmp_path: Path, host: FeedHost) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[database]
url = "sqlite:///{tmp_path}/cli.db"
[polling]
allow_private_targets = true
parse_workers = 0
[[feeds]]
name = "Wire <b>"
url = "{host.url("/wire.xml")}"
[[situations]]
slug = "sudan"
name = "Sudan"
countries = ["SDN"]
[alerts]
thresholds = {{ watch = 1.0, without_event = "warning" }}
[[subscriptions]]
channel = "C0TEST0001"
situations = ["sudan"]
[feedback]
min_votes = 3
""",
        encoding="utf-8",
    )
    return config


@pytest.fixture
def voted(tmp_path: Path, host: FeedHost, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    items = [{"title": t, "guid": f"g{i}"} for i, t in enumerate(FANS + CLASHES)]
    host.serve("/wire.xml", rss(*items))
    config = _config(tmp_path, host)
    assert runner.invoke(app, ["poll", "--once", "--config", str(config)]).exit_code == 0
    engine = make_engine(f"sqlite:///{tmp_path}/cli.db")
    with session_scope(engine) as session:
        rows = session.exec(
            select(OutboxMessage.id, Item.title).join(Item, col(Item.id) == OutboxMessage.item_id)
        ).all()
        assert len(rows) == len(FANS + CLASHES)
        for alert_id, title in rows:
            feedback.record(
                session,
                alert_id=alert_id or 0,
                user="UANALYST1",
                relevant=title in CLASHES,
                origin=feedback.Origin.BUTTON,
                now=datetime.now(UTC),
            )
    engine.dispose()
    return config


def test_json_report_counts_the_votes_and_suggests_a_backtested_exclusion(voted: Path) -> None:
    result = runner.invoke(app, ["feedback", "report", "--format", "json", "--config", str(voted)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["relevant"], report["not_relevant"]) == (len(CLASHES), len(FANS))
    assert report["min_votes"] == 3
    (clashes,) = [r for r in report["rules"]["term"] if r["key"] == 'RF1 "clashes"']
    assert (clashes["relevant"], clashes["not_relevant"], clashes["enough_votes"]) == (
        len(CLASHES),
        len(FANS),
        True,
    )
    (exclusion,) = [s for s in report["suggestions"] if s["kind"] == "exclusion"]
    assert 'exclude = ["fans clashes"]' in exclusion["toml"]
    assert (exclusion["changed"], exclusion["not_relevant"], exclusion["relevant"]) == (
        len(FANS),
        len(FANS),
        0,
    )
    assert report["rules"]["feed"][0]["key"] == "Wire <b>"  # raw in JSON; no Slack here


def test_text_report_shows_tables_threshold_and_suggestions(voted: Path) -> None:
    result = runner.invoke(app, ["feedback", "report", "--since", "7d", "--config", str(voted)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"{len(CLASHES)} relevant, {len(FANS)} not relevant" in out
    assert "at least 3 votes" in out and "Terms" in out and "Feeds" in out
    assert "Suggestions (paste into config.toml)" in out and "fans clashes" in out
    quick = runner.invoke(
        app,
        ["feedback", "report", "--no-suggestions", "--situation", "sudan", "--config", str(voted)],
    )
    assert quick.exit_code == 0 and "Suggestions" not in quick.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "xml"], "--format 'xml'"),
        (["--situation", "narnia"], "--situation 'narnia'"),
        (["--since", "lately"], "not a duration"),
    ],
)
def test_bad_options_are_named(voted: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["feedback", "report", *args, "--config", str(voted)])
    assert result.exit_code == 2 and message in result.output
