"""Deterministic streams of billing-core events.

One seed gives one byte-identical stream: every random choice, id (event ids included) and time
comes from a `random.Random(seed)` and a simulated clock, never from the wall clock or `os`.

The stream covers `months` billing months (Asia/Shanghai) ending with `end_month`:

- prepaid sub-orders (new / renew / modify) at random times inside the window, mostly in
  daytime; a new 云服务器 sometimes carries a 云硬盘 sub-order in the same order;
- refunds of a share of them, always strictly after their order (full refunds within five days,
  partial ones up to 90 days later); a refund that would fall after the window is not emitted
  (it has not happened yet);
- postpaid usage settled once per product per month per account, on the 1st of the next month
  between 01:00 and 07:00 (so the last month's bills fall just after the window);
- transfers between linked accounts (a reseller and its customer, a parent and its child).

Events come out ordered by time (ties in generation order). Consumers must not rely on that:
a broker may still deliver a refund before its order.
"""

from __future__ import annotations

import math
import random
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from heapq import heappop, heappush
from itertools import accumulate

from kit.clock import SHANGHAI
from kit.messaging import CloudEvent
from kit.money import format_yuan

from sim.catalogue import MARKETPLACE_PRODUCTS, PRODUCTS, Product
from sim.contracts import (
    BillingEvent,
    BillSettled,
    OrderPaid,
    OrderRefunded,
    TransferCompleted,
    period_end,
    to_event,
)

__all__ = ["SimConfig", "generate", "month_window", "stream_bytes"]

_MONTH = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")
MAX_AMOUNT_FEN = 9_999_999  # 99 999.99 yuan: "tens of thousands" at most
_VOUCHER_FACES_FEN = (500, 1000, 2000, 5000, 10000, 20000, 50000, 100000)
_VOUCHER_FACE_WEIGHTS = (20, 25, 15, 15, 10, 7, 5, 3)
_ID_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789"
_DOMAIN_TLDS = (".com", ".cn", ".com.cn", ".net", ".top")


def _weighted(products: Iterable[Product]) -> tuple[list[Product], list[float]]:
    chosen = [p for p in products if p.prepaid_weight > 0]
    return chosen, list(accumulate(p.prepaid_weight for p in chosen))


_PREPAID = _weighted(PRODUCTS)
_MARKETPLACE_PREPAID = _weighted(MARKETPLACE_PRODUCTS)
_DATA_DISK = next(p for p in PRODUCTS if p.code == "cbs")  # sold with a new 云服务器 sometimes


@dataclass(frozen=True)
class SimConfig:
    """The knobs of a stream. Shares are probabilities in [0, 1]."""

    seed: int = 42
    accounts: int = 10
    months: int = 3
    end_month: str = "2026-10"
    first_uin: int = 100_000_000_100
    #: mean prepaid orders per account per month (each account has its own activity factor)
    orders_per_account_month: float = 4.0
    #: share of accounts with pay-as-you-go (postpaid) usage
    postpaid_share: float = 0.6
    #: share of paid sub-orders with cash that are later refunded
    refund_share: float = 0.08
    #: among refunds, the share that returns everything (the rest return a part)
    full_refund_share: float = 0.5
    #: share of payments paid partly or wholly with vouchers
    voucher_share: float = 0.15
    #: share of prepaid orders bought on the marketplace (and, times three, of accounts using
    #: a pay-as-you-go marketplace API)
    marketplace_share: float = 0.05
    #: expected transfers per prepaid sub-order, between linked accounts
    transfer_ratio: float = 0.05
    #: share of accounts that are a reseller's customer or a parent's child account
    linked_share: float = 0.4

    def __post_init__(self) -> None:
        if self.accounts < 1 or self.months < 1:
            raise ValueError("accounts and months must be at least 1")
        if _MONTH.fullmatch(self.end_month) is None:
            raise ValueError(f"end_month must be YYYY-MM, got {self.end_month!r}")
        if self.first_uin < 10_000 or self.orders_per_account_month < 0:
            raise ValueError("first_uin must be >= 10000 and orders_per_account_month >= 0")
        for name in ("postpaid_share", "refund_share", "full_refund_share", "voucher_share",
                     "marketplace_share", "transfer_ratio", "linked_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")


