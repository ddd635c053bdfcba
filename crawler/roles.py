"""The same role on several boards: link postings that are one job.

Each posting belongs to exactly one role (a job an employer hires for); a
role holds every posting of that job: the employer's own page and the
boards that carry it, and the posting that replaced it after it expired (a
repost under a new id). Postings are linked, never merged or dropped: each
keeps its own versions and events.

Two postings are one role when

- they carry the same requisition id (the employer's job number) at the
  same company: confidence 1.0, or 0.9 when their titles differ; or
- they are at the same company with near-identical titles (token Jaccard
  >= 0.8 after spelling out abbreviations and dropping gender markers),
  places that can be the same (one of them unstated, or a shared country
  and city), and near-identical descriptions (Jaccard of word 5-shingles,
  estimated from a bottom-k MinHash sketch, >= 0.6): confidence = title
  similarity x description similarity.

A posting that matches nothing founds its own role (confidence 1.0).
Without a company, a posting is "at the company" of its source, so it can
only be linked within that source (a repost).

Candidates are found through blocking keys (``role_keys``: the requisition
id and the title and its one-word-shorter variants, each within the
company), read with one indexed query per batch; nothing scans the table.
The functions take a session and never commit: the caller owns the
transaction. :func:`link_postings` runs at the end of every crawl run for
the postings the run added or changed.
"""

from __future__ import annotations

import hashlib
import heapq
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from db.models import Posting, Role, RoleKey, RoleLink, Source, Version

TITLE_MIN = 0.8  # token Jaccard of two titles to count as near-identical
DESCRIPTION_MIN = 0.6  # estimated shingle Jaccard of two descriptions
REQUISITION_TITLE_DIFFERS = 0.9  # confidence of a requisition match whose titles differ
SKETCH_SIZE = 128  # hashes kept per description (bottom-k MinHash)
SHINGLE_WORDS = 5  # words per shingle
_BATCH = 500  # postings (and keys) per query

_ABBREVIATIONS = {
    "sr": "senior", "snr": "senior", "jr": "junior", "mgr": "manager", "assoc": "associate",
    "asst": "assistant", "dir": "director", "vp": "vice president", "svp": "senior vice president",
    "eng": "engineer", "engr": "engineer", "dev": "developer", "admin": "administrator",
    "rep": "representative", "exec": "executive", "ops": "operations", "mktg": "marketing",
    "intl": "international", "swe": "software engineer", "sde": "software development engineer",
    "1": "i", "2": "ii", "3": "iii", "4": "iv", "5": "v",
}
_STOP_WORDS = {"the", "a", "an", "of", "and", "for", "to", "in", "at", "with", "on"}
# (m/w/d), (f/m/x), (h/f), (all genders): part of German and French titles, not of the job.
_GENDER = re.compile(
    r"\(?\b[mwfdhx](?:\s*/\s*[mwfdhx]){1,3}\b\)?|\(?\ball\s+genders?\)?|\(?\bgn\)?", re.IGNORECASE)
_LEGAL_FORMS = {
    "inc", "incorporated", "llc", "ltd", "limited", "gmbh", "ag", "sa", "sas", "bv", "nv", "plc",
    "corp", "corporation", "co", "company", "se", "srl", "spa", "pty", "oy", "ab", "kg", "kk",
    "lp", "llp", "ug", "sarl", "group",
}
_WORD = re.compile(r"\w+")


# --------------------------------------------------------------------------- fingerprints


def company_key(company: Any, source: str) -> str:
    """The company a posting is at, for comparing: its name without case,
    punctuation or legal form ("Vercel Inc." and "vercel" are one), or its
    source's name when it names no company."""
    words = [w for w in _words(company) if w not in _LEGAL_FORMS] if isinstance(company, str) else []
    return "c:" + " ".join(words) if words else "s:" + source


def title_tokens(title: Any) -> list[str]:
    """The words of a title that say which job it is: lower case, accents
    kept, abbreviations spelled out ("Sr." is "senior", "2" is "ii"), gender
    markers and filler words dropped. Sorted, repeats removed."""
    if not isinstance(title, str):
        return []
    words = []
    for word in _words(_GENDER.sub(" ", title)):
        words += _ABBREVIATIONS.get(word, word).split()
    return sorted({w for w in words if w not in _STOP_WORDS})


def description_sketch(description: Any) -> list[int] | None:
    """A bottom-k MinHash sketch of a description: the smallest
    :data:`SKETCH_SIZE` 48-bit hashes of its word 5-shingles (the whole set
    when it has fewer). None for text too short to have a shingle."""
    if not isinstance(description, str):
        return None
    words = _words(description)
    if len(words) < SHINGLE_WORDS:
        return None
    shingles = {" ".join(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1)}
    hashes = {_hash48(shingle) for shingle in shingles}
    return sorted(heapq.nsmallest(SKETCH_SIZE, hashes))


