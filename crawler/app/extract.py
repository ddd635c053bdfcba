"""Reading one posting page, HTML or plain text, into canonical postings.

``jobdelta extract`` uses this to show what jobdelta reads from a page, with
the same code the spiders use:

- HTML: schema.org JobPosting data first (:func:`spiders.parsers.jsonld.
  extract_postings`, what the ``jsonld`` board reads); what the structured
  data leaves out (a pay line, a job number, a deadline sentence outside its
  description) is filled from the page text. A page without structured data
  is read from its text.
- Plain text (a page copied out of a browser, an aggregator's page text):
  :func:`read_text`, which tells the posting from the page around it.

Every posting then goes through :func:`crawler.normalize.normalize_posting`,
exactly as in a crawl.

The text reader works on lines. The posting's description starts at its
first paragraph of prose and ends where the page's own furniture begins
(view counters, "Similar jobs", a company's review and salary widgets). The
short lines before it are the page's header: each is read as what it
plainly is (a location list, "On Site", "Full Time", a pay range, "4w ago",
a "Skills" list, a job number), and the rest are the title and the company.
Lines of interface text (buttons, separators, menus in another script than
the posting) are left out. Nothing is inferred beyond what a line states:
a page that shows no title has none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

import html_text
from scrapy.http import HtmlResponse

from crawler.items import Posting
from crawler.normalize import (
    clean_paragraphs,
    clean_text,
    deadline_in_text,
    employment_label,
    normalize_posting,
    parse_locations,
    read_salaries,
    requisition_id_in_text,
    workplace_label,
)
from crawler.normalize.dates import looks_posted

# The address given to a page read without --url (extruct needs one); it is
# never reported.
_NO_URL = "https://jobdelta.invalid/page"
_HTML = re.compile(
    r"<(?:!doctype\s+html|html|head|body|div|p|span|script|meta|section|article|main|ul|li|h[1-6]"
    r"|table|a\s)[\s>/]",
    re.IGNORECASE,
)
# A line of prose (where a description starts) has this many words, or, in
# a script without spaces or case, this many characters.
_PROSE_WORDS = 10
_PROSE_CHARS = 60
# Interface text: buttons, separators, breadcrumbs, counters.
_UI_LINE = re.compile(
    r"[·•|/\-–—>»]+|refresh|save(?:d)?|share|apply(?:\s+now)?|easy\s+apply|report(?:\s+job)?"
    r"|back(?:\s+to\s+(?:jobs|search|results))?|jobs|home|menu|sign\s+in|log\s+in|follow"
    r"|show\s+(?:more|less)|see\s+more|read\s+more|view\s+job|\d+\s*(?:views?|applicants?)"
    r"|ver\s+m[áa]s|leer\s+m[áa]s|voir\s+plus|mehr\s+(?:anzeigen|lesen)|inscr[íi]bete|postuler"
    r"|candidater|(?:jetzt\s+)?bewerben|aplicar|solicitar|compartir|partager|teilen|𝕏"
    r"|footer|header|navigation|skip\s+to\s+(?:main\s+)?content|cookie\s+settings",
    re.IGNORECASE,
)
# Aggregators' own paragraphs, which are not part of the employer's posting.
_CHROME_TEXT = re.compile(
    r"^(?:This list contains only the countries for which job offers have been published"
    r"|Employers have access to artificial intelligence language tools"
    r"|Is this posting expired or inaccurate"
    r"|Report this (?:job|posting))",
    re.IGNORECASE,
)
# Where the page's furniture begins after a posting.
_TAIL = re.compile(
    r"(?:Total\s+Views|Apply\s+Clicks|Similar\s+(?:jobs|roles|positions)|More\s+jobs\s+(?:at|from)\b.*"
    r"|People\s+also\s+(?:viewed|searched)|Is\s+this\s+posting\s+expired\s+or\s+inaccurate\??"
    r"|Salary\s+Ranges|Interview\s+Experience|Company\s+reviews|Report\s+this\s+(?:job|posting)"
    r"|Apply\s+for\s+this\s+(?:job|position)|Share\s+this\s+(?:job|posting)"
    r"|¿Ya\s+tienes\s+perfil\b.*|Mira\s+el\s+resto\s+de\s+nuestras\s+ofertas|Ofertas\s+similares"
    r"|Offres\s+similaires|Autres\s+offres.*|[ÄA]hnliche\s+(?:Jobs|Stellen(?:angebote)?)"
    r"|Weitere\s+Stellenangebote.*)",
    re.IGNORECASE,
)
# "Label: value" lines of a page's facts box ("Ubicación: Albacete (España)",
# "Modalidad de trabajo: Presencial"), by the field the label names.
_FACT = re.compile(r"^(?P<label>[^:]{2,40}?)\s*:\s*(?P<value>\S.{0,200})$")
_FACT_LABELS = [
    ("locations_raw", r"(?:work\s+|job\s+)?locations?|ubicaci[oó]n|localizaci[oó]n|localidad|lugar"
                      r"|lieu|localisation|standort|arbeitsort|einsatzort|ort|localiza[cç][aã]o|sede"
                      r"|city|place"),
    ("workplace_type_raw", r"workplace(?:\s+type)?|work\s+(?:model|arrangement|type)|remote"
                           r"|modalidad(?:\s+de\s+trabajo)?|modalit[ée](?:\s+de\s+travail)?"
                           r"|arbeitsmodell|modalidade|t[ée]l[ée]travail"),
    ("employment_type_raw", r"employment(?:\s+type)?|job\s+type|contract(?:\s+type)?"
                            r"|type\s+de\s+contrat|tipo\s+de\s+(?:contrato|empleo|jornada)|jornada"
                            r"|contrato|vertragsart|anstellungsart|besch[äa]ftigungsart|arbeitszeit"),
    ("salary_raw", r"salary|pay(?:\s+range)?|compensation|salario|sueldo|salaire|r[ée]mun[ée]ration"
                   r"|gehalt|verg[üu]tung|retribuci[oó]n|remunera[cç][aã]o"),
    ("posted_at_raw", r"(?:date\s+)?posted(?:\s+on)?|published|fecha\s+de\s+publicaci[oó]n|publicad[oa]"
                      r"|date\s+de\s+publication|publi[ée]e?\s+le|ver[öo]ffentlicht(?:\s+am)?"),
    ("deadline_raw", r"(?:application\s+)?deadline|closing\s+date|apply\s+by|fecha\s+l[ií]mite"
                     r"|date\s+limite|bewerbungsfrist|bewerbungsschluss|scadenza"),
    ("department", r"department|departamento|d[ée]partement|abteilung|bereich|[áa]rea|team"),
    ("company", r"company|employer|empresa|entreprise|unternehmen|arbeitgeber|empleador"),
    ("title", r"job\s+title|position|posici[oó]n|puesto|poste|stelle|cargo"),
]
_FACT_FIELDS = [(name, re.compile(rf"(?:{labels})", re.IGNORECASE)) for name, labels in _FACT_LABELS]
# Labels of the page, not of the posting's text.
_PAGE_LABEL = re.compile(
    r"(?:job\s+)?(?:details|description|overview|summary|information|info)|about\s+the\s+job"
    r"|date\s+posted|posted|location|locations|job\s+type|employment\s+type|workplace(?:\s+type)?"
    r"|salary|pay|compensation|department|team",
    re.IGNORECASE,
)
# Labels the page prints above the posting's text, which are not its headings.
_PAGE_HEADING = re.compile(r"job\s+(?:details|description)|description|details|about\s+the\s+job",
                           re.IGNORECASE)
_SKILLS_LABEL = re.compile(
    r"(?:(?:required|key|top|core|preferred)\s+)?skills(?:\s+(?:required|needed))?"
    r"|comp[ée]tences|kenntnisse|f[äa]higkeiten|habilidades|competencias|필요\s*기술|기술\s*스택|スキル",
    re.IGNORECASE,
)
# Words that make a header line a job title rather than a place ("Sales
# Manager, Germany" names a country but is a title).
_TITLE_WORDS = re.compile(
    r"\b(?:engineer\w*|manager|developer|architect|analyst|director|lead|head|specialist"
    r"|designer|scientist|intern|consultant|officer|associate|assistant|administrator"
    r"|coordinator|representative|executive|technician|researcher|advisor|owner|partner"
    r"|president|recruiter|writer|editor|operator|agent|nurse|teacher)\b",
    re.IGNORECASE,
)
# "Microsoft is an equal opportunity employer": the employer, in its own words.
_NAME = r"[A-Z][\w&'’.-]*(?:[^\S\n]+(?:[A-Z][\w&'’.-]*|of|and|&)){0,4}"
_EMPLOYER = re.compile(
    rf"(?P<name>{_NAME})[^\S\n]+is[^\S\n]+an?[^\S\n]+equal[^\S\n]+(?:employment[^\S\n]+)?opportunity")
_ROLE_AT = re.compile(
    rf"\b(?:role|position|job|opening|team)[^\S\n]+at[^\S\n]+(?P<name>{_NAME})")
_ABOUT = re.compile(rf"About\s+(?P<name>{_NAME})")
# Breadcrumb text glued to the next item by the page's text extraction:
# "JobsSenior AI Hardware Architect".
_GLUED_CRUMB = re.compile(r"^Jobs(?=[A-Z])")


@dataclass
class _Header:
    """What the header lines of a text page say."""

    candidates: list[str] = field(default_factory=list)
    facts: dict[str, str] = field(default_factory=dict)
    locations_raw: list[str] = field(default_factory=list)
    workplace: str | None = None
    employment: str | None = None
    salary_raw: list[str] = field(default_factory=list)
    posted: str | None = None
    requisition_id: str | None = None
    skills: list[str] = field(default_factory=list)


def is_html(text: str) -> bool:
    """True when the text is an HTML page or fragment (it has real tags)."""
    return bool(_HTML.search(text[:20000]))


def extract(body: bytes | str, *, fetched_at: datetime, url: str | None = None,
            source: str = "") -> list[Posting]:
    """The normalized postings on one page: HTML (structured data first,
    then the page text) or plain text. [] when the page holds none."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    text = text.lstrip("\ufeff")
    if is_html(text):
        postings = _from_html(text, url, source)
    else:
        posting = read_text(text, url=url, source=source)
        postings = [posting] if posting is not None else []
    for posting in postings:
        normalize_posting(posting, fetched_at=fetched_at)
        if url is None:
            _forget_placeholder(posting)
    return postings


