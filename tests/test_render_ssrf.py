"""The browser's way out: the guarded proxy, tested on its own (plain requests,
CONNECT tunnels, refusals, closing). All traffic stays on 127.0.0.0/8.
"""
from __future__ import annotations

import asyncio

import pytest
import pytest_twisted
from scrapy.utils.defer import deferred_from_coro

from spiders.browser_proxy import BLOCKED_HEADER, GuardedProxy, Refused
from tests.sitefixture import FixtureSite, Reply, page


@pytest.fixture
def canary():
    """A server on 127.0.0.2 that no crawl may reach: loopback, but never allow-listed."""
    server = FixtureSite(host="127.0.0.2").start()
    server.add("/", page("Internal admin"))
    yield server
    server.stop()


# -- the proxy on its own --------------------------------------------------------------

async def exchange(proxy: GuardedProxy, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(data)
    answer = await reader.read()  # the proxy closes when done
    writer.close()
    return answer


async def local_only(host: str, port: int) -> list[str]:
    if host in ("127.0.0.1", "docs.test"):
        return ["127.0.0.1"]
    raise Refused(f"{host} is not on the test's list")


def run(coro):
    return deferred_from_coro(coro)


@pytest_twisted.inlineCallbacks
def test_the_proxy_relays_a_plain_request_in_origin_form_and_closes(site):
    site.add("/docs/a.html", Reply(body="hello", headers={"Keep-Alive": "timeout=5"}))

    async def scenario():
        proxy = await GuardedProxy(local_only, lambda *_: None).start()
        try:
            return await exchange(proxy, (
                f"GET http://docs.test:{site.port}/docs/a.html HTTP/1.1\r\nHost: docs.test:{site.port}\r\n"
                "Proxy-Connection: keep-alive\r\nUser-Agent: probe\r\n\r\n").encode())
        finally:
            await proxy.close()

    answer = yield run(scenario())
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and body == b"hello"
    assert b"Connection: close" in head and b"Keep-Alive" not in head
    (hit,) = site.hits
    assert (hit.path, hit.host, hit.user_agent) == ("/docs/a.html", f"docs.test:{site.port}", "probe")


@pytest_twisted.inlineCallbacks
def test_the_proxy_tunnels_a_connect_to_the_checked_address(site):
    site.add_page("/docs/", "Tunnelled")

    async def scenario():
        proxy = await GuardedProxy(local_only, lambda *_: None).start()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            writer.write(f"CONNECT docs.test:{site.port} HTTP/1.1\r\nHost: docs.test:{site.port}\r\n\r\n".encode())
            established = await reader.readuntil(b"\r\n\r\n")
            writer.write(b"GET /docs/ HTTP/1.1\r\nHost: docs.test\r\nConnection: close\r\n\r\n")
            answer = await reader.read()
            writer.close()
            return established, answer
        finally:
            await proxy.close()

    established, answer = yield run(scenario())
    assert established.startswith(b"HTTP/1.1 200")
    assert answer.startswith(b"HTTP/1.1 200") and b"Tunnelled" in answer


@pytest_twisted.inlineCallbacks
def test_the_proxy_refuses_with_the_reason_and_connects_nowhere(canary):
    refused = []

    async def scenario():
        proxy = await GuardedProxy(local_only, lambda *args: refused.append(args)).start()
        try:
            plain = await exchange(proxy, f"GET {canary.url('/')} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            tunnel = await exchange(proxy, f"CONNECT 127.0.0.2:{canary.port} HTTP/1.1\r\n\r\n".encode())
            return plain, tunnel
        finally:
            await proxy.close()

    plain, tunnel = yield run(scenario())
    for answer in (plain, tunnel):
        assert answer.startswith(b"HTTP/1.1 403")
        assert f"{BLOCKED_HEADER}: 127.0.0.2 is not on the test's list".encode() in answer
    assert refused == [(canary.url("/"), "127.0.0.2 is not on the test's list"),
                       (f"127.0.0.2:{canary.port}", "127.0.0.2 is not on the test's list")]
    assert canary.hits == []


@pytest_twisted.inlineCallbacks
def test_closing_the_proxy_ends_open_tunnels(site):
    async def scenario():
        proxy = await GuardedProxy(local_only, lambda *_: None).start()
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(f"CONNECT 127.0.0.1:{site.port} HTTP/1.1\r\n\r\n".encode())
        await reader.readuntil(b"\r\n\r\n")  # an idle tunnel, as a browser leaves them
        open_tasks = len(proxy._tasks)
        await proxy.close()
        rest = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        return open_tasks, rest, proxy._tasks

    open_tasks, rest, left = yield run(scenario())
    assert open_tasks == 1 and rest == b"" and not left
