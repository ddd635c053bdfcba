"""crawler.walls reads an HTML page as flat text first and parses only pages
whose flat text names a wall: that shortcut must never let a wall through.
Each wall phrase is put in pages that hide it in the ways HTML can (split
by inline tags, written with entities, in odd case and Unicode letters the
phrase regex matches, beside comments and scripts) and must still be found;
pages that name no wall stay board pages."""

from __future__ import annotations

import pytest
from scrapy.http import HtmlResponse, TextResponse

from crawler.walls import find_wall

PHRASES = ["Security Checkpoint", "Verify you are human", "Verifying you are a human",
           "Are you a robot", "Complete the CAPTCHA", "Just a moment...", "Please enable cookies",
           "Please enable JavaScript and cookies", "Attention Required! | Cloudflare",
           "Access Denied", "Request unsuccessful. Incapsula", "Sign in to view this job",
           "Log in to continue"]


def _variants(phrase: str) -> list[str]:
    words = phrase.split(" ")
    split = f"{words[0]} <b>{' '.join(words[1:])}</b>" if len(words) > 1 else f"<i>{phrase}</i>"
    entities = phrase.replace(" ", "&#32;").replace(".", "&period;")
    odd = phrase.upper().replace("I", "\u0130").replace("S", "\u017f")
    return [
        f"<html><head><title>{phrase}</title></head><body></body></html>",
        f"<html><body><!-- a comment --><p>{split}</p><script>var x = 1;</script></body></html>",
        f"<html><body><div>{entities}</div></body></html>",
        f"<html><body><p>\n  {odd}\n</p></body></html>",
        f"<html><body><h1>  {phrase.lower()}  </h1></body></html>",
    ]


@pytest.mark.parametrize("body", [v for p in PHRASES for v in _variants(p)])
def test_hidden_wall_phrases_are_found(body: str) -> None:
    for cls in (HtmlResponse, TextResponse):
        response = cls("http://127.0.0.1/jobs", body=body.encode("utf-8"), encoding="utf-8",
                       headers={"Content-Type": "text/html; charset=utf-8"})
        wall = find_wall(response)
        assert wall is not None and wall.reason.startswith("blocked: "), (cls.__name__, body)


@pytest.mark.parametrize("body", [
    "<html><body><h1>Platform Engineer</h1><p>Join our human resources team in Berlin.</p></body></html>",
    "<html><head><title>Jobs</title></head><body><a href='/job/1'>Data Engineer</a></body></html>",
    # a wall phrase only in markup, never shown as text
    "<html><body><div class='captcha-free' data-x='access denied'>Backend Engineer</div></body></html>",
])
def test_board_pages_pass(body: str) -> None:
    response = HtmlResponse("http://127.0.0.1/jobs", body=body.encode("utf-8"), encoding="utf-8")
    assert find_wall(response) is None
