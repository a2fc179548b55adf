"""Fixtures for the web app's tests: a fresh PostgreSQL database and Redis key prefix per run,
the app under Starlette's TestClient, and a JobRunner on pytest-twisted's reactor.

pytest-twisted owns the reactor here, so crochet is told not to start one, and
everything that waits on a crawl lets the reactor run (`blockon`) while the test
client's calls go through threads.
"""
from __future__ import annotations

import asyncio
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import asyncpg
import crochet
import pytest
import pytest_twisted
import redis
from starlette.testclient import TestClient
from twisted.internet import task, threads  # never `reactor` at import time: pytest-twisted installs it

from spiders.jobs.launcher import CrochetLauncher
from spiders.jobs.runner import JobRunner
from tests.shared_services import ADMIN_URL, REDIS_URL  # the machine's servers, shared
from tests.sitefixture import FixtureSite, Reply, page
from webapp.app import create_app
from webapp.settings import Settings

# DOCSPASTA_HOST_RATE 0: the service's cap per target host (tests/crawl/test_hostrate.py) would pace
# every fixture site crawl here at 20 requests/s.
FAST_CRAWL = {"AUTOTHROTTLE_ENABLED": False, "DOCSPASTA_RETRY_BACKOFF_BASE": 0.05, "LOG_LEVEL": "WARNING",
              "DOCSPASTA_EXTRACT_WORKERS": 0, "DOCSPASTA_HOST_RATE": 0}
D = "/docs/"
# Tests create many jobs from one address, and the crawls-off ones stay pending: the job
# limits are off here, and tested on apps of their own (tests/web/test_security.py).
NO_LIMITS = {"rate_limit": 0, "max_jobs_per_client": 0, "max_active_jobs": 0}


@pytest.fixture(scope="session", autouse=True)
def _crochet_without_its_own_reactor():
    # pytest-twisted runs the reactor; crochet must not start one (no_setup imports
    # the reactor, so it runs here, after pytest-twisted has installed it).
    crochet.no_setup()


