"""Item pipelines: normalize (100), then store (200).

``StorePipeline`` hands items to the run's :class:`crawler.recorder.RunRecorder`,
which the runner attaches to the crawler as ``crawler.jobdelta_recorder``;
without one (``jobdelta try``) the pipeline switches itself off.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured

from crawler.items import Gone, Posting, RawPage, Seen
from crawler.normalize import normalize_posting


class NormalizePipeline:
    """Fill and tidy the canonical fields of every posting."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> NormalizePipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, Posting):
            fetched = datetime.fromisoformat(item.fetched_at) if item.fetched_at else datetime.now(UTC)
            normalize_posting(item, fetched_at=fetched)
            if not item.external_id:
                self.crawler.stats.inc_value("jobdelta/items/dropped/no_external_id")
                self.crawler.spider.note_error(f"a posting without an id at {item.url}")
                raise DropItem("posting without external_id")
        return item


class StorePipeline:
    """Pass items to the run recorder, which writes them in batches."""

    def __init__(self, recorder: Any, crawler: Crawler):
        self.recorder = recorder
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        recorder = getattr(crawler, "jobdelta_recorder", None)
        if recorder is None:
            raise NotConfigured("no run recorder: nothing is stored")
        return cls(recorder, crawler)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, Posting):
            self.recorder.add(item.to_dict(), item.raw_sha256, item.listing_hash, item.page_url,
                              item.source_hash)
            self.stats.inc_value("jobdelta/items/postings")
        elif isinstance(item, Seen):
            self.recorder.add_seen(item.external_id, item.listing_hash)
            self.stats.inc_value("jobdelta/items/seen_unchanged")
        elif isinstance(item, RawPage):
            self.recorder.add_raw(item)
        elif isinstance(item, Gone):
            self.recorder.add_gone(item.external_id, item.url, item.reason)
            self.stats.inc_value("jobdelta/items/gone")
        return item

    def close_spider(self) -> None:
        self.recorder.flush()