def month_window(config: SimConfig) -> list[str]:
    """The `YYYY-MM` periods the stream covers, oldest first."""
    year, month = int(config.end_month[:4]), int(config.end_month[5:])
    index = year * 12 + month - 1 - (config.months - 1)
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index, index + config.months)]


def _period_start(period: str) -> datetime:
    return datetime(int(period[:4]), int(period[5:]), 1, tzinfo=SHANGHAI)


@dataclass
class _Account:
    uin: str
    activity: float  # multiplies the number of orders
    scale: float  # multiplies amounts
    postpaid: list[tuple[Product, int]] = field(default_factory=list)  # (product, first month)
    instances: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Link:
    kind: str
    upper: int  # reseller or parent (account index)
    lower: int  # customer or child


class _Simulation:
    def __init__(self, config: SimConfig) -> None:
        self.c = config
        self.rng = random.Random(config.seed)
        self.periods = month_window(config)
        self.window_end = period_end(self.periods[-1])
        self.used_ids: set[str] = set()
        self.heap: list[tuple[datetime, int, CloudEvent]] = []
        self.seq = 0
        self.accounts = [self._account(i) for i in range(config.accounts)]
        self.links = self._links()

    # -- building blocks ------------------------------------------------------------------------

    def _account(self, index: int) -> _Account:
        rng = self.rng
        account = _Account(uin=str(self.c.first_uin + index),
                           activity=math.exp(rng.gauss(0.0, 0.7)),
                           scale=math.exp(rng.gauss(0.0, 0.8)))
        if rng.random() < self.c.postpaid_share:
            candidates = [p for p in PRODUCTS if p.postpaid_weight > 0]
            wanted = min(1 + self._poisson(1.2), 5)
            chosen: list[Product] = []
            while len(chosen) < wanted:
                product = rng.choices(candidates, [p.postpaid_weight for p in candidates])[0]
                if product not in chosen:
                    chosen.append(product)
            if rng.random() < min(1.0, 3 * self.c.marketplace_share):
                chosen += [p for p in MARKETPLACE_PRODUCTS if p.postpaid_weight > 0][:1]
            for product in chosen:
                first = rng.randrange(self.c.months) if rng.random() < 0.3 else 0
                account.postpaid.append((product, first))
        return account

    def _links(self) -> list[_Link]:
        """Each linked account hangs under one earlier unlinked account, whose kind (reseller
        or parent) is fixed the first time it gets a customer or a child."""
        rng = self.rng
        links: list[_Link] = []
        hub_kind: dict[int, str] = {}
        roots: list[int] = [0]
        for index in range(1, self.c.accounts):
            if rng.random() < self.c.linked_share:
                upper = rng.choice(roots)
                kind = hub_kind.setdefault(
                    upper, rng.choice(("reseller_customer", "parent_child")))
                links.append(_Link(kind, upper, index))
            else:
                roots.append(index)
        return links

    def _poisson(self, lam: float) -> int:
        if lam <= 0:
            return 0
        if lam > 30:
            return max(0, round(self.rng.gauss(lam, math.sqrt(lam))))
        limit, k, p = math.exp(-lam), 0, 1.0
        while True:
            p *= self.rng.random()
            if p <= limit:
                return k
            k += 1

    def _amount(self, median: float, sigma: float, scale: float) -> int:
        """Fen, log-normal around median * scale, clamped to [0.01, 99 999.99] yuan."""
        yuan = median * scale * math.exp(self.rng.gauss(0.0, sigma))
        return min(max(round(yuan * 100), 1), MAX_AMOUNT_FEN)

    def _split_voucher(self, total: int, allowed: bool = True) -> tuple[int, int]:
        """(cash, voucher) in fen; a voucher may cover the whole amount."""
        if not allowed or self.rng.random() >= self.c.voucher_share:
            return total, 0
        face = self.rng.choices(_VOUCHER_FACES_FEN, _VOUCHER_FACE_WEIGHTS)[0]
        voucher = min(total, face)
        return total - voucher, voucher

    def _instant(self, start: datetime, end: datetime) -> datetime:
        """A whole second in [start, end), mostly in daytime (Asia/Shanghai)."""
        span = int((end - start).total_seconds())
        while True:
            at = start + timedelta(seconds=self.rng.randrange(span))
            if at.hour >= 8 or self.rng.random() < 0.25:
                return at

    def _unique(self, draw: Callable[[], str]) -> str:
        """Draw until the id was never used in this stream (collisions are rare)."""
        while (candidate := draw()) in self.used_ids:
            pass
        self.used_ids.add(candidate)
        return candidate

    def _digits_id(self, prefix: str, digits: int) -> str:
        return self._unique(lambda: f"{prefix}{self.rng.randrange(10**digits):0{digits}d}")

    def _instance_id(self, product: Product) -> str:
        rng = self.rng
        if product.instance_prefix == "domain":
            return self._unique(lambda: "".join(rng.choices(_ID_CHARS[:26], k=rng.randint(4, 10)))
                                + rng.choice(_DOMAIN_TLDS))
        return self._unique(
            lambda: f"{product.instance_prefix}{''.join(rng.choices(_ID_CHARS, k=8))}")

    def _event_id(self, at: datetime) -> str:
        """A UUIDv7 whose timestamp is the simulated time and whose random bits are seeded."""
        ms = int(at.timestamp()) * 1000 + self.rng.randrange(1000)
        value = (ms << 80 | 0x7 << 76 | self.rng.getrandbits(12) << 64 | 0b10 << 62
                 | self.rng.getrandbits(62))
        return str(uuid.UUID(int=value))

    def _emit(self, payload: BillingEvent, at: datetime) -> None:
        event = to_event(payload, event_id=self._event_id(at), time=at)
        heappush(self.heap, (at, self.seq, event))
        self.seq += 1

    # -- activity -------------------------------------------------------------------------------

    def _order_type(self, product: Product) -> str:
        if not product.renewable:
            return "new"
        r = self.rng.random()
        if product.modifiable:
            return "new" if r < 0.45 else "renew" if r < 0.85 else "modify"
        return "new" if r < 0.5 else "renew"

    def _instance_for(self, account: _Account, product: Product, order_type: str) -> str | None:
        if product.instance_prefix is None:
            return None
        owned = account.instances.setdefault(product.code, [])
        if order_type != "new" and owned:
            return self.rng.choice(owned)
        # A new instance, or one bought before the window that is now renewed or changed.
        instance = self._instance_id(product)
        owned.append(instance)
        return instance

    def _order(self, account: _Account, start: datetime, end: datetime) -> int:
        """One prepaid order (one or two sub-orders); returns how many sub-orders it had."""
        rng = self.rng
        paid_at = self._instant(start, end)
        pool = _MARKETPLACE_PREPAID if rng.random() < self.c.marketplace_share else _PREPAID
        product = rng.choices(pool[0], cum_weights=pool[1])[0]
        order_type = self._order_type(product)
        order_id = self._digits_id(f"{paid_at:%Y%m%d}", 15)
        lines = [(product, order_type)]
        if product.code == "cvm" and order_type == "new" and rng.random() < 0.3:
            lines.append((_DATA_DISK, "new"))
        for line_product, line_type in lines:
            self._sub_order(account, line_product, line_type, order_id, paid_at)
        return len(lines)

    def _sub_order(self, account: _Account, product: Product, order_type: str, order_id: str,
                   paid_at: datetime) -> None:
        median = product.prepaid_median * (0.35 if order_type == "modify" else 1.0)
        total = self._amount(median, product.sigma, account.scale)
        cash, voucher = self._split_voucher(total, allowed=not product.marketplace)
        vendor = product.vendor
        paid = OrderPaid(
            order_id=order_id, sub_order_id=self._digits_id(f"{paid_at:%Y%m%d}", 15),
            uin=account.uin, product_code=product.code, product_name=product.name,
            instance_id=self._instance_for(account, product, order_type),
            billing_mode="prepaid", order_type=order_type, tax_rate=product.tax_rate,
            paid_at=paid_at, cash_amount=format_yuan(cash), voucher_amount=format_yuan(voucher),
            marketplace=vendor is not None, vendor_id=vendor.vendor_id if vendor else None,
            vendor_name=vendor.name if vendor else None,
        )
        self._emit(paid, paid_at)
        if cash > 0 and self.rng.random() < self.c.refund_share:
            self._refund(paid, cash, voucher)

    def _refund(self, paid: OrderPaid, cash: int, voucher: int) -> None:
        rng = self.rng
        if rng.random() < self.c.full_refund_share:  # 五天无理由退款: everything, soon
            delay = rng.randint(600, 5 * 86400)
            cash_back, voucher_back = cash, voucher
        else:  # unsubscribing early: the unused part, later
            delay = rng.randint(86400, 90 * 86400)
            share = rng.uniform(0.05, 0.95)
            cash_back, voucher_back = max(1, round(cash * share)), round(voucher * share)
        refunded_at = paid.paid_at + timedelta(seconds=delay)
        if refunded_at >= self.window_end:
            return  # not refunded yet when the stream ends
        refund = OrderRefunded(
            refund_id=self._digits_id(f"{refunded_at:%Y%m%d}", 15),
            sub_order_id=paid.sub_order_id, uin=paid.uin, product_code=paid.product_code,
            product_name=paid.product_name, tax_rate=paid.tax_rate, refunded_at=refunded_at,
            cash_amount=format_yuan(cash_back), voucher_amount=format_yuan(voucher_back),
            marketplace=paid.marketplace, vendor_id=paid.vendor_id,
        )
        self._emit(refund, refunded_at)

    def _transfer(self, start: datetime, end: datetime) -> None:
        rng = self.rng
        link = rng.choice(self.links)
        upper, lower = self.accounts[link.upper], self.accounts[link.lower]
        # Mostly the reseller or parent funds the other; sometimes it takes money back.
        sender, receiver = (upper, lower) if rng.random() < 0.8 else (lower, upper)
        at = self._instant(start, end)
        amount = self._amount(500.0, 1.2, upper.scale)
        self._emit(TransferCompleted(
            transfer_id=self._digits_id(f"TR{at:%Y%m%d}", 12), kind=link.kind,
            sender_uin=sender.uin, receiver_uin=receiver.uin, amount=format_yuan(amount),
            transferred_at=at,
        ), at)

    def _bills(self, month_index: int, period: str) -> None:
        rng = self.rng
        end = period_end(period)
        for account in self.accounts:
            for product, first in account.postpaid:
                if month_index < first or rng.random() >= 0.9:
                    continue
                total = self._amount(product.postpaid_median, product.sigma, account.scale)
                cash, voucher = self._split_voucher(total, allowed=not product.marketplace)
                settled_at = end + timedelta(seconds=rng.randrange(3600, 7 * 3600))
                vendor = product.vendor
                self._emit(BillSettled(
                    bill_id=self._digits_id(period.replace("-", ""), 15), uin=account.uin,
                    product_code=product.code, product_name=product.name,
                    billing_mode="postpaid", period=period, settled_at=settled_at,
                    tax_rate=product.tax_rate, cash_amount=format_yuan(cash),
                    voucher_amount=format_yuan(voucher), marketplace=vendor is not None,
                    vendor_id=vendor.vendor_id if vendor else None,
                ), settled_at)

    def run(self) -> Iterator[CloudEvent]:
        for month_index, period in enumerate(self.periods):
            start, end = _period_start(period), period_end(period)
            sub_orders = 0
            for account in self.accounts:
                for _ in range(self._poisson(self.c.orders_per_account_month * account.activity)):
                    sub_orders += self._order(account, start, end)
            if self.links:  # a binomial draw: transfer_ratio per sub-order
                transfers = sum(self.rng.random() < self.c.transfer_ratio
                                for _ in range(sub_orders))
                for _ in range(transfers):
                    self._transfer(start, end)
            self._bills(month_index, period)
            # Everything later is generated at or after `end`, so what is due is final.
            while self.heap and self.heap[0][0] < end:
                yield heappop(self.heap)[2]
        while self.heap:
            yield heappop(self.heap)[2]


def generate(config: SimConfig) -> Iterator[CloudEvent]:
    """The stream of CloudEvents for a config, in time order; lazy, month by month."""
    return _Simulation(config).run()


def stream_bytes(events: Iterable[CloudEvent]) -> bytes:
    """JSON lines, one event per line: what `--dry-run` prints."""
    return b"".join(event.to_json() + b"\n" for event in events)
