"""The browser's way out: Chromium connects only through the guarded proxy.

The proxy is tested on its own (plain requests, CONNECT tunnels, refusals, closing),
then in real crawls through Debian's Chromium for the holes a check before the
request cannot close: a name that answers differently on its second lookup (DNS
rebinding), a redirect (Playwright's routing never sees the hop) and a WebSocket
(never routed at all); and WebRTC, whose UDP no proxy carries. All traffic stays on 127.0.0.0/8: the attacker's DNS is a
scripted resolver put under the reactor's SSRF guard, as in tests/safety/test_ssrf.py, and
Chromium's own lookups are pointed at the canary with `--host-resolver-rules`, so a
browser that resolved names by itself would reach it.
"""
from __future__ import annotations

import asyncio
import datetime
import socket
import ssl
import threading

import psutil
import pytest
import pytest_twisted
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.project import get_project_settings
from twisted.internet import reactor
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.interfaces import IHostnameResolver
from zope.interface import implementer

from spiders.safety.addresses import AllowList, install_guarded_resolver
from spiders.safety.browser_proxy import BLOCKED_HEADER, GuardedProxy, Refused
from tests.render.test_render_crawl import CLIENT_PAGE, D, needs_chromium, no_browser_left_behind  # noqa: F401
from tests.render.test_render_sandbox import CHROMIUMS
from tests.sitefixture import FixtureSite, Reply, page

PUBLIC = "93.184.216.34"  # passes the check; never connected to: only the first answer of a rebinding name


@implementer(IHostnameResolver)
class ScriptedResolver:
    """An attacker's DNS: each name answers with its scripted answers in turn, then
    keeps giving the last; other names go to the real resolver."""

    def __init__(self, fallback):
        self.fallback = fallback
        self.script: dict[str, list[list[str]]] = {}
        self.answered: list[tuple[str, list[str]]] = []

    def resolveHostName(self, receiver, hostName, portNumber=0, addressTypes=None, transportSemantics="TCP"):  # noqa: N802,N803
        if hostName not in self.script:
            return self.fallback.resolveHostName(receiver, hostName, portNumber, addressTypes, transportSemantics)
        turns = self.script[hostName]
        answers = turns.pop(0) if len(turns) > 1 else turns[0]
        self.answered.append((hostName, answers))
        receiver.resolutionBegan(None)
        for address in answers:
            receiver.addressResolved((IPv6Address if ":" in address else IPv4Address)("TCP", address, portNumber))
        receiver.resolutionComplete()
        return receiver


@pytest.fixture
def dns():
    guard = install_guarded_resolver(reactor, AllowList())
    original = guard.wrapped
    guard.wrapped = ScriptedResolver(original)
    yield guard.wrapped
    guard.wrapped = original


@pytest.fixture
def canary():
    """A server on 127.0.0.2 that no crawl may reach: loopback, but never allow-listed."""
    server = FixtureSite(host="127.0.0.2").start()
    server.add("/", page("Internal admin"))
    yield server
    server.stop()


def chromium_resolving(*rules: str) -> dict:
    """Launch options whose Chromium, if it resolved names itself, would get these answers."""
    options = dict(get_project_settings().getdict("PLAYWRIGHT_LAUNCH_OPTIONS"))
    options["args"] = [*options.get("args", ()), f"--host-resolver-rules={', '.join(rules)}"]
    return options


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


# -- Chromium through the proxy, in real crawls ---------------------------------------------

@needs_chromium
@pytest_twisted.inlineCallbacks
def test_a_name_rebinding_to_an_internal_address_is_refused_at_the_connection(site, crawl, canary, dns):
    rebind = f"http://rebind.test:{canary.port}"
    dns.script["rebind.test"] = [[PUBLIC], ["127.0.0.2"]]  # public for the first lookup, internal after
    site.add(f"{D}app.html", CLIENT_PAGE.format(data=f"{D}app.json").replace(
        "</body>", f"<script>fetch('{rebind}/x')</script><iframe src='{rebind}/frame'></iframe></body>"))
    site.add(f"{D}app.json", Reply(body='{"title": "App", "paragraphs": ["Text of the app page."], "links": []}',
                                   content_type="application/json"))
    result = yield crawl(site.url(f"{D}app.html"), render="always",
                         settings={"PLAYWRIGHT_LAUNCH_OPTIONS": chromium_resolving("MAP rebind.test 127.0.0.2")})
    assert canary.hits == [], "the browser connected to a rebound name's internal address"
    (item,) = result.items
    assert item["status"] == "completed" and item["rendered"] and "Text of the app page" in item["markdown"]
    assert dns.answered[0] == ("rebind.test", [PUBLIC]), "the first lookup was not the check before the request"
    assert result.stats["docspasta/render/blocked_at_connect"] >= 1
    assert result.stats["docspasta/render/blocked"] >= result.stats["docspasta/render/blocked_at_connect"]


@needs_chromium
@pytest_twisted.inlineCallbacks
def test_a_rendered_page_redirected_to_an_internal_address_fails_as_blocked(site, crawl, canary):
    # Playwright's routing sees only the first URL of a redirect chain: the hop goes to the proxy alone.
    site.redirect(f"{D}go.html", canary.url("/"), status=302)
    result = yield crawl(site.url(f"{D}go.html"), render="always")
    assert canary.hits == [], "the browser followed a redirect to an internal address"
    (item,) = result.items
    assert item["status"] == "failed" and item["error"] == "rendering failed: blocked: 127.0.0.2 is a loopback address"
    assert result.stats["docspasta/render/blocked_at_connect"] == 1


