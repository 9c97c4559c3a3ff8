"""Tables of autoinvoicing (INV-REQ-30, 31).

- `auto_invoice_settings`: every change of an account's setting, appended, never updated
  (which change governs a month's run is `rules.setting_at` over this history).
- `auto_invoice_runs`: one row per account and run month. Its primary key is what makes a
  run happen once across scheduler replicas: the row is inserted in the same transaction as
  the application it leads to, and a second insert conflicts.
"""

from sqlalchemy import BigInteger, Boolean, Column, DateTime, Index, String, Table, Text

from invoice_svc.db import metadata

auto_invoice_settings = Table(
    "auto_invoice_settings", metadata,
    Column("change_id", String(36), primary_key=True),  # uuid7: orders changes at one instant
    Column("uin", String(20), nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("email", String(254)),  # where auto-issued invoices are delivered
    Column("changed_by", String(20), nullable=False),  # the caller: sub-user uin or root uin
    Column("effective_month", String(7), nullable=False),  # first run month it governs
)
Index("ix_auto_invoice_settings_uin_changed", auto_invoice_settings.c.uin,
      auto_invoice_settings.c.changed_at)

auto_invoice_runs = Table(
    "auto_invoice_runs", metadata,
    Column("uin", String(20), primary_key=True),
    Column("run_month", String(7), primary_key=True),  # YYYY-MM (Shanghai)
    Column("bill_month", String(7), nullable=False),
    # invoice | skip_short | skip_disabled | skip_empty | failed
    Column("outcome", String(16), nullable=False),
    Column("application_id", String(36)),
    Column("bill_fen", BigInteger, nullable=False),  # the bill's remaining balance then
    Column("invoiceable_fen", BigInteger, nullable=False),  # the account's net invoiceable then
    Column("notice", Text),  # for the customer (skip_short, failed)
    Column("failure_code", String(64)),  # failed: the application's refusal code
    Column("created_at", DateTime(timezone=True), nullable=False),
)
Index("ix_auto_invoice_runs_month", auto_invoice_runs.c.run_month)
