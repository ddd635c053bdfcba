"""Employment type from the board's free text ("Full-time", "FULL_TIME",
["FULL_TIME"], "CDI", "Vollzeit", "Fixed Term" ...) to one of
``full_time``, ``part_time``, ``contract``, ``temporary``, ``internship``,
``other``; and, when nothing structured says it, from a job title that says
it of the job ("Software Engineering Intern", "Werkstudent Vertrieb",
"Designer (Contract)"), never of the team ("Manager, Internship Programs",
"Intern Recruiting Lead", "Contract Manager")."""

from __future__ import annotations

import re
from typing import Any

EMPLOYMENT_TYPES = ("full_time", "part_time", "contract", "temporary", "internship", "other")

# Checked in this order within one value: "Part-time permanent" is part
# time, "Permanent contract" is employment (full time) while "Full-time
# contract" is a contract, and "Fixed-term contract" is temporary.
_RULES = [
    (kind, re.compile(rf"\b(?:{words})\b"))
    for kind, words in (
        ("internship", r"intern(?:ship)?s?|trainee(?:ship)?|stage|stagiaire|praktikum|praktikant(?:in)?"
                       r"|co ?ops?"),
        ("internship", r"pr[aá]cticas|est[aá]gio|tirocinio|인턴|インターン"),
        ("temporary", r"temporary|temp|seasonal|fixed term|short term|cdd|befristet|interim|temporal"),
        ("temporary", r"tempo determinato|contrato temporal|aushilfe"),
        ("part_time", r"part ?time|teilzeit|temps partiel|tiempo parcial|media jornada"),
        ("part_time", r"meio per[ií]odo|tempo parziale|werkstudent(?:in)?|minijob|アルバイト|파트타임"),
        ("full_time", r"permanent|regular|cdi|unbefristet|festanstellung|indefinido"),
        ("full_time", r"tempo indeterminato|vast dienstverband|正社員|정규직"),
        ("contract", r"contract|contractor|freelance|freelancer|契約社員|계약직"),
        ("full_time", r"full ?time|vollzeit|temps (?:plein|complet)|tiempo completo"),
        ("full_time", r"jornada completa|tempo integral|tempo pieno|voltijd|heltid|pełny etat"),
        ("other", r"other|volunteer|per diem|apprentice(?:ship)?|apprentie?s?|ausbildung|alternance"),
    )
]
_SEPARATORS = re.compile(r"[,;/|]|\band\b")


def _kind_of(value: str) -> str | None:
    text = " ".join(re.sub(r"[-_]", " ", value.casefold()).split())
    for kind, pattern in _RULES:
        if pattern.search(text):
            return kind
    return None


def stated_employment_type(raw: Any) -> str | None:
    """Like :func:`employment_type`, but only a value that names a type
    counts: text recognized nowhere ("Engineering", "Backfill") gives None
    instead of ``other``. For fields whose name alone does not make them an
    employment type ("Job Type", "Req Type", "Commitment")."""
    kind = employment_type(raw)
    if kind != "other":
        return kind
    values = raw if isinstance(raw, (list, tuple)) else [raw]
    texts = [part for item in values if isinstance(item, str) for part in _SEPARATORS.split(item)]
    return kind if any(_kind_of(text) == "other" for text in texts) else None


def employment_type(raw: Any) -> str | None:
    """The canonical employment type of the board's value, or None.

    Accepts a string or a list of strings (schema.org allows both; a string
    may also list several values, "Full-time, Contract"). The first value
    that is recognized decides; text that is present but recognized nowhere
    gives ``other``. None, empty strings and empty lists give None, and so
    does any other type.
    """
    if isinstance(raw, str):
        values = _SEPARATORS.split(raw)
    elif isinstance(raw, (list, tuple)):
        values = [part for item in raw if isinstance(item, str) for part in _SEPARATORS.split(item)]
    else:
        return None
    values = [value for value in values if value.strip()]
    if not values:
        return None
    for value in values:
        if kind := _kind_of(value):
            return kind
    return "other"


