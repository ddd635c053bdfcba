"""Workplace type (``onsite``, ``hybrid``, ``remote``) from the board's own
field ("On Site", "On-site", "Up to 50% work from home"), from the words
boards put into location text ("Hybrid - London", "Remote, US") or put in
place of a city ("Remote" as the city of an address), and, as a last
resort, from a description sentence that states it outright ("This role is
fully remote"). Nothing stated means null: we never guess."""

from __future__ import annotations

import re
from typing import Any

WORKPLACE_TYPES = ("onsite", "hybrid", "remote")

# Checked in this order: a hybrid arrangement is described with both other
# words ("Hybrid (2 days on-site)", "hybrid remote"), and a remote one may
# mention the office ("Remote, occasional on-site visits").
_MARKERS = (
    ("hybrid", r"hybrid|hybride[snr]?|h[íi]brid[oa]|teilweise\s+(?:remote|home[- ]?office)"
               r"|t[ée]l[ée]travail\s+partiel|teletrabajo\s+parcial|partially\s+remote"),
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
# "Up to 50% work from home": a share of remote work. 100% is remote, 0% on
# site, anything between hybrid.
_SHARE = re.compile(
    r"(?:\b(?:up\s+to|bis\s+zu|jusqu['’]à|hasta)\s+)?(?<![\d.])(?P<share>\d{1,3})\s*%\s*(?:of\s+(?:the\s+)?time\s+)?(?:work(?:ing)?\s+from\s+home"
    r"|remote(?:\s+work)?|wfh|home[- ]?office|t[ée]l[ée]travail|teletrabajo)\b",
    re.IGNORECASE,
)
# A description sentence that states the arrangement of this role.
_STATED = re.compile(
    r"\b(?:this|the)\s+(?:role|position|job|opportunity)\s+is\s+(?:a\s+)?(?:fully\s+|100%\s+)?"
    r"(?P<kind>remote|hybrid|on-?site|in[- ]office)\b"
    r"|\b(?:work(?:place)?\s+(?:type|arrangement|model|site|location\s+type)|arbeitsmodell"
    r"|modalit[ée]\s+de\s+travail|modalidad(?:\s+de\s+trabajo)?)\s*:\s*(?P<field>[^\n.;]{1,60})"
    # recruiters' LinkedIn tags, which set the workplace type there
    r"|#LI-(?P<tag>hybrid|remote|onsite)\b",
    re.IGNORECASE,
)
# Every marker at once, to find or cut them out of location text.
WORKPLACE_WORDS = re.compile(
    r"\b(?:" + "|".join(words for _, words in _MARKERS) + r")\b", re.IGNORECASE
)


def _kind_of(text: str) -> str | None:
    if share := _SHARE.search(text):
        percent = int(share.group("share"))
        if percent <= 100:
            return "onsite" if percent == 0 else "remote" if percent == 100 else "hybrid"
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


def workplace_label(value: Any) -> str | None:
    """The workplace type when the whole text is a workplace label ("On
    Site", "On-site", "Remote", "Hybrid", "Up to 50% work from home"), as
    pages print it on a line of its own; None for anything else, such as a
    title that mentions one ("Remote Sensing Engineer")."""
    if not isinstance(value, str):
        return None
    text = " ".join(value.split()).strip(" .·•|")
    if not text or len(text) > 40:
        return None
    if share := _SHARE.fullmatch(text):
        return _kind_of(share.group(0))
    for kind, pattern in _KINDS:
        if re.fullmatch(rf"(?:{pattern.pattern})(?:\s+(?:work|working|position|role|job))?", text,
                        re.IGNORECASE):
            return kind
    return None


def workplace_in_text(text: Any) -> tuple[str, str] | None:
    """``(kind, phrase)`` when a description states the role's arrangement
    outright ("This role is fully remote", "Work arrangement: Hybrid", "Up
    to 50% work from home"); None otherwise (or for non-strings). Passing
    mentions ("remote teams", "work from home days") state nothing."""
    if not isinstance(text, str):
        return None
    if found := _STATED.search(text):
        phrase = found.group("kind") or found.group("field") or found.group("tag")
        if kind := _kind_of(phrase):
            return kind, found.group(0).strip()
    if (share := _SHARE.search(text)) and (kind := _kind_of(share.group(0))):
        return kind, share.group(0)
    return None


def workplace_in_places(locations: Any) -> list[str]:
    """The city and region values of structured locations that are a
    workplace label instead of a place ("Remote" as the city of an iCIMS or
    Workday address), as written, once each. [] for anything that is not a
    list of dicts."""
    found: list[str] = []
    for location in locations if isinstance(locations, list) else []:
        if not isinstance(location, dict):
            continue
        for key in ("city", "region"):
            value = location.get(key)
            if isinstance(value, str) and workplace_label(value):
                text = " ".join(value.split())
                if text not in found:
                    found.append(text)
    return found
