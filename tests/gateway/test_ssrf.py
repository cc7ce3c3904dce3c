"""Partner endpoints in configuration are checked against SSRF when settings load."""

from __future__ import annotations

import ipaddress
import socket
import sys
from collections.abc import Callable, Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from gateway.cli.sandbox_link import link_to_sandbox
from gateway.cli.sandbox_partners import SANDBOX_PARTNER_IDS
from gateway.settings import GatewaySettings, PartnerSettings
from gateway.ssrf import UnsafeEndpointError, check_partner_url, resolve_host
from sandbox import SandboxCluster

PUBLIC = "93.184.215.14"


def resolving_to(*addresses: str) -> Callable[[str], Iterable[str]]:
    def resolve(host: str) -> Iterable[str]:
        return addresses

    return resolve


def no_lookup(host: str) -> Iterable[str]:
    raise AssertionError(f"{host} must not be looked up")


def unresolvable(host: str) -> Iterable[str]:
    raise OSError(-2, "Name or service not known")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8401",
        "http://127.8.9.10/",
        "http://[::1]:8080/",
        "http://0.0.0.0/",
        "http://[::]/",
        "http://10.1.2.3/",
        "http://172.16.0.1/",
        "http://172.31.255.255/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",  # carrier-grade NAT
        "http://169.254.1.1/",  # link-local
        "http://[fe80::1]/",
        "http://[fc00::1]/",  # unique local
        "http://[fd12:3456::1]/",
        "http://[::ffff:10.0.0.1]/",  # IPv4-mapped
        "http://[64:ff9b::a00:1]/",  # NAT64 of 10.0.0.1
        "http://224.0.0.1/",
        "http://2130706433/",  # 127.0.0.1 as one number
        "http://0x7f.1/",
        "http://localhost:8401/",
        "http://api.localhost/",
        "HTTP://LOCALHOST./",
    ],
)
def test_non_public_addresses_are_refused(url: str) -> None:
    with pytest.raises(UnsafeEndpointError):
        check_partner_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://Metadata.Google.Internal./",
        "http://[::ffff:169.254.169.254]/",
    ],
)
def test_cloud_metadata_is_refused_even_for_local_partners(url: str) -> None:
    with pytest.raises(UnsafeEndpointError, match="metadata"):
        check_partner_url(url, local=True, resolve=no_lookup)


# 169.254.169.254 in every form `inet_aton` (and so the resolver) reads.
METADATA_SPELLINGS = [
    "http://2852039166/",  # one number
    "http://0xa9fea9fe/",  # one hex number
    "http://0XA9FEA9FE:80/latest/meta-data/",
    "http://0251.0376.0251.0376/",  # octal parts
    "http://169.254.43518/",  # three parts: the last fills two bytes
    "http://169.16689662/",  # two parts: the last fills three bytes
    "http://0xa9.0xfe.0xa9.0xfe/",  # hex parts
    "http://169.254.169.0376/",  # mixed
    "http://0251.254.169.254./",  # trailing dot
]


@pytest.mark.parametrize("url", METADATA_SPELLINGS)
@pytest.mark.parametrize("local", [False, True], ids=["public", "local"])
def test_cloud_metadata_is_refused_however_the_address_is_spelled(url: str, local: bool) -> None:
    with pytest.raises(UnsafeEndpointError, match=r"metadata address \(169\.254\.169\.254\)"):
        check_partner_url(url, local=local, resolve=no_lookup)


@pytest.mark.parametrize(
    "url",
    [
        "http://0x7f000001/",  # 127.0.0.1
        "http://017700000001/",  # 127.0.0.1 in octal
        "http://10.1/",  # 10.0.0.1
        "http://0300.0250.1.1/",  # 192.168.1.1
        "http://127.0.0.01/",  # a leading zero: octal, still read as an address
    ],
)
def test_non_public_addresses_in_inet_aton_forms_are_refused_without_a_lookup(url: str) -> None:
    with pytest.raises(UnsafeEndpointError, match="address"):
        check_partner_url(url, resolve=no_lookup)


@pytest.mark.parametrize(
    "host",
    [
        "4294967296",  # 2**32: one past the last address
        "1.256.0.0",  # a leading part over 255
        "1.2.3.4.5",  # five parts
        "0x",  # no digits
        "08.1.1.1",  # 8 is no octal digit
        "1..2",
        "١٢٣",  # digits of another script
        "1_000",
    ],
)
def test_what_inet_aton_refuses_is_a_name(host: str) -> None:
    looked_up: list[str] = []

    def resolve(name: str) -> Iterable[str]:
        looked_up.append(name)
        return [PUBLIC]

    check_partner_url(f"http://{host}/", resolve=resolve)
    assert looked_up == [host]


@pytest.mark.skipif(sys.platform != "linux", reason="compares with glibc's inet_aton")
@settings(max_examples=3000, deadline=None)
# No trailing dot: the check drops it, as a resolver does for a name.
@given(
    host=st.text(alphabet="0123456789abcdefx.", min_size=1, max_size=16).filter(
        lambda host: not host.endswith(".")
    )
)
def test_a_host_is_an_address_exactly_when_the_system_reads_it_as_one(host: str) -> None:
    try:
        system = ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        system = None
    looked_up: list[str] = []

    def resolve(name: str) -> Iterable[str]:
        looked_up.append(name)
        return [PUBLIC]

    refused = _refusal(f"http://{host}/", resolve)
    if system is None:
        assert looked_up, "not an address for the system, so a name to look up"
    else:
        # Judged as the address written the usual way would be.
        assert not looked_up
        assert (refused is None) == (_refusal(f"http://{system}/", no_lookup) is None)
        if refused is not None:
            assert f"({system})" in refused


