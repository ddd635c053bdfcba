"""The boards jobdelta can crawl: one spider per board.

Every module in this package that defines a ``BoardSpider`` subclass with a
``board`` name is a board; ``board = "..."`` in the config picks it. Each
class declares its parameters, so the config is checked before any crawl.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _boards() -> dict[str, Any]:
    from spiders.base import BoardSpider

    found: dict[str, Any] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name in ("base", "parsers") or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, BoardSpider) and obj.board \
                    and obj.__module__ == module.__name__:
                found[obj.board] = obj
    return dict(sorted(found.items()))


def board_names() -> list[str]:
    return list(_boards())


def spider_class(board: str) -> Any:
    return _boards()[board]


def check_params(board: str, params: dict[str, Any]) -> str | None:
    """Return one line naming what is wrong with a source's board parameters."""
    return spider_class(board).check_params(params)
