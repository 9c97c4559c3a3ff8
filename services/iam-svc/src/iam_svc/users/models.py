"""Sub-users. `uid` is CAM's numeric user id; `uin` the sub-user's uin (numeric string)."""

from kit.messaging.schema import BigIntPK
from sqlalchemy import Column, DateTime, ForeignKey, Integer, String, Table, UniqueConstraint

from iam_svc.db import metadata

sub_users = Table(
    "sub_users", metadata,
    Column("uid", BigIntPK, primary_key=True, autoincrement=True),
    Column("uin", String(20), nullable=False, unique=True),
    Column("owner_uin", String(20), ForeignKey("accounts.uin"), nullable=False, index=True),
    Column("name", String(64), nullable=False),
    Column("remark", String(255)),
    Column("console_login", Integer, nullable=False),
    Column("phone_num", String(32)),
    Column("country_code", String(8)),
    Column("email", String(254)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("owner_uin", "name", name="uq_sub_users_owner_name"),
)
