"""What every board spider shares: parameters, completeness, errors, raw pages.

A board spider only routes (which URL next, which pure function parses it).
It records whether it saw the whole board, and on what that rests
(``complete_by``): a listing page that failed or could not be parsed makes
the run partial, a board that could not be read at all makes it failed, and
neither ever expires anything. Walls (bot checks, login pages) are found by
:mod:`crawler.middlewares.walls` before any callback runs: the run fails as
``blocked``, and the errbacks here ignore that failure.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

import scrapy
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.errors import BoardError, Walled
from crawler.items import Gone, Posting, RawPage, Seen
from crawler.walls import find_wall

_SUBDOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def subdomain_problem(key: str, value: str, host: str) -> str | None:
    """What is wrong with a parameter that must be one DNS label, the
    ``<key>`` in ``host`` (e.g. ``<company>.breezy.hr``); None when fine."""
    if _SUBDOMAIN.fullmatch(value):
        return None
    return f"{key}: must be the subdomain alone, as in {host}, got {value!r}"


@dataclass(frozen=True)
class Param:
    """One board parameter: its type, whether it is required, what it means."""

    kind: type | tuple[type, ...]
    help: str
    required: bool = False
    default: Any = None


def _type_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: "a string", int: "a whole number", bool: "true or false", list: "a list",
             float: "a number"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


class BoardSpider(scrapy.Spider):
    """Base of every board spider."""

    board: ClassVar[str] = ""
    title: ClassVar[str] = ""
    default_base_url: ClassVar[str | None] = None
    params: ClassVar[dict[str, Param]] = {}
    example: ClassVar[str] = ""

    # Gone evidence: the board says the posting no longer takes applications.
    CLOSED_TEXT = re.compile(
        r"no longer (?:accepting applications|available|open)|this (?:job|position|posting) "
        r"(?:has been|is) (?:closed|filled|removed)|job (?:is )?(?:expired|closed)",
        re.IGNORECASE,
    )

    # Subclasses set this to the board's documented request rate: the
    # configured download_delay is raised to it, never lowered below it.
    min_download_delay: ClassVar[float] = 0.0

    # What a 404 on the board's first page means, formatted with the board
    # parameters, e.g. "Lever has no site {site!r}".
    not_found: ClassVar[str] = ""

    def __init__(self, source: str, params: dict[str, Any], base_url: str | None = None,
                 known_listing: dict[str, str] | None = None, full_refresh: bool = True,
                 **kwargs: Any):
        super().__init__(name=source, **kwargs)
        # listing fingerprints of the open postings stored so far; a posting
        # whose fingerprint has not moved needs no detail fetch, except in a
        # full-refresh run, which fetches every detail page to catch silent edits
        self.known_listing = known_listing or {}
        self.full_refresh = full_refresh
        self.source = source
        self.board_params = {k: params.get(k, p.default) for k, p in self.params.items()}
        self.base_url = (base_url or self.default_base_url or "").rstrip("/")
        self.errors: list[str] = []
        self.fatal: str | None = None
        self.listing_pages = 0
        self.listing_failures = 0
        self.board_complete: bool | None = None  # set by the spider when the listing ends
        # what the claim of completeness rests on, set with board_complete,
        # e.g. "meta.total = 120", for the runner to keep in the run's stats
        self.complete_by: str | None = None

    async def start(self):  # noqa: ANN201
        """Scrapy 2.13+ entry point: the board's first requests."""
        for request in self.start_requests():
            yield request

    def start_requests(self):  # noqa: ANN201
        """The board's first requests (override)."""
        return iter(())

    # -- configuration checks (used by crawler.config)

    @classmethod
    def check_params(cls, given: dict[str, Any]) -> str | None:
        for key in given:
            if key not in cls.params:
                known = ", ".join(sorted(cls.params)) or "none"
                return f"unknown key {key!r} for board {cls.board!r} (its keys: {known}, base_url, schedule)"
        for key, p in cls.params.items():
            if key not in given:
                if p.required:
                    return f"{key}: required for board {cls.board!r} ({p.help})"
                continue
            value = given[key]
            if not isinstance(value, p.kind) or (isinstance(value, bool) and p.kind is not bool):
                return f"{key}: must be {_type_name(p.kind)}, got {value!r}"
        return cls.check_more(given)

    @classmethod
    def check_more(cls, given: dict[str, Any]) -> str | None:
        """Board-specific checks beyond types (override)."""
        return None

    # -- outcome

    def note_error(self, message: str) -> None:
        self.errors.append(message)
        self.logger.warning(message)
        self.crawler.stats.inc_value("jobdelta/errors")

    def listing_failed(self, message: str) -> None:
        """A listing page could not be fetched or parsed: the board was not
        seen whole."""
        self.listing_failures += 1
        self.note_error(message)

    def fail(self, message: str) -> None:
        """The board could not be read at all."""
        self.fatal = self.fatal or message
        self.listing_failed(message)

    @property
    def complete(self) -> bool:
        return bool(self.board_complete) and self.listing_failures == 0 and self.fatal is None

    # -- helpers for subclasses

    def unchanged_in_listing(self, external_id: str, fingerprint: str) -> bool:
        """True when the detail page can be skipped: the listing shows this
        open posting as it did last time, and this is not a full refresh."""
        return not self.full_refresh and self.known_listing.get(external_id) == fingerprint

    def listed(self, items: list[Any], ids: set[str], id_key: str, fingerprint: Any,
               detail_request: Any) -> Any:
        """The entries of one listing page: each posting once (one shifted
        into this page by a posting removed meanwhile is skipped), ``Seen``
        for an open posting the listing shows unchanged, else the request
        ``detail_request(item, external_id, fingerprint)`` for its page."""
        for item in items:
            ext = str(item[id_key]).strip()
            if ext in ids:
                continue
            ids.add(ext)
            fp = fingerprint(item)
            if self.unchanged_in_listing(ext, fp):
                yield Seen(source=self.source, external_id=ext)
                continue
            yield detail_request(item, ext, fp)

    def judge_count(self, seen: int, total: int, what: str, total_name: str) -> None:
        """A paged listing read to its end: complete when it gave as many
        distinct postings as the board reports."""
        self.board_complete = seen == total
        if self.board_complete:
            self.complete_by = f"{total_name} = {total} distinct {what}, every page read"
        else:
            self.note_error(f"listing gave {seen} distinct {what} of the {total} it reports ({total_name})")

    def posting_from_detail(self, response: Response, read: Any, fp: str) -> Any:
        """The items of a posting's detail page: its raw page, then what
        ``read()`` (a pure parse) made of it, with the listing fingerprint it
        was fetched for. A page that cannot be read is an error of the run."""
        try:
            posting = read()
        except BoardError as exc:
            self.listing_failed(f"posting page could not be read: {exc}")
            return
        raw = self.keep_raw(response)
        yield raw
        if isinstance(posting, Posting):
            posting.fetched_at, posting.raw_sha256 = self.fetched_at(response), raw.sha256
            posting.listing_hash = fp
        yield posting

    def keep_raw(self, response: Response) -> RawPage:
        body = response.body
        return RawPage(url=response.url, status=response.status,
                       content_type=response.headers.get("Content-Type", b"").decode("latin-1") or None,
                       body=body, sha256=hashlib.sha256(body).hexdigest())

    @staticmethod
    def fetched_at(response: Response) -> str:
        return datetime.now(UTC).isoformat(timespec="seconds")

    @staticmethod
    def describe_failure(failure: Failure) -> str:
        if failure.check(HttpError):
            resp = failure.value.response
            return f"HTTP {resp.status} from {resp.url}"
        request = getattr(failure, "request", None)
        where = f" fetching {request.url}" if request is not None else ""
        return f"{failure.type.__name__}: {failure.getErrorMessage()}{where}"

    def wall_in(self, response: Response) -> str | None:
        """``blocked: ...`` when an answer the wall middleware does not see
        (JSON a rendered page fetched, a request marked ``dont_check_walls``)
        is a wall, counted in ``jobdelta/walls/<kind>``; None otherwise."""
        wall = find_wall(response)
        if wall is None:
            return None
        self.crawler.stats.inc_value(f"jobdelta/walls/{wall.kind}")
        return wall.reason

    def walled(self, response: Response) -> bool:
        """Fail the run when such an answer is a wall rather than the board."""
        blocked = self.wall_in(response)
        if blocked:
            self.fail(blocked)
        return blocked is not None

    def on_board_error(self, failure: Failure) -> None:
        """The board's first (or only) listing request failed: the run failed."""
        if failure.check(Walled):
            return  # the run failed as blocked already
        if failure.check(HttpError):
            resp = failure.value.response
            if resp.status == 404:
                what = self.not_found.format(**self.board_params) if self.not_found else \
                    "check the board parameters"
                self.fail(f"board not found: {what} (HTTP 404 from {resp.url})")
                return
        self.fail(f"board could not be read: {self.describe_failure(failure)}")

    def on_page_error(self, failure: Failure) -> None:
        """Errback of a paged listing whose requests carry their page position
        in ``cb_kwargs``: the first page failing fails the run, a later page
        failing makes it partial."""
        if any(failure.request.cb_kwargs.values()):
            self.on_listing_error(failure)
        else:
            self.on_board_error(failure)

    def on_listing_error(self, failure: Failure) -> None:
        if failure.check(Walled):
            return  # the run failed as blocked already
        self.listing_failed(f"listing page failed: {self.describe_failure(failure)}")

    def on_detail_error(self, failure: Failure):  # noqa: ANN201
        """A posting page that answers 404/410 is evidence the posting is gone,
        unless this run's own listing names it (the request carries its
        ``external_id``): the board then says both, and the listing wins. The
        posting is kept as it was (vouched for by the listing, like an
        unchanged one), the contradiction is an error of the run, and it
        expires only once the listing drops it. Any other failure only means
        this run did not see the posting."""
        if failure.check(Walled):
            return  # the run failed as blocked already
        if failure.check(HttpError) and failure.value.response.status in (404, 410):
            resp = failure.value.response
            meta = failure.request.meta if hasattr(failure, "request") else {}
            listed = meta.get("external_id")
            if listed:
                self.crawler.stats.inc_value("jobdelta/detail/listed_but_gone")
                self.note_error(f"posting {listed} is listed but its page answered {resp.status}: "
                                f"kept as it was, not expired")
                yield Seen(source=self.source, external_id=str(listed))
                return
            yield Gone(source=self.source, url=resp.url, reason=f"detail page answered {resp.status}")
            return
        self.listing_failed(f"posting page failed: {self.describe_failure(failure)}")


