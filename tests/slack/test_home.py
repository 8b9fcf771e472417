from __future__ import annotations

from bot.slack.blocks import ACTION_NOT_RELEVANT, ACTION_RELEVANT
from tests.slack import helpers
from tests.slack.conftest import Running
from tests.slack.helpers import ALLOWED, PUBLIC, USER, assert_inert, mrkdwn_texts
from tests.slack.test_actions import click


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


def test_home_shows_feedback_precision_for_the_users_situations(running: Running) -> None:
    """Votes cast with the buttons (signed requests) show up in App Home, escaped, worst rule
    first, only for situations the user's channels follow."""
    wire = "Wire <!channel> & co"
    for i in range(running.app.services.settings.feedback.min_votes):
        alert_id = helpers.make_alert(running.engine, title=f"Report {i}", source=wire)
        click(running, ACTION_NOT_RELEVANT, alert_id)
        running.reply()
    kept = helpers.make_alert(running.engine, title="Useful report", source="Radio Dabanga")
    click(running, ACTION_RELEVANT, kept)
    running.reply()
    other = helpers.make_alert(running.engine, channel="COTHER01", situation="myanmar")
    click(running, ACTION_RELEVANT, other, channel="COTHER01")
    running.reply()
    running.slack.on(
        "users.conversations",
        body={"ok": True, "channels": [{"id": PUBLIC}], "response_metadata": {"next_cursor": ""}},
    )
    open_home(running)
    (call,) = running.slack.wait_for("views.publish")
    texts = mrkdwn_texts(call.body["view"]["blocks"])
    for text in texts:
        assert_inert(text, trusted_ids=frozenset({PUBLIC}))
    joined = "\n".join(texts)
    assert "last 90 days*: 1 relevant, 5 not relevant (precision 17%)" in joined
    assert "• source `Wire &lt;!channel&gt; &amp; co`: 0% (0 of 5 relevant)" in joined
    section = joined.split("Feedback on your situations", 1)[1]
    assert "Radio Dabanga" not in section  # one vote: below the threshold, not called out
    assert "risk factor `MASS_KILL`: 17% (1 of 6 relevant)" in section


def test_home_without_votes_has_no_feedback_section(running: Running) -> None:
    running.slack.on(
        "users.conversations",
        body={"ok": True, "channels": [{"id": PUBLIC}], "response_metadata": {"next_cursor": ""}},
    )
    open_home(running)
    (call,) = running.slack.wait_for("views.publish")
    assert "Feedback" not in "\n".join(mrkdwn_texts(call.body["view"]["blocks"]))
