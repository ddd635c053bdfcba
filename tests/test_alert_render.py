"""What people and receivers read about alerts (crawler/alerts/render.py):
field diffs in words, the email (grouping, escaping, stripping, bounds,
links, inlined CSS), chat lines and the versioned webhook payload."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from crawler.alerts.render import (
    EVENT_FIELDS,
    HEALTH_FIELDS,
    SUBJECT_LIMIT,
    TITLE_LIMIT,
    chat_message,
    chat_summary,
    describe_change,
    render_email,
    webhook_batch_payload,
    webhook_payload,
)
from crawler.changes import field_changes
from crawler.normalize.text import strip_controls

from .conftest import ROOT

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
HOSTILE = "<script>alert(1)</script>\x1b[31mRed\x1b[0m\x07 \u202eevil\u202c"
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _posting(**over):
    posting = {"title": "Staff Engineer", "company": "Vercel", "url": "https://vercel.com/careers/1",
               "apply_url": "https://vercel.com/careers/1/apply",
               "locations": [{"raw": "London", "city": "London", "region": None, "country": "GB"}],
               "salary": [{"min": 175000, "max": 310000, "currency": "USD", "period": "year",
                           "raw": "$175,000 - $310,000"}],
               "deadline": "2026-12-12", "description": "We build.\nOld line"}
    posting.update(over)
    return posting


def _event(kind="new", id=1, source="vercel", **posting):
    p = _posting(**posting)
    return {"id": id, "kind": kind, "source": source, "external_id": str(id), "title": p["title"],
            "at": "2026-11-28T10:00:00+00:00", "run_id": 7, "reason": kind, "changes": None,
            "posting": p}


def _health(state="started", source="acme", problem="failing", id=50):
    return {"id": id, "kind": "health", "source": source, "at": "2026-11-28T09:30:00",
            "problem": problem, "state": state, "reason": "3 runs in a row failed", "run_id": 7}


# --- strip_controls --------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    (None, None),
    (42, 42),
    ("", ""),
    ("plain text", "plain text"),
    ("\x1b[31mRed\x1b[0m", "Red"),
    ("bell\x07", "bell"),
    ("a\u202eb\u2066c\u2069", "abc"),
    ("tab\tand\nnewline", "tab\tand\nnewline"),
    ("crlf\r\nand\rcr", "crlf\nand\ncr"),
    ("\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\", "click"),
    ("\x1b]0;window title\x07after", "after"),
    ("\x9b2Jc1\x85nel\x7f", "c1nel"),
    ("Zürich — 東京", "Zürich — 東京"),
])
def test_strip_controls(value, expected):
    assert strip_controls(value) == expected
    assert strip_controls(strip_controls(value)) == expected


# --- describe_change, from the changes the change detector really produces --

def _changes(old, new):
    return {c["field"]: c for c in field_changes(old, new)}


def test_salary_diff_reads_as_ranges():
    old = _posting(salary=[{"min": 163000, "max": 296400, "currency": "USD", "period": "year", "raw": "a"}])
    change = _changes(old, _posting())["salary"]
    assert describe_change(change) == "salary: 163,000–296,400 USD/year → 175,000–310,000 USD/year"


def test_salary_one_end_hourly_and_none():
    change = {"field": "salary", "old": [], "new": [{"min": 52.5, "max": None, "currency": "EUR",
                                                     "period": "hour", "scope": "Berlin"}]}
    assert describe_change(change) == "salary: none → from 52.50 EUR/hour (Berlin)"
    change = {"field": "salary", "old": [{"min": None, "max": 90000, "currency": "GBP", "period": "year"}],
              "new": None}
    assert describe_change(change) == "salary: up to 90,000 GBP/year → none"


def test_deadline_diff_says_how_it_moved():
    change = _changes(_posting(deadline="2026-11-28"), _posting(deadline="2026-12-12"))["deadline"]
    assert describe_change(change) == "deadline: extended by 14 days (now 2026-12-12)"
    change = _changes(_posting(deadline="2026-12-12"), _posting(deadline="2026-12-11"))["deadline"]
    assert describe_change(change) == "deadline: brought forward by 1 day (now 2026-12-11)"
    change = _changes(_posting(deadline="2026-12-12"), _posting(deadline=None))["deadline"]
    assert describe_change(change) == "deadline: removed (was 2026-12-12)"
    change = _changes(_posting(deadline=None), _posting(deadline="2026-12-12"))["deadline"]
    assert describe_change(change) == "deadline: set to 2026-12-12"


def test_title_and_empty_values():
    change = _changes(_posting(title="Engineer"), _posting(title="Senior Engineer"))["title"]
    assert describe_change(change) == "title: Engineer → Senior Engineer"
    assert describe_change({"field": "department", "old": None, "new": "R&D"}) == "department: none → R&D"
    assert describe_change({"field": "workplace_type", "old": "onsite", "new": ""}) == (
        "workplace_type: onsite → none")


def test_locations_added_and_removed():
    old = _posting(locations=[{"raw": "Zürich", "city": "Zürich", "region": None, "country": "CH"},
                              {"raw": "Remote", "city": None, "region": None, "country": "US"}])
    new = _posting(locations=[{"raw": "Remote", "city": None, "region": None, "country": "US"},
                              {"raw": "London", "city": "London", "region": None, "country": "GB"}])
    change = _changes(old, new)["locations"]
    assert describe_change(change) == "locations: added London, GB; removed Zürich, CH"


def test_description_excerpt_keeps_only_changed_lines():
    old = _posting(description="Intro.\n\nWe pay well.\nKeep this.")
    new = _posting(description="Intro.\n\nWe pay very well.\nKeep this.")
    change = _changes(old, new)["description"]
    assert describe_change(change) == (
        "description: -We pay well.\n"
        "             +We pay very well.")


def test_description_excerpt_is_short():
    diff = "\n".join(["--- old", "+++ new", "@@ -1,6 +1,6 @@", " context", "-" + "x" * 500,
                      "+", "+two", "-three", "+four", "-five"])
    text = describe_change({"field": "description", "old": None, "new": None, "diff": diff})
    lines = text.split("\n")
    assert lines[0] == "description: -" + "x" * 158 + "…"
    assert [line.strip() for line in lines[1:]] == [
        "+two", "-three", "+four", "(and 1 more changed lines)"]
    assert describe_change({"field": "description", "old": None, "new": None, "diff": ""}) == (
        "description: changed")


def test_describe_change_strips_and_bounds_board_text():
    text = describe_change({"field": "title", "old": HOSTILE, "new": "y" * 5000})
    assert not CONTROLS.search(text)
    assert text.startswith("title: <script>alert(1)</script>Red evil → yyy")
    assert len(text) < 700


# --- the email ---------------------------------------------------------------

def _mixed_alerts():
    return [
        _health("recovered", source="lever-co", id=60),
        _event("expired", id=2, title="Old Role", company="acme"),
        _event("changed", id=3, title="Designer", company="Vercel"),
        _event("closing", id=4, title="Closing Role", company="acme"),
        _event("new", id=5, title="Zed Role", company="Zeta"),
        _event("reopened", id=6, title="Back Again", company="acme"),
        _event("new", id=7, title="No Company", company=None, source="board-src"),
        _event("new", id=8, title="Acme Role", company="acme"),
        _event("new", id=9, title="Second Acme Role", company="acme"),
    ]


def test_email_groups_by_kind_then_company():
    email = render_email("daily", _mixed_alerts(), digest=True, unsubscribe=None, now=NOW)
    headings = re.findall(r"^== (.+) ==$", email.text, flags=re.M)
    assert headings == ["New (4)", "Changed (1)", "Reopened (1)", "Closing soon (1)", "Expired (1)",
                        "Source health (1)"]
    new_part = email.text.split("== New (4) ==")[1].split("== Changed")[0]
    # companies in case-insensitive order, the source standing in for a missing company,
    # postings of one company in the order given
    assert re.findall(r"^(\S.*)$", new_part, flags=re.M) == ["acme", "board-src", "Zeta"]
    assert re.findall(r"^  \* (.+)$", new_part, flags=re.M) == [
        "Acme Role", "Second Acme Role", "No Company", "Zed Role"]
    html_order = [email.html.index(f">{h}</h2>") for h in headings]
    assert html_order == sorted(html_order)
    assert "lever-co: runs failing (recovered)" in email.text
    assert email.subject == ("jobdelta digest: 4 new, 1 changed, 1 reopened, 1 closing soon, "
                             "1 expired, 1 health notice at acme, board-src, lever-co and 2 more")


def test_email_shows_each_alert_in_full():
    alert = _event("changed", id=3)
    alert["reason"] = "changed: deadline extended by 14 days; fields deadline, salary"
    alert["changes"] = field_changes(
        _posting(deadline="2026-11-28", salary=[{"min": 163000, "max": 296400, "currency": "USD",
                                                 "period": "year"}]), _posting())
    email = render_email("daily", [alert], digest=False, unsubscribe=None, now=NOW)
    assert email.subject == "jobdelta: 1 changed at Vercel: Staff Engineer"
    assert email.text == """\
