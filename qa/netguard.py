"""Which addresses outbound fetching may connect to: public ones only, unless allowed.

Feeds and their pages come from the internet; an entry link or a redirect pointing at
127.0.0.1, a LAN host or a cloud metadata service must never be fetched (SSRF). The check runs
where the connection is made (`GuardedBackend`, an httpcore network backend): the host is
resolved once, every address it resolves to is checked, and the socket is connected to a checked
address, so every spelling of an address (`2130706433`, `0177.0.0.1`, `[::ffff:127.0.0.1]`,
`localhost`) and DNS rebinding meet the same rule. `QA_FETCH_ALLOW` lists hosts or CIDRs that
may be reached anyway (an intranet feed).
"""

from __future__ import annotations

import ipaddress
import socket
import typing
from collections.abc import Iterable
from dataclasses import dataclass

import anyio
import httpcore

from qa.errors import FetchRefused

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# cloud metadata services (most are also link-local or private; named for a clearer message)
METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "192.0.0.192", "fd00:ec2::254")
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_v4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv6 one (mapped, 6to4, Teredo, NAT64), else None."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def refusal(ip: IPAddress) -> str | None:
    """Why `ip` must not be fetched from ("loopback", "private", ...), or None if it is public."""
    inner = _embedded_v4(ip)
    for address in (ip, inner) if inner is not None else (ip,):
        if address in METADATA:
            return "cloud metadata"
        for kind in ("loopback", "unspecified", "link_local", "multicast", "private", "reserved"):
            if getattr(address, f"is_{kind}"):
                return kind.replace("_", "-")
        if not address.is_global:  # shared (100.64/10), documentation, benchmarking ranges
            return "not a public address"
    return None


@dataclass(frozen=True)
class AddressPolicy:
    """The allow list of QA_FETCH_ALLOW: host names (exact, any case) and networks."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AddressPolicy:
        """`["intranet.example", "10.1.2.0/24", "127.0.0.1"]`; a bad entry is a ValueError."""
        hosts: set[str] = set()
        networks: list[Network] = []
        for raw in entries:
            entry = raw.strip().lower().strip("[]")
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                pass
            if (
                not entry
                or "/" in entry
                or not all(
                    part and len(part) <= 63 and part.replace("-", "").replace("_", "").isalnum()
                    for part in entry.rstrip(".").split(".")
                )
            ):
                raise ValueError(
                    f"QA_FETCH_ALLOW entry {raw!r} is neither a host name nor an address or "
                    "CIDR network (e.g. intranet.example, 10.0.0.0/8, 127.0.0.1)"
                )
            hosts.add(entry.rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def allows_host(self, host: str) -> bool:
        return host.lower().strip("[]").rstrip(".") in self.hosts

    def check(self, host: str, ip: IPAddress) -> None:
        """Raise FetchRefused unless `ip` (what `host` resolved to) may be connected to."""
        mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
        forms = (ip,) if mapped is None else (ip, mapped)
        if self.allows_host(host) or any(a in n for a in forms for n in self.networks):
            return
        if reason := refusal(ip):
            shown = host if host == str(ip) else f"{host} ({ip})"
            raise FetchRefused(
                f"refused to fetch from {shown}: a {reason} address; outbound fetching only "
                "reaches public addresses (QA_FETCH_ALLOW lists hosts or networks to allow)"
            )


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting only to addresses the policy accepts: the host is
    resolved here, each address checked, the socket connected to the checked address (no second
    lookup to rebind), and its peer address checked again."""

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            with anyio.fail_after(timeout):
                found = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, TimeoutError) as exc:
            raise httpcore.ConnectError(f"{host} cannot be resolved: {exc}") from exc
        addresses = list(dict.fromkeys(ipaddress.ip_address(str(f[4][0])) for f in found))
        for ip in addresses:  # every address: a rebinding answer may mix public and private
            self.policy.check(host, ip)
        error: Exception | None = None
        for ip in addresses:
            try:
                stream = await self.inner.connect_tcp(
                    str(ip), port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                error = exc
                continue
            sock = stream.get_extra_info("socket")
            peer = ipaddress.ip_address(sock.getpeername()[0]) if sock is not None else ip
            try:
                self.policy.check(host, peer)
            except FetchRefused:
                await stream.aclose()
                raise
            return stream
        raise error or httpcore.ConnectError(f"{host} resolves to no address")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise FetchRefused(f"refused to fetch from the unix socket {path}")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)