class OneResponseBoard(BoardSpider):
    """A board whose whole listing is one response (Greenhouse, Ashby,
    Recruitee, Breezy, Pinpoint, Personio...): one request, one callback.

    Subclasses give :meth:`board_url` and :meth:`read_board`, a pure parse
    that returns the postings and, when the board reports one, the total it
    claims. The board is complete when the response parsed and holds that
    many postings (or, without a total, when it parsed whole: ``complete_by``
    then says the count is checked against recent runs only). A 404 is
    "board not found"; malformed content raises ``BoardError`` and fails the
    run."""

    total_name: ClassVar[str] = "the board's total"  # what the reported total is called
    item_word: ClassVar[str] = "postings"
    no_total: ClassVar[str] = "whole response, no total given; count checked against recent runs only"

    def board_url(self) -> str:
        raise NotImplementedError

    def read_board(self, response: Response) -> tuple[list[Any], int | None]:
        """The postings of the response and the total the board reports
        (None when it reports none). Raises ``BoardError``."""
        raise NotImplementedError

    def start_requests(self):  # noqa: ANN201
        yield scrapy.Request(self.board_url(), callback=self.parse_board, errback=self.on_board_error,
                             dont_filter=True)

    def parse_board(self, response: Response):  # noqa: ANN201
        self.listing_pages += 1
        raw = self.keep_raw(response)
        yield raw
        try:
            postings, total = self.read_board(response)
        except BoardError as exc:
            self.fail(str(exc))
            return
        fetched = self.fetched_at(response)
        for p in postings:
            p.fetched_at, p.raw_sha256 = fetched, raw.sha256
            yield p
        if total is None:
            self.board_complete = True
            self.complete_by = self.no_total
        elif len(postings) < total:
            self.note_error(f"listing holds {len(postings)} of the {total} {self.item_word} it reports")
            self.board_complete = False
        else:
            self.board_complete = True
            self.complete_by = f"{self.total_name} = {total}"
