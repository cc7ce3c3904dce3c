"""Sandbox partners: real HTTP services speaking the reference partner protocol.

`start_sandbox()` runs `DEFAULT_PARTNERS` (a telecom, two airlines, an insurer and two
car-rental firms) on loopback inside the current event loop; every test, the demo and the
benchmarks call partners through it. See docs/partner-protocol.md for the wire contract.
"""

from sandbox._app import create_partner_app
from sandbox._catalogue import Catalogue
from sandbox._defaults import DEFAULT_PARTNERS
from sandbox._errors import CatalogueError
from sandbox._knobs import OPERATIONS, FailRule, Knobs
from sandbox._ledger import Ledger, LedgerEntry
from sandbox._registry import CatalogueFactory, register_catalogue, registered_kinds
from sandbox._runner import RunningPartner, SandboxCluster, start_sandbox
from sandbox._spec import GATEWAY_CLIENT_ID, Brand, PartnerSpec
from sandbox._state import PartnerState
from sandbox._tokens import TokenAuthority

__all__ = [
    "DEFAULT_PARTNERS",
    "GATEWAY_CLIENT_ID",
    "OPERATIONS",
    "Brand",
    "Catalogue",
    "CatalogueError",
    "CatalogueFactory",
    "FailRule",
    "Knobs",
    "Ledger",
    "LedgerEntry",
    "PartnerSpec",
    "PartnerState",
    "RunningPartner",
    "SandboxCluster",
    "TokenAuthority",
    "create_partner_app",
    "register_catalogue",
    "registered_kinds",
    "start_sandbox",
]
