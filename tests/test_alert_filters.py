"""Which alert reaches which subscriber, and the words that say why
(crawler.alerts.filters): kinds and sources, title and keywords folded for
case, accents and look-alike letters, company and places, workplace and
employment, the salary floor across periods and currencies, `fields` for
changed events, and health notices."""

from __future__ import annotations

import copy

import pytest

from crawler.alerts.filters import (
    ALERT_KINDS,
    SalaryFloor,
    Subscription,
    Verdict,
    compile_title,
    fold,
    fold_pattern,
    judge,
)

ENGINEER = {
    "title": "Senior Software Engineer, Inference",
    "company": "Vercel",
    "url": "https://boards.example/acme/1",
    "locations": [{"raw": "London, UK", "city": "London", "region": None, "country": "GB"},
                  {"raw": "New York, NY", "city": "New York", "region": "NY", "country": "US"}],
    "workplace_type": "hybrid",
    "employment_type": "full_time",
    "salary": [{"min": 163000, "max": 296400, "currency": "USD", "period": "year", "raw": "$163,000 - $296,400"}],
    "deadline": "2025-11-14",
    "description": "You will write CUDA kernels for our serving stack.",
}


def posting(**changes):
    data = copy.deepcopy(ENGINEER)
    data.update(changes)
    return data


def event(kind="new", source="acme", changes=None, **fields):
    post = posting(**fields)
    alert = {"id": 1, "kind": kind, "source": source, "external_id": "1", "title": post["title"],
             "at": "2025-11-01T08:00:00+00:00", "run_id": 7, "reason": f"{kind}: test", "posting": post}
    if changes is not None:
        alert["changes"] = [{"field": f, "old": None, "new": None} for f in changes]
    return alert


def health(source="acme", problem="failing", state="started"):
    return {"id": 2, "kind": "health", "source": source, "at": "2025-11-01T08:00:00+00:00",
            "problem": problem, "state": state, "reason": "3 failed runs in a row", "run_id": 9}


def sub(**filters):
    return Subscription(name="me", channel="email", target="me@example.com", **filters)


USD_150K = SalaryFloor(150000, "USD", "year")


@pytest.mark.parametrize("alert, filters, expected", [
    # title regex, explained both ways
    (event(), {"title": "(?i)engineer"}, "passes: new at acme; title matches (?i)engineer"),
    (event(title="Sales Manager"), {"title": "(?i)engineer"},
     "stopped: title 'Sales Manager' does not match (?i)engineer"),
    # look-alike letters: a Cyrillic Е, and Greek capitals, match plain "engineer"
    (event(title="Senior \u0415ngineer"), {"title": "engineer"}, "passes: new at acme; title matches engineer"),
    (event(title="\u0395NG\u0399N\u0395\u0395R"), {"title": r"^engineer$"},
     "passes: new at acme; title matches ^engineer$"),
    # accents, on either side
    (event(title="Ingénieur logiciel"), {"title": r"\bingenieur\b"},
     r"passes: new at acme; title matches \bingenieur\b"),
    (event(title="INGENIEUR LOGICIEL"), {"title": "Ingénieur"}, "passes: new at acme; title matches Ingénieur"),
    (event(title="Ｅｎｇｉｎｅｅｒ"), {"title": "engineer"}, "passes: new at acme; title matches engineer"),
    # keywords: whole words, in the title or the description
    (event(), {"keywords": ("cuda", "triton")}, "passes: new at acme; keyword 'cuda' found"),
    (event(), {"keywords": ("inference",)}, "passes: new at acme; keyword 'inference' found"),
    (event(description="Google Cloud experience"), {"keywords": ("go",), "title": "."},
     "stopped: no keyword of go in title or description"),
    (event(description="Written in G\u043e and Rust"), {"keywords": ("go",)},  # Cyrillic о
     "passes: new at acme; keyword 'go' found"),
    # company: folded equality
    (event(company="VERCEL"), {"companies": ("Vercel",)}, "passes: new at acme; company VERCEL"),
    (event(company="Acme"), {"companies": ("Vercel",)}, "stopped: company 'Acme' not in companies Vercel"),
    (event(company=None), {"companies": ("Vercel",)}, "stopped: company unknown not in companies Vercel"),
    # places: any of the posting's locations
    (event(), {"countries": ("US",)}, "passes: new at acme; location in US"),
    (event(), {"countries": ("FR", "DE")}, "stopped: no location in countries FR, DE (posting: GB, US)"),
    (event(), {"cities": ("london",)}, "passes: new at acme; location in London"),
    (event(locations=[{"raw": "Zurich", "city": "Zurich", "region": None, "country": "CH"}]),
     {"cities": ("Zürich",)}, "passes: new at acme; location in Zurich"),
    (event(locations=[]), {"cities": ("London",)}, "stopped: no location in cities London (posting: no city)"),
    # workplace and employment
    (event(), {"workplace": ("remote", "hybrid")}, "passes: new at acme; workplace hybrid"),
    (event(workplace_type="onsite"), {"workplace": ("remote",)}, "stopped: workplace onsite not in remote"),
    (event(workplace_type=None), {"workplace": ("remote",)}, "stopped: workplace unknown not in remote"),
    (event(employment_type="contract"), {"employment": ("full_time",)},
     "stopped: employment contract not in full_time"),
])
def test_text_and_place_filters(alert, filters, expected):
    assert str(judge(alert, sub(**filters))) == expected


