"""A deterministic job board on loopback, with faults to switch on.

One :class:`BoardSim` (a ``ThreadingHTTPServer``, stdlib only) serves any
number of boards, each under its own path prefix ``/{name}/`` and in one of
three shapes the crawler's boards read:

- ``greenhouse``: the Greenhouse Job Board API,
  ``/{name}/v1/boards/{token}/jobs?content=true`` (``jobs`` and
  ``meta.total``), one response for the whole board;
- ``jsonld``: paginated HTML listing pages ``/{name}/jobs?page=K`` (10 a
  page, ``rel=next`` links) and one page per posting ``/{name}/job/{id}``
  carrying schema.org ``JobPosting`` JSON-LD, and a sitemap of the posting
  pages ``/{name}/sitemap.xml`` whose ``<lastmod>`` moves with every edit;
- ``smartrecruiters``: the SmartRecruiters Posting API, list pages
  ``/{name}/v1/companies/{company}/postings?offset=N`` (10 a page whatever
  ``limit`` asks) and detail pages ``.../postings/{id}``; an edit moves the
  posting's ``releasedDate``, so the listing says which details changed.

Every 200 carries an ``ETag`` and a ``Last-Modified``; a matching
``If-None-Match`` (or, without one, an ``If-Modified-Since`` at or after
the last change) answers 304. ``/robots.txt`` allows everything.

A board's content is a pure function of its seed and the rounds applied:
:meth:`Board.advance` adds 1%, edits 1% (title, salary or description) and
removes 1% of the postings (at least one each); :meth:`Board.truth` is the
set of open ids and their current content, for checking a database against.
Every edit bumps the posting's revision, which its description states
("Revision N."), so a stored version says which truth it reflects.

Fault switches (:data:`FAULTS`), set per board with :meth:`Board.set_faults`
for as long as the harness wants (usually one round): ``5xx``, ``429``
(``Retry-After: 1`` on the first request of each path, then served),
``reset`` (connection closed without an answer), ``hang`` (the first
request of the first listing page blocks until teardown: the crawl's
download timeout must give it up), ``truncated`` (``Content-Length``
larger than the body sent), ``partial_listing`` (200 with part of the
postings), ``botcheck_html`` and ``botcheck_json`` (a bot-check page as
text/html and as application/json), ``detail_404`` (every posting page
404), ``empty`` (a board with no postings), ``layout`` (a layout change
that yields no postings). Two more change the truth itself:
:meth:`Board.shrink` (60% of the postings removed for good) and
:meth:`Board.add_long_id` (one new posting with a 600-character id).

Waiting for a crawl to be mid-run uses the board's own signal:
:meth:`Board.arm_trap` makes the Nth request set ``trap.arrived`` and hold
its answer until ``trap.gate`` is set. Nothing here sleeps to synchronize.

``python bench/board_sim.py`` measures the simulator's own rate (requests
per second served to a client loop) and prints it.
"""

from __future__ import annotations

import hashlib
import html
import json
import random
import socket
import struct
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

SHAPES = ("greenhouse", "jsonld", "smartrecruiters")
FAULTS = ("5xx", "429", "reset", "hang", "truncated", "partial_listing", "botcheck_html",
          "botcheck_json", "detail_404", "empty", "layout")
# faults that need posting pages of their own
DETAIL_FAULTS = frozenset({"detail_404"})
PAGE_SIZE = 10  # postings per listing page (jsonld, smartrecruiters)
COMPANY = "Drillco"
WALL = ("<html><head><title>Just a moment...</title></head><body><h1>Verify you are human"
        "</h1><p>Please complete the security check to continue.</p></body></html>")
TITLES = ("Platform Engineer", "Data Engineer", "Site Reliability Engineer", "Backend Engineer",
          "Security Engineer", "Frontend Engineer", "ML Engineer", "Network Engineer")
