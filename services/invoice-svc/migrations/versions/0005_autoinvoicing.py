"""Monthly auto-invoicing (INV-REQ-30, 31).

Revision ID: invoice_0005
Revises: invoice_0004
"""

revision = "invoice_0005"
down_revision = "invoice_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
