"""Loading the configuration for the application: the engine's reader
(:mod:`crawler.config`) plus the spiders' own check of every source's board
and parameters, so a typo fails before any crawl starts.

The scheduler's workers read the config without this check (they sit below
the spiders); the crawl process they start checks the source's board itself.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from crawler import config as _engine
from crawler.config import Config
from spiders import BOARDS, board_names, check_params

__all__ = ["board_problem", "config_from_dict", "load_config"]


def board_problem(board: str, params: dict[str, Any]) -> str | None:
    """One line naming what is wrong with a source's board and parameters."""
    if board not in BOARDS:
        return f"unknown board {board!r} (known: {', '.join(board_names())})"
    return check_params(board, params)


def load_config(explicit: str | os.PathLike[str] | None = None, *, required: bool = True) -> Config:
    """Read and validate the configuration, boards included. Raises
    ``ConfigError`` with one line."""
    return _engine.load_config(explicit, required=required, check_board=board_problem)


def config_from_dict(raw: dict[str, Any], path: Path | None = None) -> Config:
    return _engine.config_from_dict(raw, path, check_board=board_problem)
