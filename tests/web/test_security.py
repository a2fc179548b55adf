"""Attacks and bad input at the web app's door, each with its exact outcome.

Crawls are off and names resolve through a fake resolver: nothing here connects
anywhere but PostgreSQL and Redis on loopback. (The crawl side's own cases are in
tests/safety/test_ssrf.py and tests/crawl/test_hostile.py.)
"""
from __future__ import annotations

import dataclasses
import re
import socket
import uuid
from typing import Any, Iterator

import pytest
from starlette.testclient import TestClient

from tests.web.conftest import NO_LIMITS, REDIS_URL, form_token, run_async, sql
from webapp.app import create_app
from webapp.guards import csrf
from webapp.guards.security import CONTENT_SECURITY_POLICY
from webapp.settings import Settings

PUBLIC = "93.184.215.14"  # what the fake resolver answers for public-looking names (never connected to)
FAKE_DNS = {"localhost": "127.0.0.1", "localhost.": "127.0.0.1", "localtest.me": "127.0.0.1",
            "metadata.internal": "169.254.169.254", "intranet.example": "10.1.2.3",
            "v6.internal": "fd00::1", "docs.example.org": PUBLIC}
_real_getaddrinfo = socket.getaddrinfo


def fake_getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
    name = host.decode() if isinstance(host, bytes) else str(host)
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in name else socket.AF_INET, name)
        return _real_getaddrinfo(host, port, *args, **kwargs)  # a literal: no lookup
    except OSError:
        pass
    address = FAKE_DNS.get(name.lower())
    if address is None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sockaddr = (address, int(port or 0), 0, 0) if family == socket.AF_INET6 else (address, int(port or 0))
    return [(family, socket.SOCK_STREAM, 6, "", sockaddr)]


@pytest.fixture(autouse=True)
def no_real_dns(monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)


@pytest.fixture(scope="module")
def base_settings(database_url, redis_prefix, api_site) -> Settings:
    return Settings(database_url=database_url, redis_url=REDIS_URL, redis_prefix=redis_prefix,
                    allow_hosts=f"127.0.0.1:{api_site.port}", db_pool_size=2, run_crawls=False, **NO_LIMITS)


def client_for(settings: Settings, address: str = "203.0.113.10", **changes: Any) -> TestClient:
    return TestClient(create_app(dataclasses.replace(settings, **changes)), client=(address, 40000))


@pytest.fixture(scope="module")
def guarded(base_settings) -> Iterator[TestClient]:
    """Crawls off, limits off, a small body limit: submission checks only."""
    with client_for(base_settings, max_body_bytes=16384) as client:
        yield client


def unique_client() -> str:
    """An address no other test (of this run, or of the last minute) has created jobs from."""
    r = uuid.uuid4().int
    return f"198.{18 + r % 2}.{(r >> 1) % 256}.{(r >> 9) % 254 + 1}"  # 198.18.0.0/15, for benchmarks


# --- the submitted URL: schemes, smuggling, internal addresses in every spelling -------------------

BLOCKED = "blocked"
BAD_URL = [
    ("file:///etc/passwd", None),
    ("javascript:alert(document.cookie)", None),
    ("JaVaScRiPt:alert(1)", None),
    ("data:text/html,<script>alert(1)</script>", None),
    ("gopher://127.0.0.1:6379/_FLUSHALL", None),
    ("ftp://docs.example.org/", None),
    ("  javascript:alert(1)", None),
    ("\tjava\nscript:alert(1)", None),
    ("http:\\\\127.0.0.1\\admin", None),
    ("\\\\127.0.0.1\\share", None),
    ("http://docs.example.org/\r\nSet-Cookie: pwned=1", None),
    ("http://docs.example.org/" + "a" * 10_000, "longer than 2048 characters"),
    ("http://2130706433/", BLOCKED),
    ("http://0x7f000001/", BLOCKED),
    ("http://0177.0.0.1/", BLOCKED),
    ("http://127.1/", BLOCKED),
    ("http://0.0.0.0/", BLOCKED),
    ("http://[::1]/", BLOCKED),
    ("http://[::ffff:127.0.0.1]/", BLOCKED),
    ("http://[::ffff:7f00:1]/", BLOCKED),
    ("http://[0:0:0:0:0:ffff:a9fe:a9fe]/", BLOCKED),
    ("http://169.254.169.254/latest/meta-data/", BLOCKED),
    ("http://10.0.0.1/", BLOCKED),
    ("http://192.168.1.1/", BLOCKED),
    ("http://172.16.0.1/", BLOCKED),
    ("http://100.64.0.1/", BLOCKED),
    ("http://[fd00::1]/", BLOCKED),
    ("http://[fe80::1]/", BLOCKED),
    ("http://localhost/", BLOCKED),
    ("http://localhost./", BLOCKED),
    ("http://LOCALHOST:8000/", BLOCKED),
    ("http://localtest.me/", BLOCKED),
    ("http://metadata.internal/computeMetadata/v1/", BLOCKED),
    ("http://intranet.example/", BLOCKED),
    ("http://v6.internal/", BLOCKED),
    ("http://user:pw@127.0.0.1:6379/", BLOCKED),
    ("http://no-such-name.invalid/", "does not resolve"),
]


