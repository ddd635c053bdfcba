"""The storage side of a run, by the names callers import: leases
(:mod:`crawler.leases`), the recorder (:mod:`crawler.recorder`) and the
expiry policy (:mod:`crawler.expiry`)."""

from crawler.expiry import Policy
from crawler.leases import count_runs, ensure_source, start_run, utcnow
from crawler.recorder import Outcome, RunRecorder

__all__ = ["Outcome", "Policy", "RunRecorder", "count_runs", "ensure_source", "start_run", "utcnow"]
