"""Bounded decoding of gzip / deflate bodies, including feedparser's compression corpus."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import httpx
import pytest

from feeds.errors import FetchError
from feeds.fetch import Fetcher
from feeds.inflate import PIECE, Inflater
from feeds.model import Fetched, Validators
from tests.feeds.conftest import LOCAL, respond, spec

FEED = b'<feed xmlns="http://www.w3.org/2005/Atom"><title>x</title></feed>' * 20


def decode(encoding: str, chunks: list[bytes]) -> bytes:
    inflater = Inflater(encoding, url="https://feeds.example.org/")
    out = [piece for chunk in chunks for piece in inflater.feed(chunk)]
    return b"".join(out + list(inflater.finish()))


def test_byte_by_byte_gzip() -> None:
    body = gzip.compress(FEED)
    assert decode("gzip", [body[i : i + 1] for i in range(len(body))]) == FEED


def test_byte_by_byte_zlib_deflate() -> None:
    body = zlib.compress(FEED)
    assert decode("deflate", [body[i : i + 1] for i in range(len(body))]) == FEED


def test_pieces_never_exceed_the_piece_size() -> None:
    inflater = Inflater("gzip", url="u")
    pieces = list(inflater.feed(gzip.compress(bytes(10 * PIECE)))) + list(inflater.finish())
    assert max(len(piece) for piece in pieces) <= PIECE
    assert sum(len(piece) for piece in pieces) == 10 * PIECE


def test_trailing_zero_padding_after_gzip_is_ignored() -> None:
    assert decode("gzip", [gzip.compress(FEED) + bytes(16)]) == FEED


def test_empty_and_identity_bodies() -> None:
    assert decode("gzip", []) == b""
    assert decode("identity", [b"a", b"b"]) == b"ab"
    assert decode("", [b"a"]) == b"a"


def test_a_single_byte_of_gzip_is_truncated() -> None:
    with pytest.raises(FetchError, match="truncated gzip"):
        decode("gzip", [b"\x1f"])


def test_plain_body_labelled_gzip_passes_through() -> None:
    assert decode("gzip", [b"<rss>plain</rss>", b" more"]) == b"<rss>plain</rss> more"


def test_gzip_signature_with_garbage_is_not_passed_through() -> None:
    with pytest.raises(FetchError, match="corrupt gzip"):
        decode("gzip", [b"\x1f\x8b\x08\x00" + b"\xff" * 40])


COMPRESSION = {
    "gzip.gz": ("gzip", True),
    "deflate.z": ("deflate", True),
    "deflate-no-headers.z": ("deflate", True),
    "gzip-not-compressed.gz": ("gzip", True),
    "deflate-not-compressed.z": ("deflate", True),
    "gzip-struct-error.gz": ("gzip", False),  # CRC mismatch after the data
}


@pytest.mark.parametrize("name", sorted(COMPRESSION))
def test_feedparser_compression_corpus_served_over_http(corpus: Path, name: str) -> None:
    body = (corpus / "feedparser-6.0.14" / "tests" / "compression" / name).read_bytes()
    encoding, ok = COMPRESSION[name]
    headers = {"Content-Encoding": encoding, "Content-Type": "application/atom+xml"}
    transport = httpx.MockTransport(lambda request: respond(200, body, headers))
    with Fetcher(LOCAL, transport=transport) as fetcher:
        if ok:
            result = fetcher.fetch(spec(), Validators())
            assert isinstance(result, Fetched) and result.body.startswith(b"<feed")
        else:
            with pytest.raises(FetchError, match="corrupt gzip"):
                fetcher.fetch(spec(), Validators())
