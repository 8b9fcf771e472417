"""The CLI as a user runs it: check, poll --once --json, feeds, db upgrade, demo."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from tests.feedhost import FeedHost, rss

runner = CliRunner()


def write_config(tmp_path: Path, host: FeedHost) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[database]
url = "sqlite:///{tmp_path}/cli.db"
[polling]
allow_private_targets = true
parse_workers = 0
[[feeds]]
name = "News"
url = "{host.url("/news.xml")}"
[[feeds]]
name = "Down"
url = "{host.url("/down.xml")}"
[[situations]]
slug = "sudan"
name = "Sudan"
countries = ["SDN"]
[alerts]
min_severity = "info"
[[subscriptions]]
channel = "C0TEST0001"
situations = ["sudan"]
min_severity = "info"
""",
        encoding="utf-8",
    )
    return config


def test_check_ok_and_errors(tmp_path: Path, host: FeedHost) -> None:
    config = write_config(tmp_path, host)
    ok = runner.invoke(app, ["check", "--config", str(config)])
    assert ok.exit_code == 0 and "OK" in ok.output
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[feeds]]\nname = "x"\ninterval = 5\n[alerts]\nmax_age = "soon"\n', encoding="utf-8"
    )
    result = runner.invoke(app, ["check", "--config", str(bad)])
    assert result.exit_code == 1
    assert "feeds[0] (x)" in result.output and "alerts.max_age" in result.output


def test_tocsin_config_environment_variable(
    tmp_path: Path, host: FeedHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOCSIN_CONFIG", str(write_config(tmp_path, host)))
    assert runner.invoke(app, ["check"]).exit_code == 0


def test_poll_once_json_then_feeds_health(
    tmp_path: Path, host: FeedHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    host.serve("/news.xml", rss({"title": "Sudan: massacre reported in Darfur", "guid": "1"}))
    config = write_config(tmp_path, host)
    result = runner.invoke(app, ["poll", "--once", "--json", "--config", str(config)])
    assert result.exit_code == 0, result.output
    totals = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(totals) == {
        "feeds",
        "ok",
        "not_modified",
        "errors",
        "new_items",
        "matches",
        "alerts_queued",
        "seconds",
    }
    assert (
        totals["feeds"] == 2
        and totals["ok"] == 1
        and totals["errors"] == 1
        and totals["new_items"] == 1
    )
    health = runner.invoke(app, ["feeds", "--config", str(config)])
    assert health.exit_code == 0
    assert "News" in health.output and "Down" in health.output and "404" in health.output


def test_db_upgrade(tmp_path: Path, host: FeedHost, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    config = write_config(tmp_path, host)
    result = runner.invoke(app, ["db", "upgrade", "--config", str(config)])
    assert result.exit_code == 0 and (tmp_path / "cli.db").exists()


def test_demo_runs_offline_and_shows_explained_alerts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for var in ("SLACK_BOT_TOKEN", "DATABASE_URL"):
        monkeypatch.delenv(var, raising=False)
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.count("Why:") >= 4
    assert "Second poll" in out and "0 new items" in out
    assert (tmp_path / ".tocsin-demo" / "demo.db").exists()
    assert os.path.getsize(tmp_path / ".tocsin-demo" / "demo.db") > 0
