"""Each account's real-name state as last published by iam-svc (a local read model)."""

from sqlalchemy import Column, DateTime, String, Table

from invoice_svc.db import metadata

account_profiles = Table(
    "account_profiles", metadata,
    Column("uin", String(20), primary_key=True),
    Column("site", String(16), nullable=False),  # mainland | international
    Column("verification_type", String(16), nullable=False),
    # ^ none | personal | enterprise | organization
    Column("legal_name", String(200)),
    Column("uscc", String(18)),
    Column("verified_at", DateTime(timezone=True)),
    Column("name_effective_at", DateTime(timezone=True)),  # last rename (ACC-REQ-2)
    Column("snapshot_at", DateTime(timezone=True), nullable=False),  # time of the event applied
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
