"""Errors raised by the matching engine.

MatchingError
 └── TaxonomyError      an indicator file or override is unreadable or invalid (carries `path`)
"""

from __future__ import annotations

from pathlib import Path


class MatchingError(Exception):
    """Base class for every error the matching engine raises on purpose."""


class TaxonomyError(MatchingError):
    """The indicator taxonomy at `path` (None: the config overrides) is invalid."""

    def __init__(self, message: str, *, path: Path | None = None) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
