"""Pointing the gateway's partner settings at running sandbox partners.

Only the command line imports the sandbox: the gateway core never knows partners are fake.
"""

from __future__ import annotations

from gateway.cli.credentials import sandbox_clients
from gateway.settings import GatewaySettings, PartnerSettings
from sandbox import SandboxCluster


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
