"""The console sink: prints each message as a panel (rich); used when no Slack token is set.

It receives exactly what Slack would (`Post`: Block Kit JSON) from the same deliverer, and shows
it as plain text: mrkdwn links become "label (url)", Slack dates their fallback text, Slack's
three entities are unescaped once, and feed text is never interpreted as rich markup.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.emoji import Emoji
from rich.panel import Panel
from rich.text import Text

from bot.render import unescape
from bot.sinks import Post, Posted, Upload

_COLOURS = {"info": "blue", "watch": "yellow", "warning": "dark_orange", "critical": "red"}
_LINK = re.compile(r"<(https?://[^|<>]+)\|([^<>]*)>")
_DATE = re.compile(r"<!date\^\d+\^[^|<>]*\|([^<>]*)>")
_MENTION = re.compile(r"<[@#]([A-Z0-9]+)>")
_BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")


def plain(mrkdwn: str) -> str:
    """Slack mrkdwn as terminal text."""
    text = _DATE.sub(r"\1", mrkdwn)
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", text)
    text = _MENTION.sub(r"\1", text)
    return Emoji.replace(unescape(_BOLD.sub(r"\1", text)))


def _texts(block: dict[str, Any]) -> Iterator[str]:
    if isinstance(block.get("text"), dict):
        yield str(block["text"].get("text", ""))
    for element in block.get("elements") or []:
        if element.get("type") in ("mrkdwn", "plain_text"):
            yield str(element.get("text", ""))


class ConsoleSink:
    """Prints each message; `count` is how many new messages (not edits) it has printed."""

    name = "console"

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console()
        self.count = 0
        self._ts = itertools.count(1)

    def post(self, post: Post) -> Posted:
        title = next(
            (plain(t) for b in post.blocks if b.get("type") == "header" for t in _texts(b)), ""
        )
        lines = [
            plain(t)
            for b in post.blocks
            if b.get("type") not in ("header", "actions", "divider")
            for t in _texts(b)
        ]
        where = post.channel
        if post.update_ts:
            where += " (updated)"
        elif post.thread_ts:
            where += " (in thread" + (", also in the channel)" if post.broadcast else ")")
        heading = f"{title} → {where}" if title else where
        body = "\n".join(lines) or plain(post.text)
        colour = _COLOURS.get(post.severity or "", "white")
        self.console.print(
            Panel(Text(body), title=Text(heading), border_style=colour, expand=False)
        )
        if post.update_ts:
            return Posted(ts=post.update_ts)
        self.count += 1
        return Posted(ts=f"console.{next(self._ts):06d}")

    def upload(self, upload: Upload) -> None:
        line = f"[file] {upload.filename} ({len(upload.content):,} bytes) → {upload.channel}: "
        self.console.print(Text(line + upload.alt))

    def find_posted(self, post: Post, *, since: datetime) -> Posted | None:
        return None  # a terminal cannot be read back: a message cut off by a crash prints again

    def is_ext_shared(self, channel: str) -> bool | None:
        return False
