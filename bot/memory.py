"""Handing freed memory back to the system: glibc's `malloc_trim`.

CPython gives back an arena of its own allocator once every object in it is freed, but what it
asks `malloc` for (dict tables, lists, long strings) stays with glibc after it is freed, inside
its heaps, until the process asks for it to be returned. An instance asks before it forks its
parse workers (free pages it keeps would be shared with them, and copied as soon as either
process writes into them) and after each poll. Elsewhere (musl, macOS) this does nothing.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError, TypeError):  # not glibc
        return None


_TRIM = _malloc_trim()


def trim() -> None:
    """Return the free pages of the C heaps to the system (a few milliseconds)."""
    if _TRIM is not None:
        _TRIM(0)
