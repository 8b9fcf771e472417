"""Observability: /metrics and /healthz over real HTTP, and logs that never carry a secret.

The poll and the deliveries are real (loopback feed host → Poller → outbox → Deliverer →
SlackSink → mock Slack); each test builds its own `Metrics`, so counts never leak between tests.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from bot.config import Secrets, Settings
from bot.health import STUCK_AFTER, serve_health
from bot.metrics import METRICS_PATH, Metrics, metrics_app
from bot.runtime import Runtime, build_runtime, configure_logging
from bot.scheduler import _guarded
from bot.service import start_front_door
from bot.slack.sink import SlackSink
from bot.store.db import make_engine, session_scope, upgrade
from bot.store.tables import OutboxMessage
from bot.subscriptions import sync_config_subscriptions
from tests.feedhost import FeedHost, rss
from tests.slack import helpers
from tests.slack.mock_slack import MockSlack
from tests.test_outbox import T0, Clock, make_alerts
from tests.test_pipeline import NOW, SUDAN, ago, settings_for

OK_CHANNEL, OTHER_CHANNEL = "C0TEST0001", "C0TEST0002"
TOKEN = "xoxb-1111111111-2222222222-SeCrEtToKeNvAlUe"


def two_channel_settings(host: FeedHost, db_url: str, **extra: Any) -> Settings:
    return settings_for(
        host,
        db_url,
        feeds=[
            {"name": "News", "url": host.url("/news.xml")},
            {"name": "Down", "url": host.url("/down.xml")},
        ],
        subscriptions=[
            {"channel": OK_CHANNEL, "situations": ["sudan"], "min_severity": "info"},
            {"channel": OTHER_CHANNEL, "situations": ["sudan"], "min_severity": "info"},
        ],
        server={"host": "127.0.0.1"},
        **extra,
    )


def slack_runtime(
    settings: Settings,
    engine: Engine,
    clock: Clock,
    slack: MockSlack,
    metrics: Metrics,
    secrets: Secrets | None = None,
) -> Runtime:
    secrets = secrets or Secrets(slack_bot_token="xoxb-test", slack_api_url=slack.base_url)
    sink = SlackSink(
        token=secrets.slack_bot_token,
        base_url=slack.base_url,
        engine=engine,
        clock=clock,
        metrics=metrics,
    )
    runtime = build_runtime(
        settings=settings, secrets=secrets, sink=sink, clock=clock, engine=engine, metrics=metrics
    )
    with session_scope(engine) as s:
        sync_config_subscriptions(s, settings, now=clock())
    return runtime


def get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.headers.get("Content-Type", ""), resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read().decode()


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    status, content_type, body = get(url + METRICS_PATH)
    assert status == 200 and content_type.startswith("text/plain"), (status, content_type)
    samples = {}
    for family in text_string_to_metric_families(body):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


# --- /metrics ------------------------------------------------------------------------------


def test_metrics_after_polls_and_deliveries_over_http(
    host: FeedHost, slack: MockSlack, engine: Engine, db_url: str
) -> None:
    host.serve("/news.xml", rss({**SUDAN, "pubDate": ago(2)}))
    settings = two_channel_settings(host, db_url)
    clock, metrics = Clock(NOW), Metrics()
    runtime = slack_runtime(settings, engine, clock, slack, metrics)
    front = start_front_door(runtime, port=0)  # no Slack credentials for the app: health only
    try:
        runtime.poller.poll(force=True)  # 1 item → 2 alerts (two channels); "Down" is a 404
        slack.on("chat.postMessage", status=500)  # the first post fails and is retried …
        first = runtime.deliverer.drain()
        assert (first.delivered, first.retried) == (1, 1)
        pending = scrape(front[0].url)
        assert value(pending, "tocsin_outbox_depth") == 1.0

        clock.advance(minutes=5)  # … and goes out later
        assert runtime.deliverer.drain().delivered == 1
        clock.advance(minutes=1)  # past the per-channel pacing interval
        host.serve(
            "/news.xml",
            rss(
                {**SUDAN, "pubDate": ago(2)},
                {
                    "title": "Sudan: militia attack on a village near Kutum, dozens killed",
                    "guid": "sudan-2",
                    "pubDate": ago(1),
                },
            ),
        )
        runtime.poller.poll(force=True)  # 1 new item → 2 more alerts
        slack.on("chat.postMessage", body={"ok": False, "error": "not_in_channel"})
        second = runtime.deliverer.drain()
        assert (second.delivered, second.blocked) == (1, 1)
        samples = scrape(front[0].url)
    finally:
        for part in front:
            part.shutdown()
        runtime.close()

    assert value(samples, "tocsin_polls_total", status="ok") == 2
    assert value(samples, "tocsin_polls_total", status="error") == 2
    assert value(samples, "tocsin_polls_total", status="not_modified") == 0
    assert value(samples, "tocsin_feed_failures_total", feed="Down") == 2
    assert ("tocsin_feed_failures_total", (("feed", "News"),)) not in samples
    assert value(samples, "tocsin_items_stored_total") == 2
    assert value(samples, "tocsin_matches_total") == 2
    assert value(samples, "tocsin_alerts_total", event="queued") == 4
    assert value(samples, "tocsin_alerts_total", event="delivered") == 3
    assert value(samples, "tocsin_alerts_total", event="retried") == 1
    assert value(samples, "tocsin_alerts_total", event="blocked") == 1
    assert value(samples, "tocsin_alerts_total", event="failed") == 0
    assert value(samples, "tocsin_alerts_total", event="withheld") == 0
    posts = len(slack.calls("chat.postMessage"))
    assert posts == 5
    count = "tocsin_slack_request_duration_seconds_count"
    assert value(samples, count, method="chat.postMessage") == posts
    assert value(samples, "tocsin_slack_request_duration_seconds_sum", method="chat.postMessage")
    errors = "tocsin_slack_errors_total"
    assert value(samples, errors, method="chat.postMessage", code="http_500") == 1
    assert value(samples, errors, method="chat.postMessage", code="not_in_channel") == 1
    assert value(samples, "tocsin_database_up") == 1
    assert value(samples, "tocsin_outbox_depth") == 0
    assert value(samples, "tocsin_outbox_oldest_due_seconds") == 0
    assert value(samples, "tocsin_channels_blocked") == 1


def test_slack_app_serves_metrics_and_the_outbox_check_too(
    host: FeedHost, slack: MockSlack, engine: Engine, db_url: str
) -> None:
    settings = two_channel_settings(host, db_url)
    secrets = Secrets(
        slack_bot_token="xoxb-test",
        slack_signing_secret=helpers.SECRET,
        slack_api_url=slack.base_url,
    )
    clock, metrics = Clock(NOW), Metrics()
    runtime = slack_runtime(settings, engine, clock, slack, metrics, secrets=secrets)
    front = start_front_door(runtime, port=0)
    try:
        (server,) = front
        samples = scrape(server.url)
        status, body = helpers.get(server.url + "/healthz")
        command = helpers.command_body("help", response_url=slack.response_url())
        signed = helpers.post(server.url + "/slack/events", command)
    finally:
        server.shutdown()
        runtime.close()
    assert value(samples, "tocsin_database_up") == 1
    assert value(samples, "tocsin_slack_request_duration_seconds_count", method="auth.test") == 1
    assert status == 200 and set(body["checks"]) == {"database", "channels", "outbox"}
    assert signed.status == 200  # the Slack endpoint is still there in HTTP mode


def test_metrics_still_answer_when_the_database_does_not() -> None:
    dead = make_engine("postgresql://nobody@127.0.0.1:1/none")
    routes = {METRICS_PATH: metrics_app(Metrics(), engine=dead, clock=Clock(NOW))}
    server = serve_health(engine=dead, clock=Clock(NOW), routes=routes, host="127.0.0.1", port=0)
    try:
        samples = scrape(server.url)
    finally:
        server.shutdown()
    assert value(samples, "tocsin_database_up") == 0
    assert ("tocsin_outbox_depth", ()) not in samples
    assert value(samples, "tocsin_polls_total", status="ok") == 0  # counters are still there


def test_each_metrics_has_its_own_registry_and_bounded_labels() -> None:
    a, b = Metrics(), Metrics()
    a.record_poll(feed="A", status="ok", new_items=3, matches=1, alerts=1)
    a.record_poll(feed="A", status="surprise", new_items=0, matches=0, alerts=0)
    a.record_message("skipped_lost", kind="alert")  # another instance took it: not ours
    a.record_alert("surprise")
    a.record_slack_call("chat.postMessage", seconds=0.1, error="<script>alert(1)</script>")
    assert a.value("tocsin_items_stored_total") == 3 and b.value("tocsin_items_stored_total") == 0
    assert a.value("tocsin_polls_total", status="error") == 1  # unknown statuses fold into error
    events = {s.labels.get("event") for m in a.registry.collect() for s in m.samples}
    assert not {"skipped_lost", "surprise"} & events
    errors = "tocsin_slack_errors_total"
    assert a.value(errors, method="chat.postMessage", code="other") == 1


# --- /healthz ------------------------------------------------------------------------------


def health(engine: Engine, clock: Clock) -> tuple[int, dict[str, Any]]:
    server = serve_health(engine=engine, clock=clock, routes={}, host="127.0.0.1", port=0)
    try:
        return helpers.get(server.url + "/healthz")
    finally:
        server.shutdown()


def test_healthz_is_503_when_an_alert_has_been_due_too_long(engine: Engine) -> None:
    clock = Clock(T0)
    status, body = health(engine, clock)
    assert status == 200 and body["status"] == "ok"
    assert body["checks"]["outbox"] == {"ok": True, "detail": "depth=0 oldest_due_s=0"}
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["channels"] == {"ok": True, "detail": "none blocked"}

    make_alerts(engine, 2)  # due at T0; nothing drains them
    clock.advance(seconds=STUCK_AFTER.total_seconds() - 60)
    status, body = health(engine, clock)
    assert status == 200 and body["checks"]["outbox"]["detail"] == "depth=2 oldest_due_s=840"

    clock.advance(minutes=2)
    status, body = health(engine, clock)
    assert status == 503 and body["status"] == "unhealthy"
    assert body["checks"]["outbox"]["ok"] is False
    assert "stuck (due for more than 900s)" in body["checks"]["outbox"]["detail"]
    assert body["checks"]["database"]["ok"] is True


def test_alerts_waiting_for_a_retry_are_not_stuck(engine: Engine) -> None:
    ids = make_alerts(engine, 1)
    with session_scope(engine) as s:
        alert = s.get(OutboxMessage, ids[0])
        assert alert is not None
        alert.next_attempt_at = T0 + timedelta(hours=1)  # backing off after a 429
    status, body = health(engine, Clock(T0 + timedelta(minutes=30)))
    assert status == 200 and body["checks"]["outbox"]["detail"] == "depth=1 oldest_due_s=0"


def test_healthz_is_503_when_the_database_is_unreachable() -> None:
    status, body = health(make_engine("postgresql://nobody@127.0.0.1:1/none"), Clock(T0))
    assert status == 503
    assert body["checks"]["database"]["ok"] is False
    assert body["checks"]["outbox"]["ok"] is False


@pytest.mark.postgres
def test_healthz_turns_503_when_postgresql_goes_away() -> None:
    """A real database dropped under a running server: 200, then 503 (not a hang, not a 500)."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip("TEST_DATABASE_URL is not set")
    admin = make_engine(base).execution_options(isolation_level="AUTOCOMMIT")
    name = f"tocsin_health_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(base).set(database=name).render_as_string(hide_password=False))
    upgrade(engine)
    server = serve_health(engine=engine, clock=Clock(T0), routes={}, host="127.0.0.1", port=0)
    try:
        assert helpers.get(server.url + "/healthz")[0] == 200
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        status, body = helpers.get(server.url + "/healthz")
        assert status == 503 and body["checks"]["database"]["ok"] is False
        assert f'database "{name}" does not exist' in body["checks"]["database"]["detail"]
    finally:
        server.shutdown()
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# --- logs ----------------------------------------------------------------------------------


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


