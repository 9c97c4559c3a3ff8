"""CAM policies (custom and preset) and their attachments to sub-users and groups."""

from kit.messaging.schema import BigIntPK
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from iam_svc.db import metadata

policies = Table(
    "policies", metadata,
    Column("policy_id", BigIntPK, primary_key=True, autoincrement=True),
    Column("owner_uin", String(20), ForeignKey("accounts.uin")),  # NULL: a preset
    Column("policy_type", String(16), nullable=False),  # custom | preset
    Column("policy_name", String(128), nullable=False),
    Column("description", String(255)),
    Column("document", Text, nullable=False),  # the JSON text as given
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("owner_uin", "policy_name", name="uq_policies_owner_name"),
    Index("uq_policies_preset_name", "policy_name", unique=True,
          sqlite_where=text("owner_uin IS NULL"), postgresql_where=text("owner_uin IS NULL")),
)

user_policies = Table(
    "user_policies", metadata,
    Column("uid", BigInteger, ForeignKey("sub_users.uid"), primary_key=True),
    Column("policy_id", BigInteger, ForeignKey("policies.policy_id"), primary_key=True,
           index=True),
    Column("attached_at", DateTime(timezone=True), nullable=False),
)

group_policies = Table(
    "group_policies", metadata,
    Column("group_id", BigInteger, ForeignKey("user_groups.group_id"), primary_key=True),
    Column("policy_id", BigInteger, ForeignKey("policies.policy_id"), primary_key=True,
           index=True),
    Column("attached_at", DateTime(timezone=True), nullable=False),
)