def _refusal(url: str, resolve: Callable[[str], Iterable[str]]) -> str | None:
    try:
        check_partner_url(url, resolve=resolve)
    except UnsafeEndpointError as exc:
        return str(exc)
    return None


def test_a_host_with_spaces_or_control_characters_is_refused() -> None:
    for url in ("http://169.254.169.254 x/", "http://sandbox\x0b/", "http://sandbox\x00/"):
        with pytest.raises(UnsafeEndpointError, match="spaces or control"):
            check_partner_url(url, local=True, resolve=no_lookup)


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "gopher://partner.example/", "ftp://partner.example/", "partner", ""],
)
def test_only_http_and_https_are_allowed_even_for_local_partners(url: str) -> None:
    with pytest.raises(UnsafeEndpointError):
        check_partner_url(url, local=True, resolve=no_lookup)


def test_credentials_in_the_url_are_refused() -> None:
    with pytest.raises(UnsafeEndpointError, match="credentials"):
        check_partner_url(f"https://user:pw@{PUBLIC}/", resolve=no_lookup)


def test_a_malformed_port_is_refused() -> None:
    with pytest.raises(UnsafeEndpointError, match="not a valid URL"):
        check_partner_url(f"https://{PUBLIC}:99999/", resolve=no_lookup)


def test_public_addresses_are_allowed_without_a_lookup() -> None:
    check_partner_url(f"https://{PUBLIC}/v1", resolve=no_lookup)
    check_partner_url("https://[2606:4700::1111]/", resolve=no_lookup)


def test_a_name_is_checked_by_every_address_it_resolves_to() -> None:
    check_partner_url("https://partner.example/", resolve=resolving_to(PUBLIC, "2606:4700::1"))
    with pytest.raises(UnsafeEndpointError, match=r"private address \(10\.0\.0\.7\)"):
        check_partner_url("https://partner.example/", resolve=resolving_to(PUBLIC, "10.0.0.7"))
    with pytest.raises(UnsafeEndpointError, match="metadata"):
        check_partner_url("https://partner.example/", resolve=resolving_to("169.254.169.254"))


def test_a_name_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(UnsafeEndpointError, match="does not resolve"):
        check_partner_url("https://partner.example/", resolve=unresolvable)
    with pytest.raises(UnsafeEndpointError, match="no address"):
        check_partner_url("https://partner.example/", resolve=resolving_to())


def test_local_partners_may_use_loopback_private_and_unresolved_names() -> None:
    for url in (
        "http://127.0.0.1:8401",
        "http://10.0.0.5/",
        "http://[::1]/",
        "http://sandbox:8401",
        "http://partner-sandbox.internal:8080/v1",
        "http://localhost:8401/",
        "http://2130706433:8401/",  # 127.0.0.1 as one number
        "http://0x7f.1/",
        "http://127.1/",
        "http://10.0.0.0x5/",
        "http://0xa9fea9fd/",  # 169.254.169.253: link-local, not metadata
    ):
        check_partner_url(url, local=True, resolve=no_lookup)


def test_the_real_resolver_finds_localhost_on_loopback() -> None:
    addresses = resolve_host("localhost")
    assert addresses
    assert all(a in {"127.0.0.1", "::1"} for a in addresses)


def _partner(**fields: object) -> PartnerSettings:
    base: dict[str, object] = {
        "id": "airline-x",
        "kind": "airline",
        "name": "X",
        "client_secret": "very-secret-value",
    }
    return PartnerSettings.model_validate({**base, **fields})


def test_partner_settings_refuse_a_private_base_url_without_leaking_the_secret() -> None:
    with pytest.raises(ValidationError) as caught:
        _partner(base_url="http://192.168.0.10:8080")

    assert "base_url" in str(caught.value)
    assert "very-secret-value" not in str(caught.value)


def test_partner_settings_check_the_token_url_too() -> None:
    with pytest.raises(ValidationError, match="token_url"):
        _partner(base_url=f"https://{PUBLIC}", token_url="http://169.254.169.254/token")


def test_partner_settings_marked_local_may_use_loopback() -> None:
    partner = _partner(base_url="http://127.0.0.1:8401", local=True)
    assert partner.local


async def test_the_sandbox_partners_are_linked_as_local(sandbox: SandboxCluster) -> None:
    # None by default: `serve --sandbox` and `demo` add the sandbox partners they run.
    assert GatewaySettings().partners == []
    partners = link_to_sandbox(GatewaySettings(), sandbox).partners
    assert [p.id for p in partners] == list(SANDBOX_PARTNER_IDS)
    assert all(p.local and p.base_url.startswith("http://127.0.0.1:") for p in partners)


def test_a_linked_partner_copied_keeps_its_local_mark() -> None:
    linked = _partner(base_url="http://127.0.0.1:8401", local=True)
    copied = PartnerSettings(**{**linked.model_dump(), "base_url": "http://127.0.0.1:9"})
    assert copied.local