def _pay(low, high, currency="USD", period="year"):
    return [{"min": low, "max": high, "currency": currency, "period": period, "raw": "..."}]


@pytest.mark.parametrize("salary, required, expected", [
    (_pay(163000, 296400), False, "passes: new at acme; salary 163000-296400 USD/year >= 150000 USD/year"),
    (_pay(100000, 140000), False, "stopped: salary 100000-140000 USD/year < 150000 USD/year"),
    # a range passes on its max; without a max, on its min
    (_pay(120000, 150000), True, "passes: new at acme; salary 120000-150000 USD/year >= 150000 USD/year"),
    (_pay(155000, None), True, "passes: new at acme; salary 155000 USD/year >= 150000 USD/year"),
    # other periods, converted to a year: hour x2080, day x260, week x52, month x12
    (_pay(80, None, period="hour"), True,
     "passes: new at acme; salary 80 USD/hour = 166400 USD/year >= 150000 USD/year"),
    (_pay(60, 70, period="hour"), True, "stopped: salary 60-70 USD/hour = 145600 USD/year < 150000 USD/year"),
    (_pay(10000, 12500, period="month"), True,
     "passes: new at acme; salary 10000-12500 USD/month = 150000 USD/year >= 150000 USD/year"),
    (_pay(600, None, period="day"), True, "passes: new at acme; salary 600 USD/day = 156000 USD/year >= 150000 USD/year"),
    (_pay(2800, None, period="week"), True, "stopped: salary 2800 USD/week = 145600 USD/year < 150000 USD/year"),
    # no salary: passes only when salary_required is false
    ([], False, "passes: new at acme; no salary (salary not required)"),
    ([], True, "stopped: no salary and salary_required (floor 150000 USD/year)"),
    # another currency cannot be compared: it counts as no salary
    (_pay(200000, 250000, currency="EUR"), False, "passes: new at acme; salary only in EUR (salary not required)"),
    (_pay(200000, 250000, currency="EUR"), True,
     "stopped: salary only in EUR and salary_required (floor 150000 USD/year)"),
    # a period the board did not state cannot be compared either
    (_pay(200000, None, period=None), True,
     "stopped: salary without an amount or a period and salary_required (floor 150000 USD/year)"),
    # any comparable entry reaching the floor is enough
    (_pay(90000, 110000, currency="GBP") + _pay(140000, 180000), True,
     "passes: new at acme; salary 140000-180000 USD/year >= 150000 USD/year"),
])
def test_salary_floor(salary, required, expected):
    verdict = judge(event(salary=salary), sub(min_salary=USD_150K, salary_required=required))
    assert str(verdict) == expected


def test_floor_in_another_period_is_compared_in_its_own_period():
    floor = SalaryFloor(70, "USD", "hour")
    assert str(judge(event(), sub(min_salary=floor))) == (
        "passes: new at acme; salary 163000-296400 USD/year = 142.5 USD/hour >= 70 USD/hour")


