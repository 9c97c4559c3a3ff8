"""What will be issued: one invoice per tax rate (INV-REQ-14), its lines, tax and capitals.

Each invoice prints one line per product (`*税收分类简称*产品名称`), tax-inclusive amounts as the
console shows them. A blue invoice has no negative lines (reference/einvoice.md §3.2), so when
netting leaves a product below zero at some rate, that invoice prints one line for the whole
rate instead. Per line: `tax = round_half_up(amount * r / (1 + r))`, `net = amount - tax`
(kit.money.split_tax_inclusive); invoice totals are the sums of their lines. A rate whose
money nets to zero moves balances but issues no invoice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from kit.money import amount_in_capitals, split_tax_inclusive

from invoice_svc.matching import TaxRateGroup

LEGACY_PRODUCT = "云服务费"
DEFAULT_CATEGORY = "信息技术服务"


@dataclass(frozen=True, slots=True)
class LineDraft:
    item_name: str
    tax_rate: Decimal
    amount_fen: int  # tax-inclusive
    net_fen: int
    tax_fen: int


@dataclass(frozen=True, slots=True)
class InvoiceDraft:
    tax_rate: Decimal
    lines: tuple[LineDraft, ...]

    @property
    def amount_fen(self) -> int:
        return sum(line.amount_fen for line in self.lines)

    @property
    def net_fen(self) -> int:
        return sum(line.net_fen for line in self.lines)

    @property
    def tax_fen(self) -> int:
        return sum(line.tax_fen for line in self.lines)

    @property
    def capitals(self) -> str:
        return amount_in_capitals(self.amount_fen)


def rate_key(rate: Decimal) -> str:
    """`Decimal("0.06")` -> `"0.06"` (the stored form)."""
    two = rate.quantize(Decimal("0.01"))
    return f"{two:.2f}" if two == rate else f"{rate.normalize():f}"


def item_name(category: str, product_name: str) -> str:
    return f"*{category}*{product_name}"


def _line(name: str, rate: Decimal, amount_fen: int) -> LineDraft:
    net, tax = split_tax_inclusive(amount_fen, rate)
    return LineDraft(name, rate, amount_fen, net, tax)


def draft_invoices(groups: Sequence[TaxRateGroup], product_of: Mapping[str, str],
                   categories: Mapping[str, str]) -> list[InvoiceDraft]:
    """Invoices for the groups of an allocation (`product_of`: record id -> product name)."""
    drafts: list[InvoiceDraft] = []
    for group in groups:
        if group.amount_fen == 0:
            continue
        category = categories.get(rate_key(group.tax_rate), DEFAULT_CATEGORY)
        sums: dict[str, int] = {}
        if group.legacy_fen:
            sums[item_name(category, LEGACY_PRODUCT)] = group.legacy_fen
        for record_id, amount in zip(group.record_ids, group.amounts_fen, strict=True):
            name = item_name(category, product_of[record_id])
            sums[name] = sums.get(name, 0) + amount
        if any(amount < 0 for amount in sums.values()):
            lines = [_line(item_name(category, LEGACY_PRODUCT), group.tax_rate, group.amount_fen)]
        else:
            lines = [_line(name, group.tax_rate, amount)
                     for name, amount in sums.items() if amount]
        drafts.append(InvoiceDraft(group.tax_rate, tuple(lines)))
    return drafts