def employment_label(value: Any) -> str | None:
    """The canonical employment type when the whole text is an employment
    label ("Full Time", "Full-time", "CDI", "Vollzeit", "Part-time,
    Permanent"), as pages print it on a line of its own; None for anything
    else, such as a title that contains one ("Contract Manager")."""
    if not isinstance(value, str) or len(value) > 60:
        return None
    values = [v for v in _SEPARATORS.split(value) if v.strip()]
    if not values:
        return None
    for part in values:
        text = " ".join(re.sub(r"[-_]", " ", part.casefold()).split()).strip(" .·•")
        if not any(re.fullmatch(rf"(?:{pattern.pattern})(?: (?:job|position|role|employment"
                                rf"|contract|work))?", text) for _kind, pattern in _RULES):
            return None
    return employment_type(value)


# -- employment type in a job title

# Titles carry gender markers that are not words of the title.
_GENDER = re.compile(r"\((?:m|w|f|d|h|x|e|ne|in|gn|div|all genders)(?:\s*/\s*(?:m|w|f|d|h|x|div))*\)"
                     r"|\*in\b|:in\b", re.IGNORECASE)
# Separators between the parts of a title ("Software Engineer, Intern (Summer)").
_TITLE_PARTS = re.compile(r"[,;:|()\[\]]|\s[-–—/]\s|(?<=\S)/(?=\S)")
_WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*")
# Words a part may hold beside a type word and still be only the type
# ("Summer 2027 Internship", "PhD Intern", "Paid Co-op").
_COMPANIONS = re.compile(
    r"summer|winter|spring|fall|autumn|\d{4}|\d{2}|[a-z]{3,9}-[a-z]{3,9}|paid|unpaid|student|students"
    r"|university|campus|graduate|undergraduate|phd|masters?|mba|bachelors?|early|career|careers"
    r"|program|programme|cycle|term|semester|month|months|weeks?|remote|hybrid|onsite|on-site"
    r"|full-time|part-time|time|full|part|season|seasonal|new|grad",
    re.IGNORECASE,
)
# Words that make the part about a team or a programme, not the job itself
# ("Internship Programs", "Intern Recruiting Lead", "Temporary Staffing").
_TEAM = re.compile(
    r"programs?|programmes?|recruit\w*|hiring|talent|staffing|workforce|labou?r|agency|agencies"
    r"|coordinator|coordinators|manager|managers|management|lead|leads|director|head|specialist"
    r"|partner|advisor|adviser|administrator|officer|team|relations|operations|liaison"
    r"|mentor|mentors|supervisor|recruiter|recruiters|program-manager|experience|outreach",
    re.IGNORECASE,
)
# Type words that name the job when they end a part (the English head
# noun: "Software Engineering Intern"), and those that also name it when
# they open one (German, French and "Trainee Accountant" order).
_HEAD = re.compile(r"interns?|internships?|co-?ops?|trainees?|apprentices?|apprenticeships?"
                   r"|werkstudent(?:in)?|praktikant(?:in)?|praktikum|stagiaire|apprentie?|contractor",
                   re.IGNORECASE)
_OPENER = re.compile(r"trainee|apprentice|werkstudent(?:in)?|praktikant(?:in)?|praktikum|stagiaire"
                     r"|apprentie?", re.IGNORECASE)
# "Internship in Marketing", "Praktikum im Bereich ...", "Stage de fin d'études".
_LINKS = re.compile(r"in|im|at|for|with|de|d|du|des|en|chez|au|aux|à|bei|für|als|fin|pfe",
                    re.IGNORECASE)
# Adjectives of the job: "Part-time Barista", "Full-Time Crew Member",
# "Temporary Sales Assistant".
_MODIFIER = re.compile(r"part-time|full-time|temporary", re.IGNORECASE)
# A whole part that states a contract: "(Contract)", "6 Month Contract",
# "Fixed-Term Contract", "Contract to Hire".
_CONTRACT_PART = re.compile(
    r"(?:\d+[- ]?(?:months?|mo|weeks?|years?)[- ])?(?:fixed[- ]term |temporary |temp |short[- ]term "
    r"|long[- ]term |freelance |independent |w2 |1099 )?contract(?:or)?(?:[- ]to[- ]hire)?"
    r"(?: (?:role|position|job|assignment|basis|opportunity|only))?",
    re.IGNORECASE,
)
_CONTRACT_TO_HIRE = re.compile(r"\bcontract[- ]to[- ](?:hire|perm(?:anent)?)\b", re.IGNORECASE)