def sketch_similarity(a: Sequence[int] | None, b: Sequence[int] | None) -> float:
    """Estimated Jaccard similarity of the two shingle sets behind two
    sketches (exact when both sets are smaller than the sketch): of the
    smallest hashes of their union, the share found in both. 0.0 when either
    is missing."""
    if not a or not b:
        return 0.0
    return _similarity(frozenset(a), frozenset(b), 0.0)


def _similarity(set_a: frozenset[int], set_b: frozenset[int], at_least: float) -> float:
    # The estimate can be no higher than the shared hashes over the smaller
    # sketch's size: most pairs of different descriptions stop at that bound
    # (one set intersection) without ranking their union.
    both = set_a & set_b
    if len(both) < at_least * min(len(set_a), len(set_b), SKETCH_SIZE):
        return len(both) / max(len(set_a), len(set_b))
    union = heapq.nsmallest(SKETCH_SIZE, set_a | set_b)
    return sum(1 for h in union if h in both) / len(union)


def title_similarity(a: Sequence[str], b: Sequence[str]) -> float:
    """Jaccard similarity of two titles' token sets (0.0 when either is empty)."""
    set_a, set_b = set(a), set(b)
    if not set_a or not set_b:
        return 0.0
    return len(set_a & set_b) / len(set_a | set_b)


def places_of(locations: Any) -> list[list[str | None]]:
    """``[country, city]`` pairs of a posting's locations (city lower case),
    leaving out locations that name neither."""
    pairs: list[list[str | None]] = []
    for location in locations if isinstance(locations, list) else []:
        if not isinstance(location, dict):
            continue
        country = location.get("country") if isinstance(location.get("country"), str) else None
        city = location.get("city") if isinstance(location.get("city"), str) else None
        pair = [country, city.casefold() if city else None]
        if (country or city) and pair not in pairs:
            pairs.append(pair)
    return sorted(pairs, key=lambda p: (p[0] or "", p[1] or ""))


def places_compatible(a: Sequence[Sequence[str | None]], b: Sequence[Sequence[str | None]]) -> bool:
    """True when two postings can be in the same place: either states none,
    or some place of one matches some place of the other (same country and
    city, a missing part matching anything)."""
    if not a or not b:
        return True
    return any(_same_part(ca, cb) and _same_part(xa, xb) for ca, xa in a for cb, xb in b)


def _same_part(x: str | None, y: str | None) -> bool:
    return x is None or y is None or x == y


def _words(text: Any) -> list[str]:
    if not isinstance(text, str):
        return []
    return _WORD.findall(unicodedata.normalize("NFC", text).casefold())


def _hash48(text: str) -> int:
    # 48 bits keep the numbers exact in any JSON reader.
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=6).digest(), "big")


def _key(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:40]


# --------------------------------------------------------------------------- matching


@dataclass
class Features:
    """What a posting is compared on, and who it is."""

    posting_id: int
    source: str
    external_id: str
    status: str
    expired_at: datetime | None
    company: str | None
    title: str | None
    company_key: str
    title_tokens: list[str]
    requisition_id: str | None
    places: list[list[str | None]]
    sketch: list[int] | None
    role_id: int | None = None
    keys: set[str] = field(default_factory=set)
    _sketch_set: frozenset[int] | None = field(default=None, repr=False)

    @property
    def sketch_set(self) -> frozenset[int]:
        if self._sketch_set is None:
            self._sketch_set = frozenset(self.sketch or ())
        return self._sketch_set

    def blocking_keys(self) -> set[str]:
        """The requisition id and the title within the company; for long
        titles, also the title short of each one word, so that titles one
        word apart still meet."""
        keys = set()
        if self.requisition_id:
            keys.add(_key("req", self.company_key, self.requisition_id.casefold()))
        tokens = self.title_tokens
        if tokens:
            keys.add(_key("title", self.company_key, " ".join(tokens)))
            if len(tokens) >= 5:
                for i in range(len(tokens)):
                    keys.add(_key("title", self.company_key, " ".join(tokens[:i] + tokens[i + 1:])))
        return keys


def features_of(posting_id: int, source: str, status: str, expired_at: datetime | None,
                data: dict[str, Any]) -> Features:
    """The features of a posting from its stored content (a version's data)."""
    requisition = data.get("requisition_id")
    return Features(
        posting_id=posting_id,
        source=source,
        external_id=str(data.get("external_id") or ""),
        status=status,
        expired_at=expired_at,
        company=data.get("company"),
        title=data.get("title"),
        company_key=company_key(data.get("company"), source),
        title_tokens=title_tokens(data.get("title")),
        requisition_id=requisition.strip() if isinstance(requisition, str) and requisition.strip()
        else None,
        places=places_of(data.get("locations")),
        sketch=description_sketch(data.get("description")),
    )


