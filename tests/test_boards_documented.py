"""Every board is documented, has golden files and a replay test.

A board without these cannot be trusted by users adding a source: this test
fails until the board has a README row, help for every parameter, an example
that is a valid source, golden files built from real responses, and an
end-to-end test that crawls it on the local replay server.
"""

from __future__ import annotations

import tomllib

import pytest
from click.testing import CliRunner

from crawler.app.cli import main
from crawler.app.config import config_from_dict
from spiders import board_names, spider_class

from .conftest import ROOT

TESTS = ROOT / "tests"
BOARDS = board_names()


def test_the_boards_of_the_issues_exist():
    assert {"greenhouse", "jsonld"} <= set(BOARDS)


@pytest.mark.parametrize("board", BOARDS)
def test_board_is_documented(board):
    cls = spider_class(board)
    assert cls.title, f"{board}: no title"
    assert all(p.help for p in cls.params.values()), f"{board}: a parameter without help"
    example = tomllib.loads(f'name = "x"\n{cls.example}')
    config_from_dict({"sources": [example]})  # the example is a valid source
    readme = (ROOT / "README.md").read_text()
    assert f"| `{board}` |" in readme, f"{board}: no row in the README's board table"
    for key in cls.params:
        assert f"`{key}`" in readme.split(f"| `{board}` |", 1)[1].split("\n", 1)[0], \
            f"{board}: parameter {key} is not in its README row"
    listing = CliRunner().invoke(main, ["boards"]).output
    assert f"{board}: {cls.title}" in listing


@pytest.mark.parametrize("board", BOARDS)
def test_board_has_golden_files(board):
    golden = list((TESTS / "data" / "golden" / board).glob("*.json"))
    assert golden, f"{board}: no golden files in tests/data/golden/{board}/"


@pytest.mark.parametrize("board", BOARDS)
def test_board_has_a_replay_test(board):
    needle = f'board = "{board}"'
    files = [p for p in TESTS.rglob("test_*.py")
             if needle in (text := p.read_text()) and "replay" in text and "crawl" in text]
    assert files, f"{board}: no test crawls it on the replay server"
