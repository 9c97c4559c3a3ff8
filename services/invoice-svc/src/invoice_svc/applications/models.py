"""Invoice applications, the money they reserve, and the invoices (one per tax rate)."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from invoice_svc.db import metadata

invoice_applications = Table(
    "invoice_applications", metadata,
    Column("application_id", String(36), primary_key=True),
    Column("uin", String(20), nullable=False),
    Column("mode", String(16), nullable=False),  # records | bills | amount
    Column("match_by", String(16)),  # amount mode: records | bills
    Column("status", String(16), nullable=False),  # issuing (part 2 moves it on)
    Column("invoice_type", String(32), nullable=False),
    Column("total_fen", BigInteger, nullable=False),
    Column("legacy_fen", BigInteger, nullable=False),
    Column("buyer_name", String(200), nullable=False),
    Column("buyer_taxpayer_id", String(20)),
    Column("email", String(254), nullable=False),
    Column("remark", Text),
    Column("show_buyer_bank", Boolean, nullable=False),
    Column("show_seller_bank", Boolean, nullable=False),
    Column("document", Text, nullable=False),  # JSON: the preview as applied
    Column("created_by", String(20)),  # sub-user uin, NULL for the root
    Column("created_at", DateTime(timezone=True), nullable=False),
)
Index("ix_invoice_applications_uin_created", invoice_applications.c.uin,
      invoice_applications.c.created_at)

invoices = Table(
    "invoices", metadata,
    Column("invoice_id", String(36), primary_key=True),
    Column("application_id", String(36),
           ForeignKey("invoice_applications.application_id"), nullable=False),
    Column("uin", String(20), nullable=False),
    Column("invoice_type", String(32), nullable=False),
    Column("tax_rate", String(8), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),  # 价税合计
    Column("net_fen", BigInteger, nullable=False),
    Column("tax_fen", BigInteger, nullable=False),
    Column("amount_in_capitals", String(100), nullable=False),
    Column("status", String(16), nullable=False),  # issuing | issued | failed (part 2)
    Column("created_at", DateTime(timezone=True), nullable=False),
)
Index("ix_invoices_application", invoices.c.application_id)
Index("ix_invoices_uin_created", invoices.c.uin, invoices.c.created_at)

invoice_lines = Table(
    "invoice_lines", metadata,
    Column("invoice_id", String(36), ForeignKey("invoices.invoice_id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("item_name", String(200), nullable=False),
    Column("tax_rate", String(8), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("net_fen", BigInteger, nullable=False),
    Column("tax_fen", BigInteger, nullable=False),
)

application_allocations = Table(
    "application_allocations", metadata,
    Column("application_id", String(36),
           ForeignKey("invoice_applications.application_id"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("record_id", String(36)),  # NULL: the legacy remaining amount
    Column("amount_fen", BigInteger, nullable=False),
    Column("tax_rate", String(8), nullable=False),
    Column("invoice_id", String(36)),  # NULL when its rate nets to zero (no invoice)
)
Index("ix_application_allocations_record", application_allocations.c.record_id)
