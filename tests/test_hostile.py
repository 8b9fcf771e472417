"""Hostile input, end to end: each case ends in a clear error naming the culprit, no crash, and
nothing lost (stored items and other feeds are untouched).

Already covered elsewhere, and not repeated here:

- the feeds library on its own: gzip bombs, over-size and truncated bodies, redirect loops, slow
  drip (`tests/feeds/test_fetch.py`); billion laughs, XXE, hostile UTF-16 (`tests/feeds/
  test_rss.py`); SSRF by address, DNS, redirect and rebinding (`tests/feeds/test_netguard.py`);
  malformed ReliefWeb answers (`tests/feeds/test_reliefweb.py`);
- Slack escaping of every rendered string (`tests/slack/test_render.py`, `test_sink.py`);
- forged and stale signatures on commands and clicks, and `<!channel>`-style and very long
  command arguments (`tests/slack/test_commands.py`, `tests/slack/test_actions.py`);
- config errors reported all at once (`tests/test_config.py`, `tests/test_cli.py`).

Run-time feed URLs: no code path adds a feed at run time yet (feeds come only from config.toml).
When one does (e.g. a `/tocsin feeds add` command), it must call
`feeds.netguard.check_public_url` before storing the URL; the Fetcher checks every hop again.
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from threading import Event
from typing import Any

import httpx
import pytest
from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.config import Secrets, Settings
from bot.outbox.deliverer import Deliverer
from bot.pipeline import Poller, fetch_options
from bot.runtime import Runtime, build_runtime
from bot.slack.app import build_app, serve
from bot.slack.sink import SlackSink
from bot.store.db import session_scope
from bot.store.tables import AuditLog, Feed, Item, OutboxMessage, Subscription
from bot.subscriptions import sync_config_subscriptions
from feeds.fetch import Fetcher
from tests.feedhost import FeedHost, rss
from tests.feeds.conftest import LoopbackServer
from tests.feeds.test_fetch import MiB, gzip_bomb
from tests.feeds.test_netguard import PUBLIC_IP, fake_dns
from tests.slack import helpers
from tests.slack.conftest import Running
from tests.slack.helpers import ADMIN, ALLOWED, PUBLIC, SHARED, USER, assert_inert, mrkdwn_texts
from tests.slack.mock_slack import MockSlack
from tests.test_outbox import Clock
from tests.test_pipeline import NOW, SUDAN, ago, settings_for

HOSTILE = Path(__file__).parent / "feeds" / "data" / "hostile"
CHANNEL = "C0TEST0001"


@pytest.fixture
def running(engine: Engine, slack: MockSlack) -> Iterator[Running]:
    """The Slack app served over HTTP on port 0, as in tests/slack/conftest.py."""
    secrets = Secrets(
        slack_bot_token="xoxb-test",
        slack_signing_secret=helpers.SECRET,
        slack_api_url=slack.base_url,
    )
    clock = helpers.FakeClock()
    settings = helpers.settings()
    app = build_app(settings=settings, secrets=secrets, engine=engine, clock=clock)
    server = serve(app, host="127.0.0.1", port=0)
    sink = SlackSink(token="xoxb-test", base_url=slack.base_url, engine=engine, clock=clock)
    deliverer = Deliverer(settings=settings, engine=engine, sink=sink, clock=clock, owner="t")
    try:
        yield Running(app=app, server=server, slack=slack, engine=engine, deliverer=deliverer)
    finally:
        server.shutdown()


def pipeline(
    settings: Settings, engine: Engine, slack: MockSlack, *, appname: str | None = None
) -> tuple[Runtime, Clock]:
    clock = Clock(NOW)
    sink = SlackSink(token="xoxb-test", base_url=slack.base_url, engine=engine, clock=clock)
    runtime = build_runtime(
        settings=settings,
        secrets=Secrets(reliefweb_appname=appname),
        sink=sink,
        clock=clock,
        engine=engine,
    )
    with session_scope(engine) as s:
        sync_config_subscriptions(s, settings, now=clock())
    return runtime, clock


def feed_rows(engine: Engine) -> dict[str, Feed]:
    with session_scope(engine) as s:
        return {f.name: f for f in s.exec(select(Feed)).all()}


def item_guids(engine: Engine) -> list[str]:
    with session_scope(engine) as s:
        return sorted(i.guid for i in s.exec(select(Item)).all())


# --- Slack control sequences in feed text ----------------------------------------------------

CONTROL = {
    "channel": "<!channel>",
    "here": "<!here>",
    "user": "<@U123>",
    "subteam": "<!subteam^S1>",
    "link": "<http://evil|click>",
}
PLACES = ["El Fasher", "Nyala", "Geneina", "Kutum", "Tawila"]


def test_control_sequences_in_feed_titles_arrive_inert_in_slack(
    host: FeedHost, slack: MockSlack, engine: Engine, db_url: str
) -> None:
    """Loopback feed → Poller → outbox → Deliverer → SlackSink → mock Slack: what Slack
    received mentions nobody and links nowhere, and every item still arrived."""
    items = [
        {
            "title": f"Sudan: {seq} massacre of civilians reported in {place}",
            "guid": f"hostile-{name}",
            "pubDate": ago(1),
            "description": f"Armed men killed dozens in {place} {seq}.",
        }
        for (name, seq), place in zip(CONTROL.items(), PLACES, strict=True)
    ]
    host.serve("/news.xml", rss(*items))
    settings = settings_for(
        host,
        db_url,
        feeds=[{"name": "News <!here>", "url": host.url("/news.xml")}],
        slack={"min_interval": 0},
    )
    runtime, _ = pipeline(settings, engine, slack)
    try:
        assert runtime.poller.poll(force=True).totals()["alerts_queued"] == len(CONTROL)
        assert runtime.deliverer.drain().delivered == len(CONTROL)
    finally:
        runtime.close()
    posts = slack.calls("chat.postMessage")
    assert len(posts) == len(CONTROL)
    received = []
    for call in posts:
        assert call.body.get("parse") == "none" and call.body.get("link_names") in (False, "0")
        texts = [call.body["text"], *mrkdwn_texts(call.body["blocks"])]
        for t in texts:
            assert_inert(t)
        received.append("\n".join(texts))
    everything = "\n".join(received)
    for seq in CONTROL.values():
        escaped = seq.replace("<", "&lt;").replace(">", "&gt;")
        assert escaped in everything, f"{seq} was dropped instead of shown inert"
    with session_scope(engine) as s:  # stored raw: escaping happens once, at render time
        titles = [i.title for i in s.exec(select(Item)).all()]
    assert all(any(seq in t for seq in CONTROL.values()) for t in titles)


# --- ReliefWeb answers that are not what they should be ---------------------------------------


def report(report_id: str, title: str) -> dict[str, Any]:
    return {
        "id": report_id,
        "fields": {
            "title": title,
            "url": f"https://reliefweb.int/node/{report_id}",
            "body": "Mass displacement continues.",
            "date": {"created": (NOW - timedelta(hours=1)).isoformat()},
            "country": [{"iso3": "sdn", "name": "Sudan"}],
            "primary_country": {"iso3": "sdn", "name": "Sudan"},
        },
    }


GOOD_PAGE = {"totalCount": 1, "count": 1, "data": [report("4242", "Sudan: Humanitarian update")]}


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (
            b'{"totalCount": 3, "data": [{"id": "1", "fields": {"tit',
            "application/json",
            "malformed",
        ),
        (b"", "application/json", "malformed JSON"),
        (b"<html><body>502 Bad Gateway</body></html>", "text/html", "malformed JSON"),
        (b'{"data": "none today"}', "application/json", "no 'data' list"),
        (b'{"data": [null, 1]}', "application/json", "non-object entry"),
        (b'{"error": {"status": 400}}', "application/json", "no 'data' list"),
    ],
    ids=["truncated", "empty", "html", "data-string", "data-scalars", "error-object"],
)
def test_malformed_reliefweb_answers_are_a_per_feed_error_and_keep_stored_items(
    host: FeedHost,
    slack: MockSlack,
    engine: Engine,
    db_url: str,
    body: bytes,
    content_type: str,
    message: str,
) -> None:
    host.serve_json("/v2/reports", GOOD_PAGE)
    host.serve("/news.xml", rss({**SUDAN, "pubDate": ago(1)}))
    settings = settings_for(
        host,
        db_url,
        feeds=[
            {"name": "RW", "kind": "reliefweb"},
            {"name": "News", "url": host.url("/news.xml")},
        ],
    )
    runtime, clock = pipeline(settings, engine, slack, appname="tocsin-test")
    try:
        assert runtime.poller.poll(force=True).totals()["ok"] == 2
        host.serve("/v2/reports", body, content_type=content_type, etag=False)
        host.serve(
            "/news.xml",
            rss({**SUDAN, "pubDate": ago(1)}, {"title": "Later news", "guid": "n2"}),
        )
        clock.advance(minutes=20)
        by_feed = {o.feed: o for o in runtime.poller.poll(force=True).outcomes}
    finally:
        runtime.close()
    assert by_feed["RW"].status == "error"
    assert message in (by_feed["RW"].error or "") and "/v2/reports" in (by_feed["RW"].error or "")
    assert by_feed["News"].status == "ok" and by_feed["News"].new_items == 1
    rows = feed_rows(engine)
    assert message in (rows["RW"].last_error or "") and rows["RW"].consecutive_failures == 1
    assert rows["RW"].high_water  # the mark from the good answer is kept, not reset
    assert item_guids(engine) == ["4242", "n2", "sudan-1"]


def test_odd_field_types_in_reliefweb_reports_are_tolerated(
    host: FeedHost, slack: MockSlack, engine: Engine, db_url: str
) -> None:
    odd = report("7", "Sudan: odd but usable")
    odd["fields"].update(
        {"country": "SDN", "date": ["2024"], "source": 5, "body": {"x": 1}, "language": None}
    )
    page = {"data": [odd, {"id": "8", "fields": {"title": 123}}, {"id": None, "fields": {}}]}
    host.serve_json("/v2/reports", page)
    settings = settings_for(host, db_url, feeds=[{"name": "RW", "kind": "reliefweb"}])
    runtime, _ = pipeline(settings, engine, slack, appname="tocsin-test")
    try:
        (outcome,) = runtime.poller.poll(force=True).outcomes
    finally:
        runtime.close()
    assert outcome.status == "ok" and outcome.new_items == 2
    assert item_guids(engine) == ["7", "8"]


# --- feed bombs through the Poller -------------------------------------------------------------


def test_gzip_bomb_and_billion_laughs_fail_their_feeds_only(engine: Engine, db_url: str) -> None:
    """The thin end-to-end version of tests/feeds (which measure memory and time precisely)."""
    bomb = gzip_bomb(64 * MiB)
    laughs = (HOSTILE / "billion_laughs.xml").read_bytes()
    good = gzip.compress(rss({**SUDAN, "pubDate": ago(1)}).encode())
    server = LoopbackServer()

    def answer(body: bytes, headers: dict[str, str]) -> Any:
        def route(handler: BaseHTTPRequestHandler, stop: Event) -> None:
            handler.send_response(200)
            for key, value in {**headers, "Content-Length": str(len(body))}.items():
                handler.send_header(key, value)
            handler.end_headers()
            handler.wfile.write(body)

        return route

    xml = {"Content-Type": "application/rss+xml"}
    server.routes["/bomb.xml"] = answer(bomb, {**xml, "Content-Encoding": "gzip"})
    server.routes["/laughs.xml"] = answer(laughs, xml)
    server.routes["/good.xml"] = answer(good, {**xml, "Content-Encoding": "gzip"})
    server.thread.start()
    try:
        settings = settings_for(
            FeedHost(),
            db_url,
            feeds=[
                {"name": "Bomb", "url": server.url("/bomb.xml")},
                {"name": "Laughs", "url": server.url("/laughs.xml")},
                {"name": "Good", "url": server.url("/good.xml")},
            ],
            polling={"allow_private_targets": True, "parse_workers": 0, "max_bytes": MiB},
        )
        with Poller(
            settings=settings,
            secrets=Secrets(),
            engine=engine,
            matcher=build_runtime(
                settings=settings, secrets=Secrets(), sink=_NullSink(), engine=engine
            ).matcher,
            clock=Clock(NOW),
        ) as poller:
            by_feed = {o.feed: o for o in poller.poll(force=True).outcomes}
    finally:
        server.stop.set()
        server.httpd.shutdown()
        server.httpd.server_close()
    assert by_feed["Good"].status == "ok" and by_feed["Good"].new_items == 1
    assert by_feed["Bomb"].status == "error"
    assert "exceeds 1048576 bytes" in str(by_feed["Bomb"].error)
    assert by_feed["Laughs"].status == "error" and "expansion bomb" in str(by_feed["Laughs"].error)
    rows = feed_rows(engine)
    assert "/bomb.xml" in (rows["Bomb"].last_error or "")
    assert "/laughs.xml" in (rows["Laughs"].last_error or "")
    assert item_guids(engine) == ["sudan-1"]


class _NullSink:
    name = "null"

    def deliver(self, alert: Any) -> Any:
        raise AssertionError("nothing is delivered in this test")

    def find_delivered(self, alert: Any, *, since: Any) -> None:
        return None

    def may_post(self, channel: str, *, restricted: bool) -> bool:
        return True


# --- SSRF through a redirect, recorded on the feed and shown by `tocsin feeds` -----------------


@pytest.mark.parametrize(
    ("target", "address"),
    [
        ("http://127.0.0.1:8080/admin", "127.0.0.1"),
        ("http://10.1.2.3/internal.xml", "10.1.2.3"),
        ("http://169.254.169.254/latest/", "169.254.169.254"),
    ],
    ids=["loopback", "private", "cloud-metadata"],
)
def test_redirect_to_a_private_address_is_refused_recorded_and_shown(
    tmp_path: Path,
    engine: Engine,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    target: str,
    address: str,
) -> None:
    requested: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requested.append(str(request.url))
        if request.url.host == "feeds.example.org":
            return httpx.Response(302, headers={"Location": target})
        if request.url.host == "news.example.org":
            return httpx.Response(
                200,
                content=rss({**SUDAN, "pubDate": ago(1)}).encode(),
                headers={"Content-Type": "application/rss+xml"},
            )
        return httpx.Response(200, content=b"secret metadata")

    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[database]
url = "{db_url}"
[polling]
allow_private_targets = false
parse_workers = 0
[[feeds]]
name = "Looks public"
url = "https://feeds.example.org/rss"
[[feeds]]
name = "Really public"
url = "https://news.example.org/rss"
[[situations]]
slug = "sudan"
name = "Sudan"
countries = ["SDN"]
""",
        encoding="utf-8",
    )
    from bot.config import load_settings

    settings = load_settings(config)
    resolver = fake_dns({"feeds.example.org": [PUBLIC_IP], "news.example.org": [PUBLIC_IP]})
    fetcher = Fetcher(
        fetch_options(settings), transport=httpx.MockTransport(handler), resolver=resolver
    )
    runtime = build_runtime(settings=settings, secrets=Secrets(), sink=_NullSink(), engine=engine)
    with Poller(
        settings=settings,
        secrets=Secrets(),
        engine=engine,
        matcher=runtime.matcher,
        clock=Clock(NOW),
        fetcher=fetcher,
    ) as poller:
        by_feed = {o.feed: o for o in poller.poll(force=True).outcomes}
    runtime.close()
    # the private target was never requested
    assert sorted(requested) == ["https://feeds.example.org/rss", "https://news.example.org/rss"]
    assert by_feed["Really public"].status == "ok"
    assert by_feed["Looks public"].status == "error"
    error = by_feed["Looks public"].error or ""
    assert f"non-public address {address}" in error and target in error
    assert "non-public address" in (feed_rows(engine)["Looks public"].last_error or "")

    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "250")
    shown = CliRunner().invoke(cli, ["feeds", "--config", str(config)])
    assert shown.exit_code == 0, shown.output
    (line,) = [x for x in shown.output.splitlines() if "Looks public" in x]
    assert "error" in line and f"non-public address {address}" in line


