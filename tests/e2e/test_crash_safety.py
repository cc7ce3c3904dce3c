"""SIGKILL the gateway at saga step boundaries; after a restart every order ends final, with no
orphan hold and no double booking at any partner. The sandbox partners live in the test
process, so they keep running (and remember) while the gateway dies."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
import yaml

from gateway.cli.sandbox_link import link_to_sandbox
from gateway.client.channels import open_channel
from gateway.client.credentials import PartnerTokens
from gateway.settings import GatewaySettings, load_settings
from partnergateway.v1 import order_pb2
from sandbox import DEFAULT_PARTNERS, SandboxCluster, start_sandbox
from tests.e2e.booking_support import book, compose_solution, final_order
from tests.processes import free_port, gateway_process
from tests.support import secret_of

CRASH_POINTS = [
    "before_commit:hold:started:flight",  # before the intent to hold is recorded
    "after_commit:hold:started:flight",  # before the partner call
    "after_call:hold:flight",  # the partner held it; the gateway never recorded that
    "after_commit:hold:succeeded:flight",  # after the commit of the hold
    "after_commit:confirm:started:car",  # before the confirmation call
    "after_call:confirm:car",  # confirmed at the partner, not recorded
    "after_commit:confirm:succeeded:car",  # after the commit of the confirmation
]


def write_config(path: Path, cluster: SandboxCluster, state_dir: Path) -> Path:
    """The gateway's settings; its token issuer keeps one address and one signing key across
    restarts, so a token obtained before a crash is still good after it."""
    settings = link_to_sandbox(GatewaySettings(state_dir=state_dir), cluster)
    partner_ids = [p.id for p in settings.partners]
    document = {
        "server": {"address": "127.0.0.1:0", "grace_period_s": 1},
        "state_dir": str(state_dir),
        "booking": {"step_timeout_s": 2, "lease_ttl_s": 1, "recovery_interval_s": 0.3},
        "partners": [p.model_dump(mode="json") for p in settings.partners],
        "auth": {
            "issuer": {
                "address": f"127.0.0.1:{free_port()}",
                "signing_key_file": str(state_dir / "issuer-key.json"),
                "clients": [
                    {"client_id": pid, "client_secret": secret_of(pid)} for pid in partner_ids
                ],
            }
        },
    }
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.mark.slow
@pytest.mark.parametrize("crash_at", CRASH_POINTS)
async def test_sigkill_at_a_step_boundary_leaves_nothing_half_booked(
    crash_at: str, tmp_path: Path
) -> None:
    async with await start_sandbox(DEFAULT_PARTNERS) as cluster:
        config = write_config(tmp_path / "gateway.yaml", cluster, tmp_path / "state")
        tokens = PartnerTokens.from_settings(load_settings(config))

        async with gateway_process(config, crash_at) as (doomed, target):
            async with open_channel(target, tokens=tokens) as channel:
                solution = await compose_solution(channel)
                with pytest.raises(grpc.aio.AioRpcError):
                    await book(channel, solution, "crash-1")  # the gateway dies under it
            assert await doomed.wait() == -9

        async with (
            gateway_process(config) as (_, target),
            open_channel(target, tokens=tokens) as channel,
        ):
            # Replaying the request (with the token from before) finds the order the dead
            # gateway stored.
            order = await book(channel, solution, "crash-1")
            order = await final_order(channel, order.order_id, solution.entry.partner_id)

        assert order.state == order_pb2.ORDER_STATE_CONFIRMED, order
        booked = {c.partner_id: c for c in order.components}
        for partner_id, running in cluster.partners.items():
            holds = list(running.state.bookings.holds.values())
            assert all(h.status != "held" for h in holds), f"orphan hold at {partner_id}"
            confirmed = [h for h in holds if h.status == "confirmed"]
            expected = 1 if partner_id in booked else 0
            assert len(confirmed) == expected, f"{partner_id}: {len(confirmed)} bookings"
            if partner_id in booked:
                assert confirmed[0].reference == booked[partner_id].reference
