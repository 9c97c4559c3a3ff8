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
    Column("method", String(8), nullable=False, server_default="manual"),  # manual | auto
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
    Column("status", String(24), nullable=False),  # returns.rules.Status
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("kind", String(8), nullable=False, server_default="blue"),  # blue | red
    Column("medium", String(16), nullable=False, server_default="fully_digital"),
    Column("number", String(20)),  # 20 digits, set when issued
    Column("issued_at", DateTime(timezone=True)),
    Column("original_invoice_id", String(36)),  # red invoices: the blue one they offset
    Column("red_form_number", String(40)),
    Column("failure_code", String(64)),
    Column("failure_reason", String(500)),
    # The issuing worker's bookkeeping: platform calls made, when to call next, and the
    # lease that keeps other replicas off an invoice while one works on it.
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("lease_until", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True)),
)
Index("ix_invoices_application", invoices.c.application_id)
Index("ix_invoices_uin_created", invoices.c.uin, invoices.c.created_at)
Index("uq_invoices_number", invoices.c.number, unique=True)
Index("ix_invoices_status_due", invoices.c.status, invoices.c.next_attempt_at)
Index("ix_invoices_original", invoices.c.original_invoice_id)

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