# --- signed requests into the real HTTP endpoint ----------------------------------------------


def nothing_changed(running: Running) -> None:
    time.sleep(0.2)  # a wrongly accepted request would be acked and handled by now
    with session_scope(running.engine) as session:
        assert session.exec(select(Subscription)).all() == []
        assert session.exec(select(AuditLog)).all() == []
    assert running.slack.calls("response") == []


def test_replayed_request_is_401_once_older_than_five_minutes(running: Running) -> None:
    """Slack's scheme has no nonce: a captured request replays for 5 minutes (subscribe is
    idempotent), and is refused after that."""
    body = helpers.command_body("subscribe sudan", response_url=running.slack.response_url())
    captured = int(time.time()) - 5 * 60 + 2  # captured just under five minutes ago
    signature = helpers.sign(body, timestamp=captured)
    first = helpers.post(running.events_url, body, timestamp=captured, signature=signature)
    assert first.status == 200
    running.reply()
    time.sleep(3)  # now older than five minutes
    replay = helpers.post(running.events_url, body, timestamp=captured, signature=signature)
    assert replay.status == 401
    time.sleep(0.2)
    with session_scope(running.engine) as session:
        assert len(session.exec(select(Subscription)).all()) == 1
        assert [a.action for a in session.exec(select(AuditLog)).all()] == ["subscribe"]
    assert len(running.slack.calls("response")) == 1


