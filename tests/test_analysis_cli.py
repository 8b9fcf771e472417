"""`tocsin match`, `tocsin backtest` and `tocsin why` as an analyst runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from tests.feedhost import FeedHost, rss
from tests.test_cli import write_config

runner = CliRunner()


def test_match_writes_one_json_line_per_item_in_order(tmp_path: Path, host: FeedHost) -> None:
    config = write_config(tmp_path, host)
    items = tmp_path / "items.jsonl"
    items.write_text(
        "\n".join(
            [
                json.dumps({"id": "a", "title": "Massacre of civilians reported in Darfur, Sudan"}),
                json.dumps({"id": "b", "title": "Trade fair opens in Lisbon"}),
                "{not json",
                json.dumps({"id": "d", "title": "Flood alert", "countries": ["SDN"]}),
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["match", "--input", str(items), "--config", str(config)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert [line.get("id") for line in lines] == ["a", "b", None, "d"]
    assert lines[0]["situations"] == ["sudan"] and lines[0]["indicators"]
    assert lines[0]["severity"] in {"info", "watch", "warning", "critical"}
    assert {"term", "field", "start", "end"} <= set(lines[0]["evidence"][0])
    assert lines[1]["situations"] == [] and lines[1]["severity"] == "info"
    assert "error" in lines[2]
    assert lines[3]["situations"] == ["sudan"]  # structured country tags are strong evidence


def test_backtest_and_why_after_a_poll(
    tmp_path: Path, host: FeedHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    host.serve(
        "/news.xml",
        rss(
            {"title": "Sudan: massacre of civilians reported in Darfur", "guid": "1"},
            {"title": "Sudan: thousands displaced as militias attack villages", "guid": "2"},
            {"title": "Weather in Lisbon", "guid": "3"},
        ),
    )
    config = write_config(tmp_path, host)
    assert runner.invoke(app, ["poll", "--once", "--config", str(config)]).exit_code == 0

    backtest = runner.invoke(app, ["backtest", "--since", "30d", "--config", str(config)])
    assert backtest.exit_code == 0, backtest.output
    assert "sudan" in backtest.output and "Replayed 3 stored items" in backtest.output

    why = runner.invoke(app, ["why", "1", "--config", str(config)])
    assert why.exit_code == 0, why.output
    assert "Score breakdown" in why.output and "Evidence" in why.output and "tier 2" in why.output
    missing = runner.invoke(app, ["why", "999", "--config", str(config)])
    assert missing.exit_code == 1 and "No alert with id 999" in missing.output

    bad = runner.invoke(app, ["backtest", "--since", "lately", "--config", str(config)])
    assert bad.exit_code == 2 and "not a duration" in bad.output
