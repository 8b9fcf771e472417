"""match_count and outlet_count: a situation's matches counted per UTC day, kept by triggers

`/tocsin summary` and the weekly briefing counted a period's matches row by row: over a year of
1,000,000 reports, 30 days were 164,000 rows (the period and the one before it) and 0.5 s on a
slow hour. The counts now live in two small tables, one row per situation, UTC day and severity ×
risk factor (`match_count`; factor "" counts every match) or × source, feed and language
(`outlet_count`), so that a period reads a row per day and group; only the partial days at its
ends are still counted from `match` (`bot.summary`).

The database keeps them, not the application: triggers on `match` add one for an inserted row
and take one away for a deleted one (and both for an update of the counted columns), in the
same transaction, so every writer, every instance and every future code path agrees with them.
Existing matches are counted here.

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

# One statement per count, over the rows of `{row}` (NEW or OLD), `{day}` its UTC day, `{codes}`
# its distinct risk factors and "" (a row per code), `{sign}` 1 or -1.
_ADD = (
    "INSERT INTO match_count (situation, day, severity, code, n, last_at, first_id) "
    "SELECT {row}.situation, {day}, {row}.severity, code, 1, {row}.published_at, {row}.id "
    "FROM ({codes}) AS codes WHERE true "
    f"ON CONFLICT ({_KEYS}) DO UPDATE SET n = match_count.n + 1, "
    "last_at = {greatest}(match_count.last_at, excluded.last_at), "
    "first_id = {least}(match_count.first_id, excluded.first_id); "
    "INSERT INTO outlet_count (situation, day, source, feed_id, language, n) "
    "SELECT {row}.situation, {day}, coalesce(i.source, ''), i.feed_id, "
    "coalesce(i.language, ''), 1 FROM item i WHERE i.id = {row}.item_id "
    f"ON CONFLICT ({_OUTLET_KEYS}) DO UPDATE SET n = outlet_count.n + 1;"
)
_REMOVE = (
    "UPDATE match_count SET n = n - 1 WHERE situation = {row}.situation AND day = {day} "
    "AND severity = {row}.severity AND code IN ({codes}); "
    "UPDATE outlet_count SET n = n - 1 WHERE situation = {row}.situation AND day = {day} "
    "AND (source, feed_id, language) IN (SELECT coalesce(i.source, ''), i.feed_id, "
    "coalesce(i.language, '') FROM item i WHERE i.id = {row}.item_id); "
    "DELETE FROM match_count WHERE situation = {row}.situation AND day = {day} AND n <= 0; "
    "DELETE FROM outlet_count WHERE situation = {row}.situation AND day = {day} AND n <= 0;"
)
_COUNTED = "situation, severity, indicators, published_at, item_id"


def _sqlite(row: str) -> dict[str, str]:
    return {
        "row": row,
        "day": f"date({row}.published_at)",
        "codes": f"SELECT '' AS code UNION SELECT value FROM json_each({row}.indicators)",
        "greatest": "max",
        "least": "min",
    }


def _postgresql(row: str) -> dict[str, str]:
    return {
        "row": row,
        "day": f"({row}.published_at AT TIME ZONE 'UTC')::date",
        "codes": f"SELECT '' AS code UNION SELECT json_array_elements_text({row}.indicators)",
        "greatest": "greatest",
        "least": "least",
    }


def upgrade() -> None:
    for table, code, extra in (
        ("match_count", "code", ("last_at", "first_id")),
        ("outlet_count", None, ()),
    ):
        columns = [
            sa.Column("situation", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
            sa.Column("day", sa.Date(), nullable=False),
        ]
        if code:
            columns += [
                sa.Column("severity", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
                sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
            ]
        else:
            columns += [
                sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
                sa.Column("feed_id", sa.Integer(), autoincrement=False, nullable=False),
                sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
            ]
        columns.append(sa.Column("n", sa.Integer(), nullable=False))
        if "last_at" in extra:
            columns += [
                sa.Column("last_at", bot.store.types.UTCDateTime(timezone=True), nullable=False),
                sa.Column("first_id", sa.Integer(), nullable=False),
            ]
        keys = (_KEYS if code else _OUTLET_KEYS).split(", ")
        op.create_table(table, *columns, sa.PrimaryKeyConstraint(*keys))
    sqlite = op.get_bind().dialect.name == "sqlite"
    _count_existing(sqlite=sqlite)
    if sqlite:
        new, old = _sqlite("NEW"), _sqlite("OLD")
        op.execute(
            f"CREATE TRIGGER match_count_insert AFTER INSERT ON match BEGIN "
            f"{_ADD.format(**new)} END"
        )
        op.execute(
            f"CREATE TRIGGER match_count_delete AFTER DELETE ON match BEGIN "
            f"{_REMOVE.format(**old)} END"
        )
        op.execute(
            f"CREATE TRIGGER match_count_update AFTER UPDATE OF {_COUNTED} ON match BEGIN "
            f"{_REMOVE.format(**old)} {_ADD.format(**new)} END"
        )
    else:
        new, old = _postgresql("NEW"), _postgresql("OLD")
        op.execute(
            "CREATE FUNCTION tocsin_match_count() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF TG_OP IN ('DELETE', 'UPDATE') THEN {_REMOVE.format(**old)} END IF; "
            f"IF TG_OP IN ('INSERT', 'UPDATE') THEN {_ADD.format(**new)} END IF; "
            "RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER match_count AFTER INSERT OR DELETE OR UPDATE OF {_COUNTED} "
            "ON match FOR EACH ROW EXECUTE FUNCTION tocsin_match_count()"
        )


def _count_existing(*, sqlite: bool) -> None:
    """The matches stored before this revision, counted as the triggers would have."""
    sql = _sqlite("m") if sqlite else _postgresql("m")
    lateral = (
        "json_each(m.indicators) AS j"
        if sqlite
        else "json_array_elements_text(m.indicators) AS j(value)"
    )
    op.execute(
        f"INSERT INTO match_count ({_KEYS}, n, last_at, first_id) "
        "SELECT situation, day, severity, code, count(*), max(published_at), min(id) FROM ("
        f"SELECT DISTINCT m.id, m.situation, {sql['day']} AS day, m.severity, m.published_at, "
        f"j.value AS code FROM match m, {lateral} "
        f"UNION ALL SELECT m.id, m.situation, {sql['day']}, m.severity, m.published_at, '' "
        "FROM match m) AS rows GROUP BY situation, day, severity, code"
    )
    op.execute(
        f"INSERT INTO outlet_count ({_OUTLET_KEYS}, n) "
        f"SELECT m.situation, {sql['day']}, coalesce(i.source, ''), i.feed_id, "
        "coalesce(i.language, ''), count(*) FROM match m JOIN item i ON i.id = m.item_id "
        "GROUP BY 1, 2, 3, 4, 5"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER match_count_{name}")
    else:
        op.execute("DROP TRIGGER match_count ON match")
        op.execute("DROP FUNCTION tocsin_match_count()")
    op.drop_table("outlet_count")
    op.drop_table("match_count")