@pytest.mark.parametrize(
    "forge",
    ["tampered-body", "future-timestamp", "blank-signature", "v1-scheme", "empty-secret"],
)
def test_forged_requests_are_401_and_change_nothing(running: Running, forge: str) -> None:
    body = helpers.command_body("subscribe sudan", response_url=running.slack.response_url())
    now = int(time.time())
    if forge == "tampered-body":
        signature = helpers.sign(body, timestamp=now)
        response = helpers.post(
            running.events_url, body.replace("sudan", "myanmar"), signature=signature
        )
    elif forge == "future-timestamp":
        response = helpers.post(running.events_url, body, timestamp=now + 6 * 60)
    elif forge == "blank-signature":
        response = helpers.post(running.events_url, body, signature=" ")
    elif forge == "v1-scheme":
        signature = "v1=" + helpers.sign(body, timestamp=now)[3:]
        response = helpers.post(running.events_url, body, signature=signature)
    else:
        response = helpers.post(running.events_url, body, secret="")
    assert response.status == 401
    nothing_changed(running)


def test_forged_event_callback_is_401(running: Running) -> None:
    body = helpers.event_body({"type": "app_home_opened", "user": USER, "tab": "home"})
    response = helpers.post(
        running.events_url, body, content_type="application/json", secret="wrong-secret"
    )
    assert response.status == 401
    nothing_changed(running)
    assert running.slack.calls("views.publish") == []


