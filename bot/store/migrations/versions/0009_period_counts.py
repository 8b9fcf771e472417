"""match_count and outlet_count: a situation's matches counted per UTC day, kept by triggers

`/tocsin summary` and the weekly briefing counted a period's matches row by row: over a year of
1,000,000 reports, 30 days were 164,000 rows (the period and the one before it) and 0.5 s on a
slow hour. The counts now live in two small tables, one row per situation, UTC day and severity ×
risk factor (`match_count`; factor "" counts every match) or × source, feed and language
(`outlet_count`), so that a period reads a row per day and group; only the partial days at its
ends are still counted from `match` (`bot.summary`).

The database keeps them, not the application: triggers on `match` count inserted rows in and
deleted rows out (an update of a counted column, both), in the same transaction, so every
writer, every instance and every future code path agrees with them. SQLite has a trigger per
row (about 12 µs a match); PostgreSQL one per statement over its transition table, grouped, so
that ingestion's batched insert pays once per batch (about 3 µs a match; a row trigger in
PL/pgSQL cost 120-160 µs). Existing matches are counted here, with the same grouped statement.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.store.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEYS = "situation, day, severity, code"
_OUTLET_KEYS = "situation, day, source, feed_id, language"
_COUNTED = "situation, severity, indicators, published_at, item_id"

# SQLite: a trigger per row; `{row}` is NEW or OLD, `{day}` its UTC day, `{codes}` its distinct
# risk factors and "" (a row per code).
_ADD_ROW = (
    "INSERT INTO match_count (situation, day, severity, code, n, last_at, first_id) "
    "SELECT {row}.situation, {day}, {row}.severity, code, 1, {row}.published_at, {row}.id "
    "FROM ({codes}) AS codes WHERE true "
    f"ON CONFLICT ({_KEYS}) DO UPDATE SET n = match_count.n + 1, "
    "last_at = max(match_count.last_at, excluded.last_at), "
    "first_id = min(match_count.first_id, excluded.first_id); "
    "INSERT INTO outlet_count (situation, day, source, feed_id, language, n) "
    "SELECT {row}.situation, {day}, coalesce(i.source, ''), i.feed_id, "
    "coalesce(i.language, ''), 1 FROM item i WHERE i.id = {row}.item_id "
    f"ON CONFLICT ({_OUTLET_KEYS}) DO UPDATE SET n = outlet_count.n + 1;"
)
_REMOVE_ROW = (
    "UPDATE match_count SET n = n - 1 WHERE situation = {row}.situation AND day = {day} "
    "AND severity = {row}.severity AND code IN ({codes}); "
    "UPDATE outlet_count SET n = n - 1 WHERE situation = {row}.situation AND day = {day} "
    "AND (source, feed_id, language) IN (SELECT coalesce(i.source, ''), i.feed_id, "
    "coalesce(i.language, '') FROM item i WHERE i.id = {row}.item_id); "
    "DELETE FROM match_count WHERE situation = {row}.situation AND day = {day} AND n <= 0; "
    "DELETE FROM outlet_count WHERE situation = {row}.situation AND day = {day} AND n <= 0;"
)

# PostgreSQL (a trigger per statement, over its transition table) and the counting of what is
# stored: the rows of `{rows}` grouped, `{day}` and `{each}` in terms of their alias m.
_PER_CODE = (
    "SELECT DISTINCT m.id, m.situation, {day} AS day, m.severity, m.published_at, "
    "j.value AS code FROM {rows} m, {each} "
    "UNION ALL SELECT m.id, m.situation, {day}, m.severity, m.published_at, '' FROM {rows} m"
)
_PER_OUTLET = (
    "SELECT m.situation, {day} AS day, coalesce(i.source, '') AS source, i.feed_id, "
    "coalesce(i.language, '') AS language, count(*) AS n "
    "FROM {rows} m JOIN item i ON i.id = m.item_id GROUP BY 1, 2, 3, 4, 5"
)
_ADD_ROWS = (
    f"INSERT INTO match_count ({_KEYS}, n, last_at, first_id) "
    f"SELECT {_KEYS}, count(*), max(published_at), min(id) FROM ({_PER_CODE}) AS counted "
    f"GROUP BY {_KEYS} ORDER BY {_KEYS} "
    f"ON CONFLICT ({_KEYS}) DO UPDATE SET n = match_count.n + excluded.n, "
    "last_at = {greatest}(match_count.last_at, excluded.last_at), "
    "first_id = {least}(match_count.first_id, excluded.first_id); "
    f"INSERT INTO outlet_count ({_OUTLET_KEYS}, n) "
    f"SELECT * FROM ({_PER_OUTLET}) AS counted ORDER BY 1, 2, 3, 4, 5 "
    f"ON CONFLICT ({_OUTLET_KEYS}) DO UPDATE SET n = outlet_count.n + excluded.n;"
)
_REMOVE_ROWS = (
    f"UPDATE match_count AS c SET n = c.n - g.n FROM (SELECT {_KEYS}, count(*) AS n "
    f"FROM ({_PER_CODE}) AS counted GROUP BY {_KEYS}) AS g "
    f"WHERE (c.situation, c.day, c.severity, c.code) = (g.situation, g.day, g.severity, g.code); "
    f"UPDATE outlet_count AS c SET n = c.n - g.n FROM ({_PER_OUTLET}) AS g "
    "WHERE (c.situation, c.day, c.source, c.feed_id, c.language) "
    "= (g.situation, g.day, g.source, g.feed_id, g.language); "
    "DELETE FROM match_count AS c USING (SELECT DISTINCT m.situation, {day} AS day "
    "FROM {rows} m) AS g WHERE c.situation = g.situation AND c.day = g.day AND c.n <= 0; "
    "DELETE FROM outlet_count AS c USING (SELECT DISTINCT m.situation, {day} AS day "
    "FROM {rows} m) AS g WHERE c.situation = g.situation AND c.day = g.day AND c.n <= 0;"
)


def _row(row: str) -> dict[str, str]:
    """`_ADD_ROW` and `_REMOVE_ROW` for SQLite's NEW or OLD row."""
    return {
        "row": row,
        "day": f"date({row}.published_at)",
        "codes": f"SELECT '' AS code UNION SELECT value FROM json_each({row}.indicators)",
    }


