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


SECRET = "Bearer s3cr3t-value"


@pytest.mark.parametrize("given", [
    {"Authorization": SECRET, "X-Team": "docs"},  # the API's object, the spider's keyword
    '{"Authorization": "Bearer s3cr3t-value", "X-Team": "docs"}',  # -a headers= as JSON
    f"Authorization: {SECRET}\nX-Team: docs\n",  # the form's text, one per line
    [f"Authorization: {SECRET}", "X-Team:docs"],  # docspasta crawl --header, repeated
])
def test_headers_are_read_the_same_whichever_way_they_come(given):
    options = parse_options({"url": URL, "headers": given})
    assert options.headers == (("Authorization", SECRET), ("X-Team", "docs")) and options.private
    assert SECRET not in repr(options) and "headers" not in options.settings()
    assert parse_options(options.as_dict()) == options  # what the runner hands the spider reads back the same


@pytest.mark.parametrize("given", [{"session": "abc", "theme": "dark"}, "session=abc; theme=dark",
                                   "session=abc\ntheme=dark", ["session=abc", "theme=dark"]])
def test_cookies_are_read_the_same_whichever_way_they_come(given):
    assert parse_options({"url": URL, "cookies": given}, API).cookies == (("session", "abc"), ("theme", "dark"))


@pytest.mark.parametrize(("field", "given", "message"), [
    ("headers", "Host: evil.example", "headers: Host is a header DocsPasta does not let a job set"),
    ("headers", "connection: close", "headers: connection is a header DocsPasta does not let a job set"),
    ("headers", "Content-Length: 5", "headers: Content-Length is a header DocsPasta does not let a job set"),
    ("headers", "Proxy-Foo: 1", "headers: Proxy-Foo is a header DocsPasta does not let a job set"),
    ("headers", "Cookie: a=1", "headers: Cookie is a header DocsPasta does not let a job set; give cookies as cookies"),
    ("headers", {"X-Token": "Bearer s3cr3t-value\r\nHost: evil"},
     "headers: the value of X-Token contains a line break or another control character"),
    ("headers", {"X-Token": "s3cr3t-value\n"}, None),  # a trailing line break is whitespace, stripped
    ("headers", f"Authorization {SECRET}", "headers: header 1 is not written Name: value"),
    ("headers", {f"Authorization {SECRET}": "x"}, "headers: header 1: the name is not a valid header name"),
    ("headers", "X-A: 1\nx-a: 2", "headers: x-a is given twice"),
    ("headers", "X-A:", "headers: X-A has no value"),
    ("headers", {"X-A": 5}, "headers: each header's name and value must be text"),
    ("headers", "{not json", "headers: not a JSON object of header names and values"),
    ("cookies", "session=s3cr3t value", "cookies: the value of session may not contain spaces"),
    ("cookies", "s3cr3t-value", "cookies: cookie 1 is not written name=value"),
    ("include", "api/*", "include: 'api/*' is not a path pattern"),
    ("exclude", ["/a/*", 3], "exclude: must be a list of path patterns (text), got 3"),
    ("tokenBudget", 0, "tokenBudget: must be from 1 to 100000000, got 0"),
])
def test_bad_headers_cookies_and_patterns_are_refused_without_repeating_a_secret(field, given, message):
    if message is None:
        assert parse_options({"url": URL, field: given}, API).headers == (("X-Token", "s3cr3t-value"),)
        return
    with pytest.raises(CrawlArgumentError) as refused:
        parse_options({"url": URL, field: given}, API)
    assert str(refused.value).startswith(message) and refused.value.field == field
    assert "s3cr3t" not in str(refused.value)


def test_patterns_come_as_lists_or_text_and_keep_their_order():
    options = parse_options({"url": URL, "include": "/guide/*, /api/*\n/guide/*", "exclude": ["/api/v1/*"]}, API)
    assert options.include == ("/guide/*", "/api/*") and options.exclude == ("/api/v1/*",)
    assert options.settings()["include"] == ["/guide/*", "/api/*"]
