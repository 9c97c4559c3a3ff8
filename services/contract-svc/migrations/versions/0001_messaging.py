"""Outbox and inbox tables.

Revision ID: contract_0001
Revises:
"""

from alembic import op
from kit.messaging import create_messaging_schema, drop_messaging_schema

revision = "contract_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_schema(op)


def downgrade() -> None:
    drop_messaging_schema(op)