@pytest.mark.parametrize("url, says", BAD_URL, ids=[repr(url[:40]) for url, _ in BAD_URL])
def test_a_bad_or_internal_start_url_is_refused_at_submission(guarded, url, says):
    response = guarded.post("/api/v3/jobs", json={"url": url})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body == {"success": False, "error": body["error"], "field": "url"}
    assert body["error"].startswith("url: ")
    if says:
        assert says in body["error"], body["error"]


def test_the_same_refusal_reaches_the_html_form(guarded):
    token = form_token(guarded)
    response = guarded.post("/jobs", data={"url": "http://[::ffff:127.0.0.1]/", "csrf_token": token},
                            headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert 'id="url-error"' in response.text and "Blocked:" in response.text


def test_a_public_start_url_is_taken(guarded):
    response = guarded.post("/api/v3/jobs", json={"url": "https://docs.example.org/guide/"})
    assert response.status_code == 201 and response.json()["data"]["status"] == "pending"


# --- limits, bodies, content types ---------------------------------------------------------------

BAD_FIELDS = [
    ({"maxPages": "-1"}, "maxPages"),
    ({"maxPages": 1e300}, "maxPages"),
    ({"maxPages": "1e3"}, "maxPages"),
    ({"maxPages": None, "maxDepth": "0x10"}, "maxDepth"),
    ({"maxDepth": -(2 ** 63)}, "maxDepth"),
    ({"qualityThreshold": "50abc"}, "qualityThreshold"),
    ({"qualityThreshold": {"$gt": 0}}, "qualityThreshold"),
    ({"scope": ["host"]}, "scope"),
    ({"render": "always; rm -rf /"}, "render"),
    ({"__proto__": {"admin": True}}, "__proto__"),
]


@pytest.mark.parametrize("fields, field", BAD_FIELDS)
def test_bad_limits_name_the_field(guarded, fields, field):
    response = guarded.post("/api/v3/jobs", json={"url": "https://docs.example.org/", **fields})
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "application/xml", "json"])
def test_the_api_takes_json_only(guarded, content_type):
    headers = {"content-type": content_type} if content_type else {}
    response = guarded.post("/api/v3/jobs", content=b'{"url": "https://docs.example.org/"}', headers=headers)
    assert response.status_code == 415
    assert response.json()["field"] == "content-type"


def test_json_with_a_charset_or_a_json_suffix_is_taken(guarded):
    for content_type in ("application/json; charset=utf-8", "application/vnd.docspasta+json"):
        response = guarded.post("/api/v3/jobs", content=b'{"url": "https://docs.example.org/"}',
                                headers={"content-type": content_type})
        assert response.status_code == 201, response.text


