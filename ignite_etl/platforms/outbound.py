"""Where a request to an address a merchant typed may go: the one policy every call to a store goes through.

A merchant-entered URL must be https and name a host whose every address is public (no loopback, private,
link-local such as 169.254.169.254, shared, multicast or reserved range, in any spelling: a decimal or octal
IP resolves like any name and is judged by the address it gives). The check is made at the moment of each
connection and the request goes to the very address that was checked, so a name that re-resolves
elsewhere (DNS rebinding) gains nothing; redirects are never followed. `allow_loopback` admits http and
this machine's own addresses, for the sandbox in development and tests, and nothing else.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import httpx

from ignite_etl.platforms.base import InvalidConfiguration
from ignite_etl.settings import OUTBOUND_POLICIES

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class RefusedAddress(InvalidConfiguration):
    """A store URL we will not call; the message says what to enter instead."""


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise RefusedAddress(f"The store's host name {host!r} does not resolve; check the URL.") from None
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True)
class OutboundPolicy:
    allow_loopback: bool = False
    resolve: Callable[[str, int], Sequence[str]] = field(default=_resolve, repr=False, compare=False)

    @classmethod
    def named(cls, name: str) -> OutboundPolicy:
        """`public` (production) or `loopback` (the sandbox on this machine: dev and tests)."""
        if name not in OUTBOUND_POLICIES:
            raise ValueError(f"the outbound policy must be one of {', '.join(OUTBOUND_POLICIES)}, not {name!r}")
        return cls(allow_loopback=name == "loopback")

    def allows(self, address: IPAddress) -> bool:
        if isinstance(address, ipaddress.IPv6Address):
            embedded = address.ipv4_mapped or address.sixtofour or (
                ipaddress.IPv4Address(int(address) & 0xFFFFFFFF) if address in _NAT64 else None)
            if embedded is not None:
                return self.allows(embedded)
        if address.is_loopback:
            return self.allow_loopback
        return address.is_global and not address.is_multicast

    def check_url(self, url: httpx.URL | str) -> httpx.URL:
        """The URL when its form may be called (scheme, host, no credentials); `RefusedAddress` otherwise."""
        try:
            url = httpx.URL(url)
        except httpx.InvalidURL:
            raise RefusedAddress("The store URL is not a valid URL; check it and enter it again.") from None
        if url.scheme != "https" and not (self.allow_loopback and url.scheme == "http"):
            raise RefusedAddress("The store URL must start with https://.")
        if not url.host or url.userinfo:
            raise RefusedAddress("The store URL must name a host, without a user name or password.")
        return url

    def address_for(self, url: httpx.URL) -> str:
        """The address to connect to: the first the host resolves to, once every one is allowed."""
        port = url.port or (443 if url.scheme == "https" else 80)
        addresses = [ipaddress.ip_address(a.split("%")[0]) for a in self.resolve(url.host, port)]
        if not addresses or not all(self.allows(a) for a in addresses):
            raise RefusedAddress("The store URL must point at a public internet address; this one is private, "
                                 "local or reserved.")
        return str(addresses[0])

    def transport(self, **options) -> httpx.BaseTransport:
        """An httpx transport that calls only what this policy allows (`options` go to httpx.HTTPTransport)."""
        return GuardedTransport(self, httpx.HTTPTransport(**options))


PUBLIC_ONLY = OutboundPolicy()
"""Production: https to public addresses only."""
SANDBOX = OutboundPolicy(allow_loopback=True)
"""The simulators on this machine: the benchmarks, the sandbox tools and the tests."""


class GuardedTransport(httpx.BaseTransport):
    """Checks each request's URL and resolved address, then sends it to that address, with the host name
    kept for the Host header and TLS (SNI and certificate check)."""

    def __init__(self, policy: OutboundPolicy, inner: httpx.BaseTransport):
        self._policy, self._inner = policy, inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = self._policy.check_url(request.url)
        address = self._policy.address_for(url)
        request.url = url.copy_with(host=address)
        if url.scheme == "https":
            request.extensions = {**request.extensions, "sni_hostname": url.host}
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()
