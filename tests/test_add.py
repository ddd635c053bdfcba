"""`jobdelta add` and `jobdelta sources`: an employer in one command.

Recognition is tested on URL tables for every system (the real careers URLs
of tests/data/fixtures/careers_pages/jobseek_boards_sample.csv, configured
by hand by another project, and shapes written here, positive and negative)
and on careers pages: a real employer's page source embedding Ashby
(promptfoo), a real saved candidate portal on an unsupported system
(PeopleStrong), real posting pages already in tests/data, and CONSTRUCTED
pages (labelled so) for the embeds and markers no licensed saved page was
found for. `add` runs end to end against the replay server, its trial
through the real `jobdelta try`, and the config it writes is crawled with
the real `jobdelta crawl`. Nothing reaches beyond loopback:
JOBDELTA_OFFLINE_TESTS=1 makes every fetch and trial refuse other hosts.
"""

from __future__ import annotations

import csv
import json
import os
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.app import cli_sources
from crawler.app.cli import main
from crawler.app.discover import read_page, recognise_url
from crawler.errors import JobdeltaError
from crawler.replay import Reply

from .conftest import DATA

PAGES = DATA / "fixtures" / "careers_pages"
GREENHOUSE = (DATA / "fixtures" / "greenhouse" / "hunt_vercel_jobs_content_true.json").read_text(encoding="utf-8")
ASHBY = (DATA / "fixtures" / "ashby" / "hunt_linear_job_board.json").read_text(encoding="utf-8")
META_PAGE = (DATA / "fixtures" / "jsonld" / "jobseek_meta_software_engineer.html").read_text(encoding="utf-8")
NEURA_PAGE = (DATA / "fixtures" / "jsonld" / "jobseek_neura_robotics_manager.html").read_text(encoding="utf-8")
HTML = "text/html; charset=utf-8"

CONFIG = """\
# jobdelta config of the add tests: every comment here must survive `add`.

[database]
url = "{db}"   # the tests' own database

[defaults]
download_delay = 0      # no waiting in tests
retry_backoff = 0.1     # real waits, scaled down

# Sources below; `jobdelta add` appends here.
[[sources]]
name = "acme"            # already watched
board = "greenhouse"
token = "acme"
base_url = "http://127.0.0.1:9"
# schedule = "every 6h"  # a comment inside the last table
"""


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch):
    monkeypatch.setenv(cli_sources.OFFLINE_TESTS_ENV, "1")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "jobdelta.toml"
    path.write_text(CONFIG.format(db=f"sqlite:///{tmp_path / 'jd.db'}"), encoding="utf-8")
    return path


def jd(config: Path, *args: str):  # noqa: ANN201
    """The real CLI on ``config``, in this process (trials and crawls run in
    their own processes, as always)."""
    env = {"JOBDELTA_CONFIG": None, "JOBDELTA_DATABASE_URL": None,
           "JOBDELTA_CACHE_DIR": str(config.parent / "httpcache"), "COLUMNS": "200"}
    old = os.getcwd()
    os.chdir(config.parent)
    try:
        return CliRunner().invoke(main, ["--config", str(config), *args], env=env, catch_exceptions=False)
    finally:
        os.chdir(old)


# -- URLs


