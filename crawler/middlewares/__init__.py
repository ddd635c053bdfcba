"""Scrapy middlewares of jobdelta, one concern per module: retries with
backoff and conditional requests (downloader), walls (spider)."""
