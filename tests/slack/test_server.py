from __future__ import annotations

import urllib.request

from bot.config import Secrets
from bot.slack.app import build_app, serve
from bot.store.db import make_engine
from tests.slack import helpers
from tests.slack.conftest import Running
from tests.slack.mock_slack import MockSlack


def test_healthz_is_200_while_the_database_answers(running: Running) -> None:
    status, body = helpers.get(f"{running.server.url}/healthz")
    assert status == 200
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True


def test_healthz_is_503_when_the_database_does_not_answer(slack: MockSlack) -> None:
    dead = make_engine("postgresql://nobody@127.0.0.1:1/none")
    secrets = Secrets(
        slack_bot_token="xoxb-test",
        slack_signing_secret=helpers.SECRET,
        slack_api_url=slack.base_url,
    )
    app = build_app(settings=helpers.settings(), secrets=secrets, engine=dead)
    server = serve(app, host="127.0.0.1", port=0)
    try:
        status, body = helpers.get(f"{server.url}/healthz")
    finally:
        server.shutdown()
    assert status == 503
    assert body["checks"]["database"]["ok"] is False


def test_extra_checks_and_routes_can_be_added(running: Running) -> None:
    running.app.health.add("outbox", lambda: (False, "12 alerts stuck in sending"))
    status, body = helpers.get(f"{running.server.url}/healthz")
    assert status == 503
    assert body["checks"]["outbox"] == {"ok": False, "detail": "12 alerts stuck in sending"}


def test_unknown_paths_are_404(running: Running) -> None:
    status, _ = helpers.get(f"{running.server.url}/nope")
    assert status == 404


def test_app_uses_slack_api_url_and_verifies_the_token_at_start(running: Running) -> None:
    assert running.slack.calls("auth.test")
    assert running.slack.calls("auth.test")[0].headers["Authorization"] == "Bearer xoxb-test"


def test_shutdown_frees_the_port(running: Running) -> None:
    url = f"{running.server.url}/healthz"
    running.server.shutdown()
    try:
        urllib.request.urlopen(url, timeout=2)
    except OSError:
        return
    raise AssertionError("server still answering after shutdown")


def test_healthz_lists_blocked_channels_without_failing(running: Running) -> None:
    from bot.store.db import session_scope
    from bot.store.tables import ChannelState

    with session_scope(running.engine) as session:
        session.add(ChannelState(channel="CBLOCKED", error="is_archived", error_at=helpers.T0))
    status, body = helpers.get(f"{running.server.url}/healthz")
    assert status == 200
    assert body["checks"]["channels"] == {"ok": True, "detail": "CBLOCKED (is_archived)"}


def test_manifest_scopes_are_documented() -> None:
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    manifest = (root / "manifest.yml").read_text()
    docs = (root / "docs" / "slack.md").read_text()
    scopes = re.findall(r"^\s+- ([a-z]+(?::[a-z.]+)?)\s+#", manifest, re.M)
    assert {
        "chat:write",
        "commands",
        "channels:read",
        "groups:read",
        "channels:history",
        "groups:history",
        "files:write",
        "im:write",
        "im:read",
        "im:history",
    } == set(scopes)
    assert all(f"`{s}`" in docs for s in scopes)
    assert "command: /tocsin" in manifest and "app_home_opened" in manifest
    assert "home_tab_enabled: true" in manifest and "socket_mode_enabled:" in manifest