URL_TABLE = [
    ("https://boards.greenhouse.io/vercel", "greenhouse", {"token": "vercel"}),
    ("boards.greenhouse.io/vercel/jobs/6136160004", "greenhouse", {"token": "vercel"}),
    ("https://job-boards.greenhouse.io/gitlab", "greenhouse", {"token": "gitlab"}),
    ("https://job-boards.eu.greenhouse.io/arqitlimited/jobs/4567?gh_src=x", "greenhouse", {"token": "arqitlimited"}),
    ("https://boards-api.greenhouse.io/v1/boards/vercel/jobs?content=true", "greenhouse", {"token": "vercel"}),
    ("https://boards.greenhouse.io/embed/job_board?for=stripe&b=https%3A%2F%2Fstripe.com", "greenhouse",
     {"token": "stripe"}),
    ("//boards.greenhouse.io/embed/job_board/js?for=elationhealth", "greenhouse", {"token": "elationhealth"}),
    ("https://jobs.lever.co/spotify", "lever", {"site": "spotify"}),
    ("https://jobs.lever.co/spotify/6b7e5b1c-5c2e-4a5e-9e0e-1a2b3c4d5e6f/apply", "lever", {"site": "spotify"}),
    ("https://jobs.eu.lever.co/mavenoid", "lever", {"site": "mavenoid", "eu": True}),
    ("https://api.lever.co/v0/postings/netflix?mode=json", "lever", {"site": "netflix"}),
    ("https://jobs.ashbyhq.com/linear", "ashby", {"company": "linear"}),
    ("https://jobs.ashbyhq.com/linear/1f0e5d0c-0000-4000-8000-000000000000", "ashby", {"company": "linear"}),
    ("https://api.ashbyhq.com/posting-api/job-board/linear?includeCompensation=true", "ashby",
     {"company": "linear"}),
    ("https://acme.wd5.myworkdayjobs.com/en-US/External", "workday",
     {"url": "https://acme.wd5.myworkdayjobs.com/en-US/External"}),
    ("https://nvidia.wd5.myworkdayjobs.com/NVIDIAExternalCareerSite/job/US-CA-Santa-Clara/Engineer_JR1",
     "workday", {"url": "https://nvidia.wd5.myworkdayjobs.com/NVIDIAExternalCareerSite"}),
    ("https://netflix.wd108.myworkdayjobs.com/en-US/Netflix", "workday",
     {"url": "https://netflix.wd108.myworkdayjobs.com/en-US/Netflix"}),
    ("https://wd1.myworkdaysite.com/recruiting/pwp/PWP_Experienced_Opportunities", "workday",
     {"host": "wd1.myworkdaysite.com", "tenant": "pwp", "site": "PWP_Experienced_Opportunities"}),
    ("https://careers.smartrecruiters.com/Ubisoft2", "smartrecruiters", {"company": "Ubisoft2"}),
    ("https://jobs.smartrecruiters.com/CERN/743999912345678", "smartrecruiters", {"company": "CERN"}),
    ("https://apply.workable.com/huggingface/j/7A6B5C4D3E/", "workable", {"account": "huggingface"}),
    ("https://apply.workable.com/api/v1/widget/accounts/cleo-ai", "workable", {"account": "cleo-ai"}),
    ("https://aikidosecurity.recruitee.com/o/backend-engineer", "recruitee", {"company": "aikidosecurity"}),
    ("https://personio.jobs.personio.de/job/123?language=en", "personio", {"company": "personio"}),
    ("https://amina.jobs.personio.com/", "personio", {"company": "amina", "domain": "com"}),
    ("https://giottoai.bamboohr.com/careers", "bamboohr", {"company": "giottoai"}),
    ("https://acme5.bamboohr.com/jobs/embed2.php", "bamboohr", {"company": "acme5"}),
    ("https://safe-global.breezy.hr/p/abc-engineer", "breezy", {"company": "safe-global"}),
    ("https://aria.pinpointhq.com/en/postings/5a2b", "pinpoint", {"company": "aria"}),
    ("https://eeho.fa.us2.oraclecloud.com/hcmUI/CandidateExperience/en/sites/CX_1/requisitions", "oracle",
     {"host": "eeho.fa.us2.oraclecloud.com", "site": "CX_1"}),
    ("https://careers-gdms.icims.com/jobs/75243/job?in_iframe=1", "icims", {"url": "https://careers-gdms.icims.com"}),
    ("https://career.teamtailor.com/jobs", "teamtailor", {"company": "career"}),
    ("https://acme.na.teamtailor.com/jobs/123-engineer", "teamtailor", {"company": "acme.na"}),
    ("https://fcx.eightfold.ai/careers?domain=fcx.com", "eightfold", {"host": "fcx.eightfold.ai", "domain": "fcx.com"}),
    ("https://careers.qualcomm.com/careers/job/446700000000?domain=qualcomm.com", "eightfold",
     {"host": "careers.qualcomm.com", "domain": "qualcomm.com"}),
    ("https://jobs.careers.microsoft.com/global/en/search?q=engineer", "microsoft", {}),
    ("https://careers.microsoft.com/", "microsoft", {}),
    ("https://career5.successfactors.eu/career?company=transpor01&career_ns=job_listing_summary", "successfactors",
     {"url": "https://career5.successfactors.eu/career?company=transpor01"}),
    ("https://career2.successfactors.com/career?company=ACME&career_job_req_id=42", "successfactors",
     {"url": "https://career2.successfactors.com/career?company=ACME"}),
]


