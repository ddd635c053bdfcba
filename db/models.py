"""SQLAlchemy 2.0 models: sources, runs, postings, versions, events, raw
responses, and the roles that link postings of one job across boards.

The schema is created only by the Alembic migrations in ``db/migrations``;
``alembic check`` keeps these models and the migrations in step. Every
datetime is stored as UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from db.vocab import (
    Channel,
    DeliveryStatus,
    EventKind,
    HealthProblem,
    HealthState,
    NoticeState,
    PostingStatus,
    RunStatus,
    check_in,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; jobdelta stores aware UTC datetimes")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


JSONType = JSON().with_variant(JSONB(), "postgresql")
BigId = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER only


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def posting_facets(data: dict[str, Any] | None) -> dict[str, Any]:
    """The columns a version or an event keeps beside a posting's data so
    history can be filtered by an index rather than by reading JSON:
    ``company``, ``workplace_type``, ``employment_type`` and ``countries``
    (the posting's ISO country codes as ``,US,DE,``, matched with LIKE)."""
    data = data or {}
    countries = sorted({str(loc.get("country")).upper() for loc in data.get("locations") or []
                        if isinstance(loc, dict) and loc.get("country")})
    company = data.get("company")
    return {"company": company[:300] if isinstance(company, str) and company else None,
            "workplace_type": data.get("workplace_type") or None,
            "employment_type": data.get("employment_type") or None,
            "countries": ("," + ",".join(countries) + ",")[:200] if countries else None}


class Source(Base):
    """A configured board. Its lease columns let one run at a time hold it,
    across processes and machines."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    board: Mapped[str] = mapped_column(String(50))
    params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_run_id: Mapped[int | None] = mapped_column(BigInteger)
    lease_holder: Mapped[str | None] = mapped_column(String(300))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Run(Base):
    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_source_started", "source_id", "started_at"),
        CheckConstraint(check_in("status", RunStatus), name="status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20), default=RunStatus.RUNNING)
    seen: Mapped[int] = mapped_column(Integer, default=0)
    new: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    expired: Mapped[int] = mapped_column(Integer, default=0)
    reopened: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str | None] = mapped_column(Text)
    holder: Mapped[str | None] = mapped_column(String(300))
    stats: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class Posting(Base):
    """One (source, external_id): its current state. Its content lives in
    versions; the columns here are what change detection reads in bulk."""

    __tablename__ = "postings"
    __table_args__ = (
        UniqueConstraint("source_id", "external_id", name="uq_postings_source_external"),
        Index("ix_postings_source_status", "source_id", "status"),
        CheckConstraint(check_in("status", PostingStatus), name="status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(10), default=PostingStatus.OPEN)
    title: Mapped[str | None] = mapped_column(Text)
    # the page the posting was read from: a 404 there is evidence it is gone
    url: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    listing_hash: Mapped[str | None] = mapped_column(String(64))
    # crawler.items.source_hash of the raw input that made the current
    # version: the same input next time is not parsed again
    source_hash: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    deadline: Mapped[str | None] = mapped_column(String(40))
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_run_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("runs.id", ondelete="SET NULL"))
    missing_runs: Mapped[int] = mapped_column(Integer, default=0)
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expired_reason: Mapped[str | None] = mapped_column(Text)


class Version(Base):
    """One content of a posting and the time it was valid. A posting open at
    time T has exactly one version with valid_from <= T < valid_to."""

    __tablename__ = "versions"
    __table_args__ = (
        UniqueConstraint("posting_id", "version", name="uq_versions_posting_version"),
        Index("ix_versions_source_validity", "source_id", "valid_from", "valid_to"),
        Index("ix_versions_company", "company", "source_id", "posting_id", "valid_from", "valid_to"),
        Index("ix_versions_open", "valid_to", "posting_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    posting_id: Mapped[int] = mapped_column(ForeignKey("postings.id", ondelete="CASCADE"))
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_to: Mapped[datetime | None] = mapped_column(UTCDateTime())
    content_hash: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    run_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("runs.id", ondelete="SET NULL"))
    raw_sha256: Mapped[str | None] = mapped_column(String(64))
    # filter columns derived from ``data`` (posting_facets)
    company: Mapped[str | None] = mapped_column(String(300))
    workplace_type: Mapped[str | None] = mapped_column(String(10))
    employment_type: Mapped[str | None] = mapped_column(String(10))
    countries: Mapped[str | None] = mapped_column(String(200))


class Event(Base):
    """A change event. ``dedupe_key`` makes once-only events (closing
    notices) idempotent at the database level."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_at", "at"),
        Index("ix_events_source_at", "source_id", "at"),
        Index("ix_events_company_id", "company", "id"),
        Index("ix_events_posting", "posting_id"),
        CheckConstraint(check_in("kind", EventKind), name="kind"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    posting_id: Mapped[int | None] = mapped_column(ForeignKey("postings.id", ondelete="CASCADE"))
    external_id: Mapped[str | None] = mapped_column(String(500))
    title: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    run_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("runs.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text)
    changes: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)
    posting: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    dedupe_key: Mapped[str | None] = mapped_column(String(300), unique=True)
    # filter columns derived from ``posting`` (posting_facets)
    company: Mapped[str | None] = mapped_column(String(300))
    workplace_type: Mapped[str | None] = mapped_column(String(10))
    countries: Mapped[str | None] = mapped_column(String(200))


class RawResponse(Base):
    """A board response as fetched, zlib-compressed, keyed by the SHA-256 of
    its body, so postings can be re-normalized when a parser improves."""

    __tablename__ = "raw_responses"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    status: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str | None] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(BigInteger)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime())
    run_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("runs.id", ondelete="SET NULL"))


