"""Consumption records and the per-account ledger row.

Every money event is its own record (a refund is a negative record with its own id), so
balances never depend on the order events arrive in. `account_ledgers.records_balance_fen` is
the sum of `balance_fen` over the account's provider-invoiceable records (not marketplace, not
out of scope); it moves in the same transaction as every record insert and every reservation.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from invoice_svc.db import metadata

consumption_records = Table(
    "consumption_records", metadata,
    Column("record_id", String(36), primary_key=True),
    Column("uin", String(20), nullable=False),
    # purchase | refund | settlement | transfer_out | transfer_in
    Column("kind", String(16), nullable=False),
    Column("source_id", String(64), nullable=False),  # sub_order_id, refund_id, bill_id, ...
    Column("order_id", String(64)),
    Column("sub_order_id", String(64)),  # 子订单号 (a refund's own id for refunds)
    Column("related_sub_order_id", String(64)),  # refunds: the refunded sub-order
    Column("order_type", String(32)),  # new | renew | modify; transfers: their kind
    Column("product_code", String(64), nullable=False),
    Column("product_name", String(128), nullable=False),
    Column("instance_id", String(64)),
    Column("billing_mode", String(16), nullable=False),  # prepaid | postpaid | transfer
    Column("period", String(7)),  # settlements: the billing month 账期
    Column("bill_month", String(7), nullable=False),  # the monthly bill it belongs to
    Column("tax_rate", String(8), nullable=False),  # "0.06"
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("cash_fen", BigInteger, nullable=False),  # signed: negative for refunds
    Column("voucher_fen", BigInteger, nullable=False),  # never invoiceable
    Column("balance_fen", BigInteger, nullable=False),  # invoiceable balance, same sign
    Column("marketplace", Boolean, nullable=False),
    Column("vendor_id", String(64)),
    Column("vendor_name", String(128)),
    Column("out_of_scope", String(32)),  # INV-REQ-8: invoiced elsewhere (exmail, wechat_pay)
    Column("event_id", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("uin", "kind", "source_id", name="uq_consumption_records_source"),
)
Index("ix_consumption_records_candidates", consumption_records.c.uin,
      consumption_records.c.marketplace, consumption_records.c.occurred_at.desc(),
      consumption_records.c.record_id.desc())
Index("ix_consumption_records_month", consumption_records.c.uin,
      consumption_records.c.bill_month)
Index("ix_consumption_records_sub_order", consumption_records.c.uin,
      consumption_records.c.sub_order_id)
Index("ix_consumption_records_related", consumption_records.c.uin,
      consumption_records.c.related_sub_order_id)

account_ledgers = Table(
    "account_ledgers", metadata,
    Column("uin", String(20), primary_key=True),
    Column("legacy_fen", BigInteger, nullable=False, server_default="0"),
    Column("records_balance_fen", BigInteger, nullable=False, server_default="0"),
    Column("version", Integer, nullable=False, server_default="0"),
    Column("updated_at", DateTime(timezone=True)),
)

#: Per account, UTC month of `occurred_at` and tax rate: the sum of the provider-invoiceable
#: records' balances, of their positive balances, and how many are non-zero. Kept by
#: PostgreSQL triggers (migration invoice_0006; ledger/buckets.py); read by proposals.
consumption_balance_buckets = Table(
    "consumption_balance_buckets", metadata,
    Column("uin", String(20), primary_key=True),
    Column("bucket", DateTime(timezone=True), primary_key=True),
    Column("tax_rate", String(8), primary_key=True),
    Column("balance_fen", BigInteger, nullable=False),
    Column("positive_fen", BigInteger, nullable=False),
    Column("records", Integer, nullable=False),
)
