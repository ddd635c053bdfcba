"""Alerts: change events and source-health notices, delivered exactly once.

Modules (engine layer: they import ``db/`` and the rest of ``crawler`` below
the application, never the config loader or the CLI):

- ``filters``: a subscription's filters, and which alert reaches whom and why;
- ``outbox``: delivery rows written in the same transaction as the events
  that cause them;
- ``sender``: claims pending deliveries, sends them through a channel, marks
  them; retries with backoff; gives up after a while;
- ``render``: what a person reads: email (HTML and text), chat lines, the
  webhook payload; board text is untrusted (escaped in HTML, stripped of
  control characters in text);
- ``channels``: SMTP, Standard Webhooks POSTs, Apprise.

An *alert* handed to ``filters`` and ``render`` is a plain dict:

- a change event, in the public field names of DESIGN.md (as
  ``db.queries.event_dict`` returns it): ``id``, ``kind`` (new, changed,
  expired, reopened, closing), ``source``, ``external_id``, ``title``,
  ``at`` (ISO datetime), ``run_id``, ``reason``, ``changes`` (for changed
  and reopened: a list of ``{field, old, new}``, list fields with ``added``
  and ``removed``, the description with ``diff`` (a unified text diff)
  instead of old/new, a deadline with ``note``), ``posting`` (the posting
  then: ``title``, ``company``, ``url``, ``apply_url``, ``locations``,
  ``salary``, ``workplace_type``, ``employment_type``, ``deadline``, ...);
- or a health notice: ``id``, ``kind`` = ``"health"``, ``source``, ``at``,
  ``problem`` (``failing``, ``suspicious``, ``shrink_confirmed``,
  ``blocked``, ``coverage_lost``, ``webhook_disabled``), ``state``
  (``started`` or ``recovered``), ``reason``, ``run_id``.
"""
