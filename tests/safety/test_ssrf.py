"""The SSRF guard, shown without ever connecting to a non-loopback address.

The classifier and the resolver hook are tested directly; end-to-end crawls send
traffic only to 127.0.0.0/8, with a canary server on 127.0.0.2 that is never
allow-listed and must see zero requests.
"""
from __future__ import annotations

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.interfaces import IHostnameResolver, IResolutionReceiver
from zope.interface import implementer

from spiders.safety.addresses import (
    AllowList,
    GuardedResolver,
    blocked_reason,
    install_guarded_resolver,
    ip_literal,
    target_refusal,
)
from tests.sitefixture import FixtureSite, Reply, page

BLOCKED = [
    ("127.0.0.1", "loopback"), ("127.255.255.254", "loopback"), ("10.0.0.1", "private"),
    ("172.16.5.4", "private"), ("172.31.255.255", "private"), ("192.168.0.1", "private"),
    ("169.254.169.254", "cloud metadata"), ("169.254.170.2", "cloud metadata"),
    ("100.100.100.200", "cloud metadata"), ("169.254.1.1", "link-local"), ("100.64.0.1", "CGNAT"),
    ("224.0.0.251", "multicast"), ("0.0.0.0", "unspecified"), ("240.0.0.1", "address"),
    ("255.255.255.255", "address"), ("192.0.2.1", "address"), ("198.18.0.1", "address"),
    ("::1", "loopback"), ("::", "unspecified"), ("fe80::1", "link-local"), ("fc00::1", "private"),
    ("fd00:ec2::254", "cloud metadata"), ("ff02::1", "multicast"),
    ("::ffff:127.0.0.1", "embeds 127.0.0.1"), ("::ffff:169.254.169.254", "embeds 169.254.169.254"),
    ("::ffff:10.0.0.1", "embeds 10.0.0.1"), ("64:ff9b::7f00:1", "embeds 127.0.0.1"),
    ("64:ff9b::a9fe:a9fe", "embeds 169.254.169.254"), ("2002:7f00:1::", "embeds 127.0.0.1"),
    ("2002:c0a8:101::1", "embeds 192.168.1.1"), ("2001:0:4136:e378:8000:63bf:80ff:fffe", "address"),
    ("::127.0.0.1", "embeds 127.0.0.1"), ("fe80::1%eth0", "link-local"),
]


@pytest.mark.parametrize(("address", "kind"), BLOCKED)
def test_internal_addresses_are_refused(address, kind):
    reason = blocked_reason(address)
    assert reason is not None and kind in reason


@pytest.mark.parametrize("address", ["8.8.8.8", "151.101.1.69", "2606:4700::1111", "::ffff:8.8.8.8",
                                     "64:ff9b::808:808", "2a00:1450:4001:80b::200e"])
def test_public_addresses_pass(address):
    assert blocked_reason(address) is None


@pytest.mark.parametrize(("host", "address"), [
    ("2130706433", "127.0.0.1"), ("0x7f000001", "127.0.0.1"), ("0x7f.1", "127.0.0.1"),
    ("0177.0.0.1", "127.0.0.1"), ("017700000001", "127.0.0.1"), ("127.1", "127.0.0.1"),
    ("10.1", "10.0.0.1"), ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"), ("[::1]", "::1"),
    ("[::ffff:7f00:1]", "::ffff:7f00:1"), ("docs.example.org", None), ("1.2.3.4.example", None),
])
def test_ip_literals_in_every_spelling_are_normalised(host, address):
    found = ip_literal(host)
    assert (str(found) if found else None) == address


@pytest.mark.parametrize("url", [
    "http://2130706433/", "http://0x7f.1/", "http://0177.0.0.1/", "http://127.1/", "http://[::1]/",
    "http://[::ffff:169.254.169.254]/latest/meta-data/", "http://169.254.169.254/", "http://0.0.0.0:80/",
    "file:///etc/passwd", "gopher://127.0.0.1/", "http://localhost/",
])
def test_start_urls_to_internal_targets_are_refused_before_a_crawl(url):
    assert target_refusal(url, AllowList()) is not None


def test_the_allow_list_names_exact_host_and_port():
    allow = AllowList.parse("127.0.0.1:8000, localhost:9000")
    assert target_refusal("http://127.0.0.1:8000/docs/", allow) is None
    assert target_refusal("http://127.0.0.1:8001/docs/", allow) is not None
    assert target_refusal("http://localhost:9000/", allow) is None
    with pytest.raises(ValueError, match="not host:port"):
        AllowList.parse("127.0.0.1")


