"""Bounded Content-Encoding decoding: inflate gzip/deflate piece by piece, never all at once."""

from __future__ import annotations

import logging
import zlib
from collections.abc import Iterator

from feeds.errors import FetchError

__all__ = ["ACCEPT_ENCODING", "PIECE", "Inflater"]

logger = logging.getLogger(__name__)

ACCEPT_ENCODING = "gzip, deflate"
PIECE = 64 * 1024  # largest decoded piece produced per step
_GZIP = 16 + zlib.MAX_WBITS
_ZLIB = zlib.MAX_WBITS
_RAW_DEFLATE = -zlib.MAX_WBITS


class Inflater:
    """Decode one response body. `feed()` and `finish()` yield decoded pieces of at most
    `PIECE` bytes, so the caller can stop at a size cap before a gzip bomb expands.

    A truncated or corrupt compressed stream raises `FetchError`. A body labelled compressed
    whose very first bytes do not decode is passed through as is, as feedparser does: some
    servers mislabel plain feeds.
    """

    def __init__(self, content_encoding: str | None, *, url: str) -> None:
        encoding = (content_encoding or "identity").strip().lower()
        if encoding in ("", "identity"):
            self._wbits: int | None = None
        elif encoding in ("gzip", "x-gzip"):
            self._wbits = _GZIP
        elif encoding == "deflate":
            self._wbits = _ZLIB  # may switch to raw deflate once the first bytes are seen
        else:
            raise FetchError(f"unsupported Content-Encoding {encoding!r}", url=url)
        self._encoding = encoding
        self._url = url
        self._head = b""  # bytes held back until the first two can be inspected
        self._obj: zlib._Decompress | None = None
        self._may_pass = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._wbits is None:
            if data:
                yield data
            return
        if self._obj is None:
            data = self._head + data
            if len(data) < 2:
                self._head = data
                return
            if self._wbits == _ZLIB and not _has_zlib_header(data):
                self._wbits = _RAW_DEFLATE  # "deflate" servers that omit the zlib wrapper
            self._obj = zlib.decompressobj(self._wbits)
            # Plain bytes mislabelled as compressed may pass through, but never bytes that
            # carry a gzip or zlib signature, and only while decoding the first chunk.
            self._may_pass = data[:2] != b"\x1f\x8b" and not _has_zlib_header(data)
        yield from self._inflate(data)
        self._may_pass = False

    def finish(self) -> Iterator[bytes]:
        if self._wbits is None:
            return
        if self._obj is None:
            if self._head:  # a single byte ever arrived
                raise FetchError(f"truncated {self._encoding} body", url=self._url)
            return  # empty body
        try:
            tail = self._obj.flush()
        except zlib.error as exc:
            raise FetchError(f"corrupt {self._encoding} body: {exc}", url=self._url) from exc
        if tail:
            yield tail
        if not self._obj.eof:
            raise FetchError(f"truncated {self._encoding} body", url=self._url)

    def _inflate(self, data: bytes) -> Iterator[bytes]:
        assert self._obj is not None
        while True:
            try:
                out = self._obj.decompress(data, PIECE)
            except zlib.error as exc:
                if self._may_pass:
                    yield from self._pass_through(data)
                    return
                raise FetchError(f"corrupt {self._encoding} body: {exc}", url=self._url) from exc
            if out:
                self._may_pass = False
                yield out
            if self._obj.eof:
                rest = self._obj.unused_data
                if self._wbits != _GZIP or not rest.strip(b"\x00"):
                    return  # end of stream; trailing padding is ignored
                self._obj = zlib.decompressobj(self._wbits)  # next gzip member
                data = rest
                continue
            data = self._obj.unconsumed_tail
            if not data and len(out) < PIECE:
                return

    def _pass_through(self, data: bytes) -> Iterator[bytes]:
        logger.warning("body of %s is not %s-encoded; reading it as is", self._url, self._encoding)
        self._wbits = None
        yield data


def _has_zlib_header(data: bytes) -> bool:
    cmf, flg = data[0], data[1]
    return cmf & 0x0F == 8 and (cmf * 256 + flg) % 31 == 0
