"""Walls: pages that stand between the crawler and a board.

A bot check (Cloudflare's "Just a moment...", Vercel's Security Checkpoint,
a captcha), a WAF refusal or a login page can answer in place of any board
page, with HTTP 200 and any Content-Type (a bot-check page served as
``application/json`` too). Read as the board, it would be a listing without
postings, and every posting behind it would expire as missing. So a wall is
never read as content: the run fails with ``blocked: ...``.

:func:`find_wall` is the one test for every response of every board. The
spider middleware :mod:`crawler.middlewares.walls` puts every response
through it; spiders call it themselves only on answers that middleware
cannot see (JSON a rendered page fetched for itself).

What counts as a wall:

- an HTML-looking body (whatever its Content-Type) whose title names a wall,
  or whose visible text is short (walls say little) and names one;
- any other short body (under ``SHORT_TEXT`` characters) that names a wall
  and is not JSON (real JSON is the board's own answer: its parser judges it);
- HTTP 401, 403 or 407, whatever the body says.

A page that carries schema.org ``JobPosting`` data is a posting, whatever it
says; a long posting that mentions a captcha says too much to be a wall.

Every page of a crawl goes through this test, so an HTML page is first
searched as flat text (tags cut out, entities decoded, whitespace runs made
one space): every phrase the parsed page could show is in that text too, and
a page whose flat text names no wall (nearly every board page) is never
parsed here.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from parsel import Selector
from scrapy.http import HtmlResponse, Response, TextResponse

# Wall phrases by kind; the kind names the stats counter jobdelta/walls/<kind>.
_PHRASES = {
    # challenges a person is asked to pass ("protected by reCAPTCHA" is only
    # a form's footer, not a challenge)
    "challenge": r"security checkpoint|verify(?:ing)? you are (?:a )?human|are you a robot|"
                 r"(?<!protected by re)(?<!protected by h)captcha|just a moment\.\.\.|"
                 r"please enable (?:javascript and )?cookies",
    # firewalls refusing the client
    "waf": r"attention required! \| cloudflare|access denied|request unsuccessful\. incapsula",
    # the board behind a login
    "login": r"sign in to (?:view|see|continue)|log in to (?:view|see|continue)",
}
BLOCKED_TEXT = re.compile("|".join(f"(?P<{kind}>{p})" for kind, p in _PHRASES.items()), re.IGNORECASE)

BLOCKED_STATUSES = (401, 403, 407)  # a board refusing to answer at all
SHORT_TEXT = 1500  # characters of text; a wall says less than this, a posting more

_HTML_START = re.compile(r"<(?:!doctype\s+html|html|head|body|title)\b", re.IGNORECASE)
_MARKUP = re.compile(r"<!--.*?-->|<[A-Za-z/!?][^<>]*>", re.DOTALL)  # comments and tags, cut out
_SPACES = re.compile(r"\s+")
# A literal part of every phrase of _PHRASES (lower case): the regex,
# slow on long text, runs only on text that holds one of them.
_ANCHORS = ("checkpoint", "human", "robot", "captcha", "just a moment...", "please enable",
            "cloudflare", "access denied", "incapsula", " in to ")
_ASCII_FOLD = {0x131: "i", 0x17F: "s"}
_HEAD_BYTES = 1024  # bytes read to tell an HTML page from JSON, text or XML
_MAX_SHORT_BYTES = SHORT_TEXT * 4  # a body longer than this holds more than SHORT_TEXT characters


@dataclass(frozen=True)
class Wall:
    """A wall found in place of a board page."""

    kind: str  # challenge, waf, login, or http_<status>
    reason: str  # "blocked: ...", the run's reason


@runtime_checkable
class WallReporter(Protocol):
    """A spider that can be told its run failed (every board spider)."""

    def fail(self, message: str) -> None: ...


def find_wall(response: Response) -> Wall | None:
    """The wall a response is instead of a board page; None when it is the board."""
    m = _phrase(response)
    if m is not None:
        return Wall(m.lastgroup or "challenge",
                    f"blocked: {m.group(0)!r} page instead of the board at {response.url}")
    if response.status in BLOCKED_STATUSES:
        return Wall(f"http_{response.status}", f"blocked: HTTP {response.status} at {response.url}")
    return None


def blocked_reason(response: Response) -> str | None:
    """``blocked: ...`` naming the wall a response is, or None."""
    wall = find_wall(response)
    return wall.reason if wall else None


def _encoding(response: Response) -> str:
    return response.encoding if isinstance(response, TextResponse) else "utf-8"


def _phrase(response: Response) -> re.Match[str] | None:
    body = response.body
    encoding = _encoding(response)
    head = body[:_HEAD_BYTES].decode(encoding, "replace").lstrip("\ufeff \t\r\n")
    if not head:
        return None
    ctype = response.headers.get("Content-Type", b"").decode("latin-1").lower()
    if head.startswith("<") and (_HTML_START.search(head) or "html" in ctype):
        return _html_phrase(response)
    if len(body) > _MAX_SHORT_BYTES:
        return None
    try:
        text = body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None  # binary (a gzipped sitemap): not a page anyone reads
    text = text.strip("\ufeff \t\r\n")
    if len(text) >= SHORT_TEXT or _is_json(text):
        return None
    return BLOCKED_TEXT.search(text)


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _may_name_a_wall(response: Response) -> bool:
    """False when the page's flat text names no wall: then neither its title
    nor its visible text can (they are parts of that text, joined by single
    spaces), and the page need not be parsed. Comments are cut out whole
    (their text is never shown); any other text is kept, so the test errs
    only towards parsing."""
    text = (response.text if isinstance(response, TextResponse)
            else response.body.decode(_encoding(response), "replace"))
    flat = _SPACES.sub(" ", html.unescape(_MARKUP.sub(" ", text)))
    lowered = flat.lower()
    if not lowered.isascii():
        # the letters BLOCKED_TEXT's IGNORECASE matches beyond ASCII ("İ",
        # "ı", "ſ"), as the ASCII letter the phrases are written with
        lowered = lowered.replace("i\u0307", "i").translate(_ASCII_FOLD)
    if not any(anchor in lowered for anchor in _ANCHORS):
        return False
    return BLOCKED_TEXT.search(flat) is not None


def _html_phrase(response: Response) -> re.Match[str] | None:
    if not _may_name_a_wall(response):
        return None
    if isinstance(response, HtmlResponse):
        sel = response.selector  # the one the spider's callback will use too
    else:
        sel = Selector(text=response.body.decode(_encoding(response), "replace"), type="html")
    if sel.xpath("//script[@type='application/ld+json'][contains(., 'JobPosting')]"
                 " | //*[contains(@itemtype, 'schema.org/JobPosting')]"):
        return None  # a posting page, whatever else it says
    title = " ".join(sel.xpath("//title//text()").getall())
    m = BLOCKED_TEXT.search(title)
    if m:
        return m
    text = " ".join(t.strip() for t in sel.xpath(
        "//body//text()[not(ancestor::script) and not(ancestor::style)]").getall() if t.strip())
    return BLOCKED_TEXT.search(text) if len(text) < SHORT_TEXT else None
