"""Matching an invoice request to invoiceable money (pure functions, no I/O)."""

from invoice_svc.matching.by_amount import (
    INSUFFICIENT_CODE,
    LEGACY_LABEL,
    Allocation,
    AllocationError,
    AllocationLine,
    CandidateRecord,
    CandidatesNotSortedError,
    TaxRateGroup,
    group_by_tax_rate,
    propose_by_amount,
    validate_adjusted_allocation,
)

__all__ = [
    "INSUFFICIENT_CODE",
    "LEGACY_LABEL",
    "Allocation",
    "AllocationError",
    "AllocationLine",
    "CandidateRecord",
    "CandidatesNotSortedError",
    "TaxRateGroup",
    "group_by_tax_rate",
    "propose_by_amount",
    "validate_adjusted_allocation",
]