@pytest.mark.parametrize("url, board, params", URL_TABLE)
def test_every_system_is_recognised_from_its_url_shapes(url, board, params):
    found = recognise_url(url)
    assert found is not None, url
    assert (found.board, found.params) == (board, params)


def test_what_is_recognised_is_what_the_boards_accept():
    from crawler.app.discover import URL_BOARDS
    from spiders import board_names, check_params

    assert {board for _, board, _ in URL_TABLE} == set(URL_BOARDS) <= set(board_names())
    for url, board, params in URL_TABLE:
        problem = check_params(board, params)
        if board == "eightfold" and "domain" not in params:
            assert problem and problem.startswith("domain: required"), url
        else:
            assert problem is None, (url, problem)


@pytest.mark.parametrize("url", [
    "https://www.greenhouse.io/careers", "greenhouse.io/careers", "https://boards.greenhouse.io/",
    "https://boards.greenhouse.io/embed/job_board", "https://jobs.lever.co/", "https://www.lever.co/careers",
    "https://jobs.lever.co/embed/index.js", "https://jobs.ashbyhq.com/", "https://www.ashbyhq.com/careers",
    "https://www.myworkday.com/acme/d/home.htmld", "https://acme.wd5.myworkdayjobs.com/",
    "https://acme.wd5.myworkdayjobs.com/en-US/", "https://www.smartrecruiters.com/careers",
    "https://jobs.workable.com/view/abc/engineer", "https://www.workable.com/careers", "https://www.recruitee.com/",
    "https://app.recruitee.com/", "https://www.personio.de/karriere/", "https://www.bamboohr.com/careers",
    "https://www.breezy.hr/", "https://www.pinpointhq.com/", "https://www.icims.com/careers",
    "https://www.teamtailor.com/en/", "https://eightfold.ai/careers", "https://www.eightfold.ai/",
    "https://www.oracle.com/careers/", "https://career5.successfactors.eu/career",
    "https://www.successfactors.com/", "https://example.com/careers", "https://example.com/careers?domain=x",
    "mailto:jobs@example.com", "ftp://boards.greenhouse.io/acme", "", "not a url at all",
])
def test_what_is_no_board_is_not_recognised(url):
    assert recognise_url(url) is None


def _expected(row: dict[str, str]) -> tuple[str, str] | None:
    """The board and the token the jobseek row was configured with, in
    jobdelta's terms (board, its name-giving value)."""
    cfg = json.loads(row["monitor_config"] or "{}")
    kind = row["monitor_type"]
    if kind == "rss":
        kind = cfg.get("preset")
    token = cfg.get("token") or cfg.get("slug") or cfg.get("tenant") or cfg.get("company") or cfg.get("host")
    board = {"oracle_hcm": "oracle"}.get(kind, kind)
    return board, token


def test_real_careers_urls_are_read_as_their_boards_were_configured():
    rows = list(csv.DictReader((PAGES / "jobseek_boards_sample.csv").open(encoding="utf-8")))
    employer_hosted = {"1global-careers", "abbvie-careers", "accor-paris-society", "acrisure-global",
                       "acrisure-netherlands", "acronis-careers-jobs"}
    vendor = [r for r in rows if r["board_slug"] not in employer_hosted]
    employer = [r for r in rows if r["board_slug"] in employer_hosted]
    assert len(vendor) >= 35 and len(employer) == 6
    for row in vendor:
        found = recognise_url(row["board_url"])
        assert found is not None, row["board_url"]
        board, token = _expected(row)
        assert found.board == board, row["board_url"]
        values = " ".join(str(v) for v in found.params.values()).lower()
        if token:
            assert token.lower() in values, (row["board_url"], found.params)
        if board == "lever":
            assert found.params.get("eu", False) == (json.loads(row["monitor_config"]).get("region") == "eu")
        if board == "workday" and row["monitor_config"]:
            assert json.loads(row["monitor_config"])["site"].lower() in values
    for row in employer:  # the employer's own domain: only its page can tell
        assert recognise_url(row["board_url"]) is None, row["board_url"]


# -- pages


