"""The MCP server, driven through the official SDK's own client: over streamable HTTP against a real
`docspasta serve`, and over stdio against `docspasta mcp`, both reading a library of real crawls."""
from __future__ import annotations

import os
import sys
import time
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from spiders.extract.tokens import count_tokens
from tests.sitefixture import FixtureSite
from tests.web.conftest import REDIS_URL, D, fresh_database
from tests.web.server import ROOT, ServerProcess, server_env
from tests.web.test_library import library_site

TOKEN = "mcp-test-token"
READ_TOOLS = {"list_sites", "search_docs", "get_outline", "get_page", "get_section", "job_status"}


def run(coro: Any, timeout: float = 150) -> Any:
    """`run_async` with room for a crawl: the coroutine on a loop of its own, in a thread of its own."""
    import asyncio
    import threading

    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(asyncio.wait_for(coro, timeout))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            result["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout + 10)
    if "error" in result:
        raise result["error"]
    return result["value"]


def wait_completed(server: ServerProcess, job_id: str, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = httpx.get(f"{server.url}/api/v3/jobs/{job_id}", timeout=5).json()["data"]
        if data["status"] in ("completed", "failed", "cancelled"):
            assert data["status"] == "completed", data
            return data
        time.sleep(0.1)  # a crawl in another process: its status is all there is to watch
    raise AssertionError(f"job {job_id} did not complete in {timeout}s")


@pytest.fixture(scope="module")
def library(redis_prefix, tmp_path_factory):
    """`docspasta serve` (MCP token set, crawl_site off as by default) with one crawled site: (server, env, site)."""
    databases = fresh_database()
    database_url = next(databases)
    site = FixtureSite().start()
    env = {**server_env(database_url, REDIS_URL, redis_prefix, f"127.0.0.1:{site.port}"), "DOCSPASTA_MCP_TOKEN": TOKEN,
           "DOCSPASTA_DB_POOL_SIZE": "4", "DOCSPASTA_CRAWL_DB_POOL_SIZE": "4"}  # a shared PostgreSQL
    server = ServerProcess(env, tmp_path_factory.mktemp("mcp") / "serve.log")
    try:
        server.wait_ready()
        created = httpx.post(f"{server.url}/api/v3/jobs", json={"url": library_site(site), "maxPages": 10}, timeout=10)
        job_id = created.json()["data"]["jobId"]
        wait_completed(server, job_id)
        deadline = time.monotonic() + 30
        while httpx.get(f"{server.url}/api/v3/jobs/{job_id}/outline", timeout=5).status_code != 200:
            assert time.monotonic() < deadline, "the completed job never reached the library"
            time.sleep(0.05)  # indexed right after completing, in the server process
        yield server, env, site, job_id
    finally:
        code = server.stop()
        site.stop()
        databases.close()
        assert code in (0, -15), server.log()
        assert "Traceback" not in server.log(), server.log()


def http_client(server: ServerProcess, token: str | None = TOKEN) -> Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return Client(streamable_http_client(f"{server.url}/mcp", http_client=httpx2.AsyncClient(headers=headers, timeout=30)))


def stdio_client(env: dict[str, str], *args: str) -> Client:
    return Client(StdioServerParameters(command=sys.executable, args=["-m", "webapp.cli", "mcp", *args],
                                        env={**os.environ, **env}, cwd=str(ROOT)))


def text(result: Any) -> str:
    return "\n".join(part.text for part in result.content if getattr(part, "type", "") == "text")


async def tool_names(client: Client) -> set[str]:
    return {tool.name for tool in (await client.list_tools()).tools}


def test_every_read_tool_answers_over_http_and_crawl_site_is_off_by_default(library):
    server, _env, site, job_id = library
    config = site.url(D + "config.html")

    async def go() -> dict[str, Any]:
        async with http_client(server) as client:
            names = await tool_names(client)
            results = {"names": names}
            for name, args in [
                ("list_sites", {}),
                ("search_docs", {"query": "request timeout seconds"}),
                ("get_outline", {"job": job_id}),
                ("get_page", {"url": config}),
                ("get_page", {"url": config, "max_tokens": 150}),
                ("get_section", {"url": config, "heading": "Timeouts"}),
                ("job_status", {"job": job_id}),
                ("crawl_site", {"url": site.url(D)}),
            ]:
                results[(name, tuple(args.items()))] = await client.call_tool(name, args)
            return results

    results = run(go())
    assert results.pop("names") == READ_TOOLS, "read-only: crawl_site is not offered over HTTP unless configured"
    by_name = {key[0] + ("/cut" if dict(key[1]).get("max_tokens") else ""): value for key, value in results.items()}
    sites = text(by_name["list_sites"])
    assert f"127.0.0.1:{site.port}/docs: job {job_id}, 4 pages" in sites
    found = text(by_name["search_docs"])
    assert found.startswith("1. Configuration > Environment variables > Timeouts\n")
    assert f"url: {config}" in found and "«timeout" in found.lower()
    outline = text(by_name["get_outline"])
    assert "- Configuration (" in outline and "- Timeouts (" in outline and "tokens)" in outline
    page = text(by_name["get_page"])
    assert page.startswith("# Configuration\n\nSource: " + config) and "Paragraph 39" in page
    cut = text(by_name["get_page/cut"])
    assert count_tokens(cut) <= 150 and "[truncated: " in cut and "left out" in cut and "Paragraph 39" not in cut
    section = text(by_name["get_section"])
    assert section.startswith("Configuration > Environment variables > Timeouts") and "LIB_TIMEOUT" in section
    status = text(by_name["job_status"])
    assert status.startswith(f"job {job_id}: completed") and "In the library as site" in status
    assert by_name["crawl_site"].is_error and "crawl_site" in text(by_name["crawl_site"])


def test_the_http_endpoint_needs_the_bearer_token(library):
    server = library[0]
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        response = httpx.post(f"{server.url}/mcp", headers={**headers, "Accept": "application/json, text/event-stream"},
                              json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, timeout=5)
        assert response.status_code == 401, headers
        assert response.json()["success"] is False and "DOCSPASTA_MCP_TOKEN" in response.json()["error"]

    async def with_wrong_token() -> None:
        async with http_client(server, "wrong") as client:
            await client.list_tools()

    with pytest.raises(Exception):  # noqa: B017 - the SDK's client reports a refused connection its own way
        run(with_wrong_token())


def test_the_http_endpoint_is_refused_while_no_token_is_set(api):
    response = api.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                        headers={"Authorization": "Bearer ", "Accept": "application/json, text/event-stream"})
    assert response.status_code == 401 and "is not set on the server" in response.json()["error"]


def test_tools_refuse_bad_arguments_with_a_message_the_agent_can_act_on(library):
    server, _env, site, job_id = library
    config = site.url(D + "config.html")
    cases = [
        ("search_docs", {"query": "  "}, "query"),
        ("search_docs", {"query": "timeout", "limit": 0}, "limit"),
        ("search_docs", {"query": "timeout", "limit": "many"}, "limit"),
        ("search_docs", {"query": "timeout", "site": "no.such.site"}, "no.such.site"),
        ("get_page", {"url": config, "max_tokens": 5}, "max_tokens"),
        ("get_page", {"url": site.url("/nowhere.html")}, "no site in the library has a page"),
        ("get_section", {"url": config, "heading": "Nonexistent"}, "its headings: "),
        ("get_outline", {}, "site or job"),
        ("get_outline", {"job": "not-an-id"}, "not a job id"),
        ("job_status", {"job": "00000000-0000-0000-0000-000000000000"}, "no job has the id"),
        ("search_docs", {}, "query"),
    ]

    async def go() -> list[Any]:
        async with http_client(server) as client:
            return [await client.call_tool(name, args) for name, args, _ in cases]

    for (name, args, expected), result in zip(cases, run(go()), strict=True):
        assert result.is_error, (name, args, text(result))
        assert expected in text(result), (name, args, text(result))


def test_over_stdio_an_agent_crawls_a_site_follows_the_job_and_reads_it(library):
    server, env, site, _job_id = library
    site.add_page("/guide/", "Guide to widgets", "widgets.html")
    site.add_page("/guide/widgets.html", "Widgets", body="<p>Widgets are assembled from sprockets and gears in a "
                  "factory that paints every widget blue before it ships to the warehouse for sorting.</p>")

    async def go() -> tuple[set[str], Any, list[str], Any, list[Any]]:
        async with stdio_client(env) as client:
            names = await tool_names(client)
            bad = [await client.call_tool("crawl_site", {"url": "http://10.1.2.3/docs/"}),
                   await client.call_tool("crawl_site", {"url": site.url("/guide/"), "max_pages": 0}),
                   await client.call_tool("crawl_site", {"url": "ftp://example.org/"})]
            started = await client.call_tool("crawl_site", {"url": site.url("/guide/"), "max_pages": 5})
            if started.is_error:
                return names, started, [], None, bad
            job = text(started).split()[1].rstrip(":")
            statuses = []
            deadline = time.monotonic() + 90
            while "In the library" not in (statuses or [""])[-1] and time.monotonic() < deadline:
                statuses.append(text(await client.call_tool("job_status", {"job": job})))
                await anyio.sleep(0.2)  # the crawl runs in the serve process: its status is all there is to watch
            found = await client.call_tool("search_docs", {"query": "sprockets", "site": f"127.0.0.1:{site.port}/guide"})
            return names, started, statuses, found, bad

    names, started, statuses, found, bad = run(go())
    assert names == READ_TOOLS | {"crawl_site"}, "stdio offers crawl_site unless --read-only"
    assert not started.is_error and "Ask job_status" in text(started), text(started)
    assert "In the library as site '127.0.0.1:%d/guide'" % site.port in statuses[-1], statuses
    assert "1. Widgets" in text(found) and "«sprockets»" in text(found)
    assert all(result.is_error for result in bad)
    assert "url" in text(bad[0]) and ("internal" in text(bad[0]) or "address" in text(bad[0])), text(bad[0])
    assert "max_pages" in text(bad[1]) and "url" in text(bad[2])


def test_stdio_in_read_only_mode_offers_no_crawl(library):
    _server, env, _site, job_id = library

    async def go() -> tuple[set[str], str]:
        async with stdio_client(env, "--read-only") as client:
            return await tool_names(client), text(await client.call_tool("get_outline", {"job": job_id}))

    names, outline = run(go())
    assert names == READ_TOOLS
    assert "- Timeouts (" in outline
