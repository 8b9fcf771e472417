"""`tocsin` command line (typer + rich): the only place that prints for humans or exits."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.engine import Engine

from bot import __version__
from bot.config import ConfigError, Secrets, Settings, load_settings
from bot.durations import parse_duration
from bot.pipeline import FeedOutcome, PollReport
from bot.runtime import (
    Runtime,
    build_runtime,
    configure_logging,
    database_url,
    open_database,
    utc_now,
)
from bot.sinks import Sink
from bot.store.db import DatabaseError, make_engine, session_scope, upgrade
from bot.store.queries import feed_health

app = typer.Typer(
    help="Tocsin: early-warning alerts and briefings for atrocity-prevention networks.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database commands.", no_args_is_help=True)
app.add_typer(db_app, name="db")
feedback_app = typer.Typer(help="What analysts' votes say about the rules.", no_args_is_help=True)
app.add_typer(feedback_app, name="feedback")
console = Console()
err = Console(stderr=True)
log = logging.getLogger(__name__)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Config file (default: $TOCSIN_CONFIG or ./config.toml)."),
]


def _settings(config: Path | None) -> Settings:
    try:
        return load_settings(config)
    except ConfigError as exc:
        err.print(f"[bold red]Configuration error[/] {exc}", markup=True, highlight=False)
        raise typer.Exit(1) from exc


def _sink(secrets: Secrets, engine: Engine) -> Sink:
    if secrets.slack_bot_token:
        from bot.slack.sink import SlackSink

        return SlackSink(
            token=secrets.slack_bot_token, base_url=secrets.slack_api_url, engine=engine
        )
    from bot.console import ConsoleSink

    return ConsoleSink(console)


@contextmanager
def _exit_on_database_error() -> Iterator[None]:
    try:
        yield
    except DatabaseError as exc:
        err.print(f"[bold red]Database error[/] {exc}")
        raise typer.Exit(1) from exc


def _since(text: str) -> timedelta:
    """A `--since` duration, or exit 2 naming the option."""
    try:
        return parse_duration(text)
    except ValueError as exc:
        err.print(f"--since: {exc}")
        raise typer.Exit(2) from exc


@contextmanager
def _database(settings: Settings) -> Iterator[Engine]:
    """The upgraded database for a one-shot command; a clear error, and closed afterwards."""
    with _exit_on_database_error():
        engine = open_database(settings, Secrets.from_env())
    try:
        yield engine
    finally:
        engine.dispose()


def _assemble(settings: Settings, secrets: Secrets) -> Runtime:
    engine = open_database(settings, secrets)
    return build_runtime(
        settings=settings, secrets=secrets, sink=_sink(secrets, engine), engine=engine
    )


def load_runtime(config: Path | None) -> Runtime:
    """Everything built from the config file; raises ConfigError or DatabaseError (for reloads)."""
    return _assemble(load_settings(config), Secrets.from_env())


def _runtime(config: Path | None, *, level: str = "INFO") -> Runtime:
    settings = _settings(config)
    secrets = Secrets.from_env()
    configure_logging(level=level, secrets=secrets)
    with _exit_on_database_error():
        return _assemble(settings, secrets)


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        console.print(f"tocsin {__version__}")
        raise typer.Exit()


@app.command()
def check(config: ConfigOption = None) -> None:
    """Validate the configuration; exit 1 listing every problem."""
    settings = _settings(config)
    console.print(
        f"[green]OK[/] {len(settings.feeds)} feeds, {len(settings.situations)} situations, "
        f"{len(settings.subscriptions)} subscriptions."
    )


@app.command()
def poll(
    config: ConfigOption = None,
    once: Annotated[
        bool, typer.Option("--once", help="Poll every enabled feed once, then exit.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object of totals.")
    ] = False,
    deliver: Annotated[bool, typer.Option(help="Drain the outbox after polling.")] = True,
) -> None:
    """Poll feeds now (all of them with --once, else only those that are due)."""
    runtime = _runtime(config, level="WARNING" if as_json else "INFO")
    try:
        with runtime.heartbeat.running():  # its leases live as long as this command
            report = _poll_with_progress(runtime, force=once, quiet=as_json)
            if deliver:
                runtime.deliverer.drain()
    finally:
        runtime.close()
    totals = report.totals()
    if as_json:
        print(json.dumps(totals))
    else:
        console.print(
            "Polled {feeds} feeds: {ok} ok, {not_modified} not modified, {errors} errors; "
            "{new_items} new items, {matches} matches, {alerts_queued} alerts queued "
            "in {seconds}s.".format(**totals)
        )


def _poll_with_progress(runtime: Runtime, *, force: bool, quiet: bool) -> PollReport:
    total = runtime.poller.due_count(force=force)
    with Progress(
        TextColumn("[bold]Polling"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
        disable=quiet or not err.is_terminal,
        transient=True,
    ) as progress:
        task = progress.add_task("", total=total)

        def advance(outcome: FeedOutcome) -> None:
            progress.update(task, advance=1, description=outcome.feed)

        return runtime.poller.poll(force=force, on_feed_done=advance)


@app.command()
def run(
    config: ConfigOption = None,
    port: Annotated[int | None, typer.Option(help="HTTP port (default from [server]).")] = None,
) -> None:
    """Run continuously: poll on schedule, deliver alerts, serve Slack (HTTP or Socket Mode)."""
    from bot.service import run_forever

    runtime = _runtime(config)
    run_forever(runtime, port=port, reload=lambda: load_runtime(config))


@app.command()
def demo(
    keep: Annotated[bool, typer.Option(help="Keep the demo database from the last run.")] = False,
) -> None:
    """Serve the bundled sample feeds on loopback and show the alerts they cause (no Slack)."""
    from bot.demo.run import run_demo

    configure_logging(level="WARNING")
    run_demo(console=console, fresh=not keep)


@app.command()
def feeds(config: ConfigOption = None) -> None:
    """Feed health: last success, last error, consecutive failures, item count."""
    settings = _settings(config)
    with _database(settings) as engine, session_scope(engine) as session:
        rows = feed_health(session)
    table = Table("feed", "kind", "status", "last success", "failures", "items", "last error")
    for r in rows:
        table.add_row(
            r.name,
            r.kind,
            r.last_status or "never polled",
            f"{r.last_success_at:%Y-%m-%d %H:%M}" if r.last_success_at else "—",
            str(r.consecutive_failures),
            str(r.item_count),
            (r.last_error or "")[:80],
        )
    console.print(table)


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None) -> None:
    """Create or upgrade the database schema (also done automatically at start)."""
    settings = _settings(config)
    with _exit_on_database_error():
        upgrade(make_engine(database_url(settings, Secrets.from_env())))
    console.print("[green]Database is up to date.[/]")


@app.command()
def match(
    input: Annotated[Path, typer.Option("--input", "-i", help="JSON Lines items ('-' = stdin).")],
    config: ConfigOption = None,
) -> None:
    """Match JSON Lines items against the config; one JSON line per item to stdout."""
    from bot.matching.jsonl import match_jsonl
    from bot.matching.setup import matcher_from_settings

    settings = _settings(config)
    matcher = matcher_from_settings(settings)
    stream = sys.stdin if str(input) == "-" else input.open(encoding="utf-8")
    with stream:
        match_jsonl(stream, sys.stdout, matcher, thresholds=settings.alerts.thresholds)


@app.command()
def backtest(
    since: Annotated[str, typer.Option(help="How far back to replay, e.g. 30d.")] = "30d",
    config: ConfigOption = None,
) -> None:
    """Replay stored items against the current config: alerts per situation and indicator."""
    from bot.backtest import backtest as run_backtest

    settings = _settings(config)
    window = _since(since)
    with _database(settings) as engine:
        result = run_backtest(engine, settings, since=utc_now() - window)
    table = Table("situation", "items", "alerts (≥ min severity)", "by severity")
    for row in result.situations:
        table.add_row(row.slug, str(row.items), str(row.alerts), row.by_severity_text)
    console.print(table)
    table = Table("indicator", "name", "alerts")
    for ind in result.indicators:
        table.add_row(ind.code, ind.name, str(ind.alerts))
    console.print(table)
    console.print(f"Replayed {result.items} stored items since {result.since:%Y-%m-%d %H:%M} UTC.")


@app.command()
def why(
    alert_id: Annotated[int, typer.Argument(help="The alert id (shown in messages and logs).")],
    config: ConfigOption = None,
) -> None:
    """Explain an alert: the score breakdown, evidence phrases and severity thresholds."""
    from bot.explain import explain_alert

    settings = _settings(config)
    with _database(settings) as engine, session_scope(engine) as session:
        explanation = explain_alert(session, alert_id, settings=settings)
    if explanation is None:
        err.print(f"No alert with id {alert_id}.")
        raise typer.Exit(1)
    console.print(explanation)


@app.command()
def brief(
    situation: Annotated[str, typer.Argument(help="The situation's slug.")],
    since: Annotated[str, typer.Option(help="Period up to now, e.g. 7d or 30d.")] = "7d",
    fmt: Annotated[str, typer.Option("--format", help="markdown or html.")] = "markdown",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to FILE instead of stdout.")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Write a standalone briefing (Markdown, or self-contained HTML) for partners without Slack."""
    from bot.briefing.export import FORMATS, build_document
    from bot.briefing.schedule import Period

    settings = _settings(config)
    found = settings.situation(situation)
    if found is None or fmt not in FORMATS:
        problem = f"unknown situation {situation!r}" if found is None else f"--format {fmt!r}"
        slugs = ", ".join(s.slug for s in settings.situations)
        err.print(f"{problem}; situations: {slugs}; formats: markdown, html", markup=False)
        raise typer.Exit(2)
    window = _since(since)
    now = utc_now()
    chart_file = output.with_suffix(".png") if output is not None and fmt == "markdown" else None
    with _database(settings) as engine:
        document = build_document(
            engine,
            settings=settings,
            situation=found,
            period=Period(start=now - window, end=now),
            fmt=fmt,
            generated=now,
            chart_file=chart_file.name if chart_file else None,
        )
    if output is None:
        sys.stdout.write(document.text)
        return
    output.write_text(document.text, encoding="utf-8")
    if chart_file is not None:
        chart_file.write_bytes(document.chart_png)
    err.print(f"Wrote {output}" + (f" and {chart_file}" if chart_file else ""))


