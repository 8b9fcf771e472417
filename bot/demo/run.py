"""Run the demo: serve bundled feeds on 127.0.0.1, poll them twice, print alerts to the console."""

from __future__ import annotations

import shutil
import time
import tomllib
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bot.config import Secrets, Settings, parse_settings
from bot.console import ConsoleSink
from bot.demo.server import DemoServer
from bot.runtime import build_runtime

DEMO_DIR = Path(__file__).parent
DEMO_STATE = Path(".tocsin-demo")


def demo_settings(base: str) -> Settings:
    text = (DEMO_DIR / "config.toml").read_text(encoding="utf-8").replace("{base}", base)
    return parse_settings(tomllib.loads(text), source="bot/demo/config.toml")


def run_demo(*, console: Console, fresh: bool = True) -> None:
    started = time.monotonic()
    if fresh and DEMO_STATE.exists():
        shutil.rmtree(DEMO_STATE)
    with DemoServer() as server:
        settings = demo_settings(server.base_url)
        secrets = Secrets(reliefweb_appname="tocsin-demo")
        sink = ConsoleSink(console)
        console.rule("[bold]Tocsin demo[/]: bundled feeds on " + server.base_url)
        runtime = build_runtime(settings=settings, secrets=secrets, sink=sink)
        try:
            first = runtime.poller.poll(force=True)
            runtime.deliverer.drain()
            console.rule("Second poll: nothing changed, nothing sent twice")
            second = runtime.poller.poll(force=True)
            runtime.deliverer.drain()
        finally:
            runtime.close()
    table = Table("feed", "status", "new items", "matches", "alerts", title="First poll")
    for o in first.outcomes:
        table.add_row(o.feed, o.status, str(o.new_items), str(o.matches), str(o.alerts))
    console.print(table)
    t2 = second.totals()
    console.print(
        f"Second poll: {t2['not_modified']} not modified, {t2['new_items']} new items, "
        f"{t2['alerts_queued']} alerts. Alerts printed: {sink.count}. "
        f"Done in {time.monotonic() - started:.1f}s. Database: {DEMO_STATE / 'demo.db'}"
    )
