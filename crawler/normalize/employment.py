"""Employment type from the board's free text ("Full-time", "FULL_TIME",
["FULL_TIME"], "CDI", "Vollzeit", "Fixed Term" ...) to one of
``full_time``, ``part_time``, ``contract``, ``temporary``, ``internship``,
``other``."""

from __future__ import annotations

import re
from typing import Any

EMPLOYMENT_TYPES = ("full_time", "part_time", "contract", "temporary", "internship", "other")

# Checked in this order within one value: "Part-time permanent" is part
# time, "Permanent contract" is employment (full time) while "Full-time
# contract" is a contract, and "Fixed-term contract" is temporary.
_RULES = [
    (kind, re.compile(rf"\b(?:{words})\b"))
    for kind, words in (
        ("internship", r"intern(?:ship)?s?|trainee(?:ship)?|stage|stagiaire|praktikum"),
        ("internship", r"pr[aá]cticas|est[aá]gio"),
        ("temporary", r"temporary|temp|seasonal|fixed term|cdd|befristet|interim|temporal"),
        ("part_time", r"part ?time|teilzeit|temps partiel|tiempo parcial|media jornada"),
        ("part_time", r"meio per[ií]odo|tempo parziale"),
        ("full_time", r"permanent|regular|cdi|unbefristet|festanstellung|indefinido"),
        ("contract", r"contract|contractor|freelance|freelancer"),
        ("full_time", r"full ?time|vollzeit|temps (?:plein|complet)|tiempo completo"),
        ("full_time", r"jornada completa|tempo integral|tempo pieno"),
        ("other", r"other|volunteer|per diem|apprentice(?:ship)?|ausbildung"),
    )
]
_SEPARATORS = re.compile(r"[,;/|]|\band\b")


def _kind_of(value: str) -> str | None:
    text = " ".join(re.sub(r"[-_]", " ", value.casefold()).split())
    for kind, pattern in _RULES:
        if pattern.search(text):
            return kind
    return None


def employment_type(raw: Any) -> str | None:
    """The canonical employment type of the board's value, or None.

    Accepts a string or a list of strings (schema.org allows both; a string
    may also list several values, "Full-time, Contract"). The first value
    that is recognized decides; text that is present but recognized nowhere
    gives ``other``. None, empty strings and empty lists give None, and so
    does any other type.
    """
    if isinstance(raw, str):
        values = _SEPARATORS.split(raw)
    elif isinstance(raw, (list, tuple)):
        values = [part for item in raw if isinstance(item, str) for part in _SEPARATORS.split(item)]
    else:
        return None
    values = [value for value in values if value.strip()]
    if not values:
        return None
    for value in values:
        if kind := _kind_of(value):
            return kind
    return "other"
