"""Generated requests against the JSON API (hypothesis): none of 10,000 gets a 5xx.

In-process, crawls off, the fake resolver of test_security (nothing resolves or
connects beyond loopback). The limits are on and low, so their paths are fuzzed
too; 503 is the one 5xx allowed, and only as the global cap's answer.
"""
from __future__ import annotations

import dataclasses
import json
import socket
from typing import Any, Iterator
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from tests.web.conftest import NO_LIMITS, REDIS_URL
from tests.web.test_security import fake_getaddrinfo
from webapp.app import create_app
from webapp.settings import Settings

REQUESTS = 10_000
TESTS = 4  # the requests are split over this many tests (hypothesis keeps one test's examples in memory)
BATCH = 4  # requests per example: hypothesis's own work per example is most of the time otherwise
sent: list[int] = []


@pytest.fixture(scope="module")
def fuzzed(database_url, redis_prefix, api_site) -> Iterator[tuple[TestClient, list[str]]]:
    app_settings = Settings(database_url=database_url, redis_url=REDIS_URL, redis_prefix=redis_prefix,
                            allow_hosts=f"127.0.0.1:{api_site.port}", db_pool_size=4, run_crawls=False, **NO_LIMITS)
    app_settings = dataclasses.replace(app_settings, rate_limit=20, max_jobs_per_client=10, max_body_bytes=4096)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
        with TestClient(create_app(app_settings), raise_server_exceptions=True) as client:
            job = client.post("/api/v3/jobs", json={"url": api_site.url("/docs/")}).json()["data"]["jobId"]
            yield client, [job]


FIELDS = ["url", "maxPages", "maxDepth", "qualityThreshold", "scope", "render", "tokenBudget", "include", "exclude",
          "headers", "cookies"]
URL_PARTS = st.sampled_from([
    "http://", "https://", "HTTP://", "file://", "javascript:", "data:,", "ftp://", " ", "\t", "\\\\", "\r\n", "%00",
    "localhost", "localhost.", "127.0.0.1", "[::1]", "[::ffff:127.0.0.1]", "2130706433", "0x7f000001",
    "169.254.169.254", "docs.example.org", "metadata.internal", "xn--", "@", ":", ":0", ":65536", ":-1", "/",
    "/docs/", "?", "#", "..", "%2e%2e", "[", "]", "\ud800", "\x00", "é", "a" * 300,
])
URLS = st.one_of(st.lists(URL_PARTS, max_size=6).map("".join), st.text(max_size=60))
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20))
# flat on purpose: hypothesis's recursive strategies cost milliseconds an example, and nesting finds nothing new here
JSON = st.one_of(SCALARS, st.lists(SCALARS, max_size=3), st.dictionaries(st.text(max_size=6), SCALARS, max_size=2))
VALUES = st.one_of(URLS, JSON, st.sampled_from(["prefix", "host", "auto", "always", "never", "5", "0", "-1", "1e3"]))
BODIES = st.dictionaries(st.one_of(st.sampled_from(FIELDS), st.text(max_size=12)), VALUES, max_size=7)
CONTENT_TYPES = st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain",
                                 "application/x-www-form-urlencoded", "application/problem+json", "", "*/*",
                                 "multipart/form-data; boundary=zz"])
HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)


def raw_body(draw: Any) -> bytes:
    kind = draw(st.sampled_from(["valid", "json", "json", "dumped", "bytes", "big", "nan"]))
    if kind == "valid":
        fields = {"url": draw(st.sampled_from(["https://docs.example.org/", "http://docs.example.org/guide/"])),
                  "maxPages": draw(st.integers(-5, 300)), "scope": draw(st.sampled_from(["prefix", "host", "x"]))}
        return json.dumps(fields).encode()
    if kind == "json":
        return json.dumps(draw(BODIES)).encode("utf-8", "surrogatepass")
    if kind == "dumped":
        return json.dumps(draw(JSON)).encode("utf-8", "surrogatepass")
    if kind == "big":
        return b'{"url": "' + b"a" * draw(st.integers(3000, 6000)) + b'"}'
    if kind == "nan":
        return b'{"url": "http://docs.example.org/", "maxPages": NaN, "maxDepth": Infinity}'
    return draw(st.binary(max_size=200))


