"""Tables of returns (退票, INV-REQ-21..25).

`invoice_returns`: one row per return request. The invoice's own status (returns.rules.Status)
lives on `invoices`; this row keeps what the customer sent, the plan, the red-letter form, the
operator's decision and the red invoice. `open_invoice_id` equals `invoice_id` while the return
is open and is NULL once it is rejected or completed: its UNIQUE index lets the database hold
at most one open return per invoice (NULLs never collide, on PostgreSQL and SQLite alike).
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from invoice_svc.db import metadata

#: `state` of a return row (not an invoice status).
OPEN, REJECTED, COMPLETED = "open", "rejected", "completed"

invoice_returns = Table(
    "invoice_returns", metadata,
    Column("return_id", String(36), primary_key=True),
    Column("invoice_id", String(36), nullable=False),
    Column("open_invoice_id", String(36)),  # = invoice_id while open; unique
    Column("uin", String(20), nullable=False),
    Column("state", String(16), nullable=False),  # open | rejected | completed
    Column("medium", String(16), nullable=False),
    Column("reason", String(32), nullable=False),  # rules.RETURN_REASON_NAMES
    Column("red_reason", String(32), nullable=False),  # interface.RED_REASON_NAMES
    Column("description", String(200)),
    Column("deducted", Boolean),
    Column("form_raised_by", String(8)),  # seller | buyer | NULL (no form)
    Column("red_form_number", String(40)),
    Column("form_state", String(4)),  # the bureau's FORM_* code, as last seen
    Column("form_created_at", DateTime(timezone=True)),
    Column("courier_company", String(100)),
    Column("tracking_number", String(40)),
    Column("materials", Text),  # JSON list of rules.MATERIAL_NAMES keys
    Column("review_by", Date),
    Column("complete_from", Date),
    Column("complete_by", Date),
    Column("notice", Text),
    Column("decision", String(16)),  # approved | rejected | completed (operator)
    Column("decision_reason", String(500)),
    Column("decided_by", String(64)),
    Column("decided_at", DateTime(timezone=True)),
    Column("red_invoice_id", String(36)),
    Column("released_fen", BigInteger),
    Column("note", String(500)),  # the last thing that happened (form void, not found ...)
    Column("created_by", String(20)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # The returns worker's bookkeeping (as on invoices for issuing).
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_check_at", DateTime(timezone=True)),
    Column("lease_until", DateTime(timezone=True)),
)
Index("uq_invoice_returns_open", invoice_returns.c.open_invoice_id, unique=True)
Index("ix_invoice_returns_invoice", invoice_returns.c.invoice_id, invoice_returns.c.created_at)
Index("ix_invoice_returns_due", invoice_returns.c.state, invoice_returns.c.next_check_at)
Index("ix_invoice_returns_form", invoice_returns.c.red_form_number)
