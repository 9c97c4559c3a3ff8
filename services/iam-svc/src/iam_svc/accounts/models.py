"""Root accounts and their real-name verification."""

from sqlalchemy import Column, DateTime, String, Table

from iam_svc.db import metadata

accounts = Table(
    "accounts", metadata,
    Column("uin", String(20), primary_key=True),
    Column("kind", String(16), nullable=False),  # customer | operator
    Column("site", String(16), nullable=False),  # mainland | international
    Column("verification_type", String(16), nullable=False),
    # ^ none | personal | enterprise | organization
    Column("legal_name", String(200)),  # the real-name name (person or entity)
    Column("uscc", String(18)),  # enterprise and organization only
    Column("verified_at", DateTime(timezone=True)),
    Column("name_changed_at", DateTime(timezone=True)),  # last rename (ACC-REQ-2)
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
