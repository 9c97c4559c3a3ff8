"""API keys. The SecretKey is stored only encrypted (see iam_svc.common.crypto)."""

from sqlalchemy import Column, DateTime, ForeignKey, Index, String, Table, Text

from iam_svc.db import metadata

access_keys = Table(
    "access_keys", metadata,
    Column("secret_id", String(64), primary_key=True),
    Column("owner_uin", String(20), ForeignKey("accounts.uin"), nullable=False),
    Column("sub_uin", String(20)),  # NULL: the root account's own key
    Column("secret_key_encrypted", Text, nullable=False),
    Column("status", String(16), nullable=False),  # enabled | disabled
    Column("description", String(1024)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_access_keys_owner_sub", "owner_uin", "sub_uin"),
)