@pytest.mark.parametrize("page, url, board, params", [
    ("promptfoo_careers_page.tsx", "https://www.promptfoo.dev/careers", "ashby", {"company": "promptfoo"}),
    ("constructed_greenhouse_embed.html", "https://example.com/careers", "greenhouse", {"token": "vercel"}),
    ("constructed_lever_embed.html", "https://example.com/jobs", "lever", {"site": "exampleco"}),
    ("constructed_workday_links.html", "https://exampleind.com/careers", "workday",
     {"url": "https://exampleind.wd5.myworkdayjobs.com/en-US/External"}),
    ("constructed_eightfold_site.html", "https://careers.examplecorp.com/careers", "eightfold",
     {"host": "careers.examplecorp.com", "domain": "examplecorp.com"}),
    ("constructed_phenom_site.html", "https://careers.exampleretail.com/us/en/search-results?x=1", "phenom",
     {"url": "https://careers.exampleretail.com/us/en/search-results"}),
    ("constructed_jsonld_listing.html", "https://roboticsco.example/careers", "jsonld",
     {"start_urls": ["https://roboticsco.example/careers"], "allow": r"/jobs/[^/?#]*\d[^/?#]*"}),
])
def test_a_careers_page_shows_the_board_it_embeds(page, url, board, params):
    findings = read_page((PAGES / page).read_bytes(), url)
    assert findings.best is not None
    assert (findings.best.board, findings.best.params) == (board, params)


def test_the_embed_outranks_a_stray_link_and_both_are_reported():
    findings = read_page((PAGES / "constructed_greenhouse_embed.html").read_bytes(), "https://example.com/careers")
    assert [(f.board, f.params, n) for f, n in findings.boards] == [
        ("greenhouse", {"token": "vercel"}, 1), ("lever", {"site": "partnerco"}, 1)]
    assert findings.summary() == [
        'found greenhouse (token = "vercel"): the Greenhouse embed (for=<token>), 1 reference on the page',
        'also found lever (site = "partnerco"): the URL jobs.lever.co/<site>, 1 reference on the page',
    ]


def test_the_jsonld_allow_pattern_takes_the_postings_and_leaves_the_rest():
    import re

    findings = read_page((PAGES / "constructed_jsonld_listing.html").read_bytes(), "https://r.example/careers")
    assert findings.posting_links == ["https://r.example/jobs/4012-product-manager-robotics",
                                      "https://r.example/jobs/4013-software-engineer"]
    allow = re.compile(findings.jsonld.params["allow"])
    for link in ("/jobs/search?team=eng", "/jobs/apply/general", "/jobs/", "/about"):
        assert not allow.search("https://r.example" + link), link


def test_real_pages_with_no_board_say_what_they_show():
    portal = read_page((PAGES / "jobseek_peoplestrong_bajaj_finserv.html").read_bytes(),
                       "https://bflcareers.peoplestrong.com/job/detail/JR00215399")
    assert portal.best is None and portal.summary() == []
    posting = read_page(NEURA_PAGE.encode(), "https://jobs.neura-robotics.com/job/manager")
    assert posting.jobpostings == 1 and posting.boards == []
    assert posting.best is not None and posting.best.board == "jsonld"
    assert posting.summary() == ["1 schema.org JobPosting item on the page"]
    nothing = read_page((PAGES / "constructed_nothing.html").read_bytes(), "https://example.com/careers")
    assert nothing.best is None and nothing.summary() == []


def test_escaped_and_encoded_urls_in_scripts_are_read():
    page = ('<script>var a="https:\\/\\/jobs.lever.co\\/acme2";</script>'
            '<a href="/r?url=https%3A%2F%2Fjobs.ashbyhq.com%2Facme3&amp;x=1">x</a>'
            '<div id="BambooHR" data-domain="acme5.bamboohr.com"></div>')
    found = {(f.board, json.dumps(f.params)) for f, _ in read_page(page, "https://acme.example/jobs").boards}
    assert found == {("lever", '{"site": "acme2"}'), ("ashby", '{"company": "acme3"}'),
                     ("bamboohr", '{"company": "acme5"}')}


