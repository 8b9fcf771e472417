"""The error tree: one root, the URL on every error, and pickling across processes."""

from __future__ import annotations

import pickle

import pytest

from feeds.errors import (
    BlockedAddressError,
    BudgetExhaustedError,
    FeedError,
    FetchError,
    HTTPStatusError,
    ParseError,
    RedirectError,
    TimeoutError_,
    TooLargeError,
)

URL = "https://feeds.example.org/feed.xml"


@pytest.mark.parametrize(
    "error",
    [
        FetchError("boom", url=URL),
        HTTPStatusError("HTTP 503", url=URL, status=503),
        TooLargeError("big", url=URL),
        TimeoutError_("slow", url=URL),
        RedirectError("loop", url=URL),
        BlockedAddressError("private", url=URL),
        ParseError("junk", url=URL),
        BudgetExhaustedError("spent", url=URL),
    ],
    ids=lambda error: type(error).__name__,
)
def test_every_error_carries_the_url_and_survives_pickling(error: FeedError) -> None:
    assert isinstance(error, FeedError)
    assert str(error).endswith(f"({URL})")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert (copy.url, copy.message, str(copy)) == (error.url, error.message, str(error))
    assert getattr(copy, "status", None) == getattr(error, "status", None)