def _from_html(html: str, url: str | None, source: str) -> list[Posting]:
    from spiders.parsers.jsonld import extract_postings

    response = HtmlResponse(url=url or _NO_URL, body=html.encode("utf-8"), encoding="utf-8")
    postings = extract_postings(response, source)
    page_text = html_text.extract_text(html, guess_layout=True)
    from_text = read_text(page_text, url=url, source=source)
    if not postings:
        return [from_text] if from_text is not None else []
    if from_text is not None:
        for posting in postings:
            _fill_gaps(posting, from_text)
    return postings


def _fill_gaps(posting: Posting, page: Posting) -> None:
    """Fill what the structured data left out from what the page text
    shows; never overwrite a structured value."""
    for name in ("title", "company", "requisition_id", "workplace_type_raw",
                 "employment_type_raw", "posted_at_raw"):
        if not getattr(posting, name):
            setattr(posting, name, getattr(page, name))
    if not posting.locations and not posting.locations_raw:
        posting.locations_raw = page.locations_raw
    if not posting.skills:
        posting.skills = page.skills
    if not posting.salary and not posting.salary_raw:
        # Pay the page shows outside the posting's own text.
        posting.salary_raw = page.salary_raw
        if not page.salary_raw:
            posting.salary = read_salaries(page.description)
    own_text = posting.description or posting.description_html
    if posting.deadline is None and posting.deadline_raw is None and not deadline_in_text(own_text):
        found = deadline_in_text(page.description)
        if found and found[0]:
            posting.deadline_raw = found[1]