def test_a_successfactors_career_site_on_the_employers_domain_is_recognised():
    # the class names SAP SuccessFactors' career site templates give a posting page
    page = ('<div class="jobDisplayShell"><div class="jobDisplay"><span class="joblayouttoken displayDTM">'
            'Geneva</span></div></div>')
    found = read_page(page, "https://jobs.example.org/job/Geneva/1399744233/").best
    assert (found.board, found.params) == ("successfactors", {"url": "https://jobs.example.org"})


def test_systems_named_without_their_board_are_noted():
    findings = read_page('<div id="grnhse_app"></div><a href="/jobs?gh_jid=4012345">x</a>',
                         "https://acme.example/jobs")
    assert findings.best is None
    assert findings.notes[0].startswith("Greenhouse (gh_jid links or its grnhse_app embed) on the page, but not "
                                        "its board's name: open one posting in a browser")


# -- the fetch and the trial never leave loopback here


def test_fetch_and_trial_refuse_other_hosts_under_the_test_switch():
    with pytest.raises(JobdeltaError, match="refusing to fetch https://example.com/careers: "
                                            "JOBDELTA_OFFLINE_TESTS=1 allows loopback only"):
        cli_sources.fetch_page("https://example.com/careers", "jobdelta-test")
    with pytest.raises(JobdeltaError, match="refusing to try greenhouse at its public address"):
        cli_sources.try_source(None, "greenhouse", {"token": "vercel"}, None)
    with pytest.raises(JobdeltaError, match="refusing to try https://boards-api.greenhouse.io"):
        cli_sources.try_source(None, "greenhouse", {"token": "vercel"}, "https://boards-api.greenhouse.io")


def test_a_redirect_beyond_loopback_is_refused(replay):
    replay.set_routes({"/careers": Reply("", status=302, content_type="text/html",
                                         headers={"Location": "https://example.com/careers"})})
    with pytest.raises(JobdeltaError, match="refusing to follow a redirect to https://example.com/careers"):
        cli_sources.fetch_page(f"{replay.url}/careers", "jobdelta-test")


def test_a_walled_page_is_reported_as_blocked(replay):
    replay.set_routes({"/careers": Reply("<html><head><title>Just a moment...</title></head><body></body></html>",
                                         status=403, content_type=HTML)})
    with pytest.raises(JobdeltaError, match=r"^blocked: 'Just a moment\.\.\.' page instead of the board at "):
        cli_sources.fetch_page(f"{replay.url}/careers", "jobdelta-test")


# -- add, offline


def test_offline_dry_run_prints_the_source_and_writes_nothing(config):
    before = config.read_bytes()
    r = jd(config, "add", "https://jobs.eu.lever.co/mavenoid", "--offline", "--dry-run", "--schedule", "every 6h")
    assert r.exit_code == 0, r.output
    assert r.stdout == ('[[sources]]\nname = "mavenoid"\nboard = "lever"\nsite = "mavenoid"\neu = true\n'
                        'schedule = "every 6h"\n')
    assert r.stderr.splitlines() == [
        "https://jobs.eu.lever.co/mavenoid:",
        '  recognised as lever (site = "mavenoid", eu = true) from the URL jobs.eu.lever.co/<site>',
        "  not tried (--offline): `jobdelta try lever -p 'site=\"mavenoid\"' -p 'eu=true'`",
        f"dry run: {config} not changed"]
    r = jd(config, "add", "https://careers.smartrecruiters.com/Ubisoft2", "--offline", "--dry-run",
           "--format", "json")
    assert json.loads(r.stdout) == {"name": "ubisoft2", "board": "smartrecruiters", "company": "Ubisoft2"}
    assert config.read_bytes() == before


def test_offline_add_appends_the_source_and_keeps_every_comment(config):
    before = config.read_text(encoding="utf-8")
    r = jd(config, "add", "https://jobs.ashbyhq.com/linear", "--offline", "--schedule", "0 */6 * * *")
    assert r.exit_code == 0, r.output
    assert r.stdout == f"added source 'linear' (ashby) to {config}\n"
    assert r.stderr.splitlines()[-1] == "  not tried (--offline): `jobdelta try ashby -p 'company=\"linear\"'`"
    after = config.read_text(encoding="utf-8")
    assert after == before + '\n[[sources]]\nname = "linear"\nboard = "ashby"\ncompany = "linear"\n' \
                             'schedule = "0 */6 * * *"\n'
    assert tomllib.loads(after)["sources"][1]["company"] == "linear"
    assert not [p for p in config.parent.iterdir() if p.name.startswith(".jobdelta.toml.")]  # no temp file left


