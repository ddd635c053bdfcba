"""A bare Scrapy spider: the yardstick for jobdelta's crawl speed.

It fetches what jobdelta's ``jsonld`` board fetches on the simulator
(``bench/board_sim.py``): the listing pages from ``url`` on (following
``rel=next``) and every posting page they link to, and parses each
posting's JSON-LD with ``json.loads``. No pipeline, no database, nothing
stored: what is left is Scrapy's own cost of fetching and parsing the same
pages. Run by ``bench/crawl_speed.py``::

    scrapy runspider bench/bare_scrapy.py -a url=http://127.0.0.1:PORT/board/jobs?page=1 \\
        -a out=counts.json -s CONCURRENT_REQUESTS_PER_DOMAIN=16

It writes the numbers of listing pages, posting pages and postings read to
``out`` (JSON) when it closes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import scrapy
from scrapy.http import Response


class BareJsonLdSpider(scrapy.Spider):
    name = "bare_jsonld"
    # jobdelta's politeness, so both crawls fetch the same way (download
    # delay and per-domain concurrency come from the command line)
    custom_settings = {
        "ROBOTSTXT_OBEY": True,
        "AUTOTHROTTLE_ENABLED": True,
        "AUTOTHROTTLE_START_DELAY": 0.05,  # seconds; what jobdelta's runner sets at delay 0
        "AUTOTHROTTLE_TARGET_CONCURRENCY": 1.0,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "WARNING",
        "DOWNLOAD_DELAY": 0,
    }

    def __init__(self, url: str, out: str, allow: str = "/job/", **kwargs: Any):
        super().__init__(**kwargs)
        self.url, self.out, self.allow = url, out, allow
        self.counts = {"listing_pages": 0, "posting_pages": 0, "postings": 0}

    async def start(self):  # noqa: ANN201
        yield scrapy.Request(self.url, callback=self.parse_listing)

    def start_requests(self) -> Iterator[scrapy.Request]:  # Scrapy before 2.13
        yield scrapy.Request(self.url, callback=self.parse_listing)

    def parse_listing(self, response: Response) -> Iterator[scrapy.Request]:
        self.counts["listing_pages"] += 1
        for href in response.css("a::attr(href)").getall():
            if self.allow in href:
                yield response.follow(href, callback=self.parse_posting)
        nxt = response.css('a[rel="next"]::attr(href)').get()
        if nxt:
            yield response.follow(nxt, callback=self.parse_listing)

    def parse_posting(self, response: Response) -> Iterator[dict[str, Any]]:
        self.counts["posting_pages"] += 1
        for blob in response.css('script[type="application/ld+json"]::text').getall():
            data = json.loads(blob)
            if data.get("@type") == "JobPosting":
                self.counts["postings"] += 1
                yield data

    def closed(self, reason: str) -> None:
        with open(self.out, "w", encoding="utf-8") as f:
            json.dump({**self.counts, "reason": reason}, f)
