"""Which board an employer's careers URL or page is on, for ``jobdelta add``.

Pure functions, no I/O: fetching the page and trying the board live in
:mod:`crawler.app.cli_sources`.

- :func:`recognise_url` reads a careers URL: each applicant-tracking system
  has a few URL shapes (``boards.greenhouse.io/<token>``,
  ``<tenant>.wd5.myworkdayjobs.com/en-US/<site>``, ``<company>.recruitee.com``
  ...) that name the board and its parameters, with the parameter names the
  boards declare (README "Boards").
- :func:`read_page` reads an employer's own careers page: the boards it
  embeds or links to (every URL in the page, its scripts included, put
  through :func:`recognise_url`), the markers of systems that live on the
  employer's own domain (Eightfold, Phenom), and, failing those, the
  schema.org ``JobPosting`` data and the links that look like postings, from
  which a ``jsonld`` source with an ``allow`` pattern is proposed.

Every board found carries the evidence it rests on, in words for the user.
"""

from __future__ import annotations

import html as html_lib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urljoin, urlsplit

# Subdomains that are a vendor's own site, never a customer's board.
_NOT_A_TENANT = frozenset({
    "www", "app", "api", "apply", "help", "support", "status", "docs", "developer", "developers",
    "blog", "cdn", "static", "assets", "images", "mail", "login", "auth", "sso", "marketplace",
    "partner", "partners", "community", "academy", "info", "get", "go", "my", "admin",
})
_TOKEN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\- ]*$")  # a board's name in a URL path
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")  # a host label
_LOCALE = re.compile(r"^[a-z]{2}(?:[-_][A-Za-z]{2,4})?$")
_MICROSOFT_HOSTS = frozenset({"careers.microsoft.com", "jobs.careers.microsoft.com",
                              "apply.careers.microsoft.com", "gcsservices.careers.microsoft.com"})


@dataclass(frozen=True)
class Recognised:
    """A board and its parameters, the source name they suggest, and what
    the recognition rests on ("the URL jobs.lever.co/<site>")."""

    board: str
    params: dict[str, Any]
    name: str
    evidence: str

    @property
    def key(self) -> str:
        """Board and parameters, for telling two findings apart."""
        return json.dumps([self.board, self.params], sort_keys=True)

    def describe(self) -> str:
        shown = ", ".join(f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in self.params.items())
        return f"{self.board} ({shown})" if shown else self.board


def slug(text: str) -> str:
    """A source name from a board token: lowercase letters, digits and
    dashes (``Ubisoft2`` -> ``ubisoft2``, ``Acme Inc.`` -> ``acme-inc``)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# -- URLs


@dataclass(frozen=True)
class _Url:
    host: str
    segments: list[str]  # path segments, unquoted, empty ones dropped
    query: dict[str, str]  # first value of each parameter
    raw: str


def _split(url: str) -> _Url | None:
    text = url.strip().strip("<>\"'")
    if not text:
        return None
    if text.startswith("//"):
        text = "https:" + text
    elif not re.match(r"^[a-z][a-z0-9+.-]*://", text, re.IGNORECASE):
        text = "https://" + text
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 -- raises ValueError for a bad port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower().rstrip(".")
    segments = [unquote(s) for s in parts.path.split("/") if s]
    query = {k: v[0] for k, v in parse_qs(parts.query).items() if v}
    return _Url(host, segments, query, text)


def _tenant(host: str, suffix: str, extra_reserved: frozenset[str] = frozenset()) -> str | None:
    """``acme`` from ``acme.<suffix>``; None for the vendor's own hosts."""
    if not host.endswith("." + suffix):
        return None
    label = host[: -len(suffix) - 1]
    if not _LABEL.match(label) or label in _NOT_A_TENANT or label in extra_reserved:
        return None
    return label


def _token(segment: str | None, reserved: frozenset[str] = frozenset()) -> str | None:
    if not segment or not _TOKEN.match(segment) or segment.lower() in reserved:
        return None
    return segment


_GREENHOUSE_HOSTS = frozenset({
    "boards.greenhouse.io", "job-boards.greenhouse.io", "boards.eu.greenhouse.io",
    "job-boards.eu.greenhouse.io", "boards-api.greenhouse.io", "boards-api.eu.greenhouse.io",
    "api.greenhouse.io", "app.greenhouse.io", "app.eu.greenhouse.io",
})
_GREENHOUSE_BOARD_HOSTS = frozenset({"boards.greenhouse.io", "job-boards.greenhouse.io",
                                     "boards.eu.greenhouse.io", "job-boards.eu.greenhouse.io"})
