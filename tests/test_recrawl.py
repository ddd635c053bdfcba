"""Re-crawls that cost almost nothing: a posting whose raw input is what
made its current version is recorded as seen without being parsed.

Real crawls (``crawler.app.runner``, in a child process as always) of the
loopback board simulator (``bench/board_sim.py``). The child is started
through a small wrapper that hands the spider ``known_raw`` from the run's
recorder (as the runner does once it is wired; a no-op then), counts the
calls of the JSON-LD parser and writes the crawl's Scrapy stats to a file,
so a test can prove a page was not parsed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.board_sim import Board, BoardSim  # noqa: E402

_WRAPPER = r'''
import json, sys
import scrapy.crawler
from scrapy import signals
import spiders.jsonld as jsonld
import spiders.smartrecruiters as smartrecruiters

out, argv = sys.argv[1], sys.argv[2:]
import crawler.pipelines as pipelines
calls = {"parse": 0, "normalize": 0}
def counted(fn, what, posting_page=lambda response: True):
    def wrapped(*a, **kw):
        calls[what] += posting_page(a[0])
        return fn(*a, **kw)
    return wrapped
# posting pages only: a jsonld listing page is read for postings it may carry
jsonld.extract_postings = counted(jsonld.extract_postings, "parse", lambda r: "/job/" in r.url)
smartrecruiters.parse_detail = counted(smartrecruiters.parse_detail, "parse")
pipelines.normalize_posting = counted(pipelines.normalize_posting, "normalize")
_crawl = scrapy.crawler.CrawlerProcess.crawl
def crawl(self, crawler, *a, **kw):
    kw.setdefault("known_raw", crawler.jobdelta_recorder.raw_hashes())
    def dump(spider):
        stats = {k: v for k, v in crawler.stats.get_stats().items() if isinstance(v, (int, float))}
        with open(out, "w") as f:
            json.dump({**stats, "parse_calls": calls["parse"], "normalize_calls": calls["normalize"]}, f)
    crawler.signals.connect(dump, signal=signals.spider_closed, weak=False)
    return _crawl(self, crawler, *a, **kw)
scrapy.crawler.CrawlerProcess.crawl = crawl
from crawler.app.runner import _child_main
sys.exit(_child_main(argv))
'''


class Crawls:
    """A board on the simulator, a config naming it, and real crawls of it."""

    def __init__(self, sim: BoardSim, board: Board, db_url: str, workdir: Path, how: str = "listing",
                 defaults: str = ""):
        self.sim, self.board, self.db_url, self.workdir = sim, board, db_url, workdir
        base = sim.base_url(board)
        if board.shape == "smartrecruiters":
            lines = [f'company = "{board.name}"', f'base_url = "{base}"']
        elif how == "sitemap":
            lines = [f'sitemap_url = "{base}/sitemap.xml"', f'allow = "/{board.name}/job/"']
        else:
            lines = [f'start_urls = ["{base}/jobs?page=1"]', f'allow = "/{board.name}/job/"']
        self.config = workdir / "jobdelta.toml"
        self.config.write_text(
            f'[database]\nurl = "{db_url}"\n\n[defaults]\ndownload_delay = 0\nretry_backoff = 0.1\n'
            f'concurrency_per_domain = 8\nexpire_after_runs = 1\n{defaults}\n\n[[sources]]\nname = "{board.name}"\n'
            f'board = "{board.shape}"\n' + "\n".join(lines) + "\n", encoding="utf-8")
        self.n = 0

    def crawl(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """One crawl: the run's summary and the crawl's Scrapy stats."""
        self.n += 1
        stats_file = self.workdir / f"stats{self.n}.json"
        self.board.reset_count()
        proc = subprocess.run(
            [sys.executable, "-c", _WRAPPER, str(stats_file), "--config", str(self.config), self.board.name],
            cwd=ROOT, capture_output=True, text=True, timeout=300,
            env={"PATH": "/usr/bin:/bin", "JOBDELTA_CACHE_DIR": str(self.workdir / "cache")})
        assert proc.returncode == 0, proc.stderr[-3000:]
        summary = json.loads(proc.stdout.strip().splitlines()[-1])
        assert summary["status"] == "complete", summary
        return summary, json.loads(stats_file.read_text())

    def stored(self, sessions: Any) -> dict[str, str]:
        """The open postings in the database and the revision their stored
        version states."""
        from db.models import Posting, Version

        with sessions() as session:
            rows = session.execute(
                select(Posting.external_id, Version.data)
                .join(Version, (Version.posting_id == Posting.id) & (Version.version == Posting.version))
                .where(Posting.status == "open")).all()
        return {ext: data["description"].rsplit("Revision ", 1)[1].rstrip(".") for ext, data in rows}


def truth(board: Board) -> dict[str, str]:
    return {ext: str(job.rev) for ext, job in board.truth().items()}


@pytest.fixture
def sim():  # noqa: ANN201
    with BoardSim() as server:
        yield server


def test_unchanged_pages_are_seen_without_being_parsed(sim: BoardSim, db_url: str, sessions: Any,
                                                       tmp_path: Path) -> None:
    board = sim.add(Board("rc", "jsonld", 30, seed=1))
    crawls = Crawls(sim, board, db_url, tmp_path)
    first, stats1 = crawls.crawl()
    assert first["new"] == 30 and stats1["parse_calls"] >= 30
    assert crawls.stored(sessions) == truth(board)

    again, stats2 = crawls.crawl()
    # every posting page answered 304: no body read, nothing parsed, all seen
    assert (again["seen"], again["new"], again["changed"], again["expired"]) == (30, 0, 0, 0)
    assert stats2["jobdelta/postings/unchanged_raw"] == 30
    assert stats2["jobdelta/conditional/not_modified_unread"] == 30
    assert stats2["parse_calls"] == 0 and stats2["normalize_calls"] == 0
    assert stats2.get("item_scraped_count", 0) == 30  # the 30 Seen items, no posting

    # the same bytes answered 200 (as by a board without validators): still not parsed
    from sqlalchemy import delete

    from db.models import PageValidator

    with sessions.begin() as session:
        session.execute(delete(PageValidator))
    third, stats3 = crawls.crawl()
    assert (third["seen"], third["new"], third["changed"]) == (30, 0, 0)
    assert stats3.get("jobdelta/conditional/not_modified_unread", 0) == 0
    assert stats3["jobdelta/postings/unchanged_raw"] == 30 and stats3["parse_calls"] == 0


def test_a_round_of_changes_finds_every_edit_removal_and_addition(sim: BoardSim, db_url: str,
                                                                  sessions: Any, tmp_path: Path) -> None:
    board = sim.add(Board("rd", "jsonld", 120, seed=2))
    crawls = Crawls(sim, board, db_url, tmp_path)
    crawls.crawl()
    changes = board.advance(0.02)
    summary, stats = crawls.crawl()
    assert (summary["new"], summary["changed"]) == (len(changes.new), len(changes.edited))
    assert summary["expired"] == len(changes.removed)
    # only the edited and new pages were parsed
    assert stats["normalize_calls"] == len(changes.new) + len(changes.edited)
    assert crawls.stored(sessions) == truth(board)


def test_a_new_parse_version_parses_every_page_again(sim: BoardSim, db_url: str, sessions: Any,
                                                     tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A change of jobdelta's parsing (crawler.items.PARSE_VERSION) reads
    every posting again, though the board answers 304 for all of them."""
    from crawler import items

    board = sim.add(Board("rv", "jsonld", 20, seed=3))
    crawls = Crawls(sim, board, db_url, tmp_path)
    crawls.crawl()
    wrapper = _WRAPPER.replace("import json, sys\n",
                               'import json, sys\nimport crawler.items\ncrawler.items.PARSE_VERSION = "test-next"\n')
    monkeypatch.setattr(sys.modules[__name__], "_WRAPPER", wrapper)
    summary, stats = crawls.crawl()
    assert stats["parse_calls"] == 20 and stats.get("jobdelta/postings/unchanged_raw", 0) == 0
    # 304s (posting pages and listing pages), answered from the stored bodies
    assert stats["jobdelta/conditional/not_modified"] >= 20
    assert stats.get("jobdelta/conditional/not_modified_unread", 0) == 0
    assert (summary["seen"], summary["new"], summary["changed"]) == (20, 0, 0)
    # the new hashes are stored: the run after that skips again
    _, stats = crawls.crawl()
    assert stats["parse_calls"] == 0 and stats["jobdelta/postings/unchanged_raw"] == 20
    assert items.PARSE_VERSION != "test-next"  # the wrapper's change stayed in its child


