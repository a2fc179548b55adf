"""SSRF guard: which addresses a crawl may connect to.

DocsPasta fetches URLs that strangers type in, so every connection is checked
against the address it actually goes to, not the name in the URL:
- `blocked_reason(ip)` classifies one address. IPv6 forms that carry an IPv4
  address (v4-mapped, NAT64, 6to4, Teredo) are unwrapped first; anything that
  is not globally routable is refused (`not is_global`), plus multicast and the
  cloud metadata addresses.
- `GuardedResolver` wraps the reactor's name resolver: every answer of every
  lookup is checked, and a name with any internal answer resolves to nothing.
  Scrapy's HTTP handler connects through `HostnameEndpoint`, which asks this
  resolver even for IP literals, so no connection can bypass it.
- `AllowList` names `host:port` pairs (DOCSPASTA_ALLOW_HOSTS) that may be local.
- `resolve` awaits a Twisted resolver's answers on the asyncio loop, for the
  browser's proxy (spiders/safety/browser_proxy.py), which checks them with
  `answers_refusal` and connects to the checked address itself.
"""
from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Iterable
from urllib.parse import urlsplit

from twisted.internet.interfaces import IHostnameResolver, IResolutionReceiver
from zope.interface import implementer

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_METADATA = {
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack
    ipaddress.ip_address("169.254.170.2"),  # AWS ECS task metadata
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    ipaddress.ip_address("fd00:ec2::254"),  # AWS IPv6
}


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]  # the client's address
    if any(ip in net for net in _NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if int(ip) >> 32 == 0 and int(ip) > 1:  # deprecated IPv4-compatible ::a.b.c.d
        return ipaddress.IPv4Address(int(ip))
    return None


def _kind(ip: IPAddress) -> str | None:
    if ip in _METADATA:
        return "cloud metadata"
    for attribute, name in (
        ("is_loopback", "loopback"), ("is_unspecified", "unspecified"), ("is_link_local", "link-local"),
        ("is_multicast", "multicast"), ("is_private", "private"), ("is_reserved", "reserved"),
    ):
        if getattr(ip, attribute):
            return name
    if isinstance(ip, ipaddress.IPv4Address) and ip in ipaddress.ip_network("100.64.0.0/10"):
        return "shared (CGNAT)"
    if not ip.is_global:
        return "non-global"
    return None


def blocked_reason(address: str | IPAddress) -> str | None:
    """Why a connection to this address is refused, or None if it is public."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0] if isinstance(address, str) else address)
    except ValueError:
        return f"{address!r} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None:
            reason = _kind(inner) or (None if ip.ipv4_mapped or ip in _NAT64[0] else _kind(ip))
            return f"{ip} embeds {inner}, {_article(reason)} {reason} address" if reason else None
    kind = _kind(ip)
    return f"{ip} is {_article(kind)} {kind} address" if kind else None


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def ip_literal(host: str) -> IPAddress | None:
    """The address an IP-literal host means, including the legacy IPv4 spellings
    browsers and libc accept (decimal `2130706433`, hex `0x7f.1`, octal `0177.0.0.1`,
    short `127.1`); None for a DNS name."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if host and all(part and (part.isdigit() or part.lower().startswith("0x")) for part in host.split(".")):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def answers_refusal(host: str, addresses: Iterable[str]) -> str | None:
    """Why a name with these answers is refused: any internal answer refuses it."""
    for address in addresses:
        if reason := blocked_reason(address):
            return f"{host} resolves to an internal address: {reason}"
    return None


class AllowList:
    """`host:port` pairs that may be crawled even though they are local."""

    def __init__(self, entries: Iterable[str] = ()):
        self._pairs: set[tuple[str, int]] = set()
        self.add(entries)

    @classmethod
    def parse(cls, value: str | Iterable[str] | None) -> AllowList:
        if isinstance(value, str):
            value = value.split(",")
        return cls(entry for entry in (value or ()) if entry.strip())

    def add(self, entries: Iterable[str]) -> None:
        for entry in entries:
            host, sep, port = entry.strip().rpartition(":")
            if not sep or not port.isdigit():
                raise ValueError(f"DOCSPASTA_ALLOW_HOSTS: {entry.strip()!r} is not host:port")
            self._pairs.add((host.strip("[]").lower(), int(port)))

    def add_all(self, other: AllowList) -> None:
        """Allow what `other` allows too (a second crawl's entries on a shared resolver)."""
        self._pairs |= other._pairs

    def allows(self, host: str, port: int) -> bool:
        return (host.strip("[]").lower(), port) in self._pairs

    def __bool__(self) -> bool:
        return bool(self._pairs)


@implementer(IResolutionReceiver)
class _CheckedReceiver:
    """Holds a lookup's answers until all are in; passes them on only if all are public."""

    def __init__(self, receiver: IResolutionReceiver, host: str, resolver: GuardedResolver):
        self._receiver, self._host, self._resolver = receiver, host, resolver
        self._addresses: list = []

    def resolutionBegan(self, resolution) -> None:  # noqa: N802 - Twisted's interface
        self._receiver.resolutionBegan(resolution)

    def addressResolved(self, address) -> None:  # noqa: N802
        self._addresses.append(address)

    def resolutionComplete(self) -> None:  # noqa: N802
        reason = answers_refusal(self._host, (address.host for address in self._addresses))
        if reason:
            self._resolver.blocked[self._host.lower()] = reason
        else:
            for address in self._addresses:
                self._receiver.addressResolved(address)
        self._receiver.resolutionComplete()


@implementer(IHostnameResolver)
class GuardedResolver:
    """The reactor's resolver, refusing names with any internal answer."""

    def __init__(self, wrapped: IHostnameResolver, allow: AllowList):
        self.wrapped = wrapped
        self.allow = allow
        self.blocked: dict[str, str] = {}  # host -> why its lookup was refused

    def resolveHostName(self, resolutionReceiver, hostName, portNumber=0,  # noqa: N802,N803
                        addressTypes=None, transportSemantics="TCP"):  # noqa: N803
        receiver = resolutionReceiver
        if not self.allow.allows(hostName, portNumber):
            receiver = _CheckedReceiver(resolutionReceiver, hostName, self)
        return self.wrapped.resolveHostName(receiver, hostName, portNumber, addressTypes, transportSemantics)


def target_refusal(url: str, allow: AllowList) -> str | None:
    """Why a start URL is refused, checked before a crawl is queued (blocking DNS).

    The crawl checks every connection anyway; this gives the person who typed
    the URL an immediate, clear answer instead of a failed job.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "only http and https URLs with a host can be crawled"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if allow.allows(parts.hostname, port):
        return None
    literal = ip_literal(parts.hostname)
    if literal is not None:
        return blocked_reason(literal)
    try:
        answers = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return f"{parts.hostname} does not resolve"
    return answers_refusal(parts.hostname, (sockaddr[0] for *_, sockaddr in answers))


@implementer(IResolutionReceiver)
class _Answers:
    """Collects a lookup's answers into a future."""

    def __init__(self, future: asyncio.Future):
        self.future, self.addresses = future, []

    def resolutionBegan(self, resolution) -> None:  # noqa: N802
        pass

    def addressResolved(self, address) -> None:  # noqa: N802
        self.addresses.append(address.host)

    def resolutionComplete(self) -> None:  # noqa: N802
        if not self.future.done():
            self.future.set_result(self.addresses)


async def resolve(resolver: IHostnameResolver, host: str, port: int) -> list[str]:
    """Every address `resolver` answers for `host` now; none if it does not resolve.

    Awaited on the asyncio reactor's loop, where the resolver delivers its answers.
    """
    answers = asyncio.get_running_loop().create_future()
    resolver.resolveHostName(_Answers(answers), host, port)
    return await answers


def install_guarded_resolver(reactor, allow: AllowList) -> GuardedResolver:
    """Wrap the reactor's resolver once; later calls add their allow-list entries."""
    current = reactor.nameResolver
    if isinstance(current, GuardedResolver):
        current.allow.add_all(allow)
        return current
    guarded = GuardedResolver(current, AllowList())
    guarded.allow.add_all(allow)
    reactor.installNameResolver(guarded)
    return guarded