# --- slash-command arguments --------------------------------------------------------------------

TRUSTED = frozenset({USER, ADMIN, PUBLIC, ALLOWED, SHARED})


def reply_text(running: Running) -> str:
    reply = running.reply()
    texts = [reply["text"], *mrkdwn_texts(reply.get("blocks", []))]
    for t in texts:
        assert_inert(t, trusted_ids=TRUSTED)
    return "\n".join(texts)


def test_sql_in_arguments_is_just_an_unknown_name(running: Running) -> None:
    running.command("subscribe '; DROP TABLE subscription; --")
    text = reply_text(running)
    assert "I don't know a situation called `';`" in text
    running.command("unsubscribe sudan' OR '1'='1")
    assert "called `sudan'`" in reply_text(running)
    running.command("summary x'); DELETE FROM alert; -- 7d")
    assert "called `x');`" in reply_text(running)
    assert {"subscription", "outbox", "audit_log"} <= set(inspect(running.engine).get_table_names())
    nothing_changed_but_replies(running)


def test_bidi_overrides_are_not_echoed_raw(running: Running) -> None:
    """U+202E would flip the rest of Tocsin's reply in the reader's client (spoofing)."""
    running.command("subscribe \u202enadus")
    text = reply_text(running)
    assert "\u202e" not in text
    assert "I don't know a situation called" in text
    nothing_changed_but_replies(running)


