"""Invoicing "by amount" (按输入金额开票, INV-REQ-13c): propose, check adjustments, group per rate.

Rules, from the provider's guide (seeds/000_db1c864f6d00eb07.txt):

* "匹配规则:若有旧版剩余可开票金额,优先匹配旧版剩余可开票金额,
  其它消费明细/月账单按时间由近及远进行匹配。"
  The legacy remaining amount is taken first (as much of it as the total needs), then records
  (or monthly bills: the same rule serves both) from newest to oldest.
* The worked example (total 402.99, legacy 402.95; records newest first -0.81, 0.85, -0.85,
  0.85, each row "可开票余额 / 本次开票金额"): legacy 402.95/402.95, then -0.81 allocated in
  full, 0.85/0.85, -0.85/0.00, 0.85/0.00. 402.95 - 0.81 + 0.85 = 402.99, so a negative balance
  met *before* the total is covered is netted in full and the positive records after it cover
  the difference. Once the total is covered matching stops: the later refund of -0.85 is left at
  0.00, not netted. The monthly-bill view of the same account agrees: 402.95 + 0.04 (the
  2020-09 bill, which is exactly -0.81 + 0.85 - 0.85 + 0.85) = 402.99.
* "最终勾选的消费明细/月账单的本次开票金额之和需等于本次开票总额,否则无法单击 确定 。"
  The customer may adjust; the chosen amounts must add up exactly to the total.
* "旧版剩余可开票金额不支持按照对应的 消费记录开票,只能按照金额开票。" Legacy money has no record
  and no tax rate of its own; the caller supplies the rate it is invoiced at.
* "当开具发票的产品税率有多个时,系统会自动生成多张发票。" One invoice per tax rate.

Consequences for the implementation:

* Scanning stops as soon as the total is covered, so a negative balance older than the
  covering record is never looked at (the source leaves it at 0.00). ``candidates`` must
  therefore arrive sorted newest first (``ORDER BY occurred_at DESC, record_id DESC``), with
  zero balances optional; the iterable is consumed lazily, so a server-side cursor or a paged
  generator fetches only as many rows as the proposal needs. Out-of-order input raises
  CandidatesNotSortedError instead of producing a wrong proposal.
* Because stopping early never sees older refunds, "the greedy scan covered the total" does not
  prove the account can invoice that much: refunds of already-invoiced money may sit further
  back. Pass ``invoiceable_total_fen`` (the account's 可开票金额 = legacy remaining + sum of all
  record balances, kept as a running aggregate by the ledger) to refuse such totals in O(1).
  Without it only the scanned prefix is checked, as the source's dialog does.
* Proposing is O(number of records scanned) with no sorting or lookups.

Nothing here touches a database; callers lock the balance rows they spend (DESIGN.md §3).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from kit.money import format_yuan, split_tax_inclusive

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
    "insufficient",
    "legacy_part",
    "propose_by_amount",
    "validate_adjusted_allocation",
]

INSUFFICIENT_CODE = "FailedOperation.InvoiceableAmountInsufficient"
AMOUNT_CODE = "InvalidParameterValue.Amount"
OUT_OF_RANGE_CODE = "InvalidParameterValue.AllocationOutOfRange"
SUM_MISMATCH_CODE = "InvalidParameterValue.AllocationSumMismatch"
DUPLICATE_CODE = "InvalidParameterValue.DuplicateRecord"
UNKNOWN_RECORD_CODE = "ResourceNotFound.InvoiceableRecord"
NEGATIVE_INVOICE_CODE = "FailedOperation.NegativeInvoiceAmount"
LEGACY_LABEL = "旧版剩余可开票金额"


class AllocationError(ValueError):
    """A by-amount request was refused; ``record_id`` names the offending record if any."""

    def __init__(self, code: str, message: str, *, record_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.record_id = record_id


class CandidatesNotSortedError(ValueError):
    """The caller broke the newest-first contract (a programming error, not a customer one)."""


@dataclass(frozen=True, slots=True)
class CandidateRecord:
    """An invoiceable consumption record or monthly bill with its current balance."""

    record_id: str
    occurred_at: datetime
    balance_fen: int  # negative after a refund of already-invoiced money
    tax_rate: Decimal


class AllocationLine(NamedTuple):
    record_id: str
    amount_fen: int


@dataclass(frozen=True, slots=True)
class Allocation:
    """How a total is drawn: first from the legacy remaining amount, then from records.

    The record part is kept as two parallel tuples rather than one object per line: a proposal
    over 100k records then allocates no per-line objects (which is what made it slow), and
    the shape is what a bulk ``UPDATE ... FROM unnest($1::text[], $2::bigint[])`` wants.
    ``lines`` gives the same data as ``(record_id, amount_fen)`` pairs.
    """

    legacy_fen: int
    record_ids: tuple[str, ...] = ()
    amounts_fen: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if len(self.record_ids) != len(self.amounts_fen):
            raise ValueError("record_ids and amounts_fen must have the same length")

    @classmethod
    def from_lines(cls, legacy_fen: int, lines: Iterable[tuple[str, int]]) -> Allocation:
        pairs = [tuple(pair) for pair in lines]
        if any(len(pair) != 2 for pair in pairs):
            raise ValueError("each line must be a (record_id, amount_fen) pair")
        return cls(legacy_fen, tuple(p[0] for p in pairs), tuple(p[1] for p in pairs))

    @property
    def lines(self) -> tuple[AllocationLine, ...]:
        return tuple(map(AllocationLine._make, zip(self.record_ids, self.amounts_fen, strict=True)))

    @property
    def total_fen(self) -> int:
        return self.legacy_fen + sum(self.amounts_fen)


@dataclass(frozen=True, slots=True)
class TaxRateGroup:
    """One invoice's worth of an allocation: everything at one tax rate, priced as one line."""

    tax_rate: Decimal
    amount_fen: int  # tax-inclusive (价税合计)
    net_fen: int
    tax_fen: int
    legacy_fen: int
    record_ids: tuple[str, ...]
    amounts_fen: tuple[int, ...]

    @property
    def lines(self) -> tuple[AllocationLine, ...]:
        return tuple(map(AllocationLine._make, zip(self.record_ids, self.amounts_fen, strict=True)))