_GREENHOUSE_RESERVED = frozenset({"embed", "v1", "api", "assets", "static", "images", "favicon.ico",
                                  "robots.txt", "sitemap.xml", "jobs", "careers"})


def _greenhouse(u: _Url) -> Recognised | None:
    if u.host not in _GREENHOUSE_HOSTS:
        return None
    s = u.segments
    if s[:1] == ["embed"]:  # embed/job_board(/js)?for=<token>, embed/job_app?for=<token>
        token, how = _token(u.query.get("for")), "the Greenhouse embed (for=<token>)"
    elif s[:2] == ["v1", "boards"]:
        token, how = _token(s[2] if len(s) > 2 else None), "the Greenhouse API URL /v1/boards/<token>"
    elif u.host in _GREENHOUSE_BOARD_HOSTS:
        token, how = _token(s[0] if s else None, _GREENHOUSE_RESERVED), f"the URL {u.host}/<token>"
    else:
        return None
    if not token or " " in token:
        return None
    return Recognised("greenhouse", {"token": token}, slug(token), how)


def _lever(u: _Url) -> Recognised | None:
    eu = u.host in ("jobs.eu.lever.co", "api.eu.lever.co")
    if u.host in ("jobs.lever.co", "jobs.eu.lever.co"):
        site = _token(u.segments[0] if u.segments else None, frozenset({"embed"}))
        how = f"the URL {u.host}/<site>"
    elif u.host in ("api.lever.co", "api.eu.lever.co") and u.segments[:2] == ["v0", "postings"]:
        site, how = _token(u.segments[2] if len(u.segments) > 2 else None), "the Lever API URL"
    else:
        return None
    if not site or " " in site:
        return None
    params: dict[str, Any] = {"site": site}
    if eu:
        params["eu"] = True
    return Recognised("lever", params, slug(site), how)


def _ashby(u: _Url) -> Recognised | None:
    if u.host == "jobs.ashbyhq.com":
        name = _token(u.segments[0] if u.segments else None, frozenset({"api", "embed", "_next", "embed.js"}))
        how = "the URL jobs.ashbyhq.com/<company>" + (" (its embed)" if u.segments[1:2] == ["embed"] else "")
    elif u.host == "api.ashbyhq.com" and u.segments[:2] == ["posting-api", "job-board"]:
        name, how = _token(u.segments[2] if len(u.segments) > 2 else None), "the Ashby posting API URL"
    else:
        return None
    return Recognised("ashby", {"company": name}, slug(name), how) if name else None


def _smartrecruiters(u: _Url) -> Recognised | None:
    s = u.segments
    if u.host in ("careers.smartrecruiters.com", "jobs.smartrecruiters.com"):
        if s[:2] == ["oneclick-ui", "company"]:
            s = s[2:]
        company = _token(s[0] if s else None, frozenset({"oneclick-ui", "sr-jobs", "api", "static"}))
        how = f"the URL {u.host}/<company>"
    elif u.host == "api.smartrecruiters.com" and s[:2] == ["v1", "companies"]:
        company, how = _token(s[2] if len(s) > 2 else None), "the SmartRecruiters API URL"
    else:
        return None
    if not company or " " in company:
        return None
    return Recognised("smartrecruiters", {"company": company}, slug(company), how)


_WORKDAY_JOBS = re.compile(r"^([a-z0-9_-]+)\.(wd\d+)\.myworkdayjobs\.com$")
_WORKDAY_SITE = re.compile(r"^(?:[a-z0-9_-]+\.)?(wd\d+)\.myworkdaysite\.com$")


