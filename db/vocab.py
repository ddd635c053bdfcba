"""Closed vocabularies shared by every layer: run statuses, event kinds,
posting statuses and source health states.

Each is a ``StrEnum`` (its members compare equal to their text, so rows read
back as plain strings still match) and a CHECK constraint in the schema
(:func:`check_in`), so a value outside the set can never be stored.
"""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    RUNNING = "running"
    COMPLETE = "complete"  # the whole board was seen
    PARTIAL = "partial"  # some pages or postings failed: a floor of the board, expires nothing by absence
    FAILED = "failed"  # the board could not be read
    SUSPICIOUS = "suspicious"  # complete, but its count collapsed or proof would expire too much
    ABORTED = "aborted"  # stopped (killed, interrupted) before it could decide


# runs that finished on their own and saw the board (at least in part)
FINISHED_RUNS = (RunStatus.COMPLETE, RunStatus.PARTIAL, RunStatus.SUSPICIOUS)


class EventKind(StrEnum):
    NEW = "new"
    CHANGED = "changed"
    EXPIRED = "expired"
    REOPENED = "reopened"
    CLOSING = "closing"


class PostingStatus(StrEnum):
    OPEN = "open"
    EXPIRED = "expired"


class HealthState(StrEnum):
    OK = "ok"
    SUSPICIOUS = "suspicious"  # a drop is waiting to be confirmed (or accepted)
    FAILING = "failing"  # the latest runs failed


class HealthProblem(StrEnum):
    """What a source-health notice is about."""

    FAILING = "failing"  # health_after runs in a row failed
    BLOCKED = "blocked"  # a bot check or login wall stood in front of the board
    SUSPICIOUS = "suspicious"  # a count collapse or a proof storm is waiting to be confirmed
    SHRINK_CONFIRMED = "shrink_confirmed"  # a drop was confirmed (or accepted): postings expired
    COVERAGE_LOST = "coverage_lost"  # a field the board always had is gone from every posting
    WEBHOOK_DISABLED = "webhook_disabled"  # a receiver answered 410: its subscription is off


class NoticeState(StrEnum):
    STARTED = "started"
    RECOVERED = "recovered"


class Channel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"
    APPRISE = "apprise"


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting to be sent (or retried)
    SENDING = "sending"  # claimed by a sender until claimed_until
    SENT = "sent"
    FAILED = "failed"  # given up: `jobdelta alerts retry` requeues


def check_in(column: str, vocab: type[StrEnum]) -> str:
    """SQL for a CHECK constraint that keeps ``column`` inside ``vocab``."""
    values = ", ".join(f"'{v.value}'" for v in vocab)
    return f"{column} IN ({values})"
