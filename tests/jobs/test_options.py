"""One check for a job's options, whichever client sent them: the same rule, in the client's own words."""
from __future__ import annotations

import pytest

from spiders.jobs.options import API, ARGS, FORM, CrawlArgumentError, parse_options
from webapp.cli import build_parser

URL = "https://docs.example.org/"


@pytest.mark.parametrize(("dialect", "field"), [(API, "maxPages"), (FORM, "max_pages"), (ARGS, "max_pages")])
def test_one_rule_names_the_field_as_each_client_sent_it(dialect, field):
    with pytest.raises(CrawlArgumentError) as refused:
        parse_options({"url": URL, field: "0"}, dialect)
    assert str(refused.value) == f"{field}: must be from 1 to 10000, got 0" and refused.value.field == field


def test_the_webs_limits_narrow_the_crawls_ranges_and_never_widen_them():
    with pytest.raises(CrawlArgumentError, match=r"^maxDepth: must be from 1 to 5, got 0$"):
        parse_options({"url": URL, "maxDepth": 0}, API, bounds={"max_depth": (1, 5)})
    with pytest.raises(CrawlArgumentError, match=r"^maxPages: must be from 1 to 10000, got 20000$"):
        parse_options({"url": URL, "maxPages": 20_000}, API, bounds={"max_pages": (1, 50_000)})
    assert parse_options({"url": URL, "maxDepth": 0}, API).max_depth == 0  # the crawl's own range without them


def test_docspasta_crawl_defaults_are_the_options_defaults():
    args = build_parser().parse_args(["crawl", URL])
    options = parse_options({name: getattr(args, name) for name in FORM.names})
    assert options == parse_options({"url": URL}, API) == parse_options({"url": URL})
    assert (options.max_pages, options.max_depth, options.quality_threshold, options.scope, options.render) == (
        50, 2, 20, "prefix", "auto")
