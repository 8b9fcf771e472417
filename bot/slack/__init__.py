"""Slack: the Bolt app (commands, buttons, App Home), its HTTP/Socket Mode front door, the sink.

app.py        build_app / serve / start_socket_mode
listeners.py  thin listeners, registered in one place
commands.py   /tocsin: parse arguments → service function → rendered reply
actions.py    buttons: feedback, mute, escalate
home.py       App Home tab
blocks.py     Block Kit for alerts and App Home
channels.py   ChannelState cache: is a channel shared with other organisations?
sink.py       SlackSink: the outbox's way into Slack
server.py     small threaded WSGI server with /slack/events and /healthz
"""
