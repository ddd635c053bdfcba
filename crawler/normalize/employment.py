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
        ("internship", r"pr[aá]cticas|est[aá]gio|tirocinio|인턴|インターン"),
        ("temporary", r"temporary|temp|seasonal|fixed term|short term|cdd|befristet|interim|temporal"),
        ("temporary", r"tempo determinato|contrato temporal|aushilfe"),
        ("part_time", r"part ?time|teilzeit|temps partiel|tiempo parcial|media jornada"),
        ("part_time", r"meio per[ií]odo|tempo parziale|werkstudent(?:in)?|minijob|アルバイト|파트타임"),
        ("full_time", r"permanent|regular|cdi|unbefristet|festanstellung|indefinido"),
        ("full_time", r"tempo indeterminato|vast dienstverband|正社員|정규직"),
        ("contract", r"contract|contractor|freelance|freelancer|契約社員|계약직"),
        ("full_time", r"full ?time|vollzeit|temps (?:plein|complet)|tiempo completo"),
        ("full_time", r"jornada completa|tempo integral|tempo pieno|voltijd|heltid|pełny etat"),
        ("other", r"other|volunteer|per diem|apprentice(?:ship)?|ausbildung|alternance"),
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


def employment_label(value: Any) -> str | None:
    """The canonical employment type when the whole text is an employment
    label ("Full Time", "Full-time", "CDI", "Vollzeit", "Part-time,
    Permanent"), as pages print it on a line of its own; None for anything
    else, such as a title that contains one ("Contract Manager")."""
    if not isinstance(value, str) or len(value) > 60:
        return None
    values = [v for v in _SEPARATORS.split(value) if v.strip()]
    if not values:
        return None
    for part in values:
        text = " ".join(re.sub(r"[-_]", " ", part.casefold()).split()).strip(" .·•")
        if not any(re.fullmatch(rf"(?:{pattern.pattern})(?: (?:job|position|role|employment"
                                rf"|contract|work))?", text) for _kind, pattern in _RULES):
            return None
    return employment_type(value)