def _forget_placeholder(posting: Posting) -> None:
    if posting.url == _NO_URL:
        posting.url = None
    if posting.apply_url == _NO_URL:
        posting.apply_url = None
    if posting.external_id == "/page":
        posting.external_id = ""


def read_text(text: str, *, url: str | None = None, source: str = "") -> Posting | None:
    """A posting (not yet normalized) from the text of one posting page;
    None when the text holds no posting (blank, or interface text only).

    ``description`` is the posting's own text, without the page around it;
    header lines fill ``title``, ``company``, ``locations_raw``,
    ``workplace_type_raw``, ``employment_type_raw``, ``salary_raw``,
    ``posted_at_raw``, ``requisition_id`` and ``skills``. The company is the
    one the page names in the header or the posting's text states ("Acme is
    an equal opportunity employer", "the role at Acme", "About Acme").
    """
    raw_lines = text.splitlines()
    lines = [clean_text(line) or "" for line in raw_lines]
    latin = _mostly_latin(text)
    kept = [i for i, line in enumerate(lines) if line and not _is_chrome(line, latin)]
    if not kept:
        return None
    start = next((i for i in kept if _is_prose(lines[i])), None)
    end = len(lines) if start is None else next(
        (i for i in kept if i > start and _TAIL.fullmatch(lines[i])), len(lines))
    header_lines = [i for i in kept if start is None or i < start]
    # A heading right above the first paragraph belongs to the posting's
    # text ("Overview:"), unless it is the page's own label ("Job Details").
    if start is not None and header_lines and header_lines[-1] == _previous(kept, start):
        heading = lines[header_lines[-1]]
        if len(heading.split()) <= 4 and not _PAGE_HEADING.fullmatch(heading.rstrip(":")) \
                and not _is_value(heading):
            start = header_lines.pop()
    # Facts boxes sit above the posting or below it, among the page's furniture.
    header = _read_header([lines[i] for i in header_lines]
                          + [lines[i] for i in kept if start is not None and i >= end and _fact(lines[i])])
    keep = set(kept)
    body_lines = [raw_lines[i] if i in keep else "" for i in range(start, end)] \
        if start is not None else []
    description = clean_paragraphs("\n".join(body_lines)) if body_lines else None
    tail = [lines[i] for i in kept if i >= end]
    company_hint = _company_hint(description or "", tail)
    facts = header.facts
    title, company = _title_and_company(header.candidates, facts.get("company") or company_hint)
    title = title or facts.get("title")
    if not any((title, description, header.locations_raw, header.salary_raw, facts)):
        return None
    return Posting(
        source=source,
        external_id="",
        url=url,
        title=title,
        company=company,
        department=facts.get("department"),
        requisition_id=header.requisition_id,
        locations_raw=header.locations_raw or ([facts["locations_raw"]]
                                               if "locations_raw" in facts else []),
        workplace_type_raw=header.workplace or facts.get("workplace_type_raw"),
        employment_type_raw=header.employment or facts.get("employment_type_raw"),
        salary_raw=header.salary_raw or ([facts["salary_raw"]] if "salary_raw" in facts else []),
        posted_at_raw=header.posted or facts.get("posted_at_raw"),
        deadline_raw=facts.get("deadline_raw"),
        description=description,
        skills=header.skills,
    )


