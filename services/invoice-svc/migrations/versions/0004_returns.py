"""Returns (INV-REQ-21..25): the invoice_returns table.

Revision ID: invoice_0004
Revises: invoice_0003
"""

import sqlalchemy as sa
from alembic import op

revision = "invoice_0004"
down_revision = "invoice_0003"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "invoice_returns",
        sa.Column("return_id", sa.String(36), primary_key=True),
        sa.Column("invoice_id", sa.String(36), nullable=False),
        sa.Column("open_invoice_id", sa.String(36)),
        sa.Column("uin", sa.String(20), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("medium", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("red_reason", sa.String(32), nullable=False),
        sa.Column("description", sa.String(200)),
        sa.Column("deducted", sa.Boolean),
        sa.Column("form_raised_by", sa.String(8)),
        sa.Column("red_form_number", sa.String(40)),
        sa.Column("form_state", sa.String(4)),
        sa.Column("form_created_at", TZ),
        sa.Column("courier_company", sa.String(100)),
        sa.Column("tracking_number", sa.String(40)),
        sa.Column("materials", sa.Text),
        sa.Column("review_by", sa.Date),
        sa.Column("complete_from", sa.Date),
        sa.Column("complete_by", sa.Date),
        sa.Column("notice", sa.Text),
        sa.Column("decision", sa.String(16)),
        sa.Column("decision_reason", sa.String(500)),
        sa.Column("decided_by", sa.String(64)),
        sa.Column("decided_at", TZ),
        sa.Column("red_invoice_id", sa.String(36)),
        sa.Column("released_fen", sa.BigInteger),
        sa.Column("note", sa.String(500)),
        sa.Column("created_by", sa.String(20)),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_check_at", TZ),
        sa.Column("lease_until", TZ),
    )
    op.create_index("uq_invoice_returns_open", "invoice_returns", ["open_invoice_id"],
                    unique=True)
    op.create_index("ix_invoice_returns_invoice", "invoice_returns",
                    ["invoice_id", "created_at"])
    op.create_index("ix_invoice_returns_due", "invoice_returns", ["state", "next_check_at"])
    op.create_index("ix_invoice_returns_form", "invoice_returns", ["red_form_number"])


def downgrade() -> None:
    op.drop_index("ix_invoice_returns_form", "invoice_returns")
    op.drop_index("ix_invoice_returns_due", "invoice_returns")
    op.drop_index("ix_invoice_returns_invoice", "invoice_returns")
    op.drop_index("uq_invoice_returns_open", "invoice_returns")
    op.drop_table("invoice_returns")
