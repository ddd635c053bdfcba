"""The boards jobdelta can crawl: one spider per board.

``BOARDS`` maps each ``board = "..."`` name to its spider class; each class
declares its parameters, so the config can be checked before any crawl.
"""

from __future__ import annotations

from typing import Any


def _boards() -> dict[str, Any]:
    from spiders.greenhouse import GreenhouseSpider
    from spiders.jsonld import JsonLdSpider

    return {cls.board: cls for cls in (GreenhouseSpider, JsonLdSpider)}


def board_names() -> list[str]:
    return list(_boards())


def spider_class(board: str) -> Any:
    return _boards()[board]


def check_params(board: str, params: dict[str, Any]) -> str | None:
    """Return one line naming what is wrong with a source's board parameters."""
    return spider_class(board).check_params(params)
