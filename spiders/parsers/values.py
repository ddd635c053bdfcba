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
