"""Requisition ids: the employer's own job number, when a page or a
description shows it ("Job number 1234567", "Job ID: R0123456", "Req #
2025-114", "Referenznummer: 4711"). It is the strong key for telling that
postings on two boards are one role, so only a labelled id counts: a bare
number in the text is never read as one."""

from __future__ import annotations

import re
from typing import Any

from crawler.normalize.text import clean_text

_LABELLED_ID = re.compile(
    r"\b(?:job\s*(?:number|no\.?|#|id|code|ref(?:erence)?(?:\s*(?:number|no\.?|#))?)"
    r"|req(?:uisition)?\.?\s*(?:id|number|no\.?|#)|requisition"
    r"|posting\s*(?:id|number)|reference\s*(?:number|no\.?|code|#)|ref\.?\s*(?:no\.?|#)"
    r"|stellen-?id|referenznummer|kennziffer|r[ée]f[ée]rence\s+(?:de\s+l['’]offre|du\s+poste)"
    r"|n[úu]mero\s+de\s+(?:vacante|referencia)|c[óo]digo\s+de\s+(?:vacante|referencia))"
    r"\s*[:#]?\s*(?P<id>[A-Za-z0-9][A-Za-z0-9_\-./]{1,39})(?![\w-])",
    re.IGNORECASE,
)


def requisition_id_in_text(text: Any) -> tuple[str, str] | None:
    """``(id, phrase)`` for the first labelled job number in text ("Job
    number 1234567" gives ``("1234567", "Job number 1234567")``); the id
    must hold a digit, so "Job code: see below" gives nothing. None when
    the text (or a non-string) shows none."""
    if not isinstance(text, str):
        return None
    for found in _LABELLED_ID.finditer(text):
        value = found.group("id").rstrip(".-/")
        if any(ch.isdigit() for ch in value) and len(value) >= 2:
            return value, clean_text(found.group(0).rstrip(".-/"))
    return None
