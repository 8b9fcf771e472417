from __future__ import annotations

from tests.slack import helpers
from tests.slack.conftest import Running
from tests.slack.helpers import ALLOWED, PUBLIC, USER, assert_inert, mrkdwn_texts


def open_home(running: Running) -> helpers.Response:
    body = helpers.event_body(
        {
            "type": "app_home_opened",
            "user": USER,
            "channel": "D0HOME",
            "tab": "home",
            "event_ts": "1700000000.000100",
        }
    )
    return helpers.post(running.events_url, body, content_type="application/json")


def test_home_shows_the_users_channels_and_latest_alerts(running: Running) -> None:
    helpers.make_alert(running.engine, title="Latest <!here> item")
    helpers.make_alert(running.engine, channel="COTHER01", situation="myanmar", title="Not mine")
    running.slack.on(
        "users.conversations",
        body={
            "ok": True,
            "channels": [{"id": PUBLIC}, {"id": ALLOWED}],
            "response_metadata": {"next_cursor": ""},
        },
    )
    assert open_home(running).status == 200
    (call,) = running.slack.wait_for("views.publish")
    assert call.body["user_id"] == USER
    view = call.body["view"]
    assert view["type"] == "home"
    texts = mrkdwn_texts(view["blocks"])
    for text in texts:
        assert_inert(text, trusted_ids=frozenset({PUBLIC}))
    joined = "\n".join(texts)
    assert f"<#{PUBLIC}>: *Sudan*" in joined
    assert "Latest &lt;!here&gt; item" in joined
    assert "Not mine" not in joined and "Myanmar" not in joined
    assert running.slack.calls("users.conversations")[0].body["user"] == USER


def test_home_when_slack_cannot_list_channels(running: Running) -> None:
    running.slack.on("users.conversations", body={"ok": False, "error": "missing_scope"})
    open_home(running)
    (call,) = running.slack.wait_for("views.publish")
    assert "could not list your channels" in "\n".join(mrkdwn_texts(call.body["view"]["blocks"]))


def test_home_shows_filters_and_snoozes(running: Running) -> None:
    helpers.make_alert(running.engine, title="Latest item")
    running.command("subscribe sudan filter:Darfur")
    running.reply()
    running.command("mute sudan 3d")
    running.reply()
    running.slack.on(
        "users.conversations",
        body={"ok": True, "channels": [{"id": PUBLIC}], "response_metadata": {"next_cursor": ""}},
    )
    open_home(running)
    (call,) = running.slack.wait_for("views.publish")
    joined = "\n".join(mrkdwn_texts(call.body["view"]["blocks"]))
    assert f"<#{PUBLIC}>: *Sudan* (filtered) (muted until <!date^" in joined