LINE = re.compile(r"^ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z level=[A-Z]+ logger=[\w.]+ \S")


@pytest.mark.usefixtures("restore_logging")
def test_a_slack_token_never_reaches_the_logs(
    host: FeedHost,
    slack: MockSlack,
    engine: Engine,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Poll + delivery + a Slack error echoing the token + an exception whose message (and
    traceback) carries it: the token is redacted everywhere, and each event is one line."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("SLACK_API_URL", slack.base_url)
    secrets = Secrets.from_env()
    configure_logging(level="DEBUG", secrets=secrets)
    host.serve("/news.xml", rss({**SUDAN, "pubDate": ago(2)}))
    settings = settings_for(
        host,
        db_url,
        feeds=[
            {"name": "News", "url": host.url("/news.xml")},
            {"name": "Leaky", "url": host.url(f"/feed.xml?key={TOKEN}")},  # a 404 naming its URL
        ],
        subscriptions=[
            {"channel": OK_CHANNEL, "situations": ["sudan"], "min_severity": "info"},
            {"channel": OTHER_CHANNEL, "situations": ["sudan"], "min_severity": "info"},
        ],
    )
    clock = Clock(NOW)
    runtime = slack_runtime(settings, engine, clock, slack, Metrics(), secrets=secrets)
    try:
        slack.on("chat.postMessage", body={"ok": False, "error": "invalid_auth", "token": TOKEN})
        runtime.poller.poll(force=True)
        report = runtime.deliverer.drain()

        def boom() -> None:
            try:
                raise ValueError(f"Slack rejected token {TOKEN}")
            except ValueError as exc:
                raise RuntimeError(f"delivery crashed with {TOKEN}") from exc

        _guarded("deliver", boom)()
        logging.getLogger("bot.test").warning("event=test args=%s", TOKEN)
    finally:
        runtime.close()
    assert report.delivered == 1 and report.blocked == 1
    assert slack.calls("chat.postMessage")[0].headers["Authorization"] == f"Bearer {TOKEN}"
    logs = capsys.readouterr().err
    assert TOKEN not in logs
    assert "SeCrEtToKeN" not in logs
    assert logs.count("[redacted]") >= 4, logs
    lines = logs.splitlines()
    assert any("event=poll feed='Leaky' status=error" in line for line in lines)
    assert any("event=message_delivered" in line for line in lines)
    assert any("event=channel_blocked" in line for line in lines)
    (crash,) = [line for line in lines if "event=job_failed" in line]
    assert "exc=" in crash and "Traceback" in crash and "delivery crashed with [redacted]" in crash
    assert "Slack rejected token [redacted]" in crash  # the chained cause is redacted too
    for line in lines:
        assert LINE.match(line), f"not one key=value event per line: {line!r}"


@pytest.mark.usefixtures("restore_logging")
def test_database_password_is_redacted(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://tocsin:pa55-w0rd-XYZ@db.internal/tocsin")
    configure_logging(level="INFO", secrets=Secrets.from_env())
    logging.getLogger("bot.test").error("event=db_error url=%s", os.environ["DATABASE_URL"])
    err = capsys.readouterr().err
    assert "pa55-w0rd-XYZ" not in err and "tocsin:[redacted]@db.internal" in err


# --- deployment files ------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"


def test_deployment_doc_names_the_threshold_and_every_metric() -> None:
    doc = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    assert "15 minutes" in doc and "STUCK_AFTER" in doc
    assert int(STUCK_AFTER.total_seconds()) == 15 * 60
    names = {m.name for m in Metrics().registry.collect()}
    names |= {"tocsin_outbox_depth", "tocsin_outbox_oldest_due_seconds", "tocsin_database_up"}
    for name in names:
        assert re.search(rf"`{name}(_total)?`", doc), f"{name} is not in docs/deployment.md"


def test_env_example_lists_every_environment_variable_without_secrets() -> None:
    source = (ROOT / "bot" / "config.py").read_text(encoding="utf-8")
    read = set(re.findall(r"env(?:iron)?\.get\(\"([A-Z_]+)\"", source))
    assert {"SLACK_BOT_TOKEN", "DATABASE_URL", "TOCSIN_CONFIG"} <= read
    example = (DEPLOY / "env.example").read_text(encoding="utf-8")
    assigned = dict(re.findall(r"^([A-Z_]+)=(.*)$", example, flags=re.M))
    assert read <= set(assigned), f"missing from deploy/env.example: {read - set(assigned)}"
    for secret in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        assert "REPLACE-ME" in assigned[secret], f"{secret} must be a placeholder"


def test_unit_and_containerfile_keep_their_promises() -> None:
    unit = (DEPLOY / "tocsin.service").read_text(encoding="utf-8")
    for line in (
        "User=tocsin",
        "EnvironmentFile=/etc/tocsin/env",
        "WorkingDirectory=/var/lib/tocsin",
        "Restart=on-failure",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/tocsin",
    ):
        assert f"\n{line}\n" in unit, line
    image = (DEPLOY / "Containerfile").read_text(encoding="utf-8")
    assert image.startswith("#") and "\nFROM python:3.11-slim\n" in image
    assert "\nUSER tocsin\n" in image and "\nEXPOSE 3000\n" in image
    assert "HEALTHCHECK" in image and "/healthz" in image


def test_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here")
    tocsin = Path(sys.executable).with_name("tocsin")
    if not tocsin.exists():
        pytest.skip("the tocsin script is not installed next to this Python")
    unit = (DEPLOY / "tocsin.service").read_text(encoding="utf-8")
    copy = tmp_path / "tocsin.service"
    copy.write_text(unit.replace("/opt/tocsin/.venv/bin/tocsin", str(tocsin)), encoding="utf-8")
    result = subprocess.run(
        [analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
