# ruff: noqa: E501  (SQL copied verbatim)
"""Monthly balance buckets kept by PostgreSQL triggers, for fast proposals by amount
(INV-REQ-13c; invoice_svc/ledger/buckets.py explains them). The table on every dialect (SQLite
never fills it); the trigger function, triggers and backfill on PostgreSQL only.

Revision ID: invoice_0006
Revises: invoice_0005
"""

import sqlalchemy as sa
from alembic import op

revision = "invoice_0006"
down_revision = "invoice_0005"
branch_labels = None
depends_on = None

#: Copied from invoice_svc.ledger.buckets when this migration was written (a migration must
#: not change when application code does).
POSTGRESQL: tuple[str, ...] = (
    "CREATE FUNCTION consumption_balance_buckets_sync() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  IF TG_OP = 'INSERT' THEN\n    INSERT INTO consumption_balance_buckets AS b (uin, bucket, tax_rate, balance_fen, positive_fen, records)\n    SELECT uin, date_trunc('month', occurred_at, 'UTC'), tax_rate, sum(sign * balance_fen),\n           sum(sign * greatest(balance_fen, 0)), sum(sign * (balance_fen <> 0)::int)\n    FROM (SELECT 1 AS sign, uin, occurred_at, tax_rate, balance_fen, marketplace, out_of_scope FROM new_rows) AS change\n    WHERE NOT marketplace AND out_of_scope IS NULL\n    GROUP BY 1, 2, 3\n    HAVING sum(sign * balance_fen) <> 0 OR sum(sign * greatest(balance_fen, 0)) <> 0\n        OR sum(sign * (balance_fen <> 0)::int) <> 0\n    ORDER BY 1, 2, 3\n    ON CONFLICT (uin, bucket, tax_rate) DO UPDATE SET\n      balance_fen = b.balance_fen + excluded.balance_fen,\n      positive_fen = b.positive_fen + excluded.positive_fen,\n      records = b.records + excluded.records;\n  ELSIF TG_OP = 'UPDATE' THEN\n    INSERT INTO consumption_balance_buckets AS b (uin, bucket, tax_rate, balance_fen, positive_fen, records)\n    SELECT uin, date_trunc('month', occurred_at, 'UTC'), tax_rate, sum(sign * balance_fen),\n           sum(sign * greatest(balance_fen, 0)), sum(sign * (balance_fen <> 0)::int)\n    FROM (SELECT 1 AS sign, uin, occurred_at, tax_rate, balance_fen, marketplace, out_of_scope FROM new_rows UNION ALL SELECT -1 AS sign, uin, occurred_at, tax_rate, balance_fen, marketplace, out_of_scope FROM old_rows) AS change\n    WHERE NOT marketplace AND out_of_scope IS NULL\n    GROUP BY 1, 2, 3\n    HAVING sum(sign * balance_fen) <> 0 OR sum(sign * greatest(balance_fen, 0)) <> 0\n        OR sum(sign * (balance_fen <> 0)::int) <> 0\n    ORDER BY 1, 2, 3\n    ON CONFLICT (uin, bucket, tax_rate) DO UPDATE SET\n      balance_fen = b.balance_fen + excluded.balance_fen,\n      positive_fen = b.positive_fen + excluded.positive_fen,\n      records = b.records + excluded.records;\n  ELSE\n    INSERT INTO consumption_balance_buckets AS b (uin, bucket, tax_rate, balance_fen, positive_fen, records)\n    SELECT uin, date_trunc('month', occurred_at, 'UTC'), tax_rate, sum(sign * balance_fen),\n           sum(sign * greatest(balance_fen, 0)), sum(sign * (balance_fen <> 0)::int)\n    FROM (SELECT -1 AS sign, uin, occurred_at, tax_rate, balance_fen, marketplace, out_of_scope FROM old_rows) AS change\n    WHERE NOT marketplace AND out_of_scope IS NULL\n    GROUP BY 1, 2, 3\n    HAVING sum(sign * balance_fen) <> 0 OR sum(sign * greatest(balance_fen, 0)) <> 0\n        OR sum(sign * (balance_fen <> 0)::int) <> 0\n    ORDER BY 1, 2, 3\n    ON CONFLICT (uin, bucket, tax_rate) DO UPDATE SET\n      balance_fen = b.balance_fen + excluded.balance_fen,\n      positive_fen = b.positive_fen + excluded.positive_fen,\n      records = b.records + excluded.records;\n  END IF;\n  RETURN NULL;\nEND\n$$",
    'CREATE TRIGGER consumption_balance_buckets_insert AFTER INSERT ON consumption_records\nREFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION consumption_balance_buckets_sync()',
    'CREATE TRIGGER consumption_balance_buckets_update AFTER UPDATE ON consumption_records\nREFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows\nFOR EACH STATEMENT EXECUTE FUNCTION consumption_balance_buckets_sync()',
    'CREATE TRIGGER consumption_balance_buckets_delete AFTER DELETE ON consumption_records\nREFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION consumption_balance_buckets_sync()',
    "INSERT INTO consumption_balance_buckets (uin, bucket, tax_rate, balance_fen, positive_fen, records)\nSELECT uin, date_trunc('month', occurred_at, 'UTC'), tax_rate, sum(balance_fen),\n       sum(greatest(balance_fen, 0)), count(*) FILTER (WHERE balance_fen <> 0)\nFROM consumption_records WHERE NOT marketplace AND out_of_scope IS NULL\nGROUP BY 1, 2, 3",
)
DOWNGRADE_POSTGRESQL: tuple[str, ...] = (
    'DROP TRIGGER IF EXISTS consumption_balance_buckets_insert ON consumption_records',
    'DROP TRIGGER IF EXISTS consumption_balance_buckets_update ON consumption_records',
    'DROP TRIGGER IF EXISTS consumption_balance_buckets_delete ON consumption_records',
    'DROP FUNCTION IF EXISTS consumption_balance_buckets_sync()',
)


def upgrade() -> None:
    op.create_table(
        "consumption_balance_buckets",
        sa.Column("uin", sa.String(20), primary_key=True),
        sa.Column("bucket", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("tax_rate", sa.String(8), primary_key=True),
        sa.Column("balance_fen", sa.BigInteger, nullable=False),
        sa.Column("positive_fen", sa.BigInteger, nullable=False),
        sa.Column("records", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("uin", "bucket", "tax_rate",
                                name="pk_consumption_balance_buckets"),
    )
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRESQL:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in DOWNGRADE_POSTGRESQL:
            op.execute(statement)
    op.drop_table("consumption_balance_buckets")