def _title_words(part: str) -> list[str]:
    # "Part time" is one word of a title, as "part-time" is.
    joined = re.sub(r"\b(part|full)\s+(time)\b", r"\1-\2", part, flags=re.IGNORECASE)
    return _WORD.findall(joined)


def _in_part(part: str, first: bool) -> str | None:
    """The words of one title part that state the type of the job, or None."""
    text = " ".join(part.split())
    if _CONTRACT_PART.fullmatch(text) or (not first and _CONTRACT_PART.fullmatch(
            " ".join(w for w in text.split() if not _COMPANIONS.fullmatch(w)))):
        return text
    words = _title_words(text)
    for i, word in enumerate(words):
        after = words[i + 1] if i + 1 < len(words) else None
        if _MODIFIER.fullmatch(word):
            if after is None or not _TEAM.fullmatch(after):
                # as written: "Part Time" was read as one word
                if word.casefold() in ("part-time", "full-time"):
                    spelled = re.search(rf"{word[:4]}[\s-]*time", text, re.IGNORECASE)
                    return spelled.group(0) if spelled else word
                return word
            continue
        if word.casefold() == "stage":
            # English "stage" is a theatre's or a company's: only "Stage"
            # alone or opening a French title counts.
            if i == 0 and (after is None or _LINKS.fullmatch(after)
                           or all(_COMPANIONS.fullmatch(w) for w in words[1:])):
                return word
            continue
        if not _HEAD.fullmatch(word):
            continue
        rest = words[i + 1:]
        plural = word.casefold().endswith("s") and not word.casefold().endswith(("ss", "ps"))
        if plural and not first:
            continue  # "Manager, Interns": the people managed, not the job
        if not rest or all(_COMPANIONS.fullmatch(w) for w in rest):
            return word  # the head of its part: "Software Engineering Intern"
        if after is not None and after.casefold() in ("student", "students"):
            return f"{word} {after}"  # "Co-op Student"
        if any(_TEAM.fullmatch(w) for w in rest):
            return None  # "Intern Recruiting Lead", "Internship Programs"
        if after is not None and _LINKS.fullmatch(after):
            return word  # "Internship in Marketing", "Praktikum im Vertrieb"
        if i == 0 and _OPENER.fullmatch(word):
            return word  # "Trainee Accountant", "Werkstudent Vertrieb"
    return None


def employment_in_title(title: Any) -> tuple[str, str] | None:
    """``(kind, words)`` when a job title states the employment type of the
    job itself: "Software Engineering Intern", "Intern, AI Software
    Engineering", "People Analytics Co-op (Spring 2027)", "Werkstudent
    Vertrieb (m/w/d)", "Praktikum im Marketing", "Stage - Développeur",
    "Apprenti(e) cuisinier", "Trainee Accountant", "Designer (6 Month
    Contract)", "Part-time Barista", "Full-Time Crew Member", "Temporary
    Sales Assistant". A type
    word that is about a team or a programme states nothing: "Manager,
    Internship Programs", "Intern Recruiting Lead", "Contract Manager",
    "Internal Audit Lead", "Early Stage Investor", "Recruiter, Interns".
    ``words`` are the title's own words, and reading them with
    :func:`employment_type` gives ``kind`` again. None for anything else
    (and for non-strings)."""
    if not isinstance(title, str) or not title.strip():
        return None
    text = _GENDER.sub(" ", title)
    if found := _CONTRACT_TO_HIRE.search(text):
        return "contract", found.group(0)
    parts = [part for part in _TITLE_PARTS.split(text) if part.strip()]
    for i, part in enumerate(parts):
        if (words := _in_part(part, first=i == 0)) and (kind := employment_type(words)):
            return kind, words
    return None
