"""Text tidying shared by the normalizers.

Three shapes of text reach us from boards: one-line values (title, company,
department), plain multi-paragraph text, and HTML descriptions, sometimes
HTML-escaped once more (Greenhouse's ``&lt;div&gt;``). Each helper returns
text in one canonical shape and leaves non-string input alone.
"""

from __future__ import annotations

import html
import re
import threading
import unicodedata
from typing import Any

import html_text
import lxml.etree
import lxml.html

# Zero-width characters that survive copy-paste from rich editors; they carry
# nothing and make equal titles compare unequal.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\ufeff"))
_SPACE_RUN = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_TAG = re.compile(r"<\s*/?\s*[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?\s*>")
_ESCAPED_TAG = re.compile(r"&lt;\s*/?\s*[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]{0,1000}?)?/?\s*&gt;")
# Backslash escapes left in by double-encoded JSON (literal "\n" in the text).
_LITERAL_ESCAPES = re.compile(r"\\r\\n|\\[nrt]")


def _unescape_fully(text: str) -> str:
    # Unescape until nothing changes, so "AT&amp;amp;T" and "AT&T" both end as
    # "AT&T" and a second normalization is a no-op. Every change shortens the
    # string, so the loop ends.
    while True:
        unescaped = html.unescape(text)
        if unescaped == text:
            return text
        text = unescaped


def _tidy(text: str) -> str:
    return unicodedata.normalize("NFC", text).translate(_INVISIBLE)


def clean_text(value: Any) -> Any:
    """One-line text for title, company, department and the like.

    Accepts a string: HTML entities are decoded, Unicode is put in NFC form,
    every run of whitespace (newlines and no-break spaces included) becomes
    one space and the ends are trimmed; a string left empty becomes None.
    Anything else (None, numbers, lists) is returned as is.
    """
    if not isinstance(value, str):
        return value
    text = " ".join(_tidy(_unescape_fully(value)).split())
    return text or None


def clean_paragraphs(value: Any) -> Any:
    """Plain multi-paragraph text, paragraphs kept.

    Accepts a string: line ends become ``\\n``, spaces inside each line are
    collapsed, lines are trimmed, and paragraphs are separated by exactly one
    blank line; a string left empty becomes None. Entities are not decoded
    (this is text, not HTML). Anything else is returned as is.
    """
    if not isinstance(value, str):
        return value
    text = _tidy(value).replace("\r\n", "\n").replace("\r", "\n")
    lines = [_SPACE_RUN.sub(" ", line).strip() for line in text.split("\n")]
    text = _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
    return text or None


def html_to_text(value: Any) -> Any:
    """Plain text of an HTML description, paragraphs blank-line separated.

    Accepts HTML, HTML escaped once more (``&lt;p&gt;`` without any real
    tag: unescaped first), and text without markup (kept as text, with its
    entities decoded and its line breaks kept). Literal ``\\n`` sequences left
    by double-encoded JSON are treated as line breaks. The result is in the
    shape :func:`clean_paragraphs` gives, so tidying it again changes nothing.
    Anything that is not a string is returned as is.
    """
    if not isinstance(value, str):
        return value
    if not _TAG.search(value) and _ESCAPED_TAG.search(value):
        value = html.unescape(value)
    if _TAG.search(value):
        text = html_text.extract_text(_parse_html(_LITERAL_ESCAPES.sub(" ", value)))
    else:
        text = html.unescape(_LITERAL_ESCAPES.sub("\n", value))
    return clean_paragraphs(text)


_parsers = threading.local()  # lxml parsers may not be shared between threads


def _parse_html(markup: str) -> lxml.html.HtmlElement:
    # html_text.parse_html, with one parser per thread instead of a new one
    # per call (building a parser cost as much as parsing a description)
    parser = getattr(_parsers, "html", None)
    if parser is None:
        parser = _parsers.html = lxml.html.HTMLParser(recover=True, encoding="utf-8")
    body = markup.strip().replace("\x00", "").encode("utf-8") or b"<html/>"
    root = lxml.etree.fromstring(body, parser=parser)
    if root is None:
        root = lxml.etree.fromstring(b"<html/>", parser=parser)
    return root


# Terminal escape sequences (ECMA-48), removed whole so no "[31m" is left: CSI
# (ESC [ or the 8-bit CSI), OSC/DCS/SOS/PM/APC strings up to their terminator
# (BEL or ST), and the two-character escapes. An unterminated string only
# loses its introducer: what follows is printable once ESC is gone.
_ESCAPE_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]{0,4096}(?:\x07|\x1b\\|\x9c)"
    r"|\x1b[ -/]*[0-~]"
)
# C0 and C1 controls except tab and newline, DEL, and the bidi embedding,
# override and isolate controls that reorder what a reader sees.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def strip_controls(value: Any) -> Any:
    """Board text made safe to print in a terminal or a plain-text message.

    Accepts a string: ``\\r\\n`` and lone ``\\r`` become ``\\n``; terminal
    escape sequences (colours, cursor moves, OSC titles and links) are removed
    whole; every other C0/C1 control character except newline and tab, DEL,
    and the bidi controls U+202A–U+202E and U+2066–U+2069 are removed. Nothing
    else changes (no trimming, no entity decoding), and applying it twice
    changes nothing more. Anything that is not a string is returned as is.
    """
    if not isinstance(value, str):
        return value
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", _ESCAPE_SEQUENCE.sub("", text))