def match(new: Features, old: Features) -> tuple[float, str] | None:
    """``(confidence, reason)`` when two postings are one role, else None."""
    if new.company_key != old.company_key:
        return None
    title_sim = title_similarity(new.title_tokens, old.title_tokens)
    who = f"{old.source}:{old.external_id}"
    if new.requisition_id and new.requisition_id.casefold() == (old.requisition_id or "").casefold():
        confidence = 1.0 if title_sim >= TITLE_MIN or not (new.title_tokens and old.title_tokens) \
            else REQUISITION_TITLE_DIFFERS
        return confidence, f"{_relation(new, old)} {who}: same requisition id {new.requisition_id}"
    if title_sim < TITLE_MIN or not places_compatible(new.places, old.places):
        return None
    if not new.sketch or not old.sketch:
        return None
    description_sim = _similarity(new.sketch_set, old.sketch_set, DESCRIPTION_MIN)
    if description_sim < DESCRIPTION_MIN:
        return None
    return round(title_sim * description_sim, 2), (
        f"{_relation(new, old)} {who}: same company, title {title_sim:.0%} and description "
        f"{description_sim:.0%} alike, places compatible")


def _relation(new: Features, old: Features) -> str:
    if old.source == new.source and old.status == "expired":
        when = f" (expired {old.expired_at.date().isoformat()})" if old.expired_at else ""
        return f"repost of{when}"
    if old.source == new.source:
        return "same role on the same board as"
    return "same role as"


# --------------------------------------------------------------------------- storage


def link_postings(session: Session, posting_ids: Iterable[int], now: datetime) -> dict[int, int]:
    """Put each given posting (those a run added or changed) in its role,
    from its current content: join the role of the best-matching posting,
    or found a role of its own. A posting whose content no longer matches
    its role's other postings leaves it. Returns ``{posting_id: role_id}``.

    Reads the given postings in batches, their candidates through the
    indexed blocking keys; writes links, keys and roles. Never commits.
    """
    ids = sorted(set(posting_ids))
    assigned: dict[int, int] = {}
    for start in range(0, len(ids), _BATCH):
        assigned.update(_link_batch(session, ids[start : start + _BATCH], now))
    return assigned


def _link_batch(session: Session, ids: list[int], now: datetime) -> dict[int, int]:
    batch = _load_batch(session, ids)
    if not batch:
        return {}
    old_links = {posting_id: role_id for posting_id, role_id in session.execute(
        select(RoleLink.posting_id, RoleLink.role_id).where(RoleLink.posting_id.in_(list(batch))))}
    for features in batch.values():
        features.keys = features.blocking_keys()
        features.role_id = old_links.get(features.posting_id)
    session.execute(delete(RoleKey).where(RoleKey.posting_id.in_(list(batch)))
                    .execution_options(synchronize_session=False))
    _insert_many(session, RoleKey, [{"key": key, "posting_id": f.posting_id}
                                    for f in batch.values() for key in sorted(f.keys)])
    candidates = _candidates(session, batch)
    members = _role_sizes(session, {role for role in old_links.values()})
    # Decide every posting's role, oldest posting first; a role to be
    # founded is named by minus its founder's id until it is inserted.
    decided: dict[int, tuple[float, str]] = {}
    for features in batch.values():
        current = features.role_id
        best = _best_match(features, candidates)
        if best is not None:
            confidence, reason, role_id = best
        elif current is not None and members.get(current, 0) <= 1:
            confidence, reason, role_id = 1.0, "first posting of the role", current
        else:
            confidence, reason, role_id = 1.0, "first posting of the role", -features.posting_id
        if current != role_id:
            if current is not None:
                members[current] = members.get(current, 1) - 1
            members[role_id] = members.get(role_id, 0) + 1
        features.role_id = role_id
        decided[features.posting_id] = (confidence, reason)
        # placed: later postings of the batch (two boards' copies of one
        # job added in one run) are compared with it too
        for key in features.keys:
            candidates.setdefault(key, []).append(features)
    real = _found_roles(session, [batch[-ref] for ref in members if ref < 0], now)
    for features in batch.values():
        features.role_id = real.get(features.role_id, features.role_id)
    _save_links(session, batch, decided, old_links, now)
    assigned = {pid: f.role_id for pid, f in batch.items()}
    session.execute(update(Role).where(Role.id.in_(sorted(set(assigned.values()))))
                    .values(updated_at=now).execution_options(synchronize_session=False))
    emptied = [role_id for role_id, size in members.items() if role_id > 0 and size <= 0]
    if emptied:
        # every posting of these roles moved to another role
        session.execute(delete(Role).where(Role.id.in_(emptied))
                        .execution_options(synchronize_session=False))
    return assigned


def _insert_many(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), _BATCH):
        session.execute(insert(table), rows[start : start + _BATCH])


