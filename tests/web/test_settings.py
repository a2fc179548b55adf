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
])
def test_a_bad_value_names_its_variable(name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})
