"""Settings come from the environment once, with defaults, and a bad value names its variable."""
from __future__ import annotations

import pytest

from webapp.settings import Settings, SettingsError


def test_defaults_without_environment():
    settings = Settings.from_env({})
    # unset: `docspasta serve` runs embedded servers from the data directory
    assert settings.database_url is None and settings.redis_url is None and settings.data_dir == ""
    assert (settings.max_pages_limit, settings.max_depth_limit, settings.db_pool_size) == (200, 5, 20)
    assert settings.run_crawls is True and settings.crawl_settings == {}
    assert settings.host_rate == 20.0  # the service caps every target host by default


def test_values_from_the_environment():
    settings = Settings.from_env({
        "DATABASE_URL": "postgresql://db/x", "REDIS_URL": "redis://r/1", "DOCSPASTA_MAX_PAGES_LIMIT": "500",
        "DOCSPASTA_RUN_CRAWLS": "false", "DOCSPASTA_CRAWL_SETTINGS": '{"CONCURRENT_REQUESTS": 4}',
        "DOCSPASTA_ALLOW_HOSTS": "127.0.0.1:8000",
    })
    assert (settings.database_url, settings.redis_url, settings.max_pages_limit) == ("postgresql://db/x", "redis://r/1", 500)
    assert settings.run_crawls is False and settings.crawl_settings == {"CONCURRENT_REQUESTS": 4}
    assert settings.allow_hosts == "127.0.0.1:8000"


@pytest.mark.parametrize("name, value", [
    ("DOCSPASTA_MAX_PAGES_LIMIT", "lots"), ("DOCSPASTA_MAX_PAGES_LIMIT", "0"), ("DOCSPASTA_DB_POOL_SIZE", "1"),
    ("DOCSPASTA_CRAWL_SETTINGS", "{not json"), ("DOCSPASTA_CRAWL_SETTINGS", "[1]"),
    ("DOCSPASTA_HOST_RATE", "fast"), ("DOCSPASTA_HOST_RATE", "-1"), ("DOCSPASTA_HOST_RATE", "nan"),
    ("DOCSPASTA_ALLOW_HOSTS", "localhost"),  # at start, not as a 422 on the url of every job submitted
])
def test_a_bad_value_names_its_variable(name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_the_host_rate_reaches_every_jobs_crawl_with_the_redis_it_is_shared_through():
    from spiders.jobs.runner import crawl_settings

    settings = Settings.from_env({"DOCSPASTA_HOST_RATE": "2.5", "REDIS_URL": "redis://r/1",
                                  "DOCSPASTA_REDIS_PREFIX": "p:"})
    crawl = crawl_settings(settings)
    assert crawl.getfloat("DOCSPASTA_HOST_RATE") == 2.5
    assert (crawl.get("DOCSPASTA_REDIS_URL"), crawl.get("DOCSPASTA_REDIS_PREFIX")) == ("redis://r/1", "p:")
    assert crawl_settings(Settings.from_env({"DOCSPASTA_HOST_RATE": "0"})).getfloat("DOCSPASTA_HOST_RATE") == 0


def test_the_terminal_crawl_has_no_rate_cap_by_default():
    from scrapy.utils.project import get_project_settings

    assert get_project_settings().getfloat("DOCSPASTA_HOST_RATE") == 0
