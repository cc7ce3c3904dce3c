"""Checks partner endpoints from configuration against server-side request forgery (SSRF).

The gateway calls whatever URL a partner is configured with, carrying credentials and
customers' data. A URL pointing into the gateway's own network — loopback, private ranges,
link-local, a cloud metadata service — would turn a configuration mistake (or a tampered
file) into a way to reach internal services. So such URLs are refused when settings load,
unless the partner is explicitly marked `local` (as the sandbox partners are).

Host names are resolved once, at load time, and every address they resolve to must be
public. This does not stop a name that is re-pointed later (DNS rebinding): it keeps honest
mistakes and obvious abuse out of configuration.

Cloud metadata endpoints are refused even for `local` partners: no partner lives there.

A host is read as an address the way the resolver will read it: besides the usual forms,
every IPv4 form `inet_aton` accepts — one to four parts, each decimal, hex (`0x`) or octal
(leading `0`), so `2852039166`, `0xa9fea9fe`, `0251.0376.0251.0376` and `169.254.43518` are
all 169.254.169.254 — and is checked as that address, for `local` partners too.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

__all__ = ["UnsafeEndpointError", "check_partner_url", "resolve_host"]

ALLOWED_SCHEMES = frozenset({"http", "https"})

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str], Iterable[str]]

METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata.goog"})
METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack, …
        ipaddress.ip_address("169.254.170.2"),  # AWS ECS task metadata
        ipaddress.ip_address("fd00:ec2::254"),  # AWS IMDS over IPv6
        ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    }
)

# Ranges `ipaddress` does not flag as private/reserved that still are not the public internet.
_NOT_PUBLIC = (
    ipaddress.ip_network("100.64.0.0/10"),  # carrier-grade NAT (RFC 6598)
    ipaddress.ip_network("fc00::/7"),  # unique local (RFC 4193)
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_DIGITS = {
    8: frozenset("01234567"),
    10: frozenset("0123456789"),
    16: frozenset("0123456789abcdefABCDEF"),
}


class UnsafeEndpointError(ValueError):
    """A partner URL the gateway must not call (unless the partner is marked `local`)."""


def resolve_host(host: str) -> list[str]:
    """Every address `host` resolves to now (A and AAAA)."""
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return sorted({str(info[4][0]) for info in infos})


def check_partner_url(url: str, *, local: bool = False, resolve: Resolver = resolve_host) -> None:
    """Raises `UnsafeEndpointError` unless `url` is an http(s) URL of a public host.

    With `local`, loopback and private addresses are allowed (not cloud metadata, and the
    scheme must still be http or https). `resolve` is the name lookup (tests replace it).
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise UnsafeEndpointError(f"{url!r} is not a valid URL: {exc}") from exc
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise UnsafeEndpointError(f"{url!r}: only http and https URLs are allowed")
    if parts.username is not None or parts.password is not None:
        raise UnsafeEndpointError(f"{url!r}: credentials belong in the settings, not the URL")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise UnsafeEndpointError(f"{url!r} has no host")
    if any(c.isspace() or not c.isprintable() for c in host):
        # `inet_aton` reads "169.254.169.254 x" as the address before the space.
        raise UnsafeEndpointError(f"{url!r}: the host contains spaces or control characters")
    if host in METADATA_HOSTS:
        raise UnsafeEndpointError(f"{url!r} is a cloud metadata service")
    literal = _literal_address(host)
    if literal is not None:
        _check_address(url, literal, local)
        return
    if local:
        return  # a local partner may be any name; only metadata names are refused above
    if host == "localhost" or host.endswith(".localhost"):
        raise UnsafeEndpointError(f"{url!r} is a loopback name; mark the partner `local: true`")
    try:
        addresses = list(resolve(host))
    except OSError as exc:
        raise UnsafeEndpointError(
            f"{url!r}: host {host!r} does not resolve ({exc}); its addresses cannot be checked"
        ) from exc
    if not addresses:
        raise UnsafeEndpointError(f"{url!r}: host {host!r} resolves to no address")
    for address in addresses:
        _check_address(url, ipaddress.ip_address(address.split("%", 1)[0]), local)


def _literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return _inet_aton(host)


def _inet_aton(host: str) -> ipaddress.IPv4Address | None:
    """`host` as `inet_aton` (and so `getaddrinfo`) reads an IPv4 address, if it is one: one
    to four parts, decimal, hex or octal; the last part fills the bytes the others leave."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values = []
    for part in parts:
        value = _aton_part(part)
        if value is None:
            return None
        values.append(value)
    *leading, last = values
    if any(v > 0xFF for v in leading) or last >= 1 << (8 * (4 - len(leading))):
        return None
    number = last
    for i, value in enumerate(leading):
        number |= value << (8 * (3 - i))
    return ipaddress.IPv4Address(number)


def _aton_part(part: str) -> int | None:
    if part[:2] in ("0x", "0X"):
        digits, base = part[2:], 16
    elif len(part) > 1 and part[0] == "0":
        digits, base = part[1:], 8
    else:
        digits, base = part, 10
    # ASCII digits only: `int` would also take other scripts' digits and underscores.
    if not digits or not set(digits) <= _DIGITS[base]:
        return None
    return int(digits, base)


def _check_address(url: str, address: IPAddress, local: bool) -> None:
    address = _embedded_ipv4(address)
    if address in METADATA_ADDRESSES:
        raise UnsafeEndpointError(f"{url!r} points at a cloud metadata address ({address})")
    if local:
        return
    kind = _non_public_kind(address)
    if kind is not None:
        raise UnsafeEndpointError(
            f"{url!r} points at a {kind} address ({address}); "
            "only a partner marked `local: true` may"
        )


def _embedded_ipv4(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one carries (mapped, NAT64, 6to4), which is where it goes."""
    if not isinstance(address, ipaddress.IPv6Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    return address


def _non_public_kind(address: IPAddress) -> str | None:
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if any(address in network for network in _NOT_PUBLIC):
        return "private"
    if address.is_private or address.is_reserved or not address.is_global:
        return "private"
    return None
