"""Benchmark data: a realistic jobdelta history written straight into a
database, so a benchmark gets 100,000 postings over 30 rounds in minutes
instead of weeks of crawling.

Round 0 is a first crawl of ``postings`` postings over ``sources`` boards
(greenhouse, lever and jsonld; about 60 companies, a few with accents and
one with ``<b>&`` in its name; ten countries). Every later round edits 1%
of the open postings (salary, title, one word of the description or the
deadline), removes 1% (missing from the board) and adds 1%, at least one
each (:func:`round_quota`); postings whose deadline passed expire as a
crawl would expire them. Each round is one complete run per source whose
counts are what that round did to the source.

The rows are the ones a real crawl writes: versions carry
:func:`db.models.posting_facets`, events are built by
:func:`crawler.expiry.event_row`, diffs and reasons come from
:mod:`crawler.changes`, content hashes from :func:`crawler.items.content_hash`,
and expiry and closing notices are written by :mod:`crawler.expiry` itself.
Everything follows from the seed: the same seed gives the same content
hashes on every backend. Per posting only its id, version, deadline and
which watched fields it has are kept in memory; old content is read back
from the database, as the recorder does.

:func:`check_history` reads a database back and lists what is inconsistent.

    .venv/bin/python bench/history_data.py --postings 100000 --rounds 30 --backend postgres
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time
import uuid
from collections import Counter, deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session, sessionmaker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler import expiry  # noqa: E402
from crawler.changes import change_reason, days_until, field_changes  # noqa: E402
from crawler.expiry import Policy, event_row  # noqa: E402
from crawler.items import PUBLIC_FIELDS, content_hash  # noqa: E402
from crawler.recorder import COVERAGE_FIELDS  # noqa: E402
from db.engine import get_engine, session_factory  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import (  # noqa: E402
    Event,
    Posting,
    Run,
    Source,
    SourceHealth,
    Version,
    posting_facets,
)
from db.vocab import EventKind, HealthState, PostingStatus, RunStatus  # noqa: E402

PG_ADMIN_URL = os.environ.get("JOBDELTA_TEST_PG",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")
START = datetime(2026, 1, 5, tzinfo=UTC)
ROUND_EVERY = timedelta(days=1)
SHARE = 0.01  # of the open postings, edited, removed and added each round
BATCH = 2000  # rows per INSERT
HOLDER = "bench:history_data"  # the runs' lease holder
POLICY = Policy()  # the defaults a crawl runs with: expire after 2 runs, closing at 7 and 1 days
# the reason crawler.expiry.missing gives a posting gone from the board
MISSING_REASON = f"expired: missing from {POLICY.expire_after_runs} consecutive complete runs"
BOARDS = ("greenhouse", "lever", "jsonld")

# --------------------------------------------------------------------------- vocabulary

_STEMS = ("Northwind", "Bluefin", "Cobalt", "Lumen", "Helix", "Quarry", "Tidewater", "Vantage",
          "Orbital", "Juniper", "Kestrel", "Meridian", "Nimbus", "Saffron", "Granite", "Harbor",
          "Ironbark", "Larkspur", "Mosaic", "Obsidian", "Pelican", "Quillon", "Redwood", "Sable",
          "Tundra", "Umberline")
_TRADES = ("Labs", "Systems", "Health", "Robotics", "Analytics", "Energy", "Logistics", "Pay",
           "Cloud", "Bio", "AI", "Games", "Foods")
COMPANIES: tuple[str, ...] = (
    *(f"{stem} {_TRADES[(i * 5) % len(_TRADES)]}" for i, stem in enumerate(_STEMS)),
    *(f"{stem} {_TRADES[(i * 5 + 7) % len(_TRADES)]}" for i, stem in enumerate(_STEMS)),
    "Société Numérique", "Müller & Söhne", "Ångström Labs", "Café Lógica", "Zürich Quantenwerk",
    "São Paulo Dados", "Øresund Analytics", "Brackets <b>&</b> Co",
)

# country -> (name, currency, symbol, pay factor against USD bands, [(city, region, raw)])
COUNTRIES: dict[str, tuple[str, str, str, float, list[tuple[str, str, str]]]] = {
    "US": ("United States", "USD", "$", 1.0, [
        ("San Francisco", "CA", "San Francisco, CA"), ("New York", "NY", "New York, NY"),
        ("Austin", "TX", "Austin, TX"), ("Seattle", "WA", "Seattle, WA")]),
    "GB": ("United Kingdom", "GBP", "£", 0.7, [
        ("London", "England", "London, UK"), ("Manchester", "England", "Manchester, UK")]),
    "DE": ("Germany", "EUR", "€", 0.75, [
        ("Berlin", "Berlin", "Berlin, Germany"), ("München", "Bavaria", "München, Germany")]),
    "FR": ("France", "EUR", "€", 0.65, [("Paris", "Île-de-France", "Paris, France")]),
    "NL": ("Netherlands", "EUR", "€", 0.7, [("Amsterdam", "North Holland", "Amsterdam, NL")]),
    "CA": ("Canada", "CAD", "CA$", 1.1, [
        ("Toronto", "ON", "Toronto, ON, Canada"), ("Montréal", "QC", "Montréal, QC, Canada")]),
    "IE": ("Ireland", "EUR", "€", 0.75, [("Dublin", "Leinster", "Dublin, Ireland")]),
    "IN": ("India", "INR", "₹", 30.0, [("Bengaluru", "Karnataka", "Bengaluru, India")]),
    "JP": ("Japan", "JPY", "¥", 100.0, [("Tokyo", "Tokyo", "Tokyo, Japan")]),
    "BR": ("Brazil", "BRL", "R$", 2.5, [("São Paulo", "SP", "São Paulo, Brazil")]),
    "PL": ("Poland", "PLN", "zł ", 2.2, [("Warsaw", "Masovia", "Warsaw, Poland")]),
}
_COUNTRY_CODES = tuple(COUNTRIES)
_SYMBOLS = {currency: symbol for _name, currency, symbol, *_ in COUNTRIES.values()}
_COUNTRY_WEIGHTS = (30, 12, 10, 6, 5, 6, 4, 6, 3, 3, 3)

# department -> (roles, a base yearly pay in thousands of USD)
DEPARTMENTS: dict[str, tuple[tuple[str, ...], int]] = {
    "Engineering": (("Backend Engineer", "Frontend Engineer", "Platform Engineer",
                     "Site Reliability Engineer", "Software Engineer, Payments",
                     "Infrastructure Engineer", "Security Engineer", "Mobile Engineer (iOS)"), 150),
    "Data": (("Data Engineer", "Data Scientist", "Machine Learning Engineer",
              "Analytics Engineer", "Research Scientist, LLM"), 160),
    "Product": (("Product Manager", "Technical Program Manager", "Product Analyst"), 145),
    "Design": (("Product Designer", "UX Researcher", "Brand Designer"), 120),
    "Sales": (("Account Executive", "Solutions Engineer", "Sales Development Representative",
               "Customer Success Manager"), 95),
    "Operations": (("Operations Manager", "Supply Chain Analyst", "IT Support Specialist"), 80),
    "Finance": (("Financial Analyst", "Accountant", "Revenue Operations Manager"), 100),
    "People": (("Recruiter", "People Partner", "Talent Acquisition Coordinator"), 85),
}
_DEPARTMENT_NAMES = tuple(DEPARTMENTS)
_DEPARTMENT_WEIGHTS = (40, 15, 10, 6, 12, 7, 5, 5)
LEVELS = ("", "Junior ", "Senior ", "Staff ", "Principal ", "Lead ")
_LEVEL_WEIGHTS = (35, 8, 35, 12, 5, 5)
_LEVEL_PAY = {"": 1.0, "Junior ": 0.7, "Senior ": 1.25, "Staff ": 1.5, "Principal ": 1.8,
              "Lead ": 1.35}
WORKPLACES = {"onsite": "On-site", "hybrid": "Hybrid", "remote": "Remote"}
EMPLOYMENT = {"full_time": "Full-time", "part_time": "Part-time", "contract": "Contract",
              "temporary": "Temporary", "internship": "Internship"}
_EMPLOYMENT_WEIGHTS = (80, 5, 9, 2, 4)
SKILLS = ("Python", "Go", "Rust", "TypeScript", "React", "Kubernetes", "Terraform", "AWS", "GCP",
          "PostgreSQL", "Kafka", "Spark", "dbt", "SQL", "PyTorch", "CUDA", "Figma", "Salesforce",
          "Excel", "Linux", "gRPC", "GraphQL", "Java", "Kotlin", "Swift")
WORDS = (
    "build", "ship", "design", "scale", "operate", "improve", "measure", "own", "lead", "mentor",
    "review", "support", "launch", "maintain", "automate", "debug", "profile", "document",
    "platform", "service", "system", "pipeline", "product", "customer", "team", "roadmap",
    "infrastructure", "database", "cluster", "network", "model", "dataset", "feature", "release",
    "incident", "latency", "throughput", "reliability", "security", "privacy", "quality", "cost",
    "experiment", "dashboard", "metric", "contract", "interface", "library", "tooling", "workflow",
    "we", "you", "our", "your", "the", "a", "with", "across", "for", "and", "to", "of", "in", "on",
    "every", "many", "new", "existing", "large", "small", "fast", "careful", "clear", "shared",
    "distributed", "realtime", "batch", "global", "regional", "internal", "external", "open",
    "engineers", "designers", "analysts", "partners", "users", "teams", "leaders", "researchers",
    "help", "grow", "learn", "write", "read", "plan", "test", "deploy", "monitor", "migrate",
    "weekly", "daily", "quarterly", "together", "independently", "thoughtfully", "quickly",
    "hiring", "benefits", "equity", "salary", "remote", "office", "travel", "growth", "career",
    "inclusive", "diverse", "flexible", "generous", "healthy", "balanced", "transparent",
)
_HEADINGS = ("About {company}", "About the role", "What you will do", "What we look for",
             "Nice to have", "What we offer", "How we hire")
_SENTENCE_LENGTHS = tuple(range(8, 19))  # words
_PARAGRAPH_LENGTHS = (2, 3, 4, 5)  # sentences


# --------------------------------------------------------------------------- the rule


def round_quota(open_count: int, share: float = SHARE) -> int:
    """How many postings one round edits, and as many it removes and adds:
    ``share`` (1%) of the postings open before the round, at least one
    (none of none). Postings whose deadline passes expire on top of these."""
    return max(1, round(open_count * share)) if open_count else 0


# --------------------------------------------------------------------------- postings


def _day(moment: datetime, days: int) -> str:
    return (moment + timedelta(days=days)).date().isoformat()


def _salary_raw(symbol: str, low: int, high: int, period: str) -> str:
    return f"{symbol}{low:,} - {symbol}{high:,} per {period}"


class _Factory:
    """Canonical postings and their edits, every choice drawn from one
    seeded random generator (nothing hashed or iterated from a set, so the
    same seed gives the same postings in every process)."""

    def __init__(self, rng: random.Random, sources: list[dict[str, Any]]):
        self.rng = rng
        self.sources = sources

    # -- new postings

    def posting(self, s: int, serial: int, now: datetime) -> dict[str, Any]:
        rng, src = self.rng, self.sources[s]
        company = rng.choice(src["companies"])
        department = rng.choices(_DEPARTMENT_NAMES, _DEPARTMENT_WEIGHTS)[0]
        roles, base_pay = DEPARTMENTS[department]
        level = rng.choices(LEVELS, _LEVEL_WEIGHTS)[0]
        workplace = rng.choices((*WORKPLACES, None), (50, 30, 15, 5))[0]
        employment = rng.choices(tuple(EMPLOYMENT), _EMPLOYMENT_WEIGHTS)[0]
        countries = [rng.choices(_COUNTRY_CODES, _COUNTRY_WEIGHTS)[0]]
        if rng.random() < 0.1:
            others = [c for c in _COUNTRY_CODES if c != countries[0]]
            countries += rng.sample(others, rng.randint(1, 2))
        locations = [self._location(c, workplace) for c in countries]
        language = "en"
        title = level + rng.choice(roles)
        if countries[0] in ("DE", "FR") and rng.random() < 0.3:
            language = "de" if countries[0] == "DE" else "fr"
            title += " (m/w/d)" if language == "de" else " (H/F)"
        salary = []
        if rng.random() < 0.5:
            period = "hour" if employment in ("part_time", "contract", "internship") else "year"
            for c in countries[: rng.randint(1, len(countries))]:
                salary.append(self._salary(c, base_pay * _LEVEL_PAY[level], period))
        # the first crawl finds postings up to weeks old (its serials are
        # negative); later rounds find them within days of posting
        posted = now - timedelta(days=rng.randint(0, 45) if serial < 0 else rng.randint(0, 2),
                                 hours=rng.randint(0, 23), minutes=rng.randint(0, 59))
        posted_at = (posted.isoformat(timespec="seconds") if rng.random() < 0.3
                     else posted.date().isoformat())
        deadline = None
        if rng.random() < 0.2:
            days = rng.randint(1, 7) if rng.random() < 0.15 else rng.randint(8, 75)
            deadline = _day(now, days)
            if rng.random() < 0.2:
                deadline += "T17:00:00+00:00"
        ext, url, apply_url = self._identity(s, serial, company)
        return {
            "source": src["name"], "external_id": ext, "url": url, "apply_url": apply_url,
            "title": title, "company": company, "department": department,
            "requisition_id": f"R{rng.randint(10000, 99999)}" if rng.random() < 0.6 else None,
            "locations": locations, "workplace_type": workplace, "employment_type": employment,
            "salary": salary, "posted_at": posted_at, "deadline": deadline,
            "description": self._description(company, title),
            "skills": rng.sample(SKILLS, rng.randint(0, 6)), "language": language,
            "locations_raw": [loc["raw"] for loc in locations],
            "workplace_type_raw": WORKPLACES.get(workplace or ""),
            "employment_type_raw": EMPLOYMENT[employment],
            "salary_raw": [x["raw"] for x in salary],
            "posted_at_raw": posted_at, "deadline_raw": deadline,
            "posted_at_relative": False, "fetched_at": now.isoformat(),
        }

    def _identity(self, s: int, serial: int, company: str) -> tuple[str, str, str]:
        src = self.sources[s]
        n = serial + 1_000_000  # serials from round 0 are negative
        if src["board"] == "greenhouse":
            ext = str(4_000_000_000 + n * 37)
            url = f"https://boards.greenhouse.io/{src['slug']}/jobs/{ext}"
            return ext, url, f"{url}#app"
        if src["board"] == "lever":
            ext = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
            url = f"https://jobs.lever.co/{src['slug']}/{ext}"
            return ext, url, f"{url}/apply"
        ext = f"job-{n:07d}"
        slug = "".join(ch for ch in company.lower() if ch.isascii() and ch.isalnum())
        url = f"https://careers.{src['slug']}.example/{slug}/{ext}"
        return ext, url, f"{url}/apply"

    def _location(self, country: str, workplace: str | None) -> dict[str, Any]:
        name, *_, places = COUNTRIES[country]
        if workplace == "remote" and self.rng.random() < 0.7:
            return {"raw": f"Remote - {name}", "city": None, "region": None, "country": country}
        city, region, raw = self.rng.choice(places)
        return {"raw": raw, "city": city, "region": region, "country": country}

    def _salary(self, country: str, base: float, period: str) -> dict[str, Any]:
        _name, currency, symbol, factor, _places = COUNTRIES[country]
        if period == "hour":
            low = max(1, round(base * factor * 1000 / 2080 * self.rng.uniform(0.8, 1.0)))
            high = round(low * self.rng.uniform(1.1, 1.4))
        else:
            low = round(base * factor * self.rng.uniform(0.85, 1.05)) * 1000
            high = round(low * self.rng.uniform(1.15, 1.4) / 1000) * 1000
        return {"min": low, "max": high, "currency": currency, "period": period,
                "raw": _salary_raw(symbol, low, high, period)}

    def _description(self, company: str, title: str) -> str:
        """Plain text of 1-3 kB: an opening line, then headed paragraphs of
        sentences drawn from :data:`WORDS` (one draw of words per posting:
        drawing word by word would cost more than the database writes)."""
        rng = self.rng
        words = rng.choices(WORDS, k=rng.randint(1000, 3000) // 8)
        lengths = rng.choices(_SENTENCE_LENGTHS, k=len(words) // 8 + 1)
        sentences, i = [], 0
        for n in lengths:
            if i >= len(words):
                break
            sentences.append(" ".join(words[i:i + n]).capitalize() + ".")
            i += n
        parts = [f"{company} is hiring a {title}."]
        per = rng.choices(_PARAGRAPH_LENGTHS, k=len(_HEADINGS) + len(sentences))
        for k in range(len(per)):
            if not sentences:
                break
            if k < len(_HEADINGS):
                parts.append(_HEADINGS[k].format(company=company))
            parts.append(" ".join(sentences[:per[k]]))
            del sentences[:per[k]]
        return "\n\n".join(parts)

    # -- edits

    def edit(self, old: dict[str, Any], now: datetime) -> dict[str, Any]:
        """The posting with one thing changed (salary, title, one word of the
        description or the deadline), fetched at ``now``."""
        data = {name: old.get(name) for name in PUBLIC_FIELDS}  # field order as a crawl writes it
        data["fetched_at"] = now.isoformat()
        kind = self.rng.choices(("salary", "title", "description", "deadline"), (30, 20, 35, 15))[0]
        getattr(self, f"_edit_{kind}")(data, now)
        return data

    def _edit_salary(self, data: dict[str, Any], now: datetime) -> None:
        if not data["salary"]:
            country = (data["locations"] or [{}])[0].get("country") or "US"
            data["salary"] = [self._salary(country, 120, "year")]
        else:
            first = dict(data["salary"][0])
            symbol = _SYMBOLS.get(first["currency"], "")
            step = 1 if first["period"] == "hour" else 1000
            raise_by = self.rng.choice((1.05, 1.08, 1.1, 0.95))
            first["min"] = round(first["min"] * raise_by / step) * step
            first["max"] = max(first["min"] + step, round(first["max"] * raise_by / step) * step)
            first["raw"] = _salary_raw(symbol, first["min"], first["max"], first["period"])
            data["salary"] = [first, *data["salary"][1:]]
        data["salary_raw"] = [x["raw"] for x in data["salary"]]

    def _edit_title(self, data: dict[str, Any], now: datetime) -> None:
        title = data["title"]
        level = next((lv for lv in LEVELS[1:] if title.startswith(lv)), "")
        other = self.rng.choice([lv for lv in LEVELS if lv != level])
        data["title"] = other + title[len(level):]

    def _edit_description(self, data: dict[str, Any], now: datetime) -> None:
        tokens = data["description"].split(" ")
        for _ in range(50):
            i = self.rng.randrange(len(tokens))
            if tokens[i].isalpha() and tokens[i].islower():
                tokens[i] = self.rng.choice([w for w in WORDS if w != tokens[i]])
                data["description"] = " ".join(tokens)
                return
        self._edit_title(data, now)  # no plain word found (never with these descriptions)

    def _edit_deadline(self, data: dict[str, Any], now: datetime) -> None:
        old = data["deadline"]
        if old:  # extended, as boards usually do
            later = date.fromisoformat(old[:10]) + timedelta(days=self.rng.randint(7, 28))
            new = later.isoformat() + old[10:]
        else:
            new = _day(now, self.rng.randint(10, 40))
        data["deadline"] = data["deadline_raw"] = new


# --------------------------------------------------------------------------- building


def _field_changes(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """:func:`crawler.changes.field_changes` of the two postings, given only
    the fields that differ as Python values (and the two that decide whether
    ``posted_at`` counts): a field equal in both never shows in a diff, and
    leaving the rest out spares deepdiff hashing every list of the posting.
    The same result, many times faster."""
    names = [k for k in PUBLIC_FIELDS if old.get(k) != new.get(k)]
    names += [k for k in ("posted_at", "posted_at_relative") if k not in names]
    return field_changes({k: old.get(k) for k in names}, {k: new.get(k) for k in names})


class _Open:
    """What the generator keeps of an open posting."""

    __slots__ = ("id", "source", "version", "deadline", "flags")

    def __init__(self, pid: int, source: int, version: int, deadline: str | None, flags: int):
        self.id, self.source, self.version = pid, source, version
        self.deadline, self.flags = deadline, flags


@dataclass
class _Plan:
    """What one round does to each source (every list indexed by source)."""

    new: list[int]
    edits: list[list[_Open]]
    removed: list[list[_Open]]  # gone from the board: expired by absence
    due: list[list[_Open]]  # deadline passed: expired on it
    open_before: list[int]

    def seen(self, s: int) -> int:
        """Postings the source's run sees (those expired on their deadline
        are still listed)."""
        return self.open_before[s] - len(self.removed[s]) + self.new[s]


def _flags(data: dict[str, Any]) -> int:
    """Which of the watched coverage fields the posting has, as bits."""
    return sum(1 << i for i, name in enumerate(COVERAGE_FIELDS) if data.get(name))


def _sources(count: int) -> list[dict[str, Any]]:
    """Source names, boards, params, companies (some shared) and weights."""
    out = []
    for i in range(count):
        board = BOARDS[i % len(BOARDS)]
        slug = f"board{i:02d}"
        params = {"greenhouse": {"token": slug}, "lever": {"site": slug},
                  "jsonld": {"start_urls": [f"https://careers.{slug}.example/jobs"]}}[board]
        out.append({"name": f"board-{i:02d}", "board": board, "slug": slug, "params": params,
                    "companies": [], "weight": 1 + (7 * i) % 10})
    # greenhouse and lever boards belong to one company; jsonld boards
    # aggregate the rest; some employers show on two boards
    single = [s for s in out if s["board"] != "jsonld"] if len(out) >= len(BOARDS) else []
    many = [s for s in out if s not in single]
    for i, s in enumerate(single):
        s["companies"].append(COMPANIES[i % len(COMPANIES)])
    rest = COMPANIES[len(single):]
    for i, company in enumerate(rest):
        many[i % len(many)]["companies"].append(company)
    for i, s in enumerate(single[:4]):
        target = many[(i + 1) % len(many)]
        if s["companies"][0] not in target["companies"]:
            target["companies"].insert(0, s["companies"][0])
    if len(single) >= 4:  # one employer with a greenhouse and a lever board
        single[3]["companies"].append(single[0]["companies"][0])
    for s in many:
        if not s["companies"]:
            s["companies"].append(COMPANIES[0])
    return out


def _spread(total: int, weights: list[int]) -> list[int]:
    """``total`` split in proportion to ``weights`` (largest remainders)."""
    whole = sum(weights)
    shares = [total * w / whole for w in weights]
    counts = [int(x) for x in shares]
    by_remainder = sorted(range(len(weights)), key=lambda i: counts[i] - shares[i])
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


class _Builder:
    """Writes the rounds; keeps per open posting only an :class:`_Open`."""

    def __init__(self, session_maker: sessionmaker[Session], postings: int, rounds: int,
                 seed: int, sources: int, start: datetime, round_every: timedelta):
        self.sessions = session_maker
        self.postings, self.rounds = postings, rounds
        # three streams, each drawn from by one thread in a fixed order, so
        # making postings ahead in a thread leaves the history deterministic
        self.rng = random.Random(f"{seed}:rounds")  # which postings change, where new ones go
        self.src = _sources(sources)
        self.maker = _Factory(random.Random(f"{seed}:postings"), self.src)
        self.editor = _Factory(random.Random(f"{seed}:edits"), self.src)
        self.times = [start + i * round_every for i in range(rounds)]
        self.open: dict[int, _Open] = {}  # posting id -> state, in the order postings appeared
        self.with_deadline: dict[int, _Open] = {}
        self.coverage = [[0] * len(COVERAGE_FIELDS) for _ in self.src]
        self.serial = -postings  # round 0's serials are negative, later ones count up from 0
        self.source_ids: list[int] = []
        self.last_runs: list[int] = []

    def run(self) -> None:
        with self.sessions.begin() as session:
            session.execute(insert(Source.__table__), [
                {"name": s["name"], "board": s["board"], "params": s["params"],
                 "created_at": self.times[0]} for s in self.src])
            ids = dict(session.execute(select(Source.name, Source.id)).all())
            self.source_ids = [ids[s["name"]] for s in self.src]
        for r, now in enumerate(self.times):
            with self.sessions.begin() as session:
                self._round(session, r, now)
            if r == 0:
                self._analyze()
        last = self.times[-1]
        with self.sessions.begin() as session:
            # every run saw every open posting; only the last sighting is kept
            for s, sid in enumerate(self.source_ids):
                session.execute(update(Posting.__table__).where(
                    Posting.source_id == sid, Posting.status == PostingStatus.OPEN)
                    .values(last_seen=last, last_seen_run_id=self.last_runs[s]))
            session.execute(insert(SourceHealth.__table__), [
                {"source_id": sid, "state": HealthState.OK, "since": None, "reason": None,
                 "failures_in_row": 0, "pending": None, "problems": None,
                 "updated_at": last + timedelta(seconds=3)} for sid in self.source_ids])

    def _analyze(self) -> None:
        """Table statistics after the first crawl's bulk load, as autovacuum
        would soon gather them: without them PostgreSQL plans the next
        rounds' lookups for empty tables."""
        with self.sessions.begin() as session:
            if session.get_bind().dialect.name == "postgresql":
                session.execute(text("ANALYZE"))

    def _round(self, session: Session, r: int, now: datetime) -> None:
        plan = self._plan(r, now)
        runs = self._start_runs(session, plan, now)
        jobs = [(s, min(BATCH, n - k)) for s, n in enumerate(plan.new) for k in range(0, n, BATCH)]
        with closing(self._ahead(jobs, now)) as made:
            self._write(session, r, now, plan, runs, made)
        self.last_runs = runs

    def _plan(self, r: int, now: datetime) -> _Plan:
        """Which postings the round edits, removes and expires on their
        deadline, and how many it adds to each source."""
        n_src = len(self.src)
        plan = _Plan(new=[0] * n_src, edits=[[] for _ in range(n_src)],
                     removed=[[] for _ in range(n_src)], due=[[] for _ in range(n_src)],
                     open_before=[0] * n_src)
        for st in self.open.values():
            plan.open_before[st.source] += 1
        weights = [s["weight"] for s in self.src]
        if r == 0:
            plan.new = _spread(self.postings, weights)
            return plan
        late = [st for st in self.with_deadline.values()
                if (left := days_until(st.deadline, now)) is not None and left < 0]
        passed = {st.id for st in late}
        q = round_quota(len(self.open))
        candidates = [st for pid, st in self.open.items() if pid not in passed]
        picked = self.rng.sample(candidates, min(2 * q, len(candidates)))
        for st in picked[:q]:
            plan.edits[st.source].append(st)
        for st in picked[q:]:
            plan.removed[st.source].append(st)
        for st in late:
            plan.due[st.source].append(st)
        for s in self.rng.choices(range(n_src), weights, k=q):
            plan.new[s] += 1
        return plan

    def _start_runs(self, session: Session, plan: _Plan, now: datetime) -> list[int]:
        """One complete run per source, with the counts of what the round does."""
        before = session.scalar(select(func.coalesce(func.max(Run.id), 0)))
        session.execute(insert(Run.__table__), [
            {"source_id": sid, "status": RunStatus.COMPLETE, "holder": HOLDER,
             "started_at": now - timedelta(seconds=20 + plan.seen(s) // 40),
             "finished_at": now + timedelta(seconds=3), "seen": plan.seen(s), "new": plan.new[s],
             "changed": len(plan.edits[s]), "expired": len(plan.due[s]) + len(plan.removed[s]),
             "reopened": 0}
            for s, sid in enumerate(self.source_ids)])
        run_of = dict(session.execute(select(Run.source_id, Run.id).where(Run.id > before)).all())
        return [run_of[sid] for sid in self.source_ids]

    def _write(self, session: Session, r: int, now: datetime, plan: _Plan, runs: list[int],
               made: Iterator[tuple[list[dict[str, Any]], list[str]]]) -> None:
        """Each source's run in the order a crawl writes it: new and changed
        postings, expiry on deadline, closing notices, expiry by absence."""
        old_ids = [st.id for per in plan.edits for st in per]
        old_data = dict(session.execute(select(Version.posting_id, Version.data).where(
            Version.posting_id.in_(old_ids), Version.valid_to.is_(None))).all()) if old_ids else {}
        stats = []
        for s, (sid, run_id) in enumerate(zip(self.source_ids, runs, strict=True)):
            for _ in range(0, plan.new[s], BATCH):
                self._insert_new(session, s, run_id, *next(made), now)
            if plan.edits[s]:
                self._revise(session, s, run_id, plan.edits[s], old_data, now)
            if plan.due[s]:
                reasons = expiry.past_deadline(session, sid, now)
                assert set(reasons) == {st.id for st in plan.due[s]}, "deadline expiry out of step"
                expiry.expire(session, sid, run_id, reasons, now)
            expiry.closing_notices(session, sid, run_id, POLICY.closing_days, now)
            seen_coverage = list(self.coverage[s])
            for st in plan.removed[s]:
                self._count(seen_coverage, st.flags, -1)
            if plan.removed[s]:
                ids = [st.id for st in plan.removed[s]]
                expiry.expire(session, sid, run_id, dict.fromkeys(ids, MISSING_REASON), now)
                session.execute(update(Posting.__table__).where(Posting.id.in_(ids)).values(
                    last_seen=self.times[r - 1], last_seen_run_id=self.last_runs[s],
                    missing_runs=POLICY.expire_after_runs))
            for st in (*plan.due[s], *plan.removed[s]):
                self._count(self.coverage[s], st.flags, -1)
                del self.open[st.id]
                self.with_deadline.pop(st.id, None)
            seen = plan.seen(s)
            stats.append({"id": run_id, "stats": {
                "unchanged": seen - plan.new[s] - len(plan.edits[s]), "duplicates": 0,
                "ids_shortened": 0, "refused": 0, "complete_by": None,
                "coverage": {**dict(zip(COVERAGE_FIELDS, seen_coverage, strict=True)),
                             "postings": seen},
                "errors": []}})
        session.execute(update(Run), stats)

    @staticmethod
    def _count(counts: list[int], flags: int, step: int) -> None:
        for i in range(len(counts)):
            if flags >> i & 1:
                counts[i] += step

    def _keep(self, st: _Open, data: dict[str, Any], step: int) -> None:
        st.flags = _flags(data)
        self._count(self.coverage[st.source], st.flags, step)
        st.deadline = data.get("deadline")
        if st.deadline:
            self.with_deadline[st.id] = st
        else:
            self.with_deadline.pop(st.id, None)

    def _make(self, s: int, n: int, now: datetime) -> tuple[list[dict[str, Any]], list[str]]:
        datas = []
        for _ in range(n):
            datas.append(self.maker.posting(s, self.serial, now))
            self.serial += 1
        return datas, [content_hash(d) for d in datas]

    def _ahead(self, jobs: list[tuple[int, int]], now: datetime,
               depth: int = 2) -> Iterator[tuple[list[dict[str, Any]], list[str]]]:
        """New postings and their hashes for ``jobs`` (source, count), in
        order, made up to ``depth`` batches ahead in one worker thread: the
        making overlaps the database's work on the batch before."""
        with ThreadPoolExecutor(1, thread_name_prefix="history-data") as pool:
            pending: deque[Future[tuple[list[dict[str, Any]], list[str]]]] = deque()
            for job in jobs:
                pending.append(pool.submit(self._make, *job, now))
                if len(pending) > depth:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()

    def _insert_new(self, session: Session, s: int, run_id: int, datas: list[dict[str, Any]],
                    hashes: list[str], now: datetime) -> None:
        sid = self.source_ids[s]
        session.execute(insert(Posting.__table__), [
            {"source_id": sid, "external_id": d["external_id"], "status": PostingStatus.OPEN,
             "title": d["title"], "url": d["url"], "content_hash": h, "listing_hash": None,
             "version": 1, "deadline": d["deadline"], "first_seen": now, "last_seen": now,
             "last_seen_run_id": run_id, "missing_runs": 0}
            for d, h in zip(datas, hashes, strict=True)])
        exts = [d["external_id"] for d in datas]
        id_of = dict(session.execute(select(Posting.external_id, Posting.id).where(
            Posting.source_id == sid, Posting.external_id.in_(exts))).all())
        ids = [id_of[d["external_id"]] for d in datas]
        session.execute(insert(Version.__table__), [
            {"posting_id": pid, "source_id": sid, "version": 1, "valid_from": now, "valid_to": None,
             "content_hash": h, "data": d, "run_id": run_id, "raw_sha256": None,
             **posting_facets(d)}
            for pid, d, h in zip(ids, datas, hashes, strict=True)])
        session.execute(insert(Event.__table__), [
            event_row(EventKind.NEW, sid, run_id, pid, d, now, "new: first time seen")
            for pid, d in zip(ids, datas, strict=True)])
        for pid, d in zip(ids, datas, strict=True):
            st = _Open(pid, s, 1, None, 0)
            self.open[pid] = st
            self._keep(st, d, +1)

    def _revise(self, session: Session, s: int, run_id: int, edited: list[_Open],
                old_data: dict[int, dict[str, Any]], now: datetime) -> None:
        """Changed postings, as the recorder writes them: the current version
        closed, the next one added, the posting row moved on, one event."""
        sid = self.source_ids[s]
        versions, events, postings = [], [], []
        for st in edited:
            old = old_data[st.id]
            data = self.editor.edit(old, now)
            changes = _field_changes(old, data)
            assert changes, f"an edit of posting {st.id} changed nothing"
            h, nxt = content_hash(data), st.version + 1
            versions.append({"posting_id": st.id, "source_id": sid, "version": nxt,
                             "valid_from": now, "valid_to": None, "content_hash": h, "data": data,
                             "run_id": run_id, "raw_sha256": None, **posting_facets(data)})
            events.append(event_row(EventKind.CHANGED, sid, run_id, st.id, data, now,
                                    change_reason(changes), changes))
            postings.append({"id": st.id, "status": PostingStatus.OPEN, "title": data["title"],
                             "url": data["url"], "content_hash": h, "version": nxt,
                             "deadline": data["deadline"], "last_seen": now,
                             "last_seen_run_id": run_id, "missing_runs": 0, "expired_at": None,
                             "expired_reason": None})
            st.version = nxt
            self._count(self.coverage[s], st.flags, -1)
            self._keep(st, data, +1)
        ids = [st.id for st in edited]
        session.execute(update(Version.__table__).where(
            Version.posting_id.in_(ids), Version.valid_to.is_(None)).values(valid_to=now))
        session.execute(update(Posting), postings)
        session.execute(insert(Version.__table__), versions)
        session.execute(insert(Event.__table__), events)


def build_history(url: str, postings: int, rounds: int, seed: int = 1, sources: int = 20,
                  start: datetime = START, round_every: timedelta = ROUND_EVERY) -> dict[str, Any]:
    """Write a history of ``rounds`` crawls (round 0 the first) of
    ``postings`` postings over ``sources`` boards into the database at
    ``url`` (migrated first; it should hold no postings yet). Returns a
    summary: postings (open, expired), versions, events by kind, runs, the
    round times (ISO), the companies and the source names."""
    if rounds < 1 or postings < sources or sources < 1:
        raise ValueError("need at least one round, one source and a posting per source")
    upgrade(url)
    builder = _Builder(session_factory(url), postings, rounds, seed, sources, start, round_every)
    builder.run()
    with session_factory(url)() as session:
        by_status = dict(session.execute(
            select(Posting.status, func.count()).group_by(Posting.status)).all())
        by_kind = dict(session.execute(select(Event.kind, func.count()).group_by(Event.kind)).all())
        return {
            "postings": sum(by_status.values()),
            "open": by_status.get(PostingStatus.OPEN, 0),
            "expired": by_status.get(PostingStatus.EXPIRED, 0),
            "versions": session.scalar(select(func.count()).select_from(Version)),
            "events": {str(kind): by_kind.get(kind, 0) for kind in EventKind},
            "runs": session.scalar(select(func.count()).select_from(Run)),
            "rounds": [t.isoformat() for t in builder.times],
            "companies": sorted({c for s in builder.src for c in s["companies"]}),
            "sources": [s["name"] for s in builder.src],
        }


# --------------------------------------------------------------------------- checking


def check_history(session: Session) -> list[str]:
    """Problems with the history in the database (empty: consistent).

    Every posting has exactly one current version (valid_to NULL) if and
    only if it is open; its versions are numbered 1..n, do not overlap, and
    the posting row names the last one and its hash; every version after
    the first has a changed or reopened event at its valid_from; every
    expired posting has an expired event; the facet columns of versions and
    events are :func:`posting_facets` of their data, a version's hash is
    :func:`content_hash` of its data; runs count the events they wrote."""
    problems: list[str] = []
    postings = {pid: (status, version, h) for pid, status, version, h in session.execute(
        select(Posting.id, Posting.status, Posting.version, Posting.content_hash))}
    revisions = {(pid, at) for pid, at in session.execute(select(Event.posting_id, Event.at).where(
        Event.kind.in_((EventKind.CHANGED, EventKind.REOPENED))))}
    expired_events = set(session.scalars(
        select(Event.posting_id).where(Event.kind == EventKind.EXPIRED)))

    def close(pid: int, rows: list[tuple[int, datetime, datetime | None, str]]) -> None:
        if pid not in postings:
            problems.append(f"versions of posting {pid}, which does not exist")
            return
        status, version, h = postings.pop(pid)
        current = sum(1 for row in rows if row[2] is None)
        if current != (1 if status == PostingStatus.OPEN else 0):
            problems.append(f"posting {pid} is {status} with {current} current versions")
        if [row[0] for row in rows] != list(range(1, len(rows) + 1)):
            problems.append(f"posting {pid}: versions numbered {[row[0] for row in rows]}")
        for a, b in zip(rows, rows[1:], strict=False):
            if a[2] is None or a[2] > b[1] or a[1] >= a[2]:
                problems.append(f"posting {pid}: version {a[0]} ({a[1]} to {a[2]}) "
                                f"overlaps version {b[0]} from {b[1]}")
        for number, valid_from, _to, _h in rows[1:]:
            if (pid, valid_from) not in revisions:
                problems.append(f"posting {pid}: version {number} has no changed or reopened event "
                                f"at {valid_from.isoformat()}")
        if rows and (version, h) != (rows[-1][0], rows[-1][3]):
            problems.append(f"posting {pid} names version {version} ({h[:12]}), "
                            f"its last is {rows[-1][0]} ({rows[-1][3][:12]})")
        if status == PostingStatus.EXPIRED and pid not in expired_events:
            problems.append(f"posting {pid} is expired without an expired event")

    pid, rows = None, []
    for row in session.execute(
            select(Version.posting_id, Version.version, Version.valid_from, Version.valid_to,
                   Version.content_hash).order_by(Version.posting_id, Version.version)
            .execution_options(yield_per=5000)):
        if row[0] != pid:
            if pid is not None:
                close(pid, rows)
            pid, rows = row[0], []
        rows.append(tuple(row[1:]))
    if pid is not None:
        close(pid, rows)
    problems += [f"posting {pid} has no versions" for pid in postings]

    facet_names = ("company", "workplace_type", "employment_type", "countries")
    for vid, data, h, *facets in session.execute(
            select(Version.id, Version.data, Version.content_hash,
                   *(getattr(Version, name) for name in facet_names))
            .execution_options(yield_per=2000)):
        if dict(zip(facet_names, facets, strict=True)) != posting_facets(data):
            problems.append(f"version {vid}: facet columns {facets} are not those of its data")
        if h != content_hash(data):
            problems.append(f"version {vid}: content_hash is not the hash of its data")
    event_facets = ("company", "workplace_type", "countries")
    for eid, data, *facets in session.execute(
            select(Event.id, Event.posting, *(getattr(Event, name) for name in event_facets))
            .execution_options(yield_per=2000)):
        expected = posting_facets(data)
        if list(facets) != [expected[name] for name in event_facets]:
            problems.append(f"event {eid}: facet columns {facets} are not those of its posting")

    written: Counter[tuple[int, str]] = Counter()
    for run_id, kind, n in session.execute(
            select(Event.run_id, Event.kind, func.count()).group_by(Event.run_id, Event.kind)):
        written[(run_id, kind)] = n
    for run in session.execute(select(Run.id, Run.new, Run.changed, Run.expired, Run.reopened)):
        counted = {"new": run.new, "changed": run.changed, "expired": run.expired,
                   "reopened": run.reopened}
        for kind, n in counted.items():
            if written[(run.id, kind)] != n:
                problems.append(
                    f"run {run.id} counts {n} {kind} but wrote {written[(run.id, kind)]}")
    return problems


# --------------------------------------------------------------------------- command line


@contextmanager
def _database(backend: str, admin_url: str, keep: bool) -> Iterator[str]:
    """A fresh SQLite file in a temp directory, or a uniquely named database
    on the PostgreSQL server; dropped afterwards unless ``keep``."""
    if backend == "sqlite":
        tmp = tempfile.mkdtemp(prefix="jobdelta-history-")
        url = f"sqlite:///{tmp}/history.db"
        try:
            yield url
        finally:
            if not keep:
                for f in Path(tmp).iterdir():
                    f.unlink()
                Path(tmp).rmdir()
        return
    from sqlalchemy import create_engine

    name = f"jobdelta_history_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        from db.engine import _engine

        _engine.cache_clear()
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _size_mb(url: str) -> float:
    engine = get_engine(url)
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        path = Path(url.removeprefix("sqlite:///"))
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 1e6
    with engine.connect() as conn:
        return conn.scalar(text("select pg_database_size(current_database())")) / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="example: .venv/bin/python bench/history_data.py --postings 10000 --rounds 30 "
               "--backend sqlite --keep")
    parser.add_argument("--postings", type=int, default=10_000,
                        help="postings of round 0 (default 10000)")
    parser.add_argument("--rounds", type=int, default=30,
                        help="crawls, round 0 included (default 30)")
    parser.add_argument("--sources", type=int, default=20, help="boards (default 20)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--pg-admin-url", default=PG_ADMIN_URL)
    parser.add_argument("--check", action="store_true", help="check the history afterwards")
    parser.add_argument("--keep", action="store_true", help="keep the database and print its URL")
    args = parser.parse_args(argv)
    with _database(args.backend, args.pg_admin_url, args.keep) as url:
        t0 = time.perf_counter()
        summary = build_history(url, args.postings, args.rounds, args.seed, args.sources)
        elapsed = time.perf_counter() - t0
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        events = " ".join(f"{k}={v}" for k, v in summary["events"].items())
        print(f"database: {args.backend}")
        print(f"built {args.postings} postings x {args.rounds} rounds (seed {args.seed}) "
              f"in {elapsed:.1f} s, peak RSS {rss:.0f} MB, size {_size_mb(url):.0f} MB")
        print(f"postings: {summary['postings']} "
              f"(open {summary['open']}, expired {summary['expired']})")
        print(f"versions: {summary['versions']}")
        print(f"events:   {events}")
        print(f"runs:     {summary['runs']}, "
              f"rounds {summary['rounds'][0]} .. {summary['rounds'][-1]}")
        print(f"sources:  {len(summary['sources'])}, companies: {len(summary['companies'])}")
        status = 0
        if args.check:
            t0 = time.perf_counter()
            with session_factory(url)() as session:
                problems = check_history(session)
            print(f"checked in {time.perf_counter() - t0:.1f} s: {len(problems)} problems")
            for line in problems[:20]:
                print(f"  {line}")
            status = 1 if problems else 0
        if args.keep:
            print(f"kept: {url}")
    return status


if __name__ == "__main__":
    sys.exit(main())
