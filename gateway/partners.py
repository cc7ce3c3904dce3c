"""The partners the gateway may ask, with their adapters, by id and by kind."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping

from adapters import PartnerAdapter, PartnerConfig, create_adapter


class PartnerDirectory:
    """Owns one adapter per configured partner and closes them together."""

    def __init__(self, adapters: Iterable[tuple[PartnerConfig, PartnerAdapter]]) -> None:
        self._configs: dict[str, PartnerConfig] = {}
        self._adapters: dict[str, PartnerAdapter] = {}
        for config, adapter in adapters:
            self._configs[config.partner_id] = config
            self._adapters[config.partner_id] = adapter

    @classmethod
    def from_configs(
        cls,
        configs: Iterable[PartnerConfig],
        adapters: Mapping[str, str | None] | None = None,
        guard: Callable[[PartnerAdapter], PartnerAdapter] | None = None,
    ) -> PartnerDirectory:
        """Builds adapters; `adapters` maps a partner id to a non-default adapter reference;
        `guard` wraps each one (breakers, bulkheads)."""
        chosen = adapters or {}
        wrap = guard or (lambda adapter: adapter)
        return cls((c, wrap(create_adapter(c, chosen.get(c.partner_id)))) for c in configs)

    @property
    def kinds(self) -> dict[str, str]:
        """Partner id → partner kind."""
        return {pid: c.kind for pid, c in self._configs.items()}

    def name(self, partner_id: str) -> str:
        return self._configs[partner_id].name

    def adapters(self) -> dict[str, PartnerAdapter]:
        return dict(self._adapters)

    def of_kind(self, kind: str) -> list[PartnerAdapter]:
        """The adapters of `kind`, in partner id order (so fan-out order is stable)."""
        return [self._adapters[pid] for pid in sorted(self._adapters) if self.kinds[pid] == kind]

    async def aclose(self) -> None:
        await asyncio.gather(*(a.aclose() for a in self._adapters.values()))