def _is_prose(line: str) -> bool:
    """A sentence rather than a title: enough words, and many of them in
    lower case ("Principal Hardware-Software Co-Design Engineer, AI HPC
    Systems - MAI Superintelligence Team" is long but a title). Text in a
    script without case counts by its length."""
    words = line.split()
    cased = [w for w in words if w[:1].isupper() or w[:1].islower()]
    if len(cased) < len(words) / 2:
        return len(line) >= _PROSE_CHARS
    lower = sum(w[0].islower() for w in cased)
    return len(words) >= _PROSE_WORDS and lower >= 0.3 * len(cased)


def _previous(kept: list[int], index: int) -> int | None:
    before = [i for i in kept if i < index]
    return before[-1] if before else None


def _mostly_latin(text: str) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return True
    return sum(ch < "\u0250" for ch in letters) / len(letters) >= 0.5


def _is_chrome(line: str, latin_page: bool) -> bool:
    if _UI_LINE.fullmatch(line.strip()) or _CHROME_TEXT.match(line):
        return True
    letters = [ch for ch in line if ch.isalpha()]
    # Menus in another script than the page's posting ("트렌딩 기업" around an
    # English posting).
    return bool(latin_page and letters and not any(ch < "\u0250" for ch in letters))


def _is_value(line: str) -> bool:
    # A header line that states a field value rather than a heading.
    return bool(workplace_label(line) or employment_label(line) or looks_posted(line)
                or _location_line(line))


