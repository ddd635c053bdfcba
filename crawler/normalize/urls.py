"""Canonical posting URLs: the same posting reached through a newsletter, a
job aggregator or an ad must give the same ``url``, so tracking parameters
are dropped (they are volatile and never count as a change)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from w3lib.url import url_query_cleaner

# Parameters that only say where the visitor came from. Ids that select the
# posting (gh_jid, jobId, ...) are not in this list and are kept.
_TRACKING_PARAM = re.compile(
    r"utm_\w+|gh_src|lever-(?:source|origin|via)(?:\[\])?|src|source|ref|referrer|refid"
    r"|trk|trkinfo|trackingid|fbclid|gclid|gclsrc|dclid|msclkid|mc_cid|mc_eid|_hsenc|_hsmi"
    r"|igshid|yclid|ttclid|li_fat_id|iis|iisn",
    re.IGNORECASE,
)


def clean_url(value: Any) -> Any:
    """The URL without tracking parameters (``utm_*``, ``gh_src``,
    ``lever-source``, ``src``, ``ref``, ``trk``, ``fbclid``, ``gclid`` ...).

    Accepts a string; meaningful parameters keep their order and spelling,
    fragments are kept, surrounding whitespace is trimmed and a blank string
    becomes None. Non-strings and strings that do not parse as URLs are
    returned as is.
    """
    if not isinstance(value, str):
        return value
    url = value.strip()
    if not url:
        return None
    try:
        params = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    except ValueError:
        return url
    tracking = sorted({name for name, _ in params if _TRACKING_PARAM.fullmatch(name)})
    if not tracking:
        return url
    return url_query_cleaner(url, tracking, remove=True, unique=False, keep_fragments=True)
