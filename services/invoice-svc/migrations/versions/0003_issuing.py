"""Issuing (INV-REQ-17, 20): invoice numbers, platform attempts, documents, progress.

Revision ID: invoice_0003
Revises: invoice_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "invoice_0003"
down_revision = "invoice_0002"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("invoice_applications", sa.Column(
        "method", sa.String(8), nullable=False, server_default="manual"))
    for column in (
        sa.Column("kind", sa.String(8), nullable=False, server_default="blue"),
        sa.Column("medium", sa.String(16), nullable=False, server_default="fully_digital"),
        sa.Column("number", sa.String(20)),
        sa.Column("issued_at", TZ),
        sa.Column("original_invoice_id", sa.String(36)),
        sa.Column("red_form_number", sa.String(40)),
        sa.Column("failure_code", sa.String(64)),
        sa.Column("failure_reason", sa.String(500)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TZ),
        sa.Column("lease_until", TZ),
        sa.Column("updated_at", TZ),
    ):
        op.add_column("invoices", column)
    with op.batch_alter_table("invoices") as batch:  # room for red_letter_pending & co.
        batch.alter_column("status", type_=sa.String(24), existing_nullable=False)
    op.create_index("uq_invoices_number", "invoices", ["number"], unique=True)
    op.create_index("ix_invoices_status_due", "invoices", ["status", "next_attempt_at"])
    op.create_index("ix_invoices_original", "invoices", ["original_invoice_id"])
    op.create_table(
        "invoice_documents",
        sa.Column("invoice_id", sa.String(36), primary_key=True),
        sa.Column("format", sa.String(8), primary_key=True),  # pdf | xml | ofd
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.Integer, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_table(
        "invoice_progress",
        sa.Column("entry_id", sa.String(36), primary_key=True),
        sa.Column("invoice_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("note", sa.String(500)),
        sa.Column("at", TZ, nullable=False),
    )
    op.create_index("ix_invoice_progress_invoice", "invoice_progress", ["invoice_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_invoice_progress_invoice", "invoice_progress")
    op.drop_table("invoice_progress")
    op.drop_table("invoice_documents")
    op.drop_index("ix_invoices_original", "invoices")
    op.drop_index("ix_invoices_status_due", "invoices")
    op.drop_index("uq_invoices_number", "invoices")
    with op.batch_alter_table("invoices") as batch:
        batch.alter_column("status", type_=sa.String(16), existing_nullable=False)
        for name in ("kind", "medium", "number", "issued_at", "original_invoice_id",
                     "red_form_number", "failure_code", "failure_reason", "attempts",
                     "next_attempt_at", "lease_until", "updated_at"):
            batch.drop_column(name)
    with op.batch_alter_table("invoice_applications") as batch:
        batch.drop_column("method")
