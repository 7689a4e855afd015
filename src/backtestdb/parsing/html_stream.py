"""The HTML report's embedded JSON found and read in chunks, never the whole page.

`locate` runs `report_html`'s one-pass scan over the page as it is read: a scan that
finds nothing in what is read so far reads more (twice as much, so the rescans stay
linear) until the page ends. A match found in part of the page is the match in the whole
of it: every pattern ends in a `>` or a one-character look-ahead it has read. Once the
script's start tag is found, its end tag is looked for in the bytes. `Entities` decodes
HTML entities on the fly for a script escaped like any other element.
"""

from __future__ import annotations

import codecs
import html
import re
from typing import BinaryIO, Final, NamedTuple

from backtestdb.parsing.report_html import END_TAGS, NEXT_RAW_TEXT_TAG, id_of
from backtestdb.parsing.text_stream import CHUNK

_END_BYTES: Final = re.compile(rb"</(?i:script)(?=[\t\n\f\r />])")
_KEEP: Final = 16  # bytes or characters kept where an end tag may straddle two reads
#: The entities html.escape (and the numeric forms) write: replaced in C when they are the
#: only ones in a chunk. `&amp;` comes last, so `&amp;quot;` stays `&quot;`.
_COMMON: Final = (
    ("&quot;", '"'), ("&#34;", '"'), ("&#x27;", "'"), ("&#39;", "'"), ("&lt;", "<"),
    ("&gt;", ">"),
)  # fmt: skip
_LONGEST_ENTITY: Final = 64


class ByteSpan(NamedTuple):
    """Where the script's text starts and ends in the file (end None: the page ends)."""

    start: int
    end: int | None


class _Page:
    """The page's text from byte `base` on, read as the scan needs it."""

    def __init__(self, stream: BinaryIO, start: int) -> None:
        stream.seek(start)
        self.stream, self.base, self.text, self.ended = stream, start, "", False
        self.decoder = codecs.getincrementaldecoder("utf-8")()

    def more(self) -> bool:
        """Read more (at least as much as is held); False once the page has ended."""
        if self.ended:
            return False
        data = self.stream.read(max(CHUNK, len(self.text)))
        self.ended = not data
        self.text += self.decoder.decode(data, final=self.ended)
        return True

    def drop(self, upto: int) -> None:
        """Forget the text before `upto` (its bytes are counted in `base`)."""
        self.base += _utf8_length(self.text[:upto])
        self.text = self.text[upto:]


def _utf8_length(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def locate(stream: BinaryIO, start: int, script_id: str) -> ByteSpan | None:
    """`report_html.script_span` of the page in `stream` (its text from byte `start`)."""
    page = _Page(stream, start)
    position = 0
    while True:
        tag = NEXT_RAW_TEXT_TAG.match(page.text, position)
        if tag is None:
            if not page.more():
                return None
            continue
        name = tag["name"].lower()
        if name == "script" and id_of(tag["attributes"]) == script_id:
            begin = page.base + _utf8_length(page.text[: tag.end()])
            return ByteSpan(begin, _end_offset(stream, begin))
        searched = tag.end()
        while (close := END_TAGS[name].search(page.text, searched)) is None:
            keep = max(searched, len(page.text) - _KEEP)
            page.drop(keep)
            searched = 0
            if not page.more():
                return None
        page.drop(close.start())
        position = 0


def _end_offset(stream: BinaryIO, start: int) -> int | None:
    """Where the first `</script` end tag after `start` begins, in bytes."""
    stream.seek(start)
    tail, at = b"", start  # `at`: the file offset of `tail`
    while data := stream.read(CHUNK):
        window = tail + data
        end = _END_BYTES.search(window)
        if end is not None:
            return at + end.start()
        tail = window[-_KEEP:]
        at += len(window) - len(tail)
    return None


def is_blank(stream: BinaryIO, start: int, end: int) -> bool:
    """Whether the bytes [start, end) are only (ASCII) whitespace."""
    stream.seek(start)
    left = end - start
    while left > 0:
        data = stream.read(min(CHUNK, left))
        if not data:
            break
        left -= len(data)
        if data.strip():
            return False
    return True


class Entities:
    """Decodes HTML entities (`html.unescape`) in UTF-8 bytes read in chunks: the text
    from a chunk's last `&` waits for the next one, as an entity may straddle the two.
    `changed` says whether any text was decoded differently."""

    def __init__(self) -> None:
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.carry = ""
        self.changed = False

    def __call__(self, data: bytes, final: bool) -> bytes:
        text = self.carry + self.decoder.decode(data, final=final)
        self.carry = ""
        cut = text.rfind("&")
        if not final and cut >= 0 and len(text) - cut <= _LONGEST_ENTITY:
            text, self.carry = text[:cut], text[cut:]
        if "&" not in text:
            return text.encode("utf-8")
        decoded = unescape(text)
        self.changed = self.changed or decoded != text
        return decoded.encode("utf-8")


def unescape(text: str) -> str:
    """`html.unescape(text)`, with the entities html.escape writes replaced in C."""
    known = text.count("&amp;") + sum(text.count(entity) for entity, _ in _COMMON)
    if known != text.count("&"):
        return html.unescape(text)
    for entity, char in _COMMON:
        text = text.replace(entity, char)
    return text.replace("&amp;", "&")
