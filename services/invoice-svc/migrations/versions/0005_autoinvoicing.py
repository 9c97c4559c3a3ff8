"""Monthly auto-invoicing (INV-REQ-30, 31).

Revision ID: invoice_0005
Revises: invoice_0004
"""

import sqlalchemy as sa
from alembic import op

revision = "invoice_0005"
down_revision = "invoice_0004"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "auto_invoice_settings",
        sa.Column("change_id", sa.String(36), primary_key=True),
        sa.Column("uin", sa.String(20), nullable=False),
        sa.Column("changed_at", TZ, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("email", sa.String(254)),
        sa.Column("changed_by", sa.String(20), nullable=False),
        sa.Column("effective_month", sa.String(7), nullable=False),
    )
    op.create_index("ix_auto_invoice_settings_uin_changed", "auto_invoice_settings",
                    ["uin", "changed_at"])
    op.create_table(
        "auto_invoice_runs",
        sa.Column("uin", sa.String(20), primary_key=True),
        sa.Column("run_month", sa.String(7), primary_key=True),
        sa.Column("bill_month", sa.String(7), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("application_id", sa.String(36)),
        sa.Column("bill_fen", sa.BigInteger, nullable=False),
        sa.Column("invoiceable_fen", sa.BigInteger, nullable=False),
        sa.Column("notice", sa.Text),
        sa.Column("failure_code", sa.String(64)),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_index("ix_auto_invoice_runs_month", "auto_invoice_runs", ["run_month"])


def downgrade() -> None:
    op.drop_index("ix_auto_invoice_runs_month", "auto_invoice_runs")
    op.drop_table("auto_invoice_runs")
    op.drop_index("ix_auto_invoice_settings_uin_changed", "auto_invoice_settings")
    op.drop_table("auto_invoice_settings")