@implementer(IHostnameResolver)
class StaticResolver:
    """Answers names from a table, like a DNS server controlled by an attacker would."""

    def __init__(self, table, fallback):
        self.table, self.fallback = table, fallback

    def resolveHostName(self, receiver, hostName, portNumber=0, addressTypes=None, transportSemantics="TCP"):  # noqa: N802,N803
        if hostName not in self.table:
            return self.fallback.resolveHostName(receiver, hostName, portNumber, addressTypes, transportSemantics)
        receiver.resolutionBegan(None)
        for address in self.table[hostName]:
            kind = IPv6Address if ":" in address else IPv4Address
            receiver.addressResolved(kind("TCP", address, portNumber))
        receiver.resolutionComplete()
        return receiver


@implementer(IResolutionReceiver)
class Collect:
    def __init__(self):
        self.addresses, self.done = [], False

    def resolutionBegan(self, resolution):  # noqa: N802
        pass

    def addressResolved(self, address):  # noqa: N802
        self.addresses.append(address.host)

    def resolutionComplete(self):  # noqa: N802
        self.done = True


@pytest.mark.parametrize(("answers", "passed"), [
    (["93.184.215.14"], ["93.184.215.14"]),
    (["10.0.0.5"], []),
    (["93.184.215.14", "10.0.0.5"], []),  # every answer is checked, not only the first
    (["2606:4700::1", "::ffff:169.254.169.254"], []),
    (["169.254.169.254"], []),
])
def test_the_resolver_hook_passes_only_all_public_answers(answers, passed):
    guard = GuardedResolver(StaticResolver({"evil.test": answers}, None), AllowList())
    receiver = Collect()
    guard.resolveHostName(receiver, "evil.test", 80)
    assert receiver.done and receiver.addresses == passed
    assert ("evil.test" in guard.blocked) == (not passed)


@pytest.fixture
def canary():
    """A server on 127.0.0.2 that no crawl may reach."""
    server = FixtureSite(host="127.0.0.2").start()
    server.add("/", page("Internal admin"))
    server.add("/sitemap.xml", Reply(body="<urlset/>", content_type="application/xml"))
    yield server
    server.stop()
    assert server.hits == [], "a request reached the canary"


@pytest.fixture
def attacker_dns(canary):
    guard = install_guarded_resolver(reactor, AllowList())
    original = guard.wrapped
    guard.wrapped = StaticResolver({"canary.test": ["127.0.0.2"], "mixed.test": ["127.0.0.1", "127.0.0.2"]},
                                   original)
    yield
    guard.wrapped = original


@pytest_twisted.inlineCallbacks
def test_redirect_and_meta_refresh_hops_to_internal_hosts_are_blocked(site, crawl, canary, attacker_dns):
    site.add_page("/docs/", "Start", "go.html", "refresh.html", "dns.html")
    site.redirect("/docs/go.html", canary.url("/"))
    site.add("/docs/refresh.html", f'<html><head><meta http-equiv="refresh" content="0; url={canary.url("/")}"></head><body></body></html>')
    site.redirect("/docs/dns.html", f"http://canary.test:{canary.port}/")
    result = yield crawl(site.url("/docs/"))
    for name in ("go.html", "refresh.html", "dns.html"):
        item = result.item(site.url(f"/docs/{name}"))
        assert item["status"] == "failed" and item["error"].startswith("blocked:"), item
    assert "127.0.0.2 is a loopback address" in result.item(site.url("/docs/go.html"))["error"]
    assert "canary.test resolves to an internal address" in result.item(site.url("/docs/dns.html"))["error"]


@pytest_twisted.inlineCallbacks
def test_sitemaps_and_start_urls_on_internal_hosts_are_blocked(site, crawl, canary, attacker_dns):
    site.add("/robots.txt", Reply(body=f"Sitemap: {canary.url('/sitemap.xml')}\n", content_type="text/plain"))
    site.add_page("/docs/", "Start")
    result = yield crawl(site.url("/docs/"))
    assert [item["title"] for item in result.completed] == ["Start"]
    for start in (f"http://2130706434:{canary.port}/", f"http://[::ffff:127.0.0.2]:{canary.port}/",
                  f"http://mixed.test:{canary.port}/", f"http://0x7f.0.0.2:{canary.port}/"):
        result = yield crawl(start, settings={"DOCSPASTA_ALLOW_HOSTS": f"127.0.0.1:{site.port}"})
        (item,) = result.items
        assert item["status"] == "failed" and item["error"].startswith("blocked:"), (start, item)
