"""Refuse XML whose DOCTYPE declares dangerous entities, before any XML parser sees it.

feedparser 6 already drops every ENTITY declaration except literal ones (regex-based, in
`feedparser.sanitizer.replace_doctype`) and turns off external general entities in its SAX
parser. This screen is the explicit, tested layer on top: expansion bombs ("billion laughs":
entities whose text refers to other entities) and external entities (SYSTEM / PUBLIC,
general or parameter) raise `ParseError` with a clear message. Literal entities
(`<!ENTITY id "tag:example.com,">`) pass: they are harmless and some feeds use them.
"""

from __future__ import annotations

import re

from feeds.errors import ParseError

__all__ = ["screen_doctype"]

_MAX_ENTITIES = 64
_BOMS = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<\x00?", "utf-16-be"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x4c\x6f\xa7\x94", "cp037"),  # "<?xm" in EBCDIC
)
_DOCTYPE = re.compile(r"<!DOCTYPE\b", re.IGNORECASE)
_ENTITY = re.compile(
    r"""<!ENTITY\s+(?P<param>%\s+)?(?P<name>[^\s"'>]+)\s*(?P<rest>(?:"[^"]*"|'[^']*'|[^>"'])*)>""",
    re.IGNORECASE,
)
_EXTERNAL = re.compile(r"^\s*(?:SYSTEM|PUBLIC)\b", re.IGNORECASE)
_REFERENCE = re.compile(r"[&%](?!#)")  # entity or parameter-entity reference (not &#…;)


def screen_doctype(body: bytes, *, url: str) -> None:
    """Raise `ParseError` if the document's DOCTYPE declares an external or recursive entity."""
    text = _decode(body)
    doctype = _DOCTYPE.search(text)
    if doctype is None:
        return
    root = re.search(r"<[A-Za-z_]", text)
    if root is not None and root.start() < doctype.start():
        return  # a DOCTYPE after the root element is content (or junk), not a declaration
    declarations = list(_ENTITY.finditer(text, doctype.start(), _doctype_end(text, doctype.end())))
    if len(declarations) > _MAX_ENTITIES:
        raise ParseError(f"DOCTYPE declares {len(declarations)} entities; refused", url=url)
    for declaration in declarations:
        name, rest = declaration.group("name"), declaration.group("rest")
        if _EXTERNAL.match(rest):
            raise ParseError(f"external entity {name!r} declared in DOCTYPE; refused", url=url)
        if declaration.group("param"):
            raise ParseError(f"parameter entity {name!r} declared in DOCTYPE; refused", url=url)
        if _REFERENCE.search(rest):
            raise ParseError(
                f"entity {name!r} refers to other entities (expansion bomb); refused", url=url
            )


def _decode(body: bytes) -> str:
    for prefix, codec in _BOMS:
        if body.startswith(prefix):
            return body.decode(codec, errors="replace")
    return body.decode("latin-1")  # every ASCII-compatible encoding keeps its markup intact


def _doctype_end(text: str, start: int) -> int:
    """Index just past the DOCTYPE's closing `>`, skipping quoted strings and the `[…]` subset."""
    depth, quote, i = 0, "", start
    while i < len(text):
        char = text[i]
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "[":
            depth += 1
        elif char == "]":
            depth = max(depth - 1, 0)
        elif char == ">" and depth == 0:
            return i + 1
        i += 1
    return len(text)
