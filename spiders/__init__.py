"""The boards jobdelta can crawl: one spider per board.

:data:`BOARDS` names every board and where its spider lives, so the config
can be checked, and ``jobdelta --help`` can start, without importing every
spider (and Scrapy, Playwright...): a board's module is imported only when
that board is used. ``tests/test_layers.py`` checks the table against the
``BoardSpider`` subclasses the package really defines. Each class declares
its parameters, so the config is checked before any crawl.
"""

from __future__ import annotations

import importlib
from typing import Any

# board name -> "module:class" of its spider
BOARDS: dict[str, str] = {
    "ashby": "spiders.ashby:AshbySpider",
    "bamboohr": "spiders.bamboohr:BambooHRSpider",
    "breezy": "spiders.breezy:BreezySpider",
    "browser": "spiders.browser:BrowserSpider",
    "eightfold": "spiders.eightfold:EightfoldSpider",
    "greenhouse": "spiders.greenhouse:GreenhouseSpider",
    "icims": "spiders.icims:IcimsSpider",
    "jsonld": "spiders.jsonld:JsonLdSpider",
    "lever": "spiders.lever:LeverSpider",
    "microsoft": "spiders.microsoft:MicrosoftSpider",
    "oracle": "spiders.oracle:OracleSpider",
    "personio": "spiders.personio:PersonioSpider",
    "phenom": "spiders.phenom:PhenomSpider",
    "pinpoint": "spiders.pinpoint:PinpointSpider",
    "recruitee": "spiders.recruitee:RecruiteeSpider",
    "smartrecruiters": "spiders.smartrecruiters:SmartRecruitersSpider",
    "successfactors": "spiders.successfactors:SuccessFactorsSpider",
    "teamtailor": "spiders.teamtailor:TeamtailorSpider",
    "workable": "spiders.workable:WorkableSpider",
    "workday": "spiders.workday:WorkdaySpider",
}


def board_names() -> list[str]:
    return sorted(BOARDS)


def spider_class(board: str) -> Any:
    """The board's spider class (imports its module). KeyError for an unknown board."""
    module, _, name = BOARDS[board].partition(":")
    return getattr(importlib.import_module(module), name)


def check_params(board: str, params: dict[str, Any]) -> str | None:
    """Return one line naming what is wrong with a source's board parameters."""
    return spider_class(board).check_params(params)
