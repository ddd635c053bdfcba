"""Memory of a long browser crawl: is it flat?

Serves ``--pages`` listing pages of the test single-page app
(tests/data/spa/careers.html, ``?mode=next``: each page a navigation of its
own, ``--per-page`` cards each) on a local replay server, crawls them with
the ``browser`` board in a child process, and samples the resident memory
of the crawl: the crawler process plus everything it started (the
Playwright drivers and every Chromium process), and of the crawler alone. Samples are taken when the
server has served listing page 20 and the last page (and every 10 pages).
Prints the samples and the ratio last/20, or with ``--json`` one JSON
object (samples, ratio, the crawl's browser stats) for tests.

    .venv/bin/python bench/browser_memory.py                 # 200 pages, contexts recycled every 50
    .venv/bin/python bench/browser_memory.py --recycle-every 100000   # one context for the whole run

Reads /proc (Linux). Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SPA = ROOT / "tests" / "data" / "spa" / "careers.html"
STATS = (
    "playwright/context_count", "playwright/context_count/max_concurrent", "playwright/page_count",
    "playwright/page_count/max_concurrent", "jobdelta/browser/contexts_closed",
    "jobdelta/browser/pages_closed", "jobdelta/browser/contexts_left_open",
    "jobdelta/browser/pages_left_open", "jobdelta/browser/contexts_open_max",
)


# -- memory of a process tree, from /proc


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as f:
                # the command name may hold spaces: the parent pid follows its ")"
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def _kib(pid: int, path: str, key: str) -> int:
    try:
        with open(f"/proc/{pid}/{path}", encoding="utf-8") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_memory(root: int) -> dict[str, float]:
    """RSS and PSS (MiB) of ``root`` and all its descendants, and how many
    processes that is. RSS counts shared pages once per process; PSS shares
    them out, so it is the fairer total."""
    tree, todo, pids = _children(), [root], []
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo.extend(tree.get(pid, []))
    rss = sum(_kib(p, "status", "VmRSS") for p in pids)
    pss = sum(_kib(p, "smaps_rollup", "Pss") for p in pids)
    chromium = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/comm", encoding="utf-8") as f:
                chromium += "chrom" in f.read()
        except OSError:
            pass
    return {"rss_mib": round(rss / 1024, 1), "pss_mib": round(pss / 1024, 1),
            "crawler_rss_mib": round(_kib(root, "status", "VmRSS") / 1024, 1), "processes": len(pids),
            "chromium_processes": chromium}


# -- the site


def site(pages: int, per_page: int):  # noqa: ANN201 - a ReplayServer
    from crawler.replay import ReplayServer, Reply

    html = SPA.read_text(encoding="utf-8")

    def api(path: str, headers: dict[str, str]) -> Reply:
        number = int(parse_qs(urlsplit(path).query).get("page", ["1"])[0])
        jobs = [{"id": f"J{number}-{k}", "title": f"Crew Member {number}-{k}", "url": f"/jobs/J{number}-{k}",
                 "locations": [{"name": "Edmonton, AB"}]} for k in range(per_page)]
        return Reply(json.dumps({"data": {"jobs": jobs, "page": number, "pages": pages}}))

    return ReplayServer({"/careers": Reply(html, content_type="text/html; charset=utf-8"), "/api/jobs": api})


# -- the crawl (child process)


def child(base_url: str, pages: int, recycle_every: int, out: str) -> None:
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess
    from scrapy.settings import Settings

    from crawler import settings as defaults
    from crawler.items import Posting
    from spiders.browser import BrowserSpider

    settings = Settings()
    settings.setmodule(defaults, priority="project")
    settings.setdict({"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "HTTPCACHE_ENABLED": False,
                      "LOG_LEVEL": "WARNING", "ITEM_PIPELINES": {}}, priority="cmdline")
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(BrowserSpider)
    found = {"postings": 0}

    def collect(item: object, response: object, spider: object) -> None:
        if isinstance(item, Posting):
            found["postings"] += 1

    crawler.signals.connect(collect, signal=signals.item_scraped, weak=False)
    params = {"url": "/careers?mode=next", "wait_for": "ul.jobs", "item_selector": "li.job",
              "fields": {"title": "h3::text", "url": "a::attr(href)", "location": ".loc::text",
                         "external_id": "::attr(data-id)"},
              "pagination": "next", "next_selector": ".next", "max_pages": pages + 1,
              "recycle_every": recycle_every}
    process.crawl(crawler, source="bench", params=params, base_url=base_url)
    process.start()
    spider, stats = crawler.spider, crawler.stats.get_stats()
    Path(out).write_text(json.dumps({
        "complete": spider.complete, "errors": spider.errors, "listing_pages": spider.listing_pages,
        "postings": found["postings"], "stats": {k: stats.get(k, 0) for k in STATS},
    }), encoding="utf-8")


# -- the measurement (parent process)


def measure(pages: int, per_page: int, recycle_every: int) -> dict:
    server = site(pages, per_page).start()
    marks = sorted({20, pages, *range(10, pages + 1, 10)} - {0})
    samples: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "result.json")
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, __file__, "--child", server.url, str(pages), str(recycle_every),
                                 out], cwd=ROOT)

        def served() -> int:
            return sum(1 for _, p, _ in list(server.requests) if p.startswith("/careers"))

        def sample() -> None:
            next_mark = 0
            while proc.poll() is None and next_mark < len(marks):
                n = served()
                if n >= marks[next_mark]:
                    time.sleep(0.3)  # the page is rendering: let it
                    samples.append({"page": n, "seconds": round(time.monotonic() - started, 1),
                                    **tree_memory(proc.pid)})
                    next_mark += 1
                else:
                    time.sleep(0.05)

        watcher = threading.Thread(target=sample, daemon=True)
        watcher.start()
        code = proc.wait(timeout=1800)
        watcher.join(5)
        server.stop()
        if code != 0:
            raise SystemExit(f"the crawl exited with {code}")
        result = json.loads(Path(out).read_text(encoding="utf-8"))
    at20 = next((s for s in samples if s["page"] >= 20), None)
    last = samples[-1] if samples else None
    result.update(per_page=per_page, recycle_every=recycle_every, samples=samples,
                  rss_ratio=round(last["rss_mib"] / at20["rss_mib"], 2) if at20 and last else None,
                  pss_ratio=round(last["pss_mib"] / at20["pss_mib"], 2) if at20 and last and at20["pss_mib"]
                  else None)
    return result


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        base_url, pages, recycle_every, out = sys.argv[2:6]
        child(base_url, int(pages), int(recycle_every), out)
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=200, help="listing pages to crawl (default 200)")
    parser.add_argument("--per-page", type=int, default=5, help="cards on each page (default 5)")
    parser.add_argument("--recycle-every", type=int, default=50,
                        help="pages per browser context (the board's recycle_every, default 50)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    result = measure(args.pages, args.per_page, args.recycle_every)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{args.pages} pages, {args.per_page} cards each, a new context every {args.recycle_every} pages; "
          f"complete: {result['complete']}, postings: {result['postings']}")
    print(f"{'page':>6} {'seconds':>8} {'RSS MiB':>9} {'PSS MiB':>9} {'crawler RSS':>12} {'procs':>6} "
          f"{'chromium':>9}")
    for s in result["samples"]:
        print(f"{s['page']:>6} {s['seconds']:>8} {s['rss_mib']:>9} {s['pss_mib']:>9} {s['crawler_rss_mib']:>12} "
              f"{s['processes']:>6} {s['chromium_processes']:>9}")
    print(f"RSS at the last page / at page 20: {result['rss_ratio']}; PSS: {result['pss_ratio']}")
    stats = result["stats"]
    print(f"contexts: {stats['playwright/context_count']} opened, {stats['jobdelta/browser/contexts_closed']} "
          f"closed by the board, at most {stats['playwright/context_count/max_concurrent']} at once; pages: "
          f"{stats['playwright/page_count']} opened, at most {stats['playwright/page_count/max_concurrent']} "
          f"at once; left open: {stats['jobdelta/browser/contexts_left_open']} contexts, "
          f"{stats['jobdelta/browser/pages_left_open']} pages")


if __name__ == "__main__":
    main()