class SourceHealth(Base):
    """How a source is doing, for notices and for the count baseline.

    ``pending`` holds a drop waiting to be confirmed: a run whose count fell
    to half or less of the usual one (a shrink), or whose proof would have
    expired too many postings at once (a storm). It keeps the usual count,
    the runs that showed the drop and the postings missing (or proven gone)
    from all of them; after ``confirm_runs`` such runs in a row, or
    ``jobdelta accept``, those postings expire and the baseline restarts:
    runs up to ``baseline_after_run`` no longer make the usual count.
    """

    __tablename__ = "source_health"
    __table_args__ = (CheckConstraint(check_in("state", HealthState), name="state"),)

    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"),
                                           primary_key=True)
    state: Mapped[str] = mapped_column(String(20), default=HealthState.OK)
    since: Mapped[datetime | None] = mapped_column(UTCDateTime())  # when the state began
    reason: Mapped[str | None] = mapped_column(Text)
    failures_in_row: Mapped[int] = mapped_column(Integer, default=0)
    pending: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirmed_reason: Mapped[str | None] = mapped_column(Text)
    # the usual count is made of this source's runs after this one only
    baseline_after_run: Mapped[int | None] = mapped_column(BigInteger)
    # health problems going on now (problem -> since, ISO), each noticed once
    # when it starts and once when it ends
    problems: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PageValidator(Base):
    """What a page (one request: method, URL and body) last answered: its
    ``ETag``/``Last-Modified`` and the body it gave, by the SHA-256 of a
    stored raw response. The next run asks conditionally; a 304 is answered
    with that stored body, so every worker on one database revalidates the
    same way and nothing but the board's own 304 ever stands in for it."""

    __tablename__ = "page_validators"

    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"),
                                           primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # the request fingerprint
    url: Mapped[str] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    raw_sha256: Mapped[str] = mapped_column(ForeignKey("raw_responses.sha256", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("runs.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Role(Base):
    """One job an employer hires for, seen as one or more postings: on
    several boards, or posted again under a new id after it expired. Its
    company and title are those of the posting that founded it."""

    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    company: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    # the posting that founded the role (an id only: the role outlives it)
    founded_by: Mapped[int] = mapped_column(BigInteger, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RoleLink(Base):
    """A posting's place in its role: how sure the link is (0..1) and why,
    and the fingerprint it was matched on (kept so that later postings are
    compared without reading every version again). Postings are never
    merged: each keeps its own row, versions and events."""

    __tablename__ = "role_links"

    posting_id: Mapped[int] = mapped_column(
        ForeignKey("postings.id", ondelete="CASCADE"), primary_key=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"), index=True)
    confidence: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    company_key: Mapped[str] = mapped_column(String(300))
    title_tokens: Mapped[str | None] = mapped_column(Text)
    requisition_id: Mapped[str | None] = mapped_column(String(200))
    places: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    sketch: Mapped[list[int] | None] = mapped_column(JSONType)


class RoleKey(Base):
    """Blocking keys of a posting (its requisition id, its title and close
    variants, each within its company): a posting is compared only with the
    postings that share a key, found through the primary key's index."""

    __tablename__ = "role_keys"
    __table_args__ = (Index("ix_role_keys_posting", "posting_id"),)

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    posting_id: Mapped[int] = mapped_column(
        ForeignKey("postings.id", ondelete="CASCADE"), primary_key=True)


class HealthNotice(Base):
    """A source-health notice: a problem started or recovered. Written once
    per transition, in the same transaction as the run that caused it."""

    __tablename__ = "health_notices"
    __table_args__ = (
        Index("ix_health_notices_at", "at"),
        CheckConstraint(check_in("problem", HealthProblem), name="problem"),
        CheckConstraint(check_in("state", NoticeState), name="state"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    problem: Mapped[str] = mapped_column(String(30))
    state: Mapped[str] = mapped_column(String(10))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(Text)
    run_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("runs.id", ondelete="SET NULL"))
    subscription: Mapped[str | None] = mapped_column(String(200))  # webhook_disabled: which one


class Delivery(Base):
    """The outbox: one alert (an event or a health notice) for one
    subscription, written in the same transaction as what causes it, then
    claimed, sent and marked by a sender."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("subscription", "event_id", name="uq_deliveries_subscription_event"),
        UniqueConstraint("subscription", "notice_id", name="uq_deliveries_subscription_notice"),
        Index("ix_deliveries_status_next", "status", "next_attempt_at"),
        CheckConstraint(check_in("status", DeliveryStatus), name="status"),
        CheckConstraint(check_in("channel", Channel), name="channel"),
        CheckConstraint("(event_id IS NULL) <> (notice_id IS NULL)", name="one_cause"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subscription: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(10))
    event_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("events.id", ondelete="CASCADE"))
    notice_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("health_notices.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(10), default=DeliveryStatus.PENDING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)


class SubscriptionState(Base):
    """What the sender remembers of a subscription: its last digest, and
    whether a receiver switched it off (410 Gone)."""

    __tablename__ = "subscription_state"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    last_digest_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    disabled_reason: Mapped[str | None] = mapped_column(Text)


class Cursor(Base):
    """A named reading position in the events (``jobdelta changes
    --new-since-last --cursor NAME``): the last event id shown."""

    __tablename__ = "cursors"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    event_id: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
