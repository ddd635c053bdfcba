"""Change semantics, as pure functions: field-level diffs and event reasons.

Reads two stored postings (``Posting.to_dict()`` form) and says what changed:
deepdiff compares the fields, with list fields compared as sets; the
description is reported as a unified text diff; a moved deadline is named
("deadline extended by 3 days"). No database access here.
"""

from __future__ import annotations

import difflib
from datetime import date, datetime
from typing import Any

from crawler.items import VOLATILE_FIELDS, hashable_content

# Fields that are not shown in a diff: identity and raw text shadows of parsed
# values (a changed salary_raw shows up as a changed salary).
_NOT_DIFFED = frozenset({"source", "external_id"})
_TEXT_FIELDS = frozenset({"description"})


def field_changes(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """List of ``{field, old, new}`` for every top-level field that differs.

    deepdiff finds the changed fields, with list fields compared as sets
    (order on the board means nothing); list fields also carry the items
    ``added`` and ``removed``. The description carries ``diff`` (a unified
    text diff) instead of both full texts."""
    a, b = hashable_content(old), hashable_content(new)
    fields = {name for name in _TEXT_FIELDS if a.get(name) != b.get(name)}
    # long texts are compared as text above; hashing them for deepdiff's
    # order-free comparison would cost more than everything else together
    rest_a = {k: v for k, v in a.items() if k not in _TEXT_FIELDS}
    rest_b = {k: v for k, v in b.items() if k not in _TEXT_FIELDS}
    # imported here, not at the top: deepdiff (and numpy under it) costs a
    # crawl process a few tenths of a second, and a round where nothing
    # changed never diffs
    from deepdiff import DeepDiff

    for report in DeepDiff(rest_a, rest_b, ignore_order=True, view="tree").values():
        for level in report:
            path = level.path(output_format="list")
            if path:
                fields.add(str(path[0]))
    changes: list[dict[str, Any]] = []
    for name in sorted(fields - _NOT_DIFFED - VOLATILE_FIELDS):
        if name in _TEXT_FIELDS:
            changes.append({"field": name, "old": None, "new": None,
                            "diff": text_diff(old.get(name), new.get(name))})
            continue
        entry: dict[str, Any] = {"field": name, "old": old.get(name), "new": new.get(name)}
        if isinstance(a.get(name), list) and isinstance(b.get(name), list):
            entry["added"] = [x for x in b[name] if x not in a[name]]
            entry["removed"] = [x for x in a[name] if x not in b[name]]
        if name == "deadline":
            note = deadline_move(old.get(name), new.get(name))
            if note:
                entry["note"] = note
        changes.append(entry)
    return changes


def text_diff(old: str | None, new: str | None) -> str:
    """Unified diff of two texts, line by line, without file headers' dates."""
    lines = difflib.unified_diff(
        (old or "").splitlines(), (new or "").splitlines(),
        fromfile="old", tofile="new", lineterm="", n=1,
    )
    return "\n".join(lines)


def _as_date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).date()
    except ValueError:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None


def deadline_move(old: str | None, new: str | None) -> str | None:
    """Describe a moved deadline: 'deadline extended by N days', 'deadline
    brought forward by N days', 'deadline set', 'deadline removed'."""
    if old == new:
        return None
    if old and not new:
        return "deadline removed"
    if new and not old:
        return f"deadline set to {new}"
    a, b = _as_date(old), _as_date(new)
    if a is None or b is None or a == b:
        return f"deadline moved from {old} to {new}"
    days = (b - a).days
    unit = "day" if abs(days) == 1 else "days"
    if days > 0:
        return f"deadline extended by {days} {unit}"
    return f"deadline brought forward by {-days} {unit}"


def change_reason(changes: list[dict[str, Any]]) -> str:
    """One line for a changed event: the fields, and a deadline note first."""
    notes = [c["note"] for c in changes if c.get("note")]
    names = ", ".join(c["field"] for c in changes)
    head = "; ".join(notes)
    return f"changed: {head}; fields {names}" if head else f"changed: {names}"


def days_until(deadline: str | None, now: datetime) -> float | None:
    """Days from ``now`` to the deadline. A date-only deadline counts to the
    end of that day (applications close when the day ends)."""
    if not deadline:
        return None
    try:
        if len(deadline) == 10:
            d = date.fromisoformat(deadline)
            end = datetime(d.year, d.month, d.day, 23, 59, 59, tzinfo=now.tzinfo)
        else:
            end = datetime.fromisoformat(deadline)
            if end.tzinfo is None:
                end = end.replace(tzinfo=now.tzinfo)
    except ValueError:
        return None
    return (end - now).total_seconds() / 86400


def closing_threshold(deadline: str | None, now: datetime, thresholds: list[int]) -> int | None:
    """The tightest configured threshold (in days) the deadline falls within,
    or None when it is further away, or already past."""
    left = days_until(deadline, now)
    if left is None or left < 0:
        return None
    inside = [t for t in thresholds if left <= t]
    return min(inside) if inside else None
