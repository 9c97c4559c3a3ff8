"""The one invoice title of each account. Names and taxpayer ids that come from the real-name
verification are not stored here: they are read from the accounts read model when used, so a
rename reaches the next invoice without touching the title."""

from sqlalchemy import Column, DateTime, Integer, String, Table

from invoice_svc.db import metadata

invoice_titles = Table(
    "invoice_titles", metadata,
    Column("uin", String(20), primary_key=True),
    # personal_general | enterprise_general | enterprise_special | organization_general
    Column("title_type", String(32), nullable=False),
    Column("name", String(200)),  # only when the customer chose it
    Column("taxpayer_id", String(20)),  # only when the customer chose it
    Column("address", String(200)),
    Column("phone", String(40)),
    Column("bank_name", String(200)),
    Column("bank_account", String(64)),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
