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
    insufficient,
    legacy_part,
    propose_by_amount,
    validate_adjusted_allocation,
)
from invoice_svc.matching.scan import MonthBucket, ScanStart, month_after, scan_start

__all__ = [
    "INSUFFICIENT_CODE",
    "LEGACY_LABEL",
    "Allocation",
    "AllocationError",
    "AllocationLine",
    "CandidateRecord",
    "CandidatesNotSortedError",
    "MonthBucket",
    "ScanStart",
    "TaxRateGroup",
    "group_by_tax_rate",
    "insufficient",
    "legacy_part",
    "month_after",
    "propose_by_amount",
    "scan_start",
    "validate_adjusted_allocation",
]
