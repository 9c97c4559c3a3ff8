"""Accounts, sub-users, groups, API keys, CAM policies and attachments, idempotency keys.

Revision ID: iam_0002
Revises: iam_0001

Portable types only (PostgreSQL and SQLite). Preset policies are not seeded here: the service
syncs them from `iam_svc.policies.presets` on every start, so a changed preset reaches existing
databases without a migration.
"""

import sqlalchemy as sa
from alembic import op
from kit.messaging.schema import BigIntPK

revision = "iam_0002"
down_revision = "iam_0001"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("uin", sa.String(20), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("site", sa.String(16), nullable=False),
        sa.Column("verification_type", sa.String(16), nullable=False),
        sa.Column("legal_name", sa.String(200)),
        sa.Column("uscc", sa.String(18)),
        sa.Column("verified_at", TZ),
        sa.Column("name_changed_at", TZ),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_table(
        "sub_users",
        sa.Column("uid", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("uin", sa.String(20), nullable=False),
        sa.Column("owner_uin", sa.String(20), sa.ForeignKey("accounts.uin"), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("remark", sa.String(255)),
        sa.Column("console_login", sa.Integer, nullable=False),
        sa.Column("phone_num", sa.String(32)),
        sa.Column("country_code", sa.String(8)),
        sa.Column("email", sa.String(254)),
        sa.Column("created_at", TZ, nullable=False),
        sa.UniqueConstraint("uin", name="uq_sub_users_uin"),
        sa.UniqueConstraint("owner_uin", "name", name="uq_sub_users_owner_name"),
    )
    op.create_index("ix_sub_users_owner_uin", "sub_users", ["owner_uin"])
    op.create_table(
        "user_groups",
        sa.Column("group_id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("owner_uin", sa.String(20), sa.ForeignKey("accounts.uin"), nullable=False),
        sa.Column("group_name", sa.String(64), nullable=False),
        sa.Column("remark", sa.String(255)),
        sa.Column("created_at", TZ, nullable=False),
        sa.UniqueConstraint("owner_uin", "group_name", name="uq_user_groups_owner_name"),
    )
    op.create_index("ix_user_groups_owner_uin", "user_groups", ["owner_uin"])
    op.create_table(
        "group_members",
        sa.Column("group_id", sa.BigInteger, sa.ForeignKey("user_groups.group_id"),
                  primary_key=True),
        sa.Column("uid", sa.BigInteger, sa.ForeignKey("sub_users.uid"), primary_key=True),
        sa.Column("joined_at", TZ, nullable=False),
    )
    op.create_index("ix_group_members_uid", "group_members", ["uid"])
    op.create_table(
        "access_keys",
        sa.Column("secret_id", sa.String(64), primary_key=True),
        sa.Column("owner_uin", sa.String(20), sa.ForeignKey("accounts.uin"), nullable=False),
        sa.Column("sub_uin", sa.String(20)),
        sa.Column("secret_key_encrypted", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("description", sa.String(1024)),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_index("ix_access_keys_owner_sub", "access_keys", ["owner_uin", "sub_uin"])
    op.create_table(
        "policies",
        sa.Column("policy_id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("owner_uin", sa.String(20), sa.ForeignKey("accounts.uin")),
        sa.Column("policy_type", sa.String(16), nullable=False),
        sa.Column("policy_name", sa.String(128), nullable=False),
        sa.Column("description", sa.String(255)),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.UniqueConstraint("owner_uin", "policy_name", name="uq_policies_owner_name"),
    )
    op.create_index("uq_policies_preset_name", "policies", ["policy_name"], unique=True,
                    sqlite_where=sa.text("owner_uin IS NULL"),
                    postgresql_where=sa.text("owner_uin IS NULL"))
    op.create_table(
        "user_policies",
        sa.Column("uid", sa.BigInteger, sa.ForeignKey("sub_users.uid"), primary_key=True),
        sa.Column("policy_id", sa.BigInteger, sa.ForeignKey("policies.policy_id"),
                  primary_key=True),
        sa.Column("attached_at", TZ, nullable=False),
    )
    op.create_index("ix_user_policies_policy_id", "user_policies", ["policy_id"])
    op.create_table(
        "group_policies",
        sa.Column("group_id", sa.BigInteger, sa.ForeignKey("user_groups.group_id"),
                  primary_key=True),
        sa.Column("policy_id", sa.BigInteger, sa.ForeignKey("policies.policy_id"),
                  primary_key=True),
        sa.Column("attached_at", TZ, nullable=False),
    )
    op.create_index("ix_group_policies_policy_id", "group_policies", ["policy_id"])
    op.create_table(
        "idempotency_keys",
        sa.Column("owner_uin", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("response", sa.Text),
        sa.Column("created_at", TZ, nullable=False),
    )


def downgrade() -> None:
    for table in ("idempotency_keys", "group_policies", "user_policies", "policies",
                  "access_keys", "group_members", "user_groups", "sub_users", "accounts"):
        op.drop_table(table)
