"""Configuration: loading, validation with errors that name the key, the
starter config, and schedules."""

from __future__ import annotations

import pytest

from crawler.app.config import config_from_dict, load_config
from crawler.config import STARTER_CONFIG, parse_schedule
from crawler.errors import ConfigError

GOOD = {"sources": [{"name": "acme", "board": "greenhouse", "token": "acme", "schedule": "0 */6 * * *"}]}


def test_starter_config_is_valid(tmp_path):
    path = tmp_path / "jobdelta.toml"
    path.write_text(STARTER_CONFIG)
    cfg = load_config(path)
    assert cfg.defaults.expire_after_runs == 2 and cfg.defaults.closing_days == [7, 1]
    assert cfg.sources[0].params == {"token": "acme"}


@pytest.mark.parametrize("raw, message", [
    ({"databse": {"url": "x"}}, "databse: unknown key"),
    ({"defaults": {"expire_after_runs": 0}}, "defaults.expire_after_runs: Input should be greater than or equal to 1"),
    ({"defaults": {"closing_days": [7, -1]}}, "defaults.closing_days: days must be 0 or more"),
    ({"defaults": {"colsing_days": [7]}}, "defaults.colsing_days: unknown key"),
    ({"sources": [{"name": "acme", "board": "nope"}]}, "sources[0].board: unknown board 'nope'"),
    ({"sources": [{"name": "acme", "board": "greenhouse"}]}, "sources[0] (acme): token: required for board 'greenhouse'"),
    ({"sources": [{"name": "acme", "board": "greenhouse", "token": 5}]}, "token: must be a string, got 5"),
    ({"sources": [{"name": "acme", "board": "greenhouse", "token": "a", "tokn": "b"}]},
     "unknown key 'tokn' for board 'greenhouse'"),
    ({"sources": [{"name": "a", "board": "greenhouse", "token": "a"}, {"name": "a", "board": "greenhouse", "token": "b"}]},
     "sources[1].name: duplicate source name 'a'"),
    ({"sources": [{"name": "acme", "board": "greenhouse", "token": "a", "schedule": "every day"}]},
     "sources[0].schedule: 'every day' is neither a 5-field cron expression"),
    ({"sources": [{"name": "acme", "board": "greenhouse", "token": "a", "schedule": "61 * * * *"}]},
     "sources[0].schedule: bad cron expression"),
    ({"sources": [{"name": "acme", "board": "jsonld"}]}, "start_urls or sitemap_url: one of them is required"),
    ({"sources": [{"name": "acme", "board": "jsonld", "start_urls": ["http://x"], "allow": "("}]},
     "allow: not a valid regular expression"),
    ({"sources": [{"name": "has space", "board": "greenhouse", "token": "a"}]}, "sources[0].name: String should match pattern"),
    ({"sources": [{"name": "acme", "board": "greenhouse", "token": "a", "base_url": "not a url"}]},
     "sources[0].base_url: must be an http:// or https:// address with a host"),
    ({"sources": [{"name": "acme", "board": "greenhouse", "token": "a", "base_url": "file:///srv/mirror"}]},
     "sources[0].base_url: must be an http:// or https:// address with a host (like https://boards-api.greenhouse.io), "
     "got 'file:///srv/mirror'"),
    ({"sources": [{"name": "acme", "board": "greenhouse", "token": "a", "base_url": "https://"}]},
     "sources[0].base_url: must be an http:// or https:// address"),
    ({"sources": [{"name": "acme", "board": "greenhouse", "token": "a", "base_url": "http://h:99999"}]},
     "sources[0].base_url: must be an http:// or https:// address"),
])
def test_errors_name_the_key(raw, message):
    with pytest.raises(ConfigError) as info:
        config_from_dict(raw)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_file_errors(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="not found .*jobdelta init"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[database\nurl = 1")
    with pytest.raises(ConfigError, match="bad.toml: not valid TOML"):
        load_config(bad)
    good = tmp_path / "good.toml"
    good.write_text('[[sources]]\nname = "a"\nboard = "greenhouse"\ntoken = "a"\n')
    monkeypatch.setenv("JOBDELTA_CONFIG", str(good))
    assert load_config().sources[0].name == "a"


@pytest.mark.parametrize("url", ["https://boards-api.greenhouse.io", "http://127.0.0.1:8080",
                                 "https://proxy.example/greenhouse/"])
def test_base_urls_with_a_host_are_accepted(url):
    cfg = config_from_dict({"sources": [{"name": "acme", "board": "greenhouse", "token": "a", "base_url": url}]})
    assert cfg.sources[0].base_url == url


def test_database_url_from_environment(monkeypatch):
    cfg = config_from_dict(GOOD)
    assert cfg.database_url == "sqlite:///jobdelta.db"
    monkeypatch.setenv("JOBDELTA_DATABASE_URL", "postgresql://u@h/db")
    assert cfg.database_url == "postgresql://u@h/db"


@pytest.mark.parametrize("text, expected", [
    ("every 2h", ("interval", 7200)),
    ("every 30m", ("interval", 1800)),
    ("0 */6 * * *", ("cron", "0 */6 * * *")),
])
def test_schedules(text, expected):
    assert parse_schedule(text) == expected


def test_a_source_name_longer_than_the_database_keeps_is_refused():
    with pytest.raises(ConfigError, match=r"sources\.0\.name|sources\[0\]"):
        config_from_dict({"sources": [{"name": "a" * 201, "board": "greenhouse", "token": "a"}]})
    assert config_from_dict({"sources": [{"name": "a" * 200, "board": "greenhouse", "token": "a"}]})


def test_a_source_overrides_politeness_and_limits_for_its_own_crawl_only():
    from crawler.app.runner import scrapy_settings

    cfg = config_from_dict({
        "defaults": {"download_delay": 0.5, "concurrency_per_domain": 2, "retries": 2,
                     "max_download_mb": 100, "time_limit": 600},
        "sources": [
            {"name": "big", "board": "greenhouse", "token": "a", "download_delay": 2.5,
             "concurrency_per_domain": 1, "retries": 5, "max_download_mb": 300, "time_limit": 90},
            {"name": "plain", "board": "greenhouse", "token": "b"},
        ]})
    big, plain = cfg.sources
    assert big.params == {"token": "a"} and plain.params == {"token": "b"}  # overrides are no board params
    s = scrapy_settings(cfg, big)
    assert (s.getfloat("DOWNLOAD_DELAY"), s.getint("CONCURRENT_REQUESTS_PER_DOMAIN"),
            s.getint("RETRY_TIMES"), s.getint("DOWNLOAD_MAXSIZE"), s.getfloat("CLOSESPIDER_TIMEOUT")) \
        == (2.5, 1, 5, 300 * 2**20, 90.0)
    s = scrapy_settings(cfg, plain)
    assert (s.getfloat("DOWNLOAD_DELAY"), s.getint("CONCURRENT_REQUESTS_PER_DOMAIN"),
            s.getint("RETRY_TIMES"), s.getint("DOWNLOAD_MAXSIZE"), s.getfloat("CLOSESPIDER_TIMEOUT")) \
        == (0.5, 2, 2, 100 * 2**20, 600.0)
    assert s.getfloat("JOBDELTA_MAX_DOWNLOAD_MB") == 100


@pytest.mark.parametrize("override, message", [
    ({"retries": 11}, "sources[0].retries: Input should be less than or equal to 10"),
    ({"max_download_mb": 0}, "sources[0].max_download_mb: Input should be greater than 0"),
    ({"time_limit": -1}, "sources[0].time_limit: Input should be greater than or equal to 0"),
    ({"concurrency_per_domain": 0}, "sources[0].concurrency_per_domain: Input should be greater than or equal to 1"),
])
def test_bad_overrides_name_the_key(override, message):
    with pytest.raises(ConfigError) as exc:
        config_from_dict({"sources": [{"name": "a", "board": "greenhouse", "token": "a", **override}]})
    assert message in str(exc.value)