def test_present_board_is_not_added_twice_and_names_do_not_clash(config):
    before = config.read_bytes()
    r = jd(config, "add", "https://job-boards.greenhouse.io/acme/jobs/123", "--offline")
    assert r.exit_code == 0 and r.stdout == f"already present as 'acme': {config} not changed\n"
    assert config.read_bytes() == before
    r = jd(config, "add", "https://jobs.lever.co/acme", "--offline")
    assert r.exit_code == 0, r.output
    assert "  the name 'acme' is taken (board 'greenhouse'): using acme-2 (or give --name)" in r.stderr
    assert tomllib.loads(config.read_text())["sources"][-1] == {"name": "acme-2", "board": "lever", "site": "acme"}
    r = jd(config, "add", "https://jobs.ashbyhq.com/acme", "--offline", "--name", "acme")
    assert r.exit_code == 1
    assert r.stderr.splitlines()[-1] == (
        "error: https://jobs.ashbyhq.com/acme: failed: name 'acme' is taken by the source 'acme' (board "
        f"'greenhouse'): choose another --name; {config} not changed")
    r = jd(config, "add", "https://jobs.ashbyhq.com/acme", "--offline", "--name", "acme-ashby")
    assert r.exit_code == 0 and tomllib.loads(config.read_text())["sources"][-1]["name"] == "acme-ashby"


def test_a_board_this_version_cannot_crawl_yet_is_said_so(config, monkeypatch):
    import spiders

    known = [b for b in spiders.board_names() if b != "workable"]
    monkeypatch.setattr(spiders, "board_names", lambda: known)
    before = config.read_bytes()
    r = jd(config, "add", "https://apply.workable.com/huggingface/", "--offline")
    assert r.exit_code == 1
    assert r.stderr.splitlines()[-1] == (
        "error: https://apply.workable.com/huggingface/: cannot crawl yet: recognised as workable, which this "
        f"version cannot crawl yet; {config} not changed")
    assert config.read_bytes() == before


def test_missing_parameters_are_asked_for(config):
    from spiders import check_params

    # an <x>.eightfold.ai URL names the host, not the tenant domain the board asks for
    problem = check_params("eightfold", {"host": "aexp.eightfold.ai"})
    assert problem and problem.startswith("domain: required")
    r = jd(config, "add", "https://aexp.eightfold.ai/careers", "--offline")
    assert r.exit_code == 1
    assert r.stderr.splitlines()[-1] == (f"error: https://aexp.eightfold.ai/careers: failed: {problem}; give it "
                                         f"with --param KEY=VALUE; {config} not changed")
    r = jd(config, "add", "https://aexp.eightfold.ai/careers", "--offline", "--dry-run", "-p", "domain=aexp.com")
    assert r.exit_code == 0 and 'domain = "aexp.com"' in r.stdout


def test_unrecognised_offline_says_what_to_try(config):
    r = jd(config, "add", "https://careers.example.com/jobs", "--offline")
    assert r.exit_code == 1
    assert r.stderr.splitlines()[-1] == (
        "error: https://careers.example.com/jobs: not recognised: no supported system's URL shape matches; "
        f"without --offline the page is fetched and searched for an embedded board; {config} not changed")


def test_usage_errors(config):
    assert jd(config, "add").exit_code == 2
    r = jd(config, "add", "https://jobs.lever.co/a", "--from-file", "x.txt")
    assert r.exit_code == 2 and "give a URL or --from-file FILE (not both)" in r.output
    r = jd(config, "add", "https://jobs.lever.co/a", "--schedule", "whenever", "--offline")
    assert r.exit_code == 2 and "neither a 5-field cron expression" in r.output


