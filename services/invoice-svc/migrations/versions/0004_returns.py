"""Returns (INV-REQ-21..26).

Revision ID: invoice_0004
Revises: invoice_0003
"""

revision = "invoice_0004"
down_revision = "invoice_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