@feedback_app.command("report")
def feedback_report(
    since: Annotated[str, typer.Option(help="Votes cast in this period up to now.")] = "90d",
    situation: Annotated[
        str | None, typer.Option(help="Only votes on this situation's alerts.")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
    top: Annotated[int, typer.Option(help="Rows per table (text).", min=1)] = 15,
    suggestions: Annotated[
        bool, typer.Option(help="Suggest config changes, each backtested on stored items.")
    ] = True,
    config: ConfigOption = None,
) -> None:
    """Precision per term, event type, risk factor, source and feed, from analysts' votes."""
    from bot.feedback_view import report_json, report_text
    from bot.precision import load_votes, precision_report
    from bot.suggest import suggest

    settings = _settings(config)
    if fmt not in ("text", "json") or (situation and settings.situation(situation) is None):
        slugs = ", ".join(s.slug for s in settings.situations)
        problem = (
            f"--format {fmt!r}" if fmt not in ("text", "json") else f"--situation {situation!r}"
        )
        err.print(f"{problem}: formats are text, json; situations: {slugs}", markup=False)
        raise typer.Exit(2)
    window = _since(since)
    now = utc_now()
    start = now - window
    with _database(settings) as engine:
        with session_scope(engine) as session:
            votes = load_votes(session, since=start, situation=situation)
        report = precision_report(
            votes, min_votes=settings.feedback.min_votes, since=start, until=now
        )
        found = suggest(engine, settings, report, votes, since=start) if suggestions else None
    if fmt == "json":
        sys.stdout.write(
            json.dumps(report_json(report, found), ensure_ascii=False, indent=2) + "\n"
        )
        return
    console.print(report_text(report, found, top=top))


def main() -> None:
    app()