ADJECTIVES = ("Senior", "Staff", "Lead", "Principal", "Junior")
# description paragraphs for boards with ``description_bytes`` (about 150 bytes each)
_FILLER = tuple(
    f"<p>{verb} the {thing} with a team of {n} across {place}; you will {duty} and "
    f"report to the {lead}. Week {n % 9 + 1} of onboarding covers {thing}.</p>"
    for n, (verb, thing, place, duty, lead) in enumerate(
        (v, t, p, d, ld)
        for v in ("Design", "Operate", "Scale", "Secure")
        for t in ("storage layer", "build system", "scheduler", "edge network")
        for p in ("Berlin and Lisbon", "three time zones")
        for d in ("own on-call rotations", "mentor new hires")
        for ld in ("Head of Platform",)))


# --------------------------------------------------------------------------- the content


@dataclass(frozen=True)
class Job:
    """One posting's content. ``rev`` grows with every edit."""

    id: str
    title: str
    salary: tuple[int, int]
    body: str
    rev: int = 1
    released: int = 0  # seconds after 2025-01-01, moved by every edit

    @property
    def description(self) -> str:
        low, high = self.salary
        return f"{self.body} Pay {low} to {high} USD per year. Revision {self.rev}."

    @property
    def released_iso(self) -> str:
        day, rest = divmod(self.released, 86400)
        return f"2025-01-{1 + day % 28:02d}T{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}.000Z"


@dataclass
class Changes:
    """What one round did to the truth."""

    new: list[str] = field(default_factory=list)
    edited: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


@dataclass
class Trap:
    """The Nth request to a board sets ``arrived`` and waits on ``gate``."""

    nth: int
    arrived: threading.Event = field(default_factory=threading.Event)
    gate: threading.Event = field(default_factory=threading.Event)


