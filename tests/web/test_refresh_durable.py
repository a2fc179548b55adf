"""A refresh killed with kill -9 mid-crawl and resumed by a restarted server: nothing lost,
nothing counted twice. `docspasta serve` in a subprocess on a database of its own."""
from __future__ import annotations

import uuid

import httpx

from tests.refresh.site import VersionedSite
from tests.sitefixture import FixtureSite
from tests.web.conftest import REDIS_URL, fresh_database, sql
from tests.web.server import ServerProcess, server_env
from tests.web.test_durable import FAST, assert_every_page_once, job_row, wait_for
from tests.web.test_refresh import start_page
from tests.web.test_server import create

D = "/r/docs/"
PAGES = 30


def code_page(versioned: VersionedSite, n: int, call: str) -> None:
    versioned.put_page(f"{D}p{n}.html", f"Refresh page {n}",
                       body=f"<p>Refresh page {n} explains one part of the library in enough words to count as"
                            f" documentation.</p><pre><code class='language-python'>import lib\nlib.{call}</code></pre>")


def test_a_refresh_killed_with_kill_9_resumes_and_reports_each_page_once(redis_prefix, tmp_path):
    databases = fresh_database()
    database_url = next(databases)
    site = FixtureSite().start()
    started: list = []
    try:
        versioned = VersionedSite(site, delay=0.05)
        links = [f"p{n}.html" for n in range(PAGES)]
        versioned.put(D, start_page(links))
        for n in range(PAGES):
            code_page(versioned, n, f"step({n})")
        env = {**server_env(database_url, REDIS_URL, redis_prefix, f"127.0.0.1:{site.port}"), **FAST}
        server = ServerProcess(env, tmp_path / "serve-1.log").wait_ready()
        started.append(server)
        first_id = create(server, site.url(D), maxPages=50, maxDepth=1)
        wait_for(lambda: job_row(database_url, first_id)["status"] == "completed", what="the first crawl")

        # Between the crawls: three pages change, one is removed, one is new; the rest answer 304 slowly.
        for n in (3, 11, 27):
            code_page(versioned, n, f"step({n}, fast=True)")
        versioned.remove(f"{D}p20.html")
        versioned.put(D, start_page([*links, "new.html"]))
        versioned.put_page(f"{D}new.html", "Brand new page",
                           body="<p>A page the first crawl never saw, with words enough to count as documentation:"
                                " what it does, an example, and the reasons behind the design.</p>")
        versioned.delay = 0.2
        response = httpx.post(f"{server.url}/api/v3/jobs/{first_id}/refresh", timeout=10)
        assert response.status_code == 201, response.text
        refresh_id = response.json()["data"]["jobId"]
        wait_for(lambda: job_row(database_url, refresh_id)["processed_urls"] >= 8, what="the refresh under way")
        server.process.kill()  # kill -9: no shutdown code runs
        server.process.wait(10)
        assert job_row(database_url, refresh_id)["status"] == "running"

        versioned.delay = 0.0
        restarted = ServerProcess(env, tmp_path / "serve-2.log").wait_ready()
        started.append(restarted)
        wait_for(lambda: job_row(database_url, refresh_id)["status"] == "completed", what="the resumed refresh")
        assert_every_page_once(database_url, refresh_id, PAGES + 1)  # the start page, 29 of the 30, the new one
        changes = httpx.get(f"{restarted.url}/api/v3/jobs/{refresh_id}/changes", timeout=10).json()["data"]
        assert changes["counts"] == {"new": 1, "changed": 3, "removed": 1, "unchanged": PAGES - 3, "unchecked": 0}
        every = [entry["url"] for kind in ("new", "changed", "removed", "unchanged") for entry in changes[kind]]
        assert len(every) == len(set(every)) == PAGES + 2, "a page reported twice, or missed"
        assert sorted(entry["url"].rsplit("/", 1)[-1] for entry in changes["changed"]) == \
               ["p11.html", "p27.html", "p3.html"]
        # Unchanged pages reference the first crawl's rows: nothing of theirs stored twice, before or after the kill.
        stored = sql(database_url, "SELECT count(*) FILTER (WHERE markdown_from IS NOT NULL) AS shared,"
                     " count(*) FILTER (WHERE markdown <> '') AS own FROM job_urls"
                     " WHERE job_id = $1 AND status = 'completed'", uuid.UUID(refresh_id))[0]
        assert (stored["shared"], stored["own"]) == (PAGES - 3, 4)  # the unchanged; the changed and the new
        document = httpx.get(f"{restarted.url}/api/v3/jobs/{refresh_id}/document.md", timeout=10).text
        assert all(f"lib.step({n}" in document for n in range(PAGES) if n != 20)
        assert "Brand new page" in document, document[-2000:]
        assert "lib.step(20)" not in document, document[document.index("lib.step(20)") - 2000:][:2500]
    finally:
        for process in started:
            process.stop()
        site.stop()
        databases.close()