def _yuan(fen: int) -> str:
    return format_yuan(fen) + " 元"


def _check_total(total_fen: int) -> None:
    if type(total_fen) is not int or total_fen <= 0:
        raise AllocationError(AMOUNT_CODE, f"开票总额必须大于 0（分，整数）：{total_fen!r}")


def _check_legacy(legacy_available_fen: int) -> None:
    if type(legacy_available_fen) is not int or legacy_available_fen < 0:
        raise ValueError(f"legacy_available_fen must be an int >= 0, got {legacy_available_fen!r}")


def _check_invoiceable(total_fen: int, invoiceable_total_fen: int | None) -> None:
    if invoiceable_total_fen is not None and total_fen > invoiceable_total_fen:
        raise AllocationError(
            INSUFFICIENT_CODE,
            f"可开票金额不足：本次开票总额 {_yuan(total_fen)}，"
            f"当前可开票金额 {_yuan(invoiceable_total_fen)}",
        )


def legacy_part(total_fen: int, legacy_available_fen: int,
                invoiceable_total_fen: int | None = None) -> int:
    """The legacy part of a proposal for ``total_fen`` (as much of the legacy amount as the
    total needs), after the checks ``propose_by_amount`` makes first; what is left of the
    total is drawn from records."""
    _check_total(total_fen)
    _check_legacy(legacy_available_fen)
    _check_invoiceable(total_fen, invoiceable_total_fen)
    return min(legacy_available_fen, total_fen)


def insufficient(total_fen: int, matched_fen: int) -> AllocationError:
    """The refusal when the money found (legacy and records) stays below the total."""
    return AllocationError(
        INSUFFICIENT_CODE,
        f"可开票金额不足：本次开票总额 {_yuan(total_fen)}，可匹配金额 {_yuan(matched_fen)}")


def propose_by_amount(
    total_fen: int,
    legacy_available_fen: int,
    candidates: Iterable[CandidateRecord],
    *,
    invoiceable_total_fen: int | None = None,
) -> Allocation:
    """Propose how to draw ``total_fen``: legacy first, then records newest to oldest.

    ``candidates`` must be sorted newest first (see the module docstring). A negative balance
    met before the total is covered is netted in full; a positive one is taken up to what is
    still missing, so only the last record taken can be partial. Records with zero balance
    and records after the covering one are not in the result. Raises AllocationError with
    ``FailedOperation.InvoiceableAmountInsufficient`` when the money does not reach the total.
    """
    legacy = legacy_part(total_fen, legacy_available_fen, invoiceable_total_fen)
    remaining = total_fen - legacy
    record_ids: list[str] = []
    amounts: list[int] = []
    if remaining:
        # Hot loop (100k records): locals only, no per-record allocations.
        add_id, add_amount = record_ids.append, amounts.append
        previous: datetime | None = None
        for record in candidates:
            occurred_at = record.occurred_at
            if previous is not None and occurred_at > previous:
                raise CandidatesNotSortedError(
                    f"candidates must be sorted newest first: {record.record_id} "
                    f"({occurred_at.isoformat()}) comes after {previous.isoformat()}"
                )
            previous = occurred_at
            balance = record.balance_fen
            if balance < 0:  # a refund met before the cover: netted in full
                add_id(record.record_id)
                add_amount(balance)
                remaining -= balance
            elif balance > 0:
                add_id(record.record_id)
                if balance >= remaining:  # this record covers the rest, maybe partially
                    add_amount(remaining)
                    remaining = 0
                    break
                add_amount(balance)
                remaining -= balance
    if remaining:
        raise insufficient(total_fen, total_fen - remaining)
    return Allocation(legacy, tuple(record_ids), tuple(amounts))


