"""Run every benchmark in turn and print their figures: `make bench`.

PostgreSQL benchmarks use $TEST_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/test)
and are skipped with a message when it cannot be reached. The quality and real-data benchmarks
read ../shared (skipped with a message without it); bench/ingest.py makes bench/.reader-venv
(lemon24/reader 3.26) on its first run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
PG = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
STREAM = BENCH.parent.parent / "shared/corpus/headlines-stream/gdelt-2026-03.jsonl"


def postgres_ok() -> bool:
    sys.path.insert(0, str(BENCH.parent))
    from sqlalchemy import text

    from bot.store.db import make_engine

    try:
        with make_engine(PG).connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception as exc:
        print(f"(PostgreSQL at {PG} not reachable: {exc.__class__.__name__}; skipping its benches)")
        return False


def run(*args: str) -> int:
    print(f"\n$ python {' '.join(args)}", flush=True)
    return subprocess.call([sys.executable, *args], cwd=BENCH.parent)


def main() -> int:
    failures = 0
    failures += run("bench/match_speed.py") != 0
    failures += run("bench/match_quality.py") != 0
    failures += run("bench/event_quality.py") != 0
    failures += run("bench/stream_verdicts.py") != 0
    failures += run("bench/filters.py") != 0
    stream = ("--stream", str(STREAM))
    real = STREAM.exists()
    if not real:
        print(f"\n({STREAM} is missing: the real-data benchmarks are skipped)")
    else:
        failures += run("bench/ingest.py", *stream) != 0
        failures += run("bench/ingest.py", *stream, "--situations", "many", "--no-reader") != 0
        failures += run("bench/stories.py", *stream) != 0
        failures += run("bench/year.py", *stream) != 0
    if postgres_ok():
        if real:
            failures += run("bench/ingest.py", *stream, "--database", PG) != 0
            failures += run("bench/stories.py", *stream, "--no-quality", "--database", PG) != 0
            failures += run("bench/year.py", *stream, "--database", PG) != 0
            load = ("--instances", "1,1,3", "--database-url", PG)
            failures += run("bench/load.py", *stream, *load) != 0
        failures += run("bench/outbox_drain.py") != 0
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
