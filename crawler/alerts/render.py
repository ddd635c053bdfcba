"""What a person (or a receiving program) reads about alerts.

Pure functions from alert dicts (the shape :mod:`crawler.alerts` describes:
change events in DESIGN.md's field names, or health notices) to an email
(subject, plain text and HTML), chat lines for Apprise, and the versioned
webhook payload documented in ``docs/webhooks.md``. No I/O beyond reading the
Jinja2 templates shipped in ``templates/``.

Everything a board wrote is untrusted. Every board string shown to people is
stripped of control characters and terminal escape sequences
(:func:`crawler.normalize.text.strip_controls`), squeezed to one line where it
is one, and bounded in length; the HTML is rendered with autoescaping on, and
only ``http``/``https`` URLs become links. The webhook payload carries the
values as they are: JSON encoding is its escaping.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import css_inline
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from crawler.normalize.text import strip_controls
from db.vocab import EventKind, NoticeState

# Upper bounds, in characters, of board strings as shown (after stripping).
TITLE_LIMIT = 300
REASON_LIMIT = 500
NAME_LIMIT = 200  # company, source, one location
VALUE_LIMIT = 300  # one side of a field diff
URL_LIMIT = 2048
SUBJECT_LIMIT = 150
DIFF_LINE_LIMIT = 160  # one changed line of a description excerpt
DIFF_LINES = 4  # changed lines in a description excerpt
LIST_ITEMS = 5  # items of a list change named before "and N more"
CHAT_BODY_LIMIT = 1500

HEALTH = "health"
# The order of the groups in an email and of the counts in a subject.
KIND_ORDER = (EventKind.NEW, EventKind.CHANGED, EventKind.REOPENED, EventKind.CLOSING,
              EventKind.EXPIRED, HEALTH)
_HEADINGS = {EventKind.NEW: "New", EventKind.CHANGED: "Changed", EventKind.REOPENED: "Reopened",
             EventKind.CLOSING: "Closing soon", EventKind.EXPIRED: "Expired",
             HEALTH: "Source health"}
_COUNT_WORDS = {EventKind.CLOSING: "closing soon"}
_PROBLEMS = {"failing": "runs failing", "blocked": "blocked by a wall",
             "suspicious": "suspicious count", "shrink_confirmed": "shrink confirmed",
             "coverage_lost": "field coverage lost", "webhook_disabled": "webhook disabled"}

WEBHOOK_VERSION = 1
EVENT_FIELDS = ("id", "kind", "source", "external_id", "title", "at", "run_id", "reason",
                "changes", "posting")
HEALTH_FIELDS = ("id", "kind", "source", "at", "problem", "state", "reason", "run_id")

_WEB_SCHEMES = frozenset({"http", "https"})
_ELLIPSIS = "…"

_ENV = Environment(
    loader=PackageLoader("crawler.alerts", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), disabled_extensions=("txt", "css"),
                                 default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
# Mail clients drop <style> blocks: every rule goes into style attributes.
# Nothing is fetched (no remote stylesheets), so rendering stays offline.
_INLINER = css_inline.CSSInliner(load_remote_stylesheets=False)


@dataclass(frozen=True)
class EmailContent:
    """One email: a one-line subject, the plain-text part and the HTML part."""

    subject: str
    text: str
    html: str


# --- bounded, control-free text --------------------------------------------

def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + _ELLIPSIS


def one_line(value: Any, limit: int) -> str | None:
    """One line of untrusted text: controls stripped, whitespace runs made one
    space, at most ``limit`` characters; None when nothing is left."""
    if value is None:
        return None
    text = " ".join(strip_controls(str(value)).split())
    return _cut(text, limit) if text else None


def web_url(value: Any) -> str | None:
    """The URL when it is an absolute http(s) URL fit for a link, else None."""
    url = one_line(value, URL_LIMIT)
    if not url or url.endswith(_ELLIPSIS) or any(c.isspace() for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in _WEB_SCHEMES and parts.netloc else None


def _link(label: str, value: Any) -> dict[str, Any] | None:
    text = one_line(value, URL_LIMIT)
    if not text:
        return None
    return {"label": label, "text": text, "href": web_url(value)}


# --- values as people read them --------------------------------------------

def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value):,}"


def format_salary(salary: Any) -> str:
    """``163,000–296,400 USD/year`` from one canonical ``{min, max, currency,
    period}`` dict (``from …``/``up to …`` when one end is missing, the
    ``scope`` in brackets); the ranges of a list joined by ``; ``; ``none``
    when there is none."""
    if isinstance(salary, list):
        shown = [format_salary(s) for s in salary]
        return "; ".join(s for s in shown if s != "none") or "none"
    if not isinstance(salary, dict):
        return one_line(salary, VALUE_LIMIT) or "none"
    low, high = salary.get("min"), salary.get("max")
    if low is not None and high is not None:
        amount = _number(low) if low == high else f"{_number(low)}–{_number(high)}"
    elif low is not None:
        amount = f"from {_number(low)}"
    elif high is not None:
        amount = f"up to {_number(high)}"
    else:
        return one_line(salary.get("raw"), VALUE_LIMIT) or "none"
    if currency := one_line(salary.get("currency"), 10):
        amount += f" {currency}"
    if period := one_line(salary.get("period"), 10):
        amount += f"/{period}"
    if scope := one_line(salary.get("scope"), NAME_LIMIT):
        amount += f" ({scope})"
    return _cut(amount, VALUE_LIMIT)


def format_place(location: Any) -> str | None:
    """``London, GB`` from a canonical ``{city, region, country, raw}``
    location (the region when it is not the city; the raw text when none of
    them is known); a string as it is."""
    if not isinstance(location, dict):
        return one_line(location, NAME_LIMIT)
    city, region, country = (one_line(location.get(k), NAME_LIMIT)
                             for k in ("city", "region", "country"))
    parts = [p for p in (city, region if region != city else None, country) if p]
    return _cut(", ".join(parts), NAME_LIMIT) if parts else one_line(location.get("raw"), NAME_LIMIT)


def _items(values: list[Any], field: str) -> str:
    shown = [format_salary(v) if field == "salary" else _plain(v) for v in values[:LIST_ITEMS]]
    text = " / ".join(shown)
    if len(values) > LIST_ITEMS:
        text += f" and {len(values) - LIST_ITEMS} more"
    return text


def _plain(value: Any) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        if {"city", "region", "country"} & value.keys():
            return format_place(value) or "none"
        value = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    if isinstance(value, list):
        return _cut(_items(value, ""), VALUE_LIMIT)
    return one_line(value, VALUE_LIMIT) or "none"


def _value(field: str, value: Any) -> str:
    return format_salary(value) if field == "salary" else _plain(value)


def _excerpt(diff: Any, indent: int) -> str:
    """The changed lines of a unified diff: ``-`` and ``+`` lines only, the
    file header and blank lines left out, at most DIFF_LINES lines; lines
    after the first indented by ``indent`` spaces so they align under it."""
    lines = strip_controls(diff).split("\n") if isinstance(diff, str) else []
    if len(lines) >= 2 and lines[0].startswith("--- ") and lines[1].startswith("+++ "):
        lines = lines[2:]
    changed = []
    for line in lines:
        if line[:1] in ("-", "+") and (content := one_line(line[1:], DIFF_LINE_LIMIT - 1)):
            changed.append(line[0] + content)
    if not changed:
        return "changed"
    shown = changed[:DIFF_LINES]
    if len(changed) > DIFF_LINES:
        shown.append(f"(and {len(changed) - DIFF_LINES} more changed lines)")
    return ("\n" + " " * indent).join(shown)


def _deadline(change: dict[str, Any]) -> str:
    old, new = one_line(change.get("old"), VALUE_LIMIT), one_line(change.get("new"), VALUE_LIMIT)
    note = one_line(change.get("note"), REASON_LIMIT)
    if not note:
        return f"deadline: {old or 'none'} → {new or 'none'}"
    note = note.removeprefix("deadline ")
    if new and new not in note:
        note += f" (now {new})"
    elif not new and old and old not in note:
        note += f" (was {old})"
    return f"deadline: {note}"


def describe_change(change: dict[str, Any]) -> str:
    """One field diff of a ``changed`` (or ``reopened``) event, for people.

    ``salary: 163,000–296,400 USD/year → 175,000–310,000 USD/year``,
    ``deadline: extended by 14 days (now 2026-12-12)``, ``title: A → B``,
    ``locations: added London, GB; removed Zürich, CH``, and for the
    description ``description: `` followed by its changed lines (``-``/``+``,
    one per line aligned under the first, at most four, each cut to 160
    characters). Empty values
    read ``none``. The result is control-free and bounded."""
    field = one_line(change.get("field"), 100) or "field"
    if field == "description" or "diff" in change:
        return f"{field}: {_excerpt(change.get('diff'), len(field) + 2)}"
    if field == "deadline":
        return _deadline(change)
    added, removed = change.get("added"), change.get("removed")
    if field != "salary" and (added or removed):
        parts = []
        if added:
            parts.append(f"added {_items(list(added), field)}")
        if removed:
            parts.append(f"removed {_items(list(removed), field)}")
        return f"{field}: {'; '.join(parts)}"
    return f"{field}: {_value(field, change.get('old'))} → {_value(field, change.get('new'))}"


def _change_line(change: dict[str, Any]) -> str:
    """A change in one line (chat): a description edit is only named."""
    text = describe_change(change)
    return text.split(":", 1)[0] + " edited" if "\n" in text else text


# --- the view of alerts ----------------------------------------------------

def _kind(alert: dict[str, Any]) -> str:
    return str(alert.get("kind") or "")


def _when(value: Any) -> str | None:
    moment = _parse_time(value)
    if moment is None:
        return one_line(value, 40)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _group_name(alert: dict[str, Any]) -> str:
    posting = alert.get("posting") or {}
    return (one_line(posting.get("company"), NAME_LIMIT) or one_line(alert.get("source"), NAME_LIMIT)
            or "unknown source")


def _health_view(alert: dict[str, Any]) -> dict[str, Any]:
    source = one_line(alert.get("source"), NAME_LIMIT) or "all sources"
    problem = str(alert.get("problem") or "")
    label = _PROBLEMS.get(problem) or one_line(problem, 100) or "problem"
    state = one_line(alert.get("state"), 20) or "started"
    return {"health": True, "title": f"{source}: {label} ({state})", "state": state,
            "reason": one_line(alert.get("reason"), REASON_LIMIT), "at": _when(alert.get("at"))}


def _event_view(alert: dict[str, Any]) -> dict[str, Any]:
    posting = alert.get("posting") or {}
    places = [p for p in map(format_place, posting.get("locations") or []) if p]
    location = " / ".join(places[:LIST_ITEMS])
    if len(places) > LIST_ITEMS:
        location += f" and {len(places) - LIST_ITEMS} more"
    salary = format_salary(posting.get("salary") or [])
    links = [_link("Posting", posting.get("url"))]
    if posting.get("apply_url") != posting.get("url"):
        links.append(_link("Apply", posting.get("apply_url")))
    return {
        "health": False,
        "title": (one_line(posting.get("title"), TITLE_LIMIT) or one_line(alert.get("title"), TITLE_LIMIT)
                  or "(untitled)"),
        "company": one_line(posting.get("company"), NAME_LIMIT),
        "source": one_line(alert.get("source"), NAME_LIMIT),
        "location": location or None,
        "salary": None if salary == "none" else salary,
        "deadline": one_line(posting.get("deadline"), 40),
        "reason": one_line(alert.get("reason"), REASON_LIMIT),
        "changes": [describe_change(c) for c in alert.get("changes") or [] if isinstance(c, dict)],
        "links": [link for link in links if link],
    }


def _view(alert: dict[str, Any]) -> dict[str, Any]:
    return _health_view(alert) if _kind(alert) == HEALTH else _event_view(alert)


def group_alerts(alerts: list[dict[str, Any]]) -> list[tuple[str, list[tuple[str, list[dict[str, Any]]]]]]:
    """The alerts by kind (KIND_ORDER, unknown kinds last) and then by company
    (or source when there is none; names in case-insensitive order), keeping
    the given order inside each company."""
    by_kind: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for alert in alerts:
        by_kind.setdefault(_kind(alert), {}).setdefault(_group_name(alert), []).append(alert)
    rank = {kind: i for i, kind in enumerate(KIND_ORDER)}
    kinds = sorted(by_kind, key=lambda k: (rank.get(k, len(rank)), k))
    return [(kind, sorted(by_kind[kind].items(), key=lambda item: (item[0].casefold(), item[0])))
            for kind in kinds]


def _count_word(kind: str, n: int) -> str:
    if kind == HEALTH:
        return f"{n} health notice" + ("" if n == 1 else "s")
    return f"{n} {_COUNT_WORDS.get(kind, one_line(kind, 30) or 'other')}"


def _headline(alerts: list[dict[str, Any]]) -> str:
    """``3 new, 1 changed at Vercel, acme``: counts in KIND_ORDER, then the
    companies (or sources) with most alerts first, three at most."""
    if not alerts:
        return "nothing to report"
    rank = {kind: i for i, kind in enumerate(KIND_ORDER)}
    kinds = Counter(_kind(a) for a in alerts)
    counts = ", ".join(_count_word(k, kinds[k])
                       for k in sorted(kinds, key=lambda k: (rank.get(k, len(rank)), k)))
    names = Counter(_group_name(a) for a in alerts)
    ordered = sorted(names, key=lambda n: (-names[n], n.casefold(), n))
    shown = ", ".join(ordered[:3])
    if len(ordered) > 3:
        shown += f" and {len(ordered) - 3} more"
    return f"{counts} at {shown}"


def email_subject(alerts: list[dict[str, Any]], *, digest: bool) -> str:
    """``jobdelta: 3 new, 1 changed at Vercel, acme`` (``jobdelta digest: …``
    for a digest; one alert's title appended when it is alone): one line, no
    control characters, at most SUBJECT_LIMIT characters."""
    subject = f"jobdelta{' digest' if digest else ''}: {_headline(alerts)}"
    if len(alerts) == 1 and _kind(alerts[0]) != HEALTH:
        subject += f": {_view(alerts[0])['title']}"
    return one_line(subject, SUBJECT_LIMIT) or "jobdelta"


def render_email(subscription: str, alerts: list[dict[str, Any]], *, digest: bool,
                 unsubscribe: str | None, now: datetime) -> EmailContent:
    """One email for all the alerts of one delivery.

    Grouped by kind (new, changed, reopened, closing, expired, health), then
    by company (or source); each alert shows its title, company, location,
    salary, deadline, reason, field diffs (:func:`describe_change`) and
    links to the posting and to apply (links only for http/https URLs); a
    health notice says which problem started or recovered, and why. The HTML
    is autoescaped with its CSS inlined for mail clients; the text has no
    control characters. The footer names the subscription and how to stop
    it: the ``unsubscribe`` URL when given."""
    groups = [
        {"kind": kind, "heading": _HEADINGS.get(kind) or (one_line(kind, 30) or "Other").capitalize(),
         "count": sum(len(items) for _, items in companies),
         "companies": [{"name": name, "alerts": [_view(a) for a in items]}
                       for name, items in companies]}
        for kind, companies in group_alerts(alerts)
    ]
    context = {
        "subject": email_subject(alerts, digest=digest),
        "headline": _headline(alerts),
        "digest": digest,
        "total": len(alerts),
        "subscription": one_line(subscription, NAME_LIMIT) or "(unnamed)",
        "unsubscribe": _link("Unsubscribe", unsubscribe) if unsubscribe else None,
        "unsubscribe_href": _unsubscribe_href(unsubscribe),
        "sent": _when(now),
        "groups": groups,
    }
    text = _ENV.get_template("email.txt").render(context)
    html = _INLINER.inline(_ENV.get_template("email.html").render(context))
    return EmailContent(subject=context["subject"], text=text, html=html)


def _unsubscribe_href(value: str | None) -> str | None:
    """An unsubscribe link may also be a ``mailto:`` address."""
    url = one_line(value, URL_LIMIT)
    if url and url.lower().startswith("mailto:") and not any(c.isspace() for c in url):
        return url
    return web_url(value)


# --- chat (Apprise) ----------------------------------------------------------

def chat_message(alert: dict[str, Any]) -> tuple[str, str]:
    """(title, body) for one alert in a chat channel: the title with what
    happened, then the company and place, what changed in one line, the
    link. Plain text, control-free and bounded."""
    view = _view(alert)
    if view["health"]:
        title = f"jobdelta health: {view['title']}"
        body = view["reason"] or ""
        return one_line(title, TITLE_LIMIT) or "jobdelta", body
    heading = _HEADINGS.get(_kind(alert)) or (one_line(_kind(alert), 30) or "Alert").capitalize()
    title = one_line(f"{heading}: {view['title']}", TITLE_LIMIT) or "jobdelta"
    lines = [" · ".join(p for p in (view["company"] or view["source"], view["location"]) if p)]
    changes = [_change_line(c) for c in alert.get("changes") or [] if isinstance(c, dict)]
    lines.append(_cut("; ".join(changes), REASON_LIMIT) if changes else view["reason"] or "")
    lines.append(next((link["href"] for link in view["links"] if link["href"]), ""))
    return title, _cut("\n".join(line for line in lines if line), CHAT_BODY_LIMIT)


def chat_summary(alerts: list[dict[str, Any]]) -> tuple[str, str]:
    """(title, body) for many alerts at once: the counts and companies in the
    title, and one line per kind naming its first few postings."""
    title = one_line(f"jobdelta: {_headline(alerts)}", TITLE_LIMIT) or "jobdelta"
    lines = []
    for kind, companies in group_alerts(alerts):
        names = []
        for company, items in companies:
            for alert in items:
                view = _view(alert)
                names.append(view["title"] if view["health"] else f"{view['title']} at {company}")
        heading = _HEADINGS.get(kind) or (one_line(kind, 30) or "Other").capitalize()
        line = f"{heading} ({len(names)}): " + "; ".join(names[:LIST_ITEMS])
        if len(names) > LIST_ITEMS:
            line += f" and {len(names) - LIST_ITEMS} more"
        lines.append(_cut(line, REASON_LIMIT))
    return title, _cut("\n".join(lines), CHAT_BODY_LIMIT)


# --- webhooks ----------------------------------------------------------------

def _timestamp(value: Any) -> str:
    moment = _parse_time(value)
    if moment is None:
        raise ValueError(f"alert time is not an ISO datetime: {value!r}")
    return moment.isoformat().replace("+00:00", "Z")


def webhook_type(alert: dict[str, Any]) -> str:
    """``jobdelta.event.<kind>`` for a change event, ``jobdelta.health.<state>``
    for a health notice; ValueError outside those vocabularies."""
    kind = _kind(alert)
    if kind == HEALTH:
        state = str(alert.get("state") or "")
        if state not in set(NoticeState):
            raise ValueError(f"unknown health notice state: {state!r}")
        return f"jobdelta.health.{state}"
    if kind not in set(EventKind):
        raise ValueError(f"unknown alert kind: {kind!r}")
    return f"jobdelta.event.{kind}"


def webhook_payload(alert: dict[str, Any]) -> dict[str, Any]:
    """The JSON body POSTed for one alert (docs/webhooks.md, version 1):
    ``{"type", "version", "timestamp", "data"}``, ``timestamp`` the alert's
    time in UTC and ``data`` the event (or health notice) in DESIGN.md's field
    names, values untouched (a copy)."""
    kind_type = webhook_type(alert)
    fields = HEALTH_FIELDS if _kind(alert) == HEALTH else EVENT_FIELDS
    data = {name: copy.deepcopy(alert.get(name)) for name in fields}
    if _kind(alert) == HEALTH and alert.get("subscription") is not None:
        data["subscription"] = alert["subscription"]  # webhook_disabled: which one
    return {"type": kind_type, "version": WEBHOOK_VERSION,
            "timestamp": _timestamp(alert.get("at")), "data": data}


def webhook_batch_payload(alerts: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON body for several alerts in one POST: ``type``
    ``jobdelta.batch``, ``timestamp`` the latest alert's time, ``data`` with
    ``count`` and ``alerts`` (each a :func:`webhook_payload`, in the given
    order). ValueError for an empty list."""
    if not alerts:
        raise ValueError("a webhook batch needs at least one alert")
    items = [webhook_payload(alert) for alert in alerts]
    latest = max(items, key=lambda item: _parse_time(item["timestamp"]) or datetime.min.replace(tzinfo=UTC))
    return {"type": "jobdelta.batch", "version": WEBHOOK_VERSION, "timestamp": latest["timestamp"],
            "data": {"count": len(items), "alerts": items}}