def validate_adjusted_allocation(
    total_fen: int,
    legacy_available_fen: int,
    allocation: Allocation,
    balances: Mapping[str, int],
    *,
    invoiceable_total_fen: int | None = None,
) -> Allocation:
    """Check an allocation the customer adjusted; return it without zero lines.

    ``balances`` holds the current (locked) balance of every record the customer may draw on.
    Each amount must lie between 0 and the record's balance (between the balance and 0 when
    the balance is negative), the legacy part between 0 and ``legacy_available_fen``, no
    record may appear twice, and everything must add up exactly to ``total_fen``.
    """
    _check_total(total_fen)
    _check_legacy(legacy_available_fen)
    legacy = allocation.legacy_fen
    if type(legacy) is not int:
        raise AllocationError(AMOUNT_CODE, f"{LEGACY_LABEL}的本次开票金额无效：{legacy!r}")
    if not 0 <= legacy <= legacy_available_fen:
        raise AllocationError(
            OUT_OF_RANGE_CODE,
            f"{LEGACY_LABEL}的本次开票金额 {format_yuan(legacy)} 超出范围 "
            f"0.00 ~ {format_yuan(legacy_available_fen)}",
        )
    seen: set[str] = set()
    kept_ids: list[str] = []
    kept_amounts: list[int] = []
    total = legacy
    for record_id, amount in zip(allocation.record_ids, allocation.amounts_fen, strict=True):
        if record_id in seen:
            raise AllocationError(
                DUPLICATE_CODE, f"消费记录 {record_id} 重复出现", record_id=record_id
            )
        seen.add(record_id)
        balance = balances.get(record_id)
        if balance is None:
            raise AllocationError(
                UNKNOWN_RECORD_CODE,
                f"消费记录 {record_id} 不存在或不可开票",
                record_id=record_id,
            )
        if type(amount) is not int:
            raise AllocationError(
                AMOUNT_CODE,
                f"消费记录 {record_id} 的本次开票金额无效：{amount!r}",
                record_id=record_id,
            )
        low, high = (balance, 0) if balance < 0 else (0, balance)
        if not low <= amount <= high:
            raise AllocationError(
                OUT_OF_RANGE_CODE,
                f"消费记录 {record_id} 的本次开票金额 {format_yuan(amount)} 超出范围 "
                f"{format_yuan(low)} ~ {format_yuan(high)}",
                record_id=record_id,
            )
        total += amount
        if amount:
            kept_ids.append(record_id)
            kept_amounts.append(amount)
    if total != total_fen:
        raise AllocationError(
            SUM_MISMATCH_CODE,
            f"所选本次开票金额之和 {_yuan(total)} 不等于本次开票总额 {_yuan(total_fen)}",
        )
    _check_invoiceable(total_fen, invoiceable_total_fen)
    return Allocation(legacy, tuple(kept_ids), tuple(kept_amounts))


def group_by_tax_rate(
    allocation: Allocation,
    tax_rates: Mapping[str, Decimal],
    *,
    legacy_tax_rate: Decimal | None = None,
) -> list[TaxRateGroup]:
    """Split an allocation into one group per tax rate, each priced as one tax-inclusive line.

    Net and tax come from ``kit.money.split_tax_inclusive`` on the group's total. Groups are
    ordered by rate. A group whose records net to zero is returned with amount 0 (its balances
    still move; no invoice is issued for it). A group that nets below zero cannot be a blue
    invoice and is refused with ``FailedOperation.NegativeInvoiceAmount``; the customer can
    adjust the allocation (e.g. leave that refund at 0).
    """
    sums: dict[Decimal, int] = {}
    legacy_parts: dict[Decimal, int] = {}
    ids: dict[Decimal, list[str]] = {}
    amounts: dict[Decimal, list[int]] = {}
    if allocation.legacy_fen:
        if legacy_tax_rate is None:
            raise ValueError("legacy_tax_rate is required when the allocation uses legacy money")
        sums[legacy_tax_rate] = legacy_parts[legacy_tax_rate] = allocation.legacy_fen
        ids[legacy_tax_rate], amounts[legacy_tax_rate] = [], []
    for record_id, amount in zip(allocation.record_ids, allocation.amounts_fen, strict=True):
        try:
            rate = tax_rates[record_id]
        except KeyError:
            raise ValueError(f"no tax rate given for record {record_id}") from None
        if rate in sums:
            sums[rate] += amount
        else:
            sums[rate] = amount
            ids[rate], amounts[rate] = [], []
        ids[rate].append(record_id)
        amounts[rate].append(amount)
    groups: list[TaxRateGroup] = []
    for rate in sorted(sums):
        amount = sums[rate]
        if amount < 0:
            raise AllocationError(
                NEGATIVE_INVOICE_CODE,
                f"税率 {rate} 的本次开票金额合计为 {_yuan(amount)}，不能开具负数蓝字发票，"
                "请调整该税率下退款记录的本次开票金额",
            )
        net, tax = split_tax_inclusive(amount, rate)
        groups.append(
            TaxRateGroup(
                tax_rate=rate,
                amount_fen=amount,
                net_fen=net,
                tax_fen=tax,
                legacy_fen=legacy_parts.get(rate, 0),
                record_ids=tuple(ids[rate]),
                amounts_fen=tuple(amounts[rate]),
            )
        )
    return groups
