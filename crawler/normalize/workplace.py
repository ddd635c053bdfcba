"""Workplace type (``onsite``, ``hybrid``, ``remote``) from the board's own
field or from the words boards put into location text ("Hybrid - London",
"Remote, US"). Nothing stated means null: we never guess."""

from __future__ import annotations

import re
from typing import Any

WORKPLACE_TYPES = ("onsite", "hybrid", "remote")

# Checked in this order: a hybrid arrangement is described with both other
# words ("Hybrid (2 days on-site)", "hybrid remote"), and a remote one may
# mention the office ("Remote, occasional on-site visits").
_MARKERS = (
    ("hybrid", r"hybrid|hybride|h[íi]brido"),
    (
        "remote",
        r"(?:fully\s+)?remote(?:[- ](?:first|friendly|only))?|telecommut\w*"
        r"|work(?:ing)?\s+from\s+home|wfh|home[- ]?office|home[- ]based"
        r"|t[ée]l[ée]travail|teletrabajo|remoto",
    ),
    (
        "onsite",
        r"on[- ]?site|in[- ]office|office[- ]based|in[- ]person|presencial|vor\s+ort|sur\s+site",
    ),
)
_KINDS = [(kind, re.compile(rf"\b(?:{words})\b", re.IGNORECASE)) for kind, words in _MARKERS]
# Every marker at once, to find or cut them out of location text.
WORKPLACE_WORDS = re.compile(
    r"\b(?:" + "|".join(words for _, words in _MARKERS) + r")\b", re.IGNORECASE
)


def _kind_of(text: str) -> str | None:
    for kind, pattern in _KINDS:
        if pattern.search(text):
            return kind
    return None


def workplace_phrase(value: Any) -> str | None:
    """The workplace words as written in a location text ("Hybrid" in
    "Hybrid - London"), for parsers filling ``workplace_type_raw``; None
    when the text (or a non-string) states none."""
    if not isinstance(value, str):
        return None
    match = WORKPLACE_WORDS.search(value)
    return match.group(0) if match else None


def workplace_type(raw: Any, location_texts: Any = ()) -> str | None:
    """``onsite``, ``hybrid``, ``remote`` or None.

    Reads the board's own field first (``"On-site"``, ``"On Site"``,
    ``"OnSite"``, ``"TELECOMMUTE"``, ``"Hybrid"`` ...; ``"unspecified"``
    states nothing). Otherwise reads the location texts: when the ones that
    state a workplace all state the same one, that is it; when they
    disagree, or none states one, the answer is None. Non-string inputs
    count as stating nothing.
    """
    if isinstance(raw, str) and (kind := _kind_of(raw)):
        return kind
    if isinstance(location_texts, str):
        location_texts = [location_texts]
    stated = {_kind_of(text) for text in location_texts or () if isinstance(text, str)}
    stated.discard(None)
    return stated.pop() if len(stated) == 1 else None
