"""Golden files: compare with <folder>/<name> (tests/briefing/golden/ unless told otherwise);
UPDATE_GOLDEN=1 rewrites them."""

from __future__ import annotations

import os
from pathlib import Path

GOLDEN = Path(__file__).parent / "golden"


def check(name: str, actual: str, *, folder: Path = GOLDEN) -> None:
    path = folder / name
    if os.environ.get("UPDATE_GOLDEN") == "1" or not path.exists():
        path.write_text(actual, encoding="utf-8")
        if os.environ.get("UPDATE_GOLDEN") != "1":
            raise AssertionError(f"{path} did not exist; written now, check it in and re-run")
        return
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"{name} differs from its golden file; UPDATE_GOLDEN=1 to accept"