def test_null_bytes_in_arguments_get_a_reply_and_store_nothing_on_any_backend(
    running: Running,
) -> None:
    """PostgreSQL refuses NUL in text columns: an argument must never reach one."""
    running.command("subscribe su\x00dan")
    assert "I don't know a situation called" in reply_text(running)
    running.command("subscribe sudan min:wa\x00rning")
    assert "wa" in reply_text(running)
    running.command("unsubscribe \x00")
    reply_text(running)
    nothing_changed_but_replies(running)


def test_null_bytes_are_not_echoed(running: Running) -> None:
    running.command("subscribe su\x00dan")
    text = reply_text(running)
    assert "\x00" not in text and "I don't know a situation called" in text
    running.command("summary \x00 7d")
    assert "\x00" not in reply_text(running)
    nothing_changed_but_replies(running)


def test_ten_kilobyte_arguments_get_a_short_reply(running: Running) -> None:
    response = running.command("subscribe " + "a" * 10 * 1024)
    assert response.status == 200
    text = reply_text(running)
    assert "I don't know a situation called `aaa" in text and len(text) < 1000
    running.command("summary sudan " + "<!channel> " * 1000)
    assert len(reply_text(running)) < 4000
    nothing_changed_but_replies(running)


def nothing_changed_but_replies(running: Running) -> None:
    with session_scope(running.engine) as session:
        assert session.exec(select(Subscription)).all() == []
        assert session.exec(select(AuditLog)).all() == []
        assert session.exec(select(OutboxMessage)).all() == []


# --- configuration -------------------------------------------------------------------------------


def test_check_lists_every_wrong_type_and_unknown_key_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        """
colour = "blue"
[database]
url = 5
[polling]
concurrency = "many"
allow_private_targets = "yes please"
timeout = "10s"
[server]
port = 70000
[[feeds]]
name = "A"
url = "https://example.org/rss"
tier = "high"
enabled = "sometimes"
[slack]
admin_users = "U0ADMIN"
""",
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["check", "--config", str(bad)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    out = " ".join(result.output.split())  # rich wraps long lines
    for culprit in (
        "colour",
        "database.url",
        "polling.concurrency",
        "polling.allow_private_targets",
        "polling.timeout",
        "server.port",
        "feeds[0] (A).tier",
        "feeds[0] (A).enabled",
        "slack.admin_users",
    ):
        assert culprit in out, f"{culprit} missing from:\n{result.output}"
    assert "9 problem(s)" in out