def _workday(u: _Url) -> Recognised | None:
    s = list(u.segments)
    m = _WORKDAY_JOBS.match(u.host)
    if m:
        tenant = m.group(1)
        if s[:2] == ["wday", "cxs"] and len(s) > 3:  # the CXS API: /wday/cxs/<tenant>/<site>
            return Recognised("workday", {"url": f"https://{u.host}/{s[3]}"}, slug(tenant),
                              "the Workday CXS API URL")
        locale = s.pop(0) if s and _LOCALE.match(s[0]) else None
        if not s or s[0] in ("wday", "job", "details", "login") or not _TOKEN.match(s[0]):
            return None
        path = f"{locale}/{s[0]}" if locale else s[0]
        return Recognised("workday", {"url": f"https://{u.host}/{path}"}, slug(tenant),
                          "the URL <tenant>.wdN.myworkdayjobs.com/<site>")
    m = _WORKDAY_SITE.match(u.host)
    if m:
        if s and _LOCALE.match(s[0]):
            s.pop(0)
        if len(s) >= 3 and s[0] == "recruiting" and _TOKEN.match(s[1]) and _TOKEN.match(s[2]):
            return Recognised("workday", {"host": u.host, "tenant": s[1], "site": s[2]}, slug(s[1]),
                              "the URL wdN.myworkdaysite.com/recruiting/<tenant>/<site>")
    return None


def _workable(u: _Url) -> Recognised | None:
    s = u.segments
    account = None
    if u.host == "apply.workable.com":
        if s[:1] == ["api"]:  # /api/v1/widget/accounts/<a>, /api/v3/accounts/<a>/jobs
            if "accounts" in s and s.index("accounts") + 1 < len(s):
                account = s[s.index("accounts") + 1]
            how = "the Workable API URL"
        else:
            account = s[0] if s and s[0] not in ("j", "api") else None
            how = "the URL apply.workable.com/<account>"
    else:
        account = _tenant(u.host, "workable.com", frozenset({"jobs", "resources", "careers"}))
        how = "the URL <account>.workable.com"
    account = _token(account)
    if not account or " " in account:
        return None
    return Recognised("workable", {"account": account}, slug(account), how)


def _subdomain_board(board: str, suffix: str, param: str, vendor: str,
                     extra_reserved: frozenset[str] = frozenset()):  # noqa: ANN202
    def rule(u: _Url) -> Recognised | None:
        name = _tenant(u.host, suffix, extra_reserved)
        if not name:
            return None
        return Recognised(board, {param: name}, slug(name), f"the URL <{param}>.{suffix} ({vendor})")
    return rule


def _personio(u: _Url) -> Recognised | None:
    for domain in ("de", "com"):
        company = _tenant(u.host, f"jobs.personio.{domain}")
        if company:
            params: dict[str, Any] = {"company": company}
            if domain != "de":  # "de" is the board's default
                params["domain"] = domain
            return Recognised("personio", params, slug(company),
                              f"the URL <company>.jobs.personio.{domain}")
    return None


def _teamtailor(u: _Url) -> Recognised | None:
    m = re.match(r"^([a-z0-9-]+)\.(na\.)?teamtailor\.com$", u.host)
    if not m or m.group(1) in _NOT_A_TENANT:
        return None
    company = f"{m.group(1)}.na" if m.group(2) else m.group(1)  # with its region, as the board takes it
    return Recognised("teamtailor", {"company": company}, slug(m.group(1)),
                      f"the URL <company>.{'na.' if m.group(2) else ''}teamtailor.com")


def _oracle(u: _Url) -> Recognised | None:
    if not u.host.endswith(".oraclecloud.com"):
        return None
    s = u.segments
    site = None
    if "CandidateExperience" in s and "sites" in s and s.index("sites") + 1 < len(s):
        site = s[s.index("sites") + 1]
    else:
        m = re.search(r"siteNumber=([A-Za-z0-9_]+)", unquote(u.raw))
        site = m.group(1) if m else None
    if not site or not _TOKEN.match(site):
        return None
    return Recognised("oracle", {"host": u.host, "site": site},
                      slug(f"{u.host.split('.')[0]}-{site}"),
                      "the Oracle Recruiting Cloud URL …/CandidateExperience/…/sites/<site>")


def _icims(u: _Url) -> Recognised | None:
    label = _tenant(u.host, "icims.com", frozenset({"community", "cdn", "developer"}))
    if not label:
        return None
    name = label.split("-", 1)[1] if "-" in label else label  # careers-acme -> acme
    return Recognised("icims", {"url": f"https://{u.host}"}, slug(name), "the URL careers-<company>.icims.com")


