"""`tocsin run` as a real process against a local Slack-compatible server (the issue's "done when").

A signed `/tocsin subscribe sudan` reaches the running app over HTTP and is stored; when a
matching item then appears in a feed, an escaped, explained alert is posted into that channel;
SIGTERM stops the process cleanly.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlmodel import select

from bot.store.db import make_engine, session_scope
from bot.store.tables import AuditLog, Subscription
from tests.feedhost import FeedHost, rss
from tests.slack import helpers
from tests.slack.mock_slack import MockSlack

CHANNEL = "C0E2E00001"
TIMEOUT = 120.0  # an upper bound so CI can never hang; the test normally takes ~35 s


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(predicate: object, *, what: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@contextmanager
def tocsin_run(
    config: Path, *, port: int, env: dict[str, str], log_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], float]]:
    """`python -m bot run` until the block ends (then SIGTERM, which must exit 0); yields the
    process and the deadline for the block's waits, once /healthz answers."""
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--config", str(config), "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + TIMEOUT
        try:
            wait_until(
                lambda: healthy(f"http://127.0.0.1:{port}/healthz"),
                what="/healthz",
                deadline=deadline,
            )
            yield process, deadline
            assert process.poll() is None, "tocsin run stopped by itself"
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                code = process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                raise
    assert code == 0, log_path.read_text()


@pytest.mark.slow
def test_run_subscribes_from_slack_and_posts_escaped_alerts(
    tmp_path: Path, host: FeedHost, slack: MockSlack
) -> None:
    host.serve("/news.xml", rss({"title": "Weather in Lisbon", "guid": "0"}))
    port = free_port()
    database = tmp_path / "run.db"
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[database]
url = "sqlite:///{database}"
[polling]
allow_private_targets = true
parse_workers = 0
tick = "1s"
[[feeds]]
name = "News"
url = "{host.url("/news.xml")}"
interval = "30s"
tier = 1
[[situations]]
slug = "sudan"
name = "Sudan"
countries = ["SDN"]
places = ["Darfur"]
[server]
host = "127.0.0.1"
""",
        encoding="utf-8",
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SLACK_APP_TOKEN", "DATABASE_URL", "TOCSIN_CONFIG"}
    }
    env.update(
        SLACK_BOT_TOKEN="xoxb-e2e-test-token",
        SLACK_SIGNING_SECRET=helpers.SECRET,
        SLACK_API_URL=slack.base_url,
    )
    log_path = tmp_path / "run.log"
    with tocsin_run(config, port=port, env=env, log_path=log_path) as (_, deadline):
        body = helpers.command_body(
            "subscribe sudan", response_url=slack.response_url(), channel=CHANNEL
        )
        assert helpers.post(f"http://127.0.0.1:{port}/slack/events", body).status == 200
        reply = slack.wait_for("response", timeout=30)[0].body
        assert "sudan" in json.dumps(reply).lower()

        engine = make_engine(f"sqlite:///{database}")
        with session_scope(engine) as session:
            sub = session.exec(select(Subscription).where(Subscription.channel == CHANNEL)).one()
            assert sub.situation == "sudan" and sub.origin == "slack" and sub.active
            audit = session.exec(select(AuditLog)).all()
            assert any(a.channel == CHANNEL and a.actor == helpers.USER for a in audit)
        engine.dispose()

        host.serve(
            "/news.xml",
            rss(
                {"title": "Weather in Lisbon", "guid": "0"},
                {
                    "title": "<!channel> Sudan: massacre of civilians reported in Darfur",
                    "guid": "1",
                    "link": "https://example.org/darfur",
                },
            ),
        )

        def posted() -> list[dict[str, object]]:
            return [c.body for c in slack.calls("chat.postMessage") if c.body["channel"] == CHANNEL]

        wait_until(lambda: posted(), what="the alert in the channel", deadline=deadline)
        [message] = posted()
        texts = helpers.mrkdwn_texts(message["blocks"])
        assert any("&lt;!channel&gt;" in t for t in texts)
        for text in texts:
            helpers.assert_inert(text)
        assert "<!channel>" not in json.dumps(message)
        assert "RF11" in json.dumps(message)  # the risk factor that fired, with its evidence
        assert message["metadata"]["event_payload"]["message_id"]  # type: ignore[index]
    assert "xoxb-e2e-test-token" not in log_path.read_text()


def test_sighup_reloads_a_valid_config_and_keeps_the_old_one_otherwise(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "config.toml"
    base = f"""
[database]
url = "sqlite:///{tmp_path / "reload.db"}"
[server]
host = "127.0.0.1"
[[situations]]
slug = "sudan"
name = "Sudan"
countries = ["SDN"]
"""
    config.write_text(base, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    env.pop("DATABASE_URL", None)
    log_path = tmp_path / "run.log"
    with tocsin_run(config, port=port, env=env, log_path=log_path) as (process, deadline):
        config.write_text(
            base + '[[situations]]\nslug = "haiti"\nname = "Haiti"\ncountries = ["HTI"]\n',
            encoding="utf-8",
        )
        process.send_signal(signal.SIGHUP)
        wait_until(
            lambda: "situations=2" in log_path.read_text(), what="the reload", deadline=deadline
        )
        config.write_text(base + "[alerts]\nmax_age = 'soon'\n", encoding="utf-8")
        process.send_signal(signal.SIGHUP)
        wait_until(
            lambda: "event=reload_failed" in log_path.read_text(),
            what="the refused reload",
            deadline=deadline,
        )
        assert "alerts.max_age" in log_path.read_text()  # the log names the culprit
        wait_until(  # started once after the good reload, once more with it after the bad one
            lambda: log_path.read_text().count("situations=2") >= 2,
            what="the last good config to start again",
            deadline=deadline,
        )
        wait_until(
            lambda: healthy(f"http://127.0.0.1:{port}/healthz"), what="/healthz", deadline=deadline
        )