@st.composite
def requests(draw: Any, jobs: list[str]) -> tuple[str, str, dict[str, str], bytes | None]:
    headers: dict[str, str] = {}
    if draw(st.booleans()):
        headers["x-forwarded-for"] = draw(HEADER_TEXT)
    if draw(st.booleans()):
        headers["last-event-id"] = draw(HEADER_TEXT)
    job = draw(st.one_of(st.sampled_from(jobs), st.uuids().map(str), st.text(max_size=30)))
    target = draw(st.sampled_from(["create", "create", "create", "job", "cancel", "process", "list", "other"]))
    if target == "create":
        headers["content-type"] = draw(CONTENT_TYPES)
        return "POST", "/api/v3/jobs", headers, raw_body(draw)
    if target == "job":
        suffixes = ["", "/export.json", "/document.md", "/llms.txt"] + ([] if job in jobs else ["/stream"])
        return "GET", f"/api/v3/jobs/{quote(job, safe='')}{draw(st.sampled_from(suffixes))}", headers, None
    if target == "cancel":
        return "POST", f"/api/v3/jobs/{quote(job, safe='')}/cancel", headers, draw(st.none() | st.binary(max_size=50))
    if target == "process":
        headers["authorization"] = draw(HEADER_TEXT)
        return "POST", "/api/v3/process", headers, None
    if target == "list":
        return "GET", "/api/v3/jobs?" + quote(draw(st.text(max_size=30)), safe="=&"), headers, None
    method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]))
    return method, "/api/v3/" + quote(draw(st.text(max_size=30)), safe="/"), headers, draw(st.none() | st.binary(max_size=50))


def check(client: TestClient, request: tuple[str, str, dict[str, str], bytes | None]) -> None:
    method, path, headers, body = request
    response = client.request(method, path, headers=headers, content=body)
    sent.append(response.status_code)
    if response.status_code == 503:
        assert response.json()["error"].startswith("the server is running as many jobs"), response.text
    else:
        assert response.status_code < 500, (request, response.status_code, response.text)
    # (a path with dot segments may leave /api/ once the client normalizes it: HTML or text there)
    if response.status_code >= 400 and method != "HEAD" and response.request.url.path.startswith("/api/"):
        assert response.json()["success"] is False, response.text  # every error in the API's one shape


@pytest.mark.parametrize("part", range(TESTS))
def test_no_request_gets_a_5xx(fuzzed, part):
    client, jobs = fuzzed

    @settings(max_examples=REQUESTS // TESTS // BATCH, deadline=None, database=None, phases=[Phase.generate, Phase.shrink],
              suppress_health_check=list(HealthCheck))
    @given(st.lists(requests(jobs), min_size=BATCH, max_size=BATCH))
    def run(batch: list[Any]) -> None:
        for request in batch:
            check(client, request)

    run()


def test_ten_thousand_were_sent():
    if not sent:
        pytest.skip("the fuzz tests were deselected")
    assert len(sent) >= REQUESTS, len(sent)
    created = sum(status == 201 for status in sent)
    assert 0 < created < len(sent) and any(status == 429 for status in sent) and any(status == 413 for status in sent)


@settings(max_examples=500, deadline=None, database=None)
@given(st.lists(st.text(max_size=50), max_size=3), st.integers(0, 3), st.text(max_size=40))
def test_any_forwarded_for_gives_a_short_client_key(values, proxies, peer):
    from types import SimpleNamespace

    from starlette.datastructures import Headers

    from webapp.guards.ratelimit import client_key
    from webapp.guards.security import client_address

    raw = [(b"x-forwarded-for", value.encode("latin-1", "replace")) for value in values]
    request = SimpleNamespace(client=SimpleNamespace(host=peer or "198.51.100.1"), headers=Headers(raw=raw))
    key = client_key(client_address(request, proxies))
    assert isinstance(key, str) and len(key) <= 200
    if proxies == 0:
        assert key == client_key(peer or "198.51.100.1"), "without a trusted proxy the header is ignored"