def _eightfold(u: _Url) -> Recognised | None:
    if u.host in _MICROSOFT_HOSTS:
        return Recognised("microsoft", {}, "microsoft", f"the URL {u.host} (Microsoft's Eightfold site)")
    domain = u.query.get("domain")
    domain = domain if domain and re.match(r"^[a-z0-9.-]+\.[a-z]{2,}$", domain.lower()) else None
    label = u.host[: -len(".eightfold.ai")] if u.host.endswith(".eightfold.ai") else None
    if label is not None:
        if not _LABEL.match(label) or label == "www":
            return None
        params: dict[str, Any] = {"host": u.host}
        if domain:
            params["domain"] = domain.lower()
        name = slug(domain.split(".")[0]) if domain else slug(label)
        return Recognised("eightfold", params, name if name != "app" else "eightfold",
                          "the URL <employer>.eightfold.ai")
    # an employer's own host serving Eightfold's career site: /careers?domain=<employer domain>
    if domain and u.segments[:1] == ["careers"]:
        return Recognised("eightfold", {"host": u.host, "domain": domain.lower()},
                          slug(domain.split(".")[0]), "the Eightfold URL shape /careers?domain=<domain>")
    return None


_SUCCESSFACTORS = re.compile(r"^career\d*\.(?:successfactors|sapsf)\.(?:com|eu|cn)$")


def _successfactors(u: _Url) -> Recognised | None:
    company = u.query.get("company")
    if not _SUCCESSFACTORS.match(u.host) or not company or not re.match(r"^[A-Za-z0-9_]+$", company):
        return None
    return Recognised("successfactors", {"url": f"https://{u.host}/career?company={company}"},
                      slug(company), "the SuccessFactors URL career<N>.successfactors.<tld>?company=<id>")


_RULES = (
    _greenhouse, _lever, _ashby, _smartrecruiters, _workday, _workable,
    _subdomain_board("recruitee", "recruitee.com", "company", "Recruitee", frozenset({"careers"})),
    _personio,
    _subdomain_board("bamboohr", "bamboohr.com", "company", "BambooHR"),
    _subdomain_board("breezy", "breezy.hr", "company", "Breezy HR"),
    _subdomain_board("pinpoint", "pinpointhq.com", "company", "Pinpoint"),
    _oracle, _icims, _teamtailor, _eightfold, _successfactors,
)

# The boards recognise_url can name, for tables and tests.
URL_BOARDS = ("greenhouse", "lever", "ashby", "smartrecruiters", "workday", "workable", "recruitee",
              "personio", "bamboohr", "breezy", "pinpoint", "oracle", "icims", "teamtailor", "eightfold",
              "microsoft", "successfactors")


def recognise_url(url: str) -> Recognised | None:
    """The board a careers URL is on, with its parameters; None when no
    system's URL shape matches."""
    u = _split(url)
    if u is None:
        return None
    for rule in _RULES:
        found = rule(u)
        if found is not None:
            return found
    return None


# -- pages


@dataclass
class PageFindings:
    """What an employer's careers page shows of the system behind it."""

    url: str
    boards: list[tuple[Recognised, int]] = field(default_factory=list)  # strongest first, with references
    notes: list[str] = field(default_factory=list)  # systems seen without their parameters
    jobpostings: int = 0  # schema.org JobPosting items on the page itself
    posting_links: list[str] = field(default_factory=list)
    jsonld: Recognised | None = None  # the jsonld source proposed when no board is found

    @property
    def best(self) -> Recognised | None:
        if self.boards:
            return self.boards[0][0]
        return self.jsonld

    def summary(self) -> list[str]:
        """What was found, one line each, strongest first."""
        lines = []
        for i, (found, refs) in enumerate(self.boards):
            lead = "found" if i == 0 else "also found"
            lines.append(f"{lead} {found.describe()}: {found.evidence}, "
                         f"{refs} reference{'s' if refs != 1 else ''} on the page")
        lines.extend(self.notes)
        if self.jobpostings:
            lines.append(f"{self.jobpostings} schema.org JobPosting item{'s' if self.jobpostings != 1 else ''}"
                         " on the page")
        if self.posting_links:
            n = len(self.posting_links)
            lines.append(f"{n} link{'s' if n != 1 else ''} that look{'' if n != 1 else 's'} like "
                         f"posting{'s' if n != 1 else ''}, e.g. {self.posting_links[0]}")
        return lines


_URL_IN_TEXT = re.compile(r"(?:https?:)?//(?:[a-z0-9-]+\.)+[a-z]{2,}(?::\d+)?(?:[/?][^\s\"'<>\\`)]*)?",
                          re.IGNORECASE)
