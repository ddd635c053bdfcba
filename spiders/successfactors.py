"""SAP SuccessFactors career sites: the public job sitemap, then each posting page.

A preset of the ``jsonld`` board (:class:`spiders.jsonld.JsonLdSpider`):
``GET {site}/sitemap.xml`` (a sitemap index is followed), then every
posting page it lists (``/job/<slug>/<id>/``), read for its schema.org
``JobPosting`` microdata or JSON-LD. The board is seen whole when the
sitemap and every posting page were read (a page answering 404/410 is
evidence its posting is gone). The sitemap answering 404 is "board not
found", and a sitemap that is not one fails the run. Parsing:
:mod:`spiders.parsers.successfactors` (ids and ad blocks) over
:mod:`spiders.parsers.jsonld`.

:class:`spiders._job_sitemap.JobSitemapBoard`, the preset itself, is
shared with the ``icims`` board, whose listing is a job sitemap too.
"""

from __future__ import annotations

from scrapy.http import Response

from crawler.items import Posting
from spiders._job_sitemap import JobSitemapBoard
from spiders.base import Param
from spiders.parsers import successfactors


class SuccessFactorsSpider(JobSitemapBoard):
    board = "successfactors"
    title = "SAP SuccessFactors career site (job sitemap and posting pages)"
    params = {
        "url": Param(str, "the career site, e.g. https://jobs.example.com or "
                          "https://career5.successfactors.eu/career?company=X", required=True),
        "sitemap_url": Param(str, "the job sitemap when it is not <site>/sitemap.xml "
                                  "(some sites publish /sitemal.xml)"),
    }
    not_found = "no SuccessFactors job sitemap for {url} (set sitemap_url if it lives elsewhere)"
    example = 'board = "successfactors"\nurl = "https://jobs.example.com"'
    posting_pages = successfactors.POSTING_URL

    def sitemap_for(self, url: str) -> str:
        return successfactors.sitemap_url(url)

    def finish(self, posting: Posting, response: Response, alone: bool) -> Posting:
        return successfactors.complete(posting, response, alone)