def test_append_keeps_layout_when_tables_follow_the_sources(tmp_path):
    text = ('# head\n[[sources]]\nname = "a"  # first\nboard = "greenhouse"\ntoken = "a"\n\n'
            '# the web app\n[web]\ntoken_env = "T"  # kept\n')
    new = cli_sources.append_sources(text, [{"name": "b", "board": "lever", "site": "b"}], tmp_path / "c.toml")
    assert tomllib.loads(new)["sources"][1] == {"name": "b", "board": "lever", "site": "b"}
    assert tomllib.loads(new)["web"] == {"token_env": "T"}
    for line in text.splitlines():
        assert line in new.splitlines()
    fresh = cli_sources.append_sources("# only a comment\n", [{"name": "b", "board": "lever", "site": "b"}],
                                       tmp_path / "c.toml")
    assert fresh.startswith("# only a comment\n") and tomllib.loads(fresh)["sources"][0]["site"] == "b"


# -- add, end to end against the replay server


@pytest.mark.slow
def test_add_reads_the_employer_page_tries_the_board_and_crawl_accepts_it(project, replay):
    page = (PAGES / "promptfoo_careers_page.tsx").read_text(encoding="utf-8")
    replay.set_routes({"/careers": Reply(page, content_type=HTML),
                       "/posting-api/job-board/promptfoo": Reply(ASHBY)})
    project.config.write_text(CONFIG.format(db=project.db_url), encoding="utf-8")
    before = project.config.read_text(encoding="utf-8")
    proc = project.cli("add", f"{replay.url}/careers", "--base-url", replay.url, "--schedule", "every 6h")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == [
        f"{replay.url}/careers:",
        '  found ashby (company = "promptfoo"): the URL jobs.ashbyhq.com/<company> (its embed), '
        '1 reference on the page',
        '  recognised as ashby (company = "promptfoo") from the URL jobs.ashbyhq.com/<company> (its embed)',
        "  tried: complete, 2 postings; saw the whole board"]
    assert proc.stdout == f"added source 'promptfoo' (ashby) to {project.config}\n"
    assert [p for _, p, _ in replay.requests if p.startswith("/posting-api/job-board/promptfoo")]
    after = project.config.read_text(encoding="utf-8")
    assert after.startswith(before)  # every comment and line kept, in place
    assert after[len(before):] == (f'\n[[sources]]\nname = "promptfoo"\nboard = "ashby"\ncompany = "promptfoo"\n'
                                   f'base_url = "{replay.url}"\nschedule = "every 6h"\n')
    crawl = project.cli("crawl", "promptfoo")
    assert crawl.returncode == 0 and " complete " in crawl.stdout, crawl.stdout + crawl.stderr
    rows = {r["name"]: r for r in project.json("sources")}
    assert rows["promptfoo"]["last_status"] == "complete" and rows["promptfoo"]["open_postings"] == 2
    assert rows["promptfoo"]["next_run"] > rows["promptfoo"]["last_run"]  # 6 h after the run started
    assert rows["acme"]["last_status"] is None and rows["acme"]["open_postings"] == 0
    assert rows["acme"]["next_run"] == "by hand"


@pytest.mark.slow
def test_add_proposes_jsonld_from_posting_links_and_crawl_reads_them(config, replay):
    listing = (PAGES / "constructed_jsonld_listing.html").read_text(encoding="utf-8")
    replay.set_routes({"/careers": Reply(listing, content_type=HTML),
                       "/jobs/4012-product-manager-robotics": Reply(NEURA_PAGE, content_type=HTML),
                       "/jobs/4013-software-engineer": Reply(META_PAGE, content_type=HTML)})
    r = jd(config, "add", f"{replay.url}/careers", "--name", "robotics")
    assert r.exit_code == 0, r.output
    assert r.stderr.splitlines()[1:] == [
        f"  2 links that look like postings, e.g. {replay.url}/jobs/4012-product-manager-robotics",
        '  recognised as jsonld (start_urls = ["' + replay.url + '/careers"], allow = "/jobs/[^/?#]*\\\\d[^/?#]*") '
        "from links that look like postings (/jobs/[^/?#]*\\d[^/?#]*)",
        "  tried: complete, 2 postings; saw the whole board"]
    source = tomllib.loads(config.read_text())["sources"][-1]
    assert source == {"name": "robotics", "board": "jsonld", "start_urls": [f"{replay.url}/careers"],
                      "allow": r"/jobs/[^/?#]*\d[^/?#]*"}
    crawl = jd(config, "crawl", "robotics")
    assert crawl.exit_code == 0 and " complete " in crawl.stdout, crawl.output


