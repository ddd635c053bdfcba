"""What the pages draw from history (web/diffs.py, web/charts.py): the word
diff of a description in hunks, the before/after table of the other fields,
and the server-side SVG charts (well-formed, escaped, safe on edge input)."""

from __future__ import annotations

import random
import re
import time
import xml.etree.ElementTree as ET

import pytest
from markupsafe import Markup

from web.charts import EMPTY_TEXT, bar_chart, line_chart
from web.diffs import CUT, MAX_CHARS, SKIP, display_value, field_rows, word_diff

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert("x")</script> & Co \x07\x1b'


def _side(hunks, keep: str) -> str:
    """The text of one side of a hunk list: equal runs plus ``keep`` runs."""
    return "".join(text for hunk in hunks for op, text in hunk if op in ("equal", keep))


def _words(n: int, rng: random.Random) -> list[str]:
    vocab = ["data", "platform", "team", "Python", "remote", "salary", "the", "and", "of",
             "build", "ship", "GPU", "cluster", "on-call", "(hybrid)", "—", "équipe"]
    return [rng.choice(vocab) for _ in range(n)]


# --- word_diff -------------------------------------------------------------

@pytest.mark.parametrize(("old", "new", "expected"), [
    ("same text here", "same text here", []),
    (None, None, []),
    (None, "", []),
    ("", "", []),
    ("a b c", "a b X c",
     [[("equal", "a b "), ("insert", "X "), ("equal", "c")]]),
    ("a b X c", "a b c",
     [[("equal", "a b "), ("delete", "X "), ("equal", "c")]]),
    ("pay is 100 per year", "pay is 120 per year",
     [[("equal", "pay is "), ("delete", "100 "), ("insert", "120 "), ("equal", "per year")]]),
    (None, "new text", [[("insert", "new text")]]),
    ("old text", "", [[("delete", "old text")]]),
    ("First para.\n\nSecond para.", "First para.\n\nSecond para changed.",
     [[("equal", "First para.\n\nSecond "), ("delete", "para."),
       ("insert", "para changed.")]]),
    ("One.\nTwo.", "One.\n\nTwo.",
     [[("equal", "One.\n"), ("insert", "\n"), ("equal", "Two.")]]),
])
def test_word_diff_table(old, new, expected):
    assert word_diff(old, new) == expected


def test_word_diff_keeps_paragraphs_as_newline_tokens():
    old = "Intro line.\n\nWe use Python.\n\nApply now."
    new = "Intro line.\n\nWe use Rust.\n\nApply now."
    hunks = word_diff(old, new)
    assert hunks == [[("equal", "Intro line.\n\nWe use "), ("delete", "Python."),
                      ("insert", "Rust."), ("equal", "\n\nApply now.")]]
    assert _side(hunks, "delete") == old
    assert _side(hunks, "insert") == new


def test_word_diff_cuts_long_equal_runs_into_hunks_with_skips():
    words = [f"w{i} " for i in range(100)]
    old = "".join(words)
    new_words = list(words)
    new_words[20] = "CHANGED "
    new_words[80] = "AGAIN "
    hunks = word_diff(old, "".join(new_words), context=3)
    assert hunks == [
        [SKIP, ("equal", "w17 w18 w19 "), ("delete", "w20 "), ("insert", "CHANGED "),
         ("equal", "w21 w22 w23 "), SKIP],
        [SKIP, ("equal", "w77 w78 w79 "), ("delete", "w80 "), ("insert", "AGAIN "),
         ("equal", "w81 w82 w83 "), SKIP],
    ]


def test_word_diff_short_equal_run_between_changes_stays_in_one_hunk():
    old = "a b c d e f g h"
    new = "A b c d e f g H"
    hunks = word_diff(old, new, context=3)
    assert len(hunks) == 1
    assert hunks[0][0] == ("delete", "a ")
    assert hunks[0][-1] == ("insert", "H")
    assert SKIP not in hunks[0]


def test_word_diff_no_skip_at_text_ends_within_context():
    hunks = word_diff("x y z", "x Y z", context=8)
    assert hunks == [[("equal", "x "), ("delete", "y "), ("insert", "Y "), ("equal", "z")]]


def test_word_diff_context_zero():
    hunks = word_diff("a b c d", "a B c d", context=0)
    assert hunks == [[SKIP, ("delete", "b "), ("insert", "B "), SKIP]]


