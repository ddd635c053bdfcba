"""The application: the top floor of the house.

Only this layer knows every other one. It holds the command line
(:mod:`crawler.app.cli` and its command groups), the crawl process
(:mod:`crawler.app.runner`), the demo, ``jobdelta try`` and ``jobdelta add``.
Everything here imports downward: the engine (``crawler``), ``spiders``,
``scheduler`` and ``db``; nothing below imports from here.
"""
