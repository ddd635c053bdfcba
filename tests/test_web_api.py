"""The HTTP API's contract, on a database built by real crawls of a replayed
board over five rounds (tests/web_history.py), on SQLite and PostgreSQL:
every endpoint, its filters, cursor pagination, streamed exports, the
error shape, ETags and 304s, read-only methods and the token."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from db.migrate import upgrade
from web.app import WebSettings, create_app

from . import web_history
from .conftest import _create_pg_database, _drop_pg_database

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def hist(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    workdir = tmp_path_factory.mktemp("web")
    if request.param == "sqlite":
        url = f"sqlite:///{workdir / 'history.db'}"
        upgrade(url)
        yield web_history.build(workdir, url)
        return
    admin = request.getfixturevalue("pg_admin_url")
    name, url = _create_pg_database(admin)
    try:
        upgrade(url)
        yield web_history.build(workdir, url)
    finally:
        _drop_pg_database(admin, name)


@pytest.fixture(scope="module")
def client(hist) -> TestClient:
    return TestClient(create_app(WebSettings(hist.db_url)))


def items(client: TestClient, url: str, **params) -> list[dict]:
    r = client.get(url, params=params)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def all_pages(client: TestClient, url: str, **params) -> list[dict]:
    out, nxt = [], None
    r = client.get(url, params=params)
    while True:
        assert r.status_code == 200, r.text
        body = r.json()
        out += body["items"]
        nxt = body["next"]
        if nxt is None:
            return out
        r = client.get(nxt)


def test_events_are_the_crawls_events_newest_first(client, hist):
    ids = hist.ids
    events = items(client, "/api/v1/events", limit=100)
    by_run: dict[int, set] = {}
    for e in events:
        if e["kind"] != "closing":
            by_run.setdefault(e["run_id"], set()).add((e["kind"], e["external_id"]))
    assert [by_run[r] for r in sorted(by_run)] == [
        {("new", ids["a"]), ("new", ids["b"]), ("new", ids["c"])},
        {("changed", ids["a"]), ("new", ids["d"])},
        {("expired", ids["c"])},
        {("changed", ids["b"]), ("reopened", ids["c"]), ("new", ids["e"])}]
    assert [e["id"] for e in events] == sorted((e["id"] for e in events), reverse=True)
    first = events[0]
    assert set(first) >= {"id", "kind", "source", "external_id", "title", "at", "run_id", "reason",
                          "changes", "posting", "company"}
    changed = [e for e in events if e["kind"] == "changed" and e["external_id"] == ids["a"]][0]
    assert {"field": "title", "old": changed["changes"][0]["old"],
            "new": changed["changes"][0]["new"]} == changed["changes"][0]
    assert changed["changes"][0]["new"].endswith("(EMEA)")
    assert changed["posting"]["title"].endswith("(EMEA)") and changed["company"] == "Vercel"


def test_event_filters(client, hist):
    ids = hist.ids
    assert {e["external_id"] for e in items(client, "/api/v1/events", kind="expired")} == {ids["c"]}
    both = items(client, "/api/v1/events", kind="expired,reopened")
    assert sorted(e["kind"] for e in both) == ["expired", "reopened"]
    assert items(client, "/api/v1/events", kind=["expired", "reopened"]) == both
    assert len(items(client, "/api/v1/events", company="Vercel", limit=100)) == \
        len(items(client, "/api/v1/events", limit=100))
    assert items(client, "/api/v1/events", company="Nobody") == []
    assert items(client, "/api/v1/events", source="elsewhere") == []
    emea = items(client, "/api/v1/events", text="emea")
    assert emea and all("EMEA" in e["title"] for e in emea)
    # since/until split the history at the end of round 2
    cut = hist.times[1].isoformat()
    before = items(client, "/api/v1/events", until=cut, limit=100)
    after = items(client, "/api/v1/events", since=cut, limit=100)
    assert {e["id"] for e in before} | {e["id"] for e in after} == \
        {e["id"] for e in items(client, "/api/v1/events", limit=100)}
    assert not {e["id"] for e in before} & {e["id"] for e in after}
    assert {e["kind"] for e in after} >= {"expired", "reopened"}
    # the country and workplace of the Vercel jobs: every event matches its own
    event = items(client, "/api/v1/events", limit=1)[0]
    countries = {loc.get("country") for loc in event["posting"].get("locations") or []} - {None}
    for country in countries:
        assert event["id"] in {e["id"] for e in items(client, "/api/v1/events", country=country.lower(),
                                                        limit=100)}
    if event["posting"].get("workplace_type"):
        other = {"remote": "onsite"}.get(event["posting"]["workplace_type"], "remote")
        assert event["id"] not in {e["id"] for e in items(client, "/api/v1/events", workplace=other,
                                                            limit=100)}


def test_event_pages_follow_next_links_without_gaps_or_repeats(client):
    every = items(client, "/api/v1/events", limit=500)
    paged = all_pages(client, "/api/v1/events", limit=2)
    assert [e["id"] for e in paged] == [e["id"] for e in every]
    r = client.get("/api/v1/events", params={"limit": 2})
    assert "cursor=" in r.json()["next"] and "limit=2" in r.json()["next"]


def test_postings_as_of_agrees_with_the_cli_for_every_round(client, hist):
    for at in hist.times:
        cli = hist.project.json("postings", "--at", at.isoformat())
        api = all_pages(client, "/api/v1/postings", as_of=at.isoformat(), limit=2)
        assert sorted((p["external_id"], p["version"]) for p in api) == \
            sorted((p["external_id"], p["version"]) for p in cli)
        assert {p["title"] for p in api} == {p["title"] for p in cli}
    ids = hist.ids
    after_round = {i: {p["external_id"] for p in all_pages(client, "/api/v1/postings",
                                                            as_of=t.isoformat())}
                   for i, t in enumerate(hist.times, 1)}
    assert after_round[1] == {ids["a"], ids["b"], ids["c"]}
    assert after_round[3] == {ids["a"], ids["b"], ids["d"]}
    assert after_round[5] == {ids[k] for k in "abcde"}


def test_postings_status_filters_and_facets(client, hist):
    ids = hist.ids
    at3 = hist.times[2].isoformat()
    expired = items(client, "/api/v1/postings", status="expired", as_of=at3)
    assert [(p["external_id"], p["status"]) for p in expired] == [(ids["c"], "expired")]
    everything = items(client, "/api/v1/postings", status="all", as_of=at3)
    assert len(everything) == 4 and {p["status"] for p in everything} == {"open", "expired"}
    row = items(client, "/api/v1/postings", limit=1)[0]
    assert row["key"] == f"vercel:{row['external_id']}" and row["source"] == "vercel"
    facets = client.get("/api/v1/postings/facets").json()["facets"]
    assert facets["source"] == [{"value": "vercel", "count": 5}]
    assert facets["company"] == [{"value": "Vercel", "count": 5}]
    for country in facets["country"]:
        assert len(all_pages(client, "/api/v1/postings", country=country["value"])) == country["count"]
    for wt in facets["workplace_type"]:
        assert len(all_pages(client, "/api/v1/postings", workplace=wt["value"])) == wt["count"]
    for et in facets["employment_type"]:
        assert len(all_pages(client, "/api/v1/postings", employment=et["value"])) == et["count"]
    assert sum(f["count"] for f in facets["workplace_type"]) <= 5
    assert client.get("/api/v1/postings/facets", params={"company": "Nobody"}).json()["facets"] == {
        "source": [], "company": [], "workplace_type": [], "employment_type": [], "country": []}
    assert items(client, "/api/v1/postings", text="(emea)")[0]["external_id"] == ids["a"]


def test_exports_stream_every_row(client, hist):
    r = client.get("/api/v1/postings.ndjson", params={"status": "all"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    rows = [json.loads(line) for line in r.text.splitlines()]
    api = all_pages(client, "/api/v1/postings", status="all")
    assert rows == api
    r = client.get("/api/v1/postings.csv")
    table = list(csv.DictReader(io.StringIO(r.text)))
    assert sorted(t["external_id"] for t in table) == sorted(hist.ids.values())
    assert json.loads(table[0]["locations"]) == [p for p in api if p["external_id"] ==
                                                 table[0]["external_id"]][0]["locations"]
    events = [json.loads(line) for line in client.get("/api/v1/events.ndjson").text.splitlines()]
    assert [e["id"] for e in events] == [e["id"] for e in items(client, "/api/v1/events", limit=500)]
    assert client.get("/api/v1/events.xml").status_code == 404


def test_a_posting_its_versions_and_diffs(client, hist):
    a = hist.ids["a"]
    body = client.get(f"/api/v1/postings/vercel:{a}").json()
    assert body["status"] == "open" and [v["version"] for v in body["versions"]] == [1, 2]
    assert body["versions"][0]["valid_to"] == body["versions"][1]["valid_from"]
    assert body["versions"][1]["changes"][0]["field"] == "title"
    assert [e["kind"] for e in body["events"]] == ["new", "changed"]
    assert body["posting"]["title"].endswith("(EMEA)")
    diff = client.get(f"/api/v1/postings/vercel:{a}/diff").json()
    assert (diff["from"], diff["to"]) == (1, 2)
    assert [c["field"] for c in diff["changes"]] == ["title"] and diff["description"] == []
    same = client.get(f"/api/v1/postings/vercel:{a}/diff", params={"from": 2, "to": 2}).json()
    assert same["changes"] == []
    # b's description edit: a word-level hunk with the inserted word
    b = client.get(f"/api/v1/postings/vercel:{hist.ids['b']}/diff").json()
    inserted = [seg[1] for hunk in b["description"] for seg in hunk if seg[0] == "insert"]
    assert any("gladly" in text for text in inserted)
    c = client.get(f"/api/v1/postings/vercel:{hist.ids['c']}").json()
    assert [e["kind"] for e in c["events"]] == ["new", "expired", "reopened"]
    assert client.get("/api/v1/postings/vercel:nope").json()["error"]["code"] == "not_found"
    bad = client.get(f"/api/v1/postings/vercel:{a}/diff", params={"from": 9})
    assert bad.status_code == 400 and "no version '9'" in bad.json()["error"]["message"]


def test_company_timeline_counts_from_intervals(client, hist):
    assert items(client, "/api/v1/companies") == [
        {"company": "Vercel", "open": 5, "total": 5, "sources": ["vercel"]}]
    assert all_pages(client, "/api/v1/companies", limit=1, text="verc") == items(client, "/api/v1/companies")
    assert items(client, "/api/v1/companies", text="nobody") == []
    t = client.get("/api/v1/companies/Vercel/timeline").json()
    # every round ran today, so one day: the open count at its end
    assert t["open"][-1]["open"] == 5
    assert sum(w["added"] for w in t["weekly"]) == 6  # 5 new + 1 reopened
    assert sum(w["removed"] for w in t["weekly"]) == 1
    assert t["closed"] == 0 and t["median_days_to_close"] is None  # c came back
    assert client.get("/api/v1/companies/Nobody/timeline").status_code == 404


def test_closing_sources_runs_status(client, hist):
    closing = items(client, "/api/v1/closing", days=7)
    assert [p["external_id"] for p in closing] == [hist.ids["b"]]
    assert 2 <= closing[0]["days_left"] <= 4
    assert items(client, "/api/v1/closing", days=1) == []
    sources = items(client, "/api/v1/sources")
    assert sources[0]["source"] == "vercel" and sources[0]["open_postings"] == 5
    assert sources[0]["board"] == "greenhouse" and sources[0]["health"] == "ok"
    runs = all_pages(client, "/api/v1/runs", limit=2)
    assert len(runs) == 5 and all(r["status"] == "complete" for r in runs)
    assert [r["new"] for r in reversed(runs)] == [3, 1, 0, 1, 0]
    assert items(client, "/api/v1/runs", status="failed") == []
    status = client.get("/api/v1/status").json()
    assert status["open_postings"] == 5 and status["sources"] == 1 and status["unhealthy"] == []


@pytest.mark.parametrize("url, message", [
    ("/api/v1/events?colour=red", "unknown parameter 'colour'"),
    ("/api/v1/events?kind=deleted", "kind: 'deleted' is not one of"),
    ("/api/v1/events?since=yesterday", "since: 'yesterday' is not a time"),
    ("/api/v1/events?limit=0", "limit: must be a whole number from 1 to 500"),
    ("/api/v1/events?cursor=abc", "cursor: not a cursor"),
    ("/api/v1/postings?status=closed", "status: 'closed' is not one of"),
    ("/api/v1/postings?country=Germany", "country: 'Germany' is not a two-letter"),
    ("/api/v1/postings?as_of=soon", "as_of: 'soon' is not a time"),
    ("/api/v1/postings/nocolon", "is not SOURCE:EXTERNAL_ID"),
    ("/api/v1/closing?days=1000", "days: must be a whole number from 1 to 365"),
    ("/api/v1/runs?status=finished", "status: 'finished' is not one of"),
])
def test_bad_requests_have_one_shape(client, url, message):
    r = client.get(url)
    assert r.status_code == 400, r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert message in body["error"]["message"]


def test_not_found_and_read_only(client):
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.json() == {"error": {"code": "not_found", "message": "no such page"}}
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        r = client.request(method, "/api/v1/events")
        assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"
        assert r.headers["allow"] == "GET, HEAD"
    page = client.post("/postings")
    assert page.status_code == 405 and page.headers["content-type"].startswith("text/html")
    head = client.head("/api/v1/events")
    assert head.status_code == 200 and head.content == b"" and head.headers["etag"]


def test_etag_and_304_until_a_run_finishes(client, hist):
    r = client.get("/api/v1/events", params={"limit": 3})
    etag = r.headers["etag"]
    again = client.get("/api/v1/events", params={"limit": 3}, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    other = client.get("/api/v1/events", params={"limit": 4}, headers={"If-None-Match": etag})
    assert other.status_code == 200 and other.headers["etag"] != etag
    # a new run (nothing changed on the board) moves the ETag
    from crawler.replay import ReplayServer, Reply

    with ReplayServer() as replay:
        jobs = json.loads(client.get("/api/v1/postings.ndjson").text.splitlines()[0])
        assert jobs["source"] == "vercel"
        replay.set_routes({web_history.PATH: Reply('{"jobs": []', status=200)})
        hist.project.write_config(f'[[sources]]\nname = "vercel"\nboard = "greenhouse"\n'
                                  f'token = "vercel"\nbase_url = "{replay.url}"\n')
        hist.project.cli("crawl", "vercel")  # malformed JSON: a failed run, nothing changes
    after = client.get("/api/v1/events", params={"limit": 3}, headers={"If-None-Match": etag})
    assert after.status_code == 200 and after.headers["etag"] != etag
    assert after.json()["items"] == r.json()["items"]


def test_openapi_and_offline_docs(client):
    schema = client.get("/openapi.json").json()
    for path in ("/api/v1/events", "/api/v1/postings", "/api/v1/postings/{key}",
                 "/api/v1/postings/{key}/diff", "/api/v1/companies", "/api/v1/companies/{name}/timeline",
                 "/api/v1/closing", "/api/v1/sources", "/api/v1/runs", "/api/v1/status"):
        assert path in schema["paths"], path
    names = {p["name"] for p in schema["paths"]["/api/v1/events"]["get"]["parameters"]}
    assert names >= {"kind", "source", "company", "country", "workplace", "since", "until", "text",
                     "limit", "cursor"}
    events = schema["paths"]["/api/v1/events"]["get"]["responses"]
    assert "422" not in events and events["400"]["content"]["application/json"]["schema"] == \
        {"$ref": "#/components/schemas/Error"}
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    docs = client.get("/api/docs").text
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
    assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200


def test_token_guards_everything_and_the_feed_token_only_feeds(hist):
    app = create_app(WebSettings(hist.db_url, token="s3cret", feed_token="feedme"))
    c = TestClient(app)
    for url in ("/api/v1/events", "/openapi.json", "/feeds/events.atom"):
        r = c.get(url)
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized", url
    page = c.get("/postings")  # a browser gets a page saying so
    assert page.status_code == 401 and "Authorization: Bearer" in page.text
    assert page.headers["content-type"].startswith("text/html") and page.headers["www-authenticate"]
    assert c.get("/api/v1/events", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert c.get("/api/v1/events", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert c.get("/feeds/events.atom", params={"token": "feedme"}).status_code == 200
    assert c.get("/api/v1/events", params={"token": "feedme"}).status_code == 401
