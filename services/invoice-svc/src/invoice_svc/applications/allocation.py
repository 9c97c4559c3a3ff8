"""Spreading an amount drawn from a monthly bill over the bill's records (pure).

Invoicing a bill moves the balances of its records. A whole bill takes every record's full
balance. Part of a bill (matching by amount in the monthly-bill view, INV-REQ-13c) is drawn
from its records with the same rule as records themselves: newest first, refunds met before
the cover netted in full (the source's 2020-09 bill of 0.04 is exactly -0.81 + 0.85). A negative
part of a negative bill is the mirror image of that.
"""

from __future__ import annotations

from collections.abc import Sequence

from invoice_svc.matching import CandidateRecord, propose_by_amount


def spread(amount_fen: int, records: Sequence[CandidateRecord]) -> list[tuple[str, int]]:
    """(record_id, amount) lines adding up to `amount_fen`, each between 0 and its record's
    balance. `records` are one bill's records, newest first; `amount_fen` lies between 0 and
    the sum of their balances (either sign). Raises AllocationError otherwise."""
    total = sum(record.balance_fen for record in records)
    if amount_fen == total:
        return [(rec.record_id, rec.balance_fen) for rec in records if rec.balance_fen]
    if amount_fen == 0:
        return []
    if amount_fen > 0:
        proposal = propose_by_amount(amount_fen, 0, records, invoiceable_total_fen=total)
        return list(proposal.lines)
    mirrored = [CandidateRecord(rec.record_id, rec.occurred_at, -rec.balance_fen, rec.tax_rate)
                for rec in records]
    proposal = propose_by_amount(-amount_fen, 0, mirrored, invoiceable_total_fen=-total)
    return [(record_id, -amount) for record_id, amount in proposal.lines]
