"""Run lemon24/reader over the bench's loopback feeds; print one JSON line with its figures.

Runs inside bench/.reader-venv (bench/ingest.py creates it from bench/requirements-reader.txt):

    bench/.reader-venv/bin/python bench/reader_run.py BASE_URL FEEDS WORKERS
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from reader import make_reader


def main() -> None:
    base, feeds, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    with tempfile.TemporaryDirectory() as tmp:
        reader = make_reader(str(Path(tmp) / "reader.sqlite"), search_enabled=False)
        for i in range(feeds):
            reader.add_feed(f"{base}/{i}.xml")
        started, cpu = time.perf_counter(), time.process_time()
        reader.update_feeds(workers=workers)
        cold, cpu = time.perf_counter() - started, time.process_time() - cpu
        entries = reader.get_entry_counts().total
        started = time.perf_counter()
        reader.update_feeds(workers=workers, scheduled=False)  # every feed again: 304s
        warm = time.perf_counter() - started
        reader.close()
    print(
        json.dumps({"cold": cold, "cpu": cpu, "warm": warm, "entries": entries, "workers": workers})
    )


if __name__ == "__main__":
    main()