# ATS hosts written without a scheme (BambooHR's embed: data-domain="acme.bamboohr.com")
_BARE_HOST = re.compile(r"(?<![\w./-])([a-z0-9-]+\.(?:bamboohr\.com|recruitee\.com|breezy\.hr|pinpointhq\.com|"
                        r"teamtailor\.com|jobs\.personio\.(?:de|com)))\b", re.IGNORECASE)
_LEVER_EMBED = re.compile(r"leverJobsOptions\s*=\s*\{[^}]*?accountName\s*:\s*['\"]([\w.-]+)['\"]")
# Eightfold's own markers on an employer's host (links to <x>.eightfold.ai are read as URLs)
_EIGHTFOLD = re.compile(r"static\.vscdn\.net|/api/pcsx/|/api/apply/v2/jobs|\b_EF_GROUP_ID\b",
                        re.IGNORECASE)
_EIGHTFOLD_DOMAIN = re.compile(r"""(?:[?&]domain=|["']domain["']\s*:\s*["'])([a-z0-9-]+(?:\.[a-z0-9-]+)+)""",
                               re.IGNORECASE)
# Systems a page shows without naming the board (the name is filled in by a script).
_NAMELESS = (
    (re.compile(r"[?&]gh_jid=\d+|\bgrnhse_app\b"), "Greenhouse (gh_jid links or its grnhse_app embed)",
     "open one posting in a browser and find boards.greenhouse.io/embed/job_app?for=<token> in it, then "
     "`jobdelta add https://boards.greenhouse.io/<token>`"),
    (re.compile(r"\bashby_embed\b|[?&]ashby_jid="), "Ashby (its ashby_embed)",
     "find jobs.ashbyhq.com/<company> in the page as a browser shows it, then add that URL"),
    (re.compile(r"lever-jobs-container|[?&]lever-(?:source|origin)="), "Lever (its jobs embed)",
     "find jobs.lever.co/<site> in the page as a browser shows it, then add that URL"),
    (re.compile(r"myworkdayjobs\.com|myworkdaysite\.com"), "Workday",
     "add the career site's own address, like https://<tenant>.wd5.myworkdayjobs.com/<site>"),
)
# SAP SuccessFactors Recruiting Marketing career sites on an employer's own domain
_SUCCESSFACTORS_PAGE = re.compile(r"\bjoblayouttoken\b|\bjobDisplayShell\b|rmkcdn\.successfactors\.com|"
                                  r"\brtltextaligneligible\b")
_PHENOM = re.compile(r"cdn\.phenompeople\.com|phenompeople|\bphApp\b|\"ddoKey\"|widgetApiEndpoint",
                     re.IGNORECASE)
_LD_JSON = re.compile(r"<script[^>]*type\s*=\s*[\"']application/ld\+json[\"'][^>]*>(.*?)</script>",
                      re.IGNORECASE | re.DOTALL)
_HREF = re.compile(r"""<a\b[^>]*?\bhref\s*=\s*["']([^"'#]+)""", re.IGNORECASE)
_EMBED_ATTR = re.compile(r"""\b(?:src|data-src|data-url)\s*=\s*["']([^"']+)""", re.IGNORECASE)
# path words that lead to a posting: /jobs/<id>, /careers/positions/<slug>, /stellenangebote/<slug> ...
_JOB_WORDS = frozenset({
    "job", "jobs", "career", "careers", "position", "positions", "opening", "openings", "vacancy",
    "vacancies", "posting", "postings", "role", "roles", "opportunities", "stellen", "stellenangebote",
    "stellenangebot", "offre", "offres", "emploi", "empleo", "empleos", "vacature", "vacatures",
    "lavora-con-noi", "requisition", "requisitions", "joboffer", "job-offers",
})
# path words of what is no posting: applying, signing in, sending a CV
_NOT_POSTING_WORDS = frozenset({"apply", "application", "applications", "login", "signin", "sign-in",
                                "register", "talentcommunity", "talent-community", "add", "cv", "alerts",
                                "saved", "share", "print"})
_LISTING_WORDS = frozenset({"search", "search-results", "results", "page", "all", "list", "index", "filter",
                            "categories", "category", "teams", "locations", "departments", "joblist",
                            "job-list", "jobs-list", "overview"})