def test_a_board_that_fails_its_trial_writes_nothing(config, monkeypatch):
    calls = []

    def failing_trial(config_file, board, params, base_url):  # noqa: ANN001, ANN202 -- the real one: below
        calls.append((board, params, base_url))
        return {"status": "failed", "complete": False, "postings": [],
                "errors": ["board not found: Lever has no site 'gone-co' (HTTP 404 from http://127.0.0.1:9/x)"]}

    monkeypatch.setattr(cli_sources, "try_source", failing_trial)
    before = config.read_bytes()
    r = jd(config, "add", "https://jobs.lever.co/gone-co", "--base-url", "http://127.0.0.1:9")
    assert r.exit_code == 1 and calls == [("lever", {"site": "gone-co"}, "http://127.0.0.1:9")]
    assert r.stderr.splitlines()[-1] == (
        "error: https://jobs.lever.co/gone-co: failed: tried: failed, 0 postings; did NOT see the whole board "
        "(board not found: Lever has no site 'gone-co' (HTTP 404 from http://127.0.0.1:9/x)); "
        f"{config} not changed")
    assert config.read_bytes() == before  # the real trial's failure: test_from_file_adds_each_line_...


@pytest.mark.slow
def test_from_file_adds_each_line_and_writes_once(config, replay, monkeypatch):
    replay.set_routes({"/v1/boards/vercel/jobs": Reply(GREENHOUSE),
                       "/about": Reply((PAGES / "constructed_nothing.html").read_text(), content_type=HTML)})
    urls = config.parent / "companies.txt"
    urls.write_text(f"# employers to watch\n\nhttps://boards.greenhouse.io/vercel   # Vercel\n"
                    f"https://jobs.lever.co/gone-co\n{replay.url}/about\n"
                    f"https://job-boards.greenhouse.io/acme\n", encoding="utf-8")
    writes = []
    real_write = cli_sources.write_atomically
    monkeypatch.setattr(cli_sources, "write_atomically", lambda p, t: (writes.append(p), real_write(p, t)))
    r = jd(config, "add", "--from-file", str(urls), "--base-url", replay.url, "--format", "json")
    assert r.exit_code == 1  # a line failed; the others stand
    assert len(writes) == 1
    outcomes = json.loads(r.stdout)
    assert [(o["url"], o["outcome"], o["source"]) for o in outcomes] == [
        ("https://boards.greenhouse.io/vercel", "added", "vercel"),
        ("https://jobs.lever.co/gone-co", "failed", "gone-co"),
        (f"{replay.url}/about", "not recognised", None),
        ("https://job-boards.greenhouse.io/acme", "already present", "acme")]
    assert outcomes[0]["entry"] == {"name": "vercel", "board": "greenhouse", "token": "vercel", "base_url": replay.url}
    assert outcomes[1]["detail"].startswith("tried: failed, 0 postings; did NOT see the whole board (board not found")
    assert outcomes[2]["detail"].startswith(f"no job board, embed or schema.org JobPosting data on {replay.url}/about."
                                            " Try the board's own address")
    assert r.stderr.splitlines()[-1] == f"1 added, 1 already present, 1 not recognised, 1 failed; {config} written once"
    sources = tomllib.loads(config.read_text())["sources"]
    assert [s["name"] for s in sources] == ["acme", "vercel"]


def test_sources_without_a_database(config):
    jd(config, "add", "https://jobs.ashbyhq.com/linear", "--offline", "--schedule", "every 2h")
    r = jd(config, "sources", "--format", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == [
        {"name": "acme", "board": "greenhouse", "params": {"token": "acme"}, "base_url": "http://127.0.0.1:9",
         "schedule": None, "enabled": True, "next_run": "by hand", "last_status": None, "last_run": None,
         "open_postings": None},
        {"name": "linear", "board": "ashby", "params": {"company": "linear"}, "base_url": None,
         "schedule": "every 2h", "enabled": True, "next_run": "now (never ran)", "last_status": None,
         "last_run": None, "open_postings": None}]
    assert not (config.parent / "jd.db").exists()  # reading the sources made no database
    table = jd(config, "sources").stdout.splitlines()
    assert table[0].split() == ["name", "board", "params", "schedule", "next_run", "last_status", "last_run",
                                "open_postings"]
    assert table[2].split()[:3] == ["linear", "ashby", 'company="linear"']
