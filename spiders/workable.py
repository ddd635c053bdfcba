"""Workable: the whole account in one response of its public careers widget.

``GET {base_url}/api/v1/widget/accounts/{account}?details=true`` (base
``https://apply.workable.com``). The widget is the API the saved real
responses come from; it answers every published job with its description
in one document and reports no total, so the board is seen whole when that
response parses (the run says so, and its count is checked against recent
runs). An unknown account answers 404 and the run fails. Parsing:
:mod:`spiders.parsers.workable`.
"""

from __future__ import annotations

import re
from typing import Any

from scrapy.http import Response

from spiders.base import OneResponseBoard, Param
from spiders.parsers.stream import Listing
from spiders.parsers.workable import board_url, read_widget

_NAME = re.compile(r"[^/?#\s]+")


class WorkableSpider(OneResponseBoard):
    board = "workable"
    title = "Workable careers page (widget API)"
    default_base_url = "https://apply.workable.com"
    params = {"account": Param(str, "the account name in apply.workable.com/<account>", required=True)}
    not_found = "Workable has no account {account!r}"
    example = 'board = "workable"\naccount = "huggingface"'

    @classmethod
    def check_more(cls, given: dict[str, Any]) -> str | None:
        if not _NAME.fullmatch(given["account"]):
            return (f"account: must be the account name alone, as in apply.workable.com/<account>, "
                    f"got {given['account']!r}")
        return None

    def board_url(self) -> str:
        return board_url(self.base_url, self.board_params["account"])

    def read_board(self, response: Response) -> Listing:
        return read_widget(response, self.source)