def _grouped(rows: str, *, sqlite: bool) -> dict[str, str]:
    """`_ADD_ROWS` and `_REMOVE_ROWS` over the table or transition table `rows`."""
    if sqlite:
        return {
            "rows": rows,
            "day": "date(m.published_at)",
            "each": "json_each(m.indicators) AS j",
            "greatest": "max",
            "least": "min",
        }
    return {
        "rows": rows,
        "day": "(m.published_at AT TIME ZONE 'UTC')::date",
        "each": "json_array_elements_text(m.indicators) AS j(value)",
        "greatest": "greatest",
        "least": "least",
    }


def upgrade() -> None:
    for table, columns, keys in (
        (
            "match_count",
            [
                sa.Column("severity", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
                sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
                sa.Column("n", sa.Integer(), nullable=False),
                sa.Column("last_at", bot.store.types.UTCDateTime(timezone=True), nullable=False),
                sa.Column("first_id", sa.Integer(), nullable=False),
            ],
            _KEYS,
        ),
        (
            "outlet_count",
            [
                sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
                sa.Column("feed_id", sa.Integer(), autoincrement=False, nullable=False),
                sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
                sa.Column("n", sa.Integer(), nullable=False),
            ],
            _OUTLET_KEYS,
        ),
    ):
        op.create_table(
            table,
            sa.Column("situation", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
            sa.Column("day", sa.Date(), nullable=False),
            *columns,
            sa.PrimaryKeyConstraint(*keys.split(", ")),
        )
    if op.get_bind().dialect.name == "sqlite":
        _execute(_ADD_ROWS.format(**_grouped("match", sqlite=True)))  # what is stored already
        new, old = _row("NEW"), _row("OLD")
        for name, when, body in (
            ("insert", "INSERT", _ADD_ROW.format(**new)),
            ("delete", "DELETE", _REMOVE_ROW.format(**old)),
            ("update", f"UPDATE OF {_COUNTED}", _REMOVE_ROW.format(**old) + _ADD_ROW.format(**new)),
        ):
            op.execute(f"CREATE TRIGGER match_count_{name} AFTER {when} ON match BEGIN {body} END")
        return
    # an instance still running the old code waits until the counts and triggers are in place,
    # so that no match is stored between the counting and the trigger
    op.execute("LOCK TABLE match IN SHARE ROW EXCLUSIVE MODE")
    _execute(_ADD_ROWS.format(**_grouped("match", sqlite=False)))  # what is stored already
    add = _ADD_ROWS.format(**_grouped("new_rows", sqlite=False))
    remove = _REMOVE_ROWS.format(**_grouped("old_rows", sqlite=False))
    op.execute(
        "CREATE FUNCTION tocsin_match_count() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF TG_OP IN ('DELETE', 'UPDATE') THEN {remove} END IF; "
        f"IF TG_OP IN ('INSERT', 'UPDATE') THEN {add} END IF; "
        "RETURN NULL; END $$"
    )
    for name, when, tables in (
        ("insert", "INSERT", "NEW TABLE AS new_rows"),
        ("delete", "DELETE", "OLD TABLE AS old_rows"),
        ("update", "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    ):
        op.execute(
            f"CREATE TRIGGER match_count_{name} AFTER {when} ON match REFERENCING {tables} "
            "FOR EACH STATEMENT EXECUTE FUNCTION tocsin_match_count()"
        )


def _execute(statements: str) -> None:
    for statement in statements.split("; "):
        op.execute(statement.rstrip(";"))


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for name in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER match_count_{name}" + ("" if sqlite else " ON match"))
    if not sqlite:
        op.execute("DROP FUNCTION tocsin_match_count()")
    op.drop_table("outlet_count")
    op.drop_table("match_count")