def test_sitemap_lastmod_skips_the_fetch_except_in_a_full_refresh(sim: BoardSim, db_url: str,
                                                                  sessions: Any, tmp_path: Path) -> None:
    board = sim.add(Board("rs", "jsonld", 40, seed=4))
    crawls = Crawls(sim, board, db_url, tmp_path, how="sitemap", defaults="full_refresh_every = 3")
    crawls.crawl()  # run 1: a full refresh
    changes = board.advance(0.05)
    summary, stats = crawls.crawl()  # run 2: only what the sitemap says moved is fetched
    moved = len(changes.new) + len(changes.edited)
    assert board.requests == 1 + moved
    assert stats["parse_calls"] == moved
    assert stats["jobdelta/postings/unchanged_listing"] == 40 - len(changes.removed) - len(changes.edited)
    assert (summary["new"], summary["changed"], summary["expired"]) == (
        len(changes.new), len(changes.edited), len(changes.removed))
    assert crawls.stored(sessions) == truth(board)

    _, stats = crawls.crawl()  # run 3: nothing moved, nothing fetched
    assert board.requests == 1 and stats["parse_calls"] == 0
    summary, stats = crawls.crawl()  # run 4: a full refresh fetches every page (all 304)
    assert board.requests == 1 + len(board.truth())
    assert stats["parse_calls"] == 0
    assert stats["jobdelta/postings/unchanged_raw"] == len(board.truth())
    assert summary["seen"] == len(board.truth())


def test_detail_pages_behind_a_listing(sim: BoardSim, db_url: str, sessions: Any, tmp_path: Path) -> None:
    """SmartRecruiters-style list + detail: a full refresh fetches every
    detail (304, not parsed); an edit moves the listing and is parsed."""
    board = sim.add(Board("rr", "smartrecruiters", 25, seed=5))
    crawls = Crawls(sim, board, db_url, tmp_path, defaults="full_refresh_every = 2")
    crawls.crawl()  # run 1: full refresh
    changes = board.advance(0.04)
    summary, stats = crawls.crawl()  # run 2: only moved details fetched
    assert stats["parse_calls"] == len(changes.new) + len(changes.edited)
    assert (summary["new"], summary["changed"], summary["expired"]) == (
        len(changes.new), len(changes.edited), len(changes.removed))
    summary, stats = crawls.crawl()  # run 3: full refresh, every detail asked, none parsed
    assert stats["parse_calls"] == 0
    assert stats["jobdelta/postings/unchanged_raw"] == len(board.truth())
    assert (summary["seen"], summary["new"], summary["changed"]) == (len(board.truth()), 0, 0)
    assert crawls.stored(sessions) == truth(board)
