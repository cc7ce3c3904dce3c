"""A client of the gateway, for partner systems' code, the command line, the tests and the
benchmarks: channels (`channels`), partners' access tokens (`credentials`), the requests of a
customer's journey (`journeys`), and `GatewayClient` over them.

Which partner a call acts for is always explicit — the partner its request names, else the
client's (`GatewayClient.for_partner`) — and importing this package loads no CLI framework.
"""

from gateway.client._client import GatewayClient
from gateway.client._errors import ClientError, IssuerUnreachable, NoActingPartner
from gateway.client.channels import ClientTls, open_channel
from gateway.client.credentials import PartnerTokens, bearer_interceptors, sandbox_secret

__all__ = [
    "ClientError",
    "ClientTls",
    "GatewayClient",
    "IssuerUnreachable",
    "NoActingPartner",
    "PartnerTokens",
    "bearer_interceptors",
    "open_channel",
    "sandbox_secret",
]
