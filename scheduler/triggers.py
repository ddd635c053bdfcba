"""APScheduler 3.x triggers for a source's ``schedule``, read as crontab reads it.

A schedule is a five-field cron expression or ``every N{s,m,h,d}`` (see
``crawler.config.parse_schedule``). Cron expressions are evaluated in UTC by
``CronTrigger.from_crontab``, with two corrections so that an expression
copied from a crontab fires when crontab would fire it:

- weekday numbers: APScheduler 3.x counts 0 as Monday, crontab counts 0 as
  Sunday (APScheduler issue #286, fixed only in 4.x). Numeric weekdays are
  rewritten to day names before the trigger is built.
- a restricted day-of-month *and* day-of-week: crontab fires when either
  matches, APScheduler 3.x only when both do. Such an expression becomes an
  OrTrigger of the two.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from crawler.config import parse_schedule

# crontab's numbering: 0 (and 7) is Sunday
_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_DAY_NUMBER = {name: n for n, name in enumerate(_DAY_NAMES)}
_WEEKDAY_TERM = re.compile(r"^(\*|\w+)(?:-(\w+))?(?:/(\d+))?$")


def _day_number(token: str) -> int | None:
    if token.isdigit():
        n = int(token)
        return 0 if n == 7 else n if 0 <= n <= 6 else None
    return _DAY_NUMBER.get(token.lower()[:3]) if len(token) == 3 else None


def crontab_weekdays(field: str) -> str:
    """A crontab day-of-week field as APScheduler 3.x day names
    (``1-5`` -> ``mon,tue,wed,thu,fri``). Fields without a number, and
    fields it does not understand, are returned as they are."""
    if not re.search(r"[\d/]", field):
        return field
    days: set[int] = set()
    for term in field.split(","):
        m = _WEEKDAY_TERM.match(term)
        if not m:
            return field
        first, last, step = m.group(1), m.group(2), int(m.group(3) or 1)
        if first == "*":
            if last is not None:
                return field
            lo, hi = 0, 6
        else:
            lo = _day_number(first)
            hi = _day_number(last) if last is not None else (6 if m.group(3) else lo)
            if lo is None or hi is None:
                return field
            if last is not None and last.isdigit() and int(last) == 7:
                hi = 7  # "5-7" is Friday to Sunday
        if step < 1 or hi < lo:
            return field
        days.update(d % 7 for d in range(lo, hi + 1, step))
    return ",".join(_DAY_NAMES[d] for d in sorted(days))


def cron_trigger(expression: str, timezone: tzinfo = UTC) -> BaseTrigger:
    """The trigger of a five-field cron expression, in UTC (or the given
    zone: email digests), with crontab's weekday numbers and its either-day
    rule."""
    minute, hour, day, month, weekday = expression.split()
    names = crontab_weekdays(weekday)
    if not day.startswith("*") and not weekday.startswith("*"):
        return OrTrigger([
            CronTrigger.from_crontab(f"{minute} {hour} {day} {month} *", timezone=timezone),
            CronTrigger.from_crontab(f"{minute} {hour} * {month} {names}", timezone=timezone),
        ])
    return CronTrigger.from_crontab(f"{minute} {hour} {day} {month} {names}", timezone=timezone)


def fired_since(expression: str, since: datetime, now: datetime, timezone: tzinfo = UTC) -> bool:
    """True when the cron expression fired after ``since`` and by ``now``."""
    trigger = cron_trigger(expression, timezone)
    fire = trigger.get_next_fire_time(None, since + timedelta(seconds=1))
    return fire is not None and fire <= now


def schedule_trigger(schedule: str, last_started: datetime | None, now: datetime,
                     jitter: float | None = None) -> BaseTrigger:
    """The daemon's trigger for a schedule. ``every N`` counts from the
    source's last run start (from now when it never ran). ``jitter``: each
    fire comes up to that many seconds late, at random (APScheduler's
    ``jitter``), so sources on one schedule do not all start in one second."""
    kind, value = parse_schedule(schedule)
    jitter = jitter or None
    if kind == "interval":
        return IntervalTrigger(seconds=value, start_date=last_started or now, timezone=UTC, jitter=jitter)
    trigger = cron_trigger(value)
    # from_crontab takes no jitter; every 3.x trigger reads this attribute
    trigger.jitter = jitter
    return trigger
