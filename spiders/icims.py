"""iCIMS career portals: a preset of the ``jsonld`` board.

``GET {portal}/sitemap.xml``, then every posting page it lists
(``/jobs/<id>/<slug>/job``) fetched as its frame (``?in_iframe=1``, where
the JSON-LD is) and read for its schema.org ``JobPosting``; a saved iCIMS
frame shows the JSON-LD carries every field the posting has (title, dates,
deadline, employment type, addresses, employer, ad). The posting's id is
the number in its address. Seen whole, not found, failed and gone exactly
as :class:`spiders._job_sitemap.JobSitemapBoard` says. Parsing:
:mod:`spiders.parsers.icims` over :mod:`spiders.parsers.jsonld`.
"""

from __future__ import annotations

from scrapy.http import Response

from crawler.items import Posting
from spiders._job_sitemap import JobSitemapBoard
from spiders.base import Param
from spiders.parsers import icims


class IcimsSpider(JobSitemapBoard):
    board = "icims"
    title = "iCIMS career portal (job sitemap and JSON-LD posting pages)"
    params = {
        "url": Param(str, "the portal, e.g. https://careers-acme.icims.com", required=True),
        "sitemap_url": Param(str, "the job sitemap when it is not <portal>/sitemap.xml"),
    }
    not_found = "no iCIMS job sitemap for {url} (set sitemap_url if it lives elsewhere)"
    example = 'board = "icims"\nurl = "https://careers-acme.icims.com"'
    posting_pages = icims.POSTING_URL

    def sitemap_for(self, url: str) -> str:
        return icims.sitemap_url(url)

    def page_url(self, url: str) -> str:
        return icims.frame_url(url)

    def finish(self, posting: Posting, response: Response, alone: bool) -> Posting:
        return icims.complete(posting, response, alone)