Alert for subscription "daily", 2026-11-28 12:00 UTC: 1 changed at Vercel.

== Changed (1) ==

Vercel
  * Staff Engineer
    Vercel · London, GB
    Salary: 175,000–310,000 USD/year
    Deadline: 2026-12-12
    Why: changed: deadline extended by 14 days; fields deadline, salary
    Changes:
      deadline: extended by 14 days (now 2026-12-12)
      salary: 163,000–296,400 USD/year → 175,000–310,000 USD/year
    Posting: https://vercel.com/careers/1
    Apply: https://vercel.com/careers/1/apply

--
You get this from the jobdelta subscription "daily".
To stop it, remove the subscription "daily" from the jobdelta configuration.
"""
    assert '<a href="https://vercel.com/careers/1/apply"' in email.html
    assert ">deadline: extended by 14 days (now 2026-12-12)</li>" in email.html


def test_untrusted_board_text_escaped_in_html_and_stripped_in_text():
    alert = _event("new", title=HOSTILE, company="Evil\x1b]0;pwned\x07 Corp\u202e")
    alert["reason"] = "new\x1b[2J"
    email = render_email("daily", [alert], digest=False, unsubscribe=None, now=NOW)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;Red evil" in email.html
    assert "<script" not in email.html
    assert "  * <script>alert(1)</script>Red evil\n" in email.text
    assert "Evil Corp" in email.text and "Evil Corp" in email.html
    for part in (email.subject, email.text, email.html):
        assert "\x1b" not in part and "\x07" not in part and "\u202e" not in part
        assert not CONTROLS.search(part.replace("\n", "").replace("\t", ""))
    assert email.subject == "jobdelta: 1 new at Evil Corp: <script>alert(1)</script>Red evil"


def test_only_web_urls_become_links():
    alert = _event("new", url="javascript:alert(document.cookie)", apply_url="JAVA\tSCRIPT:x()")
    other = _event("new", id=2, url="https://ok.example/job?a=1&b=2", apply_url="data:text/html,hi")
    email = render_email("daily", [alert, other], digest=True, unsubscribe="javascript:evil()", now=NOW)
    hrefs = re.findall(r'href="([^"]*)"', email.html)
    assert hrefs == ["https://ok.example/job?a=1&amp;b=2"]
    assert "Posting: javascript:alert(document.cookie) (not a web link)" in email.text
    assert "Apply: data:text/html,hi (not a web link)" in email.text
    assert "javascript:alert(document.cookie)</span>" in email.html


def test_html_has_inlined_css_and_a_footer_to_stop():
    email = render_email("team <b>jobs</b>", [_event()], digest=True,
                         unsubscribe="https://jd.example/unsub?s=1&t=2", now=NOW)
    assert "<style" not in email.html
    assert re.search(r'<body style="[^"]*font-family', email.html)
    assert 'class="alert" style="' in email.html
    assert 'team &lt;b&gt;jobs&lt;/b&gt;' in email.html
    assert '<a href="https://jd.example/unsub?s=1&amp;t=2"' in email.html
    assert email.text.endswith('You get this from the jobdelta subscription "team <b>jobs</b>".\n'
                               "To stop it: https://jd.example/unsub?s=1&t=2\n")
    mail = render_email("x", [_event()], digest=True, unsubscribe="mailto:stop@jd.example", now=NOW)
    assert '<a href="mailto:stop@jd.example"' in mail.html


def test_board_strings_are_bounded():
    alert = _event("new", title="T" * 10_000, company="C" * 10_000)
    alert["reason"] = "r " * 5000
    email = render_email("daily", [alert], digest=False, unsubscribe=None, now=NOW)
    title_line = next(line for line in email.text.splitlines() if line.startswith("  * "))
    assert title_line == "  * " + "T" * (TITLE_LIMIT - 1) + "…"
    assert max(len(line) for line in email.text.splitlines()) <= 520
    assert len(email.subject) == SUBJECT_LIMIT and email.subject.endswith("…")


def test_subject_is_one_bounded_line():
    alerts = [_event("new", id=i, company=f"Company\n{i:03d}\r\x1b[1m" + "x" * 60) for i in range(40)]
    alerts.append(_event("changed", id=99, company="Vercel"))
    subject = render_email("s", alerts, digest=False, unsubscribe=None, now=NOW).subject
    assert len(subject) <= SUBJECT_LIMIT
    assert "\n" not in subject and "\r" not in subject and "\x1b" not in subject
    assert subject.startswith("jobdelta: 40 new, 1 changed at Company 000")
    small = [_event("new", id=1, company="Vercel"), _event("new", id=2, company="Vercel"),
             _event("new", id=3, company="Vercel"), _event("changed", id=4, company="acme")]
    assert render_email("s", small, digest=False, unsubscribe=None, now=NOW).subject == (
        "jobdelta: 3 new, 1 changed at Vercel, acme")


def test_health_notice_in_email():
    email = render_email("ops", [_health("started")], digest=False, unsubscribe=None, now=NOW)
    assert email.subject == "jobdelta: 1 health notice at acme"
    assert "  * acme: runs failing (started)\n    Why: 3 runs in a row failed\n" in email.text
    assert "    At: 2026-11-28 09:30 UTC\n" in email.text


# --- chat ----------------------------------------------------------------------

def test_chat_message_is_short():
    alert = _event("changed")
    alert["changes"] = field_changes(_posting(title="Engineer", description="a\nb"),
                                     _posting(description="a\nc"))
    title, body = chat_message(alert)
    assert title == "Changed: Staff Engineer"
    assert body == ("Vercel · London, GB\n"
                    "description edited; title: Engineer → Staff Engineer\n"
                    "https://vercel.com/careers/1")
    title, body = chat_message(_event("new", title=HOSTILE, url="javascript:x()", apply_url=None))
    assert title == "New: <script>alert(1)</script>Red evil"
    assert body == "Vercel · London, GB\nnew"
    assert chat_message(_health("recovered")) == (
        "jobdelta health: acme: runs failing (recovered)", "3 runs in a row failed")


def test_chat_summary_names_the_first_few():
    alerts = [_event("new", id=i, title=f"Role {i}") for i in range(7)] + [_health()]
    title, body = chat_summary(alerts)
    assert title == "jobdelta: 7 new, 1 health notice at Vercel, acme"
    assert body == ("New (7): Role 0 at Vercel; Role 1 at Vercel; Role 2 at Vercel; Role 3 at Vercel; "
                    "Role 4 at Vercel and 2 more\n"
                    "Source health (1): acme: runs failing (started)")


# --- webhook payload -------------------------------------------------------------

@pytest.mark.parametrize("kind", ["new", "changed", "expired", "reopened", "closing"])
def test_webhook_payload_for_events(kind):
    alert = _event(kind)
    payload = webhook_payload(alert)
    assert payload["type"] == f"jobdelta.event.{kind}"
    assert payload["version"] == 1
    assert payload["timestamp"] == "2026-11-28T10:00:00Z"
    assert tuple(payload["data"]) == EVENT_FIELDS
    assert payload["data"]["posting"] == alert["posting"]
    assert payload["data"]["posting"] is not alert["posting"]
    assert json.loads(json.dumps(payload)) == payload


def test_webhook_payload_for_health_and_values_untouched():
    payload = webhook_payload(_health("recovered"))
    assert payload["type"] == "jobdelta.health.recovered"
    assert payload["timestamp"] == "2026-11-28T09:30:00Z"
    assert tuple(payload["data"]) == HEALTH_FIELDS
    assert webhook_payload(_health("started"))["type"] == "jobdelta.health.started"
    hostile = webhook_payload(_event("new", title=HOSTILE))
    assert hostile["data"]["posting"]["title"] == HOSTILE  # JSON escaping is the receiver's safety
    with pytest.raises(ValueError, match="unknown alert kind"):
        webhook_payload({**_event(), "kind": "deleted"})
    with pytest.raises(ValueError, match="unknown health notice state"):
        webhook_payload({**_health(), "state": "ongoing"})


def test_webhook_batch_payload():
    alerts = [_event("new", id=1), {**_event("changed", id=2), "at": "2026-11-28T11:00:00+01:00"},
              {**_health(), "at": "2026-11-28T10:30:00"}]
    batch = webhook_batch_payload(alerts)
    assert batch["type"] == "jobdelta.batch" and batch["version"] == 1
    assert batch["timestamp"] == "2026-11-28T10:30:00Z"
    assert batch["data"]["count"] == 3
    assert [a["type"] for a in batch["data"]["alerts"]] == [
        "jobdelta.event.new", "jobdelta.event.changed", "jobdelta.health.started"]
    with pytest.raises(ValueError):
        webhook_batch_payload([])


def test_docs_receiver_verifies_a_signed_payload():
    """The receiver in docs/webhooks.md runs, accepts a message signed the
    Standard Webhooks way and refuses a tampered one."""
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    docs = (ROOT / "docs" / "webhooks.md").read_text(encoding="utf-8")
    for kind in ("new", "changed", "expired", "reopened", "closing"):
        assert f'"type": "jobdelta.event.{kind}"' in docs
    assert '"type": "jobdelta.health.started"' in docs and '"type": "jobdelta.health.recovered"' in docs
    code = re.search(r"```python\n(.*?)```", docs, flags=re.S).group(1)
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    namespace: dict = {}
    exec(compile(code, "docs/webhooks.md", "exec"), namespace)  # noqa: S102 - our own docs
    receive = namespace["receive"]
    body = json.dumps(webhook_payload(_event("changed"))).encode()
    moment = datetime.now(UTC)
    headers = {"webhook-id": "delivery-42", "webhook-timestamp": str(int(moment.timestamp())),
               "webhook-signature": Webhook(secret).sign("delivery-42", moment, body.decode())}
    assert receive(body, headers, secret)["type"] == "jobdelta.event.changed"
    with pytest.raises(WebhookVerificationError):
        receive(body.replace(b"Staff", b"Chief"), headers, secret)
    old = moment - timedelta(hours=1)
    stale = {**headers, "webhook-timestamp": str(int(old.timestamp())),
             "webhook-signature": Webhook(secret).sign("delivery-42", old, body.decode())}
    with pytest.raises(WebhookVerificationError):
        receive(body, stale, secret)


def test_empty_delivery_says_nothing_to_report():
    email = render_email("x", [], digest=True, unsubscribe=None, now=datetime(2026, 1, 1))
    assert email.subject == "jobdelta digest: nothing to report"
    assert email.text.startswith('Digest for subscription "x", 2026-01-01 00:00 UTC: nothing to report.\n')
    assert chat_summary([]) == ("jobdelta: nothing to report", "")
