"""User groups and memberships."""

from kit.messaging.schema import BigIntPK
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    String,
    Table,
    UniqueConstraint,
)

from iam_svc.db import metadata

groups = Table(
    "user_groups", metadata,
    Column("group_id", BigIntPK, primary_key=True, autoincrement=True),
    Column("owner_uin", String(20), ForeignKey("accounts.uin"), nullable=False, index=True),
    Column("group_name", String(64), nullable=False),
    Column("remark", String(255)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("owner_uin", "group_name", name="uq_user_groups_owner_name"),
)

group_members = Table(
    "group_members", metadata,
    Column("group_id", BigInteger, ForeignKey("user_groups.group_id"), primary_key=True),
    Column("uid", BigInteger, ForeignKey("sub_users.uid"), primary_key=True, index=True),
    Column("joined_at", DateTime(timezone=True), nullable=False),
)