@dataclass
class Answer:
    """What the handler does with one request."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    action: str = "send"  # send | reset | hang | truncate
    cacheable: bool = False  # a 200 that carries validators


class Board:
    """One simulated board: its postings, its rounds and its faults."""

    def __init__(self, name: str, shape: str, postings: int, seed: int | str = 0, *,
                 description_bytes: int = 0):
        if shape not in SHAPES:
            raise ValueError(f"unknown shape {shape!r} (known: {', '.join(SHAPES)})")
        self.name, self.shape = name, shape
        # greenhouse: HTML paragraphs after each job's description in
        # ``content``, about this many bytes (0: none), so a board's one
        # response is as large as real ones (7.5 KB a job: 75 MB at 10,000)
        self.description_bytes = description_bytes
        self.rng = random.Random(f"{seed}:{name}:{shape}")
        self.jobs: dict[str, Job] = {}
        self.round = 0
        self._next_id = 1000
        self._lock = threading.Lock()
        self._hang_release = threading.Event()
        self.faults: frozenset[str] = frozenset()
        self._first_seen: set[str] = set()  # paths asked during the current faults
        self.trap: Trap | None = None
        self.requests = 0  # requests since the last reset_count()
        self.validators: dict[str, tuple[str, float]] = {}  # path -> (etag, last modified)
        for _ in range(postings):
            self._add()

    # -- the truth

    def _add(self, job_id: str | None = None) -> str:
        self._next_id += 1
        job_id = job_id or str(self._next_id)
        title = f"{self.rng.choice(ADJECTIVES)} {self.rng.choice(TITLES)} {self._next_id}"
        low = 50_000 + 1000 * self.rng.randrange(100)
        body = f"Build and run the {title} stack at {COMPANY} in Berlin."
        self.jobs[job_id] = Job(job_id, title, (low, low + 20_000), body, 1, self._next_id)
        return job_id

    def _edit(self, job_id: str) -> None:
        job = self.jobs[job_id]
        what = self.rng.choice(("title", "salary", "description"))
        if what == "title":
            job = replace(job, title=f"{job.title} (updated)")
        elif what == "salary":
            job = replace(job, salary=(job.salary[0] + 5000, job.salary[1] + 5000))
        else:
            job = replace(job, body=f"{job.body} On call one week in {self.rng.randrange(4, 9)}.")
        self.jobs[job_id] = replace(job, rev=job.rev + 1, released=job.released + 3600)

    def advance(self, share: float = 0.01) -> Changes:
        """One round: ``share`` of the postings new, edited and removed (at
        least one each), chosen from the board's seed."""
        with self._lock:
            self.round += 1
            k = max(1, round(len(self.jobs) * share))
            ids = sorted(self.jobs)
            removed = self.rng.sample(ids, min(k, max(0, len(ids) - 1)))
            edited = self.rng.sample([i for i in ids if i not in removed], min(k, len(ids) - len(removed)))
            for job_id in removed:
                del self.jobs[job_id]
            for job_id in edited:
                self._edit(job_id)
            new = [self._add() for _ in range(k)]
            return Changes(new=new, edited=edited, removed=removed)

    def shrink(self, share: float = 0.6) -> Changes:
        """Remove ``share`` of the postings for good (a real shrink)."""
        with self._lock:
            ids = sorted(self.jobs)
            removed = self.rng.sample(ids, int(len(ids) * share))
            for job_id in removed:
                del self.jobs[job_id]
            return Changes(removed=removed)

    def add_long_id(self, length: int = 600) -> Changes:
        """One new posting whose id is ``length`` characters long."""
        with self._lock:
            stem = f"{self.name}-long-{self.round}-"
            return Changes(new=[self._add((stem + "x" * length)[:length])])

    def expected_requests(self) -> int:
        """About how many requests the next crawl makes: the listing pages,
        and the posting pages it must fetch (every one for jsonld; for
        smartrecruiters at least the new and edited ones of a round)."""
        with self._lock:
            n = len(self.jobs)
        pages = max(1, -(-n // PAGE_SIZE))
        return {"greenhouse": 1, "jsonld": pages + n, "smartrecruiters": pages + 2}[self.shape]

    def truth(self) -> dict[str, Job]:
        """The open postings and their current content."""
        with self._lock:
            return dict(self.jobs)

    # -- faults and traps

    def set_faults(self, faults: Iterable[str] = ()) -> None:
        unknown = set(faults) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)}")
        with self._lock:
            self.faults = frozenset(faults)
            self._first_seen.clear()

    def arm_trap(self, nth: int) -> Trap:
        """Hold the ``nth`` request from now (counting from 1)."""
        with self._lock:
            self.requests = 0
            self.trap = Trap(max(1, nth))
            return self.trap

    def disarm(self) -> None:
        with self._lock:
            if self.trap is not None:
                self.trap.gate.set()
            self.trap = None

    def reset_count(self) -> None:
        with self._lock:
            self.requests = 0

    def release(self) -> None:
        """Teardown: let every held or hanging request go."""
        self._hang_release.set()
        self.disarm()

    # -- serving

    def answer(self, path: str, headers: dict[str, str]) -> Answer:
        """The answer to one request under this board's prefix."""
        with self._lock:
            self.requests += 1
            trap = self.trap if self.trap and self.requests == self.trap.nth else None
            first = path not in self._first_seen
            self._first_seen.add(path)
            faults = self.faults
        if trap is not None:
            trap.arrived.set()
            trap.gate.wait()
        rest = path[len(self.name) + 1:]
        kind, key = self._route(rest)
        if kind is None:
            return Answer(404, b"not found", "text/plain")
        fault = self._fault_answer(faults, kind, key, first)
        if fault is not None:
            return fault
        with self._lock:
            return self._render(kind, key, faults, headers.get("host", ""))

    def hang(self) -> None:
        self._hang_release.wait()

    def _route(self, rest: str) -> tuple[str | None, Any]:
        parts = urlsplit(rest)
        segs = [unquote(s) for s in parts.path.strip("/").split("/")]
        query = parse_qs(parts.query)
        if self.shape == "greenhouse" and len(segs) == 4 and segs[0] == "v1" and segs[3] == "jobs":
            return "listing", 0
        if self.shape == "jsonld" and segs == ["sitemap.xml"]:
            return "sitemap", 0
        if self.shape == "jsonld" and segs == ["jobs"]:
            return "listing", int(query.get("page", ["1"])[0])
        if self.shape == "jsonld" and len(segs) == 2 and segs[0] == "job":
            return "detail", segs[1]
        if self.shape == "smartrecruiters" and segs[:1] == ["v1"] and len(segs) >= 4:
            if len(segs) == 4 and segs[3] == "postings":
                return "listing", int(query.get("offset", ["0"])[0])
            if len(segs) == 5 and segs[3] == "postings":
                return "detail", segs[4]
        return None, None

    def _fault_answer(self, faults: frozenset[str], kind: str, key: Any, first: bool) -> Answer | None:
        if "5xx" in faults:
            return Answer(503, b"Service Unavailable", "text/plain")
        if "429" in faults and first:
            return Answer(429, b"Too Many Requests", "text/plain", {"Retry-After": "1"})
        if "reset" in faults:
            return Answer(action="reset")
        if "hang" in faults and first and kind == "listing" and key in (0, 1):
            return Answer(action="hang")
        if "botcheck_html" in faults:
            return Answer(200, WALL.encode(), "text/html; charset=utf-8")
        if "botcheck_json" in faults:
            return Answer(200, WALL.encode(), "application/json")
        if "detail_404" in faults and kind == "detail":
            return Answer(404, b"<html><body>Not found</body></html>", "text/html")
        return None

    def _render(self, kind: str, key: Any, faults: frozenset[str], host: str = "") -> Answer:
        jobs = [] if "empty" in faults else sorted(self.jobs.values(), key=lambda j: (len(j.id), j.id))
        if kind == "sitemap":
            answer = self._jsonld_sitemap(jobs, host)
        elif kind == "detail":
            job = self.jobs.get(key)
            if job is None:
                return Answer(404, b"<html><body>Not found</body></html>", "text/html")
            answer = self._detail(job)
        elif self.shape == "greenhouse":
            answer = self._greenhouse(jobs, faults)
        elif self.shape == "jsonld":
            answer = self._jsonld_listing(jobs, key, faults)
        else:
            answer = self._sr_listing(jobs, key, faults)
        answer.cacheable = answer.status == 200
        if "truncated" in faults:
            answer.action = "truncate"
        return answer

    # -- the three shapes

    def _greenhouse(self, jobs: list[Job], faults: frozenset[str]) -> Answer:
        total = len(jobs)
        if "partial_listing" in faults:
            jobs = jobs[: len(jobs) // 2]
        key = "results" if "layout" in faults else "jobs"
        doc = {key: [self._gh_job(j) for j in jobs], "meta": {"total": total}}
        return Answer(body=json.dumps(doc).encode())

    def _gh_job(self, job: Job) -> dict[str, Any]:
        low, high = job.salary
        return {
            "id": job.id, "title": job.title, "company_name": COMPANY,
            "absolute_url": f"https://boards.example.test/{self.name}/jobs/{quote(job.id)}",
            "location": {"name": "Berlin, Germany"},
            "offices": [{"location": "Berlin, Germany"}],
            "departments": [{"name": "Engineering"}],
            "first_published": "2025-01-02T00:00:00Z",
            "content": f"<p>{html.escape(job.description)}</p>{self._filler(job)}",
            "metadata": [{"name": "Salary range", "value_type": "currency_range",
                          "value": {"min_value": str(low), "max_value": str(high), "unit": "USD"}}],
        }

    def _filler(self, job: Job) -> str:
        # paragraphs picked by the job's id: the same for the same job in
        # every round, different from job to job (not one repeated block)
        if not self.description_bytes:
            return ""
        k = int(hashlib.sha256(job.id.encode()).hexdigest()[:8], 16)
        parts: list[str] = []
        size = 0
        while size < self.description_bytes:
            part = _FILLER[k % len(_FILLER)]
            parts.append(part)
            size += len(part)
            k = k // len(_FILLER) or k * 7919 + 1
        return "".join(parts)

    def _jsonld_listing(self, jobs: list[Job], page: int, faults: frozenset[str]) -> Answer:
        pages = max(1, -(-len(jobs) // PAGE_SIZE))
        last = pages
        if "partial_listing" in faults and pages > 1:
            last = max(1, (pages * 2) // 3)  # the last third of the pages silently gone
        chunk = jobs[(page - 1) * PAGE_SIZE: page * PAGE_SIZE] if page <= last else []
        where = "position" if "layout" in faults else "job"
        links = "\n".join(f'<li><a href="/{self.name}/{where}/{quote(j.id)}">{html.escape(j.title)}</a></li>'
                          for j in chunk)
        nxt = f'<a rel="next" href="/{self.name}/jobs?page={page + 1}">Next</a>' if page < last else ""
        body = (f"<html><head><title>Careers at {COMPANY}</title></head><body><h1>Open roles</h1>"
                f"<ul>\n{links}\n</ul>{nxt}</body></html>")
        return Answer(body=body.encode(), content_type="text/html; charset=utf-8")

    def _jsonld_sitemap(self, jobs: list[Job], host: str) -> Answer:
        urls = "".join(f"<url><loc>http://{host}/{self.name}/job/{quote(j.id)}</loc>"
                       f"<lastmod>{j.released_iso}</lastmod></url>\n" for j in jobs)
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{urls}</urlset>\n')
        return Answer(body=body.encode(), content_type="application/xml")

    def _sr_item(self, job: Job) -> dict[str, Any]:
        return {
            "id": job.id, "name": job.title, "refNumber": f"R{job.id[:40]}",
            "company": {"identifier": self.name, "name": COMPANY},
            "releasedDate": job.released_iso,
            "location": {"city": "Berlin", "country": "de", "fullLocation": "Berlin, Germany",
                         "remote": False},
            "department": {"label": "Engineering"},
            "typeOfEmployment": {"label": "Full-time"},
            "ref": f"https://api.smartrecruiters.com/v1/companies/{self.name}/postings/{quote(job.id)}",
        }

    def _sr_listing(self, jobs: list[Job], offset: int, faults: frozenset[str]) -> Answer:
        total = len(jobs)
        chunk = jobs[offset: offset + PAGE_SIZE]
        if "partial_listing" in faults and offset + PAGE_SIZE >= total:
            chunk = []  # the last page comes back empty while totalFound says more
        key = "items" if "layout" in faults else "content"
        doc = {"offset": offset, "limit": PAGE_SIZE, "totalFound": total,
               key: [self._sr_item(j) for j in chunk]}
        return Answer(body=json.dumps(doc).encode())

    def _detail(self, job: Job) -> Answer:
        if self.shape == "smartrecruiters":
            doc = self._sr_item(job) | {
                "active": True, "applyUrl": f"https://jobs.example.test/{quote(job.id)}/apply",
                "jobAd": {"sections": {"jobDescription": {
                    "title": "Job Description", "text": f"<p>{html.escape(job.description)}</p>"}}},
            }
            return Answer(body=json.dumps(doc).encode())
        low, high = job.salary
        data = {
            "@context": "https://schema.org", "@type": "JobPosting",
            "identifier": {"@type": "PropertyValue", "name": COMPANY, "value": job.id},
            "title": job.title, "description": f"<p>{html.escape(job.description)}</p>",
            "datePosted": "2025-01-02", "employmentType": "FULL_TIME",
            "hiringOrganization": {"@type": "Organization", "name": COMPANY},
            "jobLocation": {"@type": "Place", "address": {
                "@type": "PostalAddress", "addressLocality": "Berlin", "addressCountry": "DE"}},
            "baseSalary": {"@type": "MonetaryAmount", "currency": "USD", "value": {
                "@type": "QuantitativeValue", "minValue": low, "maxValue": high, "unitText": "YEAR"}},
        }
        body = (f"<html><head><title>{html.escape(job.title)}</title>"
                f'<script type="application/ld+json">{json.dumps(data)}</script></head>'
                f"<body><h1>{html.escape(job.title)}</h1><p>{html.escape(job.description)}</p>"
                f"</body></html>")
        return Answer(body=body.encode(), content_type="text/html; charset=utf-8")


# --------------------------------------------------------------------------- HTTP


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802
        sim = self.server.sim
        sim.count()
        if urlsplit(self.path).path == "/robots.txt":
            self._send(Answer(200, b"User-agent: *\nAllow: /\n", "text/plain"), {})
            return
        name = self.path.lstrip("/").split("/", 1)[0]
        board = sim.boards.get(name)
        if board is None:
            self._send(Answer(404, b"no such board", "text/plain"), {})
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        answer = board.answer(self.path, headers)
        if answer.action == "hang":
            board.hang()
            self.close_connection = True
            return
        if answer.action == "reset":
            self._reset()
            return
        self._send(answer, headers, board)

    def _reset(self) -> None:
        """Close the connection at once, with a TCP reset, answering nothing."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def _send(self, answer: Answer, headers: dict[str, str], board: Board | None = None) -> None:
        body = answer.body
        extra = dict(answer.headers)
        if answer.cacheable and board is not None and answer.action == "send":
            etag, modified = self.server.sim.validators(board, self.path, body)
            extra.update({"ETag": etag, "Last-Modified": formatdate(modified, usegmt=True)})
            if _not_modified(headers, etag, modified):
                self.send_response(304)
                for k, v in extra.items():
                    self.send_header(k, v)
                self.end_headers()
                return
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        length = len(body) + (1000 if answer.action == "truncate" else 0)
        self.send_header("Content-Length", str(length))
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()
        if answer.action == "truncate":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the crawler gave up waiting (a hang drill): expected


def _not_modified(headers: dict[str, str], etag: str, modified: float) -> bool:
    if "if-none-match" in headers:
        return headers["if-none-match"] == etag
    since = headers.get("if-modified-since")
    if not since:
        return False
    try:
        return parsedate_to_datetime(since).timestamp() >= int(modified)
    except (TypeError, ValueError):
        return False


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    sim: BoardSim


class BoardSim:
    """The HTTP server for any number of boards, on 127.0.0.1."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1"):
        # host: another loopback address (127.0.0.2, ...) makes the boards a
        # domain of their own, so per-domain limits apply as on the internet
        self.boards: dict[str, Board] = {}
        self.served = 0
        self._count_lock = threading.Lock()
        self._httpd = _Server((host, port), _Handler)
        self._httpd.sim = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def add(self, board: Board) -> Board:
        self.boards[board.name] = board
        return board

    def base_url(self, board: Board) -> str:
        return f"{self.url}/{board.name}"

    def count(self) -> None:
        with self._count_lock:
            self.served += 1

    def validators(self, board: Board, path: str, body: bytes) -> tuple[str, float]:
        """The ETag and Last-Modified of a body; Last-Modified moves (by at
        least a second) whenever the body changes."""
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        with self._count_lock:
            old = board.validators.get(path)
            if old and old[0] == etag:
                return old
            modified = float(int(time.time()))
            if old:
                modified = max(modified, old[1] + 1)
            board.validators[path] = (etag, modified)
            return etag, modified

    def start(self) -> BoardSim:
        self._thread.start()
        return self

    def stop(self) -> None:
        for board in self.boards.values():
            board.release()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> BoardSim:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


# --------------------------------------------------------------------------- its own rate


def measure_rate(sim: BoardSim, seconds: float = 2.0, threads: int = 4) -> float:
    """Requests per second the simulator serves to a client loop (``threads``
    keep-alive-less clients asking listing and posting pages in turn)."""
    import http.client

    board = sim.add(Board("ratecheck", "jsonld", 100, seed="rate"))
    paths = [f"/ratecheck/jobs?page={p}" for p in (1, 2)] + \
        [f"/ratecheck/job/{j}" for j in list(board.truth())[:20]]
    host, port = sim.url.removeprefix("http://").split(":")
    done = [0] * threads
    stop_at = time.perf_counter() + seconds

    def loop(k: int) -> None:
        i = k
        while time.perf_counter() < stop_at:
            conn = http.client.HTTPConnection(host, int(port), timeout=10)
            conn.request("GET", paths[i % len(paths)])
            conn.getresponse().read()
            conn.close()
            done[k] += 1
            i += 1

    start = time.perf_counter()
    workers = [threading.Thread(target=loop, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    rate = sum(done) / (time.perf_counter() - start)
    del sim.boards["ratecheck"]
    return rate


def main() -> int:
    with BoardSim() as sim:
        rate = measure_rate(sim)
    print(f"board simulator: {rate:.0f} requests/s served to a 4-thread client loop on loopback")
    return 0


if __name__ == "__main__":
    sys.exit(main())