def _page_text(body: str) -> str:
    # URLs inside scripts and JSON come escaped: "https:\/\/jobs.lever.co\/acme", \u002F
    text = body.replace("\\/", "/").replace("\\u002F", "/").replace("\\u002f", "/")
    return html_lib.unescape(text)


def _site_name(host: str) -> str:
    """A source name for a site without a board token: ``careers.acme.co.uk`` -> ``acme``."""
    if host == "localhost" or re.fullmatch(r"[\d.]+|\[?[0-9a-f:]+\]?", host):
        return "careers"
    return slug(_registrable(host).split(".")[0]) or "careers"


def _registrable(host: str) -> str:
    labels = host.split(".")
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in ("co", "com", "org", "net", "ac", "gov",
                                                                      "edu", "ne", "or"):
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def _walk_jsonld(value: Any) -> list[dict[str, Any]]:
    found = []
    if isinstance(value, list):
        for v in value:
            found.extend(_walk_jsonld(v))
    elif isinstance(value, dict):
        kind = value.get("@type")
        kinds = kind if isinstance(kind, list) else [kind]
        if "JobPosting" in kinds:
            found.append(value)
        for key in ("@graph", "itemListElement", "item", "mainEntity"):
            if key in value:
                found.extend(_walk_jsonld(value[key]))
    return found


def _jobpostings(body: str) -> list[dict[str, Any]]:
    postings = []
    for block in _LD_JSON.findall(body):
        try:
            data = json.loads(block.strip(), strict=False)
        except ValueError:
            continue
        postings.extend(_walk_jsonld(data))
    return postings


def _same_site(a: str, b: str) -> bool:
    return a.removeprefix("www.") == b.removeprefix("www.")


def _looks_like_posting(path_segments: list[str]) -> int | None:
    """Index of the job word a posting's path hangs under, or None."""
    lowered = [s.lower() for s in path_segments]
    if not lowered or lowered[-1] in _LISTING_WORDS or lowered[-1] in _JOB_WORDS \
            or any(s in _NOT_POSTING_WORDS for s in lowered):
        return None
    for i, seg in enumerate(lowered[:-1]):
        if seg in _JOB_WORDS:
            return i
    return None


def posting_links(body: str, url: str) -> list[str]:
    """Links on the page, to the page's own site, that look like postings
    (a path under a job word, not a listing or filter page), in page order."""
    page = urlsplit(url)
    found: list[str] = []
    for href in _HREF.findall(body):
        link = urljoin(url, html_lib.unescape(href.strip()))
        parts = urlsplit(link)
        if parts.scheme not in ("http", "https") or not parts.hostname or page.hostname is None:
            continue
        if not _same_site(parts.hostname.lower(), page.hostname.lower()):
            continue
        segments = [s for s in parts.path.split("/") if s]
        if _looks_like_posting(segments) is None or link.split("#")[0] == url.split("#")[0]:
            continue
        if link not in found:
            found.append(link)
    return found


def allow_pattern(links: list[str]) -> str | None:
    """A regex for ``jsonld``'s ``allow``: the path under which most of the
    posting links hang (``/jobs/``), then one segment (with a digit when
    every posting link has one, as ids do)."""
    prefixes: Counter[str] = Counter()
    by_prefix: dict[str, list[str]] = {}
    for link in links:
        segments = [s for s in urlsplit(link).path.split("/") if s]
        i = _looks_like_posting(segments)
        if i is None:
            continue
        prefix = "/" + "/".join(segments[: i + 1]) + "/"
        prefixes[prefix] += 1
        by_prefix.setdefault(prefix, []).append(segments[i + 1])
    if not prefixes:
        return None
    prefix = prefixes.most_common(1)[0][0]
    tail = r"[^/?#]*\d[^/?#]*" if all(re.search(r"\d", s) for s in by_prefix[prefix]) else r"[^/?#]+"
    return re.escape(prefix).replace(r"\-", "-") + tail


