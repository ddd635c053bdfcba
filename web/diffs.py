"""What changed between two versions of a posting, shaped for the pages.

Pure functions, no I/O. Reads two canonical postings (``Posting.to_dict()``
form, DESIGN.md's field names) and returns plain data for the templates: a
word-level diff of the description in hunks, and a before/after table of the
other public fields. Values stay untrusted board text: the templates escape
them.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Sequence
from typing import Any

from crawler.alerts.render import format_place, format_salary
from crawler.items import hashable_content
from crawler.normalize.text import strip_controls

# Longer texts are cut before diffing (characters): a diff of a page-long
# description is read by a person, and a board's runaway text must not cost
# the server seconds.
MAX_CHARS = 200_000
# Above this many token pairs (len(a) * len(b)) SequenceMatcher keeps its
# popular-element heuristic on, so a pathological input (thousands of repeated
# lines that differ at both ends) stays near linear instead of quadratic.
_EXACT_PAIRS = 4_000_000

SKIP = ("skip", "…")
CUT = ("skip", "… (text cut)")

# The public fields of the before/after table, in DESIGN.md's order.
# ``description`` is shown with word_diff; ``*_raw``, ``raw``, identity and
# volatile fields are not shown.
TABLE_FIELDS = ("title", "company", "department", "requisition_id", "locations",
                "workplace_type", "employment_type", "salary", "posted_at", "deadline",
                "url", "apply_url", "skills", "language")
_VOCAB_FIELDS = frozenset({"workplace_type", "employment_type"})
_MULTILINE_FIELDS = frozenset({"description"})

# A token is a word with the spaces after it, a run of leading spaces, or one
# newline; joining the tokens gives the text back, newlines (paragraphs) kept.
_TOKEN = re.compile(r"\n|[^\S\n]+|\S+[^\S\n]*")
# A unit is one line with the newlines that end it: texts are matched line by
# line first, and words are matched only inside the lines that differ.
_UNIT = re.compile(r"[^\n]*\n+|[^\n]+")

Segment = tuple[str, str]


# --- description: word-level diff ----------------------------------------

def word_diff(old: str | None, new: str | None, context: int = 8) -> list[list[Segment]]:
    """Word-level diff of two plain texts, as hunks of ``(op, text)``.

    ``op`` is ``equal``, ``delete`` or ``insert``; joining a hunk's equal and
    delete texts gives a stretch of the old text, equal and insert the new
    one. Equal runs between changes longer than ``2 * context`` words (a
    newline counts as a word) split the diff into hunks, keeping ``context``
    words either side. A hunk that does not start at the start of the text
    begins with ``("skip", "…")``, one that stops before its end ends with
    it. Texts longer than MAX_CHARS are cut, and the last hunk then ends with
    ``("skip", "… (text cut)")``. None counts as the empty text; identical
    texts give ``[]``.
    """
    old, new = old or "", new or ""
    cut = len(old) > MAX_CHARS or len(new) > MAX_CHARS
    hunks = _hunks(_segments(_cut(old), _cut(new)), max(context, 0))
    if not cut:
        return hunks
    if not hunks:
        return [] if old == new else [[CUT]]
    last = hunks[-1]
    if last[-1] == SKIP:
        last[-1] = CUT
    else:
        last.append(CUT)
    return hunks


def _cut(text: str) -> str:
    """The text up to MAX_CHARS, ending after a whole word where one ends in
    the last few hundred characters."""
    if len(text) <= MAX_CHARS:
        return text
    head = text[:MAX_CHARS]
    end = max(head.rfind(" "), head.rfind("\n"))
    return head[:end + 1] if end >= MAX_CHARS - 500 else head


def _opcodes(a: Sequence[str], b: Sequence[str]) -> list[tuple[str, int, int, int, int]]:
    """SequenceMatcher opcodes, after trimming the common head and tail in
    linear time (the usual edit touches a few words of a long text)."""
    head = 0
    limit = min(len(a), len(b))
    while head < limit and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < limit - head and a[len(a) - 1 - tail] == b[len(b) - 1 - tail]:
        tail += 1
    mid_a, mid_b = a[head:len(a) - tail], b[head:len(b) - tail]
    codes: list[tuple[str, int, int, int, int]] = []
    if head:
        codes.append(("equal", 0, head, 0, head))
    if mid_a or mid_b:
        exact = len(mid_a) * len(mid_b) <= _EXACT_PAIRS
        matcher = difflib.SequenceMatcher(None, mid_a, mid_b, autojunk=not exact)
        codes.extend((tag, i1 + head, i2 + head, j1 + head, j2 + head)
                     for tag, i1, i2, j1, j2 in matcher.get_opcodes())
    if tail:
        codes.append(("equal", len(a) - tail, len(a), len(b) - tail, len(b)))
    return codes


def _segments(old: str, new: str) -> list[tuple[str, list[str]]]:
    """The whole diff as runs of tokens, adjacent runs of one op merged."""
    runs: list[tuple[str, list[str]]] = []

    def emit(op: str, tokens: list[str]) -> None:
        if not tokens:
            return
        if runs and runs[-1][0] == op:
            runs[-1][1].extend(tokens)
        else:
            runs.append((op, list(tokens)))

    units_a, units_b = _UNIT.findall(old), _UNIT.findall(new)
    for tag, i1, i2, j1, j2 in _opcodes(units_a, units_b):
        tokens_a = _TOKEN.findall("".join(units_a[i1:i2]))
        tokens_b = _TOKEN.findall("".join(units_b[j1:j2]))
        if tag != "replace":
            emit(tag, tokens_a if tag != "insert" else tokens_b)
            continue
        for op, k1, k2, m1, m2 in _opcodes(tokens_a, tokens_b):
            if op == "equal":
                emit("equal", tokens_a[k1:k2])
            else:
                # a replacement reads as the old words struck, then the new ones
                emit("delete", tokens_a[k1:k2])
                emit("insert", tokens_b[m1:m2])
    return runs


def _hunks(runs: list[tuple[str, list[str]]], context: int) -> list[list[Segment]]:
    if all(op == "equal" for op, _ in runs):
        return []
    hunks: list[list[Segment]] = []
    hunk: list[Segment] = []

    def equal(tokens: list[str]) -> None:
        if tokens:
            hunk.append(("equal", "".join(tokens)))

    last = len(runs) - 1
    for index, (op, tokens) in enumerate(runs):
        if op != "equal":
            hunk.append((op, "".join(tokens)))
        elif index == 0:
            if len(tokens) > context:
                hunk.append(SKIP)
            equal(tokens[max(len(tokens) - context, 0):])
        elif index == last:
            equal(tokens[:context])
            if len(tokens) > context:
                hunk.append(SKIP)
        elif len(tokens) > 2 * context:
            equal(tokens[:context])
            hunk.append(SKIP)
            hunks.append(hunk)
            hunk = [SKIP]
            equal(tokens[max(len(tokens) - context, 0):])
        else:
            equal(tokens)
    hunks.append(hunk)
    return hunks


# --- the other fields: a before/after table --------------------------------

def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _text(value: Any, *, one_line: bool = True) -> str:
    text = strip_controls(value if isinstance(value, str) else str(value))
    return " ".join(text.split()) if one_line else text.strip()


def _item(value: Any) -> str:
    if isinstance(value, dict):
        return _text(json.dumps(value, ensure_ascii=False, sort_keys=True, default=str))
    return _text(value)


def display_value(field: str, value: Any) -> str:
    """One field's value as a short display string: locations as ``City,
    Region, CC`` joined by ``; ``, salaries as ``120,000–150,000 USD/year``
    (``from …`` / ``up to …`` when one end is missing) joined by ``; ``,
    other lists joined by ``, ``, vocabulary values with spaces
    (``full time``), None and empty values as ``""``. Control characters are
    removed and whitespace runs made one space (the description keeps its
    paragraphs). The result is still untrusted text: escape it."""
    if _empty(value):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if field == "salary":
        shown = format_salary(value)
        return "" if shown == "none" else shown
    if field == "locations":
        places = value if isinstance(value, list) else [value]
        return "; ".join(p for p in map(format_place, places) if p)
    if isinstance(value, list):
        return ", ".join(shown for shown in map(_item, value) if shown)
    if field in _VOCAB_FIELDS and isinstance(value, str):
        return _text(value.replace("_", " "))
    return _item(value) if field not in _MULTILINE_FIELDS else _text(value, one_line=False)


def field_rows(old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The before/after table of two postings: one ``{field, old, new,
    changed}`` row per TABLE_FIELDS field that has a value on either side, in
    that order, values as :func:`display_value` shows them.

    ``changed`` follows the change semantics of the events
    (:func:`crawler.items.hashable_content`): lists compare as sets, raw text
    is ignored, datetimes compare as instants. A missing posting (None) is
    empty, so every field of the other one is changed."""
    old, new = old or {}, new or {}
    content_old, content_new = hashable_content(old), hashable_content(new)
    rows: list[dict[str, Any]] = []
    for name in TABLE_FIELDS:
        before, after = old.get(name), new.get(name)
        if _empty(before) and _empty(after):
            continue
        rows.append({"field": name,
                     "old": display_value(name, before),
                     "new": display_value(name, after),
                     "changed": content_old.get(name) != content_new.get(name)})
    return rows