@pytest.mark.parametrize("seed", range(12))
def test_word_diff_sides_reproduce_both_texts(seed):
    rng = random.Random(seed)
    old_words = _words(rng.randint(0, 120), rng)
    new_words = list(old_words)
    for _ in range(rng.randint(1, 10)):
        action = rng.choice(("insert", "delete", "replace", "newline"))
        at = rng.randint(0, len(new_words))
        if action == "insert":
            new_words.insert(at, rng.choice(_words(1, rng)))
        elif action == "newline":
            new_words.insert(at, "\n")
        elif new_words and at < len(new_words):
            if action == "delete":
                del new_words[at]
            else:
                new_words[at] = "REPLACED"
    old = " ".join(old_words).replace(" \n ", "\n")
    new = " ".join(new_words).replace(" \n ", "\n")

    whole = word_diff(old, new, context=10**9)
    if old == new:
        assert whole == []
    else:
        assert len(whole) == 1
        assert _side(whole, "delete") == old
        assert _side(whole, "insert") == new
        assert all(op in ("equal", "delete", "insert") for op, _ in whole[0])
        assert all(text for _, text in whole[0])

    # with context cut, every hunk is still a stretch of each text
    for hunk in word_diff(old, new, context=2):
        assert _side([hunk], "delete") in old
        assert _side([hunk], "insert") in new