@pytest.mark.parametrize("alert, filters, expected", [
    # `fields`: only changes of those fields reach the subscriber
    (event("changed", changes=["salary", "description"]), {"fields": ("salary", "deadline")},
     "passes: changed at acme; changed salary"),
    (event("changed", changes=["description"]), {"fields": ("salary", "deadline", "title")},
     "stopped: changed description, none of fields salary, deadline, title"),
    (event("changed", changes=["description"]), {}, "passes: changed at acme"),
    # `fields` filters changed events only: a reopened one with other changes passes
    (event("reopened", changes=["description"]), {"fields": ("salary",)}, "passes: reopened at acme"),
    (event("new"), {"fields": ("salary",)}, "passes: new at acme"),
    # expired and closing are judged on the posting they carry
    (event("expired", title="Sales Manager"), {"title": "engineer"},
     "stopped: title 'Sales Manager' does not match engineer"),
    (event("expired"), {"title": "engineer"}, "passes: expired at acme; title matches engineer"),
    (event("closing", workplace_type="onsite"), {"workplace": ("remote",)},
     "stopped: workplace onsite not in remote"),
    (event("closing"), {"countries": ("GB",), "min_salary": USD_150K},
     "passes: closing at acme; location in GB; salary 163000-296400 USD/year >= 150000 USD/year"),
    # kinds and sources
    (event("expired"), {"kinds": frozenset({"new", "changed"})}, "stopped: kind expired not in kinds new, changed"),
    (event(source="beta"), {"sources": ("acme",)}, "stopped: source beta not in sources acme"),
    (event(source="beta"), {"sources": ("acme", "beta")}, "passes: new at beta"),
    # health notices need only the kind and the source filter
    (health(), {"title": "engineer", "min_salary": USD_150K, "salary_required": True, "countries": ("US",)},
     "passes: health at acme"),
    (health(source="beta"), {"sources": ("acme",)}, "stopped: source beta not in sources acme"),
    (health(), {"kinds": frozenset({"new"})}, "stopped: kind health not in kinds new"),
])
def test_kinds_sources_fields_and_health(alert, filters, expected):
    assert str(judge(alert, sub(**filters))) == expected


def test_which_alerts_reach_which_subscribers():
    alerts = {
        "new-engineer": event("new"),
        "new-sales": event("new", title="Sales Manager", salary=[]),
        "new-at-beta": event("new", source="beta"),
        "salary-raised": event("changed", changes=["salary"]),
        "description-edited": event("changed", changes=["description"]),
        "expired-engineer": event("expired"),
        "closing-hourly": event("closing", salary=_pay(80, None, period="hour")),
        "closing-eur": event("closing", salary=_pay(200000, None, currency="EUR")),
        "failing-acme": health("acme"),
        "failing-beta": health("beta"),
    }
    subscribers = {
        "everything": sub(),
        "acme-engineers": sub(sources=("acme",), title="(?i)engineer", min_salary=USD_150K,
                              salary_required=True, fields=("salary", "deadline", "title"),
                              kinds=frozenset({"new", "changed", "expired", "closing", "health"})),
        "health-only": sub(kinds=frozenset({"health"})),
        "new-remote-ok": sub(kinds=frozenset({"new"}), workplace=("hybrid", "remote"), salary_required=False,
                             min_salary=USD_150K),
    }
    reached = {name: {a for a, alert in alerts.items() if judge(alert, s).passes}
               for name, s in subscribers.items()}
    assert reached == {
        "everything": set(alerts),
        "acme-engineers": {"new-engineer", "salary-raised", "expired-engineer", "closing-hourly",
                           "failing-acme"},
        "health-only": {"failing-acme", "failing-beta"},
        "new-remote-ok": {"new-engineer", "new-sales", "new-at-beta"},
    }


def test_verdict_is_truthy_when_it_passes():
    assert judge(event(), sub()) == Verdict(True, "new at acme")
    assert not judge(event(title="Sales"), sub(title="engineer"))
    assert set(ALERT_KINDS) == {"new", "changed", "expired", "reopened", "closing", "health"}


@pytest.mark.parametrize("text, folded", [
    ("Engineer", "engineer"),
    ("\u0415ngineer", "engineer"),  # Cyrillic capital Е
    ("\u0395NG\u0399N\u0395\u0395R", "engineer"),  # Greek Ε, Ι
    ("\u0391\u0399 \u0395\u039dG\u0399\u039d\u0395\u0395R", "ai engineer"),  # Greek Α Ι Ν: capital Nu is N
    ("\u03a1\u03a5\u03a4\u0397\u039f\u039d", "python"),
    ("Ingénieur", "ingenieur"),
    ("Straße", "strasse"),
    ("ﬁnance", "finance"),
    ("Ｃ＋＋", "c++"),
    ("São Paulo", "sao paulo"),
    ("", ""),
    ("engineer", "engineer"),  # already folded: unchanged
])
def test_fold(text, folded):
    assert fold(text) == folded
    assert fold(fold(text)) == folded


def test_fold_pattern_keeps_escapes():
    assert fold_pattern(r"(?i)\bSenior\s+Ingénieur\S*\.") == r"(?i)\bsenior\s+ingenieur\S*\."
    assert fold_pattern(r"\N{LATIN SMALL LETTER E WITH ACUTE}") == "e"
    assert compile_title("^\\w+ \u0415NGINEER$").search(fold("Senior engineer"))  # Cyrillic Е