def run_async(coro: Any) -> Any:
    """Run a coroutine to completion on a loop of its own, in a thread of its own.

    (The test thread's asyncio loop belongs to the reactor, which may be mid-run in
    another greenlet, so asyncio.run cannot be used here.)
    """
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(coro)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            result["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(60)
    if "error" in result:
        raise result["error"]
    return result.get("value")


def sql(database_url: str, query: str, *args: Any) -> list[dict[str, Any]]:
    async def go() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(database_url)
        try:
            return [dict(row) for row in await conn.fetch(query, *args)]
        finally:
            await conn.close()

    return run_async(go())


def fresh_database() -> Iterator[str]:
    """A new, empty database (created through the admin database), dropped afterwards."""
    name = f"docspasta_test_{uuid.uuid4().hex[:12]}"

    async def admin(statement: str) -> None:
        conn = await asyncpg.connect(ADMIN_URL)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    run_async(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        run_async(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def database_url():
    yield from fresh_database()


@pytest.fixture(scope="session")
def redis_prefix():
    prefix = f"docspasta_test_{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def redis_client():
    client = redis.Redis.from_url(REDIS_URL)
    yield client
    client.close()


@pytest.fixture
def site():
    fixture = FixtureSite().start()
    yield fixture
    fixture.stop()


@pytest.fixture
def settings(database_url, redis_prefix, site):
    return Settings(database_url=database_url, redis_url=REDIS_URL, redis_prefix=redis_prefix,
                    allow_hosts=f"127.0.0.1:{site.port}", crawl_settings=FAST_CRAWL, db_pool_size=4,
                    crawl_db_pool_size=4, **NO_LIMITS)


@pytest.fixture(scope="module")
def api_site():
    """A fixture site whose address jobs may name (nothing crawls it: `api` has crawls off)."""
    fixture = FixtureSite().start()
    yield fixture
    fixture.stop()


@pytest.fixture(scope="module")
def api(database_url, redis_prefix, api_site):
    """The app with crawls off: jobs stay pending (validation, API shape, SSE from hand-made events).

    One per module: starting the app (migrations, pools) is most of a test's time.
    """
    settings = Settings(database_url=database_url, redis_url=REDIS_URL, redis_prefix=redis_prefix,
                        allow_hosts=f"127.0.0.1:{api_site.port}", db_pool_size=4, run_crawls=False, **NO_LIMITS)
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def job_runner(settings):
    runner = JobRunner(settings, owner="tests", claim=False)  # tests submit jobs by hand
    pytest_twisted.blockon(runner.start())
    yield runner
    pytest_twisted.blockon(runner.stop())


@pytest.fixture
def web(settings, job_runner):
    """The app with a real crawl side on pytest-twisted's reactor. Call it through `call`."""
    app = create_app(settings, launcher=CrochetLauncher(job_runner, owns_runner=False))
    with TestClient(app) as client:
        yield client


def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """A Deferred for a blocking call (the test client) run in a thread, so the reactor keeps running.

    Tests run in pytest-twisted's reactor greenlet: a test that waits on a crawl is
    `@pytest_twisted.inlineCallbacks` and yields these.
    """
    return threads.deferToThread(fn, *args, **kwargs)


@pytest_twisted.inlineCallbacks
def wait_until(check: Callable[[], Any], timeout: float = 30.0, interval: float = 0.05) -> Any:
    """A Deferred polling `check` (run in a thread) until it returns something truthy, or failing at the deadline."""
    from twisted.internet import reactor

    deadline = time.monotonic() + timeout
    while True:
        value = yield threads.deferToThread(check)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {check}")
        yield task.deferLater(reactor, interval, lambda: None)


def docs_site(site: FixtureSite, pages: int = 8, delay: float = 0.0) -> str:
    """/docs/ linking to p0..pN; every page is real-looking documentation. Returns the start URL."""
    links = [f"p{n}.html" for n in range(pages)]
    site.add_page(D, "Start", *links, "thin.html")
    for n in range(pages):
        body = (f"<p>Page {n} explains one part of the library in enough words to count as documentation: "
                "what it does, an example, the reasons behind the design, and what to read next.</p>"
                f"<pre><code class='language-python'>import lib\nlib.step({n})</code></pre>")
        site.add(f"{D}p{n}.html", Reply(body=page(f"Page {n}", *links[:3], body=body), delay=delay))
    site.add(f"{D}thin.html", Reply(body=page("Thin", body="<p>short</p>")))
    return site.url(D)


def form_token(client: TestClient, path: str = "/") -> str:
    """The CSRF token of a page's forms (the client keeps the cookie that goes with it)."""
    import re

    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def parse_sse(lines: Any) -> list[dict[str, Any]]:
    """SSE messages from an iterator of text lines: [{id, event, data}] (comments skipped)."""
    messages, current = [], {}
    for line in lines:
        if line == "":
            if "data" in current or "event" in current:
                messages.append(current)
            current = {}
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "data":
            current["data"] = current["data"] + "\n" + value if "data" in current else value
        elif field in ("id", "event", "retry"):
            current[field] = value
    return messages


def read_stream(client: TestClient, url: str, last_event_id: str | None = None) -> list[dict[str, Any]]:
    """Every message of an SSE stream that ends by itself (after the terminal event)."""
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    with client.stream("GET", url, headers=headers) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        return parse_sse(response.iter_lines())


ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@contextmanager
def live_server(redis_prefix: str, log_dir: Path, **env: str) -> Iterator[tuple[FixtureSite, Any]]:
    """A fixture site and `docspasta serve` in a subprocess that may crawl it, with `env` added.

    The server gets a database of its own: at start-up it runs every pending job it finds.
    """
    from tests.web.server import ServerProcess, server_env

    databases = fresh_database()
    database_url = next(databases)
    site = FixtureSite().start()
    server = ServerProcess({**server_env(database_url, REDIS_URL, redis_prefix, f"127.0.0.1:{site.port}"), **env},
                           log_dir / "serve.log")
    try:
        server.wait_ready()
        yield site, server
    finally:
        code = server.stop()
        site.stop()
        databases.close()  # drops it
        # uvicorn shuts down gracefully on SIGTERM, then re-raises it: -SIGTERM is a clean exit.
        assert code in (0, -15), f"the server did not stop cleanly ({code}):\n{server.log()}"
        assert "Traceback" not in server.log(), server.log()


@pytest.fixture(scope="module")
def live(redis_prefix, tmp_path_factory):
    """A fixture site and `docspasta serve` in a subprocess that may crawl it: (site, server)."""
    with live_server(redis_prefix, tmp_path_factory.mktemp("server")) as site_and_server:
        yield site_and_server
