"""`tocsin brief`: standalone Markdown / self-contained HTML documents from the command line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.store.db import make_engine
from bot.store.types import utcnow
from tests.briefing import builders

runner = CliRunner()
CONFIG = """
[database]
url = "sqlite:///{db}"

[[situations]]
slug = "sudan"
name = "Sudan"
countries = ["SDN"]

[[situations]]
slug = "drc-east"
name = "Eastern DRC"
countries = ["COD"]
sensitivity = "restricted"
allowed_channels = ["CALLOWED"]
"""


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(db=tmp_path / "t.db"), encoding="utf-8")
    result = runner.invoke(app, ["db", "upgrade", "--config", str(path)])
    assert result.exit_code == 0, result.output
    engine = make_engine(f"sqlite:///{tmp_path / 't.db'}")
    builders.add_report(engine, published=utcnow() - timedelta(days=1), title="Camp <attacked>")
    builders.add_report(
        engine, published=utcnow() - timedelta(days=1), situation="drc-east", severity="critical"
    )
    engine.dispose()
    return path


def test_html_export_is_self_contained(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "sudan.html"
    args = ["brief", "sudan", "--format", "html", "--output", str(out), "--config", str(config)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "Camp &lt;attacked&gt;" in html
    assert 'src="data:image/png;base64,' in html and "RESTRICTED" not in html
    assert "http://" not in html.split("<body", 1)[0] and "<link" not in html


def test_markdown_export_of_a_restricted_situation_is_marked(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "drc.md"
    args = ["brief", "drc-east", "--since", "30d", "--output", str(out), "--config", str(config)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert text.startswith("> **RESTRICTED — do not share outside CALLOWED**")
    assert "last 30 days" in text and "![" in text and "(drc.png)" in text
    assert (tmp_path / "drc.png").read_bytes().startswith(b"\x89PNG")


def test_markdown_to_stdout_and_bad_arguments(config: Path) -> None:
    result = runner.invoke(app, ["brief", "sudan", "--config", str(config)])
    assert result.exit_code == 0 and "# Sudan — briefing, last 7 days" in result.stdout
    assert runner.invoke(app, ["brief", "nowhere", "--config", str(config)]).exit_code == 2
    bad = runner.invoke(app, ["brief", "sudan", "--format", "pdf", "--config", str(config)])
    assert bad.exit_code == 2