def test_an_oversized_body_is_a_413_before_it_is_read(guarded):
    body = b'{"url": "https://docs.example.org/", "pad": "' + b"x" * 20_000 + b'"}'
    response = guarded.post("/api/v3/jobs", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json() == {"success": False, "error": "the request body is larger than 16384 bytes",
                               "field": "body"}


def test_an_oversized_body_without_a_length_is_a_413_too(guarded):
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b" " * 1000

    response = guarded.post("/api/v3/jobs", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413 and response.json()["field"] == "body"


def test_an_oversized_form_is_a_413(guarded):
    token = form_token(guarded)
    response = guarded.post("/jobs", data={"url": "https://docs.example.org/" + "a" * 20_000, "csrf_token": token})
    assert response.status_code == 413


# --- CSRF on the HTML form posts ----------------------------------------------------------------

def form(**fields: str) -> dict[str, str]:
    return {"url": "https://docs.example.org/", "max_pages": "5", **fields}


def test_a_form_post_without_a_token_is_a_403(base_settings):
    with client_for(base_settings) as client:
        form_token(client)  # the cookie is set; the token is not sent
        response = client.post("/jobs", data=form(), follow_redirects=False)
        assert response.status_code == 403 and response.json()["field"] == "csrf_token"
        assert "missing" in response.json()["error"]


def test_a_form_post_with_a_wrong_token_is_a_403(base_settings):
    with client_for(base_settings) as client:
        token = form_token(client)
        nonce, _, signature = token.partition(".")
        for wrong in (nonce, nonce + ".", f"{nonce}.{'0' * 64}", f"{nonce[::-1]}.{signature}", token + "x"):
            response = client.post("/jobs", data=form(csrf_token=wrong), follow_redirects=False)
            assert response.status_code == 403, wrong
            assert "wrong" in response.json()["error"]


def test_a_token_without_its_cookie_is_a_403(base_settings):
    with client_for(base_settings) as client:
        token = form_token(client)
    with client_for(base_settings) as other:  # another browser: no cookie
        response = other.post("/jobs", data=form(csrf_token=token), follow_redirects=False)
        assert response.status_code == 403


def test_a_planted_cookie_with_a_self_made_signature_is_a_403(base_settings):
    from webapp.guards.csrf import CsrfTokens

    nonce = "A" * 43
    forged = CsrfTokens("not the server's key").token(nonce)
    with client_for(base_settings, secret_key="the server's key") as client:
        client.cookies.set(csrf.COOKIE, nonce)
        response = client.post("/jobs", data=form(csrf_token=forged), follow_redirects=False)
        assert response.status_code == 403


def test_a_token_from_another_process_with_the_same_key_is_taken(base_settings):
    with client_for(base_settings, secret_key="shared") as first:
        token = form_token(first)
        cookie = first.cookies[csrf.COOKIE]
    with client_for(base_settings, secret_key="shared") as second:
        second.cookies.set(csrf.COOKIE, cookie)
        response = second.post("/jobs", data=form(csrf_token=token), follow_redirects=False)
        assert response.status_code == 303


def test_the_cookie_is_httponly_and_strict(base_settings):
    with client_for(base_settings) as client:
        cookie = client.get("/").headers["set-cookie"].lower()
        assert cookie.startswith(csrf.COOKIE + "=") and "httponly" in cookie and "samesite=strict" in cookie


def test_cancel_needs_the_token_too_and_the_header_works(base_settings):
    with client_for(base_settings) as client:
        job_id = client.post("/api/v3/jobs", json={"url": "https://docs.example.org/"}).json()["data"]["jobId"]
        refused = client.post(f"/jobs/{job_id}/cancel", follow_redirects=False)
        assert refused.status_code == 403
        assert client.get(f"/api/v3/jobs/{job_id}").json()["data"]["status"] == "pending"
        token = form_token(client, f"/jobs/{job_id}")
        done = client.post(f"/jobs/{job_id}/cancel", headers={"X-CSRF-Token": token, "HX-Request": "true"})
        assert done.status_code == 200 and 'data-status="cancelled"' in done.text


# --- job limits: rate, per-client and global caps ------------------------------------------------

def create(client: TestClient, **headers: str) -> Any:
    return client.post("/api/v3/jobs", json={"url": "https://docs.example.org/"}, headers=headers)


def test_the_rate_limit_is_a_429_with_retry_after(base_settings):
    with client_for(base_settings, unique_client(), rate_limit=3) as client:
        assert [create(client).status_code for _ in range(3)] == [201, 201, 201]
        refused = create(client)
        assert refused.status_code == 429
        assert 55 <= int(refused.headers["retry-after"]) <= 60
        assert refused.json()["error"].startswith("too many jobs: at most 3 a minute")


def test_bad_input_is_still_a_422_when_rate_limited(base_settings):
    with client_for(base_settings, unique_client(), rate_limit=1) as client:
        assert create(client).status_code == 201
        assert client.post("/api/v3/jobs", json={"url": "file:///"}).status_code == 422
        assert create(client).status_code == 429


def test_active_jobs_are_capped_per_client_and_a_cancel_frees_a_place(base_settings):
    with client_for(base_settings, unique_client(), max_jobs_per_client=2) as client:
        first, _second = (create(client).json()["data"]["jobId"] for _ in range(2))
        refused = create(client)
        assert refused.status_code == 429 and refused.headers["retry-after"] == "30"
        assert "at most 2 pending or running" in refused.json()["error"]
        client.post(f"/api/v3/jobs/{first}/cancel")
        assert create(client).status_code == 201


def test_active_jobs_are_capped_for_everyone_with_a_503(base_settings, database_url):
    active = sql(database_url, "SELECT count(*) AS n FROM crawl_jobs WHERE status IN ('pending', 'running')")[0]["n"]
    with client_for(base_settings, unique_client(), max_active_jobs=active + 1) as client:
        assert create(client).status_code == 201
        refused = create(client)
        assert refused.status_code == 503 and refused.headers["retry-after"] == "30"
        assert refused.json()["error"].startswith("the server is running as many jobs as it takes")


def test_forwarded_for_counts_only_behind_a_trusted_proxy(base_settings, database_url):
    spoofed, real = unique_client(), unique_client()
    with client_for(base_settings, real, rate_limit=1) as client:  # no proxy: the header is the client's own
        assert create(client, **{"X-Forwarded-For": spoofed}).status_code == 201
        assert create(client, **{"X-Forwarded-For": "192.0.2.77"}).status_code == 429
    with client_for(base_settings, "127.0.0.1", rate_limit=1, trust_proxy=1) as proxy:
        one, two = unique_client(), unique_client()
        assert create(proxy, **{"X-Forwarded-For": f"6.6.6.6, {one}"}).status_code == 201
        assert create(proxy, **{"X-Forwarded-For": f"7.7.7.7, {one}"}).status_code == 429, "only the proxy's entry"
        assert create(proxy, **{"X-Forwarded-For": two}).status_code == 201
    stored = {row["client_addr"] for row in sql(database_url, "SELECT client_addr FROM crawl_jobs")}
    assert {real, one, two} <= stored and spoofed not in stored


def test_ipv6_clients_are_counted_by_their_64(base_settings):
    with client_for(base_settings, "2001:db8:1:2::1", rate_limit=1) as client:
        assert create(client).status_code == 201
    with client_for(base_settings, "2001:db8:1:2:ffff::9", rate_limit=1) as neighbour:
        assert create(neighbour).status_code == 429


def test_the_form_shows_the_limit_with_429_and_retry_after(base_settings):
    with client_for(base_settings, unique_client(), rate_limit=1) as client:
        token = form_token(client)
        assert client.post("/jobs", data=form(csrf_token=token), follow_redirects=False).status_code == 303
        refused = client.post("/jobs", data=form(csrf_token=token), headers={"HX-Request": "true"})
        assert refused.status_code == 429 and "retry-after" in refused.headers
        assert '<form id="job-form"' in refused.text
        assert "too many jobs: at most 1 a minute" in refused.text


# --- secrets on the maintenance and metrics endpoints ----------------------------------------------

@pytest.mark.parametrize("secret, sent, status", [
    ("", None, 401), ("", "Bearer ", 401), ("s3cret", None, 401), ("s3cret", "Bearer wrong", 401),
    ("s3cret", "s3cret", 401), ("s3cret", "Bearer s3cret", 200),
])
def test_the_cron_endpoint_needs_its_secret(base_settings, secret, sent, status):
    with client_for(base_settings, cron_secret=secret) as client:
        response = client.post("/api/v3/process", headers={"Authorization": sent} if sent else {})
        assert response.status_code == status
        if status == 401:
            assert response.json()["field"] == "authorization"


@pytest.mark.parametrize("token, sent, status", [
    ("", None, 401), ("", "Bearer ", 401), ("m3trics", None, 401), ("m3trics", "Bearer wrong", 401),
    ("m3trics", "m3trics", 401), ("m3trics", "Bearer m3trics", 200),
])
def test_metrics_need_their_token(base_settings, token, sent, status):
    with client_for(base_settings, metrics_token=token) as client:
        assert client.get("/metrics", headers={"Authorization": sent} if sent else {}).status_code == status


# --- headers and escaping ------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/api/v3/jobs", "/static/app.js", "/jobs/nothing", "/api/v3/nothing"])
def test_every_response_carries_the_security_headers(guarded, path):
    headers = guarded.get(path).headers
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY and "'unsafe-eval'" not in CONTENT_SECURITY_POLICY
    assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"


def test_pages_have_no_inline_script_or_style_and_htmx_is_locked_down(guarded):
    html = guarded.get("/").text
    assert "<style" not in html and "style=" not in html
    assert "<script>" not in html and "<script " not in html.replace('<script src="/static/', "")
    for option in ('"selfRequestsOnly": true', '"allowScriptTags": false', '"allowEval": false',
                   '"includeIndicatorStyles": false'):
        assert option in html


HOSTILE_TITLE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>'


def test_crawled_titles_urls_and_errors_are_escaped_and_script_links_are_dead(guarded, database_url):
    job_id = guarded.post("/api/v3/jobs", json={"url": "https://docs.example.org/"}).json()["data"]["jobId"]
    rows = [("javascript:window.__pwned=1", HOSTILE_TITLE), (" javascript:alert(1)", None),
            ("https://docs.example.org/a\"onmouseover=\"alert(1)", '<div hx-get="/canary" hx-trigger="load">x</div>')]
    for n, (url, title) in enumerate(rows):
        sql(database_url, "INSERT INTO job_urls (job_id, url, normalized_url, status, title, error_message, finished_at)"
            " VALUES ($1, $2, $3, 'failed', $4, $5, now())", uuid.UUID(job_id), url, f"n{n}", title,
            '<svg onload="window.__pwned=1">')
    html = guarded.get(f"/jobs/{job_id}").text
    assert 'href="javascript:' not in html and "href=\" javascript:" not in html
    assert "<img src=x" not in html and "<script>window" not in html and "<svg onload" not in html
    assert "&lt;img src=x onerror=&#34;window.__pwned=1&#34;&gt;" in html
    assert '<div hx-get="/canary"' not in html and '<ol class="log" id="url-log" hx-disable>' in html
    assert 'href="https://docs.example.org/a&#34;onmouseover=&#34;alert(1)"' in html


# --- the settings ------------------------------------------------------------------------------------

def test_the_limits_are_read_from_the_environment():
    from webapp.settings import SettingsError

    defaults = Settings.from_env({})
    assert (defaults.rate_limit, defaults.max_jobs_per_client, defaults.max_active_jobs, defaults.max_body_bytes,
            defaults.trust_proxy, defaults.secret_key) == (10, 5, 200, 65536, 0, "")
    env = {"DOCSPASTA_RATE_LIMIT": "0", "DOCSPASTA_MAX_JOBS_PER_CLIENT": "2", "DOCSPASTA_MAX_ACTIVE_JOBS": "9",
           "DOCSPASTA_MAX_BODY_BYTES": "2048", "DOCSPASTA_TRUST_PROXY": "true", "DOCSPASTA_SECRET_KEY": "k"}
    read = Settings.from_env(env)
    assert (read.rate_limit, read.max_jobs_per_client, read.max_active_jobs, read.max_body_bytes,
            read.trust_proxy, read.secret_key) == (0, 2, 9, 2048, 1, "k")
    assert Settings.from_env({"DOCSPASTA_TRUST_PROXY": "2"}).trust_proxy == 2
    for name, value in (("DOCSPASTA_RATE_LIMIT", "-1"), ("DOCSPASTA_MAX_BODY_BYTES", "10"),
                        ("DOCSPASTA_TRUST_PROXY", "maybe")):
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({name: value})


def test_htmx_errors_are_shown_as_text():
    from webapp.app import STATIC_DIR

    script = (STATIC_DIR / "app.js").read_text()
    assert "htmx:responseError" in script and "note.textContent = message" in script
    # no markup is ever assigned (swap styles named as strings are not assignments)
    assert not re.search(r"\.(innerHTML|outerHTML)\s*\+?=|insertAdjacentHTML|document\.write", script)


def test_a_burst_from_one_client_gets_exactly_its_limit(base_settings, database_url):
    import asyncio

    import asyncpg

    from spiders.jobs.options import CrawlOptions
    from spiders.jobs.store import JobStore
    from webapp.guards.errors import TooManyRequests
    from webapp.guards.ratelimit import create_within_limits
    from webapp.migrate import migrate_url

    client = unique_client()
    limited = dataclasses.replace(base_settings, rate_limit=5)
    options = CrawlOptions.parse(url="https://docs.example.org/")

    async def burst() -> list[str]:
        await migrate_url(database_url)  # when this test runs alone
        pool = await asyncpg.create_pool(database_url, min_size=10, max_size=10)
        try:
            store = JobStore(pool)
            outcomes = await asyncio.gather(*(create_within_limits(store, limited, client, options) for _ in range(20)),
                                            return_exceptions=True)
        finally:
            await pool.close()
        return ["created" if not isinstance(o, Exception) else type(o).__name__ for o in outcomes]

    outcomes = run_async(burst())
    assert outcomes.count("created") == 5 and outcomes.count(TooManyRequests.__name__) == 15, outcomes