def listening() -> set[int]:
    return {c.laddr.port for c in psutil.Process().net_connections("tcp") if c.status == psutil.CONN_LISTEN}


@needs_chromium
@pytest_twisted.inlineCallbacks
def test_a_websocket_to_an_internal_address_is_refused(site, crawl, canary):
    # WebSockets never pass Playwright's routing: only the proxy sees them (as a CONNECT).
    site.add(f"{D}ws.html", page("Live docs", body="<p>Live documentation of the socket protocol, with every "
                                 "message the server sends and the fields each one carries, in full.</p>"
                                 f"<script>new WebSocket('ws://127.0.0.2:{canary.port}/socket')</script>"))
    before = listening()
    result = yield crawl(site.url(f"{D}ws.html"), render="always")
    assert canary.hits == [], "a WebSocket reached an internal address"
    assert result.items[0]["status"] == "completed"
    assert result.stats["docspasta/render/blocked_at_connect"] >= 1
    assert listening() == before, "the browser's proxy still listens after the crawl"


@pytest.fixture
def udp_canary():
    """A UDP port on 127.0.0.2 that records every datagram it gets (a STUN server, never allow-listed)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.2", 0))
    received: list[bytes] = []
    done = threading.Event()

    def receive():
        while True:
            datagram = sock.recv(2048)
            if done.is_set():
                return
            received.append(datagram)

    thread = threading.Thread(target=receive, daemon=True)
    thread.start()
    yield sock.getsockname()[1], received
    done.set()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as waker:  # the receiver's last datagram
        waker.sendto(b"", sock.getsockname())
    thread.join()
    sock.close()


# Gathers WebRTC candidates with a STUN server at the canary, and shows how many it found once it
# found one or gathering ended (a host candidate means a UDP socket of the page's own).
WEBRTC_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Calls</title></head>
<body><div id="root"></div><script>
const pc = new RTCPeerConnection({{iceServers: [{{urls: "stun:127.0.0.2:{port}"}}]}});
const found = [];
function show() {{
  if (!found.length && pc.iceGatheringState !== "complete") return;
  document.getElementById("root").innerHTML = "<p id='gathered'>" + found.length + " candidates gathered. "
    + "The calls guide explains how the client connects, which servers it asks and why. ".repeat(5) + "</p>";
}}
pc.onicecandidate = event => {{ if (event.candidate) found.push(event.candidate.candidate); show(); }};
pc.onicegatheringstatechange = show;
pc.createDataChannel("probe");
pc.createOffer().then(offer => pc.setLocalDescription(offer));
</script></body></html>"""


@pytest.mark.parametrize("chromium, program", CHROMIUMS)
@pytest_twisted.inlineCallbacks
def test_webrtc_sends_no_udp_past_the_proxy(site, crawl, udp_canary, chromium, program):
    port, received = udp_canary
    site.add(f"{D}calls.html", WEBRTC_PAGE.format(port=port))
    result = yield crawl(site.url(f"{D}calls.html"), render="always",
                         settings={"DOCSPASTA_CHROMIUM": chromium, "DOCSPASTA_RENDER_WAIT_SELECTOR": "#gathered"})
    (item,) = result.items
    assert item["status"] == "completed" and item["rendered"]
    assert "0 candidates gathered" in item["markdown"], item["markdown"][:200]
    assert received == [], "the page's WebRTC sent UDP to an internal address"


def self_signed(tmp_path, name: str) -> ssl.SSLContext:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    return context


class TLSSite(FixtureSite):
    def __init__(self, context: ssl.SSLContext) -> None:
        super().__init__()
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)

    def url(self, path: str = "/", host: str | None = None) -> str:
        return f"https://{host or self.host}:{self.port}{path}"


@needs_chromium
@pytest_twisted.inlineCallbacks
def test_https_pages_render_through_a_connect_tunnel(crawl, dns, tmp_path):
    # docs.test is known only to the crawl's resolver: Chromium itself could not even find it.
    site = TLSSite(self_signed(tmp_path, "docs.test")).start()
    try:
        dns.script["docs.test"] = [["127.0.0.1"]]
        client_page = CLIENT_PAGE.format(data=f"{D}data.json")
        site.add(f"{D}app.html", client_page)
        site.add(f"{D}data.json", Reply(body='{"title": "Secure app", "paragraphs": ["Rendered over TLS."], '
                                             '"links": []}', content_type="application/json"))
        launch = chromium_resolving("MAP * ~NOTFOUND")
        launch["args"].append("--ignore-certificate-errors")  # the test's own certificate
        result = yield crawl(site.url(f"{D}app.html", host="docs.test"), render="always",
                             settings={"PLAYWRIGHT_LAUNCH_OPTIONS": launch,
                                       "DOCSPASTA_ALLOW_HOSTS": f"docs.test:{site.port}"})
    finally:
        site.stop()
    (item,) = result.items
    assert item["status"] == "completed" and item["rendered"] and "Rendered over TLS." in item["markdown"]
    assert site.count(f"{D}data.json") == 1
