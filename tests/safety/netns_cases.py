"""Internal targets submitted end to end, run only inside a network namespace of its own.

`tests/safety/test_netns.py` runs this file under `unshare --net --mount`: the namespace has a
loopback interface and nothing else, and /etc/hosts is replaced (in that mount namespace
only) by names pointing at internal addresses, the way an attacker's DNS would answer.
A guard that failed would try to connect to 10.x, 169.254.169.254 or fd00::1 and reach
nothing ("network is unreachable"), so every assertion below asks for the guard's own
reason, "blocked: ...", never merely a failure. The server is `docspasta serve` with its
embedded PostgreSQL and Redis (Unix sockets, so they work in the namespace).
"""
from __future__ import annotations

import errno
import os
import socket
import time

import httpx
import pytest

from tests.sitefixture import FixtureSite, page
from tests.web.test_embedded import EmbeddedServer, wait_for_job

if os.environ.get("DOCSPASTA_NETNS") != "1" or [name for _, name in socket.if_nameindex()] != ["lo"]:
    # Never outside the namespace: these cases name addresses that must not be reachable.
    pytest.exit("tests/safety/netns_cases.py runs only inside tests/safety/test_netns.py's network namespace", returncode=3)

@pytest.fixture(scope="module")
def canary():
    """A server on 127.0.0.2 (loopback, never allow-listed) that no request may reach."""
    server = FixtureSite(host="127.0.0.2").start()
    server.add("/", page("Internal admin"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def site():
    fixture = FixtureSite().start()
    yield fixture
    fixture.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory, site):
    running = EmbeddedServer(tmp_path_factory.mktemp("data"), f"127.0.0.1:{site.port}",
                             tmp_path_factory.mktemp("log") / "serve.log").wait_ready()
    yield running
    assert running.stop() == 0, running.log()


def test_the_namespace_reaches_nothing_but_loopback():
    with socket.socket() as probe:
        assert probe.connect_ex(("10.1.2.3", 80)) == errno.ENETUNREACH  # no route: nothing leaves
    assert socket.gethostbyname("internal.test") == "10.1.2.3"


@pytest.mark.parametrize(("url", "reason"), [
    ("http://10.0.0.1/", "10.0.0.1 is a private address"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a cloud metadata address"),
    ("http://100.64.0.1/", "100.64.0.1 is a shared (CGNAT) address"),
    ("http://192.168.1.1:8080/admin", "192.168.1.1 is a private address"),
    ("http://[fd00::1]/", "fd00::1 is a private address"),
    ("http://[::ffff:10.0.0.1]/", "embeds 10.0.0.1"),
    ("http://0xa000001/", "10.0.0.1 is a private address"),
    ("http://167772161/", "10.0.0.1 is a private address"),
    ("http://012.0.0.1/", "10.0.0.1 is a private address"),
    ("http://10.1/", "10.0.0.1 is a private address"),
    ("http://internal.test/docs/", "internal.test resolves to an internal address: 10.1.2.3 is a private address"),
    ("http://metadata.test/latest/", "metadata.test resolves to an internal address: 169.254.169.254"),
    ("http://ula.test/", "ula.test resolves to an internal address: fd00::1"),
    ("http://canary.test/", "canary.test resolves to an internal address: 127.0.0.2 is a loopback address"),
])
def test_internal_start_urls_are_refused_at_submission(server, canary, url, reason):
    response = httpx.post(server.url + "/api/v3/jobs", json={"url": url}, timeout=10)
    assert response.status_code == 422, (url, response.text)
    body = response.json()
    assert body["field"] == "url" and body["error"].startswith("url: blocked: ") and reason in body["error"], body


def test_hops_to_internal_targets_are_blocked_with_their_reason(server, site, canary):
    hops = {
        "literal.html": "http://10.0.0.1/", "metadata.html": "http://169.254.169.254/latest/meta-data/",
        "name.html": "http://internal.test/", "ula.html": "http://ula.test/",
        "mapped.html": "http://[::ffff:169.254.169.254]/", "canary.html": canary.url("/"),
        "canary-name.html": f"http://canary.test:{canary.port}/",
    }
    site.add_page("/docs/", "Start", *hops, "refresh.html")
    for name, target in hops.items():
        site.redirect(f"/docs/{name}", target)
    site.add("/docs/refresh.html", '<html><head><meta http-equiv="refresh" content="0; url=http://metadata.test/">'
                                   "</head><body></body></html>")
    created = httpx.post(server.url + "/api/v3/jobs", json={"url": site.url("/docs/"), "maxPages": 20}, timeout=10)
    assert created.status_code == 201, created.text
    job_id = created.json()["data"]["jobId"]
    job = wait_for_job(server.url, job_id)
    assert job["status"] == "completed", job
    pages = {p["url"]: p for p in httpx.get(f"{server.url}/api/v3/jobs/{job_id}/export.json", timeout=10).json()["pages"]}
    for name in (*hops, "refresh.html"):
        item = pages[site.url(f"/docs/{name}")]
        assert item["status"] == "failed" and item["error"].startswith("blocked:"), item
    assert pages[site.url("/docs/")]["status"] == "completed"
    time.sleep(0.2)
    assert canary.hits == [], "a request reached the canary"
