"""Migration tests: a fresh database of either backend at a given revision; the head revision."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine, make_url

from bot.store.db import MIGRATIONS, make_engine, upgrade


def head_revision() -> str:
    """The newest revision (what `upgrade` brings a database to), so that tests of one migration
    keep passing when the next one is added."""
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head


@contextmanager
def database_at(revision: str, *, backend: str, tmp_path: Path) -> Iterator[Engine]:
    """An empty SQLite file, or a new PostgreSQL database (skipped without TEST_DATABASE_URL),
    brought to `revision`; a PostgreSQL database is dropped afterwards."""
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        admin, url = None, None
    else:
        base = os.environ.get("TEST_DATABASE_URL")
        if not base:
            pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL tests run in CI")
        admin = make_engine(base).execution_options(isolation_level="AUTOCOMMIT")
        name = f"tocsin_mig_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = make_url(base).set(database=name)
        engine = make_engine(url.render_as_string(hide_password=False))
    upgrade(engine, revision)
    try:
        yield engine
    finally:
        engine.dispose()
        if admin is not None and url is not None:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
            admin.dispose()