def _found_roles(session: Session, founders: list[Features], now: datetime) -> dict[int, int]:
    """Insert the roles these postings found, in one statement; returns
    ``{-founder_id: role_id}``."""
    if not founders:
        return {}
    _insert_many(session, Role, [
        {"company": f.company, "title": f.title, "founded_by": f.posting_id, "created_at": now,
         "updated_at": now} for f in founders])
    founder_ids = [f.posting_id for f in founders]
    rows = session.execute(select(Role.founded_by, func.max(Role.id))
                           .where(Role.founded_by.in_(founder_ids)).group_by(Role.founded_by))
    return {-founder: role_id for founder, role_id in rows}


def _save_links(session: Session, batch: dict[int, Features], decided: dict[int, tuple[float, str]],
                old_links: dict[int, int], now: datetime) -> None:
    rows = [{"posting_id": pid, "role_id": f.role_id, "confidence": decided[pid][0],
             "reason": decided[pid][1], "linked_at": now, "company_key": f.company_key,
             "title_tokens": " ".join(f.title_tokens) or None,
             "requisition_id": f.requisition_id, "places": f.places, "sketch": f.sketch}
            for pid, f in batch.items()]
    _insert_many(session, RoleLink, [row for row in rows if row["posting_id"] not in old_links])
    changed = [row for row in rows if row["posting_id"] in old_links]
    if changed:
        session.execute(update(RoleLink), changed)


def _load_batch(session: Session, ids: list[int]) -> dict[int, Features]:
    rows = session.execute(
        select(Posting.id, Posting.status, Posting.expired_at, Source.name, Version.data)
        .join(Source, Source.id == Posting.source_id)
        .join(Version, (Version.posting_id == Posting.id) & (Version.version == Posting.version))
        .where(Posting.id.in_(ids)).order_by(Posting.id))
    return {pid: features_of(pid, source, status, expired_at, data or {})
            for pid, status, expired_at, source, data in rows}


def _candidates(session: Session, batch: dict[int, Features]) -> dict[str, list[Features]]:
    """Postings outside the batch that share a key with one in it, by key."""
    keys = sorted({key for f in batch.values() for key in f.keys})
    by_key: dict[str, set[int]] = {}
    for start in range(0, len(keys), _BATCH):
        for key, pid in session.execute(select(RoleKey.key, RoleKey.posting_id)
                                        .where(RoleKey.key.in_(keys[start : start + _BATCH]))):
            if pid not in batch:
                by_key.setdefault(key, set()).add(pid)
    outside = sorted({pid for pids in by_key.values() for pid in pids})
    known: dict[int, Features] = {}
    for start in range(0, len(outside), _BATCH):
        rows = session.execute(
            select(RoleLink, Posting.external_id, Posting.status, Posting.expired_at, Source.name)
            .join(Posting, Posting.id == RoleLink.posting_id)
            .join(Source, Source.id == Posting.source_id)
            .where(RoleLink.posting_id.in_(outside[start : start + _BATCH])))
        for link, external_id, status, expired_at, source in rows:
            known[link.posting_id] = Features(
                posting_id=link.posting_id, source=source, external_id=external_id, status=status,
                expired_at=expired_at, company=None, title=None, company_key=link.company_key,
                title_tokens=(link.title_tokens or "").split(),
                requisition_id=link.requisition_id, places=link.places or [],
                sketch=link.sketch, role_id=link.role_id)
    return {key: [known[pid] for pid in sorted(pids) if pid in known] for key, pids in by_key.items()}


def _role_sizes(session: Session, role_ids: set[int]) -> dict[int, int]:
    if not role_ids:
        return {}
    sizes: dict[int, int] = {}
    for role_id in session.scalars(select(RoleLink.role_id).where(RoleLink.role_id.in_(list(role_ids)))):
        sizes[role_id] = sizes.get(role_id, 0) + 1
    return sizes


def _best_match(features: Features,
                candidates: dict[str, list[Features]]) -> tuple[float, str, int] | None:
    """The best match among the postings sharing a key: ``(confidence,
    reason, role_id)``, ties going to the posting's current role, then to
    the oldest posting."""
    pool: dict[int, Features] = {}
    for key in features.keys:
        for other in candidates.get(key, ()):
            pool[other.posting_id] = other
    best: tuple[float, str, int] | None = None
    for other in sorted(pool.values(), key=lambda f: f.posting_id):
        if other.role_id is None or other.posting_id == features.posting_id:
            continue
        found = match(features, other)
        if found and (best is None or found[0] > best[0]
                      or (found[0] == best[0] and other.role_id == features.role_id)):
            best = (found[0], found[1], other.role_id)
            if best[0] >= 1.0 and features.role_id in (None, other.role_id):
                break  # nothing beats it: the oldest posting, or the current role
    return best
