"""Scheduling crawls: when each source is due, and who starts its run.

- ``due``: which sources are due now (pure logic, plus the one query for
  each source's last run start);
- ``triggers``: a source's ``schedule`` as an APScheduler 3.x trigger, read
  as crontab reads it;
- ``launch``: start crawls in subprocesses, or send them to the Celery queue;
- ``daemon``: the BlockingScheduler behind ``jobdelta daemon``;
- ``tasks``: the Celery app and the ``crawl_source`` task for ``jobdelta worker``;
- ``cli``: the ``run-due``, ``daemon`` and ``worker`` commands.
"""
