"""Sealing the personal data of order components on their way into a store, and opening it on
the way out, so both backends keep it only as ciphertext (`gateway.storage._cipher`).

Records above the store always carry the plain JSON; rows always carry the sealed form.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from gateway.model import ComponentRecord, OrderRecord
from gateway.storage._cipher import DataCipher, DataKeyError, is_sealed


def _context(order_id: str, kind: str) -> str:
    return f"order_components/{order_id}/{kind}"


def sealed(
    cipher: DataCipher | None, order_id: str, components: Sequence[ComponentRecord]
) -> list[ComponentRecord]:
    """`components` with their disclosures sealed; refused without a key ring, so personal
    data never reaches the disk in clear."""
    out = []
    for c in components:
        if c.disclosure is not None:
            if cipher is None:
                raise ValueError(
                    "this store has no data key ring: it cannot keep personal data"
                    " (open it with a DataCipher)"
                )
            c = replace(c, disclosure=cipher.seal(c.disclosure, _context(order_id, c.kind)))
        out.append(c)
    return out


def sealed_order(cipher: DataCipher | None, order: OrderRecord) -> OrderRecord:
    return replace(order, components=tuple(sealed(cipher, order.order_id, order.components)))


def opened(cipher: DataCipher | None, order: OrderRecord) -> OrderRecord:
    """`order` as stored, with its disclosures opened."""
    if all(c.disclosure is None for c in order.components):
        return order
    components = []
    for c in order.components:
        if c.disclosure is not None and is_sealed(c.disclosure):
            if cipher is None:
                raise DataKeyError(f"order {order.order_id} holds sealed data and no key ring")
            c = replace(c, disclosure=cipher.open(c.disclosure, _context(order.order_id, c.kind)))
        components.append(c)
    return replace(order, components=tuple(components))
