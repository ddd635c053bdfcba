"""Small readers for values in board JSON, shared by the parsers."""

from __future__ import annotations

from typing import Any


def whole_number(value: Any) -> int | None:
    """An int, or a string of digits, as an int; anything else (booleans
    included) None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def text(value: Any) -> str | None:
    """The text of a board value: a string stripped (None when empty), a
    number as written, a list's first text, an object's ``name``,
    ``@value``, ``value`` or ``location``; anything else None. Booleans are
    never text."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, list):
        return next((found for item in value if (found := text(item))), None)
    if isinstance(value, dict):
        for key in ("name", "@value", "value", "location"):
            if found := text(value.get(key)):
                return found
    return None


def texts(value: Any) -> list[str]:
    """Every text of a value or of each item of a list, in order, once each."""
    found: list[str] = []
    for item in value if isinstance(value, list) else [value]:
        if (t := text(item)) and t not in found:
            found.append(t)
    return found
