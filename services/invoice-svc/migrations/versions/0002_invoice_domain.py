"""Ledger, accounts read model, titles, applications, invoices, idempotency keys.

Revision ID: invoice_0002
Revises: invoice_0001

Portable types only (PostgreSQL and SQLite). Money is BIGINT fen; tax rates are strings.
"""

import sqlalchemy as sa
from alembic import op

revision = "invoice_0002"
down_revision = "invoice_0001"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "account_profiles",
        sa.Column("uin", sa.String(20), primary_key=True),
        sa.Column("site", sa.String(16), nullable=False),
        sa.Column("verification_type", sa.String(16), nullable=False),
        sa.Column("legal_name", sa.String(200)),
        sa.Column("uscc", sa.String(18)),
        sa.Column("verified_at", TZ),
        sa.Column("name_effective_at", TZ),
        sa.Column("snapshot_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_table(
        "consumption_records",
        sa.Column("record_id", sa.String(36), primary_key=True),
        sa.Column("uin", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source_id", sa.String(64), nullable=False),
        sa.Column("order_id", sa.String(64)),
        sa.Column("sub_order_id", sa.String(64)),
        sa.Column("related_sub_order_id", sa.String(64)),
        sa.Column("order_type", sa.String(32)),
        sa.Column("product_code", sa.String(64), nullable=False),
        sa.Column("product_name", sa.String(128), nullable=False),
        sa.Column("instance_id", sa.String(64)),
        sa.Column("billing_mode", sa.String(16), nullable=False),
        sa.Column("period", sa.String(7)),
        sa.Column("bill_month", sa.String(7), nullable=False),
        sa.Column("tax_rate", sa.String(8), nullable=False),
        sa.Column("occurred_at", TZ, nullable=False),
        sa.Column("cash_fen", sa.BigInteger, nullable=False),
        sa.Column("voucher_fen", sa.BigInteger, nullable=False),
        sa.Column("balance_fen", sa.BigInteger, nullable=False),
        sa.Column("marketplace", sa.Boolean, nullable=False),
        sa.Column("vendor_id", sa.String(64)),
        sa.Column("vendor_name", sa.String(128)),
        sa.Column("out_of_scope", sa.String(32)),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.UniqueConstraint("uin", "kind", "source_id", name="uq_consumption_records_source"),
    )
    # Candidates for matching by amount, newest first, read by keyset (INV-REQ-13c).
    op.create_index("ix_consumption_records_candidates", "consumption_records",
                    ["uin", "marketplace", sa.text("occurred_at DESC"), sa.text("record_id DESC")])
    op.create_index("ix_consumption_records_month", "consumption_records", ["uin", "bill_month"])
    op.create_index("ix_consumption_records_sub_order", "consumption_records",
                    ["uin", "sub_order_id"])
    op.create_index("ix_consumption_records_related", "consumption_records",
                    ["uin", "related_sub_order_id"])
    op.create_table(
        "account_ledgers",
        sa.Column("uin", sa.String(20), primary_key=True),
        sa.Column("legacy_fen", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("records_balance_fen", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated_at", TZ),
    )
    op.create_table(
        "invoice_titles",
        sa.Column("uin", sa.String(20), primary_key=True),
        sa.Column("title_type", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200)),
        sa.Column("taxpayer_id", sa.String(20)),
        sa.Column("address", sa.String(200)),
        sa.Column("phone", sa.String(40)),
        sa.Column("bank_name", sa.String(200)),
        sa.Column("bank_account", sa.String(64)),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_table(
        "invoice_applications",
        sa.Column("application_id", sa.String(36), primary_key=True),
        sa.Column("uin", sa.String(20), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("match_by", sa.String(16)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("invoice_type", sa.String(32), nullable=False),
        sa.Column("total_fen", sa.BigInteger, nullable=False),
        sa.Column("legacy_fen", sa.BigInteger, nullable=False),
        sa.Column("buyer_name", sa.String(200), nullable=False),
        sa.Column("buyer_taxpayer_id", sa.String(20)),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("remark", sa.Text),
        sa.Column("show_buyer_bank", sa.Boolean, nullable=False),
        sa.Column("show_seller_bank", sa.Boolean, nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(20)),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_index("ix_invoice_applications_uin_created", "invoice_applications",
                    ["uin", "created_at"])
    op.create_table(
        "invoices",
        sa.Column("invoice_id", sa.String(36), primary_key=True),
        sa.Column("application_id", sa.String(36),
                  sa.ForeignKey("invoice_applications.application_id",
                                name="fk_invoices_application_id_invoice_applications"),
                  nullable=False),
        sa.Column("uin", sa.String(20), nullable=False),
        sa.Column("invoice_type", sa.String(32), nullable=False),
        sa.Column("tax_rate", sa.String(8), nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("net_fen", sa.BigInteger, nullable=False),
        sa.Column("tax_fen", sa.BigInteger, nullable=False),
        sa.Column("amount_in_capitals", sa.String(100), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_index("ix_invoices_application", "invoices", ["application_id"])
    op.create_index("ix_invoices_uin_created", "invoices", ["uin", "created_at"])
    op.create_table(
        "invoice_lines",
        sa.Column("invoice_id", sa.String(36),
                  sa.ForeignKey("invoices.invoice_id",
                                name="fk_invoice_lines_invoice_id_invoices"),
                  primary_key=True),
        sa.Column("line_no", sa.Integer, primary_key=True),
        sa.Column("item_name", sa.String(200), nullable=False),
        sa.Column("tax_rate", sa.String(8), nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("net_fen", sa.BigInteger, nullable=False),
        sa.Column("tax_fen", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "application_allocations",
        sa.Column("application_id", sa.String(36),
                  sa.ForeignKey("invoice_applications.application_id",
                                name="fk_application_allocations_application_id"),
                  primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("record_id", sa.String(36)),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("tax_rate", sa.String(8), nullable=False),
        sa.Column("invoice_id", sa.String(36)),
    )
    op.create_index("ix_application_allocations_record", "application_allocations",
                    ["record_id"])
    op.create_table(
        "idempotency_keys",
        sa.Column("owner_uin", sa.String(20), primary_key=True),
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("operation", sa.String(64), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("response", sa.Text),
        sa.Column("created_at", TZ, nullable=False),
    )


def downgrade() -> None:
    for name in ("idempotency_keys", "application_allocations", "invoice_lines", "invoices",
                 "invoice_applications", "invoice_titles", "account_ledgers",
                 "consumption_records", "account_profiles"):
        op.drop_table(name)