def read_page(body: str | bytes, url: str) -> PageFindings:
    """What ``url``'s page (its HTML, scripts included) shows of the system
    behind it. Boards are ranked by evidence: embeds (script and iframe
    sources) count more than links, and more references more than fewer."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    text = _page_text(body)
    page_host = (urlsplit(url).hostname or "").lower()
    findings = PageFindings(url=url)
    scores: Counter[str] = Counter()
    refs: Counter[str] = Counter()
    by_key: dict[str, Recognised] = {}
    embedded = {m.strip() for m in _EMBED_ATTR.findall(text)}

    def note(found: Recognised | None, candidate: str, weight: int = 1) -> None:
        if found is None:
            return
        by_key.setdefault(found.key, found)
        refs[found.key] += 1
        scores[found.key] += weight + (4 if candidate in embedded else 0)

    candidates = set(_URL_IN_TEXT.findall(text)) | set(_URL_IN_TEXT.findall(unquote(text)))
    # a URL passed in another's query (/r?url=https%3A%2F%2F...&x=1) ends where that query goes on
    candidates = {c.split("&", 1)[0] if "?" not in c else c for c in candidates}
    for candidate in sorted(candidates):
        note(recognise_url(candidate), candidate)
    for host in sorted({h.lower() for h in _BARE_HOST.findall(text)}):
        note(recognise_url(host), host)
    for site in sorted(set(_LEVER_EMBED.findall(text))):
        note(Recognised("lever", {"site": site}, slug(site), "the Lever jobs embed (leverJobsOptions.accountName)"),
             "", weight=5)

    own = recognise_url(url)
    own_eightfold = own is not None and own.board in ("eightfold", "microsoft")
    seen_eightfold = any(by_key[k].board in ("eightfold", "microsoft") and "domain" in by_key[k].params
                         for k in by_key)
    if not seen_eightfold and (own_eightfold or _EIGHTFOLD.search(text)):
        domains = [d.lower() for d in _EIGHTFOLD_DOMAIN.findall(text)
                   if not d.lower().endswith(("eightfold.ai", "vscdn.net"))]
        domain = Counter(domains).most_common(1)[0][0] if domains else None
        if own is not None and own_eightfold:
            found = own
            if own.board == "eightfold" and domain and "domain" not in own.params:
                found = Recognised("eightfold", {**own.params, "domain": domain}, slug(domain.split(".")[0]),
                                   own.evidence + ", its domain from the page")
        else:
            guessed = domain or _registrable(page_host)
            found = Recognised("eightfold", {"host": page_host, "domain": guessed}, slug(guessed.split(".")[0]),
                               "Eightfold's career site markers on the employer's own host"
                               + ("" if domain else f" (domain {guessed} taken from the host)"))
        note(found, "", weight=5)
    if _SUCCESSFACTORS_PAGE.search(text) and not any(by_key[k].board == "successfactors" for k in by_key):
        origin = urlsplit(url)
        note(Recognised("successfactors", {"url": f"{origin.scheme}://{origin.netloc}"},
                        _site_name(page_host),
                        "SAP SuccessFactors career site markers (joblayouttoken, jobDisplayShell) on the page"),
             "", weight=3)
    if _PHENOM.search(text):
        parts = urlsplit(url)
        site = f"{parts.scheme}://{parts.netloc}{parts.path or '/'}"
        note(Recognised("phenom", {"url": site}, _site_name(page_host),
                        "Phenom People markers (phApp, cdn.phenompeople.com) on the page"), "", weight=3)

    ranked = sorted(scores, key=lambda k: (-scores[k], list(by_key).index(k)))
    findings.boards = [(by_key[k], refs[k]) for k in ranked]
    if not findings.boards:
        for marker, system, hint in _NAMELESS:
            if marker.search(text):
                findings.notes.append(f"{system} on the page, but not its board's name: {hint}")

    postings = _jobpostings(body)
    findings.jobpostings = len(postings)
    links = posting_links(body, url)
    ld_links = [urljoin(url, p["url"]) for p in postings if isinstance(p.get("url"), str)]
    findings.posting_links = links
    allow = allow_pattern([u for u in ld_links if _same_site(urlsplit(u).hostname or "", page_host)]) \
        or allow_pattern(links)
    # one link is a posting only when it carries an id; two or more make a listing
    if postings or len(links) > 1 or (links and re.search(r"\d", urlsplit(links[0]).path)):
        params: dict[str, Any] = {"start_urls": [url]}
        if allow:
            params["allow"] = allow
        findings.jsonld = Recognised(
            "jsonld", params, _site_name(page_host),
            "schema.org JobPosting data on the page" if postings and not links
            else f"links that look like postings ({allow or 'no common path'})")
    return findings
