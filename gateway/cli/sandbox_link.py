"""Pointing the gateway's partner settings at running sandbox partners.

Only the command line imports the sandbox: the gateway core never knows partners are fake.
"""

from __future__ import annotations

from collections.abc import Iterable

from gateway.client import sandbox_secret
from gateway.settings import GatewaySettings, IssuerClientSettings, PartnerSettings
from sandbox import SandboxCluster


def sandbox_clients(partner_ids: Iterable[str]) -> list[IssuerClientSettings]:
    """The embedded issuer's clients when the sandbox runs and none are configured (`demo`,
    `serve --sandbox`): one per partner, with the well-known secret clients also assume."""
    return [
        IssuerClientSettings(client_id=pid, client_secret=sandbox_secret(pid))
        for pid in partner_ids
    ]


def link_to_sandbox(settings: GatewaySettings, cluster: SandboxCluster) -> GatewaySettings:
    """The settings with every sandbox partner's address and credentials filled in.

    Configured partners the sandbox does not run are kept as they are.
    """
    linked = {
        pid: PartnerSettings(
            id=pid,
            kind=running.spec.kind,
            name=running.spec.name,
            base_url=running.base_url,
            token_url=running.token_url,
            client_id="partner-gateway",
            client_secret=running.spec.client_secrets["partner-gateway"],
            local=True,  # sandbox partners live on loopback: exempt from the SSRF checks
        )
        for pid, running in cluster.partners.items()
    }
    others = [p for p in settings.partners if p.id not in linked]
    update: dict[str, object] = {"partners": [*linked.values(), *others]}
    issuer = settings.auth.issuer
    if issuer.enabled and not issuer.clients:  # the sandbox partners become its clients
        clients = sandbox_clients(linked)
        auth = settings.auth.model_copy(
            update={"issuer": issuer.model_copy(update={"clients": clients})}
        )
        update["auth"] = auth
    return settings.model_copy(update=update)