def test_word_diff_cuts_oversized_texts_and_says_so():
    old = "".join(f"w{i} " for i in range(MAX_CHARS // 4))
    new = "start " + old
    hunks = word_diff(old, new)
    assert hunks[0][0] == ("insert", "start ")
    assert hunks[-1][-1] == CUT
    assert hunks[-1][-2] != SKIP
    assert [seg for hunk in hunks for seg in hunk].count(CUT) == 1
    # the cut falls after a whole word
    assert all(text.endswith(" ") for op, text in hunks[-1] if op in ("equal", "delete"))
    # a difference only past the cut still shows that something was cut
    assert word_diff(old + "tail", old + "other") == [[CUT]]
    assert word_diff(old, old) == []


def test_word_diff_20kb_one_word_changed_is_fast():
    rng = random.Random(7)
    paragraphs = [" ".join(_words(60, rng)) for _ in range(60)]
    old = "\n\n".join(paragraphs)
    assert len(old) >= 20_000
    words = old.split(" ")
    words[len(words) // 2] = "CHANGED"
    new = " ".join(words)
    one_paragraph = old.replace("\n\n", " ")
    new_one_paragraph = new.replace("\n\n", " ")
    best = min(_timed(word_diff, old, new) for _ in range(3))
    best_flat = min(_timed(word_diff, one_paragraph, new_one_paragraph) for _ in range(3))
    assert best < 0.05
    assert best_flat < 0.05
    hunks = word_diff(old, new)
    assert len(hunks) == 1
    assert [op for op, _ in hunks[0]] == ["skip", "equal", "delete", "insert", "equal", "skip"]


def _timed(func, *args) -> float:
    start = time.perf_counter()
    func(*args)
    return time.perf_counter() - start


# --- field_rows and display_value -----------------------------------------

def _posting(**over):
    posting = {
        "source": "acme", "external_id": "1", "title": "Staff Engineer", "company": "Acme",
        "department": None, "requisition_id": "R-1",
        "locations": [{"raw": "London", "city": "London", "region": None, "country": "GB"},
                      {"raw": "Berlin, BE", "city": "Berlin", "region": "Berlin", "country": "DE"}],
        "workplace_type": "hybrid", "employment_type": "full_time",
        "salary": [{"min": 120000, "max": 150000, "currency": "USD", "period": "year",
                    "raw": "$120k-$150k"}],
        "posted_at": "2026-01-05", "deadline": None, "url": "https://acme.example/jobs/1",
        "apply_url": None, "description": "Long text.", "skills": ["Python", "SQL"],
        "language": "en", "locations_raw": ["London", "Berlin, BE"], "salary_raw": ["$120k-$150k"],
        "posted_at_raw": "3 days ago", "fetched_at": "2026-01-08T10:00:00+00:00",
    }
    posting.update(over)
    return posting


def _by_field(rows):
    return {row["field"]: row for row in rows}


def test_field_rows_order_and_skipped_fields():
    rows = field_rows(_posting(), _posting())
    assert [row["field"] for row in rows] == [
        "title", "company", "requisition_id", "locations", "workplace_type",
        "employment_type", "salary", "posted_at", "url", "skills", "language"]
    assert not any(row["changed"] for row in rows)
    assert all(set(row) == {"field", "old", "new", "changed"} for row in rows)


def test_field_rows_lists_compare_as_sets():
    old = _posting()
    new = _posting(skills=["SQL", "Python"], locations=list(reversed(old["locations"])))
    rows = _by_field(field_rows(old, new))
    assert rows["skills"]["changed"] is False
    assert rows["locations"]["changed"] is False
    assert rows["skills"]["new"] == "SQL, Python"

    rows = _by_field(field_rows(old, _posting(skills=["Python", "SQL", "Go"])))
    assert rows["skills"] == {"field": "skills", "old": "Python, SQL", "new": "Python, SQL, Go",
                              "changed": True}


def test_field_rows_raw_text_alone_is_no_change():
    new = _posting(salary=[{"min": 120000, "max": 150000, "currency": "USD", "period": "year",
                            "raw": "USD 120,000 to 150,000"}],
                   salary_raw=["USD 120,000 to 150,000"], posted_at_raw="4 days ago")
    assert not any(row["changed"] for row in field_rows(_posting(), new))


def test_field_rows_display_of_salary_and_locations():
    new = _posting(salary=[{"min": 130000, "max": 160000, "currency": "USD", "period": "year"},
                           {"min": 90000, "max": None, "currency": "GBP", "period": "year"}])
    rows = _by_field(field_rows(_posting(), new))
    assert rows["salary"]["old"] == "120,000–150,000 USD/year"
    assert rows["salary"]["new"] == "130,000–160,000 USD/year; from 90,000 GBP/year"
    assert rows["salary"]["changed"] is True
    assert rows["locations"]["old"] == "London, GB; Berlin, DE"
    assert rows["employment_type"]["old"] == "full time"


def test_field_rows_against_nothing():
    rows = field_rows(None, _posting(description="x"))
    assert rows and all(row["changed"] and row["old"] == "" for row in rows)
    assert "description" not in {row["field"] for row in rows}
    assert field_rows(None, None) == []
    gone = _by_field(field_rows(_posting(), _posting(requisition_id=None)))
    assert gone["requisition_id"] == {"field": "requisition_id", "old": "R-1", "new": "",
                                      "changed": True}


@pytest.mark.parametrize(("field", "value", "shown"), [
    ("title", None, ""),
    ("title", "", ""),
    ("skills", [], ""),
    ("title", "  Staff \n Engineer\x07 ", "Staff Engineer"),
    ("salary", [], ""),
    ("salary", [{"min": None, "max": 80, "currency": "EUR", "period": "hour"}], "up to 80 EUR/hour"),
    ("salary", [{"min": 100, "max": 100, "currency": "USD", "period": "day"}], "100 USD/day"),
    ("salary", [{"min": None, "max": None, "raw": "competitive"}], "competitive"),
    ("locations", [{"city": None, "region": None, "country": "US", "raw": "United States"}], "US"),
    ("locations", [{"city": None, "region": None, "country": None, "raw": "Anywhere"}], "Anywhere"),
    ("locations", [{"city": "Austin", "region": "TX", "country": "US"}], "Austin, TX, US"),
    ("workplace_type", "remote", "remote"),
    ("skills", ["Go", "Rust"], "Go, Rust"),
    ("deadline", "2026-02-01", "2026-02-01"),
    ("description", "Para one.\n\nPara two.\x1b[31m", "Para one.\n\nPara two."),
])
def test_display_value(field, value, shown):
    assert display_value(field, value) == shown


# --- charts ------------------------------------------------------------------

def _parse(svg: Markup) -> ET.Element:
    assert isinstance(svg, Markup)
    root = ET.fromstring(str(svg))
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("width") == "100%"
    assert root.get("viewBox")
    assert root.find(f"{SVG}title") is not None
    return root


def _with_class(root: ET.Element, tag: str, name: str) -> list[ET.Element]:
    return [el for el in root.iter(f"{SVG}{tag}") if name in (el.get("class") or "").split()]


def _days(n: int) -> list[tuple[str, float]]:
    return [(f"2026-01-{day:02d}", 10 + day % 4) for day in range(1, n + 1)]


@pytest.mark.parametrize("n", [2, 7, 31])
def test_line_chart_one_point_per_value(n):
    points = _days(n)
    root = _parse(line_chart(points, title="Open roles"))
    circles = _with_class(root, "circle", "point")
    assert len(circles) == n
    assert [(c.get("data-label"), float(c.get("data-value"))) for c in circles] == points
    assert circles[0].find(f"{SVG}title").text == "2026-01-01: 11"
    assert len(_with_class(root, "polyline", "line")) == 1


def test_line_chart_axes_and_labels_do_not_overlap():
    root = _parse(line_chart(_days(31), title="Open roles", width=320))
    ticks = [int(t.text) for t in _with_class(root, "text", "label")
             if t.text and t.text.isdigit()]
    assert ticks[0] == 0 and 3 <= len(ticks) <= 5 and ticks == sorted(ticks)
    assert ticks[-1] >= 13
    x_labels = [t for t in _with_class(root, "text", "label") if t.text.startswith("2026")]
    assert x_labels[0].text == "2026-01-01" and x_labels[-1].text == "2026-01-31"
    assert len(x_labels) >= 2
    spans = []
    for label in x_labels:
        x, width = float(label.get("x")), len(label.text) * 6
        anchor = label.get("text-anchor")
        start = x if anchor == "start" else x - width if anchor == "end" else x - width / 2
        spans.append((start, start + width))
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))


def test_charts_use_css_classes_not_colours():
    for svg in (line_chart(_days(5), title="t"), bar_chart([("w", {"added": 1})], title="t")):
        text = str(svg)
        assert "style" not in text and "stroke" not in text and "rgb" not in text
        assert re.search(r"#[0-9a-fA-F]{3}", text) is None
        assert set(re.findall(r'fill="([^"]*)"', text)) <= {"none"}


def test_chart_labels_are_escaped():
    svg = line_chart([(HOSTILE, 3), ("ok", 4)], title=HOSTILE)
    text = str(svg)
    assert "<script>" not in text
    assert "&lt;script&gt;" in text
    root = _parse(svg)
    circle = _with_class(root, "circle", "point")[0]
    assert circle.get("data-label") == '<script>alert("x")</script> & Co'
    assert root.find(f"{SVG}title").text == '<script>alert("x")</script> & Co'

    bars = bar_chart([(HOSTILE, {"added": 1, "removed": 2})], title="Weekly",
                     series=("added", '"><script>'))
    assert "<script>" not in str(bars)
    assert len(_with_class(_parse(bars), "rect", "bar")) == 2


@pytest.mark.parametrize("chart", [
    lambda: line_chart([], title="Open roles"),
    lambda: bar_chart([], title="Weekly"),
])
def test_empty_charts_say_no_data_yet(chart):
    root = _parse(chart())
    assert [t.text for t in _with_class(root, "text", "label")] == [EMPTY_TEXT]
    assert not _with_class(root, "circle", "point") and not _with_class(root, "rect", "bar")


def test_single_point_and_all_zero_values_draw():
    root = _parse(line_chart([("2026-01-01", 5)], title="One"))
    (circle,) = _with_class(root, "circle", "point")
    assert circle.get("data-value") == "5"

    root = _parse(line_chart([("a", 0), ("b", 0), ("c", 0)], title="Zeros"))
    circles = _with_class(root, "circle", "point")
    assert len(circles) == 3 and len({c.get("cy") for c in circles}) == 1

    root = _parse(bar_chart([("w1", {"added": 0, "removed": 0})], title="Zeros"))
    bars = _with_class(root, "rect", "bar")
    assert len(bars) == 2 and all(float(b.get("height")) == 0 for b in bars)


def test_bar_chart_one_bar_per_group_and_series():
    groups = [(f"2026-01-{d:02d}", {"added": d, "removed": d // 2}) for d in (5, 12, 19, 26)]
    root = _parse(bar_chart(groups, title="Weekly"))
    bars = _with_class(root, "rect", "bar")
    assert len(bars) == len(groups) * 2
    assert len(_with_class(root, "rect", "bar-added")) == 4 + 1  # bars and a legend swatch
    assert [(b.get("data-label"), b.get("data-value")) for b in bars[:2]] == [
        ("2026-01-05", "5"), ("2026-01-05", "2")]
    assert bars[0].find(f"{SVG}title").text == "2026-01-05 added: 5"
    tallest = max(bars, key=lambda b: float(b.get("height")))
    assert tallest.get("data-value") == "26"


def test_bar_chart_missing_series_counts_as_zero():
    root = _parse(bar_chart([("w1", {"added": 3})], title="Weekly",
                            series=("added", "removed", "changed")))
    bars = _with_class(root, "rect", "bar")
    assert [b.get("data-value") for b in bars] == ["3", "0", "0"]
    assert [b.get("class") for b in bars] == ["bar bar-added", "bar bar-removed", "bar bar-changed"]