def _location_line(line: str) -> bool:
    if len(line) > 200 or _TITLE_WORDS.search(line) or line.endswith((".", ":")):
        return False
    places = parse_locations(line)
    return bool(places) and all(place["country"] for place in places)


def _read_header(lines: list[str]) -> _Header:
    header = _Header()
    in_skills = False
    for line in lines:
        if in_skills:
            if _skill_item(line):
                header.skills.append(line)
                continue
            in_skills = False
        if _SKILLS_LABEL.fullmatch(line.rstrip(":").strip()):
            in_skills = True
        elif fact := _fact(line):
            header.facts.setdefault(*fact)
        elif (found := requisition_id_in_text(line)) and len(line) <= 60:
            header.requisition_id = header.requisition_id or found[0]
        elif _pay_line(line):
            header.salary_raw.append(line)
        elif header.workplace is None and workplace_label(line):
            header.workplace = line
        elif header.employment is None and employment_label(line):
            header.employment = line
        elif header.posted is None and looks_posted(line):
            header.posted = line
        elif _location_line(line):
            header.locations_raw.append(line)
        elif _PAGE_LABEL.fullmatch(line.rstrip(":").strip()) or _other_fact(line):
            continue
        else:
            header.candidates.append(_GLUED_CRUMB.sub("", line))
    return header


def _fact(line: str) -> tuple[str, str] | None:
    """``(field, value)`` for a "Label: value" line whose label names a
    posting field; None for any other line."""
    found = _FACT.match(line)
    if not found:
        return None
    label = found.group("label").strip()
    for name, pattern in _FACT_FIELDS:
        if pattern.fullmatch(label):
            return name, found.group("value").strip()
    return None


def _other_fact(line: str) -> bool:
    # "Vacantes: 1", "Sector: Retail": a fact of the page that no field takes.
    found = _FACT.match(line)
    return bool(found) and len(found.group("label").split()) <= 3


def _skill_item(line: str) -> bool:
    words = line.split()
    return (0 < len(words) <= 6 and len(line) <= 60 and not line.endswith((":", "."))
            and not _PAGE_HEADING.fullmatch(line) and not _SKILLS_LABEL.fullmatch(line))


def _pay_line(line: str) -> bool:
    # A line that is a pay range and little else ("USD 163,000.00 - 296,400.00 per year").
    entries = read_salaries(line, pay_field=True)
    return bool(entries) and sum(len(e["raw"]) for e in entries) >= 0.6 * len(line)


def _company_hint(description: str, tail: list[str]) -> str | None:
    """The employer as the posting's text names it: its equal-opportunity
    statement, "the ... role at X" in the opening paragraph, or the page's
    "About X" box after the posting."""
    if found := _EMPLOYER.search(description):
        return found.group("name")
    opening = description.split("\n\n", 1)[0]
    if found := _ROLE_AT.search(opening):
        return found.group("name").rstrip(".")
    for line in tail:
        if found := _ABOUT.fullmatch(line):
            return found.group("name")
    return None


def _title_and_company(candidates: list[str], hint: str | None) -> tuple[str | None, str | None]:
    names = [c for c in candidates if c]
    if hint:
        company = next((c for c in names if c.casefold() == hint.casefold()), hint)
        title = next((c for c in names if c.casefold() != company.casefold()), None)
        return title, company
    if not names:
        return None, None
    title = names[0]
    # Aggregators print the heading twice around the company ("Title /
    # Company / Title"); any other second line may be a team or a tagline.
    company = names[1] if len(names) >= 3 and names[2] == title and names[1] != title else None
    return title, company
